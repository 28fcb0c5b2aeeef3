// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lib/filterfmt.c: the JSON ruleset format (good files, every refusal),
 * and a round trip through the netlink attributes of SET_FILTER read back
 * as GET_FILTER replies, including rules split into continuation chunks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <netlink/genl/genl.h>
#include <linux/meshwg.h>

#include "filterfmt.h"

static const char *policy_output =
	"[\n"
	"  {\"action\": \"deny\",\n"
	"   \"src\": [\"100.64.0.2/32\"],\n"
	"   \"dst\": [{\"prefix\": \"100.64.0.3/32\", \"first_port\": 22, \"last_port\": 23}],\n"
	"   \"protos\": [6]},\n"
	"  {\"action\": \"accept\",\n"
	"   \"src\": [\"100.64.0.1/32\", \"100.64.0.2/31\", \"fd7a:115c:a1e0::1/128\"],\n"
	"   \"dst\": [{\"prefix\": \"100.64.0.3/32\", \"first_port\": 0, \"last_port\": 65535}],\n"
	"   \"protos\": []}\n"
	"]\n";

static void test_parse_policy_output(void **state)
{
	struct fl_ruleset rs, rs2;
	char err[256];

	(void)state;
	assert_int_equal(fl_from_json(policy_output, &rs, err, sizeof(err)), 0);
	assert_true(rs.installed);
	assert_int_equal(rs.n_rules, 2);
	assert_int_equal(rs.rules[0].action, MESHWG_FILTER_DENY);
	assert_int_equal(rs.rules[0].n_protos, 1);
	assert_int_equal(rs.rules[0].protos[0], 6);
	assert_int_equal(rs.rules[0].dst[0].first_port, 22);
	assert_int_equal(rs.rules[0].dst[0].last_port, 23);
	assert_int_equal(rs.rules[1].action, MESHWG_FILTER_ACCEPT);
	assert_int_equal(rs.rules[1].n_src, 3);
	assert_int_equal(rs.rules[1].src[1].cidr, 31);
	assert_int_equal(rs.rules[1].src[2].family, AF_INET6);
	assert_int_equal(rs.rules[1].n_protos, 0);
	assert_false(rs.rules[1].any_proto);
	/* The version is a hash of the content, not of the layout. */
	assert_int_equal(fl_from_json("[{\"action\":\"deny\",\"src\":[\"100.64.0.2/32\"],"
				      "\"dst\":[{\"prefix\":\"100.64.0.3/32\",\"first_port\":22,"
				      "\"last_port\":23}],\"protos\":[6]},{\"action\":\"accept\","
				      "\"src\":[\"100.64.0.1/32\",\"100.64.0.2/31\","
				      "\"fd7a:115c:a1e0::1/128\"],\"dst\":[{\"prefix\":"
				      "\"100.64.0.3/32\",\"first_port\":0,\"last_port\":65535}],"
				      "\"protos\":[]}]", &rs2, err, sizeof(err)), 0);
	assert_true(rs.version == rs2.version);
	assert_true(rs.version != 0);
	fl_free(&rs2);
	fl_free(&rs);

	/* Object form, explicit version, any protocol, any source, defaults. */
	assert_int_equal(fl_from_json("{\"version\": \"18446744073709551615\", \"rules\": ["
				      "{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[{\"prefix\":"
				      "\"10.0.0.0/8\"}],\"protos\":\"*\"}]}", &rs, err, sizeof(err)),
			 0);
	assert_true(rs.version == UINT64_MAX);
	assert_int_equal(rs.rules[0].n_src, 2);
	assert_true(rs.rules[0].any_proto);
	assert_int_equal(rs.rules[0].dst[0].first_port, 0);
	assert_int_equal(rs.rules[0].dst[0].last_port, 65535);
	fl_free(&rs);

	/* Empty ruleset: installed, denies all. */
	assert_int_equal(fl_from_json("[]", &rs, err, sizeof(err)), 0);
	assert_true(rs.installed);
	assert_int_equal(rs.n_rules, 0);
	fl_free(&rs);
}

static void test_refusals(void **state)
{
	static const struct { const char *json, *msg; } c[] = {
		{ "", "not valid JSON" },
		{ "[\n{]", "line 2" },
		{ "{\"rules\": 3}", "expected an array" },
		{ "{\"foo\": []}", "unknown key \"foo\"" },
		{ "{\"version\": -1, \"rules\": []}", "version" },
		{ "{\"version\": \"12x\", \"rules\": []}", "version" },
		{ "[3]", "rule 0: not an object" },
		{ "[{\"action\":\"allow\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "\"action\" must be" },
		{ "[{\"action\":\"deny\",\"src\":[],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "\"src\" must be a non-empty array" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[]}]",
		  "\"dst\" must be a non-empty array" },
		{ "[{\"action\":\"deny\",\"src\":[\"10.0.0.1/8\"],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "host bits set" },
		{ "[{\"action\":\"deny\",\"src\":[\"10.0.0.0/33\"],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "not a prefix" },
		{ "[{\"action\":\"deny\",\"src\":[\"10.0.0.0/\"],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "not a prefix" },
		{ "[{\"action\":\"deny\",\"src\":[\"nope\"],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "not a prefix" },
		{ "[{\"action\":\"deny\",\"src\":[1],\"dst\":[{\"prefix\":\"::/0\"}]}]",
		  "not a string" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"fd00::1/64\"}]}]",
		  "host bits set" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\","
		  "\"first_port\":70000}]}]", "must be 0-65535" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\","
		  "\"first_port\":1.5}]}]", "must be 0-65535" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\","
		  "\"first_port\":80,\"last_port\":79}]}]", "first_port 80 > last_port 79" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\","
		  "\"port\":80}]}]", "unknown key \"port\"" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"first_port\":80}]}]",
		  "needs a \"prefix\"" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\"}],"
		  "\"protos\":[256]}]", "0-255" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\"}],"
		  "\"protos\":\"tcp\"}]", "\"protos\" must be" },
		{ "[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[{\"prefix\":\"::/0\"}],"
		  "\"proto\":[6]}]", "unknown key \"proto\"" },
	};
	struct fl_ruleset rs;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int ret = fl_from_json(c[i].json, &rs, err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, c[i].msg))
			fail_msg("case %zu: ret %d, error \"%s\", want \"%s\"", i, ret, err,
				 c[i].msg);
		assert_null(rs.rules);
		assert_int_equal(rs.n_rules, 0);
	}
}

