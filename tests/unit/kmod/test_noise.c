// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/noise.c and kmod/cookie.c end to end: two devices run the Noise_IKpsk2
 * handshake through the real code (crypto from libsodium in the shim), derive
 * matching sessions and rotate keypairs; forged, replayed, low-order and
 * mismatched inputs are refused; mac1/mac2 and cookie replies work; the
 * replay window is checked against a brute-force model.
 */
#include "kernel.h"
#include "peer.h"
#include "noise.h"
#include "cookie.h"
#include "ratelimiter.h"
#include "messages.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

struct node {
	struct net net;
	struct net_device netdev;
	struct mwg_device wg;
	struct mwg_peer peer;	/* the other node */
	bool has_peer;
};

struct packet {
	struct iphdr ip;
	struct udphdr udp;
	u8 payload[256];
};

struct pair {
	struct node a, b;
	struct packet pkt;
	struct sk_buff skb;
	long live_before;
};

static void node_init(struct node *n, const char *name, bool with_key)
{
	u8 priv[32];

	memset(n, 0, sizeof(*n));
	strcpy(n->netdev.name, name);
	n->netdev.net = &n->net;
	n->wg.dev = &n->netdev;
	init_rwsem(&n->wg.static_identity.lock);
	mutex_init(&n->wg.device_update_lock);
	get_random_bytes(priv, sizeof(priv));
	down_write(&n->wg.static_identity.lock);
	mwg_noise_set_static_identity_private_key(&n->wg.static_identity,
						  with_key ? priv : NULL);
	up_write(&n->wg.static_identity.lock);
	n->wg.peer_hashtable = mwg_pubkey_hashtable_alloc();
	n->wg.index_hashtable = mwg_index_hashtable_alloc();
	assert_non_null(n->wg.peer_hashtable);
	assert_non_null(n->wg.index_hashtable);
	mwg_cookie_checker_init(&n->wg.cookie_checker, &n->wg);
	mwg_cookie_checker_precompute_device_keys(&n->wg.cookie_checker);
}

static void node_add_peer(struct node *n, const u8 pub[32], const u8 *psk)
{
	struct mwg_peer *p = &n->peer;

	p->device = &n->wg;
	kref_init(&p->refcount);
	INIT_LIST_HEAD(&p->allowedips_list);
	INIT_HLIST_NODE(&p->pubkey_hash);
	spin_lock_init(&p->keypairs.keypair_update_lock);
	mwg_cookie_init(&p->latest_cookie);
	down_read(&n->wg.static_identity.lock);
	mwg_noise_handshake_init(&p->handshake, &n->wg.static_identity, pub,
				 psk, p);
	up_read(&n->wg.static_identity.lock);
	mwg_cookie_checker_precompute_peer_keys(p);
	mwg_pubkey_hashtable_add(n->wg.peer_hashtable, p);
	n->has_peer = true;
}

static void node_destroy(struct node *n)
{
	if (n->has_peer) {
		mwg_noise_handshake_clear(&n->peer.handshake);
		mwg_noise_keypairs_clear(&n->peer.keypairs);
		mwg_pubkey_hashtable_remove(n->wg.peer_hashtable, &n->peer);
		/* Nothing still holds a reference. */
		assert_int_equal(n->peer.refcount.refcount, 1);
	}
	mwg_pubkey_hashtable_free(n->wg.peer_hashtable);
	mwg_index_hashtable_free(n->wg.index_hashtable);
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->live_before = shim_live_allocs;
	shim_random_seed(0x600dcafeULL);
	node_init(&p->a, "a", true);
	node_init(&p->b, "b", true);
	node_add_peer(&p->a, p->b.wg.static_identity.static_public, NULL);
	node_add_peer(&p->b, p->a.wg.static_identity.static_public, NULL);
	/* Datagrams "from" 192.0.2.1:51820 over IPv4. */
	p->pkt.ip.saddr = cpu_to_be32(0xc0000201);
	p->pkt.udp.source = htons(51820);
	p->skb.network_header = (u8 *)&p->pkt.ip;
	p->skb.transport_header = (u8 *)&p->pkt.udp;
	p->skb.protocol = htons(ETH_P_IP);
	p->skb.data = p->pkt.payload;
	assert_int_equal(mwg_ratelimiter_init(), 0);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	node_destroy(&p->a);
	node_destroy(&p->b);
	mwg_ratelimiter_uninit();
	assert_int_equal(shim_locks_held, 0);
	assert_int_equal(shim_live_allocs, p->live_before);
	free(p);
	return 0;
}

/* Puts msg in the packet buffer, as received from the fixture's source. */
static struct sk_buff *as_skb(struct pair *p, const void *msg, size_t len)
{
	assert_true(len <= sizeof(p->pkt.payload));
	memcpy(p->pkt.payload, msg, len);
	p->skb.len = len;
	return &p->skb;
}

