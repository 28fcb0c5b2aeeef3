// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: mac1, mac2 and cookie replies.
 *
 * Every handshake message ends with two 16-byte MACs. mac1 is keyed with
 * HASH("mac1----" || receiver's static public key): anyone who knows whom
 * they talk to can produce it, and it lets the receiver drop random garbage
 * before any Curve25519 work. mac2 is keyed with a cookie: when a device is
 * under load it only answers messages whose mac2 proves the sender received a
 * cookie reply at its source address recently. The cookie is a MAC of the
 * source address and port under a secret rotated every two minutes, sent
 * encrypted (XChaCha20-Poly1305 under HASH("cookie--" || our public key),
 * with the message's mac1 as associated data).
 */

#include "cookie.h"
#include "peer.h"
#include "device.h"
#include "messages.h"
#include "ratelimiter.h"
#include "timers.h"
#include "queueing.h"

#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>

#include <linux/random.h>
#include <net/ipv6.h>

static const u8 mac1_key_label[COOKIE_KEY_LABEL_LEN] = "mac1----";
static const u8 cookie_key_label[COOKIE_KEY_LABEL_LEN] = "cookie--";

void mwg_cookie_checker_init(struct cookie_checker *checker,
			     struct mwg_device *wg)
{
	init_rwsem(&checker->secret_lock);
	/* Expired from the start, so the first use draws a secret. */
	checker->secret_birthdate = ktime_get_coarse_boottime_ns() -
		(u64)(COOKIE_SECRET_MAX_AGE + 1) * NSEC_PER_SEC;
	get_random_bytes(checker->secret, NOISE_HASH_LEN);
	checker->device = wg;
}

/* key = HASH(label || pubkey), the keys of mac1 and of cookie replies. */
static void derive_key(u8 key[NOISE_SYMMETRIC_KEY_LEN],
		       const u8 pubkey[NOISE_PUBLIC_KEY_LEN],
		       const u8 label[COOKIE_KEY_LABEL_LEN])
{
	struct blake2s_state state;

	blake2s_init(&state, NOISE_SYMMETRIC_KEY_LEN);
	blake2s_update(&state, label, COOKIE_KEY_LABEL_LEN);
	blake2s_update(&state, pubkey, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&state, key);
}

void mwg_cookie_checker_precompute_device_keys(struct cookie_checker *checker)
{
	struct noise_static_identity *id = &checker->device->static_identity;

	if (id->has_identity) {
		derive_key(checker->cookie_encryption_key, id->static_public,
			   cookie_key_label);
		derive_key(checker->message_mac1_key, id->static_public,
			   mac1_key_label);
	} else {
		memzero_explicit(checker->cookie_encryption_key,
				 NOISE_SYMMETRIC_KEY_LEN);
		memzero_explicit(checker->message_mac1_key,
				 NOISE_SYMMETRIC_KEY_LEN);
	}
}

void mwg_cookie_checker_precompute_peer_keys(struct mwg_peer *peer)
{
	derive_key(peer->latest_cookie.cookie_decryption_key,
		   peer->handshake.remote_static, cookie_key_label);
	derive_key(peer->latest_cookie.message_mac1_key,
		   peer->handshake.remote_static, mac1_key_label);
}

void mwg_cookie_init(struct cookie *cookie)
{
	memset(cookie, 0, sizeof(*cookie));
	init_rwsem(&cookie->lock);
}

/* mac1 covers the message up to mac1; mac2 covers it up to mac2. */
static void compute_mac1(u8 mac1[COOKIE_LEN], const void *message, size_t len,
			 const u8 key[NOISE_SYMMETRIC_KEY_LEN])
{
	blake2s(mac1, message, key, COOKIE_LEN,
		len - sizeof(struct message_macs), NOISE_SYMMETRIC_KEY_LEN);
}

static void compute_mac2(u8 mac2[COOKIE_LEN], const void *message, size_t len,
			 const u8 cookie[COOKIE_LEN])
{
	blake2s(mac2, message, cookie, COOKIE_LEN,
		len - sizeof(struct message_macs) +
			offsetof(struct message_macs, mac2),
		COOKIE_LEN);
}

/*
 * The cookie of skb's source: MAC(secret, source address || source port),
 * or for a datagram injected by the agent MAC(secret, relay id || relay
 * sender), so that a cookie handed out over one relay (or to one sender on
 * it) is worth nothing over another.
 */
static void make_cookie(u8 cookie[COOKIE_LEN], struct sk_buff *skb,
			struct cookie_checker *checker)
{
	struct blake2s_state state;

	if (mwg_birthdate_has_expired(checker->secret_birthdate,
				      COOKIE_SECRET_MAX_AGE)) {
		down_write(&checker->secret_lock);
		/* Somebody else may have rotated it meanwhile. */
		if (mwg_birthdate_has_expired(checker->secret_birthdate,
					      COOKIE_SECRET_MAX_AGE)) {
			get_random_bytes(checker->secret, NOISE_HASH_LEN);
			checker->secret_birthdate =
				ktime_get_coarse_boottime_ns();
		}
		up_write(&checker->secret_lock);
	}

	down_read(&checker->secret_lock);
	blake2s_init_key(&state, COOKIE_LEN, checker->secret, NOISE_HASH_LEN);
	if (skb->protocol == htons(ETH_P_IP)) {
		blake2s_update(&state, (u8 *)&ip_hdr(skb)->saddr,
			       sizeof(struct in_addr));
		blake2s_update(&state, (u8 *)&udp_hdr(skb)->source,
			       sizeof(__be16));
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		blake2s_update(&state, (u8 *)&ipv6_hdr(skb)->saddr,
			       sizeof(struct in6_addr));
		blake2s_update(&state, (u8 *)&udp_hdr(skb)->source,
			       sizeof(__be16));
	} else {
		blake2s_update(&state, (u8 *)&PACKET_CB(skb)->relay_id,
			       sizeof(PACKET_CB(skb)->relay_id));
		blake2s_update(&state, (u8 *)&PACKET_CB(skb)->relay_sender,
			       sizeof(PACKET_CB(skb)->relay_sender));
	}
	blake2s_final(&state, cookie);
	up_read(&checker->secret_lock);
}

static bool skb_is_ip(const struct sk_buff *skb)
{
	return skb->protocol == htons(ETH_P_IP) ||
	       skb->protocol == htons(ETH_P_IPV6);
}

enum cookie_mac_state mwg_cookie_validate_packet(struct cookie_checker *checker,
						 struct sk_buff *skb,
						 bool check_cookie)
{
	struct message_macs *macs;
	u8 computed[COOKIE_LEN];
	u8 cookie[COOKIE_LEN];

	if (skb->len < sizeof(struct message_header) + sizeof(*macs))
		return INVALID_MAC;
	macs = (struct message_macs *)(skb->data + skb->len - sizeof(*macs));

	compute_mac1(computed, skb->data, skb->len, checker->message_mac1_key);
	if (crypto_memneq(computed, macs->mac1, COOKIE_LEN))
		return INVALID_MAC;
	if (!check_cookie)
		return VALID_MAC_BUT_NO_COOKIE;

	make_cookie(cookie, skb, checker);
	compute_mac2(computed, skb->data, skb->len, cookie);
	memzero_explicit(cookie, sizeof(cookie));
	if (crypto_memneq(computed, macs->mac2, COOKIE_LEN))
		return VALID_MAC_BUT_NO_COOKIE;

	/* Per source address, or for injected ones per relay and sender. */
	if (skb_is_ip(skb) ?
	    !mwg_ratelimiter_allow(skb, dev_net(checker->device->dev)) :
	    !mwg_ratelimiter_allow_key(PACKET_CB(skb)->relay_sender,
				       checker->device,
				       MWG_RATELIMIT_RELAY_HANDSHAKE,
				       MWG_RATELIMITER_PACKETS_PER_SECOND,
				       MWG_RATELIMITER_PACKETS_BURSTABLE))
		return VALID_MAC_WITH_COOKIE_BUT_RATELIMITED;
	return VALID_MAC_WITH_COOKIE;
}

void mwg_cookie_add_mac_to_packet(void *message, size_t len,
				  struct mwg_peer *peer)
{
	struct message_macs *macs =
		(struct message_macs *)((u8 *)message + len - sizeof(*macs));
	struct cookie *cookie = &peer->latest_cookie;

	down_write(&cookie->lock);
	compute_mac1(macs->mac1, message, len, cookie->message_mac1_key);
	/* Kept: it authenticates the cookie reply this may provoke. */
	memcpy(cookie->last_mac1_sent, macs->mac1, COOKIE_LEN);
	cookie->have_sent_mac1 = true;
	if (cookie->is_valid &&
	    !mwg_birthdate_has_expired(cookie->birthdate,
				       COOKIE_SECRET_MAX_AGE -
				       COOKIE_SECRET_LATENCY))
		compute_mac2(macs->mac2, message, len, cookie->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
	up_write(&cookie->lock);
}

void mwg_cookie_message_create(struct message_handshake_cookie *dst,
			       struct sk_buff *skb, __le32 index,
			       struct cookie_checker *checker)
{
	struct message_macs *macs =
		(struct message_macs *)(skb->data + skb->len - sizeof(*macs));
	u8 cookie[COOKIE_LEN];

	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = index;
	get_random_bytes(dst->nonce, COOKIE_NONCE_LEN);

	make_cookie(cookie, skb, checker);
	xchacha20poly1305_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN,
				  macs->mac1, COOKIE_LEN, dst->nonce,
				  checker->cookie_encryption_key);
	memzero_explicit(cookie, sizeof(cookie));
}

void mwg_cookie_message_consume(struct message_handshake_cookie *src,
				struct mwg_device *wg)
{
	struct mwg_peer *peer = NULL;
	struct cookie *cookie;
	u8 value[COOKIE_LEN];
	bool ok;

	if (!mwg_index_hashtable_lookup(wg->index_hashtable,
					INDEX_HASHTABLE_HANDSHAKE |
					INDEX_HASHTABLE_KEYPAIR,
					src->receiver_index, &peer))
		return;
	cookie = &peer->latest_cookie;

	down_write(&cookie->lock);
	/* A reply only makes sense to the last message we sent. */
	ok = cookie->have_sent_mac1 &&
	     xchacha20poly1305_decrypt(value, src->encrypted_cookie,
				       sizeof(src->encrypted_cookie),
				       cookie->last_mac1_sent, COOKIE_LEN,
				       src->nonce,
				       cookie->cookie_decryption_key);
	if (ok) {
		memcpy(cookie->cookie, value, COOKIE_LEN);
		cookie->birthdate = ktime_get_coarse_boottime_ns();
		cookie->is_valid = true;
		cookie->have_sent_mac1 = false;
	}
	up_write(&cookie->lock);
	memzero_explicit(value, sizeof(value));

	if (!ok)
		net_dbg_ratelimited("%s: Could not decrypt invalid cookie response\n",
				    wg->dev->name);
	mwg_peer_put(peer);
}
