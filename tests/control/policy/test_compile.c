// SPDX-License-Identifier: MIT
/* Compilation: per-node filters and peer visibility, one semantic at a
 * time, on a fixed node set. */
#include <errno.h>

#include "helpers.h"

#define HEAD "{\"groups\": {\"group:eng\": [\"alice@\", \"bob@\"], " \
	"\"group:empty\": []},\n" \
	"\"hosts\": {\"db\": \"10.0.0.5\"},\n" \
	"\"tagOwners\": {\"tag:server\": [\"group:eng\"], " \
	"\"tag:router\": [\"bob@\"], \"tag:exit\": [\"alice@\"]},\n"

/*
 * 1 alice, 2 bob, 3 carol, 4 tag:server (user alice), 5 tag:router (user
 * bob, route 10.0.0.0/24), 6 alice, 7 tag:exit (approved exit node).
 */
static struct tnode nodes[7];

static void setup_nodes(int v6)
{
	mknode(&nodes[0], 1, "alice", NULL, v6);
	mknode(&nodes[1], 2, "bob", NULL, v6);
	mknode(&nodes[2], 3, "carol", NULL, v6);
	mknode(&nodes[3], 4, "alice", "tag:server", v6);
	mknode(&nodes[4], 5, "bob", "tag:router", v6);
	add_route(&nodes[4], "10.0.0.0/24");
	mknode(&nodes[5], 6, "alice", NULL, v6);
	mknode(&nodes[6], 7, "alice", "tag:exit", v6);
	nodes[6].n.exit_node = true;
}

struct fixture {
	struct policy *p;
	struct policy_compiled *pc;
};

static struct fixture fx;

static void load(const char *acls)
{
	size_t n = strlen(HEAD) + strlen(acls) + 2;
	char *text = malloc(n);

	assert_non_null(text);
	snprintf(text, n, "%s%s}", HEAD, acls);
	fx.p = parse_ok(text);
	free(text);
	fx.pc = compile_ok(fx.p, nodes, 7);
}

static int teardown(void **state)
{
	(void)state;
	policy_compiled_free(fx.pc);
	policy_free(fx.p);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

static int setup4(void **state)
{
	(void)state;
	setup_nodes(0);
	return 0;
}

#define ACCEPT(src, dst) "{\"action\": \"accept\", \"src\": [" src "], \"dst\": [" dst "]}"
#define DENY(src, dst) "{\"action\": \"deny\", \"src\": [" src "], \"dst\": [" dst "]}"

static void test_users_groups(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"group:eng\"", "\"carol@:22\"") "]");
	assert_filter(fx.pc, 3,
		      "accept 100.64.0.1/32,100.64.0.2/32,100.64.0.6/32 -> 100.64.0.3/32:22");
	assert_filter(fx.pc, 1, "");
	assert_filter(fx.pc, 4, "");
	assert_peers(fx.pc, 3, "1,2,6");
	assert_peers(fx.pc, 1, "3");
	assert_peers(fx.pc, 2, "3");
	assert_peers(fx.pc, 4, "");
	assert_false(policy_nodes_visible(fx.pc, 1, 2));
	assert_false(policy_nodes_visible(fx.pc, 1, 1));
}

static void test_tags(void **state)
{
	(void)state;
	/* a tagged node belongs to its tag, not to its user */
	load("\"acls\": [" ACCEPT("\"alice@\"", "\"tag:server:22,80\"") ","
	     ACCEPT("\"tag:server\"", "\"alice@:*\"") "]");
	assert_filter(fx.pc, 4,
		      "accept 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.4/32:22,100.64.0.4/32:80");
	assert_filter(fx.pc, 1, "accept 100.64.0.4/32 -> 100.64.0.1/32:*");
	assert_filter(fx.pc, 6, "accept 100.64.0.4/32 -> 100.64.0.6/32:*");
	assert_filter(fx.pc, 7, "");
	assert_peers(fx.pc, 4, "1,6");
	assert_peers(fx.pc, 1, "4");
	assert_peers(fx.pc, 7, "");
}

static void test_tag_ownership(void **state)
{
	(void)state;
	load("\"acls\": []");
	assert_true(policy_tag_owner(fx.p, "tag:server", &nodes[0].n));
	assert_true(policy_tag_owner(fx.p, "tag:server", &nodes[1].n));
	assert_false(policy_tag_owner(fx.p, "tag:server", &nodes[2].n));
	assert_true(policy_tag_owner(fx.p, "tag:router", &nodes[1].n));
	assert_false(policy_tag_owner(fx.p, "tag:router", &nodes[0].n));
	/* tagged node: its user does not count, its tags do */
	assert_false(policy_tag_owner(fx.p, "tag:server", &nodes[3].n));
	assert_false(policy_tag_owner(fx.p, "tag:nope", &nodes[0].n));
}

