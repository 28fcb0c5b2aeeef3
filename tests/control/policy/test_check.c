// SPDX-License-Identifier: MIT
/* The policy's "tests" section (policy_check). */
#include "helpers.h"

#define BASE "{\n" \
	"\"groups\": {\"group:eng\": [\"alice@\", \"bob@\"], \"group:ops\": [\"dave@\"]},\n" \
	"\"hosts\": {\"db\": \"10.0.0.5\", \"web\": \"100.64.0.4\"},\n" \
	"\"tagOwners\": {\"tag:server\": [\"group:eng\"]},\n" \
	"\"acls\": [\n" \
	"{\"action\": \"deny\", \"src\": [\"bob@\"], \"dst\": [\"db:5432\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"group:eng\"], \"dst\": [\"tag:server:22\", \"db:*\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self:*\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"carol@\"], \"dst\": [\"100.64.0.0/24:80\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], \"proto\": \"icmp\"},\n" \
	"{\"action\": \"accept\", \"src\": [\"tag:server\"], \"dst\": [\"autogroup:internet:443\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"carol@\"], \"dst\": [\"tag:server:8443\"], \"proto\": \"tcp\"},\n" \
	"],\n"

/* alice, bob, carol, and bob's tag:server node at 100.64.0.4; the
 * tests use the first n of them. */
static struct tnode nodes[4];

static void setup_nodes(void)
{
	mknode(&nodes[0], 1, "alice", NULL, 0);
	mknode(&nodes[1], 2, "bob", NULL, 0);
	mknode(&nodes[2], 3, "carol", NULL, 0);
	mknode(&nodes[3], 4, "bob", "tag:server", 0);
}

static struct policy_node *plain(void)
{
	static struct policy_node n[4];

	for (int i = 0; i < 4; i++)
		n[i] = nodes[i].n;
	return n;
}

#define check_passes(tests, n_) check_passes_(tests, n_, __LINE__)
static void check_passes_(const char *tests, size_t n, int at)
{
	char buf[4096];
	struct policy_error e;
	struct policy *p;

	snprintf(buf, sizeof(buf), "%s\"tests\": [%s]}", BASE, tests);
	p = parse_ok(buf);
	if (policy_check(p, n ? plain() : NULL, n, &e) < 0)
		fail_msg("line %d: check failed: %d:%d: %s", at, e.line, e.col,
			 e.msg);
	policy_free(p);
}

#define check_fails(tests, n_, tok, what) \
	check_fails_(tests, n_, tok, what, __LINE__)
static void check_fails_(const char *tests, size_t n, const char *tok,
			 const char *what, int at)
{
	char buf[4096];
	struct policy_error e;
	struct policy *p;
	const char *t;
	int line = 1, col = 1;

	snprintf(buf, sizeof(buf), "%s\"tests\": [%s]}", BASE, tests);
	p = parse_ok(buf);
	t = strstr(buf + strlen(BASE), tok);
	assert_non_null(t);
	for (const char *q = buf; q < t; q++, col++)
		if (*q == '\n') {
			line++;
			col = 0;
		}
	if (policy_check(p, n ? plain() : NULL, n, &e) == 0)
		fail_msg("line %d: check passed, expected failure", at);
	if (e.line != line || e.col != col || !strstr(e.msg, what) ||
	    strcmp(e.file, "t.hujson"))
		fail_msg("line %d: got %s:%d:%d %s; expected %d:%d %s", at,
			 e.file, e.line, e.col, e.msg, line, col, what);
	policy_free(p);
}

