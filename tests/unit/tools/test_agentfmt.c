// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Text lines of `meshwg debug listen' (tools/agentfmt.c). */

#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "helpers.h"
#include "agentfmt.h"

static uint32_t lo_index(void)
{
	uint32_t i = if_nametoindex("lo");

	return i ? i : 1;
}

static struct nl_msg *notif(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, 0, 0x20, 0, 0, cmd, 1));
	nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, lo_index());
	return msg;
}

static char *fmt(struct nl_msg *msg, int *err)
{
	uint32_t ifindex = 0;
	char *line = agentfmt_line(nlmsg_hdr(msg), &ifindex, err);

	if (line)
		assert_int_equal(ifindex, lo_index());
	nlmsg_free(msg);
	return line;
}

static void expect(struct nl_msg *msg, const char *want)
{
	int err;
	char *line = fmt(msg, &err);

	assert_non_null(line);
	assert_int_equal(err, 0);
	assert_string_equal(line, want);
	free(line);
}

static const uint8_t KEY[KEY_LEN] = { 0 };
#define KEY_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void test_datagram_v4_stun(void **state)
{
	struct nl_msg *msg = notif(MESHWG_CMD_DATAGRAM);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5678) };
	static const uint8_t payload[] = { 0x00, 0x01, 0x21, 0x12, 0xa4, 0x42 };

	(void)state;
	inet_pton(AF_INET, "1.2.3.4", &sin.sin_addr);
	nla_put(msg, MESHWG_AGENT_A_ADDR, sizeof(sin), &sin);
	nla_put_u32(msg, MESHWG_AGENT_A_KIND, MESHWG_DATAGRAM_STUN);
	nla_put(msg, MESHWG_AGENT_A_PAYLOAD, sizeof(payload), payload);
	expect(msg, "datagram iface=lo from=1.2.3.4:5678 kind=stun len=6 hex=00012112a442");
}

static void test_datagram_v6_disco(void **state)
{
	struct nl_msg *msg = notif(MESHWG_CMD_DATAGRAM);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(41641) };
	static const uint8_t payload[] = { 'T', 'S' };

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	nla_put(msg, MESHWG_AGENT_A_ADDR, sizeof(sin6), &sin6);
	nla_put_u32(msg, MESHWG_AGENT_A_KIND, MESHWG_DATAGRAM_DISCO);
	nla_put(msg, MESHWG_AGENT_A_PAYLOAD, sizeof(payload), payload);
	expect(msg, "datagram iface=lo from=[2001:db8::1]:41641 kind=disco len=2 hex=5453");
}

static void test_relay(void **state)
{
	struct nl_msg *msg = notif(MESHWG_CMD_RELAY_DATAGRAM);
	static const uint8_t payload[] = { 1, 0, 0, 0 };

	(void)state;
	nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, 7);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	nla_put(msg, MESHWG_AGENT_A_PAYLOAD, sizeof(payload), payload);
	expect(msg, "relay iface=lo relay=7 peer=" KEY_B64 " len=4 hex=01000000");
}

static void test_events(void **state)
{
	struct nl_msg *msg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };

	(void)state;
	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_HANDSHAKE_COMPLETE);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	expect(msg, "event iface=lo handshake-complete peer=" KEY_B64);

	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_WANTS_ENDPOINT);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	expect(msg, "event iface=lo wants-endpoint peer=" KEY_B64);

	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_ENDPOINT_CHANGED);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	nla_put(msg, MESHWG_AGENT_A_ADDR, sizeof(sin), &sin);
	expect(msg, "event iface=lo endpoint-changed peer=" KEY_B64 " endpoint=10.0.0.1:9");

	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_ENDPOINT_CHANGED);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, 3);
	expect(msg, "event iface=lo endpoint-changed peer=" KEY_B64 " endpoint=relay:3");

	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, 99);
	expect(msg, "event iface=lo unknown(99) peer=(none)");
}

static void put_acl(struct nl_msg *msg, int family, const char *src, const char *dst,
		    uint16_t sport, uint16_t dport, uint8_t proto, uint32_t rule)
{
	uint8_t a[16];

	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_ACL_DENY);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, KEY_LEN, KEY);
	nla_put_u16(msg, MESHWG_AGENT_A_ACL_FAMILY, (uint16_t)family);
	inet_pton(family, src, a);
	nla_put(msg, MESHWG_AGENT_A_ACL_SRC, family == AF_INET ? 4 : 16, a);
	inet_pton(family, dst, a);
	nla_put(msg, MESHWG_AGENT_A_ACL_DST, family == AF_INET ? 4 : 16, a);
	nla_put_u8(msg, MESHWG_AGENT_A_ACL_PROTO, proto);
	nla_put_u16(msg, MESHWG_AGENT_A_ACL_SPORT, sport);
	nla_put_u16(msg, MESHWG_AGENT_A_ACL_DPORT, dport);
	nla_put_u32(msg, MESHWG_AGENT_A_ACL_RULE, rule);
}

static void test_acl_deny(void **state)
{
	struct nl_msg *msg;
	int err;

	(void)state;
	msg = notif(MESHWG_CMD_EVENT);
	put_acl(msg, AF_INET, "100.64.0.2", "100.64.0.1", 40000, 22, 6, 3);
	expect(msg, "event iface=lo acl-deny peer=" KEY_B64
	       " proto=6 src=100.64.0.2:40000 dst=100.64.0.1:22 rule=3");
	msg = notif(MESHWG_CMD_EVENT);
	put_acl(msg, AF_INET6, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 0, 0, 58, MESHWG_FILTER_NO_RULE);
	expect(msg, "event iface=lo acl-deny peer=" KEY_B64
	       " proto=58 src=fd7a:115c:a1e0::2 dst=fd7a:115c:a1e0::1 rule=default");
	/* an IPv6 family with IPv4-sized addresses is refused */
	msg = notif(MESHWG_CMD_EVENT);
	put_acl(msg, AF_INET, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0);
	nla_put_u16(msg, MESHWG_AGENT_A_ACL_FAMILY, AF_INET6); /* parsed last wins */
	assert_null(fmt(msg, &err));
	assert_int_equal(err, -EINVAL);
}

static void test_malformed(void **state)
{
	struct nl_msg *msg;
	int err = 0;

	(void)state;
	/* a datagram without its source address */
	msg = notif(MESHWG_CMD_DATAGRAM);
	nla_put_u32(msg, MESHWG_AGENT_A_KIND, 1);
	nla_put(msg, MESHWG_AGENT_A_PAYLOAD, 1, "x");
	assert_null(fmt(msg, &err));
	assert_int_equal(err, -EINVAL);
	/* a truncated public key */
	msg = notif(MESHWG_CMD_EVENT);
	nla_put_u32(msg, MESHWG_AGENT_A_EVENT, 1);
	nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, 8, KEY);
	assert_null(fmt(msg, &err));
	assert_int_equal(err, -EINVAL);
	/* not a notification */
	msg = notif(MESHWG_CMD_GET_DEVICE);
	assert_null(fmt(msg, &err));
	assert_int_equal(err, -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datagram_v4_stun),
		cmocka_unit_test(test_datagram_v6_disco),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_acl_deny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
