// SPDX-License-Identifier: GPL-2.0 OR MIT
/* GET_DEVICE reply parsing and reassembly of continued peers (lib/devparse.c). */

#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <linux/time_types.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "helpers.h"
#include "devparse.h"

static struct mw_peer *frag(uint8_t keybyte, uint32_t first_ip, uint32_t nips)
{
	struct mw_peer *p = calloc(1, sizeof(*p));
	uint32_t i;

	assert_non_null(p);
	memset(p->public_key, keybyte, KEY_LEN);
	p->flags = PEER_HAS_PUBLIC_KEY;
	for (i = 0; i < nips; ++i) {
		struct mw_allowedip *ip = calloc(1, sizeof(*ip));

		assert_non_null(ip);
		ip->family = AF_INET;
		ip->ip4.s_addr = htonl(first_ip + i);
		ip->cidr = 32;
		peer_append_allowedip(p, ip);
	}
	return p;
}

static void assert_ips(const struct mw_peer *p, uint32_t first, uint32_t n)
{
	const struct mw_allowedip *ip;
	uint32_t i = 0;

	for_each_allowedip(p, ip) {
		assert_int_equal(ntohl(ip->ip4.s_addr), first + i);
		i++;
	}
	assert_int_equal(i, n);
}

static void test_fragments_merge(void **state)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	struct mw_peer *a;

	(void)state;
	assert_non_null(dev);
	a = frag(0xa, 100, 2);
	a->rx_bytes = 77;
	devparse_add_peer(dev, a);
	devparse_add_peer(dev, frag(0xa, 102, 3));	/* continuation */
	devparse_add_peer(dev, frag(0xa, 105, 0));	/* continuation without IPs */
	devparse_add_peer(dev, frag(0xb, 200, 1));
	devparse_add_peer(dev, frag(0xb, 201, 1));	/* continuation */
	devparse_add_peer(dev, frag(0xc, 300, 0));
	assert_int_equal(count_peers(dev), 3);
	assert_ptr_equal(dev->first_peer, a);
	assert_int_equal(a->rx_bytes, 77);
	assert_ips(a, 100, 5);
	assert_ips(a->next, 200, 2);
	assert_ips(dev->last_peer, 300, 0);
	/* appending after a merge still goes to the right place */
	assert_ptr_equal(a->last_allowedip->next, NULL);
	assert_int_equal(ntohl(a->last_allowedip->ip4.s_addr), 104);
	free_device(dev);
}

static void test_first_fragment_without_ips(void **state)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));

	(void)state;
	devparse_add_peer(dev, frag(1, 10, 0));
	devparse_add_peer(dev, frag(1, 10, 4));
	assert_int_equal(count_peers(dev), 1);
	assert_ips(dev->first_peer, 10, 4);
	free_device(dev);
}

