// SPDX-License-Identifier: MIT
/* Incremental updates: after every add/change/remove, the compiled state
 * must give exactly what a fresh compile gives, and the delta must name
 * every node whose peers (exactly) or filter (at least) changed. */
#include <errno.h>

#include "helpers.h"

static const char *policy_text =
	"{\"groups\": {\"group:a\": [\"u0@\", \"u1@\"], \"group:b\": [\"u2@\", \"u3@\"]},\n"
	"\"hosts\": {\"lan\": \"10.1.0.0/16\"},\n"
	"\"tagOwners\": {\"tag:a\": [\"group:a\"], \"tag:b\": [\"group:b\"]},\n"
	"\"acls\": [\n"
	" {\"action\": \"deny\", \"src\": [\"u4@\"], \"dst\": [\"tag:a:22\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"group:a\"], \"dst\": [\"tag:a:*\", \"lan:443\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"group:b\", \"tag:b\"], \"dst\": [\"u0@:80\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self:*\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"u4@\"], \"dst\": [\"autogroup:internet:*\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"10.2.0.0/16\"], \"dst\": [\"tag:b:53\"], \"proto\": \"udp\"},\n"
	" {\"action\": \"accept\", \"src\": [\"tag:a\"], \"dst\": [\"100.64.0.0/26:8080\"]},\n"
	"]}";

#define MAXID 40

struct world {
	struct tnode t[MAXID + 1];
	bool present[MAXID + 1];
	char users[MAXID + 1][8];
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_node(struct world *w, uint64_t id)
{
	static const char *const tags[] = { "tag:a", "tag:b" };
	static const char *const routes[] = { "10.1.2.0/24", "10.2.0.0/16",
					      "192.168.0.0/24" };
	int r = (int)(rnd() % 10);

	snprintf(w->users[id], sizeof(w->users[id]), "u%d", (int)(rnd() % 5));
	mknode(&w->t[id], id, w->users[id], r < 3 ? tags[r % 2] : NULL,
	       (int)(rnd() % 2));
	if (rnd() % 4 == 0)
		add_route(&w->t[id], routes[rnd() % 3]);
	w->t[id].n.exit_node = rnd() % 6 == 0;
	/* keep the tag pointer valid after copies of the struct */
	w->t[id].n.tags = (const char *const *)w->t[id].tags;
	w->t[id].n.routes = w->t[id].routes;
}

struct snap {
	bool present[MAXID + 1];
	uint64_t peers[MAXID + 1];	/* bitmask of ids */
	struct policy_filter *f[MAXID + 1];
};

static void take(struct policy_compiled *pc, const struct world *w,
		 struct snap *s)
{
	for (uint64_t id = 1; id <= MAXID; id++) {
		uint64_t *ids;
		size_t n;

		s->present[id] = w->present[id];
		s->peers[id] = 0;
		s->f[id] = NULL;
		if (!w->present[id])
			continue;
		assert_int_equal(policy_node_peers(pc, id, &ids, &n), 0);
		for (size_t i = 0; i < n; i++)
			s->peers[id] |= 1ULL << ids[i];
		free(ids);
		assert_int_equal(policy_node_filter(pc, id, &s->f[id]), 0);
	}
}

static void drop(struct snap *s)
{
	for (uint64_t id = 1; id <= MAXID; id++)
		policy_filter_free(s->f[id]);
}

static void compare_fresh(const struct policy *p, struct policy_compiled *pc,
			  struct world *w, struct snap *now)
{
	struct policy_node list[MAXID];
	struct policy_compiled *fresh;
	struct policy_error e;
	struct snap ref;
	size_t n = 0;

	for (uint64_t id = 1; id <= MAXID; id++)
		if (w->present[id])
			list[n++] = w->t[id].n;
	fresh = policy_compile(p, list, n, &e);
	assert_non_null(fresh);
	assert_int_equal(policy_compiled_node_count(pc), n);
	take(fresh, w, &ref);
	take(pc, w, now);
	for (uint64_t id = 1; id <= MAXID; id++) {
		if (!w->present[id])
			continue;
		if (ref.peers[id] != now->peers[id])
			fail_msg("node %llu peers differ from a fresh compile",
				 (unsigned long long)id);
		if (!policy_filter_equal(ref.f[id], now->f[id])) {
			char *a = filter_text(ref.f[id]), *b = filter_text(now->f[id]);

			fail_msg("node %llu filter differs:\n fresh %s\n incr  %s",
				 (unsigned long long)id, a, b);
		}
	}
	drop(&ref);
	policy_compiled_free(fresh);
}

static bool in_list(const uint64_t *l, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] == id)
			return true;
	return false;
}