static bool initiate(struct node *from, struct message_handshake_initiation *m)
{
	if (!mwg_noise_handshake_create_initiation(m, &from->peer.handshake))
		return false;
	mwg_cookie_add_mac_to_packet(m, sizeof(*m), &from->peer);
	return true;
}

static struct mwg_peer *consume_init(struct node *to,
				     struct message_handshake_initiation *m)
{
	struct mwg_peer *peer = mwg_noise_handshake_consume_initiation(m,
								      &to->wg);

	if (peer) {
		assert_ptr_equal(peer, &to->peer);
		mwg_peer_put(peer);
	}
	return peer;
}

static struct mwg_peer *consume_resp(struct node *to,
				     struct message_handshake_response *m)
{
	struct mwg_peer *peer = mwg_noise_handshake_consume_response(m,
								    &to->wg);

	if (peer) {
		assert_ptr_equal(peer, &to->peer);
		mwg_peer_put(peer);
	}
	return peer;
}

/* A full handshake from initiator i to responder r; both begin sessions. */
static void handshake(struct pair *p, struct node *i, struct node *r)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;

	shim_realtime_nsec += 50000000; /* fresh TAI64N */
	shim_now_ns += NSEC_PER_SEC;	/* past the flood limit */
	assert_true(initiate(i, &init));
	assert_int_equal(mwg_cookie_validate_packet(&r->wg.cookie_checker,
						    as_skb(p, &init, sizeof(init)),
						    false),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_non_null(consume_init(r, &init));
	assert_true(mwg_noise_handshake_create_response(&resp,
							&r->peer.handshake));
	mwg_cookie_add_mac_to_packet(&resp, sizeof(resp), &r->peer);
	assert_int_equal(resp.receiver_index, init.sender_index);
	assert_int_equal(mwg_cookie_validate_packet(&i->wg.cookie_checker,
						    as_skb(p, &resp, sizeof(resp)),
						    false),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_non_null(consume_resp(i, &resp));
	assert_true(mwg_noise_handshake_begin_session(&i->peer.handshake,
						      &i->peer.keypairs));
	assert_true(mwg_noise_handshake_begin_session(&r->peer.handshake,
						      &r->peer.keypairs));
	assert_int_equal(shim_locks_held, 0);
}

static void assert_session_pair(struct noise_keypair *send_side,
				struct noise_keypair *recv_side)
{
	u8 plain[40] = "meshwg says hello through the tunnel!!!";
	u8 ct[sizeof(plain) + 16], out[sizeof(plain)];

	assert_non_null(send_side);
	assert_non_null(recv_side);
	assert_memory_equal(send_side->sending.key, recv_side->receiving.key, 32);
	assert_memory_equal(send_side->receiving.key, recv_side->sending.key, 32);
	assert_memory_not_equal(send_side->sending.key,
				send_side->receiving.key, 32);
	assert_int_equal(send_side->remote_index, recv_side->entry.index);
	assert_int_equal(recv_side->remote_index, send_side->entry.index);
	assert_true(send_side->sending.is_valid);
	/* And the keys really work with the data-message construction. */
	chacha20poly1305_encrypt(ct, plain, sizeof(plain), NULL, 0, 7,
				 send_side->sending.key);
	assert_true(chacha20poly1305_decrypt(out, ct, sizeof(ct), NULL, 0, 7,
					     recv_side->receiving.key));
	assert_memory_equal(out, plain, sizeof(plain));
	assert_false(chacha20poly1305_decrypt(out, ct, sizeof(ct), NULL, 0, 8,
					      recv_side->receiving.key));
}

static void test_message_sizes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct message_handshake_initiation), 148);
	assert_int_equal(sizeof(struct message_handshake_response), 92);
	assert_int_equal(sizeof(struct message_handshake_cookie), 64);
	assert_int_equal(sizeof(struct message_data), 16);
	assert_int_equal(message_data_len(0), 32);
	assert_int_equal(message_data_len(1420), 1452);
	assert_int_equal(MESSAGE_MINIMUM_LENGTH, 32);
	assert_int_equal(offsetof(struct message_handshake_initiation, macs), 116);
	assert_int_equal(offsetof(struct message_handshake_response, macs), 60);
	assert_int_equal(offsetof(struct message_data, counter), 8);
	assert_int_equal(REKEY_AFTER_TIME, 120);
	assert_int_equal(REJECT_AFTER_TIME, 180);
	assert_int_equal(REKEY_TIMEOUT, 5);
	assert_int_equal(KEEPALIVE_TIMEOUT, 10);
	assert_int_equal(MAX_TIMER_HANDSHAKES, 18);
	assert_true(REJECT_AFTER_MESSAGES == UINT64_MAX - 8128 - 1);
	/* The timer constants follow the module parameters. */
	mwg_rekey_timeout = 1;
	assert_int_equal(MAX_TIMER_HANDSHAKES, 90);
	mwg_rekey_timeout = 5;
}

