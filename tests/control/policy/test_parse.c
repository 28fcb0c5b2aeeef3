// SPDX-License-Identifier: MIT
/* Policy parsing: a complete valid policy, and every refusal with the
 * exact position of the offending token. */
#include "helpers.h"

#include <fcntl.h>
#include <unistd.h>

/* Expects a refusal at the first occurrence of `tok` in text. */
#define fails_at_tok(text, tok, what) fails_at_tok_(text, tok, what, __LINE__)
static void fails_at_tok_(const char *text, const char *tok, const char *what,
			  int at)
{
	const char *t = strstr(text, tok);
	int line = 1, col = 1;

	if (!t)
		fail_msg("line %d: token %s not in text", at, tok);
	for (const char *q = text; q < t; q++, col++)
		if (*q == '\n') {
			line++;
			col = 0;
		}
	parse_fails_at(text, line, col, what, at);
}

static const char *full =
	"// a complete policy\n"
	"{\n"
	"  \"groups\": {\n"
	"    \"group:eng\": [\"alice@\", \"bob@\"],\n"
	"    \"group:ops\": [\"carol@example.com\",],\n"
	"  },\n"
	"  \"hosts\": { \"db\": \"10.0.0.5\", \"lan\": \"192.168.1.0/24\",\n"
	"             \"v6\": \"fd00::/64\" },\n"
	"  \"tagOwners\": {\n"
	"    \"tag:server\": [\"group:eng\"],\n"
	"    \"tag:web\": [\"tag:server\", \"alice@\"],\n"
	"    \"tag:exit\": [],\n"
	"  },\n"
	"  /* rules */\n"
	"  \"acls\": [\n"
	"    {\"action\": \"deny\", \"src\": [\"bob@\"], \"dst\": [\"db:5432\"]},\n"
	"    {\"action\": \"accept\", \"src\": [\"group:eng\", \"10.1.0.0/16\"],\n"
	"     \"dst\": [\"tag:server:22,80-90\", \"db:*\", \"lan:443\",\n"
	"             \"autogroup:self:*\", \"autogroup:internet:*\",\n"
	"             \"fd00::1:8080\", \"v6:22\"]},\n"
	"    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"],\n"
	"     \"proto\": [\"icmp\", 47, \"17\"]},\n"
	"    {\"action\": \"accept\", \"src\": [\"autogroup:member\"],\n"
	"     \"dst\": [\"autogroup:tagged:22\"], \"proto\": \"tcp\"},\n"
	"  ],\n"
	"  \"autoApprovers\": {\n"
	"    \"routes\": {\"10.0.0.0/8\": [\"group:eng\", \"tag:server\"]},\n"
	"    \"exitNode\": [\"tag:exit\"],\n"
	"  },\n"
	"  \"tests\": [\n"
	"    {\"src\": \"alice@\", \"accept\": [\"tag:server:22\", \"db:5432\"],\n"
	"     \"deny\": [\"tag:server:23\"], \"proto\": \"tcp\"},\n"
	"    {\"src\": \"bob@\", \"deny\": [\"db:5432\"], \"proto\": \"udp\"},\n"
	"  ],\n"
	"}\n";

/* alice's and bob's nodes and a tag:server node: a test's user src
 * stands for the user's nodes. */
static int check_with_nodes(const struct policy *p, struct policy_error *e)
{
	struct tnode t[3];
	struct policy_node n[3];

	mknode(&t[0], 1, "alice", NULL, 1);
	mknode(&t[1], 2, "bob", NULL, 1);
	mknode(&t[2], 3, "bob", "tag:server", 1);
	for (int i = 0; i < 3; i++)
		n[i] = t[i].n;
	return policy_check(p, n, 3, e);
}

static void test_full_policy(void **state)
{
	struct policy *p = parse_ok(full);
	struct policy_error e;
	(void)state;

	assert_true(policy_tag_defined(p, "tag:web"));
	assert_false(policy_tag_defined(p, "tag:nope"));
	if (check_with_nodes(p, &e) < 0)
		fail_msg("%d:%d: %s", e.line, e.col, e.msg);
	/* without nodes, alice@ stands for nothing: the test fails */
	assert_int_equal(policy_check(p, NULL, 0, &e), -1);
	assert_non_null(strstr(e.msg, "src alice@ resolves to no node"));
	policy_free(p);
}