static void test_passing(void **state)
{
	(void)state;
	setup_nodes();
	check_passes("{\"src\": \"alice@\", \"accept\": [\"tag:server:22\", "
		     "\"db:5432\"]}, {\"src\": \"alice@\", \"proto\": \"tcp\", "
		     "\"deny\": [\"tag:server:23\"]}", 4);
	/* deny comes first for bob */
	check_passes("{\"src\": \"bob@\", \"deny\": [\"db:5432\"], "
		     "\"accept\": [\"db:80\"]}", 4);
	/* autogroup:self: own user only */
	check_passes("{\"src\": \"alice@\", \"accept\": [\"alice@:8080\"]}, "
		     "{\"src\": \"alice@\", \"proto\": \"tcp\", "
		     "\"deny\": [\"bob@:8080\"]}", 4);
	/* a tagged source is not its user */
	check_passes("{\"src\": \"tag:server\", \"proto\": \"udp\", "
		     "\"deny\": [\"alice@:22\", \"bob@:22\"]}", 4);
	/* proto: icmp is ICMP and ICMPv6, both accepted here */
	check_passes("{\"src\": \"tag:server\", \"proto\": \"icmp\", "
		     "\"accept\": [\"alice@:0\"]}", 4);
	check_passes("{\"src\": \"tag:server\", \"proto\": 58, "
		     "\"accept\": [\"alice@:0\"]}", 4);
	check_passes("{\"src\": \"tag:server\", \"proto\": \"udp\", "
		     "\"deny\": [\"alice@:0\"]}", 4);
	/* hosts and IPs resolve to their addresses */
	check_passes("{\"src\": \"carol@\", \"accept\": [\"web:80\", "
		     "\"100.64.0.9:80\"]}, {\"src\": \"carol@\", \"proto\": "
		     "\"tcp\", \"deny\": [\"web:81\", \"100.64.1.9:80\"]}", 4);
	/* internet */
	check_passes("{\"src\": \"tag:server\", \"accept\": [\"8.8.8.8:443\"]}, "
		     "{\"src\": \"tag:server\", \"proto\": \"tcp\", "
		     "\"deny\": [\"10.0.0.1:443\", \"8.8.8.8:80\"]}", 4);
	/* no test is fine, with or without nodes */
	check_passes("", 4);
	check_passes("", 0);
	/* an IP src needs no node */
	check_passes("{\"src\": \"10.9.9.9\", \"proto\": \"tcp\", "
		     "\"deny\": [\"db:80\"]}", 0);
}

/* A group or autogroup src stands for each of its nodes: all must get the
 * expected outcome. */
static void test_group_sources(void **state)
{
	(void)state;
	setup_nodes();
	check_passes("{\"src\": \"group:eng\", \"accept\": [\"db:80\", "
		     "\"tag:server:22\"]}", 4);
	check_fails("{\"src\": \"group:eng\", \"accept\": [\"db:5432\"]}", 4,
		    "\"db:5432\"",
		    "test failed: group:eng (node 100.64.0.2) -> db:5432 tcp is denied by the acl at 6:1 (expected accept)");
	check_fails("{\"src\": \"group:eng\", \"deny\": [\"db:5432\"]}", 4,
		    "\"db:5432\"",
		    "test failed: group:eng (node 100.64.0.1) -> db:5432 tcp is accepted by the acl at 7:1 (expected deny)");
	check_passes("{\"src\": \"autogroup:member\", \"proto\": \"icmp\", "
		     "\"accept\": [\"tag:server:0\"]}", 4);
	check_fails("{\"src\": \"autogroup:member\", \"accept\": [\"db:22\"]}", 4,
		    "\"db:22\"",
		    "autogroup:member (node 100.64.0.3) -> db:22 tcp matches no acl");
	/* the tagged node only: it is no member of group:eng */
	check_passes("{\"src\": \"autogroup:tagged\", \"accept\": [\"8.8.8.8:443\"]}, "
		     "{\"src\": \"autogroup:tagged\", \"proto\": \"tcp\", "
		     "\"deny\": [\"db:80\"]}", 4);
}

/* A src that stands for no node fails the test, as in Tailscale. */
static void test_src_without_nodes(void **state)
{
	(void)state;
	setup_nodes();
	check_fails("{\"src\": \"dave@\", \"proto\": \"tcp\", \"deny\": [\"db:1\"]}",
		    4, "\"dave@\"",
		    "test failed: src dave@ resolves to no node (unknown user, or a user without nodes)");
	check_fails("{\"src\": \"group:ops\", \"deny\": [\"db:1\"]}", 4,
		    "\"group:ops\"", "test failed: src group:ops resolves to no node");
	check_fails("{\"src\": \"autogroup:tagged\", \"deny\": [\"db:1\"]}", 3,
		    "\"autogroup:tagged\"", "src autogroup:tagged resolves to no node");
	check_fails("{\"src\": \"tag:server\", \"deny\": [\"db:1\"]}", 3,
		    "\"tag:server\"", "src tag:server resolves to no node");
	/* no nodes at all */
	check_fails("{\"src\": \"bob@\", \"deny\": [\"db:5432\"]}", 0,
		    "\"bob@\"", "src bob@ resolves to no node");
}

