// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the consumers of the handshake messages in
 * kmod/noise.c and kmod/cookie.c (mac1/mac2 validation, initiation,
 * response, cookie reply), with the crypto of the shim (libsodium). Two
 * devices a and b know each other; for each input, a fresh valid message
 * of the kind the first byte names is built (a's initiation to b, b's
 * response to it, or b's cookie reply to a's initiation), the rest of the
 * input is XORed over it, and the receiver validates and consumes it. An
 * unmodified message must be accepted; anything else must be refused or
 * accepted without a memory error, leaked reference or unbalanced lock.
 */
#include "kernel.h"
#include "peer.h"
#include "noise.h"
#include "cookie.h"
#include "ratelimiter.h"
#include "messages.h"

#include <stdio.h>

struct node {
	struct net net;
	struct net_device netdev;
	struct mwg_device wg;
	struct mwg_peer peer;
};

static struct node a, b;
static struct {
	struct iphdr ip;
	struct udphdr udp;
	u8 payload[256];
} pkt;
static struct sk_buff skb;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_noise: %s\n", what);
	abort();
}

static void node_init(struct node *n, const char *name)
{
	u8 priv[32];

	strcpy(n->netdev.name, name);
	n->netdev.net = &n->net;
	n->wg.dev = &n->netdev;
	init_rwsem(&n->wg.static_identity.lock);
	mutex_init(&n->wg.device_update_lock);
	get_random_bytes(priv, sizeof(priv));
	down_write(&n->wg.static_identity.lock);
	mwg_noise_set_static_identity_private_key(&n->wg.static_identity, priv);
	up_write(&n->wg.static_identity.lock);
	n->wg.peer_hashtable = mwg_pubkey_hashtable_alloc();
	n->wg.index_hashtable = mwg_index_hashtable_alloc();
	if (!n->wg.peer_hashtable || !n->wg.index_hashtable)
		fail("hashtables");
	mwg_cookie_checker_init(&n->wg.cookie_checker, &n->wg);
	mwg_cookie_checker_precompute_device_keys(&n->wg.cookie_checker);
}

static void node_add_peer(struct node *n, const u8 pub[32])
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
				 NULL, p);
	up_read(&n->wg.static_identity.lock);
	mwg_cookie_checker_precompute_peer_keys(p);
	mwg_pubkey_hashtable_add(n->wg.peer_hashtable, p);
}

static void setup(void)
{
	shim_random_seed(0xf022ULL);
	node_init(&a, "a");
	node_init(&b, "b");
	node_add_peer(&a, b.wg.static_identity.static_public);
	node_add_peer(&b, a.wg.static_identity.static_public);
	pkt.ip.saddr = cpu_to_be32(0xc0000201);
	pkt.udp.source = htons(51820);
	skb.network_header = (u8 *)&pkt.ip;
	skb.transport_header = (u8 *)&pkt.udp;
	skb.protocol = htons(ETH_P_IP);
	skb.data = pkt.payload;
	if (mwg_ratelimiter_init())
		fail("ratelimiter");
}

static struct sk_buff *as_skb(const void *msg, size_t len)
{
	memcpy(pkt.payload, msg, len);
	skb.len = len;
	return &skb;
}

/* XORs the input over msg; true if it changed nothing. */
static bool mutate(void *msg, size_t len, const u8 *d, size_t n)
{
	bool same = true;
	size_t i;

	for (i = 0; i < len && i < n; ++i) {
		((u8 *)msg)[i] ^= d[i];
		same &= !d[i];
	}
	return same;
}

static void consumed(struct mwg_peer *peer, struct node *n, bool same,
		     const char *what)
{
	if (peer && peer != &n->peer)
		fail("consumer returned a foreign peer");
	if (!peer && same)
		fail(what);
	if (peer)
		mwg_peer_put(peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct message_handshake_cookie reply;
	struct mwg_peer *peer;
	enum cookie_mac_state st;
	bool same;

	if (!a.wg.dev)
		setup();
	if (size < 1)
		return 0;
	shim_realtime_nsec += 50000000;	/* fresh TAI64N */
	if (shim_realtime_nsec >= 1000000000) {
		shim_realtime_nsec -= 1000000000;
		shim_realtime_sec++;
	}
	shim_now_ns += NSEC_PER_SEC;	/* past the flood limit */
	if (!mwg_noise_handshake_create_initiation(&init, &a.peer.handshake))
		fail("create initiation");
	mwg_cookie_add_mac_to_packet(&init, sizeof(init), &a.peer);
	switch (data[0] % 3) {
	case 0:
		same = mutate(&init, sizeof(init), data + 1, size - 1);
		st = mwg_cookie_validate_packet(&b.wg.cookie_checker,
						as_skb(&init, sizeof(init)),
						data[0] & 0x80);
		if (same && st != VALID_MAC_BUT_NO_COOKIE)
			fail("valid initiation: mac1 refused");
		peer = mwg_noise_handshake_consume_initiation(&init, &b.wg);
		consumed(peer, &b, same, "valid initiation refused");
		break;
	case 1:
		peer = mwg_noise_handshake_consume_initiation(&init, &b.wg);
		consumed(peer, &b, true, "valid initiation refused");
		if (!mwg_noise_handshake_create_response(&resp, &b.peer.handshake))
			fail("create response");
		mwg_cookie_add_mac_to_packet(&resp, sizeof(resp), &b.peer);
		same = mutate(&resp, sizeof(resp), data + 1, size - 1);
		st = mwg_cookie_validate_packet(&a.wg.cookie_checker,
						as_skb(&resp, sizeof(resp)),
						false);
		if (same && st != VALID_MAC_BUT_NO_COOKIE)
			fail("valid response: mac1 refused");
		peer = mwg_noise_handshake_consume_response(&resp, &a.wg);
		consumed(peer, &a, same, "valid response refused");
		break;
	default:
		mwg_cookie_message_create(&reply, as_skb(&init, sizeof(init)),
					  init.sender_index,
					  &b.wg.cookie_checker);
		a.peer.latest_cookie.is_valid = false;
		same = mutate(&reply, sizeof(reply), data + 1, size - 1);
		mwg_cookie_message_consume(&reply, &a.wg);
		if (same && !a.peer.latest_cookie.is_valid)
			fail("valid cookie reply refused");
		a.peer.latest_cookie.is_valid = false;
		break;
	}
	if (shim_locks_held)
		fail("unbalanced locks");
	if (a.peer.refcount.refcount != 1 || b.peer.refcount.refcount != 1)
		fail("peer reference leaked");
	return 0;
}
