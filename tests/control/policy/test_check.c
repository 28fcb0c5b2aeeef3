// SPDX-License-Identifier: MIT
/* The policy's "tests" section (policy_check). */
#include "helpers.h"

#define BASE "{\n" \
	"\"groups\": {\"group:eng\": [\"alice@\", \"bob@\"]},\n" \
	"\"hosts\": {\"db\": \"10.0.0.5\", \"web\": \"100.64.0.4\"},\n" \
	"\"tagOwners\": {\"tag:server\": [\"group:eng\"]},\n" \
	"\"acls\": [\n" \
	"{\"action\": \"deny\", \"src\": [\"bob@\"], \"dst\": [\"db:5432\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"group:eng\"], \"dst\": [\"tag:server:22\", \"db:*\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self:*\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"carol@\"], \"dst\": [\"100.64.0.0/24:80\"]},\n" \
	"{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], \"proto\": \"icmp\"},\n" \
	"{\"action\": \"accept\", \"src\": [\"tag:server\"], \"dst\": [\"autogroup:internet:443\"]},\n" \
	"],\n"

static struct tnode nodes[3];

static void setup_nodes(void)
{
	mknode(&nodes[0], 1, "alice", NULL, 0);
	mknode(&nodes[1], 2, "bob", NULL, 0);
	mknode(&nodes[2], 4, "bob", "tag:server", 0);
}

static struct policy_node *plain(void)
{
	static struct policy_node n[3];

	for (int i = 0; i < 3; i++)
		n[i] = nodes[i].n;
	return n;
}

static void check_passes(const char *tests, int with_nodes)
{
	char buf[4096];
	struct policy_error e;
	struct policy *p;

	snprintf(buf, sizeof(buf), "%s\"tests\": [%s]}", BASE, tests);
	p = parse_ok(buf);
	if (policy_check(p, with_nodes ? plain() : NULL, with_nodes ? 3 : 0,
			 &e) < 0)
		fail_msg("check failed: %d:%d: %s", e.line, e.col, e.msg);
	policy_free(p);
}

#define check_fails(tests, nodes_, tok, what) \
	check_fails_(tests, nodes_, tok, what, __LINE__)
static void check_fails_(const char *tests, int with_nodes, const char *tok,
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
	if (policy_check(p, with_nodes ? plain() : NULL, with_nodes ? 3 : 0,
			 &e) == 0)
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
	for (int wn = 0; wn < 2; wn++) {
		check_passes("{\"src\": \"alice@\", \"accept\": [\"tag:server:22\", "
			     "\"db:5432\"], \"deny\": [\"tag:server:23\"]}", wn);
		/* deny comes first for bob */
		check_passes("{\"src\": \"bob@\", \"deny\": [\"db:5432\"], "
			     "\"accept\": [\"db:80\"]}", wn);
		/* autogroup:self: own user only */
		check_passes("{\"src\": \"alice@\", \"accept\": [\"alice@:8080\"], "
			     "\"deny\": [\"bob@:8080\"]}", wn);
		/* a tagged source is not its user */
		check_passes("{\"src\": \"tag:server\", \"deny\": [\"alice@:22\", "
			     "\"bob@:22\"]}", wn);
		/* proto */
		check_passes("{\"src\": \"tag:server\", \"proto\": \"icmp\", "
			     "\"accept\": [\"alice@:0\"]}", wn);
		check_passes("{\"src\": \"tag:server\", \"proto\": 58, "
			     "\"accept\": [\"alice@:0\"]}", wn);
		check_passes("{\"src\": \"tag:server\", \"proto\": \"udp\", "
			     "\"deny\": [\"alice@:0\"]}", wn);
		/* hosts and IPs resolve to their addresses */
		check_passes("{\"src\": \"carol@\", \"accept\": [\"web:80\", "
			     "\"100.64.0.9:80\"], \"deny\": [\"web:81\", "
			     "\"100.64.1.9:80\"]}", wn);
		/* internet */
		check_passes("{\"src\": \"tag:server\", \"accept\": [\"8.8.8.8:443\"], "
			     "\"deny\": [\"10.0.0.1:443\", \"8.8.8.8:80\"]}", wn);
		/* no test is fine */
		check_passes("", wn);
	}
}

static void test_node_set_used(void **state)
{
	(void)state;
	setup_nodes();
	/* carol -> 100.64.0.0/24:80 reaches tag:server only once a node
	 * carrying it (100.64.0.4) exists */
	check_passes("{\"src\": \"carol@\", \"accept\": [\"tag:server:80\"]}", 1);
	check_fails("{\"src\": \"carol@\", \"accept\": [\"tag:server:80\"]}", 0,
		    "\"tag:server:80\"", "matches no acl, so it is denied");
	/* an IP source stands for the node that has it */
	check_passes("{\"src\": \"100.64.0.1\", \"accept\": [\"tag:server:22\"]}", 1);
	check_fails("{\"src\": \"100.64.0.1\", \"accept\": [\"tag:server:22\"]}", 0,
		    "\"tag:server:22\"", "matches no acl");
	/* a host destination that is a node's address, and self by IP */
	check_passes("{\"src\": \"alice@\", \"accept\": [\"web:22\", "
		     "\"100.64.0.1:9\"], \"deny\": [\"100.64.0.2:9\"]}", 1);
}

static void test_failing(void **state)
{
	(void)state;
	setup_nodes();
	check_fails("{\"src\": \"bob@\", \"accept\": [\"db:5432\"]}", 1,
		    "\"db:5432\"",
		    "test failed: bob@ -> db:5432 is denied by the acl at 6:1 (expected accept)");
	check_fails("{\"src\": \"alice@\",\n \"deny\": [\"db:1\", \"db:5432\"]}", 0,
		    "\"db:1\"",
		    "test failed: alice@ -> db:1 is accepted by the acl at 7:1 (expected deny)");
	check_fails("{\"src\": \"carol@\", \"accept\": [\"web:80\", \"bob@:22\"]}", 1,
		    "\"bob@:22\"",
		    "test failed: carol@ -> bob@:22 matches no acl, so it is denied (expected accept)");
	/* the first failing assertion is reported, across tests */
	check_fails("{\"src\": \"alice@\", \"accept\": [\"db:5432\"]},\n"
		    "{\"src\": \"bob@\", \"deny\": [\"db:5432\"], \"accept\": [\"alice@:1\"]}",
		    0, "\"alice@:1\"", "bob@ -> alice@:1 matches no acl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passing),
		cmocka_unit_test(test_node_set_used),
		cmocka_unit_test(test_failing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