static void test_blake2s_shim(void **state)
{
	/* RFC 7693, appendix B: BLAKE2s-256("abc"); guards the shim itself. */
	static const u8 want[32] = {
		0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2, 0xe1, 0xa7, 0x2b,
		0xa3, 0x4e, 0xeb, 0x45, 0x2f, 0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6,
		0x3a, 0x29, 0x4d, 0x99, 0x9b, 0x4c, 0x86, 0x67, 0x59, 0x82
	};
	u8 out[32];

	(void)state;
	blake2s(out, (const u8 *)"abc", NULL, 32, 3, 0);
	assert_memory_equal(out, want, 32);
}

static void test_handshake_and_session(void **state)
{
	struct pair *p = *state;
	struct noise_keypair *ka, *kb;
	struct mwg_peer *peer = NULL;

	handshake(p, &p->a, &p->b);
	ka = p->a.peer.keypairs.current_keypair;
	/* The responder may not send before the initiator confirms. */
	assert_null(p->b.peer.keypairs.current_keypair);
	kb = p->b.peer.keypairs.next_keypair;
	assert_true(ka->i_am_the_initiator);
	assert_false(kb->i_am_the_initiator);
	assert_session_pair(ka, kb);
	/* Both handshakes are spent. */
	assert_int_equal(p->a.peer.handshake.state, HANDSHAKE_ZEROED);
	assert_int_equal(p->b.peer.handshake.state, HANDSHAKE_ZEROED);

	/* Data messages find the keypair by the index we gave the peer. */
	assert_ptr_equal(mwg_index_hashtable_lookup(p->b.wg.index_hashtable,
						    INDEX_HASHTABLE_KEYPAIR,
						    ka->remote_index, &peer),
			 &kb->entry);
	assert_ptr_equal(peer, &p->b.peer);
	mwg_peer_put(peer);
	assert_null(mwg_index_hashtable_lookup(p->b.wg.index_hashtable,
					       INDEX_HASHTABLE_HANDSHAKE,
					       ka->remote_index, &peer));

	/* First data from the initiator confirms: next becomes current. */
	assert_false(mwg_noise_received_with_keypair(&p->b.peer.keypairs, ka));
	assert_true(mwg_noise_received_with_keypair(&p->b.peer.keypairs, kb));
	assert_ptr_equal(p->b.peer.keypairs.current_keypair, kb);
	assert_null(p->b.peer.keypairs.next_keypair);
	assert_false(mwg_noise_received_with_keypair(&p->b.peer.keypairs, kb));
}

static void test_rekey_rotation(void **state)
{
	struct pair *p = *state;
	struct noise_keypair *k1a, *k1b, *k2a, *k2b, *k3a, *k3b;
	struct mwg_peer *peer = NULL;
	__le32 old_index;

	handshake(p, &p->a, &p->b);
	k1a = p->a.peer.keypairs.current_keypair;
	k1b = p->b.peer.keypairs.next_keypair;
	assert_true(mwg_noise_received_with_keypair(&p->b.peer.keypairs, k1b));

	/* Now b initiates: b's new session is current, the old previous. */
	handshake(p, &p->b, &p->a);
	k2b = p->b.peer.keypairs.current_keypair;
	k2a = p->a.peer.keypairs.next_keypair;
	assert_ptr_equal(p->b.peer.keypairs.previous_keypair, k1b);
	assert_ptr_equal(p->a.peer.keypairs.current_keypair, k1a);
	assert_session_pair(k2b, k2a);
	assert_true(mwg_noise_received_with_keypair(&p->a.peer.keypairs, k2a));
	assert_ptr_equal(p->a.peer.keypairs.previous_keypair, k1a);
	assert_ptr_equal(p->a.peer.keypairs.current_keypair, k2a);

	/* A third one: the first sessions are dropped and unindexed. */
	old_index = k1a->entry.index;
	handshake(p, &p->a, &p->b);
	k3a = p->a.peer.keypairs.current_keypair;
	k3b = p->b.peer.keypairs.next_keypair;
	assert_session_pair(k3a, k3b);
	assert_ptr_equal(p->a.peer.keypairs.previous_keypair, k2a);
	assert_null(mwg_index_hashtable_lookup(p->a.wg.index_hashtable,
					       INDEX_HASHTABLE_KEYPAIR,
					       old_index, &peer));
	/* b got a next while it has a current: previous is gone. */
	assert_null(p->b.peer.keypairs.previous_keypair);
	assert_ptr_equal(p->b.peer.keypairs.current_keypair, k2b);

	/* Expiry stops sending but keeps receiving. */
	mwg_noise_expire_current_peer_keypairs(&p->b.peer);
	assert_false(k2b->sending.is_valid);
	assert_false(k3b->sending.is_valid);
	assert_true(k2b->receiving.is_valid);

	/* References: get works, and put with unreference_now unindexes. */
	assert_ptr_equal(mwg_noise_keypair_get(k3a), k3a);
	assert_int_equal(k3a->refcount.refcount, 2);
	mwg_noise_keypair_put(k3a, false);
	assert_int_equal(k3a->refcount.refcount, 1);

	mwg_noise_keypairs_clear(&p->a.peer.keypairs);
	assert_null(p->a.peer.keypairs.current_keypair);
	assert_null(p->a.peer.keypairs.previous_keypair);
	assert_null(mwg_index_hashtable_lookup(p->a.wg.index_hashtable,
					       INDEX_HASHTABLE_KEYPAIR,
					       k3b->remote_index, &peer));
}

