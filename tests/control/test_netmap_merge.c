// SPDX-License-Identifier: MIT
/*
 * mwgc_netmap_merge (control/client): a delta applied to a netmap against a
 * plain model that applies it entry by entry (what the protocol says), on
 * random netmaps and deltas with repeated and missing ids; its cost on
 * 20,000 peers + 20,000 entries counted in steps (comparisons and search
 * steps, mwgc_merge_steps), not timed; the peer limit.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "client/mwgc_client.h"

/* ---- the model: docs/protocol.md, entry by entry ---- */

static bool model_id(const cJSON *j, double *id)
{
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return false;
	*id = j->valuedouble;
	return true;
}

static cJSON *model_find(cJSON *peers, const cJSON *idj)
{
	double id, x;
	cJSON *p;

	if (!model_id(idj, &id))
		return NULL;
	cJSON_ArrayForEach(p, peers)
		if (model_id(cJSON_GetObjectItem(p, "id"), &x) && x == id)
			return p;
	return NULL;
}

static void model_apply(cJSON *nm, const cJSON *msg)
{
	static const char *const lists[] = { "peers_added", "peers_changed" };
	cJSON *peers = cJSON_GetObjectItem(nm, "peers"), *p;
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(msg, "peers_removed"))
		if ((p = model_find(peers, it)))
			cJSON_Delete(cJSON_DetachItemViaPointer(peers, p));
	for (size_t l = 0; l < 2; l++) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(msg, lists[l])) {
			p = model_find(peers, cJSON_GetObjectItem(it, "id"));
			if (p)
				cJSON_ReplaceItemViaPointer(peers, p, cJSON_Duplicate(it, 1));
			else
				cJSON_AddItemToArray(peers, cJSON_Duplicate(it, 1));
		}
	}
	if ((it = cJSON_GetObjectItem(msg, "seq")))
		cJSON_ReplaceItemInObject(nm, "seq", cJSON_Duplicate(it, 1));
}

/* ---- random netmaps ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static cJSON *peer(int id, unsigned version)
{
	cJSON *p = cJSON_CreateObject();
	char name[32];

	if (id >= 0)
		cJSON_AddNumberToObject(p, "id", id);
	else if (id == -1)
		cJSON_AddStringToObject(p, "id", "seven");	/* not a number */
	snprintf(name, sizeof(name), "p%d-v%u", id, version);
	cJSON_AddStringToObject(p, "hostname", name);
	return p;
}

/* An id from [0, range), sometimes none or a bad one. */
static int some_id(unsigned range, bool odd)
{
	if (odd && !rnd(15))
		return -1 - (int)rnd(2);
	return (int)rnd(range);
}

static cJSON *netmap(unsigned n, unsigned range, bool odd)
{
	cJSON *nm = cJSON_CreateObject(), *peers = cJSON_AddArrayToObject(nm, "peers");

	cJSON_AddStringToObject(nm, "type", "full");
	cJSON_AddNumberToObject(nm, "seq", 1);
	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(peers, peer(odd ? some_id(range, odd) : (int)i, 0));
	return nm;
}

static cJSON *delta(unsigned n_rm, unsigned n_add, unsigned n_ch, unsigned range, bool odd,
		    unsigned version)
{
	cJSON *d = cJSON_CreateObject(), *rm, *add, *ch;

	cJSON_AddStringToObject(d, "type", "delta");
	cJSON_AddNumberToObject(d, "seq", 1 + version);
	rm = cJSON_AddArrayToObject(d, "peers_removed");
	add = cJSON_AddArrayToObject(d, "peers_added");
	ch = cJSON_AddArrayToObject(d, "peers_changed");
	for (unsigned i = 0; i < n_rm; i++) {
		if (odd && !rnd(20))
			cJSON_AddItemToArray(rm, cJSON_CreateString("x"));
		else
			cJSON_AddItemToArray(rm, cJSON_CreateNumber(rnd(range)));
	}
	for (unsigned i = 0; i < n_add; i++)
		cJSON_AddItemToArray(add, peer(some_id(range, odd), version));
	for (unsigned i = 0; i < n_ch; i++)
		cJSON_AddItemToArray(ch, peer(some_id(range, odd), version));
	return d;
}