/* A dump message shaped as the kernel sends it. */
static struct nl_msg *dump_msg(bool first, uint8_t peer_key, bool continued, uint32_t ip_first,
			       uint32_t nips)
{
	struct nl_msg *msg = nlmsg_alloc_size(65536);
	struct nlattr *peers, *peer, *ips, *ip;
	uint8_t key[KEY_LEN];
	uint32_t i;

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, 1, 0x20, 0, NLM_F_MULTI, MESHWG_CMD_GET_DEVICE, 1));
	nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, 5);
	nla_put_string(msg, MESHWG_DEVICE_A_IFNAME, "meshwg0");
	if (first) {
		memset(key, 1, KEY_LEN);
		nla_put(msg, MESHWG_DEVICE_A_PRIVATE_KEY, KEY_LEN, key);
		memset(key, 2, KEY_LEN);
		nla_put(msg, MESHWG_DEVICE_A_PUBLIC_KEY, KEY_LEN, key);
		nla_put_u16(msg, MESHWG_DEVICE_A_LISTEN_PORT, 51820);
		nla_put_u32(msg, MESHWG_DEVICE_A_FWMARK, 0);
		nla_put_u64(msg, MESHWG_DEVICE_A_AGENT_RX, 12);
	}
	peers = nla_nest_start(msg, MESHWG_DEVICE_A_PEERS);
	peer = nla_nest_start(msg, 0);
	memset(key, peer_key, KEY_LEN);
	nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, KEY_LEN, key);
	if (!continued) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4242) };
		struct __kernel_timespec ts = { .tv_sec = 1700000000, .tv_nsec = 5 };

		inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr);
		memset(key, 0, KEY_LEN);
		nla_put(msg, MESHWG_PEER_A_PRESHARED_KEY, KEY_LEN, key);
		nla_put(msg, MESHWG_PEER_A_ENDPOINT, sizeof(sin6), &sin6);
		nla_put_u16(msg, MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 0);
		nla_put(msg, MESHWG_PEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
		nla_put_u64(msg, MESHWG_PEER_A_RX_BYTES, 1000);
		nla_put_u64(msg, MESHWG_PEER_A_TX_BYTES, 2000);
		nla_put_u64(msg, MESHWG_PEER_A_RX_PACKETS, 10);
		nla_put_u64(msg, MESHWG_PEER_A_TX_PACKETS, 20);
		nla_put_u64(msg, MESHWG_PEER_A_DROPS_NO_KEY, 1);
		nla_put_u64(msg, MESHWG_PEER_A_DROPS_REPLAY, 2);
		nla_put_u64(msg, MESHWG_PEER_A_DROPS_ALLOWEDIPS, 3);
		nla_put_u64(msg, MESHWG_PEER_A_DROPS_INVALID, 4);
		nla_put_u64(msg, MESHWG_PEER_A_HANDSHAKE_ATTEMPTS, 9);
		nla_put_u64(msg, MESHWG_PEER_A_DROPS_ACL, 11);
		nla_put_u32(msg, MESHWG_PEER_A_PROTOCOL_VERSION, 1);
	}
	ips = nla_nest_start(msg, MESHWG_PEER_A_ALLOWEDIPS);
	for (i = 0; i < nips; ++i) {
		uint32_t a = htonl(ip_first + i);

		ip = nla_nest_start(msg, 0);
		nla_put_u16(msg, MESHWG_ALLOWEDIP_A_FAMILY, AF_INET);
		nla_put(msg, MESHWG_ALLOWEDIP_A_IPADDR, 4, &a);
		nla_put_u8(msg, MESHWG_ALLOWEDIP_A_CIDR_MASK, 32);
		nla_nest_end(msg, ip);
	}
	nla_nest_end(msg, ips);
	nla_nest_end(msg, peer);
	nla_nest_end(msg, peers);
	return msg;
}

static void test_multi_message_dump(void **state)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	struct nl_msg *m1 = dump_msg(true, 0xaa, false, 1, 1000);
	struct nl_msg *m2 = dump_msg(false, 0xaa, true, 1001, 1000);
	struct nl_msg *m3 = dump_msg(false, 0xbb, false, 5000, 1);
	const struct mw_peer *p;

	(void)state;
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(m1)), 0);
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(m2)), 0);
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(m3)), 0);
	assert_string_equal(dev->name, "meshwg0");
	assert_int_equal(dev->ifindex, 5);
	assert_true(dev->flags & DEV_HAS_PRIVATE_KEY);
	assert_true(dev->flags & DEV_HAS_PUBLIC_KEY);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->agent_rx, 12);
	assert_int_equal(count_peers(dev), 2);
	p = dev->first_peer;
	assert_ips(p, 1, 2000);
	assert_false(p->flags & PEER_HAS_PRESHARED_KEY); /* all-zero key = none */
	assert_true(p->flags & PEER_HAS_ENDPOINT);
	assert_int_equal(p->endpoint.addr.sa_family, AF_INET6);
	assert_int_equal(ntohs(p->endpoint.addr6.sin6_port), 4242);
	assert_int_equal(p->last_handshake_time.tv_sec, 1700000000);
	assert_int_equal(p->rx_bytes, 1000);
	assert_int_equal(p->tx_bytes, 2000);
	assert_true(p->flags & PEER_HAS_PACKETS);
	assert_int_equal(p->rx_packets, 10);
	assert_int_equal(p->tx_packets, 20);
	assert_true(p->flags & PEER_HAS_DROPS);
	assert_int_equal(p->drops_no_key, 1);
	assert_int_equal(p->drops_replay, 2);
	assert_int_equal(p->drops_allowedips, 3);
	assert_int_equal(p->drops_invalid, 4);
	assert_int_equal(p->drops_acl, 11);
	assert_true(p->flags & PEER_HAS_ATTEMPTS);
	assert_int_equal(p->handshake_attempts, 9);
	assert_ips(p->next, 5000, 1);
	nlmsg_free(m1);
	nlmsg_free(m2);
	nlmsg_free(m3);
	free_device(dev);
}

