/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: per-source token bucket for handshake messages.
 */

#ifndef _MWG_RATELIMITER_H
#define _MWG_RATELIMITER_H

#include <linux/skbuff.h>
#include <linux/types.h>

struct net;

/*
 * Global, refcounted across devices: each device calls init when it is
 * created and uninit when it is destroyed. init returns 0 or -ENOMEM.
 */
int mwg_ratelimiter_init(void);
void mwg_ratelimiter_uninit(void);
/*
 * True if a handshake from skb's source address (IPv4 /32, IPv6 /64) in net
 * is within budget (20 per second, bursts of 5). Packets that are
 * neither IPv4 nor IPv6 are refused.
 */
bool mwg_ratelimiter_allow(struct sk_buff *skb, struct net *net);

/*
 * Pure token arithmetic, exposed for unit tests. Tokens are nanoseconds of
 * budget: a packet costs PACKET_COST, the bucket holds at most TOKEN_MAX.
 * Returns true and updates *tokens if a packet may pass at now_ns given the
 * bucket was last refilled at *last_ns.
 */
enum {
	MWG_RATELIMITER_PACKETS_PER_SECOND = 20,
	MWG_RATELIMITER_PACKETS_BURSTABLE = 5
};
#define MWG_RATELIMITER_PACKET_COST \
	(NSEC_PER_SEC / MWG_RATELIMITER_PACKETS_PER_SECOND)
#define MWG_RATELIMITER_TOKEN_MAX \
	(MWG_RATELIMITER_PACKET_COST * MWG_RATELIMITER_PACKETS_BURSTABLE)
bool mwg_ratelimiter_take_token(u64 *tokens, u64 *last_ns, u64 now_ns);

#endif /* _MWG_RATELIMITER_H */
