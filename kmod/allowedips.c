// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: allowed-ips table.
 *
 * A path-compressed binary trie per address family. Every node stands for a
 * prefix (bits masked to cidr). Its children, in bit[0] and bit[1], stand for
 * longer prefixes that extend it, the slot being the value of bit number
 * cidr of their key. A node either holds a peer (an allowed-ip) or is a
 * "join" node without one, which then always has two children.
 *
 * Readers walk the trie under rcu_read_lock_bh(); writers hold the device's
 * device_update_lock. A new node is fully built before it is published with
 * rcu_assign_pointer(), and a node taken out of the trie is freed only after
 * a grace period, so readers always see either the old or the new shape.
 */

#include "allowedips.h"
#include "peer.h"

#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/lockdep.h>

static struct kmem_cache *node_cache;

/* Big-endian loads that need no alignment (and no unaligned.h, which moved). */
static u32 load_be32(const u8 *p)
{
	__be32 v;

	memcpy(&v, p, sizeof(v));
	return be32_to_cpu(v);
}

static u64 load_be64(const u8 *p)
{
	__be64 v;

	memcpy(&v, p, sizeof(v));
	return be64_to_cpu(v);
}

/* Length, in bits, of the prefixes of the leading bits that a and b share. */
static u8 common_bits(const u8 *a, const u8 *b, u8 bitlen)
{
	u64 x;

	if (bitlen == 32) {
		u32 y = load_be32(a) ^ load_be32(b);

		return y ? 32 - fls(y) : 32;
	}
	x = load_be64(a) ^ load_be64(b);
	if (x)
		return 64 - fls64(x);
	x = load_be64(a + 8) ^ load_be64(b + 8);
	return x ? 128 - fls64(x) : 128;
}

/* Value of bit number bit (0 is the most significant) of key. */
static unsigned int key_bit(const u8 *key, u8 bit)
{
	return (key[bit >> 3] >> (7 - (bit & 7))) & 1;
}

/* Zeroes every bit of key (bitlen bits) past the first cidr. */
static void mask_key(u8 *key, u8 cidr, u8 bitlen)
{
	unsigned int i;

	for (i = 0; i < bitlen / 8U; ++i) {
		if (i * 8 >= cidr)
			key[i] = 0;
		else if (cidr - i * 8 < 8)
			key[i] &= 0xffU << (8 - (cidr - i * 8));
	}
}

static struct allowedips_node *node_new(const u8 *key, u8 cidr, u8 bitlen)
{
	struct allowedips_node *node;

	node = kmem_cache_zalloc(node_cache, GFP_KERNEL);
	if (!node)
		return NULL;
	memcpy(node->bits, key, bitlen / 8);
	mask_key(node->bits, cidr, bitlen);
	node->cidr = cidr;
	node->bitlen = bitlen;
	node->bit_at_a = cidr / 8U;
	node->bit_at_b = 7U - (cidr % 8U);
	INIT_LIST_HEAD(&node->peer_list);
	return node;
}

static void node_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(node_cache,
			container_of(rcu, struct allowedips_node, rcu));
}

static struct allowedips_node __rcu **root_of(struct allowedips *table,
					       u8 bitlen)
{
	return bitlen == 32 ? &table->root4 : &table->root6;
}

#define deref_locked(p, lock) \
	rcu_dereference_protected(p, lockdep_is_held(lock))

/* Hangs child in slot bit of parent (or in *root when parent is NULL). */
static void link_child(struct allowedips_node __rcu **root,
		       struct allowedips_node *parent, unsigned int bit,
		       struct allowedips_node *child)
{
	struct allowedips_node __rcu **slot = parent ? &parent->bit[bit] : root;

	child->parent = parent;
	child->parent_slot = slot;
	rcu_assign_pointer(*slot, child);
}

static void set_peer(struct allowedips_node *node, struct mwg_peer *peer)
{
	list_del_init(&node->peer_list);
	list_add_tail(&node->peer_list, &peer->allowedips_list);
	rcu_assign_pointer(node->peer, peer);
}

