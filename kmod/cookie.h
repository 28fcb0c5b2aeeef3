/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: mac1/mac2 and cookie replies, WireGuard's DoS mitigation.
 */

#ifndef _MWG_COOKIE_H
#define _MWG_COOKIE_H

#include "messages.h"

#include <linux/rwsem.h>

struct mwg_device;
struct mwg_peer;

/* One per device, in wg->cookie_checker. */
struct cookie_checker {
	u8 secret[NOISE_HASH_LEN];
	u8 cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	u8 message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	u64 secret_birthdate;
	struct rw_semaphore secret_lock;
	struct mwg_device *device;
};

/* One per peer, in peer->latest_cookie. */
struct cookie {
	u64 birthdate;
	bool is_valid;
	u8 cookie[COOKIE_LEN];
	bool have_sent_mac1;
	u8 last_mac1_sent[COOKIE_LEN];
	u8 cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];
	u8 message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	struct rw_semaphore lock;
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE_BUT_RATELIMITED,
	VALID_MAC_WITH_COOKIE
};

void mwg_cookie_checker_init(struct cookie_checker *checker,
			     struct mwg_device *wg);
/*
 * Recompute the keys derived from the device's public key; call after the
 * private key changes, with wg->static_identity.lock held.
 */
void mwg_cookie_checker_precompute_device_keys(struct cookie_checker *checker);
/* Same from the peer's public key (peer->handshake.remote_static). */
void mwg_cookie_checker_precompute_peer_keys(struct mwg_peer *peer);
void mwg_cookie_init(struct cookie *cookie);

/*
 * skb->data points at a handshake message (initiation or response) whose
 * length was checked; its network and transport headers must be set (the
 * source address and port make the cookie and key the ratelimiter). When
 * check_cookie (the device is under load), mac2 is checked and the source
 * ratelimited. A relay-injected skb (skb->protocol neither IPv4 nor IPv6) is
 * never ratelimited and gets a cookie bound to an empty address.
 */
enum cookie_mac_state mwg_cookie_validate_packet(struct cookie_checker *checker,
						 struct sk_buff *skb,
						 bool check_cookie);
/* message is a handshake message of len bytes, macs last; fills them in. */
void mwg_cookie_add_mac_to_packet(void *message, size_t len,
				  struct mwg_peer *peer);

/* Builds a cookie reply to the handshake message in skb, for index. */
void mwg_cookie_message_create(struct message_handshake_cookie *dst,
			       struct sk_buff *skb, __le32 index,
			       struct cookie_checker *checker);
/* Decrypts a cookie reply and stores the cookie in the matching peer. */
void mwg_cookie_message_consume(struct message_handshake_cookie *src,
				struct mwg_device *wg);

#endif /* _MWG_COOKIE_H */
