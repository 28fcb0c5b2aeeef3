/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* One text line per agent-channel notification (meshwg debug listen). */
#ifndef MESHWG_AGENTFMT_H
#define MESHWG_AGENTFMT_H

#include <stdint.h>
#include <netlink/msg.h>

/*
 * Formats a MESHWG_CMD_DATAGRAM / _RELAY_DATAGRAM / _EVENT notification as
 * one line without the newline; returns a malloc'd string the caller frees,
 * or NULL if the message is not one of those or is malformed (*error set to
 * a negative errno). ifindex receives the message's interface index.
 */
char *agentfmt_line(struct nlmsghdr *nlh, uint32_t *ifindex, int *error);

#endif
