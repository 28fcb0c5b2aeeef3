// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The pure half of meshwgd's kernel side (agent/kern_peers.c): netmap to
 * peers, and peer-set differences, checked against a brute-force model of
 * the kernel's SET_DEVICE semantics.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kern_peers.h"
#include "key.h"
#include "netmap_check.h"

/* ---- helpers ---- */

static void key_text(char *out, unsigned n)
{
	/* nodekey: 64 hex; n in the first bytes, the rest a fixed pattern */
	snprintf(out, 80, "nodekey:%08x%056x", n, 0x5a);
}

static void key_bytes(uint8_t key[KEY_LEN], unsigned n)
{
	char t[80];

	key_text(t, n);
	assert_int_equal(mwg_key_parse(t, "nodekey:", key), 0);
}

static cJSON *make_peer(unsigned n, const char *const *addrs, const char *const *allowed,
			const char *const *endpoints)
{
	cJSON *p = cJSON_CreateObject(), *a;
	char k[80];

	key_text(k, n);
	cJSON_AddNumberToObject(p, "id", n);
	cJSON_AddStringToObject(p, "node_key", k);
	a = cJSON_AddArrayToObject(p, "addresses");
	for (; addrs && *addrs; addrs++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*addrs));
	a = cJSON_AddArrayToObject(p, "allowed_ips");
	for (; allowed && *allowed; allowed++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*allowed));
	a = cJSON_AddArrayToObject(p, "endpoints");
	for (; endpoints && *endpoints; endpoints++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*endpoints));
	return p;
}

static cJSON *netmap_with(cJSON **peers, size_t n)
{
	cJSON *nm = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddStringToObject(nm, "type", "full");
	arr = cJSON_AddArrayToObject(nm, "peers");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, peers[i]);
	cJSON_AddNullToObject(nm, "packet_filter");
	return nm;
}

static struct kpeers parse_ok(const cJSON *nm, bool accept_routes)
{
	struct kpeers s;
	char err[256] = "";

	assert_int_equal(kpeers_from_netmap(&s, nm, accept_routes, err, sizeof(err)), 0);
	return s;
}

static size_t n_ops(const struct mw_device *d)
{
	const struct mw_peer *p;
	size_t n = 0;

	for_each_peer(d, p)
		n++;
	return n;
}

static size_t n_ips(const struct mw_peer *p)
{
	const struct mw_allowedip *ip;
	size_t n = 0;

	for_each_allowedip(p, ip)
		n++;
	return n;
}

/* Two peers: 1 with a subnet route, 2 plain. */
static cJSON *base_netmap(void)
{
	cJSON *peers[2];

	peers[0] = make_peer(1, (const char *[]){ "100.64.0.1/32", "fd7a:115c:a1e0::1/128", NULL },
			     (const char *[]){ "100.64.0.1/32", "fd7a:115c:a1e0::1/128",
					       "10.1.0.0/24", NULL },
			     (const char *[]){ "not-an-endpoint", "198.51.100.1:41641", NULL });
	peers[1] = make_peer(2, (const char *[]){ "100.64.0.2/32", NULL },
			     (const char *[]){ "100.64.0.2/32", NULL },
			     (const char *[]){ "[2001:db8::2]:41641", NULL });
	return netmap_with(peers, 2);
}

/* ---- parsing ---- */

