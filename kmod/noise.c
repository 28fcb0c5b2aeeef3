// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as WireGuard uses it.
 *
 *   initiator -> responder:  e, es, s, ss, {timestamp}
 *   responder -> initiator:  e, ee, se, psk, {}
 *
 * Both sides keep a chaining key ck and a transcript hash h. HASH is
 * BLAKE2s-256; KDFn is HKDF built on HMAC-BLAKE2s and yields n 32-byte
 * outputs; AEAD is ChaCha20-Poly1305 with a zero nonce (every key in the
 * handshake is used once) and h as associated data. The session keys are
 * KDF2(ck, "") at the end.
 *
 * Locking: static_identity->lock (read) is taken before handshake->lock;
 * keypairs->keypair_update_lock nests inside handshake->lock.
 */

#include "noise.h"
#include "device.h"
#include "peer.h"
#include "messages.h"
#include "peerlookup.h"
#include "timers.h"

#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

static_assert(sizeof(struct message_handshake_initiation) ==
	      MESSAGE_INITIATION_LEN);
static_assert(sizeof(struct message_handshake_response) ==
	      MESSAGE_RESPONSE_LEN);
static_assert(sizeof(struct message_handshake_cookie) == MESSAGE_COOKIE_LEN);
static_assert(sizeof(struct message_data) == MESSAGE_DATA_HEADER_LEN);
static_assert(((COUNTER_BITS_TOTAL / BITS_PER_LONG) &
	       (COUNTER_BITS_TOTAL / BITS_PER_LONG - 1)) == 0);

static const u8 construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const u8 identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* ck0 = HASH(construction), h0 = HASH(ck0 || identifier). */
static u8 initial_chaining_key[NOISE_HASH_LEN] __ro_after_init;
static u8 initial_hash[NOISE_HASH_LEN] __ro_after_init;
static atomic64_t keypair_counter = ATOMIC64_INIT(0);

void __init mwg_noise_init(void)
{
	struct blake2s_state state;

	blake2s(initial_chaining_key, construction, NULL, NOISE_HASH_LEN,
		sizeof(construction) - 1, 0);
	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, initial_chaining_key, NOISE_HASH_LEN);
	blake2s_update(&state, identifier, sizeof(identifier) - 1);
	blake2s_final(&state, initial_hash);
}

/* ---- Symmetric primitives ------------------------------------------- */

/* HMAC (RFC 2104) over BLAKE2s-256; key at most one block (64 bytes). */
static void hmac_blake2s(u8 out[BLAKE2S_HASH_SIZE], const u8 *in,
			 const u8 *key, size_t inlen, size_t keylen)
{
	u8 pad[BLAKE2S_BLOCK_SIZE] __aligned(__alignof__(u32));
	u8 inner[BLAKE2S_HASH_SIZE];
	struct blake2s_state state;
	size_t i;

	memset(pad, 0, sizeof(pad));
	if (keylen > BLAKE2S_BLOCK_SIZE)
		blake2s(pad, key, NULL, BLAKE2S_HASH_SIZE, keylen, 0);
	else
		memcpy(pad, key, keylen);

	for (i = 0; i < BLAKE2S_BLOCK_SIZE; ++i)
		pad[i] ^= 0x36;
	blake2s_init(&state, BLAKE2S_HASH_SIZE);
	blake2s_update(&state, pad, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&state, in, inlen);
	blake2s_final(&state, inner);

	/* Turn the inner pad (key ^ 0x36) into the outer one (key ^ 0x5c). */
	for (i = 0; i < BLAKE2S_BLOCK_SIZE; ++i)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&state, BLAKE2S_HASH_SIZE);
	blake2s_update(&state, pad, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&state, inner, BLAKE2S_HASH_SIZE);
	blake2s_final(&state, out);

	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
}

/*
 * HKDF with HMAC-BLAKE2s, salt = chaining_key, up to three 32-byte outputs:
 *   prk = HMAC(ck, data); t1 = HMAC(prk, 1); t2 = HMAC(prk, t1 || 2);
 *   t3 = HMAC(prk, t2 || 3).
 * Each dst may be NULL (not wanted); dst may alias chaining_key.
 */