static void assert_same(const cJSON *a, const cJSON *b)
{
	if (!cJSON_Compare(a, b, 1)) {
		char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);

		print_error("merge: %s\nmodel: %s\n", x, y);
		free(x);
		free(y);
		fail();
	}
}

/* Random netmaps and deltas, small id ranges so that ids repeat, some
 * without a usable id: the merge and the model agree on every one. */
static void test_random_against_model(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 3000; round++) {
		bool odd = round % 2;
		unsigned range = 1 + rnd(40);
		cJSON *nm = netmap(rnd(30), range, odd), *model = cJSON_Duplicate(nm, 1);

		for (unsigned k = 1; k <= 3; k++) {
			cJSON *d = delta(rnd(10), rnd(10), rnd(10), range, odd, k);
			struct mwg_err e = { 0 };

			assert_int_equal(mwgc_netmap_merge(&nm, d, MWGC_MAX_PEERS, &e), 0);
			model_apply(model, d);
			assert_same(nm, model);
			cJSON_Delete(d);
		}
		cJSON_Delete(nm);
		cJSON_Delete(model);
	}
}

static unsigned log2_ceil(size_t n)
{
	unsigned l = 0;

	while (((size_t)1 << l) < n)
		l++;
	return l;
}

/*
 * 20,000 peers, then a delta removing 5,000, changing 10,000 and adding
 * 20,000: the result is checked peer by peer, and the steps the merge took
 * are bounded by a small multiple of (n + m) log2(n + m). Looking every
 * entry up in the list (the quadratic merge) takes about n·m/2 = 3·10^8.
 */
static void test_large_delta(void **state)
{
	const unsigned n = 20000, n_rm = 5000, n_ch = 10000, n_add = 20000;
	cJSON *nm = netmap(n, n, false), *d = cJSON_CreateObject(), *rm, *add, *ch, *p;
	struct mwg_err e = { 0 };
	size_t total = n + n_rm + n_ch + n_add;
	unsigned long long bound = 8ULL * total * log2_ceil(total);
	unsigned i, count = 0;

	(void)state;
	cJSON_AddStringToObject(d, "type", "delta");
	cJSON_AddNumberToObject(d, "seq", 2);
	rm = cJSON_AddArrayToObject(d, "peers_removed");
	add = cJSON_AddArrayToObject(d, "peers_added");
	ch = cJSON_AddArrayToObject(d, "peers_changed");
	/* removed: 0..4999; changed: 5000..14999 (from the end down); added: 20000.. */
	for (i = 0; i < n_rm; i++)
		cJSON_AddItemToArray(rm, cJSON_CreateNumber(i));
	for (i = 0; i < n_ch; i++)
		cJSON_AddItemToArray(ch, peer((int)(n_rm + n_ch - 1 - i), 1));
	for (i = 0; i < n_add; i++)
		cJSON_AddItemToArray(add, peer((int)(n + i), 1));
	mwgc_merge_steps = 0;
	assert_int_equal(mwgc_netmap_merge(&nm, d, MWGC_MAX_PEERS, &e), 0);
	print_message("merge of %u + %u entries: %llu steps (bound %llu)\n", n, n_rm + n_ch + n_add,
		      mwgc_merge_steps, bound);
	assert_true(mwgc_merge_steps <= bound);
	/* peers 5000..19999 in their places (changed ones replaced), then the new */
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(nm, "peers")) {
		int id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id"));
		char want[32];

		assert_int_equal(id, (int)(n_rm + count));
		snprintf(want, sizeof(want), "p%d-v%u", id, id < (int)(n_rm + n_ch) || id >= (int)n);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "hostname")), want);
		count++;
	}
	assert_int_equal(count, n - n_rm + n_add);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(nm, "seq")), 2);
	cJSON_Delete(d);
	cJSON_Delete(nm);
}

/* Over the peer limit: a FULL or a DELTA that would make too many is
 * refused as a whole (413) and the netmap stays as it was. */