static int insert_prefix(struct allowedips *table, const u8 *ip, u8 cidr,
			 u8 bitlen, struct mwg_peer *peer, struct mutex *lock)
{
	struct allowedips_node __rcu **root = root_of(table, bitlen);
	struct allowedips_node *node, *parent = NULL, *newnode, *join;
	unsigned int bit = 0;
	u8 key[16] __aligned(8);
	u8 common = 0;

	lockdep_assert_held(lock);
	if (cidr > bitlen || !peer)
		return -EINVAL;
	memcpy(key, ip, bitlen / 8);
	mask_key(key, cidr, bitlen);

	node = deref_locked(*root, lock);
	while (node) {
		common = min3(common_bits(node->bits, key, bitlen), node->cidr,
			      cidr);
		if (common == node->cidr && common == cidr) {
			/* The very prefix: (re)assign it. */
			set_peer(node, peer);
			++table->seq;
			return 0;
		}
		if (common < node->cidr)
			break;
		/* node is a shorter prefix of key: go down. */
		parent = node;
		bit = key_bit(key, node->cidr);
		node = deref_locked(node->bit[bit], lock);
	}

	newnode = node_new(key, cidr, bitlen);
	if (!newnode)
		return -ENOMEM;

	if (!node) {
		/* An empty slot under parent. */
		set_peer(newnode, peer);
		link_child(root, parent, bit, newnode);
	} else if (common == cidr) {
		/* key is a shorter prefix of node: newnode goes above it. */
		set_peer(newnode, peer);
		link_child(root, newnode, key_bit(node->bits, cidr), node);
		link_child(root, parent, bit, newnode);
	} else {
		/* They part at bit common: a join node holds both. */
		join = node_new(key, common, bitlen);
		if (!join) {
			kmem_cache_free(node_cache, newnode);
			return -ENOMEM;
		}
		set_peer(newnode, peer);
		link_child(root, join, key_bit(key, common), newnode);
		link_child(root, join, key_bit(node->bits, common), node);
		link_child(root, parent, bit, join);
	}
	++table->seq;
	return 0;
}

/* Replaces node, which has at most one child, by that child (or nothing). */
static void splice_out(struct allowedips_node *node, struct mutex *lock)
{
	struct allowedips_node *child;

	child = deref_locked(node->bit[0], lock) ?:
		deref_locked(node->bit[1], lock);
	if (child) {
		child->parent = node->parent;
		child->parent_slot = node->parent_slot;
	}
	rcu_assign_pointer(*node->parent_slot, child);
	call_rcu(&node->rcu, node_free_rcu);
}

static void remove_node(struct allowedips_node *node, struct mutex *lock)
{
	struct allowedips_node *parent = node->parent;

	RCU_INIT_POINTER(node->peer, NULL);
	list_del_init(&node->peer_list);
	if (rcu_access_pointer(node->bit[0]) &&
	    rcu_access_pointer(node->bit[1]))
		return; /* Stays as a join node. */
	splice_out(node, lock);
	/* A join node left with a single child is useless too. */
	if (parent && !rcu_access_pointer(parent->peer) &&
	    (!rcu_access_pointer(parent->bit[0]) ||
	     !rcu_access_pointer(parent->bit[1])))
		splice_out(parent, lock);
}

static int remove_prefix(struct allowedips *table, const u8 *ip, u8 cidr,
			 u8 bitlen, struct mwg_peer *peer, struct mutex *lock)
{
	struct allowedips_node *node;
	u8 key[16] __aligned(8);

	lockdep_assert_held(lock);
	if (cidr > bitlen)
		return -EINVAL;
	memcpy(key, ip, bitlen / 8);
	mask_key(key, cidr, bitlen);

	node = deref_locked(*root_of(table, bitlen), lock);
	while (node && node->cidr <= cidr &&
	       common_bits(node->bits, key, bitlen) >= node->cidr) {
		if (node->cidr == cidr) {
			if (rcu_access_pointer(node->peer) == peer) {
				remove_node(node, lock);
				++table->seq;
			}
			return 0;
		}
		node = deref_locked(node->bit[key_bit(key, node->cidr)], lock);
	}
	return 0;
}

static void free_root(struct allowedips_node __rcu **root, struct mutex *lock)
{
	struct allowedips_node *node = deref_locked(*root, lock), *child;

	RCU_INIT_POINTER(*root, NULL);
	while (node) {
		child = deref_locked(node->bit[0], lock);
		if (child) {
			RCU_INIT_POINTER(node->bit[0], NULL);
			node = child;
			continue;
		}
		child = deref_locked(node->bit[1], lock);
		if (child) {
			RCU_INIT_POINTER(node->bit[1], NULL);
			node = child;
			continue;
		}
		child = node->parent;
		list_del_init(&node->peer_list);
		call_rcu(&node->rcu, node_free_rcu);
		node = child;
	}
}

void mwg_allowedips_init(struct allowedips *table)
{
	RCU_INIT_POINTER(table->root4, NULL);
	RCU_INIT_POINTER(table->root6, NULL);
	table->seq = 1;
}

void mwg_allowedips_free(struct allowedips *table, struct mutex *lock)
{
	lockdep_assert_held(lock);
	++table->seq;
	free_root(&table->root4, lock);
	free_root(&table->root6, lock);
}

int mwg_allowedips_insert_v4(struct allowedips *table, const struct in_addr *ip,
			     u8 cidr, struct mwg_peer *peer, struct mutex *lock)
{
	return insert_prefix(table, (const u8 *)ip, cidr, 32, peer, lock);
}