static void test_initiation_replay_and_flood(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation first, init;

	shim_now_ns += NSEC_PER_SEC;
	shim_realtime_nsec += 50000000;
	assert_true(initiate(&p->a, &first));
	assert_non_null(consume_init(&p->b, &first));

	/* A newer one too soon after the last (flood) is refused... */
	shim_realtime_nsec += 50000000;
	assert_true(initiate(&p->a, &init));
	shim_now_ns += NSEC_PER_SEC / INITIATIONS_PER_SECOND / 2;
	assert_null(consume_init(&p->b, &init));
	/* ...and fine once the rate allows it. */
	shim_now_ns += NSEC_PER_SEC / INITIATIONS_PER_SECOND;
	assert_non_null(consume_init(&p->b, &init));
	assert_int_equal(p->b.peer.handshake.state,
			 HANDSHAKE_CONSUMED_INITIATION);

	/* The same message again: its timestamp is not newer. */
	shim_now_ns += NSEC_PER_SEC;
	assert_null(consume_init(&p->b, &init));
	/* Nor is an older captured one. */
	assert_null(consume_init(&p->b, &first));
	/* A fresh initiation made with an older clock is a replay too. */
	shim_realtime_nsec -= 200000000;
	assert_true(initiate(&p->a, &init));
	assert_null(consume_init(&p->b, &init));
}

static void test_forged_messages_refused(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init, bad;
	struct message_handshake_response resp, badr;
	size_t i;

	shim_now_ns += NSEC_PER_SEC;
	shim_realtime_nsec += 50000000;
	assert_true(initiate(&p->a, &init));
	/* Any flipped bit in ephemeral, static or timestamp kills it. */
	for (i = offsetof(struct message_handshake_initiation,
			  unencrypted_ephemeral);
	     i < offsetof(struct message_handshake_initiation, macs); i += 7) {
		bad = init;
		((u8 *)&bad)[i] ^= 0x04;
		assert_null(consume_init(&p->b, &bad));
	}
	/* A flipped mac1 byte fails the MAC check. */
	bad = init;
	bad.macs.mac1[3] ^= 1;
	assert_int_equal(mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						    as_skb(p, &bad, sizeof(bad)),
						    false), INVALID_MAC);
	/* Too short to carry macs at all. */
	assert_int_equal(mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						    as_skb(p, &bad, 20), false),
			 INVALID_MAC);

	assert_non_null(consume_init(&p->b, &init));
	assert_true(mwg_noise_handshake_create_response(&resp,
							&p->b.peer.handshake));
	for (i = offsetof(struct message_handshake_response,
			  unencrypted_ephemeral);
	     i < offsetof(struct message_handshake_response, macs); ++i) {
		badr = resp;
		((u8 *)&badr)[i] ^= 0x10;
		assert_null(consume_resp(&p->a, &badr));
	}
	/* Unknown receiver index. */
	badr = resp;
	badr.receiver_index ^= 0x5a5a;
	assert_null(consume_resp(&p->a, &badr));
	/* The genuine one still works, once. */
	assert_non_null(consume_resp(&p->a, &resp));
	assert_null(consume_resp(&p->a, &resp));
	/* A response cannot be made twice; the refusal spoils nothing. */
	assert_false(mwg_noise_handshake_create_response(&badr,
							 &p->b.peer.handshake));
	assert_int_equal(p->b.peer.handshake.state, HANDSHAKE_CREATED_RESPONSE);
	/* Sessions begin once. */
	assert_true(mwg_noise_handshake_begin_session(&p->a.peer.handshake,
						      &p->a.peer.keypairs));
	assert_false(mwg_noise_handshake_begin_session(&p->a.peer.handshake,
						       &p->a.peer.keypairs));
}