/* A test without proto checks TCP, UDP, ICMP and ICMPv6, each. */
static void test_default_protocols(void **state)
{
	(void)state;
	setup_nodes();
	check_passes("{\"src\": \"carol@\", \"proto\": \"tcp\", "
		     "\"accept\": [\"tag:server:8443\"]}", 4);
	check_fails("{\"src\": \"carol@\", \"accept\": [\"tag:server:8443\"]}", 4,
		    "\"tag:server:8443\"",
		    "carol@ (node 100.64.0.3) -> tag:server:8443 udp matches no acl, so it is denied (expected accept)");
	check_passes("{\"src\": \"carol@\", \"proto\": \"udp\", "
		     "\"deny\": [\"tag:server:8443\"]}", 4);
	check_fails("{\"src\": \"carol@\", \"deny\": [\"tag:server:8443\"]}", 4,
		    "\"tag:server:8443\"",
		    "carol@ (node 100.64.0.3) -> tag:server:8443 tcp is accepted by the acl at 12:1 (expected deny)");
	/* ICMP is allowed to everyone: a deny without proto fails on it */
	check_fails("{\"src\": \"alice@\", \"deny\": [\"tag:server:23\"]}", 4,
		    "\"tag:server:23\"",
		    "alice@ (node 100.64.0.1) -> tag:server:23 icmp is accepted by the acl at 10:1 (expected deny)");
}

static void test_node_set_used(void **state)
{
	(void)state;
	setup_nodes();
	/* carol -> 100.64.0.0/24:80 reaches tag:server only once a node
	 * carrying it (100.64.0.4) exists */
	check_passes("{\"src\": \"carol@\", \"accept\": [\"tag:server:80\"]}", 4);
	check_fails("{\"src\": \"carol@\", \"accept\": [\"tag:server:80\"]}", 3,
		    "\"tag:server:80\"", "matches no acl, so it is denied");
	/* an IP source stands for the node that has it */
	check_passes("{\"src\": \"100.64.0.1\", \"accept\": [\"tag:server:22\"]}", 4);
	check_fails("{\"src\": \"100.64.0.1\", \"accept\": [\"tag:server:22\"]}", 0,
		    "\"tag:server:22\"", "matches no acl");
	/* a host destination that is a node's address, and self by IP */
	check_passes("{\"src\": \"alice@\", \"accept\": [\"web:22\", "
		     "\"100.64.0.1:9\"]}, {\"src\": \"alice@\", \"proto\": \"tcp\", "
		     "\"deny\": [\"100.64.0.2:9\"]}", 4);
}

static void test_failing(void **state)
{
	(void)state;
	setup_nodes();
	check_fails("{\"src\": \"bob@\", \"accept\": [\"db:5432\"]}", 4,
		    "\"db:5432\"",
		    "test failed: bob@ (node 100.64.0.2) -> db:5432 tcp is denied by the acl at 6:1 (expected accept)");
	check_fails("{\"src\": \"alice@\",\n \"deny\": [\"db:1\", \"db:5432\"]}", 4,
		    "\"db:1\"",
		    "test failed: alice@ (node 100.64.0.1) -> db:1 tcp is accepted by the acl at 7:1 (expected deny)");
	check_fails("{\"src\": \"carol@\", \"accept\": [\"web:80\", \"bob@:22\"]}", 4,
		    "\"bob@:22\"",
		    "test failed: carol@ (node 100.64.0.3) -> bob@:22 tcp matches no acl, so it is denied (expected accept)");
	/* an IP src has no node to name */
	check_fails("{\"src\": \"10.9.9.9\", \"accept\": [\"db:80\"]}", 4,
		    "\"db:80\"",
		    "test failed: 10.9.9.9 -> db:80 tcp matches no acl");
	/* the first failing assertion is reported, across tests */
	check_fails("{\"src\": \"alice@\", \"accept\": [\"db:5432\"]},\n"
		    "{\"src\": \"bob@\", \"deny\": [\"db:5432\"], \"accept\": [\"alice@:1\"]}",
		    4, "\"alice@:1\"", "bob@ (node 100.64.0.2) -> alice@:1 tcp matches no acl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passing),
		cmocka_unit_test(test_group_sources),
		cmocka_unit_test(test_src_without_nodes),
		cmocka_unit_test(test_default_protocols),
		cmocka_unit_test(test_node_set_used),
		cmocka_unit_test(test_failing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