static void test_top_level(void **state)
{
	(void)state;
	parse_fails("[]", 1, 1, "the policy must be an object, not an array");
	parse_fails("{\n  \"acl\": []}", 2, 3, "unknown key \"acl\" in the policy");
	parse_fails("{\"acls\": {}}", 1, 10, "acls must be an array");
	parse_fails("{\"groups\": []}", 1, 12, "groups must be an object");
	parse_fails("{\"acls\": [1]}", 1, 11, "an acl must be an object");
	parse_fails("{\"acls\": [],\n\"acls\": []}", 2, 1, "duplicate key");
	parse_fails("{\"acls\": [}", 1, 11, "unexpected character '}'");
}

static void test_groups_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"groups\": {\"eng\": [\"a@\"]}}", "\"eng\"",
		     "bad group name \"eng\"");
	fails_at_tok("{\"groups\": {\"group:\": []}}", "\"group:\"",
		     "bad group name");
	fails_at_tok("{\"groups\": {\"group:a\": \"alice@\"}}", "\"alice@\"",
		     "a group must be an array");
	fails_at_tok("{\"groups\": {\"group:a\": [\"alice@\", 3]}}", "3",
		     "a group member must be a string");
	fails_at_tok("{\"groups\": {\"group:a\": [\"alice@\", \"group:b\"],\n"
		     "\"group:b\": []}}", "\"group:b\"",
		     "groups cannot contain groups");
	fails_at_tok("{\"groups\": {\"group:a\": [\"alice\"]}}", "\"alice\"",
		     "group members must be users written name@");
	fails_at_tok("{\"groups\": {\"group:a\": [\"tag:x\"]}}", "\"tag:x\"",
		     "group members must be users");
	fails_at_tok("{\"groups\": {\"group:a\": [\"@\"]}}", "\"@\"",
		     "bad user \"@\"");
}

static void test_hosts_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"hosts\": {\"db\": \"10.0.0.300\"}}", "\"10.0.0.300\"",
		     "bad IP address or CIDR \"10.0.0.300\"");
	fails_at_tok("{\"hosts\": {\"db\": \"10.0.0.1/24\"}}", "\"10.0.0.1/24\"",
		     "bad IP address or CIDR");
	fails_at_tok("{\"hosts\": {\"db\": \"10.0.0.0/33\"}}", "\"10.0.0.0/33\"",
		     "bad IP address or CIDR");
	fails_at_tok("{\"hosts\": {\"a:b\": \"10.0.0.1\"}}", "\"a:b\"",
		     "bad host name \"a:b\"");
	fails_at_tok("{\"hosts\": {\"10.0.0.1\": \"10.0.0.1\"}}", "\"10.0.0.1\"",
		     "bad host name");
	fails_at_tok("{\"hosts\": {\"db\": 5}}", "5", "a host must be a string");
}

static void test_tag_owner_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"tagOwners\": {\"server\": []}}", "\"server\"",
		     "bad tag name \"server\"");
	fails_at_tok("{\"tagOwners\": {\"tag:a\": [\"tag:b\"]}}", "\"tag:b\"",
		     "tag \"tag:b\" has no entry in tagOwners");
	fails_at_tok("{\"tagOwners\": {\"tag:a\": [\"group:x\"]}}", "\"group:x\"",
		     "unknown group \"group:x\"");
	fails_at_tok("{\"tagOwners\": {\"tag:a\": [\"10.0.0.1\"]}}",
		     "\"10.0.0.1\"",
		     "\"10.0.0.1\" is not a user, group or tag in tagOwners");
	fails_at_tok("{\"tagOwners\": {\"tag:a\": [\"*\"]}}", "\"*\"",
		     "is not a user, group or tag");
}

#define ACL(src, dst) "{\"acls\": [\n {\"action\": \"accept\", \"src\": [" src \
	"], \"dst\": [" dst "]}]}"

