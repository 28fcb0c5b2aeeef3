// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Splitting SET_DEVICE over several messages (lib/setmsg.c), checked with
 * 10,000 peers / 100,000 allowed IPs: every message fits, device attributes
 * and REPLACE_PEERS are in the first message only, continued peers repeat
 * only their key, and parsing the messages back with the dump parser
 * (lib/devparse.c) gives back exactly the original configuration.
 */

#include <errno.h>
#include <stdlib.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "helpers.h"
#include "devparse.h"
#include "setmsg.h"

static struct mw_peer *new_peer(uint32_t n)
{
	struct mw_peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	memcpy(p->public_key, &n, sizeof(n));
	p->public_key[31] = 0x42;
	p->flags = PEER_HAS_PUBLIC_KEY | PEER_REPLACE_ALLOWEDIPS;
	return p;
}

static void add_ip(struct mw_peer *p, uint32_t n)
{
	struct mw_allowedip *ip = calloc(1, sizeof(*ip));

	assert_non_null(ip);
	if (n % 3 == 0) {
		ip->family = AF_INET6;
		ip->ip6.s6_addr[0] = 0xfd;
		memcpy(&ip->ip6.s6_addr[12], &n, sizeof(n));
		ip->cidr = 128;
	} else {
		ip->family = AF_INET;
		ip->ip4.s_addr = htonl(0x0a000000u + n);
		ip->cidr = 32;
	}
	peer_append_allowedip(p, ip);
}

/* peers peers with ips_per_peer IPs each; peer `big' gets big_ips more. */
static struct mw_device *make_device(uint32_t peers, uint32_t ips_per_peer, uint32_t big,
				     uint32_t big_ips)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	uint32_t i, j, ipn = 0;

	assert_non_null(dev);
	dev->flags = DEV_HAS_PRIVATE_KEY | DEV_HAS_LISTEN_PORT | DEV_HAS_FWMARK | DEV_REPLACE_PEERS;
	memset(dev->private_key, 7, KEY_LEN);
	dev->listen_port = 51820;
	dev->fwmark = 0x99;
	for (i = 0; i < peers; ++i) {
		struct mw_peer *p = new_peer(i);

		if (i % 2) {
			p->flags |= PEER_HAS_ENDPOINT | PEER_HAS_KEEPALIVE | PEER_HAS_PRESHARED_KEY;
			p->endpoint.addr4.sin_family = AF_INET;
			p->endpoint.addr4.sin_port = htons((uint16_t)(1000 + i));
			p->persistent_keepalive_interval = 25;
			memset(p->preshared_key, 3, KEY_LEN);
		} else if (i % 5 == 0) {
			p->flags |= PEER_HAS_RELAY;
			p->relay_id = i + 1;
		}
		for (j = 0; j < ips_per_peer + (i == big ? big_ips : 0); ++j)
			add_ip(p, ipn++);
		device_append_peer(dev, p);
	}
	return dev;
}

struct stats {
	size_t messages, continued, max_size;
};

/* Plans, builds and parses back every message; returns the reassembled device. */
static struct mw_device *round_trip(const struct mw_device *dev, size_t limit, struct stats *st)
{
	struct mw_device *back = calloc(1, sizeof(*back));
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;

