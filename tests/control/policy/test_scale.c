// SPDX-License-Identifier: MIT
/* 10,000 nodes and 1,000 rules: filters and peers of sampled nodes checked
 * against a naive evaluation straight from how the policy was generated.
 * No timing is asserted. */
#include "helpers.h"

#define NODES 10000
#define RULES 1000
#define USERS 500
#define GROUPS 100
#define TAGS 50
#define SAMPLES 24

static int node_user(int id) { return id % USERS; }
static bool node_tagged(int id) { return id % 10 == 0; }
static int node_tag(int id) { return (id / 10) % TAGS; }
static int group_of_user(int u) { return u / 5; }	/* g has 5 users */

/*
 * rule r:
 *  r%4==0  accept group:g(r%100) -> tag:t(r%50):1000+r
 *  r%4==1  accept tag:t(r%50)    -> group:g(7r%100):2000+r   (proto udp)
 *  r%4==2  deny   u(r%500)@      -> tag:t((r+1)%50):22
 *  r%4==3  accept group:g(r%100) -> autogroup:self:3000+r
 */
static bool in_src(int r, int id)
{
	switch (r % 4) {
	case 0:
	case 3:
		return !node_tagged(id) &&
		       group_of_user(node_user(id)) == r % GROUPS;
	case 1:
		return node_tagged(id) && node_tag(id) == r % TAGS;
	default:
		return !node_tagged(id) && node_user(id) == r % USERS;
	}
}

/* dst of rule r hits node id; for self rules, relative to source src */
static bool in_dst(int r, int id)
{
	switch (r % 4) {
	case 0:
		return node_tagged(id) && node_tag(id) == r % TAGS;
	case 1:
		return !node_tagged(id) &&
		       group_of_user(node_user(id)) == (7 * r) % GROUPS;
	case 2:
		return node_tagged(id) && node_tag(id) == (r + 1) % TAGS;
	default:
		return false;
	}
}

static int rule_port(int r)
{
	static const int base[4] = { 1000, 2000, 0, 3000 };

	return r % 4 == 2 ? 22 : base[r % 4] + r;
}

static char *make_policy(void)
{
	size_t cap = 1 << 20, len = 0;
	char *b = malloc(cap);

	assert_non_null(b);
	append(&b, &len, &cap, "{\"groups\": {");
	for (int g = 0; g < GROUPS; g++) {
		append(&b, &len, &cap, "\"group:g%d\": [", g);
		for (int k = 0; k < 5; k++)
			append(&b, &len, &cap, "\"u%d@\",", g * 5 + k);
		append(&b, &len, &cap, "],\n");
	}
	append(&b, &len, &cap, "}, \"tagOwners\": {");
	for (int t = 0; t < TAGS; t++)
		append(&b, &len, &cap, "\"tag:t%d\": [\"group:g0\"],", t);
	append(&b, &len, &cap, "}, \"acls\": [\n");
	for (int r = 0; r < RULES; r++) {
		switch (r % 4) {
		case 0:
			append(&b, &len, &cap,
			       "{\"action\": \"accept\", \"src\": [\"group:g%d\"], \"dst\": [\"tag:t%d:%d\"]},\n",
			       r % GROUPS, r % TAGS, rule_port(r));
			break;
		case 1:
			append(&b, &len, &cap,
			       "{\"action\": \"accept\", \"src\": [\"tag:t%d\"], \"dst\": [\"group:g%d:%d\"], \"proto\": \"udp\"},\n",
			       r % TAGS, (7 * r) % GROUPS, rule_port(r));
			break;
		case 2:
			append(&b, &len, &cap,
			       "{\"action\": \"deny\", \"src\": [\"u%d@\"], \"dst\": [\"tag:t%d:22\"]},\n",
			       r % USERS, (r + 1) % TAGS);
			break;
		default:
			append(&b, &len, &cap,
			       "{\"action\": \"accept\", \"src\": [\"group:g%d\"], \"dst\": [\"autogroup:self:%d\"]},\n",
			       r % GROUPS, rule_port(r));
		}
	}
	append(&b, &len, &cap, "]}");
	return b;
}

