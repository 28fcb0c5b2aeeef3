/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: allowed-ips, the crypto-routing table. A binary trie per family,
 * read under RCU (bh), written under the device's device_update_lock.
 */

#ifndef _MWG_ALLOWEDIPS_H
#define _MWG_ALLOWEDIPS_H

#include <linux/mutex.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>

struct mwg_peer;

struct allowedips_node {
	struct mwg_peer __rcu *peer;
	struct allowedips_node __rcu *bit[2];
	u8 cidr, bit_at_a, bit_at_b, bitlen;
	u8 bits[16] __aligned(__alignof(u64));

	/* Parent node (NULL at a root) and the slot there that points here. */
	struct allowedips_node *parent;
	struct allowedips_node __rcu **parent_slot;
	/* Entry in peer->allowedips_list while the node holds a peer. */
	struct list_head peer_list;
	struct rcu_head rcu;
};

struct allowedips {
	struct allowedips_node __rcu *root4;
	struct allowedips_node __rcu *root6;
	/* Bumped on every change, so dumps can detect concurrent edits. */
	u64 seq;
};

/* Resumable walk of one peer's prefixes across netlink dump messages. */
struct allowedips_cursor {
	u64 seq;
	struct allowedips_node *next;
};

int mwg_allowedips_slab_init(void);
void mwg_allowedips_slab_uninit(void);

void mwg_allowedips_init(struct allowedips *table);
/* Empties both tries; peers' allowedips_list become empty. */
void mwg_allowedips_free(struct allowedips *table, struct mutex *lock);

/*
 * Writers hold lock (the device's device_update_lock); it is only used for
 * lockdep assertions. The address is masked to cidr before it is stored.
 * Returns 0, -EINVAL (cidr too large) or -ENOMEM (table unchanged).
 * Inserting an existing prefix moves it to peer.
 */
int mwg_allowedips_insert_v4(struct allowedips *table, const struct in_addr *ip,
			     u8 cidr, struct mwg_peer *peer,
			     struct mutex *lock);
int mwg_allowedips_insert_v6(struct allowedips *table,
			     const struct in6_addr *ip, u8 cidr,
			     struct mwg_peer *peer, struct mutex *lock);
/*
 * Removes the prefix if it belongs to peer. Returns 0, or -EINVAL (cidr too
 * large). Removing an absent prefix, or another peer's, is a no-op.
 */
int mwg_allowedips_remove_v4(struct allowedips *table, const struct in_addr *ip,
			     u8 cidr, struct mwg_peer *peer,
			     struct mutex *lock);
int mwg_allowedips_remove_v6(struct allowedips *table,
			     const struct in6_addr *ip, u8 cidr,
			     struct mwg_peer *peer, struct mutex *lock);
void mwg_allowedips_remove_by_peer(struct allowedips *table,
				   struct mwg_peer *peer, struct mutex *lock);

/*
 * Copies a node's prefix into ip (16 bytes, v4 uses the first 4) and cidr;
 * returns AF_INET or AF_INET6. For nodes found on peer->allowedips_list
 * with device_update_lock held.
 */
int mwg_allowedips_read_node(struct allowedips_node *node, u8 ip[16], u8 *cidr);

/*
 * Calls cb for each prefix of peer, starting where cursor stopped (a zeroed
 * cursor starts at the beginning). If cb returns non-zero the walk stops,
 * the cursor keeps that prefix (cb will see it again next call) and the value
 * is returned. Returns 0 when every prefix was seen (cursor reset), or
 * -ESTALE, cursor reset, if the table changed since the cursor was saved: the
 * dump is no longer coherent. Caller holds device_update_lock throughout
 * each call.
 */
int mwg_allowedips_walk_by_peer(struct allowedips *table,
				struct allowedips_cursor *cursor,
				struct mwg_peer *peer,
				int (*cb)(void *ctx, const u8 ip[16], u8 cidr,
					  int family),
				void *ctx, struct mutex *lock);

/*
 * Longest-prefix match of the skb's destination (for sending) or source
 * (for the receive check) address; skb->protocol says the family. Return a
 * strong peer reference (drop with mwg_peer_put()) or NULL.
 */
struct mwg_peer *mwg_allowedips_lookup_dst(struct allowedips *table,
					   struct sk_buff *skb);
struct mwg_peer *mwg_allowedips_lookup_src(struct allowedips *table,
					   struct sk_buff *skb);
/* Same by raw address, family AF_INET (4 bytes) or AF_INET6 (16 bytes). */
struct mwg_peer *mwg_allowedips_lookup(struct allowedips *table, int family,
				       const void *addr);

#endif /* _MWG_ALLOWEDIPS_H */