static void test_acl_alias_errors(void **state)
{
	(void)state;
	fails_at_tok(ACL("\"group:nope\"", "\"*:*\""), "\"group:nope\"",
		     "unknown group \"group:nope\"");
	fails_at_tok(ACL("\"*\"", "\"tag:nope:22\""), "\"tag:nope:22\"",
		     "tag \"tag:nope\" has no entry in tagOwners");
	fails_at_tok(ACL("\"db\"", "\"*:*\""), "\"db\"",
		     "unknown host \"db\" (users are written name@)");
	fails_at_tok(ACL("\"*\"", "\"db:22\""), "\"db:22\"",
		     "unknown host \"db\"");
	fails_at_tok(ACL("\"10.0.0.1/8\"", "\"*:*\""), "\"10.0.0.1/8\"",
		     "bad IP address or CIDR \"10.0.0.1/8\"");
	fails_at_tok(ACL("\"*\"", "\"300.0.0.1:22\""), "\"300.0.0.1:22\"",
		     "bad IP address or CIDR");
	fails_at_tok(ACL("\"autogroup:self\"", "\"*:*\""),
		     "\"autogroup:self\"",
		     "\"autogroup:self\" is not allowed in src");
	/* autogroup:self only for users' sources, as Tailscale has it */
	fails_at_tok(ACL("\"*\"", "\"autogroup:self:*\""), "\"*\"",
		     "\"*\" with autogroup:self in dst: autogroup:self needs users");
	fails_at_tok(ACL("\"alice@\", \"autogroup:tagged\"", "\"autogroup:self:22\""),
		     "\"autogroup:tagged\"", "with autogroup:self in dst");
	fails_at_tok("{\"tagOwners\": {\"tag:s\": []}, \"acls\": [\n {\"action\": \"accept\", "
		     "\"src\": [\"tag:s\"], \"dst\": [\"autogroup:self:*\"]}]}",
		     "\"tag:s\"]", "\"tag:s\" with autogroup:self in dst");
	fails_at_tok(ACL("\"autogroup:internet\"", "\"*:*\""),
		     "\"autogroup:internet\"", "is not allowed in src");
	fails_at_tok(ACL("\"autogroup:admin\"", "\"*:*\""),
		     "\"autogroup:admin\"", "unknown autogroup");
	fails_at_tok(ACL("\"*\"", "\"alice@\""), "\"alice@\"",
		     "has no port (write alias:ports)");
	fails_at_tok(ACL("\"*\"", "\":22\""), "\":22\"", "empty alias in dst");
	fails_at_tok(ACL("\"*\", 7", "\"*:*\""), "7", "an alias must be a string");
}

static void test_port_errors(void **state)
{
	static const char *const bad[] = { "\"*:\"", "\"*:x\"", "\"*:65536\"",
					   "\"*:90-80\"", "\"*:22,\"",
					   "\"*:,22\"", "\"*:22,,23\"",
					   "\"*:-5\"", "\"*:1-2-3\"",
					   "\"*:+22\"", "\"*:**\"" };
	char buf[256];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), ACL("\"*\"", "%s"), bad[i]);
		fails_at_tok(buf, bad[i], "bad ports");
	}
}

static void test_rule_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"acls\": [{\"action\": \"allow\", \"src\": [\"*\"], "
		     "\"dst\": [\"*:*\"]}]}", "\"allow\"",
		     "action must be \"accept\" or \"deny\"");
	fails_at_tok("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
		     "\"dst\": [\"*:*\"], \"ports\": 1}]}", "\"ports\"",
		     "unknown key \"ports\" in an acl");
	fails_at_tok("{\"acls\": [{\"action\": \"accept\", \"dst\": [\"*:*\"]}]}",
		     "{\"action\"", "needs \"action\", \"src\" and \"dst\"");
	fails_at_tok("{\"acls\": [{\"action\": \"accept\", \"src\": [], "
		     "\"dst\": [\"*:*\"]}]}", "[]", "src must not be empty");
	fails_at_tok("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
		     "\"dst\": []}]}", "[]", "dst must not be empty");
	fails_at_tok("{\"acls\": [{\"action\": \"accept\", \"src\": \"*\", "
		     "\"dst\": [\"*:*\"]}]}", "\"*\"", "src must be an array");
	fails_at_tok("{\"acls\": [{\"action\": 1, \"src\": [\"*\"], "
		     "\"dst\": [\"*:*\"]}]}", "1", "action must be a string");
}

#define PROTO(pr, dst) "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], " \
	"\"dst\": [" dst "], \"proto\": " pr "}]}"

