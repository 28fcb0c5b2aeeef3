/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Parsing of MESHWG_CMD_GET_DEVICE dump replies into struct mw_device. The
 * reply may span many messages; a peer continued from one message to the
 * next repeats only its public key and is merged back into one peer.
 */
#ifndef MESHWG_DEVPARSE_H
#define MESHWG_DEVPARSE_H

#include <netlink/msg.h>

#include "containers.h"

/* Parses one reply message; 0 or -errno (-EINVAL for malformed attributes). */
int devparse_msg(struct mw_device *dev, struct nlmsghdr *nlh);
/* Parses a MESHWG_PEER_A_* nest into a new peer; NULL if malformed or out of memory. */
struct mw_peer *devparse_peer(const struct nlattr *peer_nest, int *error);
/*
 * Takes ownership of frag: appends it to dev, or, when it has the same public
 * key as dev's last peer (a continuation), moves its allowed IPs onto that
 * peer and frees it.
 */
void devparse_add_peer(struct mw_device *dev, struct mw_peer *frag);

#endif