static void test_unknown_peer_and_no_identity(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct node c;

	/* c knows b, but b does not know c. */
	node_init(&c, "c", true);
	node_add_peer(&c, p->b.wg.static_identity.static_public, NULL);
	shim_now_ns += NSEC_PER_SEC;
	assert_true(initiate(&c, &init));
	assert_null(consume_init(&p->b, &init));
	node_destroy(&c);

	/* A device without a private key cannot start or answer. */
	node_init(&c, "d", false);
	assert_false(c.wg.static_identity.has_identity);
	node_add_peer(&c, p->a.wg.static_identity.static_public, NULL);
	assert_false(mwg_noise_handshake_create_initiation(&init,
							   &c.peer.handshake));
	assert_true(initiate(&p->a, &init));
	assert_null(consume_init(&c, &init));
	node_destroy(&c);
}

static void test_low_order_key_refused(void **state)
{
	/* A point of order 8: DH with it is all zero whatever our key. */
	static const u8 low_order[32] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00
	};
	static const u8 zero[32];
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct node c;

	node_init(&c, "c", true);
	node_add_peer(&c, low_order, NULL);
	assert_memory_equal(c.peer.handshake.precomputed_static_static, zero, 32);
	assert_false(mwg_noise_handshake_create_initiation(&init,
							   &c.peer.handshake));
	assert_int_equal(c.peer.handshake.state, HANDSHAKE_ZEROED);
	node_destroy(&c);

	/* An initiation whose ephemeral is low order is dropped. */
	shim_now_ns += NSEC_PER_SEC;
	assert_true(initiate(&p->a, &init));
	memcpy(init.unencrypted_ephemeral, low_order, 32);
	assert_null(consume_init(&p->b, &init));
}

static void test_psk(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	u8 psk1[32], psk2[32];
	struct node x, y;

	memset(psk1, 0x11, 32);
	memset(psk2, 0x22, 32);
	(void)p;

	/* Same PSK both sides: works. */
	node_init(&x, "x", true);
	node_init(&y, "y", true);
	node_add_peer(&x, y.wg.static_identity.static_public, psk1);
	node_add_peer(&y, x.wg.static_identity.static_public, psk1);
	shim_now_ns += NSEC_PER_SEC;
	shim_realtime_nsec += 50000000;
	assert_true(initiate(&x, &init));
	assert_non_null(consume_init(&y, &init));
	assert_true(mwg_noise_handshake_create_response(&resp,
							&y.peer.handshake));
	assert_non_null(consume_resp(&x, &resp));
	node_destroy(&x);
	node_destroy(&y);

	/* Different PSKs: the response does not authenticate. */
	node_init(&x, "x", true);
	node_init(&y, "y", true);
	node_add_peer(&x, y.wg.static_identity.static_public, psk1);
	node_add_peer(&y, x.wg.static_identity.static_public, psk2);
	shim_now_ns += NSEC_PER_SEC;
	assert_true(initiate(&x, &init));
	assert_non_null(consume_init(&y, &init));
	assert_true(mwg_noise_handshake_create_response(&resp,
							&y.peer.handshake));
	assert_null(consume_resp(&x, &resp));
	assert_int_equal(x.peer.handshake.state, HANDSHAKE_CREATED_INITIATION);
	node_destroy(&x);
	node_destroy(&y);
}

