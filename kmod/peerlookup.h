/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: peers by public key, and handshakes/keypairs by receiver index.
 */

#ifndef _MWG_PEERLOOKUP_H
#define _MWG_PEERLOOKUP_H

#include "messages.h"

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>

struct mwg_peer;

/*
 * Writers (add/remove) hold table->lock; in practice they also hold the
 * device's device_update_lock. Lookups run under rcu_read_lock_bh() inside
 * the function and return a strong reference (mwg_peer_get_maybe_zero), or
 * NULL; the caller drops it with mwg_peer_put().
 */
struct pubkey_hashtable {
	DECLARE_HASHTABLE(hashtable, 11);
	siphash_key_t key;
	struct mutex lock;
};

struct pubkey_hashtable *mwg_pubkey_hashtable_alloc(void);
void mwg_pubkey_hashtable_free(struct pubkey_hashtable *table);
/* Keyed by peer->handshake.remote_static, through peer->pubkey_hash. */
void mwg_pubkey_hashtable_add(struct pubkey_hashtable *table,
			      struct mwg_peer *peer);
void mwg_pubkey_hashtable_remove(struct pubkey_hashtable *table,
				 struct mwg_peer *peer);
struct mwg_peer *
mwg_pubkey_hashtable_lookup(struct pubkey_hashtable *table,
			    const u8 pubkey[NOISE_PUBLIC_KEY_LEN]);

struct index_hashtable {
	DECLARE_HASHTABLE(hashtable, 13);
	spinlock_t lock;
};

enum index_hashtable_type {
	INDEX_HASHTABLE_HANDSHAKE = 1U << 0,
	INDEX_HASHTABLE_KEYPAIR = 1U << 1
};

/*
 * Embedded in struct noise_handshake and struct noise_keypair. The entry does
 * not own a reference to the peer: the handshake or keypair that embeds it
 * does (through the peer's own lifetime).
 */
struct index_hashtable_entry {
	struct mwg_peer *peer;
	struct hlist_node index_hash;
	enum index_hashtable_type type;
	__le32 index;
};

struct index_hashtable *mwg_index_hashtable_alloc(void);
void mwg_index_hashtable_free(struct index_hashtable *table);
/*
 * Picks a fresh random index unused in the table, stores it in entry->index
 * and publishes the entry (removing it first if it was already in). Returns
 * the index.
 */
__le32 mwg_index_hashtable_insert(struct index_hashtable *table,
				  struct index_hashtable_entry *entry);
/*
 * Puts new in old's place with old's index. Returns false, doing nothing,
 * if old is not in the table.
 */
bool mwg_index_hashtable_replace(struct index_hashtable *table,
				 struct index_hashtable_entry *old,
				 struct index_hashtable_entry *new);
void mwg_index_hashtable_remove(struct index_hashtable *table,
				struct index_hashtable_entry *entry);
/*
 * Returns the entry with that index whose type is in type_mask, and sets
 * *peer to a strong reference to its peer; NULL (and *peer untouched) if
 * none, or if the peer is on its way out. The entry is only valid while the
 * caller holds rcu_read_lock_bh() or a reference to what embeds it.
 */
struct index_hashtable_entry *
mwg_index_hashtable_lookup(struct index_hashtable *table,
			   const enum index_hashtable_type type_mask,
			   const __le32 index, struct mwg_peer **peer);

#endif /* _MWG_PEERLOOKUP_H */