int mwg_allowedips_insert_v6(struct allowedips *table,
			     const struct in6_addr *ip, u8 cidr,
			     struct mwg_peer *peer, struct mutex *lock)
{
	return insert_prefix(table, (const u8 *)ip, cidr, 128, peer, lock);
}

int mwg_allowedips_remove_v4(struct allowedips *table, const struct in_addr *ip,
			     u8 cidr, struct mwg_peer *peer, struct mutex *lock)
{
	return remove_prefix(table, (const u8 *)ip, cidr, 32, peer, lock);
}

int mwg_allowedips_remove_v6(struct allowedips *table,
			     const struct in6_addr *ip, u8 cidr,
			     struct mwg_peer *peer, struct mutex *lock)
{
	return remove_prefix(table, (const u8 *)ip, cidr, 128, peer, lock);
}

void mwg_allowedips_remove_by_peer(struct allowedips *table,
				   struct mwg_peer *peer, struct mutex *lock)
{
	struct allowedips_node *node, *tmp;

	lockdep_assert_held(lock);
	if (list_empty(&peer->allowedips_list))
		return;
	list_for_each_entry_safe(node, tmp, &peer->allowedips_list, peer_list)
		remove_node(node, lock);
	++table->seq;
}

int mwg_allowedips_read_node(struct allowedips_node *node, u8 ip[16], u8 *cidr)
{
	memset(ip, 0, 16);
	memcpy(ip, node->bits, node->bitlen / 8);
	*cidr = node->cidr;
	return node->bitlen == 32 ? AF_INET : AF_INET6;
}

int mwg_allowedips_walk_by_peer(struct allowedips *table,
				struct allowedips_cursor *cursor,
				struct mwg_peer *peer,
				int (*cb)(void *ctx, const u8 ip[16], u8 cidr,
					  int family),
				void *ctx, struct mutex *lock)
{
	struct allowedips_node *node;
	u8 ip[16] __aligned(8);
	int family, ret;
	u8 cidr;

	lockdep_assert_held(lock);
	if (cursor->next) {
		if (cursor->seq != table->seq) {
			cursor->next = NULL;
			return -ESTALE;
		}
		node = cursor->next;
	} else {
		node = list_first_entry(&peer->allowedips_list,
					struct allowedips_node, peer_list);
	}
	cursor->seq = table->seq;
	list_for_each_entry_from(node, &peer->allowedips_list, peer_list) {
		family = mwg_allowedips_read_node(node, ip, &cidr);
		ret = cb(ctx, ip, cidr, family);
		if (ret) {
			cursor->next = node;
			return ret;
		}
	}
	cursor->next = NULL;
	return 0;
}

static struct mwg_peer *lookup_key(struct allowedips_node __rcu *const *root,
			       u8 bitlen, const void *addr)
{
	struct allowedips_node *node;
	struct mwg_peer *best = NULL, *peer;
	const u8 *key = addr;

	rcu_read_lock_bh();
	node = rcu_dereference_bh(*root);
	while (node && common_bits(node->bits, key, bitlen) >= node->cidr) {
		peer = rcu_dereference_bh(node->peer);
		if (peer)
			best = peer;
		if (node->cidr == bitlen)
			break;
		node = rcu_dereference_bh(node->bit[key_bit(key, node->cidr)]);
	}
	/* A peer whose last reference is going is as good as absent. */
	if (best)
		best = mwg_peer_get_maybe_zero(best);
	rcu_read_unlock_bh();
	return best;
}

struct mwg_peer *mwg_allowedips_lookup(struct allowedips *table, int family,
				       const void *addr)
{
	if (family == AF_INET)
		return lookup_key(&table->root4, 32, addr);
	if (family == AF_INET6)
		return lookup_key(&table->root6, 128, addr);
	return NULL;
}

struct mwg_peer *mwg_allowedips_lookup_dst(struct allowedips *table,
					   struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return lookup_key(&table->root4, 32, &ip_hdr(skb)->daddr);
	if (skb->protocol == htons(ETH_P_IPV6))
		return lookup_key(&table->root6, 128, &ipv6_hdr(skb)->daddr);
	return NULL;
}

struct mwg_peer *mwg_allowedips_lookup_src(struct allowedips *table,
					   struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return lookup_key(&table->root4, 32, &ip_hdr(skb)->saddr);
	if (skb->protocol == htons(ETH_P_IPV6))
		return lookup_key(&table->root6, 128, &ipv6_hdr(skb)->saddr);
	return NULL;
}

int mwg_allowedips_slab_init(void)
{
	node_cache = KMEM_CACHE(allowedips_node, 0);
	return node_cache ? 0 : -ENOMEM;
}

void mwg_allowedips_slab_uninit(void)
{
	rcu_barrier();
	kmem_cache_destroy(node_cache);
}
