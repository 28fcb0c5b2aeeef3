// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: the two lookup tables of a device.
 *
 * pubkey_hashtable finds a peer from the static public key carried by a
 * handshake initiation; index_hashtable finds the handshake or keypair that
 * a response, cookie reply or data message is addressed to, by the receiver
 * index we chose at random when we sent our own message.
 */

#include "peerlookup.h"
#include "peer.h"
#include "noise.h"

#include <linux/mm.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/slab.h>

static struct hlist_head *pubkey_bucket(struct pubkey_hashtable *table,
					const u8 pubkey[NOISE_PUBLIC_KEY_LEN])
{
	/*
	 * siphash keyed with a per-table secret, so that remote parties
	 * cannot aim many keys at one bucket.
	 */
	const u64 hash = siphash(pubkey, NOISE_PUBLIC_KEY_LEN, &table->key);

	return &table->hashtable[hash & (HASH_SIZE(table->hashtable) - 1)];
}

struct pubkey_hashtable *mwg_pubkey_hashtable_alloc(void)
{
	struct pubkey_hashtable *table = kvmalloc(sizeof(*table), GFP_KERNEL);

	if (!table)
		return NULL;
	get_random_bytes(&table->key, sizeof(table->key));
	hash_init(table->hashtable);
	mutex_init(&table->lock);
	return table;
}

void mwg_pubkey_hashtable_free(struct pubkey_hashtable *table)
{
	if (table)
		mutex_destroy(&table->lock);
	kvfree(table);
}

void mwg_pubkey_hashtable_add(struct pubkey_hashtable *table,
			      struct mwg_peer *peer)
{
	mutex_lock(&table->lock);
	hlist_add_head_rcu(&peer->pubkey_hash,
			   pubkey_bucket(table, peer->handshake.remote_static));
	mutex_unlock(&table->lock);
}

void mwg_pubkey_hashtable_remove(struct pubkey_hashtable *table,
				 struct mwg_peer *peer)
{
	mutex_lock(&table->lock);
	hlist_del_init_rcu(&peer->pubkey_hash);
	mutex_unlock(&table->lock);
}

struct mwg_peer *
mwg_pubkey_hashtable_lookup(struct pubkey_hashtable *table,
			    const u8 pubkey[NOISE_PUBLIC_KEY_LEN])
{
	struct mwg_peer *iter, *found = NULL;

	rcu_read_lock_bh();
	hlist_for_each_entry_rcu_bh(iter, pubkey_bucket(table, pubkey),
				    pubkey_hash) {
		/* Public keys are not secret: memcmp is fine here. */
		if (!memcmp(pubkey, iter->handshake.remote_static,
			    NOISE_PUBLIC_KEY_LEN)) {
			found = iter;
			break;
		}
	}
	if (found)
		found = mwg_peer_get_maybe_zero(found);
	rcu_read_unlock_bh();
	return found;
}

static struct hlist_head *index_bucket(struct index_hashtable *table,
				       const __le32 index)
{
	/* Indices are uniformly random already: the low bits will do. */
	return &table->hashtable[(__force u32)index &
				 (HASH_SIZE(table->hashtable) - 1)];
}

struct index_hashtable *mwg_index_hashtable_alloc(void)
{
	struct index_hashtable *table = kvmalloc(sizeof(*table), GFP_KERNEL);

	if (!table)
		return NULL;
	hash_init(table->hashtable);
	spin_lock_init(&table->lock);
	return table;
}

void mwg_index_hashtable_free(struct index_hashtable *table)
{
	kvfree(table);
}

/* Caller holds table->lock. */
static bool index_in_use(struct index_hashtable *table, __le32 index)
{
	struct index_hashtable_entry *iter;

	hlist_for_each_entry(iter, index_bucket(table, index), index_hash) {
		if (iter->index == index)
			return true;
	}
	return false;
}

__le32 mwg_index_hashtable_insert(struct index_hashtable *table,
				  struct index_hashtable_entry *entry)
{
	__le32 index;

	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&entry->index_hash);
	/*
	 * With at most a few million entries in 2^32 values, a collision is
	 * rare and retrying under the lock terminates at once in practice.
	 */
	do {
		index = (__force __le32)get_random_u32();
	} while (index_in_use(table, index));
	entry->index = index;
	hlist_add_head_rcu(&entry->index_hash, index_bucket(table, index));
	spin_unlock_bh(&table->lock);
	return index;
}

bool mwg_index_hashtable_replace(struct index_hashtable *table,
				 struct index_hashtable_entry *old,
				 struct index_hashtable_entry *new)
{
	bool ret;

	spin_lock_bh(&table->lock);
	ret = !hlist_unhashed(&old->index_hash);
	if (!ret)
		goto out;
	new->index = old->index;
	hlist_replace_rcu(&old->index_hash, &new->index_hash);
	/*
	 * Mark old unhashed, so that a later remove or replace of it does
	 * nothing, but keep its next pointer: a reader standing on old must
	 * still be able to walk on to the rest of the bucket.
	 */
	WRITE_ONCE(old->index_hash.pprev, NULL);
out:
	spin_unlock_bh(&table->lock);
	return ret;
}

void mwg_index_hashtable_remove(struct index_hashtable *table,
				struct index_hashtable_entry *entry)
{
	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&entry->index_hash);
	spin_unlock_bh(&table->lock);
}

struct index_hashtable_entry *
mwg_index_hashtable_lookup(struct index_hashtable *table,
			   const enum index_hashtable_type type_mask,
			   const __le32 index, struct mwg_peer **peer)
{
	struct index_hashtable_entry *iter, *found = NULL;
	struct mwg_peer *ref;

	rcu_read_lock_bh();
	hlist_for_each_entry_rcu_bh(iter, index_bucket(table, index),
				    index_hash) {
		if (iter->index == index && (iter->type & type_mask)) {
			found = iter;
			break;
		}
	}
	if (found) {
		ref = mwg_peer_get_maybe_zero(found->peer);
		if (ref)
			*peer = ref;
		else
			found = NULL;
	}
	rcu_read_unlock_bh();
	return found;
}