static void test_proto_errors(void **state)
{
	(void)state;
	fails_at_tok(PROTO("\"tcpp\"", "\"*:*\""), "\"tcpp\"",
		     "unknown protocol \"tcpp\"");
	fails_at_tok(PROTO("256", "\"*:*\""), "256", "bad protocol number");
	fails_at_tok(PROTO("-1", "\"*:*\""), "-1", "bad protocol number");
	fails_at_tok(PROTO("6.5", "\"*:*\""), "6.5", "bad protocol number");
	fails_at_tok(PROTO("\"300\"", "\"*:*\""), "\"300\"", "unknown protocol");
	fails_at_tok(PROTO("[]", "\"*:*\""), "[]", "proto list must not be empty");
	fails_at_tok(PROTO("{}", "\"*:*\""), "{}", "proto must be a name");
	fails_at_tok(PROTO("\"icmp\"", "\"*:22\""), "\"*:22\"",
		     "ports need proto tcp, udp or sctp");
	fails_at_tok(PROTO("[\"tcp\", 47]", "\"*:*\", \"*:80\""), "\"*:80\"",
		     "protocol 47 has no ports");
	/* fine: ports with tcp/udp/sctp, any port with icmp */
	policy_free(parse_ok(PROTO("[\"tcp\", \"udp\", \"sctp\"]", "\"*:22\"")));
	policy_free(parse_ok(PROTO("\"icmp\"", "\"*:*\"")));
}

static void test_auto_approver_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"autoApprovers\": {\"routes\": {\"10.0.0.0/33\": []}}}",
		     "\"10.0.0.0/33\"", "bad CIDR \"10.0.0.0/33\"");
	fails_at_tok("{\"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": "
		     "[\"tag:r\"]}}}", "\"tag:r\"", "has no entry in tagOwners");
	fails_at_tok("{\"autoApprovers\": {\"exitNode\": [\"*\"]}}", "\"*\"",
		     "is not a user, group or tag in autoApprovers.exitNode");
	fails_at_tok("{\"autoApprovers\": {\"exit\": []}}", "\"exit\"",
		     "unknown key \"exit\" in autoApprovers");
	fails_at_tok("{\"autoApprovers\": {\"routes\": []}}", "[]",
		     "autoApprovers.routes must be an object");
}

static void test_tests_errors(void **state)
{
	(void)state;
	fails_at_tok("{\"tests\": [{\"accept\": []}]}", "{\"accept\"",
		     "a test needs \"src\"");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"allow\": []}]}",
		     "\"allow\"", "unknown key \"allow\" in a test");
	fails_at_tok("{\"tests\": [{\"src\": \"*\"}]}", "\"*\"",
		     "is not a user, group, tag, autogroup:member, autogroup:tagged, host or IP address in a test's src");
	fails_at_tok("{\"tests\": [{\"src\": \"autogroup:self\"}]}",
		     "\"autogroup:self\"", "is not a user, group, tag");
	fails_at_tok("{\"tests\": [{\"src\": \"autogroup:internet\"}]}",
		     "\"autogroup:internet\"", "is not a user, group, tag");
	fails_at_tok("{\"tests\": [{\"src\": \"10.0.0.0/8\"}]}", "\"10.0.0.0/8\"",
		     "a test src must be a single address");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"accept\": [\"b@:*\"]}]}",
		     "\"b@:*\"", "needs one port");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"deny\": [\"b@:1-2\"]}]}",
		     "\"b@:1-2\"", "needs one port");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"deny\": [\"b@\"]}]}",
		     "\"b@\"", "needs one port");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"deny\": [\"group:x:1\"]}]}",
		     "\"group:x:1\"", "unknown group");
	fails_at_tok("{\"groups\": {\"group:x\": []}, \"tests\": [{\"src\": "
		     "\"a@\", \"deny\": [\"group:x:1\"]}]}", "\"group:x:1\"",
		     "is not a user, tag, host or IP address in a test");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"proto\": [\"tcp\"]}]}",
		     "[\"tcp\"]", "a test's proto must be one protocol");
	fails_at_tok("{\"tests\": [{\"src\": \"a@\", \"deny\": [\"1.2.3.0/24:1\"]}]}",
		     "\"1.2.3.0/24:1\"", "must be a single address");
}