static void test_cookie_under_load(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_cookie reply, bad;
	struct sk_buff *skb;
	int i, allowed = 0, limited = 0;

	shim_now_ns += NSEC_PER_SEC;
	assert_true(initiate(&p->a, &init));
	skb = as_skb(p, &init, sizeof(init));
	/* Under load, mac1 alone is not enough. */
	assert_int_equal(mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						    skb, true),
			 VALID_MAC_BUT_NO_COOKIE);

	/* b answers with a cookie reply; a tampered one is ignored. */
	mwg_cookie_message_create(&reply, skb, init.sender_index,
				  &p->b.wg.cookie_checker);
	assert_int_equal(reply.header.type, cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE));
	bad = reply;
	bad.encrypted_cookie[0] ^= 1;
	mwg_cookie_message_consume(&bad, &p->a.wg);
	assert_false(p->a.peer.latest_cookie.is_valid);
	mwg_cookie_message_consume(&reply, &p->a.wg);
	assert_true(p->a.peer.latest_cookie.is_valid);
	/* The same reply again is refused: it answered one message. */
	p->a.peer.latest_cookie.is_valid = false;
	mwg_cookie_message_consume(&reply, &p->a.wg);
	assert_false(p->a.peer.latest_cookie.is_valid);
	p->a.peer.latest_cookie.is_valid = true;

	/* Now the next initiation carries mac2 and gets through. */
	shim_now_ns += NSEC_PER_SEC;
	assert_true(initiate(&p->a, &init));
	assert_memory_not_equal(init.macs.mac2,
				(u8[COOKIE_LEN]){ 0 }, COOKIE_LEN);
	skb = as_skb(p, &init, sizeof(init));
	assert_int_equal(mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						    skb, true),
			 VALID_MAC_WITH_COOKIE);
	/* From another port the cookie does not match. */
	p->pkt.udp.source = htons(51821);
	assert_int_equal(mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						    skb, true),
			 VALID_MAC_BUT_NO_COOKIE);
	p->pkt.udp.source = htons(51820);

	/* A burst from one source is cut by the ratelimiter. */
	for (i = 0; i < 20; ++i) {
		enum cookie_mac_state s =
			mwg_cookie_validate_packet(&p->b.wg.cookie_checker,
						   skb, true);
		if (s == VALID_MAC_WITH_COOKIE)
			allowed++;
		else if (s == VALID_MAC_WITH_COOKIE_BUT_RATELIMITED)
			limited++;
	}
	assert_int_equal(allowed + limited, 20);
	assert_true(allowed < MWG_RATELIMITER_PACKETS_BURSTABLE);
	assert_true(limited > 0);

	/* Cookies age out: after two minutes a sends no mac2. */
	shim_now_ns += (u64)COOKIE_SECRET_MAX_AGE * NSEC_PER_SEC;
	assert_true(initiate(&p->a, &init));
	assert_memory_equal(init.macs.mac2, (u8[COOKIE_LEN]){ 0 }, COOKIE_LEN);
}

static void test_lookup_tables(void **state)
{
	struct pair *p = *state;
	struct index_hashtable *t = p->a.wg.index_hashtable;
	struct index_hashtable_entry e1 = { .peer = &p->a.peer,
					    .type = INDEX_HASHTABLE_HANDSHAKE };
	struct index_hashtable_entry e2 = { .peer = &p->a.peer,
					    .type = INDEX_HASHTABLE_KEYPAIR };
	struct mwg_peer *peer = NULL;
	__le32 i1, i2;
	u8 unknown[32];

	INIT_HLIST_NODE(&e1.index_hash);
	INIT_HLIST_NODE(&e2.index_hash);
	/* Replacing something not in the table does nothing. */
	assert_false(mwg_index_hashtable_replace(t, &e1, &e2));
	assert_true(hlist_unhashed(&e2.index_hash));

	i1 = mwg_index_hashtable_insert(t, &e1);
	assert_int_equal(e1.index, i1);
	/* Reinserting draws a new index and drops the old one. */
	i2 = mwg_index_hashtable_insert(t, &e1);
	assert_int_not_equal(i1, i2);
	assert_null(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_HANDSHAKE,
					       i1, &peer));
	/* The type mask filters. */
	assert_null(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_KEYPAIR, i2,
					       &peer));
	assert_ptr_equal(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_HANDSHAKE |
						    INDEX_HASHTABLE_KEYPAIR,
						    i2, &peer), &e1);
	assert_ptr_equal(peer, &p->a.peer);
	mwg_peer_put(peer);

	/* Replace: e2 takes e1's index, e1 is out (and removing it is a no-op). */
	assert_true(mwg_index_hashtable_replace(t, &e1, &e2));
	assert_int_equal(e2.index, i2);
	assert_true(hlist_unhashed(&e1.index_hash));
	assert_false(mwg_index_hashtable_replace(t, &e1, &e2));
	mwg_index_hashtable_remove(t, &e1);
	assert_ptr_equal(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_KEYPAIR,
						    i2, &peer), &e2);
	mwg_peer_put(peer);

	/* A dying peer is not handed out. */
	p->a.peer.refcount.refcount = 0;
	peer = NULL;
	assert_null(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_KEYPAIR, i2,
					       &peer));
	assert_null(peer);
	assert_null(mwg_pubkey_hashtable_lookup(p->a.wg.peer_hashtable,
						p->b.wg.static_identity.static_public));
	p->a.peer.refcount.refcount = 1;
	mwg_index_hashtable_remove(t, &e2);
	mwg_index_hashtable_remove(t, &e2);
	assert_null(mwg_index_hashtable_lookup(t, INDEX_HASHTABLE_KEYPAIR, i2,
					       &peer));

	/* Public keys: found with a reference, unknown ones not at all. */
	peer = mwg_pubkey_hashtable_lookup(p->a.wg.peer_hashtable,
					   p->b.wg.static_identity.static_public);
	assert_ptr_equal(peer, &p->a.peer);
	assert_int_equal(peer->refcount.refcount, 2);
	mwg_peer_put(peer);
	memset(unknown, 7, sizeof(unknown));
	assert_null(mwg_pubkey_hashtable_lookup(p->a.wg.peer_hashtable, unknown));
	mwg_pubkey_hashtable_remove(p->a.wg.peer_hashtable, &p->a.peer);
	assert_null(mwg_pubkey_hashtable_lookup(p->a.wg.peer_hashtable,
						p->b.wg.static_identity.static_public));
	/* Removing twice is harmless (teardown does it again). */
	mwg_pubkey_hashtable_remove(p->a.wg.peer_hashtable, &p->a.peer);
}

