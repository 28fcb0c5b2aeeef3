/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Splitting a device configuration into MESHWG_CMD_SET_DEVICE messages that
 * each fit in a netlink message of a given size, as wg(8) does: the first
 * message carries the device attributes (and REPLACE_PEERS), later ones only
 * add. A peer whose allowed IPs do not fit continues in the next message,
 * repeating only its public key (and UPDATE_ONLY when it was given).
 *
 * setmsg_plan() is pure arithmetic on the attribute sizes; setmsg_build()
 * writes exactly what the plan says into a libnl message.
 */
#ifndef MESHWG_SETMSG_H
#define MESHWG_SETMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <netlink/msg.h>

#include "containers.h"

/* Size of the SET_DEVICE messages the tool sends. */
#ifndef SETMSG_LIMIT
#define SETMSG_LIMIT 16384
#endif

struct setmsg_cursor {
	const struct mw_peer *peer;	/* next peer to emit, NULL when done */
	const struct mw_allowedip *ip;	/* next allowed IP of that peer */
	bool continuing;		/* the peer's attributes were already sent */
	bool first;			/* the next message is the first one */
};

struct setmsg_chunk {
	struct setmsg_cursor from, to;
	size_t size;		/* exact nlmsg_len of the message */
	size_t peers;		/* peer entries in the message (new or continued) */
	size_t ips;		/* allowed IPs in the message */
};

void setmsg_start(struct setmsg_cursor *cur, const struct mw_device *dev);
static inline bool setmsg_done(const struct setmsg_cursor *cur)
{
	return !cur->first && !cur->peer;
}
/*
 * Plans the message starting at *from. Returns 0, or -EMSGSIZE when limit
 * cannot hold even one item (the message header plus one peer entry).
 */
int setmsg_plan(const struct mw_device *dev, const char *ifname, const struct setmsg_cursor *from,
		size_t limit, struct setmsg_chunk *chunk);
/* Appends the chunk's attributes to msg (after its genl header). 0 or -errno. */
int setmsg_build(const struct mw_device *dev, const char *ifname, const struct setmsg_chunk *chunk,
		 struct nl_msg *msg);

/* Sizes used by the plan, exported for tests. */
size_t setmsg_header_size(void);
size_t setmsg_allowedip_size(const struct mw_allowedip *ip);

#endif