static void check_delta(const struct snap *before, const struct snap *after,
			const struct policy_delta *d, uint64_t changed)
{
	for (size_t i = 1; i < d->n_peers_changed; i++)
		assert_true(d->peers_changed[i - 1] < d->peers_changed[i]);
	for (size_t i = 1; i < d->n_filters_changed; i++)
		assert_true(d->filters_changed[i - 1] < d->filters_changed[i]);
	for (uint64_t id = 1; id <= MAXID; id++) {
		bool live = after->present[id];
		bool pc_expect = live && (id == changed ||
					  before->peers[id] != after->peers[id]);
		bool fc_needed = live &&
				 (id == changed || !before->present[id] ||
				  !policy_filter_equal(before->f[id],
						       after->f[id]));

		if (in_list(d->peers_changed, d->n_peers_changed, id) != pc_expect)
			fail_msg("peers_changed wrong for %llu (changed %llu)",
				 (unsigned long long)id,
				 (unsigned long long)changed);
		if (fc_needed &&
		    !in_list(d->filters_changed, d->n_filters_changed, id))
			fail_msg("filters_changed misses %llu (changed %llu)",
				 (unsigned long long)id,
				 (unsigned long long)changed);
		if (!live && in_list(d->filters_changed, d->n_filters_changed, id))
			fail_msg("filters_changed lists absent node %llu",
				 (unsigned long long)id);
	}
}

static void test_random_updates(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct policy_node list[MAXID];
	struct policy *p = parse_ok(policy_text);
	struct policy_compiled *pc;
	struct policy_error e;
	struct snap before, after;
	size_t n = 0, removes = 0, adds = 0, changes = 0;
	(void)state;

	assert_non_null(w);
	for (uint64_t id = 1; id <= MAXID / 2; id++) {
		random_node(w, id);
		w->present[id] = true;
		list[n++] = w->t[id].n;
	}
	pc = policy_compile(p, list, n, &e);
	assert_non_null(pc);
	for (int op = 0; op < 400; op++) {
		uint64_t id = 1 + rnd() % MAXID;
		struct policy_delta d;

		take(pc, w, &before);
		if (w->present[id] && rnd() % 3 == 0) {
			assert_int_equal(policy_compiled_remove_node(pc, id, &d), 0);
			w->present[id] = false;
			removes++;
		} else {
			if (w->present[id])
				changes++;
			else
				adds++;
			random_node(w, id);
			w->present[id] = true;
			assert_int_equal(policy_compiled_update_node(pc, &w->t[id].n,
								     &d), 0);
		}
		compare_fresh(p, pc, w, &after);
		check_delta(&before, &after, &d, id);
		policy_delta_free(&d);
		drop(&before);
		drop(&after);
	}
	/* the sequence exercised all three operations */
	assert_true(removes > 20 && adds > 20 && changes > 20);
	/* removing an absent node */
	for (uint64_t id = 1; id <= MAXID; id++)
		if (!w->present[id]) {
			struct policy_delta d;

			assert_int_equal(policy_compiled_remove_node(pc, id, &d),
					 -ENOENT);
			assert_int_equal(d.n_peers_changed, 0);
			break;
		}
	policy_compiled_free(pc);
	policy_free(p);
	free(w);
}

static void test_grow_from_empty(void **state)
{
	struct policy *p = parse_ok(policy_text);
	struct policy_compiled *pc;
	struct policy_error e;
	struct tnode t;
	struct policy_delta d;
	(void)state;

	pc = policy_compile(p, NULL, 0, &e);
	assert_non_null(pc);
	/* past the first 64-slot bitset word and capacity doubling */
	for (uint64_t id = 1; id <= 200; id++) {
		mknode(&t, id, id % 2 ? "u0" : "u1", id % 3 ? NULL : "tag:a", 0);
		assert_int_equal(policy_compiled_update_node(pc, &t.n, NULL), 0);
	}
	assert_int_equal(policy_compiled_node_count(pc), 200);
	/* u0/u1 (group:a) nodes see every tag:a node and vice versa */
	assert_true(policy_nodes_visible(pc, 1, 198));
	assert_true(policy_nodes_visible(pc, 198, 1));
	assert_false(policy_nodes_visible(pc, 3, 6) &&
		     !policy_nodes_visible(pc, 6, 3));
	/* tag:a node 198 becomes an untagged node of u0: u1's nodes lose it,
	 * u0's nodes keep it (autogroup:self) */
	assert_true(policy_nodes_visible(pc, 2, 198));
	mknode(&t, 198, "u0", NULL, 0);
	assert_int_equal(policy_compiled_update_node(pc, &t.n, &d), 0);
	assert_true(policy_nodes_visible(pc, 1, 198));
	assert_false(policy_nodes_visible(pc, 2, 198));
	assert_true(d.n_peers_changed > 60);
	assert_true(d.peers_changed[0] == 2);
	for (size_t i = 0; i < d.n_peers_changed; i++)
		assert_true(d.peers_changed[i] % 2 == 0 ||
			    d.peers_changed[i] % 3 == 0 ||
			    d.peers_changed[i] == 198);
	policy_delta_free(&d);
	policy_compiled_free(pc);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_updates),
		cmocka_unit_test(test_grow_from_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