	assert_non_null(back);
	memset(st, 0, sizeof(*st));
	setmsg_start(&cur, dev);
	while (!setmsg_done(&cur)) {
		struct nlattr *tb[MESHWG_DEVICE_A_MAX + 1], *pa;
		struct nl_msg *msg;
		struct nlmsghdr *nlh;
		int rem, idx = 0;

		assert_int_equal(setmsg_plan(dev, "meshwg0", &cur, limit, &chunk), 0);
		assert_true(chunk.size <= limit);
		msg = nlmsg_alloc_size(limit);
		assert_non_null(msg);
		assert_non_null(genlmsg_put(msg, 0, 0, 0x20, 0, 0, MESHWG_CMD_SET_DEVICE, 1));
		assert_int_equal(setmsg_build(dev, "meshwg0", &chunk, msg), 0);
		nlh = nlmsg_hdr(msg);
		assert_int_equal(nlh->nlmsg_len, chunk.size);
		if (nlh->nlmsg_len > st->max_size)
			st->max_size = nlh->nlmsg_len;

		assert_int_equal(genlmsg_parse(nlh, 0, tb, MESHWG_DEVICE_A_MAX, NULL), 0);
		assert_non_null(tb[MESHWG_DEVICE_A_IFNAME]);
		if (st->messages == 0) {
			assert_non_null(tb[MESHWG_DEVICE_A_FLAGS]);
			assert_int_equal(nla_get_u32(tb[MESHWG_DEVICE_A_FLAGS]),
					 MESHWG_DEVICE_F_REPLACE_PEERS);
			assert_non_null(tb[MESHWG_DEVICE_A_PRIVATE_KEY]);
			assert_non_null(tb[MESHWG_DEVICE_A_LISTEN_PORT]);
			assert_non_null(tb[MESHWG_DEVICE_A_FWMARK]);
		} else {
			assert_null(tb[MESHWG_DEVICE_A_FLAGS]);
			assert_null(tb[MESHWG_DEVICE_A_PRIVATE_KEY]);
			assert_null(tb[MESHWG_DEVICE_A_LISTEN_PORT]);
			assert_null(tb[MESHWG_DEVICE_A_FWMARK]);
		}
		/* A peer continued from the previous message carries only its key
		 * and allowed IPs, no REPLACE_ALLOWEDIPS. */
		if (tb[MESHWG_DEVICE_A_PEERS]) {
			nla_for_each_nested(pa, tb[MESHWG_DEVICE_A_PEERS], rem) {
				struct nlattr *pt[MESHWG_PEER_A_MAX + 1];
				int k;

				assert_int_equal(nla_parse_nested(pt, MESHWG_PEER_A_MAX, pa, NULL), 0);
				assert_non_null(pt[MESHWG_PEER_A_PUBLIC_KEY]);
				if (idx == 0 && chunk.from.continuing) {
					st->continued++;
					for (k = 0; k <= MESHWG_PEER_A_MAX; ++k)
						if (k != MESHWG_PEER_A_PUBLIC_KEY &&
						    k != MESHWG_PEER_A_ALLOWEDIPS)
							assert_null(pt[k]);
				} else {
					assert_non_null(pt[MESHWG_PEER_A_FLAGS]);
					assert_true(nla_get_u32(pt[MESHWG_PEER_A_FLAGS]) &
						    MESHWG_PEER_F_REPLACE_ALLOWEDIPS);
				}
				idx++;
			}
		}
		assert_int_equal((size_t)idx, chunk.peers);
		assert_int_equal(devparse_msg(back, nlh), 0);
		nlmsg_free(msg);
		st->messages++;
		cur = chunk.to;
	}
	return back;
}

static void assert_same(const struct mw_device *a, const struct mw_device *b)
{
	const struct mw_peer *pa, *pb;
	const struct mw_allowedip *ia, *ib;

	assert_memory_equal(a->private_key, b->private_key, KEY_LEN);
	assert_int_equal(a->listen_port, b->listen_port);
	assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(count_peers(a), count_peers(b));
	for (pa = a->first_peer, pb = b->first_peer; pa && pb; pa = pa->next, pb = pb->next) {
		assert_memory_equal(pa->public_key, pb->public_key, KEY_LEN);
		assert_int_equal(pa->flags & (PEER_HAS_RELAY | PEER_HAS_ENDPOINT | PEER_HAS_KEEPALIVE |
					      PEER_HAS_PRESHARED_KEY),
				 pb->flags & (PEER_HAS_RELAY | PEER_HAS_ENDPOINT | PEER_HAS_KEEPALIVE |
					      PEER_HAS_PRESHARED_KEY));
		assert_int_equal(pa->relay_id, pb->relay_id);
		assert_int_equal(pa->persistent_keepalive_interval, pb->persistent_keepalive_interval);
		assert_int_equal(pa->endpoint.addr4.sin_port, pb->endpoint.addr4.sin_port);
		assert_int_equal(count_ips(pa), count_ips(pb));
		for (ia = pa->first_allowedip, ib = pb->first_allowedip; ia && ib;
		     ia = ia->next, ib = ib->next) {
			assert_int_equal(ia->family, ib->family);
			assert_int_equal(ia->cidr, ib->cidr);
			if (ia->family == AF_INET)
				assert_memory_equal(&ia->ip4, &ib->ip4, 4);
			else
				assert_memory_equal(&ia->ip6, &ib->ip6, 16);
		}
	}
}

static void test_10k_peers_100k_ips(void **state)
{
	struct mw_device *dev = make_device(10000, 10, 0, 0), *back;
	struct stats st;

	(void)state;
	back = round_trip(dev, SETMSG_LIMIT, &st);
	assert_same(dev, back);
	/* 100,000 IPs of >= 28 bytes each cannot fit in fewer messages. */
	assert_true(st.messages >= 100000 * 28 / SETMSG_LIMIT);
	assert_true(st.max_size <= SETMSG_LIMIT);
	/* Messages are well filled: no more than 10% over the lower bound. */
	assert_true(st.messages <= (10000 * 100 + 100000 * 40) / SETMSG_LIMIT * 11 / 10 + 1);
	free_device(back);
	free_device(dev);
}