static char user_names[USERS][16];
static char tag_names[TAGS][24];

static void make_node(struct tnode *t, int id)
{
	mknode(t, (uint64_t)id, user_names[node_user(id)],
	       node_tagged(id) ? tag_names[node_tag(id)] : NULL, 1);
}

/* The v4 address of node id covered by prefix p? (and v6 likewise) */
static bool covers(const struct policy_prefix *p, const struct tnode *t)
{
	const uint8_t *a = p->family == 4 ? t->n.ipv4 : t->n.ipv6;
	int full = p->bits / 8, rest = p->bits % 8;

	if (memcmp(a, p->addr, (size_t)full))
		return false;
	return !rest || ((a[full] ^ p->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void check_src(const struct policy_filter_rule *fr,
		      const struct tnode *nodes, const int *expect, size_t n)
{
	uint64_t covered4 = 0, covered6 = 0;

	for (size_t k = 0; k < fr->n_src; k++) {
		const struct policy_prefix *p = &fr->src[k];

		if (p->family == 4)
			covered4 += 1ULL << (32 - p->bits);
		else
			covered6 += 1ULL << (128 - p->bits);
	}
	/* merging never covers an address that was not a source */
	assert_int_equal(covered4, n);
	assert_int_equal(covered6, n);
	for (size_t i = 0; i < n; i++) {
		int hit4 = 0, hit6 = 0;

		for (size_t k = 0; k < fr->n_src; k++) {
			if (fr->src[k].family == 4)
				hit4 |= covers(&fr->src[k], &nodes[expect[i]]);
			else
				hit6 |= covers(&fr->src[k], &nodes[expect[i]]);
		}
		assert_true(hit4 && hit6);
	}
}

static void check_node(const struct policy_compiled *pc,
		       const struct tnode *nodes, int x, int *scratch)
{
	struct policy_filter *f;
	size_t ri = 0;
	uint8_t *peer = calloc(NODES + 1, 1);
	uint64_t *ids;
	size_t n_ids, n_expect_peers = 0;

	assert_non_null(peer);
	assert_int_equal(policy_node_filter(pc, (uint64_t)x, &f), 0);
	for (int r = 0; r < RULES; r++) {
		bool self = r % 4 == 3;
		bool hit = self ? !node_tagged(x) : in_dst(r, x);
		size_t n = 0;

		if (!hit)
			continue;
		for (int id = 1; id <= NODES; id++)
			if (in_src(r, id) &&
			    (!self || (!node_tagged(id) &&
				       node_user(id) == node_user(x))))
				scratch[n++] = id;
		if (!n)
			continue;
		assert_true(ri < f->n_rules);
		const struct policy_filter_rule *fr = &f->rules[ri++];

		assert_int_equal(fr->action, r % 4 == 2 ? POLICY_DENY : POLICY_ACCEPT);
		assert_int_equal(fr->n_dst, 2);
		assert_int_equal(fr->dst[0].first_port, rule_port(r));
		assert_int_equal(fr->dst[0].last_port, rule_port(r));
		assert_true(covers(&fr->dst[0].prefix, &nodes[x]));
		assert_int_equal(fr->dst[0].prefix.bits, 32);
		assert_int_equal(fr->dst[1].prefix.bits, 128);
		assert_int_equal(fr->n_protos, r % 4 == 1 ? 1 : 0);
		check_src(fr, nodes, scratch, n);
	}
	assert_int_equal(ri, f->n_rules);
	policy_filter_free(f);

	/* naive visibility: accept rules only, both directions */
	for (int r = 0; r < RULES; r++) {
		if (r % 4 == 2)
			continue;
		if (r % 4 == 3) {
			if (node_tagged(x))
				continue;
			for (int id = 1; id <= NODES; id++)
				if (!node_tagged(id) &&
				    node_user(id) == node_user(x) &&
				    (in_src(r, x) || in_src(r, id)))
					peer[id] = 1;
			continue;
		}
		bool xs = in_src(r, x), xd = in_dst(r, x);

		if (!xs && !xd)
			continue;
		for (int id = 1; id <= NODES; id++)
			if ((xs && in_dst(r, id)) || (xd && in_src(r, id)))
				peer[id] = 1;
	}
	peer[x] = 0;
	assert_int_equal(policy_node_peers(pc, (uint64_t)x, &ids, &n_ids), 0);
	for (int id = 1; id <= NODES; id++)
		n_expect_peers += peer[id];
	assert_int_equal(n_ids, n_expect_peers);
	for (size_t i = 0; i < n_ids; i++)
		assert_true(peer[ids[i]]);
	free(ids);
	free(peer);
}

static void test_scale(void **state)
{
	struct tnode *nodes = calloc(NODES + 1, sizeof(*nodes));
	struct policy_node *list = calloc(NODES, sizeof(*list));
	int *scratch = calloc(NODES, sizeof(int));
	char *text = make_policy();
	struct policy_compiled *pc;
	struct policy_error e;
	struct policy *p;
	uint64_t seed = 12345;
	(void)state;

	assert_non_null(nodes);
	assert_non_null(list);
	assert_non_null(scratch);
	for (int u = 0; u < USERS; u++)
		snprintf(user_names[u], sizeof(user_names[u]), "u%d", u);
	for (int t = 0; t < TAGS; t++)
		snprintf(tag_names[t], sizeof(tag_names[t]), "tag:t%d", t);
	for (int id = 1; id <= NODES; id++) {
		make_node(&nodes[id], id);
		list[id - 1] = nodes[id].n;
	}
	p = parse_ok(text);
	free(text);
	pc = policy_compile(p, list, NODES, &e);
	assert_non_null(pc);
	assert_int_equal(policy_compiled_node_count(pc), NODES);
	/* tagged and untagged samples, plus the edges of the id range */
	check_node(pc, nodes, 1, scratch);
	check_node(pc, nodes, NODES, scratch);
	for (int i = 0; i < SAMPLES; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		int x = 1 + (int)((seed >> 33) % NODES);

		check_node(pc, nodes, x, scratch);
		check_node(pc, nodes, x - x % 10 ? x - x % 10 : 10, scratch);
	}
	/* a no-op update changes nobody's peers; remove + re-add restores
	 * identical filters everywhere */
	{
		struct policy_filter *before[4], *after;
		const int probe[4] = { 10, 11, 4321, 9990 };
		struct policy_delta d;

		for (int i = 0; i < 4; i++)
			assert_int_equal(policy_node_filter(pc, (uint64_t)probe[i],
							    &before[i]), 0);
		assert_int_equal(policy_compiled_update_node(pc, &nodes[4321].n,
							     &d), 0);
		assert_int_equal(d.n_peers_changed, 1);
		assert_true(d.peers_changed[0] == 4321);
		policy_delta_free(&d);
		assert_int_equal(policy_compiled_remove_node(pc, 4321, &d), 0);
		assert_true(d.n_peers_changed > 0);
		policy_delta_free(&d);
		assert_int_equal(policy_compiled_node_count(pc), NODES - 1);
		assert_int_equal(policy_compiled_update_node(pc, &nodes[4321].n,
							     &d), 0);
		policy_delta_free(&d);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(policy_node_filter(pc, (uint64_t)probe[i],
							    &after), 0);
			assert_true(policy_filter_equal(before[i], after));
			assert_true(policy_filter_hash(before[i]) ==
				    policy_filter_hash(after));
			policy_filter_free(after);
			policy_filter_free(before[i]);
		}
		check_node(pc, nodes, 4321, scratch);
		check_node(pc, nodes, 4320, scratch);
	}
	policy_compiled_free(pc);
	policy_free(p);
	free(scratch);
	free(list);
	free(nodes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