static void test_parse_text_forms(void **state)
{
	struct kprefix p;
	union mw_endpoint ep;
	uint8_t key[KEY_LEN];
	char buf[80];

	(void)state;
	assert_int_equal(kprefix_parse(&p, "10.1.2.3/24"), 0);
	kprefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.0/24");
	assert_int_equal(kaddr_parse(&p, "10.1.2.3/24"), 0);
	kprefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.3/24");
	assert_int_equal(kprefix_parse(&p, "fd7a:115c:a1e0::1"), 0);
	assert_int_equal(p.cidr, 128);
	assert_int_equal(kprefix_parse(&p, "fd7a:115c:a1e0:ab12::/49"), 0);
	kprefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "fd7a:115c:a1e0:8000::/49");
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/33"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/8x"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "10.0.0/8"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "::/129"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, ""), -EINVAL);

	assert_int_equal(kendpoint_parse(&ep, "198.51.100.1:41641"), 0);
	kendpoint_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1:41641");
	assert_int_equal(kendpoint_parse(&ep, "[2001:db8::2]:7"), 0);
	kendpoint_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::2]:7");
	assert_int_equal(kendpoint_parse(&ep, "2001:db8::2:7"), -EINVAL);
	assert_int_equal(kendpoint_parse(&ep, "1.2.3.4:0"), -EINVAL);
	assert_int_equal(kendpoint_parse(&ep, "1.2.3.4:65536"), -EINVAL);
	assert_int_equal(kendpoint_parse(&ep, "1.2.3.4"), -EINVAL);
	assert_int_equal(kendpoint_parse(&ep, "[1.2.3.4]:5"), -EINVAL);
	assert_int_equal(kendpoint_parse(&ep, "host.example:5"), -EINVAL);

	assert_int_equal(mwg_key_parse("nodekey:0000000000000000000000000000000000000000000000000000000000000001", "nodekey:", key), 0);
	assert_int_equal(key[31], 1);
	assert_int_equal(mwg_key_parse("mkey:0000000000000000000000000000000000000000000000000000000000000001", "nodekey:", key), -1);
	assert_int_equal(mwg_key_parse("nodekey:00", "nodekey:", key), -1);
	assert_int_equal(mwg_key_parse("nodekey:g000000000000000000000000000000000000000000000000000000000000001", "nodekey:", key), -1);
}