static void test_peer_limit(void **state)
{
	cJSON *nm = netmap(10, 10, false), *before = cJSON_Duplicate(nm, 1), *big = netmap(11, 11, false);
	cJSON *d = cJSON_Parse("{\"type\":\"delta\",\"seq\":5,\"self\":{\"id\":1},"
			       "\"peers_added\":[{\"id\":10}]}");
	cJSON *d2 = cJSON_Parse("{\"type\":\"delta\",\"seq\":5,\"peers_removed\":[3],"
				"\"peers_added\":[{\"id\":10}]}");
	struct mwg_err e = { 0 };

	(void)state;
	assert_int_equal(mwgc_netmap_merge(&nm, big, 10, &e), -1);
	assert_int_equal(e.status, 413);
	assert_non_null(strstr(e.msg, "11 peers, more than the limit of 10"));
	assert_same(nm, before);
	memset(&e, 0, sizeof(e));
	assert_int_equal(mwgc_netmap_merge(&nm, d, 10, &e), -1);
	assert_int_equal(e.status, 413);
	assert_same(nm, before);	/* nor self, nor seq */
	/* one out, one in: still 10 */
	assert_int_equal(mwgc_netmap_merge(&nm, d2, 10, &e), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(nm, "peers")), 10);
	assert_int_equal(mwgc_netmap_merge(&nm, big, 11, &e), 0);
	cJSON_Delete(nm);
	cJSON_Delete(before);
	cJSON_Delete(big);
	cJSON_Delete(d);
	cJSON_Delete(d2);
}

/* Members a netmap lacks are added by a delta; "peers" that is not an
 * array is refused, not appended to. */
static void test_missing_members(void **state)
{
	cJSON *nm = cJSON_Parse("{\"type\":\"full\",\"seq\":1}");
	cJSON *d = cJSON_Parse("{\"type\":\"delta\",\"seq\":2,\"self\":{\"id\":1},"
			       "\"packet_filter\":null,\"peers_added\":[{\"id\":2}]}");
	cJSON *bad = cJSON_Parse("{\"type\":\"full\",\"seq\":3,\"peers\":{\"id\":2}}");
	struct mwg_err e = { 0 };

	(void)state;
	assert_int_equal(mwgc_netmap_merge(&nm, d, 10, &e), 0);
	assert_non_null(cJSON_GetObjectItem(nm, "self"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(nm, "packet_filter")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(nm, "peers")), 1);
	assert_int_equal(mwgc_netmap_merge(&nm, bad, 10, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(nm, "seq")), 2);
	cJSON_ReplaceItemInObject(nm, "peers", cJSON_CreateObject());
	assert_int_equal(mwgc_netmap_merge(&nm, d, 10, &e), -1);
	assert_int_equal(e.status, 400);
	cJSON_Delete(nm);
	cJSON_Delete(d);
	cJSON_Delete(bad);
}

/* Member names are matched as the protocol spells them, case and all, as
 * meshwgd's netmap check reads them: a "PEERS_ADDED" the check never saw
 * must not be merged (cJSON_GetObjectItem ignores case). */
static void test_member_case(void **state)
{
	cJSON *nm = netmap(2, 2, false), *before = cJSON_Duplicate(nm, 1);
	cJSON *d = cJSON_Parse("{\"type\":\"delta\",\"seq\":2,\"PEERS_ADDED\":[{\"id\":9,"
			       "\"allowed_ips\":[\"0.0.0.0/0\"]}],\"Peers_Removed\":[0],"
			       "\"SELF\":{\"id\":1}}");
	struct mwg_err e = { 0 };

	(void)state;
	assert_int_equal(mwgc_netmap_merge(&nm, d, MWGC_MAX_PEERS, &e), 0);
	cJSON_ReplaceItemInObject(before, "seq", cJSON_CreateNumber(2));
	assert_same(nm, before);
	cJSON_Delete(d);
	cJSON_Delete(nm);
	cJSON_Delete(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_large_delta),
		cmocka_unit_test(test_peer_limit),
		cmocka_unit_test(test_missing_members),
		cmocka_unit_test(test_member_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