/* ---- replay counter ---- */

static bool validate(struct noise_replay_counter *c, u64 n)
{
	return mwg_noise_counter_validate(c, n);
}

static void test_replay_counter_cases(void **state)
{
	struct noise_replay_counter c;
	const u64 W = COUNTER_WINDOW_SIZE;
	const u64 R = REJECT_AFTER_MESSAGES;

	(void)state;
	memset(&c, 0, sizeof(c));	/* as in a new (zeroed) keypair */
	spin_lock_init(&c.lock);
	assert_true(validate(&c, 0));
	assert_false(validate(&c, 0));
	assert_true(validate(&c, 1));
	assert_true(validate(&c, 9));
	assert_true(validate(&c, 5));
	assert_false(validate(&c, 5));
	/* Highest W + 9: the window now starts at 9. */
	assert_true(validate(&c, W + 9));
	assert_false(validate(&c, 8));	/* too old */
	assert_false(validate(&c, 9));	/* seen */
	assert_true(validate(&c, 10));	/* in, never seen */
	assert_false(validate(&c, 10));
	assert_true(validate(&c, W + 10));
	assert_true(validate(&c, 11));
	assert_false(validate(&c, 9));
	assert_true(validate(&c, W + 8));
	/* A big jump forgets everything before the new window. */
	assert_true(validate(&c, 5 * W));
	assert_false(validate(&c, 4 * W - 1));
	assert_true(validate(&c, 4 * W));
	assert_false(validate(&c, 4 * W));
	assert_true(validate(&c, 5 * W - 1));
	assert_false(validate(&c, W + 10));

	/* The end of the counter space, from an empty window. */
	c.counter = 0;
	memset(c.backtrack, 0, sizeof(c.backtrack));
	assert_false(validate(&c, R));
	assert_false(validate(&c, R + 1));
	assert_false(validate(&c, UINT64_MAX));
	assert_true(validate(&c, R - 1));
	assert_false(validate(&c, R - 1));
	assert_true(validate(&c, R - 2));
	assert_false(validate(&c, R));
	assert_true(validate(&c, R - W - 1));
	assert_false(validate(&c, R - W - 2));
	assert_int_equal(shim_locks_held, 0);
}

/* The model: a set of accepted counters (open addressing) and the top. */
#define SET_BITS 18
static u64 set_slots[1 << SET_BITS];
static bool set_used[1 << SET_BITS];

static bool set_insert(u64 v)
{
	size_t i = (size_t)((v * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));

	while (set_used[i]) {
		if (set_slots[i] == v)
			return false;
		i = (i + 1) & ((1 << SET_BITS) - 1);
	}
	set_used[i] = true;
	set_slots[i] = v;
	return true;
}

static bool set_has(u64 v)
{
	size_t i = (size_t)((v * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));

	for (; set_used[i]; i = (i + 1) & ((1 << SET_BITS) - 1))
		if (set_slots[i] == v)
			return true;
	return false;
}

static void test_replay_counter_random(void **state)
{
	enum { N = 80000 };
	struct noise_replay_counter c;
	u64 rng = 0xfeedface12345ULL, top = 0, t;
	bool any = false, want;
	int k;

	(void)state;
	memset(&c, 0, sizeof(c));	/* as in a new (zeroed) keypair */
	spin_lock_init(&c.lock);
	for (k = 0; k < N; ++k) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		/* Mostly near the top, some at the window edge, some jumps. */
		switch (rng % 16) {
		case 0:
			t = top + COUNTER_WINDOW_SIZE + (rng >> 8) % 200 - 100;
			break;
		case 1:
		case 2:
			t = top + 1 + (rng >> 8) % 100;
			break;
		case 3:
			t = top - COUNTER_WINDOW_SIZE - 64 + (rng >> 8) % 128;
			break;
		default:
			t = top - (rng >> 8) % 400;
			break;
		}
		if (t > top + COUNTER_WINDOW_SIZE * 2) /* wrapped below 0 */
			t = (rng >> 8) % 50;
		/* Fresh and at most COUNTER_WINDOW_SIZE behind the highest. */
		want = !set_has(t) && (!any || t + COUNTER_WINDOW_SIZE >= top);
		assert_int_equal(validate(&c, t), want);
		if (want) {
			assert_true(set_insert(t));
			if (!any || t > top)
				top = t;
			any = true;
		}
	}
}