static void test_netmap_to_peers(void **state)
{
	cJSON *nm = base_netmap();
	struct kpeers s;
	struct kpeer *p;
	uint8_t key[KEY_LEN];
	char buf[80];

	(void)state;
	/* without accept_routes: allowed IPs are the addresses */
	s = parse_ok(nm, false);
	assert_int_equal(s.count, 2);
	key_bytes(key, 1);
	p = kpeers_find(&s, key);
	assert_non_null(p);
	assert_int_equal(p->n_ips, 2);
	kprefix_format(&p->ips[0], buf, sizeof(buf));
	assert_string_equal(buf, "100.64.0.1/32");
	kprefix_format(&p->ips[1], buf, sizeof(buf));
	assert_string_equal(buf, "fd7a:115c:a1e0::1/128");
	/* the first endpoint that parses */
	assert_true(p->has_endpoint);
	kendpoint_format(&p->endpoint, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1:41641");
	assert_int_equal(p->keepalive, 0);
	key_bytes(key, 2);
	p = kpeers_find(&s, key);
	assert_non_null(p);
	kendpoint_format(&p->endpoint, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::2]:41641");
	kpeers_free(&s);

	/* with accept_routes: allowed_ips (addresses + approved routes) */
	s = parse_ok(nm, true);
	key_bytes(key, 1);
	p = kpeers_find(&s, key);
	assert_int_equal(p->n_ips, 3);
	kprefix_format(&p->ips[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.1.0.0/24");
	kpeers_free(&s);
	cJSON_Delete(nm);
}

static void test_no_endpoint_and_empty(void **state)
{
	cJSON *peers[1] = { make_peer(3, (const char *[]){ "100.64.0.3/32", NULL }, NULL, NULL) };
	cJSON *nm = netmap_with(peers, 1), *empty = cJSON_Parse("{\"type\":\"full\",\"peers\":[]}");
	struct kpeers s;
	uint8_t key[KEY_LEN];

	(void)state;
	s = parse_ok(nm, false);
	key_bytes(key, 3);
	assert_false(kpeers_find(&s, key)->has_endpoint);
	kpeers_free(&s);
	s = parse_ok(empty, false);
	assert_int_equal(s.count, 0);
	kpeers_free(&s);
	cJSON_Delete(nm);
	cJSON_Delete(empty);
}

static void expect_malformed(const char *json, bool accept_routes, const char *needle)
{
	cJSON *nm = cJSON_Parse(json);
	struct kpeers s;
	char err[256] = "";

	assert_non_null(nm);
	assert_int_equal(kpeers_from_netmap(&s, nm, accept_routes, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_int_equal(s.count, 0);
	assert_null(s.tab);
	cJSON_Delete(nm);
}

#define K1 "nodekey:0000000100000000000000000000000000000000000000000000000000000001"
#define K2 "nodekey:0000000200000000000000000000000000000000000000000000000000000001"

static void test_malformed_netmap(void **state)
{
	(void)state;
	expect_malformed("{\"peers\":[{\"node_key\":\"nodekey:zz\",\"addresses\":[]}]}", false,
			 "peers[0].node_key");
	expect_malformed("{\"peers\":[{\"node_key\":\"" K1 "\",\"addresses\":[\"100.64.0.1/32\"]},"
			 "{\"node_key\":\"" K2 "\",\"addresses\":[\"100.64.0.300/32\"]}]}", false,
			 "peers[1].addresses[0]");
	expect_malformed("{\"peers\":[{\"node_key\":\"" K1 "\",\"allowed_ips\":[\"10.0.0.0/40\"]}]}",
			 true, "peers[0].allowed_ips[0]");
	expect_malformed("{\"peers\":[{\"node_key\":\"" K1 "\",\"addresses\":[7]}]}", false,
			 "peers[0].addresses[0]");
	expect_malformed("{\"peers\":[{\"node_key\":\"" K1 "\",\"addresses\":\"100.64.0.1/32\"}]}",
			 false, "not an array");
	expect_malformed("{\"peers\":[{\"node_key\":\"" K1 "\"},{\"node_key\":\"" K1 "\"}]}", false,
			 "twice");
	expect_malformed("{\"peers\":{}}", false, "peers is not an array");
	expect_malformed("[]", false, "not a JSON object");
	expect_malformed("{\"peers\":[3]}", false, "peers[0] is not an object");
}

/* A malformed netmap leaves what was programmed untouched: no diff is ever made. */
/*
 * A netmap malformed after good peers: the parse fails with nothing left
 * in want (the good peers it had built are freed, so kern_apply has no
 * half set to diff against what is programmed) and the delta ids of the
 * last good netmap are no longer valid (the next delta goes full).
 */
static void test_malformed_keeps_state(void **state)
{
	cJSON *nm = base_netmap(), *bad = base_netmap(), *p;
	struct kids ids = { 0 };
	struct kpeers want;
	char err[256];

	(void)state;
	assert_int_equal(kpeers_from_netmap_ids(&want, &ids, nm, false, err, sizeof(err)), 0);
	assert_true(ids.valid);
	assert_int_equal(want.count, 2);
	kpeers_free(&want);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "peers"), 1);
	cJSON_ReplaceItemInObject(p, "addresses", cJSON_Parse("[\"nope\"]"));
	assert_int_equal(kpeers_from_netmap_ids(&want, &ids, bad, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "peers[1].addresses[0]"));
	assert_int_equal(want.count, 0);
	assert_false(ids.valid);
	kpeers_free(&want);
	kids_free(&ids);
	cJSON_Delete(nm);
	cJSON_Delete(bad);
}

/* ---- differences ---- */

static void test_identical_nothing(void **state)
{
	cJSON *nm = base_netmap();
	struct kpeers have = parse_ok(nm, true), want = parse_ok(nm, true);
	struct kdiff d;

	(void)state;
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_true(kdiff_empty(d.pre));
	assert_true(kdiff_empty(d.post));
	assert_int_equal(d.unchanged, 2);
	assert_int_equal(d.added + d.removed + d.changed, 0);
	kdiff_free(&d);
	assert_int_equal(kpeers_diff(&have, &want, true, &d), 0);
	assert_true(kdiff_empty(d.pre) && kdiff_empty(d.post));
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
}

static void test_endpoint_change_one_update(void **state)
{
	cJSON *nm = base_netmap(), *nm2 = base_netmap(), *eps;
	struct kpeers have, want;
	struct kdiff d;
	struct mw_peer *op;
	char buf[80];
	uint8_t key[KEY_LEN];

	(void)state;
	eps = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(nm2, "peers"), 1), "endpoints");
	cJSON_ReplaceItemInArray(eps, 0, cJSON_CreateString("203.0.113.9:1234"));
	have = parse_ok(nm, false);
	want = parse_ok(nm2, false);
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_int_equal(d.changed, 1);
	assert_int_equal(d.unchanged, 1);
	assert_int_equal(n_ops(d.post), 1);
	op = d.post->first_peer;
	key_bytes(key, 2);
	assert_memory_equal(op->public_key, key, KEY_LEN);
	assert_true(op->flags & PEER_UPDATE_ONLY);
	assert_false(op->flags & (PEER_REPLACE_ALLOWEDIPS | PEER_REMOVE_ME));
	assert_true(op->flags & PEER_HAS_ENDPOINT);
	kendpoint_format(&op->endpoint, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.9:1234");
	assert_int_equal(n_ips(op), 0);
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
	cJSON_Delete(nm2);
}

/* The netmap dropping a peer's endpoints does not unset it (WireGuard cannot). */
static void test_endpoint_gone_keeps_old(void **state)
{
	cJSON *nm = base_netmap(), *nm2 = base_netmap();
	struct kpeers have, want;
	struct kdiff d;
	uint8_t key[KEY_LEN];

	(void)state;
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(nm2, "peers"), 1),
				  "endpoints", cJSON_CreateArray());
	have = parse_ok(nm, false);
	want = parse_ok(nm2, false);
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_true(kdiff_empty(d.post));
	assert_int_equal(d.unchanged, 2);
	key_bytes(key, 2);
	assert_true(kpeers_find(&want, key)->has_endpoint); /* the bookkeeping keeps it */
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
	cJSON_Delete(nm2);
}