static void test_small_limits_and_big_peer(void **state)
{
	static const size_t limits[] = { 256, 512, 4096, 16384, 65536 };
	struct mw_device *dev = make_device(300, 3, 17, 20000), *back;
	struct stats st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); ++i) {
		back = round_trip(dev, limits[i], &st);
		assert_same(dev, back);
		assert_true(st.max_size <= limits[i]);
		/* peer 17's 20,003 IPs cannot fit in one message at these sizes */
		assert_true(st.continued >= 20000 * 28 / limits[i]);
		free_device(back);
	}
	free_device(dev);
}

static void test_plan_only_counts(void **state)
{
	struct mw_device *dev = make_device(10000, 10, 42, 0);
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;
	size_t ips = 0, peer_entries = 0, messages = 0, continued = 0;

	(void)state;
	setmsg_start(&cur, dev);
	while (!setmsg_done(&cur)) {
		assert_int_equal(setmsg_plan(dev, "meshwg0", &cur, 4096, &chunk), 0);
		assert_true(chunk.size <= 4096);
		assert_true(chunk.peers > 0);
		ips += chunk.ips;
		peer_entries += chunk.peers;
		continued += chunk.from.continuing;
		messages++;
		cur = chunk.to;
	}
	assert_int_equal(ips, 100000);
	assert_int_equal(peer_entries, 10000 + continued);
	assert_true(messages > 1);
	free_device(dev);
}

static void test_no_peers_one_message(void **state)
{
	struct mw_device dev = { .flags = DEV_HAS_LISTEN_PORT, .listen_port = 5 };
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;

	(void)state;
	setmsg_start(&cur, &dev);
	assert_false(setmsg_done(&cur));
	assert_int_equal(setmsg_plan(&dev, "wg0", &cur, 4096, &chunk), 0);
	assert_int_equal(chunk.peers, 0);
	assert_int_equal(chunk.size, setmsg_header_size() + 8 /* ifname "wg0" */ + 8 /* port */);
	assert_true(setmsg_done(&chunk.to));
}

static void test_remove_sends_no_ips(void **state)
{
	struct mw_device *dev = make_device(2, 5, 0, 0), *back;
	struct stats st;

	(void)state;
	dev->first_peer->flags |= PEER_REMOVE_ME;
	back = round_trip(dev, 4096, &st);
	assert_int_equal(count_peers(back), 2);
	assert_int_equal(count_ips(back->first_peer), 0);
	assert_int_equal(count_ips(back->last_peer), 5);
	free_device(back);
	free_device(dev);
}

static void test_update_only_kept_on_continuation(void **state)
{
	struct mw_device *dev = make_device(1, 500, 0, 0);
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;
	struct nl_msg *msg;
	struct nlattr *tb[MESHWG_DEVICE_A_MAX + 1], *pt[MESHWG_PEER_A_MAX + 1];
	int n = 0;

	(void)state;
	dev->first_peer->flags |= PEER_UPDATE_ONLY;
	setmsg_start(&cur, dev);
	while (!setmsg_done(&cur)) {
		assert_int_equal(setmsg_plan(dev, "x", &cur, 1024, &chunk), 0);
		msg = nlmsg_alloc_size(1024);
		assert_non_null(genlmsg_put(msg, 0, 0, 0x20, 0, 0, MESHWG_CMD_SET_DEVICE, 1));
		assert_int_equal(setmsg_build(dev, "x", &chunk, msg), 0);
		assert_int_equal(genlmsg_parse(nlmsg_hdr(msg), 0, tb, MESHWG_DEVICE_A_MAX, NULL), 0);
		assert_int_equal(nla_parse_nested(pt, MESHWG_PEER_A_MAX,
						  nla_data(tb[MESHWG_DEVICE_A_PEERS]), NULL), 0);
		assert_non_null(pt[MESHWG_PEER_A_FLAGS]);
		assert_int_equal(nla_get_u32(pt[MESHWG_PEER_A_FLAGS]),
				 n ? MESHWG_PEER_F_UPDATE_ONLY :
				     MESHWG_PEER_F_UPDATE_ONLY | MESHWG_PEER_F_REPLACE_ALLOWEDIPS);
		nlmsg_free(msg);
		cur = chunk.to;
		n++;
	}
	assert_true(n > 1);
	free_device(dev);
}

static void test_too_small_limit(void **state)
{
	struct mw_device *dev = make_device(1, 1, 0, 0);
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;

	(void)state;
	setmsg_start(&cur, dev);
	assert_int_equal(setmsg_plan(dev, "meshwg0", &cur, 16, &chunk), -EMSGSIZE);
	assert_int_equal(setmsg_plan(dev, "meshwg0", &cur, 100, &chunk), -EMSGSIZE);
	free_device(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_10k_peers_100k_ips),
		cmocka_unit_test(test_small_limits_and_big_peer),
		cmocka_unit_test(test_plan_only_counts),
		cmocka_unit_test(test_no_peers_one_message),
		cmocka_unit_test(test_remove_sends_no_ips),
		cmocka_unit_test(test_update_only_kept_on_continuation),
		cmocka_unit_test(test_too_small_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