static void test_hosts_cidrs_routes(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"group:eng\"", "\"db:5432\"") ","
	     ACCEPT("\"carol@\"", "\"10.0.0.0/16:*\"") ","
	     ACCEPT("\"alice@\"", "\"192.168.0.0/16:*\"") ","
	     ACCEPT("\"10.0.0.0/24\"", "\"alice@:22\"") "]");
	/* the subnet router gets what hits its approved route */
	assert_filter(fx.pc, 5,
		      "accept 100.64.0.1/32,100.64.0.2/32,100.64.0.6/32 -> 10.0.0.5/32:5432 | "
		      "accept 100.64.0.3/32 -> 10.0.0.0/16:*");
	/* a CIDR source is kept as is */
	assert_filter(fx.pc, 1, "accept 10.0.0.0/24 -> 100.64.0.1/32:22");
	assert_filter(fx.pc, 2, "");
	assert_filter(fx.pc, 3, "");
	assert_peers(fx.pc, 5, "1,2,3,6");
	/* the router whose route overlaps a source CIDR is a peer */
	assert_peers(fx.pc, 1, "5");
	assert_peers(fx.pc, 3, "5");
}

static void test_ips(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"100.64.0.2\"", "\"100.64.0.3:22\"") "]");
	assert_filter(fx.pc, 3, "accept 100.64.0.2/32 -> 100.64.0.3/32:22");
	assert_peers(fx.pc, 3, "2");
	assert_peers(fx.pc, 2, "3");
	assert_peers(fx.pc, 1, "");
}

static void test_ports(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"*\"", "\"carol@:*\", \"carol@:80-90\", "
				  "\"carol@:22,80,443\", \"carol@:0,1000-2000\"")
	     "]");
	assert_filter(fx.pc, 3,
		      "accept 0.0.0.0/0,::/0 -> 100.64.0.3/32:*,100.64.0.3/32:80-90,"
		      "100.64.0.3/32:22,100.64.0.3/32:80,100.64.0.3/32:443,"
		      "100.64.0.3/32:0,100.64.0.3/32:1000-2000");
	assert_peers(fx.pc, 3, "1,2,4,5,6,7");
	assert_peers(fx.pc, 1, "3");
}

static void test_protos(void **state)
{
	(void)state;
	load("\"acls\": ["
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:53\"], \"proto\": \"udp\"},"
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:*\"], \"proto\": \"icmp\"},"
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:*\"], \"proto\": 47},"
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:1\"], \"proto\": [\"UDP\", \"tcp\", \"6\"]},"
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:2\"], \"proto\": \"sctp\"},"
	     "{\"action\": \"accept\", \"src\": [\"bob@\"], \"dst\": [\"carol@:3\"]}"
	     "]");
	assert_filter(fx.pc, 3,
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:53 proto 17 | "
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:* proto 1,58 | "
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:* proto 47 | "
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:1 proto 6,17 | "
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:2 proto 132 | "
		      "accept 100.64.0.2/32 -> 100.64.0.3/32:3");
}

static void test_autogroup_member_tagged(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"autogroup:member\"", "\"autogroup:tagged:22\"")
	     "]");
	/* .2 and .3 merge into one /31 */
	assert_filter(fx.pc, 4,
		      "accept 100.64.0.1/32,100.64.0.2/31,100.64.0.6/32 -> 100.64.0.4/32:22");
	assert_filter(fx.pc, 7,
		      "accept 100.64.0.1/32,100.64.0.2/31,100.64.0.6/32 -> 100.64.0.7/32:22");
	assert_filter(fx.pc, 1, "");
	assert_peers(fx.pc, 1, "4,5,7");
	assert_peers(fx.pc, 4, "1,2,3,6");
}

static void test_autogroup_self(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"autogroup:member\"", "\"autogroup:self:*\"")
	     "," ACCEPT("\"group:eng\"", "\"autogroup:self:22\", \"carol@:80\"")
	     "]");
	assert_filter(fx.pc, 1,
		      "accept 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.1/32:* | "
		      "accept 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.1/32:22");
	assert_filter(fx.pc, 2,
		      "accept 100.64.0.2/32 -> 100.64.0.2/32:* | "
		      "accept 100.64.0.2/32 -> 100.64.0.2/32:22");
	/* carol: her own nodes, and group:eng to port 80 only */
	assert_filter(fx.pc, 3,
		      "accept 100.64.0.3/32 -> 100.64.0.3/32:* | "
		      "accept 100.64.0.1/32,100.64.0.2/32,100.64.0.6/32 -> 100.64.0.3/32:80");
	/* tagged nodes are nobody's own */
	assert_filter(fx.pc, 4, "");
	assert_peers(fx.pc, 1, "3,6");
	assert_peers(fx.pc, 6, "1,3");
	assert_peers(fx.pc, 2, "3");
	assert_peers(fx.pc, 4, "");
}