static void test_key_change_remove_add(void **state)
{
	cJSON *nm = base_netmap(), *nm2 = base_netmap();
	struct kpeers have, want;
	struct kdiff d;
	struct mw_peer *op;
	uint8_t k2[KEY_LEN], k9[KEY_LEN];
	char t[80];

	(void)state;
	key_text(t, 9);
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(nm2, "peers"), 1),
				  "node_key", cJSON_CreateString(t));
	have = parse_ok(nm, false);
	want = parse_ok(nm2, false);
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_int_equal(d.removed, 1);
	assert_int_equal(d.added, 1);
	assert_int_equal(d.changed, 0);
	assert_int_equal(n_ops(d.post), 2);
	key_bytes(k2, 2);
	key_bytes(k9, 9);
	op = d.post->first_peer; /* removals first */
	assert_memory_equal(op->public_key, k2, KEY_LEN);
	assert_true(op->flags & PEER_REMOVE_ME);
	op = op->next;
	assert_memory_equal(op->public_key, k9, KEY_LEN);
	assert_false(op->flags & (PEER_REMOVE_ME | PEER_UPDATE_ONLY));
	assert_true(op->flags & PEER_HAS_ENDPOINT);
	assert_int_equal(n_ips(op), 1);
	kdiff_free(&d);
	/* with a filter change in between, the removal goes first, the addition after */
	assert_int_equal(kpeers_diff(&have, &want, true, &d), 0);
	assert_int_equal(n_ops(d.pre), 1);
	assert_true(d.pre->first_peer->flags & PEER_REMOVE_ME);
	assert_int_equal(n_ops(d.post), 1);
	assert_memory_equal(d.post->first_peer->public_key, k9, KEY_LEN);
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
	cJSON_Delete(nm2);
}

static void test_allowed_ips_change_replace(void **state)
{
	cJSON *nm = base_netmap(), *nm2 = base_netmap(), *addrs;
	struct kpeers have, want;
	struct kdiff d;
	struct mw_peer *op;

	(void)state;
	/* peer 2: 100.64.0.2/32 -> 100.64.0.2/32 + 100.64.0.22/32 (grows) */
	addrs = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(nm2, "peers"), 1), "addresses");
	cJSON_AddItemToArray(addrs, cJSON_CreateString("100.64.0.22/32"));
	/* peer 1: loses its IPv6 address (shrinks) */
	addrs = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(nm2, "peers"), 0), "addresses");
	cJSON_DeleteItemFromArray(addrs, 1);
	have = parse_ok(nm, false);
	want = parse_ok(nm2, false);
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_int_equal(d.changed, 2);
	assert_int_equal(n_ops(d.post), 2);
	for_each_peer(d.post, op) {
		assert_true(op->flags & PEER_REPLACE_ALLOWEDIPS);
		assert_false(op->flags & (PEER_REMOVE_ME | PEER_UPDATE_ONLY));
	}
	kdiff_free(&d);
	/* split: only the shrinking peer is cut down first, to what it keeps */
	assert_int_equal(kpeers_diff(&have, &want, true, &d), 0);
	assert_int_equal(n_ops(d.pre), 1);
	op = d.pre->first_peer;
	assert_true(op->flags & PEER_UPDATE_ONLY);
	assert_true(op->flags & PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(n_ips(op), 1);
	assert_int_equal(op->first_allowedip->family, AF_INET);
	assert_int_equal(n_ops(d.post), 2);
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
	cJSON_Delete(nm2);
}