/* Appends a big rule to test chunking: n sources. */
static char *big_json(int n)
{
	size_t cap = 256 + (size_t)n * 24;
	char *s = malloc(cap), *p = s;

	assert_non_null(s);
	p += sprintf(p, "[{\"action\":\"accept\",\"src\":[");
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s\"10.%d.%d.0/24\"", i ? "," : "", i / 256, i % 256);
	sprintf(p, "],\"dst\":[{\"prefix\":\"10.0.0.1/32\",\"first_port\":22,\"last_port\":22},"
		   "{\"prefix\":\"fd00::/8\"}],\"protos\":[6,17,132]},"
		   "{\"action\":\"deny\",\"src\":[\"::/0\"],\"dst\":[{\"prefix\":\"::/0\"}],"
		   "\"protos\":\"*\"}]");
	return s;
}

static void roundtrip(const char *json, size_t want_nests)
{
	struct fl_ruleset rs, back = { 0 };
	struct nl_msg *msg;
	struct nlattr *a;
	char err[256], *j1, *j2;
	size_t nests = 0;
	int rem;

	assert_int_equal(fl_from_json(json, &rs, err, sizeof(err)), 0);
	msg = nlmsg_alloc_size(fl_rules_size(&rs) + 256);
	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 1, 1, 0x20, 0, 0, MESHWG_CMD_GET_FILTER, 1));
	assert_int_equal(nla_put_u8(msg, MESHWG_FILTER_A_INSTALLED, 1), 0);
	assert_int_equal(nla_put_u64(msg, MESHWG_FILTER_A_VERSION, rs.version), 0);
	assert_int_equal(fl_put_rules(msg, &rs), 0);
	/* The size estimate is an upper bound. */
	assert_true(nlmsg_hdr(msg)->nlmsg_len <= fl_rules_size(&rs) + 256);
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(msg)), 0),
			  genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), rem)
		nests += nla_type(a) == MESHWG_FILTER_A_RULE;
	assert_int_equal(nests, want_nests);
	assert_int_equal(fl_parse_msg(&back, nlmsg_hdr(msg)), 0);
	j1 = fl_to_json(&rs, "mw0");
	j2 = fl_to_json(&back, "mw0");
	assert_non_null(j1);
	assert_non_null(j2);
	assert_string_equal(j1, j2);
	/* And show's output is accepted by set, to the same ruleset. */
	fl_free(&back);
	assert_int_equal(fl_from_json(j2, &back, err, sizeof(err)), 0);
	assert_true(back.version == rs.version);
	free(j2);
	j2 = fl_to_json(&back, "mw0");
	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	fl_free(&back);
	fl_free(&rs);
	nlmsg_free(msg);
}

static void test_roundtrip(void **state)
{
	char *big;

	(void)state;
	roundtrip(policy_output, 2);
	/* 600 sources + 2 destinations: 3 nests (256 + 256 + 90), then 1. */
	big = big_json(600);
	roundtrip(big, 4);
	free(big);
	big = big_json(254);	/* 254 + 2: exactly one full nest */
	roundtrip(big, 2);
	free(big);
}

static void test_bad_messages(void **state)
{
	struct fl_ruleset rs = { 0 };
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest;

	(void)state;
	assert_non_null(genlmsg_put(msg, 1, 1, 0x20, 0, 0, MESHWG_CMD_GET_FILTER, 1));
	/* A continuation with no rule before it. */
	nest = nla_nest_start(msg, MESHWG_FILTER_A_RULE);
	nla_put_u32(msg, MESHWG_RULE_A_FLAGS, MESHWG_RULE_F_CONTINUE);
	nla_nest_end(msg, nest);
	assert_int_equal(fl_parse_msg(&rs, nlmsg_hdr(msg)), -EBADMSG);
	fl_free(&rs);
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	assert_non_null(genlmsg_put(msg, 1, 1, 0x20, 0, 0, MESHWG_CMD_GET_FILTER, 1));
	nest = nla_nest_start(msg, MESHWG_FILTER_A_RULE);
	nla_put_u8(msg, MESHWG_RULE_A_ACTION, 1);
	nla_put(msg, MESHWG_RULE_A_SRC, 3, "abc");	/* wrong size */
	nla_nest_end(msg, nest);
	assert_int_equal(fl_parse_msg(&rs, nlmsg_hdr(msg)), -EBADMSG);
	fl_free(&rs);
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	assert_non_null(genlmsg_put(msg, 1, 1, 0x20, 0, 0, MESHWG_CMD_GET_FILTER, 1));
	nla_put_u32(msg, MESHWG_FILTER_A_DROPS, 5);	/* u64 expected */
	assert_int_equal(fl_parse_msg(&rs, nlmsg_hdr(msg)), -EBADMSG);
	fl_free(&rs);
	nlmsg_free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_policy_output),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