static void test_autogroup_internet(void **state)
{
	struct policy_filter *f;
	char buf[64];
	(void)state;

	load("\"acls\": [" ACCEPT("\"alice@\"", "\"autogroup:internet:*\"") ","
	     ACCEPT("\"bob@\"", "\"8.8.8.8:53\", \"10.9.9.9:53\"") "]");
	assert_int_equal(policy_node_filter(fx.pc, 7, &f), 0);
	assert_int_equal(f->n_rules, 2);
	assert_int_equal(f->rules[0].n_dst, 52);
	assert_int_equal(f->rules[0].n_src, 2);
	assert_string_equal(policy_prefix_format(&f->rules[0].dst[0].prefix,
						 buf, sizeof(buf)),
			    "1.0.0.0/8");
	assert_string_equal(policy_prefix_format(&f->rules[0].dst[51].prefix,
						 buf, sizeof(buf)),
			    "2000::/3");
	for (size_t i = 0; i < 52; i++) {
		const struct policy_filter_dst *d = &f->rules[0].dst[i];
		static const char *const priv[] = {
			"10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.1.1",
			"172.16.5.5", "192.168.1.1", "224.0.0.1", "0.1.2.3",
			"fd7a:115c:a1e0::1", "fe80::1"
		};

		for (size_t k = 0; k < sizeof(priv) / sizeof(priv[0]); k++) {
			struct policy_prefix pp;

			assert_int_equal(policy_prefix_parse(priv[k], &pp), 0);
			if (pp.family != d->prefix.family)
				continue;
			/* no internet prefix covers a private address */
			struct policy_prefix m = pp;
			int full = d->prefix.bits / 8, rest = d->prefix.bits % 8;
			int same = !memcmp(m.addr, d->prefix.addr, (size_t)full) &&
				   (!rest || ((m.addr[full] ^ d->prefix.addr[full]) &
					      (0xff << (8 - rest)) & 0xff) == 0);

			if (same)
				fail_msg("%s inside internet prefix %zu", priv[k], i);
		}
	}
	policy_filter_free(f);
	/* 8.8.8.8 is internet space, 10.9.9.9 is not */
	assert_filter(fx.pc, 1, "");
	assert_int_equal(policy_node_filter(fx.pc, 7, &f), 0);
	char *s = filter_text(f);

	assert_non_null(strstr(s, " | accept 100.64.0.2/32 -> 8.8.8.8/32:53"));
	assert_null(strstr(s, "10.9.9.9"));
	free(s);
	policy_filter_free(f);
	assert_peers(fx.pc, 1, "7");
	assert_peers(fx.pc, 2, "7");
	assert_peers(fx.pc, 7, "1,2,6");
	assert_peers(fx.pc, 3, "");
}

static void test_star_dst_hits_everything(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"carol@\"", "\"*:443\"") "]");
	assert_filter(fx.pc, 1, "accept 100.64.0.3/32 -> 0.0.0.0/0:443,::/0:443");
	assert_filter(fx.pc, 7, "accept 100.64.0.3/32 -> 0.0.0.0/0:443,::/0:443");
	assert_filter(fx.pc, 3, "accept 100.64.0.3/32 -> 0.0.0.0/0:443,::/0:443");
	assert_peers(fx.pc, 3, "1,2,4,5,6,7");
	assert_peers(fx.pc, 5, "3");
}

static void test_deny_before_accept(void **state)
{
	(void)state;
	load("\"acls\": [" DENY("\"alice@\"", "\"carol@:22\"") ","
	     ACCEPT("\"group:eng\"", "\"carol@:*\"") "]");
	assert_filter(fx.pc, 3,
		      "deny 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.3/32:22 | "
		      "accept 100.64.0.1/32,100.64.0.2/32,100.64.0.6/32 -> 100.64.0.3/32:*");
	/* visibility comes from accept rules only */
	assert_peers(fx.pc, 1, "3");
	assert_peers(fx.pc, 3, "1,2,6");
}

static void test_accept_before_deny(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"group:eng\"", "\"carol@:*\"") ","
	     DENY("\"alice@\"", "\"carol@:22\"") "]");
	assert_filter(fx.pc, 3,
		      "accept 100.64.0.1/32,100.64.0.2/32,100.64.0.6/32 -> 100.64.0.3/32:* | "
		      "deny 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.3/32:22");
}