static void test_accept_routes_toggle(void **state)
{
	cJSON *nm = base_netmap();
	struct kpeers off = parse_ok(nm, false), on = parse_ok(nm, true);
	struct kdiff d;
	uint8_t k1[KEY_LEN];

	(void)state;
	key_bytes(k1, 1);
	/* on: only peer 1 (the one with a route) changes, to 3 allowed IPs */
	assert_int_equal(kpeers_diff(&off, &on, false, &d), 0);
	assert_int_equal(d.changed, 1);
	assert_int_equal(d.unchanged, 1);
	assert_memory_equal(d.post->first_peer->public_key, k1, KEY_LEN);
	assert_int_equal(n_ips(d.post->first_peer), 3);
	kdiff_free(&d);
	kpeers_free(&on);
	/* off again: back to 2 */
	on = parse_ok(nm, true);
	kpeers_free(&off);
	off = parse_ok(nm, false);
	assert_int_equal(kpeers_diff(&on, &off, false, &d), 0);
	assert_int_equal(d.changed, 1);
	assert_int_equal(n_ips(d.post->first_peer), 2);
	kdiff_free(&d);
	kpeers_free(&on);
	kpeers_free(&off);
	cJSON_Delete(nm);
}

static cJSON *big_netmap(unsigned n)
{
	cJSON *nm = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(nm, "peers");
	unsigned i;

	for (i = 0; i < n; i++) {
		char a4[32], a6[64], ep[32];

		snprintf(a4, sizeof(a4), "100.%u.%u.%u/32", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		snprintf(a6, sizeof(a6), "fd7a:115c:a1e0::%x/128", i + 1);
		snprintf(ep, sizeof(ep), "10.%u.%u.1:41641", (i >> 8) & 255, i & 255);
		cJSON_AddItemToArray(arr, make_peer(i + 100, (const char *[]){ a4, a6, NULL }, NULL,
						    (const char *[]){ ep, NULL }));
	}
	return nm;
}

static void test_10000_peers(void **state)
{
	cJSON *nm = big_netmap(10000);
	struct kpeers have = parse_ok(nm, false), want = parse_ok(nm, false), none = { 0 };
	struct kdiff d;

	(void)state;
	assert_int_equal(have.count, 10000);
	assert_int_equal(kpeers_diff(&have, &want, false, &d), 0);
	assert_true(kdiff_empty(d.post));
	assert_int_equal(d.unchanged, 10000);
	kdiff_free(&d);
	/* from nothing: 10000 additions in one list, each with 2 allowed IPs */
	assert_int_equal(kpeers_diff(&none, &want, false, &d), 0);
	assert_int_equal(d.added, 10000);
	assert_int_equal(n_ops(d.post), 10000);
	assert_int_equal(n_ips(d.post->first_peer), 2);
	kdiff_free(&d);
	kpeers_free(&have);
	kpeers_free(&want);
	cJSON_Delete(nm);
}

static void test_from_device(void **state)
{
	cJSON *nm = base_netmap();
	struct kpeers want = parse_ok(nm, true), none = { 0 }, back;
	struct kdiff d;

	(void)state;
	/* what a GET_DEVICE of the programmed interface gives back is no change */
	assert_int_equal(kpeers_diff(&none, &want, false, &d), 0);
	assert_int_equal(kpeers_from_device(&back, d.post), 0);
	kdiff_free(&d);
	assert_int_equal(back.count, 2);
	assert_int_equal(kpeers_diff(&back, &want, false, &d), 0);
	assert_true(kdiff_empty(d.post));
	kdiff_free(&d);
	/* a keepalive set behind our back is turned off */
	{
		size_t i;
		struct kpeer *p;

		kpeers_for_each(&back, i, p)
			p->keepalive = 25;
	}
	assert_int_equal(kpeers_diff(&back, &want, false, &d), 0);
	assert_int_equal(d.changed, 2);
	assert_true(d.post->first_peer->flags & PEER_HAS_KEEPALIVE);
	assert_int_equal(d.post->first_peer->persistent_keepalive_interval, 0);
	kdiff_free(&d);
	kpeers_free(&back);
	kpeers_free(&want);
	cJSON_Delete(nm);
}

/* ---- randomized, against a brute-force model ---- */

#define NKEYS 12
#define NPFX 16
#define NEPS 6

struct mpeer {
	bool present;
	unsigned ips;		/* bit i: prefix i */
	int ep;			/* -1: none */
};

static const char *pfx_text(unsigned i, char *buf)
{
	if (i < 8)
		sprintf(buf, "10.0.%u.0/24", i);
	else
		sprintf(buf, "fd00::%x/128", i);
	return buf;
}

static const char *ep_text(int i, char *buf)
{
	if (i < 3)
		sprintf(buf, "192.0.2.%d:51820", i + 1);
	else
		sprintf(buf, "[2001:db8::%d]:51820", i);
	return buf;
}

static int pfx_index(const struct mw_allowedip *ip)
{
	char buf[64], want[64];
	struct kprefix k = { .family = ip->family, .cidr = ip->cidr };
	unsigned i;

	memcpy(k.addr, ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
	       ip->family == AF_INET ? 4 : 16);
	kprefix_format(&k, buf, sizeof(buf));
	for (i = 0; i < NPFX; i++)
		if (!strcmp(buf, pfx_text(i, want)))
			return (int)i;
	return -1;
}

static int ep_index(const union mw_endpoint *ep)
{
	char buf[64], want[64];
	int i;

	kendpoint_format(ep, buf, sizeof(buf));
	for (i = 0; i < NEPS; i++)
		if (!strcmp(buf, ep_text(i, want)))
			return i;
	return -2;
}

static unsigned key_index(const uint8_t key[KEY_LEN])
{
	return (unsigned)key[0] << 24 | (unsigned)key[1] << 16 | (unsigned)key[2] << 8 | key[3];
}

static void random_state(struct mpeer m[NKEYS])
{
	unsigned i, b;

	memset(m, 0, NKEYS * sizeof(*m));
	for (i = 0; i < NKEYS; i++) {
		m[i].present = rand() % 10 < 6;
		m[i].ep = rand() % (NEPS + 1) - 1;
	}
	/* each prefix belongs to at most one peer */
	for (b = 0; b < NPFX; b++) {
		unsigned owner = (unsigned)rand() % (NKEYS + 3);

		if (owner < NKEYS && m[owner].present)
			m[owner].ips |= 1u << b;
	}
}

static cJSON *model_netmap(const struct mpeer m[NKEYS])
{
	cJSON *nm = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(nm, "peers");
	unsigned i, b;

	for (i = 0; i < NKEYS; i++) {
		cJSON *p, *a;
		char buf[64];

		if (!m[i].present)
			continue;
		p = make_peer(i, NULL, NULL, NULL);
		a = cJSON_GetObjectItem(p, "addresses");
		for (b = 0; b < NPFX; b++)
			if (m[i].ips & (1u << b))
				cJSON_AddItemToArray(a, cJSON_CreateString(pfx_text(b, buf)));
		if (m[i].ep >= 0)
			cJSON_AddItemToArray(cJSON_GetObjectItem(p, "endpoints"),
					     cJSON_CreateString(ep_text(m[i].ep, buf)));
		cJSON_AddItemToArray(arr, p);
	}
	return nm;
}

/* The kernel's SET_DEVICE semantics, written out naively on the model. */
static void model_apply(struct mpeer m[NKEYS], const struct mw_device *ops)
{
	const struct mw_peer *op;
	const struct mw_allowedip *ip;
	unsigned k, o;

	for_each_peer(ops, op) {
		k = key_index(op->public_key);
		assert_true(k < NKEYS);
		if (op->flags & PEER_REMOVE_ME) {
			memset(&m[k], 0, sizeof(m[k]));
			m[k].ep = -1;
			continue;
		}
		if (!m[k].present) {
			if (op->flags & PEER_UPDATE_ONLY)
				continue;
			m[k].present = true;
			m[k].ips = 0;
			m[k].ep = -1;
		}
		if (op->flags & PEER_REPLACE_ALLOWEDIPS)
			m[k].ips = 0;
		if (op->flags & PEER_HAS_ENDPOINT) {
			m[k].ep = ep_index(&op->endpoint);
			assert_true(m[k].ep >= 0);
		}
		for_each_allowedip(op, ip) {
			int b = pfx_index(ip);

			assert_true(b >= 0);
			for (o = 0; o < NKEYS; o++)
				m[o].ips &= ~(1u << b);
			m[k].ips |= 1u << b;
		}
	}
}

static struct kpeers model_kpeers(const struct mpeer m[NKEYS])
{
	cJSON *nm = model_netmap(m);
	struct kpeers s = parse_ok(nm, false);

	cJSON_Delete(nm);
	return s;
}

static void test_random_against_model(void **state)
{
	unsigned round, i;

	(void)state;
	srand(20261122);
	for (round = 0; round < 3000; round++) {
		struct mpeer have[NKEYS], want[NKEYS], cur[NKEYS], mid[NKEYS];
		struct kpeers h, w;
		struct kdiff d;
		bool split = round & 1;
		unsigned ops_expected;

		random_state(have);
		random_state(want);
		if (round % 7 == 0)
			memcpy(want, have, sizeof(want));
		h = model_kpeers(have);
		w = model_kpeers(want);
		assert_int_equal(kpeers_diff(&h, &w, split, &d), 0);
		memcpy(cur, have, sizeof(cur));
		model_apply(cur, d.pre);
		if (split) {
			/* after the narrowing phase: only peers in both, only prefixes in both */
			for (i = 0; i < NKEYS; i++) {
				if (!cur[i].present)
					continue;
				assert_true(have[i].present && want[i].present);
				assert_int_equal(cur[i].ips & ~(have[i].ips & want[i].ips), 0);
			}
		} else {
			assert_true(kdiff_empty(d.pre));
		}
		memcpy(mid, cur, sizeof(mid));
		model_apply(cur, d.post);
		/* the result is the netmap's peer set */
		for (i = 0; i < NKEYS; i++) {
			assert_int_equal(cur[i].present, want[i].present);
			if (!want[i].present)
				continue;
			assert_int_equal(cur[i].ips, want[i].ips);
			if (want[i].ep >= 0)
				assert_int_equal(cur[i].ep, want[i].ep);
			else if (have[i].present)
				assert_int_equal(cur[i].ep, have[i].ep); /* kept */
			else
				assert_int_equal(cur[i].ep, -1);
		}
		/* minimal: one op per differing peer, none for the others */
		ops_expected = d.added + d.removed + d.changed;
		assert_int_equal(n_ops(d.post) + (split ? (size_t)d.removed : 0), ops_expected);
		for (i = 0; i < NKEYS; i++) {
			bool same = have[i].present == want[i].present &&
				    (!have[i].present ||
				     (have[i].ips == want[i].ips &&
				      (want[i].ep < 0 || want[i].ep == have[i].ep)));

			if (same) {
				const struct mw_peer *op;

				for_each_peer(d.post, op)
					assert_int_not_equal(key_index(op->public_key), i);
				for_each_peer(d.pre, op)
					assert_int_not_equal(key_index(op->public_key), i);
			}
		}
		/*
		 * What kern_apply does: record the narrowing phase with
		 * kpeers_apply_ops, then diff again for the rest; the model
		 * must end at the netmap the same way.
		 */
		assert_int_equal(kpeers_apply_ops(&h, d.pre), 0);
		kdiff_free(&d);
		assert_int_equal(kpeers_diff(&h, &w, false, &d), 0);
		assert_true(kdiff_empty(d.pre));
		if (split)
			assert_int_equal(d.removed, 0);
		model_apply(mid, d.post);
		for (i = 0; i < NKEYS; i++) {
			assert_int_equal(mid[i].present, want[i].present);
			assert_int_equal(mid[i].ips, want[i].ips);
		}
		assert_int_equal(kpeers_apply_ops(&h, d.post), 0);
		kdiff_free(&d);
		/* and the bookkeeping then has nothing left to do */
		assert_int_equal(kpeers_diff(&h, &w, false, &d), 0);
		assert_true(kdiff_empty(d.post));
		kdiff_free(&d);
		kpeers_free(&h);
		kpeers_free(&w);
	}
}

/* The allowed IPs of peer n in s, joined by ",". */
static const char *ips_of(const struct kpeers *s, unsigned n)
{
	static char buf[512];
	uint8_t key[KEY_LEN];
	const struct kpeer *p;
	size_t len = 0;

	key_bytes(key, n);
	p = kpeers_find(s, key);
	assert_non_null(p);
	buf[0] = '\0';
	for (size_t i = 0; i < p->n_ips; i++) {
		char t[64];

		kprefix_format(&p->ips[i], t, sizeof(t));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", t);
	}
	return buf;
}

/* A netmap peer with routes (and allowed_ips as the server sends them). */
static cJSON *router(unsigned id, const char *addr, const char *const *routes)
{
	cJSON *p = make_peer(id, (const char *[]){ addr, NULL }, (const char *[]){ "0.0.0.0/0", NULL },
			     NULL), *r = cJSON_AddArrayToObject(p, "routes");

	for (; *routes; routes++)
		cJSON_AddItemToArray(r, cJSON_CreateString(*routes));
	return p;
}

/*
 * Two HA subnet routers with one route, and a third peer given one of
 * their addresses: once netmap_check has given each prefix to one peer,
 * the peer set programmed into the kernel (the model of SET_DEVICE, where
 * a prefix added to one peer leaves the other) is exactly the books. The
 * same netmap unchecked is refused instead of programmed (the kernel would
 * keep the prefix with whichever peer came last).
 */
static void test_overlap_books_equal_kernel(void **state)
{
	cJSON *peers[3];
	cJSON *nm, *raw;
	struct nmc_rules r = { .accept_routes = true };
	struct kpeers want, kern, bad;
	struct kpeer *w, *k;
	struct kdiff d;
	char err[256] = "";
	size_t b;

	(void)state;
	assert_int_equal(kprefix_parse(&r.tailnet[0], "100.64.0.0/10"), 0);
	r.n_tailnet = 1;
	peers[0] = router(7, "100.64.0.7/32", (const char *[]){ "10.1.0.0/16", "10.2.0.0/16", NULL });
	peers[1] = router(4, "100.64.0.4/32", (const char *[]){ "10.1.0.0/16", NULL });
	peers[2] = router(9, "100.64.0.4/32", (const char *[]){ "10.2.0.0/16", NULL });
	raw = netmap_with(peers, 3);
	nm = cJSON_Duplicate(raw, 1);
	nmc_check(nm, NULL, &r, NULL);
	want = parse_ok(nm, true);
	assert_int_equal(kpeers_init(&kern, 0), 0);
	assert_int_equal(kpeers_diff(&kern, &want, false, &d), 0);
	assert_int_equal(kpeers_apply_ops(&kern, d.post), 0);
	kdiff_free(&d);
	assert_int_equal(kern.count, want.count);
	kpeers_for_each(&want, b, w) {
		k = kpeers_find(&kern, w->key);
		assert_non_null(k);
		assert_int_equal(k->n_ips, w->n_ips);
		assert_memory_equal(k->ips, w->ips, w->n_ips * sizeof(*w->ips));
	}
	/* who holds what: the lowest node id */
	assert_string_equal(ips_of(&kern, 4), "10.1.0.0/16,100.64.0.4/32");
	assert_string_equal(ips_of(&kern, 7), "10.2.0.0/16,100.64.0.7/32");
	assert_string_equal(ips_of(&kern, 9), "");
	kpeers_free(&kern);
	kpeers_free(&want);

	assert_int_equal(kpeers_from_netmap(&bad, raw, true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "two peers have allowed IP"));
	assert_int_equal(bad.count, 0);
	cJSON_Delete(nm);
	cJSON_Delete(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_text_forms),
		cmocka_unit_test(test_netmap_to_peers),
		cmocka_unit_test(test_no_endpoint_and_empty),
		cmocka_unit_test(test_malformed_netmap),
		cmocka_unit_test(test_malformed_keeps_state),
		cmocka_unit_test(test_identical_nothing),
		cmocka_unit_test(test_endpoint_change_one_update),
		cmocka_unit_test(test_endpoint_gone_keeps_old),
		cmocka_unit_test(test_key_change_remove_add),
		cmocka_unit_test(test_allowed_ips_change_replace),
		cmocka_unit_test(test_accept_routes_toggle),
		cmocka_unit_test(test_10000_peers),
		cmocka_unit_test(test_from_device),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_overlap_books_equal_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
