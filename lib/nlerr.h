/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Netlink error messages: the errno and the extended-ack text. */
#ifndef MESHWG_NLERR_H
#define MESHWG_NLERR_H

#include <stddef.h>
#include <linux/netlink.h>

/*
 * Given an NLMSG_ERROR message (nlh, of nlh->nlmsg_len bytes), returns its
 * error (negative errno, 0 for an ack) and copies the NLMSGERR_ATTR_MSG text
 * into extack ("" if there is none). Returns -EBADMSG for a malformed one.
 */
int nlerr_parse(const struct nlmsghdr *nlh, char *extack, size_t len);

/* The same for a dump's NLMSG_DONE: its error (0 if none) and extack text. */
int nlerr_parse_done(const struct nlmsghdr *nlh, char *extack, size_t len);

/*
 * For a libnl error callback (nl_cb_err), which gets the nlmsgerr inside an
 * NLMSG_ERROR: the error (its own e->error when the message is malformed)
 * and the extack text. Always negative: -EIO for an error that is not one.
 */
int nlerr_from_cb(const struct nlmsgerr *e, char *extack, size_t len);

#endif