static void test_deny_only_hides(void **state)
{
	(void)state;
	load("\"acls\": [" DENY("\"alice@\"", "\"carol@:*\"") "]");
	assert_filter(fx.pc, 3,
		      "deny 100.64.0.1/32,100.64.0.6/32 -> 100.64.0.3/32:*");
	assert_peers(fx.pc, 1, "");
	assert_peers(fx.pc, 3, "");
}

static void test_symmetric_visibility(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"alice@\"", "\"carol@:22\"") "]");
	assert_peers(fx.pc, 3, "1,6");
	assert_peers(fx.pc, 1, "3");
	assert_peers(fx.pc, 6, "3");
	assert_peers(fx.pc, 2, "");
	assert_true(policy_nodes_visible(fx.pc, 3, 1));
	assert_true(policy_nodes_visible(fx.pc, 1, 3));
	/* but only carol's filter lets traffic in */
	assert_filter(fx.pc, 1, "");
}

static void test_empty_source_dropped(void **state)
{
	(void)state;
	load("\"acls\": [" ACCEPT("\"group:empty\"", "\"carol@:22\"") ","
	     DENY("\"nobody@\"", "\"carol@:22\"") ","
	     ACCEPT("\"bob@\"", "\"carol@:23\"") "]");
	assert_filter(fx.pc, 3, "accept 100.64.0.2/32 -> 100.64.0.3/32:23");
}

static void test_ipv6(void **state)
{
	(void)state;
	setup_nodes(1);
	load("\"acls\": [" ACCEPT("\"alice@\"", "\"bob@:22\"") ","
	     ACCEPT("\"bob@\"", "\"fd7a:115c:a1e0::3:80\"") "]");
	assert_filter(fx.pc, 2,
		      "accept 100.64.0.1/32,100.64.0.6/32,fd7a:115c:a1e0::1/128,"
		      "fd7a:115c:a1e0::6/128 -> 100.64.0.2/32:22,fd7a:115c:a1e0::2/128:22");
	assert_filter(fx.pc, 3,
		      "accept 100.64.0.2/32,fd7a:115c:a1e0::2/128 -> fd7a:115c:a1e0::3/128:80");
	assert_peers(fx.pc, 3, "2");
	setup_nodes(0);
}

static void test_json_format(void **state)
{
	struct policy_filter *f;
	cJSON *j;
	char *s;
	(void)state;

	load("\"acls\": [{\"action\": \"deny\", \"src\": [\"bob@\"], "
	     "\"dst\": [\"carol@:22-23\"], \"proto\": \"tcp\"},"
	     ACCEPT("\"bob@\"", "\"carol@:*\"") "]");
	assert_int_equal(policy_node_filter(fx.pc, 3, &f), 0);
	j = policy_filter_to_json(f);
	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(s,
		"[{\"action\":\"deny\",\"src\":[\"100.64.0.2/32\"],"
		"\"dst\":[{\"prefix\":\"100.64.0.3/32\",\"first_port\":22,\"last_port\":23}],"
		"\"protos\":[6]},"
		"{\"action\":\"accept\",\"src\":[\"100.64.0.2/32\"],"
		"\"dst\":[{\"prefix\":\"100.64.0.3/32\",\"first_port\":0,\"last_port\":65535}],"
		"\"protos\":[]}]");
	free(s);
	cJSON_Delete(j);
	policy_filter_free(f);
	assert_int_equal(policy_node_filter(fx.pc, 1, &f), 0);
	j = policy_filter_to_json(f);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(s, "[]");
	free(s);
	cJSON_Delete(j);
	policy_filter_free(f);
}

static void test_hash_and_equal(void **state)
{
	struct policy_filter *a, *b, *c, *e;
	struct policy_compiled *pc2;
	(void)state;

	load("\"acls\": [" ACCEPT("\"group:eng\"", "\"carol@:22\", \"tag:server:22\"")
	     "]");
	pc2 = compile_ok(fx.p, nodes, 7);
	assert_int_equal(policy_node_filter(fx.pc, 3, &a), 0);
	assert_int_equal(policy_node_filter(pc2, 3, &b), 0);
	assert_int_equal(policy_node_filter(fx.pc, 4, &c), 0);
	assert_int_equal(policy_node_filter(fx.pc, 1, &e), 0);
	assert_true(policy_filter_equal(a, b));
	assert_true(policy_filter_hash(a) == policy_filter_hash(b));
	assert_false(policy_filter_equal(a, c));
	assert_true(policy_filter_hash(a) != policy_filter_hash(c));
	assert_false(policy_filter_equal(a, e));
	assert_true(policy_filter_hash(a) != policy_filter_hash(e));
	/* the hash covers ports: change one and it differs */
	uint64_t h = policy_filter_hash(b);

	b->rules[0].dst[0].last_port = 23;
	assert_false(policy_filter_equal(a, b));
	assert_true(policy_filter_hash(b) != h);
	policy_filter_free(a);
	policy_filter_free(b);
	policy_filter_free(c);
	policy_filter_free(e);
	policy_compiled_free(pc2);
}

