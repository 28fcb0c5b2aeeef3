// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the policy engine (control/policy/) on a policy text
 * as an admin (or whoever reaches PUT /api/v1/policy) sends it. Whatever
 * the bytes: no memory error, no leak, a refusal always has a message.
 * When it parses: its tests run against a fixed node set, it compiles,
 * and
 *   - peer visibility is symmetric and never lists the node itself;
 *   - every filter serializes, and equal filters have equal hashes;
 *   - the incremental path agrees with a full compile: compiling without
 *     one node and then adding it (policy_compiled_update_node), or
 *     compiling with all and removing it, gives exactly the filters and
 *     peers of compiling that node set from scratch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "policy.h"

#define N_NODES 7

static struct policy_node nodes[N_NODES];
static struct policy_prefix routes[2];
static const char *tags_a[] = { "tag:a" };
static const char *tags_b[] = { "tag:b", "tag:server" };
static const char *tags_s[] = { "tag:server" };

static void node(int i, const char *user, const char *const *tags,
		 size_t n_tags)
{
	struct policy_node *n = &nodes[i];

	n->id = (uint64_t)i + 1;
	n->user = user;
	n->tags = tags;
	n->n_tags = n_tags;
	n->has_ipv4 = true;
	n->ipv4[0] = 100;
	n->ipv4[1] = 64;
	n->ipv4[3] = (uint8_t)(i + 1);
	if (i % 2 == 0) {
		n->has_ipv6 = true;
		inet_pton(AF_INET6, "fd7a:115c:a1e0::", n->ipv6);
		n->ipv6[15] = (uint8_t)(i + 1);
	}
}

static void setup(void)
{
	node(0, "alice", NULL, 0);
	node(1, "bob", NULL, 0);
	node(2, "alice", NULL, 0);
	node(3, "alice", tags_a, 1);
	node(4, "bob", tags_b, 2);
	node(5, "carol@example.com", NULL, 0);
	node(6, NULL, tags_s, 1);
	policy_prefix_parse("10.1.0.0/16", &routes[0]);
	policy_prefix_parse("fd00::/64", &routes[1]);
	nodes[3].routes = routes;
	nodes[3].n_routes = 2;
	nodes[4].exit_node = true;
}

/* Filter and peers of every node of a, compared with b. */
static void same(const struct policy_compiled *a,
		 const struct policy_compiled *b, const char *what)
{
	for (int i = 0; i < N_NODES; i++) {
		struct policy_filter *fa, *fb;
		uint64_t *pa, *pb;
		size_t na, nb;
		uint64_t id = nodes[i].id;

		if (policy_node_filter(a, id, &fa) ||
		    policy_node_filter(b, id, &fb))
			abort();
		if (!policy_filter_equal(fa, fb) ||
		    policy_filter_hash(fa) != policy_filter_hash(fb)) {
			fprintf(stderr, "%s: filter of node %d differs\n", what,
				i + 1);
			abort();
		}
		policy_filter_free(fa);
		policy_filter_free(fb);
		if (policy_node_peers(a, id, &pa, &na) ||
		    policy_node_peers(b, id, &pb, &nb))
			abort();
		if (na != nb || (na && memcmp(pa, pb, na * sizeof(*pa)))) {
			fprintf(stderr, "%s: peers of node %d differ\n", what,
				i + 1);
			abort();
		}
		free(pa);
		free(pb);
	}
}

static void check_compiled(const struct policy_compiled *pc)
{
	for (int i = 0; i < N_NODES; i++) {
		struct policy_filter *f;
		uint64_t *ids;
		size_t n;
		cJSON *j;

		if (policy_node_filter(pc, nodes[i].id, &f))
			abort();
		j = policy_filter_to_json(f);
		if (!j)
			abort();
		cJSON_Delete(j);
		policy_filter_free(f);
		if (policy_node_peers(pc, nodes[i].id, &ids, &n))
			abort();
		for (size_t k = 0; k < n; k++)
			if (ids[k] == nodes[i].id ||
			    (k && ids[k - 1] >= ids[k]) ||
			    !policy_nodes_visible(pc, ids[k], nodes[i].id))
				abort();
		free(ids);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct policy_error err;
	struct policy_compiled *all, *part;
	struct policy_delta d;
	struct policy *p;
	int k;

	if (!ready) {
		setup();
		ready = 1;
	}
	memset(&err, 0, sizeof(err));
	p = policy_parse((const char *)data, size, "fuzz.hujson", &err);
	if (!p) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (policy_check(p, nodes, N_NODES, &err) < 0 && !err.msg[0])
		abort();
	all = policy_compile(p, nodes, N_NODES, &err);
	if (!all)
		abort();
	check_compiled(all);

	/* add one node incrementally (the last input byte picks which) */
	k = size ? data[size - 1] % N_NODES : 0;
	{
		struct policy_node without[N_NODES];
		int n = 0;

		for (int i = 0; i < N_NODES; i++)
			if (i != k)
				without[n++] = nodes[i];
		part = policy_compile(p, without, (size_t)n, &err);
		if (!part)
			abort();
	}
	if (policy_compiled_update_node(part, &nodes[k], &d))
		abort();
	policy_delta_free(&d);
	same(all, part, "compile then add");
	/* and remove it again from the full one */
	if (policy_compiled_remove_node(all, nodes[k].id, &d))
		abort();
	policy_delta_free(&d);
	if (policy_compiled_update_node(all, &nodes[k], &d))
		abort();
	policy_delta_free(&d);
	same(all, part, "remove then add");
	policy_compiled_free(part);
	policy_compiled_free(all);
	policy_free(p);
	return 0;
}
