// SPDX-License-Identifier: GPL-2.0
/*
 * relayhs: handshake initiations injected into a meshwg device as if they
 * came over a relay (INJECT_DATAGRAM), with a valid MAC1 for the device's
 * public key, and the cookie replies the device sends back over the relay
 * (RELAY_DATAGRAM on the agent group) authenticated and decrypted.
 *
 *   relayhs cookie IFACE PUBKEY RELAY
 *       injects initiations over RELAY (one per 100 ms, at most 100) until
 *       a cookie reply for one of them comes back over RELAY; prints
 *       "cookie HEX". The device must be under load to send one.
 *   relayhs mac2 IFACE PUBKEY RELAY COOKIE
 *       injects initiations whose MAC2 is made with COOKIE (hex) over RELAY,
 *       one per 100 ms, at most 100, until a cookie reply comes back: that
 *       reply means the device refused the MAC2. Prints "cookie reply" and
 *       exits 0, or "no cookie reply" and exits 1.
 *   relayhs flood IFACE PUBKEY RELAY N
 *       injects N initiations as fast as it can; prints "sent N".
 *
 * PUBKEY is the device's public key (base64). Exits 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/meshwg.h>

#include "blake2s.h"

enum { INIT_LEN = 148, MAC1_OFF = 116, MAC2_OFF = 132, COOKIE_REPLY_LEN = 64,
       TRIES = 100 };

static struct nl_sock *req_sk, *mc_sk;
static int family, ifindex;
static uint32_t relay;
static uint8_t mac1_key[32], cookie_key[32];
/* The MAC1 of every initiation sent, by sender index (the cookie's AD). */
static uint8_t mac1s[TRIES][16];
static uint8_t cookie[16];
static int got_cookie;

static void usage(void)
{
	fputs("usage: relayhs cookie IFACE PUBKEY RELAY\n"
	      "       relayhs mac2 IFACE PUBKEY RELAY COOKIE-HEX\n"
	      "       relayhs flood IFACE PUBKEY RELAY N\n", stderr);
}

/* A cookie reply over our relay for one of our initiations: decrypt it. */
static int relay_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MESHWG_AGENT_A_MAX + 1];
	unsigned long long clen;
	const uint8_t *p;
	uint32_t idx;

	(void)arg;
	if (gh->cmd != MESHWG_CMD_RELAY_DATAGRAM ||
	    nla_parse(tb, MESHWG_AGENT_A_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
		      NULL) ||
	    !tb[MESHWG_AGENT_A_RELAY_ID] || !tb[MESHWG_AGENT_A_PAYLOAD] ||
	    nla_get_u32(tb[MESHWG_AGENT_A_RELAY_ID]) != relay ||
	    nla_len(tb[MESHWG_AGENT_A_PAYLOAD]) != COOKIE_REPLY_LEN)
		return NL_OK;
	p = nla_data(tb[MESHWG_AGENT_A_PAYLOAD]);
	idx = get_le32(p + 4);
	if (get_le32(p) != 3 || idx >= TRIES ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, &clen, NULL, p + 32, 32,
						       mac1s[idx], 16, p + 8, cookie_key) ||
	    clen != 16)
		return NL_OK;
	got_cookie = 1;
	return NL_OK;
}

static int open_sockets(void)
{
	int grp;

	req_sk = nl_socket_alloc();
	mc_sk = nl_socket_alloc();
	if (!req_sk || !mc_sk || genl_connect(req_sk) || genl_connect(mc_sk)) {
		fprintf(stderr, "relayhs: cannot open generic netlink sockets\n");
		return -1;
	}
	family = genl_ctrl_resolve(req_sk, MESHWG_GENL_NAME);
	grp = genl_ctrl_resolve_grp(req_sk, MESHWG_GENL_NAME, MESHWG_MCGRP_AGENT);
	if (family < 0 || grp < 0) {
		fprintf(stderr, "relayhs: genl family '%s' not found\n", MESHWG_GENL_NAME);
		return -1;
	}
	nl_socket_disable_seq_check(mc_sk);
	nl_socket_modify_cb(mc_sk, NL_CB_VALID, NL_CB_CUSTOM, relay_cb, NULL);
	if (nl_socket_add_membership(mc_sk, grp) || nl_socket_set_nonblocking(mc_sk)) {
		fprintf(stderr, "relayhs: cannot join the agent group\n");
		return -1;
	}
	return 0;
}