static void test_unknown_and_duplicate_ids(void **state)
{
	struct policy_filter *f = (void *)1;
	struct policy_node two[2];
	struct policy_error e;
	uint64_t *ids = (void *)1;
	size_t n = 5;
	(void)state;

	load("\"acls\": []");
	assert_int_equal(policy_node_filter(fx.pc, 99, &f), -ENOENT);
	assert_null(f);
	assert_int_equal(policy_node_peers(fx.pc, 99, &ids, &n), -ENOENT);
	assert_null(ids);
	assert_int_equal(n, 0);
	assert_false(policy_nodes_visible(fx.pc, 1, 99));
	assert_int_equal(policy_compiled_node_count(fx.pc), 7);
	two[0] = nodes[0].n;
	two[1] = nodes[1].n;
	two[1].id = two[0].id;
	assert_null(policy_compile(fx.p, two, 2, &e));
	assert_non_null(strstr(e.msg, "duplicate node id 1"));
}

static void test_auto_approvers(void **state)
{
	struct policy *p;
	struct policy_prefix r;
	struct tnode other;
	(void)state;

	p = parse_ok(HEAD "\"autoApprovers\": {\"routes\": {"
		     "\"10.0.0.0/8\": [\"group:eng\", \"tag:router\"],"
		     "\"192.168.1.0/24\": [\"carol@\"]},"
		     "\"exitNode\": [\"tag:exit\", \"bob@\"]}}");
	assert_int_equal(policy_prefix_parse("10.1.0.0/16", &r), 0);
	assert_true(policy_route_auto_approved(p, &nodes[0].n, &r));	/* alice */
	assert_false(policy_route_auto_approved(p, &nodes[2].n, &r));	/* carol */
	assert_true(policy_route_auto_approved(p, &nodes[4].n, &r));	/* router */
	/* tagged node of alice: the user does not count */
	assert_false(policy_route_auto_approved(p, &nodes[3].n, &r));
	assert_int_equal(policy_prefix_parse("10.0.0.0/8", &r), 0);
	assert_true(policy_route_auto_approved(p, &nodes[4].n, &r));
	assert_int_equal(policy_prefix_parse("0.0.0.0/0", &r), 0);
	assert_false(policy_route_auto_approved(p, &nodes[4].n, &r));
	assert_int_equal(policy_prefix_parse("11.0.0.0/8", &r), 0);
	assert_false(policy_route_auto_approved(p, &nodes[0].n, &r));
	assert_int_equal(policy_prefix_parse("192.168.1.128/25", &r), 0);
	assert_true(policy_route_auto_approved(p, &nodes[2].n, &r));
	assert_false(policy_route_auto_approved(p, &nodes[0].n, &r));
	assert_int_equal(policy_prefix_parse("192.168.0.0/16", &r), 0);
	assert_false(policy_route_auto_approved(p, &nodes[2].n, &r));
	assert_true(policy_exit_auto_approved(p, &nodes[6].n));
	assert_true(policy_exit_auto_approved(p, &nodes[1].n));
	assert_false(policy_exit_auto_approved(p, &nodes[0].n));
	mknode(&other, 9, "bob", "tag:server", 0);
	assert_false(policy_exit_auto_approved(p, &other.n));
	policy_free(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup4, teardown)
	const struct CMUnitTest tests[] = {
		T(test_users_groups),
		T(test_tags),
		T(test_tag_ownership),
		T(test_hosts_cidrs_routes),
		T(test_ips),
		T(test_ports),
		T(test_protos),
		T(test_autogroup_member_tagged),
		T(test_autogroup_self),
		T(test_autogroup_internet),
		T(test_star_dst_hits_everything),
		T(test_deny_before_accept),
		T(test_accept_before_deny),
		T(test_deny_only_hides),
		T(test_symmetric_visibility),
		T(test_empty_source_dropped),
		T(test_ipv6),
		T(test_json_format),
		T(test_hash_and_equal),
		T(test_unknown_and_duplicate_ids),
		T(test_auto_approvers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