static void print_hex(const char *name, const void *buf, size_t len)
{
	const u8 *b = buf;
	size_t i;

	printf("%s ", name);
	for (i = 0; i < len; ++i)
		printf("%02x", b[i]);
	printf("\n");
}

/*
 * Prints one handshake (with a PSK), a cookie reply and a second
 * initiation carrying mac2, with the private keys needed to check it all;
 * check_transcript.py recomputes every byte from the WireGuard paper.
 */
static int transcript(void)
{
	struct message_handshake_initiation init, init2;
	struct message_handshake_response resp;
	struct message_handshake_cookie reply;
	struct node *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct pair *p = calloc(1, sizeof(*p));
	struct noise_keypair *ka;
	u8 psk[32];
	int i;

	if (!a || !b || !p)
		return 1;
	for (i = 0; i < 32; ++i)
		psk[i] = (u8)(0xa0 + i);
	shim_random_seed(0x7a7a7a7aULL);
	shim_realtime_nsec = 123456789;
	node_init(a, "a", true);
	node_init(b, "b", true);
	node_add_peer(a, b->wg.static_identity.static_public, psk);
	node_add_peer(b, a->wg.static_identity.static_public, psk);
	p->pkt.ip.saddr = cpu_to_be32(0xc0000201);
	p->pkt.udp.source = htons(51820);
	p->skb.network_header = (u8 *)&p->pkt.ip;
	p->skb.transport_header = (u8 *)&p->pkt.udp;
	p->skb.protocol = htons(ETH_P_IP);
	p->skb.data = p->pkt.payload;
	if (mwg_ratelimiter_init())
		return 1;

	print_hex("a_private", a->wg.static_identity.static_private, 32);
	print_hex("b_private", b->wg.static_identity.static_private, 32);
	print_hex("a_public", a->wg.static_identity.static_public, 32);
	print_hex("b_public", b->wg.static_identity.static_public, 32);
	print_hex("psk", psk, 32);
	printf("tai64n_seconds %lld\n", (long long)shim_realtime_sec);

	if (!initiate(a, &init))
		return 1;
	print_hex("a_ephemeral", a->peer.handshake.ephemeral_private, 32);
	print_hex("initiation", &init, sizeof(init));
	if (mwg_cookie_validate_packet(&b->wg.cookie_checker,
				       as_skb(p, &init, sizeof(init)), false) !=
	    VALID_MAC_BUT_NO_COOKIE || !consume_init(b, &init))
		return 1;
	if (!mwg_noise_handshake_create_response(&resp, &b->peer.handshake))
		return 1;
	mwg_cookie_add_mac_to_packet(&resp, sizeof(resp), &b->peer);
	print_hex("b_ephemeral", b->peer.handshake.ephemeral_private, 32);
	print_hex("response", &resp, sizeof(resp));
	if (!consume_resp(a, &resp) ||
	    !mwg_noise_handshake_begin_session(&a->peer.handshake,
					       &a->peer.keypairs))
		return 1;
	ka = a->peer.keypairs.current_keypair;
	print_hex("a_send", ka->sending.key, 32);
	print_hex("a_recv", ka->receiving.key, 32);

	/* b is under load: cookie reply, then an initiation with mac2. */
	mwg_cookie_message_create(&reply, as_skb(p, &init, sizeof(init)),
				  init.sender_index, &b->wg.cookie_checker);
	print_hex("cookie_reply", &reply, sizeof(reply));
	mwg_cookie_message_consume(&reply, &a->wg);
	shim_now_ns += NSEC_PER_SEC;
	shim_realtime_nsec += 100000000;
	if (!a->peer.latest_cookie.is_valid || !initiate(a, &init2))
		return 1;
	print_hex("initiation2", &init2, sizeof(init2));
	if (mwg_cookie_validate_packet(&b->wg.cookie_checker,
				       as_skb(p, &init2, sizeof(init2)), true) !=
	    VALID_MAC_WITH_COOKIE)
		return 1;
	node_destroy(a);
	node_destroy(b);
	mwg_ratelimiter_uninit();
	free(a);
	free(b);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_sizes),
		cmocka_unit_test(test_blake2s_shim),
		cmocka_unit_test(test_replay_counter_cases),
		cmocka_unit_test(test_replay_counter_random),
		cmocka_unit_test_setup_teardown(test_handshake_and_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initiation_replay_and_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_messages_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_peer_and_no_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_low_order_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_tables, setup, teardown),
	};

	mwg_noise_init();
	if (argc == 2 && !strcmp(argv[1], "--transcript"))
		return transcript();
	return cmocka_run_group_tests_name("noise", tests, NULL, NULL);
}