static void kdf(u8 *dst1, u8 *dst2, u8 *dst3, const u8 *data, size_t data_len,
		const u8 chaining_key[NOISE_HASH_LEN])
{
	u8 prk[BLAKE2S_HASH_SIZE];
	u8 t[BLAKE2S_HASH_SIZE + 1];

	hmac_blake2s(prk, data, chaining_key, data_len, NOISE_HASH_LEN);

	t[0] = 1;
	hmac_blake2s(t, t, prk, 1, BLAKE2S_HASH_SIZE);
	if (dst1)
		memcpy(dst1, t, BLAKE2S_HASH_SIZE);
	if (dst2 || dst3) {
		t[BLAKE2S_HASH_SIZE] = 2;
		hmac_blake2s(t, t, prk, sizeof(t), BLAKE2S_HASH_SIZE);
		if (dst2)
			memcpy(dst2, t, BLAKE2S_HASH_SIZE);
	}
	if (dst3) {
		t[BLAKE2S_HASH_SIZE] = 3;
		hmac_blake2s(t, t, prk, sizeof(t), BLAKE2S_HASH_SIZE);
		memcpy(dst3, t, BLAKE2S_HASH_SIZE);
	}

	memzero_explicit(prk, sizeof(prk));
	memzero_explicit(t, sizeof(t));
}

/* h = HASH(h || src) */
static void mix_hash(u8 hash[NOISE_HASH_LEN], const u8 *src, size_t len)
{
	struct blake2s_state state;

	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, hash, NOISE_HASH_LEN);
	blake2s_update(&state, src, len);
	blake2s_final(&state, hash);
}

/* (ck, key) = KDF2(ck, DH(private, public)); false for a low-order point. */
static bool __must_check mix_dh(u8 chaining_key[NOISE_HASH_LEN],
				u8 key[NOISE_SYMMETRIC_KEY_LEN],
				const u8 private[NOISE_PUBLIC_KEY_LEN],
				const u8 public[NOISE_PUBLIC_KEY_LEN])
{
	u8 shared[NOISE_PUBLIC_KEY_LEN];
	bool ok = curve25519(shared, private, public);

	if (ok)
		kdf(chaining_key, key, NULL, shared, NOISE_PUBLIC_KEY_LEN,
		    chaining_key);
	memzero_explicit(shared, sizeof(shared));
	return ok;
}

/* Same with the precomputed static-static DH; all zero means refused. */
static bool __must_check
mix_precomputed_dh(u8 chaining_key[NOISE_HASH_LEN],
		   u8 key[NOISE_SYMMETRIC_KEY_LEN],
		   const u8 precomputed[NOISE_PUBLIC_KEY_LEN])
{
	static const u8 zero[NOISE_PUBLIC_KEY_LEN];

	if (!crypto_memneq(precomputed, zero, NOISE_PUBLIC_KEY_LEN))
		return false;
	kdf(chaining_key, key, NULL, precomputed, NOISE_PUBLIC_KEY_LEN,
	    chaining_key);
	return true;
}

/* (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau) */
static void mix_psk(u8 chaining_key[NOISE_HASH_LEN], u8 hash[NOISE_HASH_LEN],
		    u8 key[NOISE_SYMMETRIC_KEY_LEN],
		    const u8 psk[NOISE_SYMMETRIC_KEY_LEN])
{
	u8 tau[NOISE_HASH_LEN];

	kdf(chaining_key, tau, key, psk, NOISE_SYMMETRIC_KEY_LEN,
	    chaining_key);
	mix_hash(hash, tau, NOISE_HASH_LEN);
	memzero_explicit(tau, sizeof(tau));
}