/* Injects initiation number i, with a MAC2 from mac2_cookie if not NULL. */
static int inject(uint32_t i, const uint8_t *mac2_cookie)
{
	uint8_t m[INIT_LEN];
	struct nl_msg *msg;
	int err;

	memset(m, 0, sizeof(m));
	put_le32(m, 1);
	put_le32(m + 4, i);
	randombytes_buf(m + 8, MAC1_OFF - 8);
	blake2s(m + MAC1_OFF, 16, mac1_key, 32, m, MAC1_OFF);
	if (i < TRIES)
		memcpy(mac1s[i], m + MAC1_OFF, 16);
	if (mac2_cookie)
		blake2s(m + MAC2_OFF, 16, mac2_cookie, 16, m, MAC2_OFF);
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK,
				 MESHWG_CMD_INJECT_DATAGRAM, 1) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, ifindex) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, relay) ||
	    nla_put(msg, MESHWG_AGENT_A_PAYLOAD, sizeof(m), m)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = nl_send_auto(req_sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_wait_for_ack(req_sk);
	if (err < 0)
		fprintf(stderr, "relayhs: INJECT_DATAGRAM: %s\n", nl_geterror(err));
	return err < 0 ? err : 0;
}

/* Waits up to ms for a cookie reply over our relay. */
static int wait_cookie(int ms)
{
	struct pollfd p = { .fd = nl_socket_get_fd(mc_sk), .events = POLLIN };

	while (!got_cookie && poll(&p, 1, ms) > 0)
		nl_recvmsgs_default(mc_sk);
	return got_cookie;
}

static int hex2cookie(const char *hex, uint8_t out[16])
{
	size_t n;

	return sodium_hex2bin(out, 16, hex, strlen(hex), NULL, &n, NULL) || n != 16;
}

int main(int argc, char *argv[])
{
	uint8_t pub[32], mac2_cookie[16];
	const char *verb;
	unsigned long n;
	size_t publen;

	if (argc < 5) {
		usage();
		return 2;
	}
	verb = argv[1];
	if (sodium_init() < 0)
		return 1;
	ifindex = if_nametoindex(argv[2]);
	relay = strtoul(argv[4], NULL, 10);
	if (!ifindex || !relay ||
	    sodium_base642bin(pub, sizeof(pub), argv[3], strlen(argv[3]), NULL, &publen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) || publen != 32) {
		usage();
		return 2;
	}
	label_hash(mac1_key, "mac1----", pub);
	label_hash(cookie_key, "cookie--", pub);
	if (open_sockets())
		return 1;

	if (!strcmp(verb, "cookie") && argc == 5) {
		char hex[33];

		for (uint32_t i = 0; i < TRIES && !got_cookie; i++)
			if (inject(i, NULL) || wait_cookie(100))
				break;
		if (!got_cookie) {
			puts("no cookie reply");
			return 1;
		}
		printf("cookie %s\n", sodium_bin2hex(hex, sizeof(hex), cookie, 16));
		return 0;
	}
	if (!strcmp(verb, "mac2") && argc == 6) {
		if (hex2cookie(argv[5], mac2_cookie)) {
			usage();
			return 2;
		}
		for (uint32_t i = 0; i < TRIES && !got_cookie; i++)
			if (inject(i, mac2_cookie) || wait_cookie(100))
				break;
		puts(got_cookie ? "cookie reply" : "no cookie reply");
		return !got_cookie;
	}
	if (!strcmp(verb, "flood") && argc == 6) {
		n = strtoul(argv[5], NULL, 10);
		for (unsigned long i = 0; i < n; i++)
			if (inject(TRIES + (uint32_t)i, NULL))
				return 1;
		printf("sent %lu\n", n);
		return 0;
	}
	usage();
	return 2;
}