static void test_nul_and_size(void **state)
{
	struct policy_error e;
	(void)state;

	assert_null(policy_parse("{}\n\0", 4, "t.hujson", &e));
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 1);
	assert_non_null(strstr(e.msg, "NUL byte"));
	assert_null(policy_parse("{}", (16u << 20) + 1, "t.hujson", &e));
	assert_non_null(strstr(e.msg, "larger than"));
	policy_free(parse_ok("\xef\xbb\xbf{}"));
	policy_free(parse_ok("  // only a comment\n{} /* and another */ "));
}

static void test_load(void **state)
{
	char path[] = "/tmp/policy-test-XXXXXX";
	struct policy_error e;
	struct policy *p;
	char buf[512];
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\n \"acls\": [\n  {\"action\": \"x\"}]}", 32),
			 32);
	close(fd);
	assert_null(policy_load(path, &e));
	assert_string_equal(e.file, path);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.col, 3);
	policy_error_format(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, ":3:3: an acl needs"));
	assert_int_equal(strncmp(buf, path, strlen(path)), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"acls\": []}", 12), 12);
	close(fd);
	p = policy_load(path, &e);
	assert_non_null(p);
	policy_free(p);
	unlink(path);
	assert_null(policy_load(path, &e));
	assert_int_equal(e.line, 0);
	assert_non_null(strstr(e.msg, "cannot open"));
	policy_error_format(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, ": cannot open: No such file"));
	assert_null(policy_load("/tmp", &e));
	assert_non_null(strstr(e.msg, "not a regular file"));
}

static void test_prefix_parse(void **state)
{
	struct policy_prefix p;
	char buf[64];
	(void)state;

	assert_int_equal(policy_prefix_parse("10.1.2.3", &p), 0);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.bits, 32);
	assert_string_equal(policy_prefix_format(&p, buf, sizeof(buf)),
			    "10.1.2.3/32");
	assert_int_equal(policy_prefix_parse("fd7a:115c:a1e0::/48", &p), 0);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.bits, 48);
	assert_string_equal(policy_prefix_format(&p, buf, sizeof(buf)),
			    "fd7a:115c:a1e0::/48");
	assert_int_equal(policy_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(policy_prefix_parse("::/0", &p), 0);
	assert_int_equal(policy_prefix_parse("10.0.0.0/08", &p), -1);
	assert_int_equal(policy_prefix_parse("10.0.0.0/", &p), -1);
	assert_int_equal(policy_prefix_parse("10.0.0.0/-1", &p), -1);
	assert_int_equal(policy_prefix_parse("fd7a::1/64", &p), -1);
	assert_int_equal(policy_prefix_parse("fd7a::/129", &p), -1);
	assert_int_equal(policy_prefix_parse("host", &p), -1);
	assert_int_equal(policy_prefix_parse("", &p), -1);
	assert_int_equal(policy_prefix_parse("/8", &p), -1);
}

static void test_check_users(void **state)
{
	const char *users[] = { "alice", "bob", "carol@example.com" };
	struct policy *p = parse_ok(full);
	struct policy_error e;
	(void)state;

	assert_int_equal(policy_check_users(p, users, 3, &e), 0);
	assert_int_equal(policy_check_users(p, users, 2, &e), -1);
	assert_int_equal(e.line, 5);
	assert_int_equal(e.col, 19);
	assert_non_null(strstr(e.msg, "unknown user \"carol@example.com\""));
	policy_free(p);
}

/* The example in docs/policy.md parses and its tests pass. */
static void test_doc_example(void **state)
{
	FILE *f = fopen("../../../docs/policy.md", "r");
	char *doc, *start, *end;
	struct policy_error e;
	struct policy *p;
	long len;
	(void)state;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	doc = calloc(1, (size_t)len + 1);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	start = strstr(doc, "```hujson\n");
	assert_non_null(start);
	start += 10;
	end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	p = parse_ok(start);
	if (check_with_nodes(p, &e) < 0)
		fail_msg("%d:%d: %s", e.line, e.col, e.msg);
	assert_true(policy_tag_defined(p, "tag:exit"));
	policy_free(p);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_policy),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_groups_errors),
		cmocka_unit_test(test_hosts_errors),
		cmocka_unit_test(test_tag_owner_errors),
		cmocka_unit_test(test_acl_alias_errors),
		cmocka_unit_test(test_port_errors),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_proto_errors),
		cmocka_unit_test(test_auto_approver_errors),
		cmocka_unit_test(test_tests_errors),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_check_users),
		cmocka_unit_test(test_doc_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