/* ck = ck0; h = HASH(h0 || responder's static public key) */
static void handshake_start(u8 chaining_key[NOISE_HASH_LEN],
			    u8 hash[NOISE_HASH_LEN],
			    const u8 responder_static[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(chaining_key, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(hash, initial_hash, NOISE_HASH_LEN);
	mix_hash(hash, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* dst = AEAD(key, 0, src, h); h = HASH(h || dst) */
static void message_encrypt(u8 *dst, const u8 *src, size_t src_len,
			    const u8 key[NOISE_SYMMETRIC_KEY_LEN],
			    u8 hash[NOISE_HASH_LEN])
{
	chacha20poly1305_encrypt(dst, src, src_len, hash, NOISE_HASH_LEN, 0,
				 key);
	mix_hash(hash, dst, noise_encrypted_len(src_len));
}

static bool __must_check message_decrypt(u8 *dst, const u8 *src,
					 size_t src_len,
					 const u8 key[NOISE_SYMMETRIC_KEY_LEN],
					 u8 hash[NOISE_HASH_LEN])
{
	if (!chacha20poly1305_decrypt(dst, src, src_len, hash, NOISE_HASH_LEN,
				      0, key))
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

/* The e token: h = HASH(h || e); ck = KDF1(ck, e). */
static void message_ephemeral(const u8 ephemeral[NOISE_PUBLIC_KEY_LEN],
			      u8 chaining_key[NOISE_HASH_LEN],
			      u8 hash[NOISE_HASH_LEN])
{
	mix_hash(hash, ephemeral, NOISE_PUBLIC_KEY_LEN);
	kdf(chaining_key, NULL, NULL, ephemeral, NOISE_PUBLIC_KEY_LEN,
	    chaining_key);
}

/*
 * TAI64N of now. The nanoseconds are rounded down to a power of two below
 * the initiation rate limit: more precision would only leak clock details.
 */
static void tai64n_now(u8 output[NOISE_TIMESTAMP_LEN])
{
	struct timespec64 now;
	__be64 secs;
	__be32 nsecs;

	ktime_get_real_ts64(&now);
	now.tv_nsec = ALIGN_DOWN(now.tv_nsec,
		rounddown_pow_of_two(NSEC_PER_SEC / INITIATIONS_PER_SECOND));
	secs = cpu_to_be64(0x400000000000000aULL + now.tv_sec);
	nsecs = cpu_to_be32(now.tv_nsec);
	memcpy(output, &secs, sizeof(secs));
	memcpy(output + sizeof(secs), &nsecs, sizeof(nsecs));
}

/* ---- Static identity and handshake state ------------------------------ */

void mwg_noise_set_static_identity_private_key(
	struct noise_static_identity *static_identity,
	const u8 private_key[NOISE_PUBLIC_KEY_LEN])
{
	if (!private_key) {
		memzero_explicit(static_identity->static_private,
				 NOISE_PUBLIC_KEY_LEN);
		memset(static_identity->static_public, 0, NOISE_PUBLIC_KEY_LEN);
		static_identity->has_identity = false;
		return;
	}
	memcpy(static_identity->static_private, private_key,
	       NOISE_PUBLIC_KEY_LEN);
	curve25519_clamp_secret(static_identity->static_private);
	/* False for the all-zero key: no identity then. */
	static_identity->has_identity =
		curve25519_generate_public(static_identity->static_public,
					   private_key);
}

static void precompute_static_static_locked(struct noise_handshake *handshake)
{
	struct noise_static_identity *id = handshake->static_identity;

	if (!id->has_identity ||
	    !curve25519(handshake->precomputed_static_static,
			id->static_private, handshake->remote_static))
		memzero_explicit(handshake->precomputed_static_static,
				 NOISE_PUBLIC_KEY_LEN);
}

void mwg_noise_precompute_static_static(struct mwg_peer *peer)
{
	down_write(&peer->handshake.lock);
	precompute_static_static_locked(&peer->handshake);
	up_write(&peer->handshake.lock);
}

/* Forget everything about the handshake in flight. Caller holds lock. */
static void handshake_zero(struct noise_handshake *handshake)
{
	memzero_explicit(handshake->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memset(handshake->remote_ephemeral, 0, NOISE_PUBLIC_KEY_LEN);
	memzero_explicit(handshake->hash, NOISE_HASH_LEN);
	memzero_explicit(handshake->chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = 0;
	handshake->state = HANDSHAKE_ZEROED;
}

void mwg_noise_handshake_init(struct noise_handshake *handshake,
			      struct noise_static_identity *static_identity,
			      const u8 peer_public_key[NOISE_PUBLIC_KEY_LEN],
			      const u8 peer_preshared_key[NOISE_SYMMETRIC_KEY_LEN],
			      struct mwg_peer *peer)
{
	memset(handshake, 0, sizeof(*handshake));
	init_rwsem(&handshake->lock);
	INIT_HLIST_NODE(&handshake->entry.index_hash);
	handshake->entry.type = INDEX_HASHTABLE_HANDSHAKE;
	handshake->entry.peer = peer;
	memcpy(handshake->remote_static, peer_public_key, NOISE_PUBLIC_KEY_LEN);
	if (peer_preshared_key)
		memcpy(handshake->preshared_key, peer_preshared_key,
		       NOISE_SYMMETRIC_KEY_LEN);
	handshake->static_identity = static_identity;
	handshake->state = HANDSHAKE_ZEROED;
	precompute_static_static_locked(handshake);
}

void mwg_noise_handshake_clear(struct noise_handshake *handshake)
{
	struct index_hashtable *table =
		handshake->entry.peer->device->index_hashtable;

	down_write(&handshake->lock);
	mwg_index_hashtable_remove(table, &handshake->entry);
	handshake_zero(handshake);
	up_write(&handshake->lock);
}

/* ---- Keypairs --------------------------------------------------------- */

static struct noise_keypair *keypair_create(struct mwg_peer *peer)
{
	struct noise_keypair *keypair = kzalloc(sizeof(*keypair), GFP_KERNEL);

	if (!keypair)
		return NULL;
	spin_lock_init(&keypair->receiving_counter.lock);
	kref_init(&keypair->refcount);
	INIT_HLIST_NODE(&keypair->entry.index_hash);
	keypair->entry.type = INDEX_HASHTABLE_KEYPAIR;
	keypair->entry.peer = peer;
	keypair->internal_id = atomic64_inc_return(&keypair_counter);
	return keypair;
}

static void keypair_free_rcu(struct rcu_head *rcu)
{
	kfree_sensitive(container_of(rcu, struct noise_keypair, rcu));
}

static void keypair_release(struct kref *kref)
{
	struct noise_keypair *keypair =
		container_of(kref, struct noise_keypair, refcount);

	net_dbg_ratelimited("%s: Keypair %llu destroyed for peer %llu\n",
			    keypair->entry.peer->device->dev->name,
			    keypair->internal_id,
			    keypair->entry.peer->internal_id);
	mwg_index_hashtable_remove(keypair->entry.peer->device->index_hashtable,
				   &keypair->entry);
	call_rcu(&keypair->rcu, keypair_free_rcu);
}

void mwg_noise_keypair_put(struct noise_keypair *keypair, bool unreference_now)
{
	if (!keypair)
		return;
	/* No new lookups by index from now on, even if packets hold it. */
	if (unreference_now)
		mwg_index_hashtable_remove(
			keypair->entry.peer->device->index_hashtable,
			&keypair->entry);
	kref_put(&keypair->refcount, keypair_release);
}

struct noise_keypair *mwg_noise_keypair_get(struct noise_keypair *keypair)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "Taking noise keypair reference without holding the RCU BH read lock");
	if (!keypair || !kref_get_unless_zero(&keypair->refcount))
		return NULL;
	return keypair;
}

#define keypairs_deref(keypairs, slot)                 \
	rcu_dereference_protected((keypairs)->slot,     \
		lockdep_is_held(&(keypairs)->keypair_update_lock))

void mwg_noise_keypairs_clear(struct noise_keypairs *keypairs)
{
	struct noise_keypair *old;

	spin_lock_bh(&keypairs->keypair_update_lock);

	old = keypairs_deref(keypairs, next_keypair);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);
	mwg_noise_keypair_put(old, true);

	old = keypairs_deref(keypairs, previous_keypair);
	RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
	mwg_noise_keypair_put(old, true);

	old = keypairs_deref(keypairs, current_keypair);
	RCU_INIT_POINTER(keypairs->current_keypair, NULL);
	mwg_noise_keypair_put(old, true);

	spin_unlock_bh(&keypairs->keypair_update_lock);
}

void mwg_noise_expire_current_peer_keypairs(struct mwg_peer *peer)
{
	struct noise_keypair *keypair;

	mwg_noise_handshake_clear(&peer->handshake);
	mwg_noise_reset_last_sent_handshake(&peer->last_sent_handshake);

	spin_lock_bh(&peer->keypairs.keypair_update_lock);
	keypair = keypairs_deref(&peer->keypairs, next_keypair);
	if (keypair)
		keypair->sending.is_valid = false;
	keypair = keypairs_deref(&peer->keypairs, current_keypair);
	if (keypair)
		keypair->sending.is_valid = false;
	spin_unlock_bh(&peer->keypairs.keypair_update_lock);
}

/*
 * Installs a fresh session. As initiator we got the response, so the
 * responder has the keys too: it becomes current right away, and the old
 * current stays as previous to receive what is still in flight. As
 * responder we may not send with it until the initiator proves it has it
 * (its first data message), so it waits in next.
 */
static void add_new_keypair(struct noise_keypairs *keypairs,
			    struct noise_keypair *new_keypair)
{
	struct noise_keypair *previous, *next, *current_kp;

	spin_lock_bh(&keypairs->keypair_update_lock);
	previous = keypairs_deref(keypairs, previous_keypair);
	next = keypairs_deref(keypairs, next_keypair);
	current_kp = keypairs_deref(keypairs, current_keypair);

	if (new_keypair->i_am_the_initiator) {
		if (next) {
			/*
			 * An unconfirmed session from an earlier handshake
			 * was waiting: keep it as previous (the peer may be
			 * sending with it) and drop the current one.
			 */
			RCU_INIT_POINTER(keypairs->next_keypair, NULL);
			rcu_assign_pointer(keypairs->previous_keypair, next);
			mwg_noise_keypair_put(current_kp, true);
		} else {
			rcu_assign_pointer(keypairs->previous_keypair,
					   current_kp);
		}
		mwg_noise_keypair_put(previous, true);
		rcu_assign_pointer(keypairs->current_keypair, new_keypair);
	} else {
		rcu_assign_pointer(keypairs->next_keypair, new_keypair);
		mwg_noise_keypair_put(next, true);
		RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
		mwg_noise_keypair_put(previous, true);
	}
	spin_unlock_bh(&keypairs->keypair_update_lock);
}

bool mwg_noise_received_with_keypair(struct noise_keypairs *keypairs,
				     struct noise_keypair *received_keypair)
{
	struct noise_keypair *previous;
	bool rotated = false;

	/* Cheap test first: almost every packet uses current. */
	if (rcu_access_pointer(keypairs->next_keypair) != received_keypair)
		return false;

	spin_lock_bh(&keypairs->keypair_update_lock);
	if (keypairs_deref(keypairs, next_keypair) == received_keypair) {
		previous = keypairs_deref(keypairs, previous_keypair);
		rcu_assign_pointer(keypairs->previous_keypair,
				   keypairs_deref(keypairs, current_keypair));
		mwg_noise_keypair_put(previous, true);
		rcu_assign_pointer(keypairs->current_keypair, received_keypair);
		RCU_INIT_POINTER(keypairs->next_keypair, NULL);
		rotated = true;
	}
	spin_unlock_bh(&keypairs->keypair_update_lock);
	return rotated;
}

/* ---- Replay counter ----------------------------------------------------- */

/*
 * counter->counter is one more than the highest counter accepted (0: none
 * yet). Bit n of the ring of words says whether (shifted) counter n was seen,
 * for the COUNTER_BITS_TOTAL values up to counter->counter; the word being
 * filled is only partly valid, so the guaranteed window is one word shorter.
 */
bool mwg_noise_counter_validate(struct noise_replay_counter *counter,
				u64 their_counter)
{
	enum { WORDS = COUNTER_BITS_TOTAL / BITS_PER_LONG };
	unsigned long word, top_word, to_clear, i;
	bool fresh = false;

	spin_lock_bh(&counter->lock);

	if (unlikely(counter->counter >= REJECT_AFTER_MESSAGES + 1 ||
		     their_counter >= REJECT_AFTER_MESSAGES))
		goto out;

	++their_counter;
	if (unlikely(their_counter + COUNTER_WINDOW_SIZE < counter->counter))
		goto out; /* Too old to tell. */

	word = their_counter >> ilog2(BITS_PER_LONG);
	if (likely(their_counter > counter->counter)) {
		/* Slide forward, clearing the words we move into. */
		top_word = counter->counter >> ilog2(BITS_PER_LONG);
		to_clear = min_t(unsigned long, word - top_word, WORDS);
		for (i = 1; i <= to_clear; ++i)
			counter->backtrack[(top_word + i) & (WORDS - 1)] = 0;
		counter->counter = their_counter;
	}
	fresh = !test_and_set_bit(their_counter & (BITS_PER_LONG - 1),
				  &counter->backtrack[word & (WORDS - 1)]);
out:
	spin_unlock_bh(&counter->lock);
	return fresh;
}

/* ---- Handshake messages ------------------------------------------------ */

bool mwg_noise_handshake_create_initiation(
	struct message_handshake_initiation *dst,
	struct noise_handshake *handshake)
{
	u8 timestamp[NOISE_TIMESTAMP_LEN];
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	bool ok = false;

	down_read(&handshake->static_identity->lock);
	down_write(&handshake->lock);

	if (unlikely(!handshake->static_identity->has_identity))
		goto out;

	/* From here on, a failure leaves no half-made handshake behind. */
	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_INITIATION);
	handshake_start(handshake->chaining_key, handshake->hash,
			handshake->remote_static);

	/* e */
	curve25519_generate_secret(handshake->ephemeral_private);
	if (!curve25519_generate_public(dst->unencrypted_ephemeral,
					handshake->ephemeral_private))
		goto fail;
	message_ephemeral(dst->unencrypted_ephemeral, handshake->chaining_key,
			  handshake->hash);

	/* es */
	if (!mix_dh(handshake->chaining_key, key, handshake->ephemeral_private,
		    handshake->remote_static))
		goto fail;

	/* s */
	message_encrypt(dst->encrypted_static,
			handshake->static_identity->static_public,
			NOISE_PUBLIC_KEY_LEN, key, handshake->hash);

	/* ss */
	if (!mix_precomputed_dh(handshake->chaining_key, key,
				handshake->precomputed_static_static))
		goto fail;

	/* {t} */
	tai64n_now(timestamp);
	message_encrypt(dst->encrypted_timestamp, timestamp,
			NOISE_TIMESTAMP_LEN, key, handshake->hash);

	dst->sender_index = mwg_index_hashtable_insert(
		handshake->entry.peer->device->index_hashtable,
		&handshake->entry);
	handshake->state = HANDSHAKE_CREATED_INITIATION;
	ok = true;
	goto out;

fail:
	handshake_zero(handshake);
out:
	up_write(&handshake->lock);
	up_read(&handshake->static_identity->lock);
	memzero_explicit(key, sizeof(key));
	return ok;
}

struct mwg_peer *
mwg_noise_handshake_consume_initiation(struct message_handshake_initiation *src,
				       struct mwg_device *wg)
{
	u8 s[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	u8 t[NOISE_TIMESTAMP_LEN];
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	struct noise_handshake *handshake;
	struct mwg_peer *peer = NULL, *ret = NULL;
	bool replay, flood;
	u64 now;

	down_read(&wg->static_identity.lock);
	if (unlikely(!wg->static_identity.has_identity))
		goto out;

	handshake_start(chaining_key, hash, wg->static_identity.static_public);

	/* e */
	memcpy(e, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	message_ephemeral(e, chaining_key, hash);

	/* es */
	if (!mix_dh(chaining_key, key, wg->static_identity.static_private, e))
		goto out;

	/* s */
	if (!message_decrypt(s, src->encrypted_static,
			     sizeof(src->encrypted_static), key, hash))
		goto out;

	/* Who is it? */
	peer = mwg_pubkey_hashtable_lookup(wg->peer_hashtable, s);
	if (!peer)
		goto out;
	handshake = &peer->handshake;

	/* ss */
	if (!mix_precomputed_dh(chaining_key, key,
				handshake->precomputed_static_static))
		goto out;

	/* {t} */
	if (!message_decrypt(t, src->encrypted_timestamp,
			     sizeof(src->encrypted_timestamp), key, hash))
		goto out;

	/*
	 * The timestamp must grow (a captured initiation cannot be replayed)
	 * and initiations from one peer are accepted INITIATIONS_PER_SECOND
	 * at most. Check and commit under one write lock, so two copies of
	 * the same message racing here cannot both pass.
	 */
	down_write(&handshake->lock);
	now = ktime_get_coarse_boottime_ns();
	replay = memcmp(t, handshake->latest_timestamp,
			NOISE_TIMESTAMP_LEN) <= 0;
	flood = (s64)(handshake->last_initiation_consumption +
		      NSEC_PER_SEC / INITIATIONS_PER_SECOND) > (s64)now;
	if (replay || flood) {
		up_write(&handshake->lock);
		goto out;
	}
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = src->sender_index;
	handshake->last_initiation_consumption = now;
	handshake->state = HANDSHAKE_CONSUMED_INITIATION;
	up_write(&handshake->lock);
	ret = peer;

out:
	memzero_explicit(key, sizeof(key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(chaining_key, sizeof(chaining_key));
	up_read(&wg->static_identity.lock);
	if (!ret && peer)
		mwg_peer_put(peer);
	return ret;
}

bool mwg_noise_handshake_create_response(struct message_handshake_response *dst,
					 struct noise_handshake *handshake)
{
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	bool ok = false;

	/*
	 * No need for the static private key here, but taking the identity
	 * lock keeps the order of mwg_noise_handshake_create_initiation().
	 */
	down_read(&handshake->static_identity->lock);
	down_write(&handshake->lock);

	if (handshake->state != HANDSHAKE_CONSUMED_INITIATION)
		goto out;

	/* From here on, a failure leaves no half-made handshake behind. */
	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_RESPONSE);
	dst->receiver_index = handshake->remote_index;

	/* e */
	curve25519_generate_secret(handshake->ephemeral_private);
	if (!curve25519_generate_public(dst->unencrypted_ephemeral,
					handshake->ephemeral_private))
		goto fail;
	message_ephemeral(dst->unencrypted_ephemeral, handshake->chaining_key,
			  handshake->hash);

	/* ee */
	if (!mix_dh(handshake->chaining_key, NULL, handshake->ephemeral_private,
		    handshake->remote_ephemeral))
		goto fail;

	/* se */
	if (!mix_dh(handshake->chaining_key, NULL, handshake->ephemeral_private,
		    handshake->remote_static))
		goto fail;

	/* psk */
	mix_psk(handshake->chaining_key, handshake->hash, key,
		handshake->preshared_key);

	/* {} */
	message_encrypt(dst->encrypted_nothing, NULL, 0, key, handshake->hash);

	dst->sender_index = mwg_index_hashtable_insert(
		handshake->entry.peer->device->index_hashtable,
		&handshake->entry);
	handshake->state = HANDSHAKE_CREATED_RESPONSE;
	ok = true;
	goto out;

fail:
	handshake_zero(handshake);
out:
	up_write(&handshake->lock);
	up_read(&handshake->static_identity->lock);
	memzero_explicit(key, sizeof(key));
	return ok;
}

struct mwg_peer *
mwg_noise_handshake_consume_response(struct message_handshake_response *src,
				     struct mwg_device *wg)
{
	u8 e[NOISE_PUBLIC_KEY_LEN], ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	struct index_hashtable_entry *entry;
	struct noise_handshake *handshake;
	enum noise_handshake_state state;
	struct mwg_peer *peer = NULL, *ret = NULL;

	down_read(&wg->static_identity.lock);
	if (unlikely(!wg->static_identity.has_identity))
		goto out;

	entry = mwg_index_hashtable_lookup(wg->index_hashtable,
					   INDEX_HASHTABLE_HANDSHAKE,
					   src->receiver_index, &peer);
	if (!entry)
		goto out;
	handshake = container_of(entry, struct noise_handshake, entry);

	/* Work on a copy, so as not to hold the lock during the DH. */
	down_read(&handshake->lock);
	state = handshake->state;
	memcpy(hash, handshake->hash, NOISE_HASH_LEN);
	memcpy(chaining_key, handshake->chaining_key, NOISE_HASH_LEN);
	memcpy(ephemeral_private, handshake->ephemeral_private,
	       NOISE_PUBLIC_KEY_LEN);
	memcpy(preshared_key, handshake->preshared_key,
	       NOISE_SYMMETRIC_KEY_LEN);
	up_read(&handshake->lock);

	if (state != HANDSHAKE_CREATED_INITIATION)
		goto out;

	/* e */
	memcpy(e, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	message_ephemeral(e, chaining_key, hash);

	/* ee */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, e))
		goto out;

	/* se */
	if (!mix_dh(chaining_key, NULL, wg->static_identity.static_private, e))
		goto out;

	/* psk */
	mix_psk(chaining_key, hash, key, preshared_key);

	/* {} */
	if (!message_decrypt(NULL, src->encrypted_nothing,
			     sizeof(src->encrypted_nothing), key, hash))
		goto out;

	down_write(&handshake->lock);
	/*
	 * Commit only if nothing moved meanwhile (another response, or a new
	 * initiation with another ephemeral key).
	 */
	if (handshake->state != state ||
	    crypto_memneq(handshake->ephemeral_private, ephemeral_private,
			  NOISE_PUBLIC_KEY_LEN)) {
		up_write(&handshake->lock);
		goto out;
	}
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = src->sender_index;
	handshake->state = HANDSHAKE_CONSUMED_RESPONSE;
	up_write(&handshake->lock);
	ret = peer;

out:
	memzero_explicit(key, sizeof(key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(chaining_key, sizeof(chaining_key));
	memzero_explicit(ephemeral_private, sizeof(ephemeral_private));
	memzero_explicit(preshared_key, sizeof(preshared_key));
	up_read(&wg->static_identity.lock);
	if (!ret && peer)
		mwg_peer_put(peer);
	return ret;
}

/* (first, second) = KDF2(ck, ""), both stamped now. */
static void derive_keys(struct noise_symmetric_key *first,
			struct noise_symmetric_key *second,
			const u8 chaining_key[NOISE_HASH_LEN])
{
	u64 now = ktime_get_coarse_boottime_ns();

	kdf(first->key, second->key, NULL, NULL, 0, chaining_key);
	first->birthdate = now;
	second->birthdate = now;
	first->is_valid = true;
	second->is_valid = true;
}

bool mwg_noise_handshake_begin_session(struct noise_handshake *handshake,
				       struct noise_keypairs *keypairs)
{
	struct noise_keypair *new_keypair;
	struct mwg_peer *peer = handshake->entry.peer;
	bool ok = false;

	down_write(&handshake->lock);
	if (handshake->state != HANDSHAKE_CREATED_RESPONSE &&
	    handshake->state != HANDSHAKE_CONSUMED_RESPONSE)
		goto out;

	new_keypair = keypair_create(peer);
	if (!new_keypair)
		goto out;
	new_keypair->i_am_the_initiator =
		handshake->state == HANDSHAKE_CONSUMED_RESPONSE;
	new_keypair->remote_index = handshake->remote_index;

	/* The initiator sends with the first key, the responder the second. */
	if (new_keypair->i_am_the_initiator)
		derive_keys(&new_keypair->sending, &new_keypair->receiving,
			    handshake->chaining_key);
	else
		derive_keys(&new_keypair->receiving, &new_keypair->sending,
			    handshake->chaining_key);

	handshake_zero(handshake);
	rcu_read_lock_bh();
	/*
	 * The keypair inherits the handshake's index, which the other side
	 * now addresses its data messages to. A dying peer gets nothing new.
	 */
	if (likely(!READ_ONCE(peer->is_dead)) &&
	    mwg_index_hashtable_replace(peer->device->index_hashtable,
					&handshake->entry,
					&new_keypair->entry)) {
		add_new_keypair(keypairs, new_keypair);
		net_dbg_ratelimited("%s: Keypair %llu created for peer %llu\n",
				    peer->device->dev->name,
				    new_keypair->internal_id,
				    peer->internal_id);
		ok = true;
	} else {
		kfree_sensitive(new_keypair);
	}
	rcu_read_unlock_bh();
out:
	up_write(&handshake->lock);
	return ok;
}