static void test_malformed(void **state)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	struct nl_msg *msg;
	struct nlattr *peers, *peer, *ips, *ip;
	uint8_t key[16] = { 0 };
	int err = 0;

	(void)state;
	/* a public key of the wrong length */
	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 1, 0x20, 0, 0, MESHWG_CMD_GET_DEVICE, 1);
	peers = nla_nest_start(msg, MESHWG_DEVICE_A_PEERS);
	peer = nla_nest_start(msg, 0);
	nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, sizeof(key), key);
	nla_nest_end(msg, peer);
	nla_nest_end(msg, peers);
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(msg)), -EINVAL);
	nlmsg_free(msg);

	/* an IPv4 allowed IP with a /33 mask */
	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 1, 0x20, 0, 0, MESHWG_CMD_GET_DEVICE, 1);
	peers = nla_nest_start(msg, MESHWG_DEVICE_A_PEERS);
	peer = nla_nest_start(msg, 0);
	{
		uint8_t k[KEY_LEN] = { 1 };
		uint32_t a = 0;

		nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, KEY_LEN, k);
		ips = nla_nest_start(msg, MESHWG_PEER_A_ALLOWEDIPS);
		ip = nla_nest_start(msg, 0);
		nla_put_u16(msg, MESHWG_ALLOWEDIP_A_FAMILY, AF_INET);
		nla_put(msg, MESHWG_ALLOWEDIP_A_IPADDR, 4, &a);
		nla_put_u8(msg, MESHWG_ALLOWEDIP_A_CIDR_MASK, 33);
		nla_nest_end(msg, ip);
		nla_nest_end(msg, ips);
	}
	nla_nest_end(msg, peer);
	assert_null(devparse_peer(peer, &err));
	assert_int_equal(err, -EINVAL);
	nla_nest_end(msg, peers);
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(msg)), -EINVAL);
	nlmsg_free(msg);

	/* a u16 listen port sent as u32 */
	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 1, 0x20, 0, 0, MESHWG_CMD_GET_DEVICE, 1);
	nla_put_u32(msg, MESHWG_DEVICE_A_LISTEN_PORT, 5);
	assert_int_equal(devparse_msg(dev, nlmsg_hdr(msg)), -EINVAL);
	nlmsg_free(msg);
	assert_null(dev->first_peer);
	free_device(dev);
}

static void test_relay_endpoint(void **state)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *peer;
	uint8_t k[KEY_LEN] = { 3 };
	struct mw_peer *p;
	int err;

	(void)state;
	genlmsg_put(msg, 0, 1, 0x20, 0, 0, MESHWG_CMD_GET_DEVICE, 1);
	peer = nla_nest_start(msg, 0);
	nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, KEY_LEN, k);
	nla_put_u32(msg, MESHWG_PEER_A_RELAY_ID, 9);
	nla_nest_end(msg, peer);
	p = devparse_peer(peer, &err);
	assert_non_null(p);
	assert_true(p->flags & PEER_HAS_RELAY);
	assert_int_equal(p->relay_id, 9);
	assert_false(p->flags & PEER_HAS_PACKETS);
	free_peer(p);
	nlmsg_free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragments_merge),
		cmocka_unit_test(test_first_fragment_without_ips),
		cmocka_unit_test(test_multi_message_dump),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_relay_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
