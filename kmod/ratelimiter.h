/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: per-source token buckets (handshakes, agent datagrams, relays).
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

/* What a bucket counts; buckets of different kinds never mix. */
enum mwg_ratelimit_kind {
	MWG_RATELIMIT_HANDSHAKE,	/* per (netns, source address) */
	MWG_RATELIMIT_AGENT,		/* STUN/disco, per (device, source) */
	MWG_RATELIMIT_INJECT,		/* INJECT_DATAGRAM, per (device, relay) */
	MWG_RATELIMIT_RELAY_HANDSHAKE	/* relayed handshakes, likewise */
};

/*
 * The same, with rate packets per second and bursts of burst: per (owner,
 * source address of skb) for mwg_ratelimiter_allow_source(), per (owner,
 * id) for mwg_ratelimiter_allow_key(). owner is only compared (a device or
 * netns pointer). False for a rate or burst of 0, a packet neither IPv4 nor
 * IPv6, or a new source while the tables are full.
 */
bool mwg_ratelimiter_allow_source(const struct sk_buff *skb,
				  const void *owner, unsigned int kind,
				  u32 rate, u32 burst);
bool mwg_ratelimiter_allow_key(u64 id, const void *owner, unsigned int kind,
			       u32 rate, u32 burst);

enum {
	MWG_RATELIMITER_PACKETS_PER_SECOND = 20,
	MWG_RATELIMITER_PACKETS_BURSTABLE = 5
};

/*
 * The token bucket of every rate limit in the module (handshakes per
 * source, agent datagrams, relay datagrams, ACL deny events): rate packets
 * per second, bursts of burst. Tokens are in units of 1/NSEC_PER_SEC
 * packet, so a refill is rate * elapsed nanoseconds, without a division;
 * a full bucket is burst * NSEC_PER_SEC, and *tokens above it count as
 * full (so U64_MAX starts a bucket full). Takes one packet's worth and
 * returns true if there is one; *last_ns becomes now_ns. A rate or burst
 * of 0 lets nothing pass (and changes nothing). Pure arithmetic:
 * the caller serializes (its own lock) and unit tests call it directly.
 */
bool mwg_token_bucket_take(u64 *tokens, u64 *last_ns, u64 now_ns, u32 rate,
			   u32 burst);

#endif /* _MWG_RATELIMITER_H */
