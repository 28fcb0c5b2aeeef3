/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct mwg_device: one meshwg interface. Field names follow upstream
 * WireGuard's struct wg_device wherever the protocol core touches them.
 */
#ifndef _MWG_DEVICE_H
#define _MWG_DEVICE_H

#include "noise.h"
#include "allowedips.h"
#include "peerlookup.h"
#include "cookie.h"
#include "filter.h"

#include <linux/types.h>
#include <linux/netdevice.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/ptr_ring.h>
#include <linux/spinlock.h>

struct mwg_device;

/* A work item per CPU, all pointing back at the same owner. */
struct mwg_multicore_worker {
	void *ptr;
	struct work_struct work;
};

/* Device-wide multi-producer ring feeding the per-CPU crypto workers. */
struct mwg_crypt_queue {
	struct ptr_ring ring;
	struct mwg_multicore_worker __percpu *worker;
	int last_cpu;
};

/*
 * Per-peer ordered queue: many producers, a single consumer, no locks
 * (an intrusive singly linked list in the style of Vyukov's MPSC queue).
 */
struct mwg_prev_queue {
	struct sk_buff *head, *tail, *peeked;
	struct { struct sk_buff *next, *prev; } empty; /* the stub node */
	atomic_t count;
};

/* A token bucket for the relay notification rate limit. */
struct mwg_bucket {
	spinlock_t lock;
	u64 last_ns;
	u64 tokens;	/* see mwg_token_bucket_take() */
};

struct mwg_device {
	struct net_device *dev;
	struct mwg_crypt_queue encrypt_queue, decrypt_queue, handshake_queue;
	struct sock __rcu *sock4, *sock6;
	struct net __rcu *creating_net;
	struct noise_static_identity static_identity;
	struct workqueue_struct *packet_crypt_wq, *handshake_receive_wq,
		*handshake_send_wq;
	struct cookie_checker cookie_checker;
	struct pubkey_hashtable *peer_hashtable;
	struct index_hashtable *index_hashtable;
	struct allowedips peer_allowedips;
	struct mutex device_update_lock, socket_update_lock;
	struct list_head device_list, peer_list;
	atomic_t handshake_queue_len;
	unsigned int num_peers, device_update_gen;
	u32 fwmark;
	u16 incoming_port;

	/* Device counters (MESHWG_DEVICE_A_*). */
	atomic64_t rx_invalid, rx_ratelimited, agent_rx, agent_rx_drops,
		agent_tx, relay_tx_drops;
	struct mwg_bucket relay_bucket;

	/* The stateful ACL (filter.c). */
	struct mwg_filter_dev acl;
};

bool mwg_is_device(const struct net_device *dev);
/*
 * May the sender of the netlink request skb act in the netns that created
 * wg (where its sockets are): CAP_NET_ADMIN over that netns, not only over
 * the one the device is in now.
 */
bool mwg_device_creating_net_capable(struct mwg_device *wg,
				     const struct sk_buff *skb);
int mwg_device_init(void);
void mwg_device_uninit(void);

#endif /* _MWG_DEVICE_H */
