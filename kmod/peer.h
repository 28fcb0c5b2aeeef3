/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct mwg_peer: field names follow upstream WireGuard's struct wg_peer
 * wherever the protocol core touches them.
 */
#ifndef _MWG_PEER_H
#define _MWG_PEER_H

#include "device.h"
#include "noise.h"
#include "cookie.h"

#include <linux/types.h>
#include <linux/netfilter.h>
#include <linux/spinlock.h>
#include <linux/kref.h>
#include <net/dst_cache.h>

struct mwg_device;

/*
 * Where a peer is reached. Either a UDP address (addr, with the sticky
 * local source address src4/src_if4 or src6) or, when relay_id is nonzero,
 * a relay endpoint: datagrams go to the agent instead of the socket.
 */
struct mwg_endpoint {
	union {
		struct sockaddr addr;
		struct sockaddr_in addr4;
		struct sockaddr_in6 addr6;
	};
	union {
		struct {
			struct in_addr src4;
			/* Essentially the same as addr6->scope_id */
			int src_if4;
		};
		struct in6_addr src6;
	};
	u32 relay_id;
};

struct mwg_peer {
	struct mwg_device *device;
	struct mwg_prev_queue tx_queue, rx_queue;
	struct sk_buff_head staged_packet_queue;
	int serial_work_cpu;
	bool is_dead;
	struct noise_keypairs keypairs;
	struct mwg_endpoint endpoint;
	struct dst_cache endpoint_cache;
	rwlock_t endpoint_lock;
	struct noise_handshake handshake;
	atomic64_t last_sent_handshake;
	struct work_struct transmit_handshake_work, clear_peer_work,
		transmit_packet_work;
	struct cookie latest_cookie;
	struct hlist_node pubkey_hash;
	atomic64_t rx_bytes, tx_bytes;
	struct timer_list timer_retransmit_handshake, timer_send_keepalive;
	struct timer_list timer_new_handshake, timer_zero_key_material;
	struct timer_list timer_persistent_keepalive;
	unsigned int timer_handshake_attempts;
	u16 persistent_keepalive_interval;
	bool timer_need_another_keepalive;
	bool sent_lastminute_handshake;
	struct timespec64 walltime_last_handshake;
	struct kref refcount;
	struct rcu_head rcu;
	struct list_head peer_list;
	struct list_head allowedips_list;
	struct napi_struct napi;
	u64 internal_id;

	/* meshwg additions: counters (MESHWG_PEER_A_*) and event limiting. */
	atomic64_t rx_packets, tx_packets;
	atomic64_t drops_no_key, drops_replay, drops_allowedips, drops_invalid;
	atomic64_t handshake_attempts;
	atomic64_t drops_acl;
	unsigned long last_wants_endpoint; /* jiffies */
};

struct mwg_peer *mwg_peer_create(struct mwg_device *wg,
				 const u8 public_key[NOISE_PUBLIC_KEY_LEN],
				 const u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN]);

struct mwg_peer *__must_check mwg_peer_get_maybe_zero(struct mwg_peer *peer);
static inline struct mwg_peer *mwg_peer_get(struct mwg_peer *peer)
{
	kref_get(&peer->refcount);
	return peer;
}
void mwg_peer_put(struct mwg_peer *peer);
void mwg_peer_remove(struct mwg_peer *peer);
void mwg_peer_remove_deferred(struct mwg_peer *peer, struct list_head *dead);
void mwg_peer_remove_dead(struct mwg_device *wg, struct list_head *dead);
void mwg_peer_remove_all(struct mwg_device *wg);

int mwg_peer_init(void);
void mwg_peer_uninit(void);

#endif /* _MWG_PEER_H */
