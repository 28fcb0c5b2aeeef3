/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: the Noise_IKpsk2 handshake, session keypairs and replay counter.
 */

#ifndef _MWG_NOISE_H
#define _MWG_NOISE_H

#include "messages.h"
#include "peerlookup.h"

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/rwsem.h>
#include <linux/mutex.h>
#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/timekeeping.h>

struct mwg_device;
struct mwg_peer;

/*
 * Sliding window of received data-message counters (RFC 6479 style bitmap of
 * COUNTER_BITS_TOTAL bits, of which COUNTER_WINDOW_SIZE are usable).
 */
struct noise_replay_counter {
	u64 counter;
	spinlock_t lock;
	unsigned long backtrack[COUNTER_BITS_TOTAL / BITS_PER_LONG];
};

struct noise_symmetric_key {
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	u64 birthdate;		/* boottime ns at derivation */
	bool is_valid;
};

/*
 * One session. Refcounted; the last mwg_noise_keypair_put() removes it from
 * the index table and frees it after an RCU grace period, key zeroed.
 */
struct noise_keypair {
	struct index_hashtable_entry entry;
	struct noise_symmetric_key sending;
	atomic64_t sending_counter;
	struct noise_symmetric_key receiving;
	struct noise_replay_counter receiving_counter;
	__le32 remote_index;
	bool i_am_the_initiator;
	struct kref refcount;
	struct rcu_head rcu;
	u64 internal_id;
};

/*
 * Readers use rcu_dereference_bh() on the three pointers; writers hold
 * keypair_update_lock.
 */
struct noise_keypairs {
	struct noise_keypair __rcu *current_keypair;
	struct noise_keypair __rcu *previous_keypair;
	struct noise_keypair __rcu *next_keypair;
	spinlock_t keypair_update_lock;
};

struct noise_static_identity {
	u8 static_public[NOISE_PUBLIC_KEY_LEN];
	u8 static_private[NOISE_PUBLIC_KEY_LEN];
	struct rw_semaphore lock;
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE
};

struct noise_handshake {
	struct index_hashtable_entry entry;

	enum noise_handshake_state state;
	u64 last_initiation_consumption;

	struct noise_static_identity *static_identity;

	u8 ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	u8 remote_static[NOISE_PUBLIC_KEY_LEN];
	u8 remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 precomputed_static_static[NOISE_PUBLIC_KEY_LEN];

	u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN];

	u8 hash[NOISE_HASH_LEN];
	u8 chaining_key[NOISE_HASH_LEN];

	u8 latest_timestamp[NOISE_TIMESTAMP_LEN];
	__le32 remote_index;

	/*
	 * Protects everything but remote_static, precomputed_static_static
	 * and static_identity, which only change under the device's
	 * device_update_lock (with this lock also taken for writing).
	 */
	struct rw_semaphore lock;
};

/* Computes the construction hashes; call once at module init. */
void mwg_noise_init(void);

/*
 * Sets up a peer's handshake. peer_preshared_key may be NULL (no PSK). The
 * entry is typed INDEX_HASHTABLE_HANDSHAKE and points at peer.
 */
void mwg_noise_handshake_init(struct noise_handshake *handshake,
			      struct noise_static_identity *static_identity,
			      const u8 peer_public_key[NOISE_PUBLIC_KEY_LEN],
			      const u8 peer_preshared_key[NOISE_SYMMETRIC_KEY_LEN],
			      struct mwg_peer *peer);
/* Forgets the ephemeral state and drops the index; keeps keys and PSK. */
void mwg_noise_handshake_clear(struct noise_handshake *handshake);

/* Makes the next handshake initiation allowed right away. */
static inline void mwg_noise_reset_last_sent_handshake(atomic64_t *handshake_ns)
{
	atomic64_set(handshake_ns, ktime_get_coarse_boottime_ns() -
				   (u64)(REKEY_TIMEOUT + 1) * NSEC_PER_SEC);
}

void mwg_noise_keypair_put(struct noise_keypair *keypair, bool unreference_now);
/* Returns keypair with a new reference, or NULL if it is being freed. */
struct noise_keypair *mwg_noise_keypair_get(struct noise_keypair *keypair);
void mwg_noise_keypairs_clear(struct noise_keypairs *keypairs);
/*
 * Called on each authenticated data message: if it was received with the
 * "next" keypair, that keypair becomes current (responder side confirmation).
 * Returns true when such a rotation happened.
 */
bool mwg_noise_received_with_keypair(struct noise_keypairs *keypairs,
				     struct noise_keypair *received_keypair);
/* Makes the peer's current/previous/next keypairs unusable for sending. */
void mwg_noise_expire_current_peer_keypairs(struct mwg_peer *peer);

/*
 * Replay check of a data message counter, to be called only after the
 * message authenticated. Returns true (and records the counter) if it is
 * new and inside the window, false if replayed, too old or past
 * REJECT_AFTER_MESSAGES.
 */
bool mwg_noise_counter_validate(struct noise_replay_counter *counter,
				u64 their_counter);

/*
 * Caller holds static_identity->lock for writing. A NULL private_key clears
 * the identity. The key is clamped; the public key is derived.
 */
void mwg_noise_set_static_identity_private_key(
	struct noise_static_identity *static_identity,
	const u8 private_key[NOISE_PUBLIC_KEY_LEN]);
/*
 * Recomputes DH(static_private, peer's remote_static); all zero (and so no
 * handshake possible) when there is no identity or the public key is of low
 * order. Caller holds static_identity->lock at least for reading.
 */
void mwg_noise_precompute_static_static(struct mwg_peer *peer);

/*
 * Handshake steps. create_* fill dst completely except macs (the caller adds
 * them with mwg_cookie_add_mac_to_packet()) and insert the handshake into
 * the device's index table; they return false if the step is impossible (no
 * identity, wrong state, low-order key). consume_* take a message whose
 * macs were already checked and return the peer with a reference, or NULL.
 */
bool mwg_noise_handshake_create_initiation(
	struct message_handshake_initiation *dst,
	struct noise_handshake *handshake);
struct mwg_peer *
mwg_noise_handshake_consume_initiation(struct message_handshake_initiation *src,
				       struct mwg_device *wg);
bool mwg_noise_handshake_create_response(struct message_handshake_response *dst,
					 struct noise_handshake *handshake);
struct mwg_peer *
mwg_noise_handshake_consume_response(struct message_handshake_response *src,
				     struct mwg_device *wg);

/*
 * Derives the session from a completed handshake (state CREATED_RESPONSE or
 * CONSUMED_RESPONSE), installs it in keypairs (initiator: current;
 * responder: next) with its own index, and clears the handshake. Returns
 * false if the handshake was not in a state to begin a session.
 */
bool mwg_noise_handshake_begin_session(struct noise_handshake *handshake,
				       struct noise_keypairs *keypairs);

#endif /* _MWG_NOISE_H */
