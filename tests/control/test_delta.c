// SPDX-License-Identifier: MIT
/* Delta computation: the pure helpers, then the tailnet engine on a real
 * SQLite store with map streams (no HTTP): who gets which delta. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>
#include "../../lib/hex.h"
#include "netmap.h"
#include "../../lib/seal.h"
#include "store.h"
#include "tailnet.h"

static void test_ids_diff(void **state)
{
	uint64_t a[] = { 1, 3, 5, 7 }, b[] = { 2, 3, 7, 9, 10 }, *add, *rem;
	size_t na, nr;

	(void)state;
	assert_int_equal(mwg_ids_diff(a, 4, b, 5, &add, &na, &rem, &nr), 0);
	assert_int_equal(na, 3);
	assert_int_equal(add[0], 2);
	assert_int_equal(add[1], 9);
	assert_int_equal(add[2], 10);
	assert_int_equal(nr, 2);
	assert_int_equal(rem[0], 1);
	assert_int_equal(rem[1], 5);
	free(add);
	free(rem);
	assert_int_equal(mwg_ids_diff(NULL, 0, b, 5, &add, &na, &rem, &nr), 0);
	assert_int_equal(na, 5);
	assert_int_equal(nr, 0);
	free(add);
	free(rem);
	assert_int_equal(mwg_ids_diff(a, 4, a, 4, &add, &na, &rem, &nr), 0);
	assert_int_equal(na + nr, 0);
	free(add);
	free(rem);
}

static void test_render(void **state)
{
	struct mwg_delta d;
	char *s;
	cJSON *j;

	(void)state;
	mwg_delta_init(&d);
	assert_true(mwg_delta_empty(&d));
	assert_null(mwg_delta_render(&d, 1));
	mwg_delta_add_peer(&d, "{\"id\":4}");
	mwg_delta_change_peer(&d, "{\"id\":5}");
	mwg_delta_change_peer(&d, "{\"id\":6}");
	mwg_delta_remove_peer(&d, 7);
	d.filter = strdup("[]");
	s = mwg_delta_render(&d, 42);
	j = cJSON_Parse(s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "delta");
	assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, 42);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "peers_added")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "peers_changed")), 2);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "peers_removed"), 0)->valueint, 7);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "packet_filter")));
	assert_null(cJSON_GetObjectItem(j, "self"));
	cJSON_Delete(j);
	free(s);
	mwg_delta_free(&d);
}

/* ---- engine ---- */

struct node {
	uint8_t mpriv[32], mpub[32];
	char mkey[MWG_KEY_TEXT_MAX], nkey[MWG_KEY_TEXT_MAX];
	int64_t id;
	struct mwg_stream *s;
};

static char dir[64];
static struct mwg_config cfg;
static struct mwg_store *st;
static struct mwg_tailnet *tn;
static uint8_t spriv[32], spub[32];
static struct node N[4];
/* the nonce of the request that opened the streams: every message echoes it */
static const uint8_t REQ[MWG_NONCE_LEN] = { 'Q', 1, 2, 3 };

static void reg(struct node *n, const char *host, const char *key)
{
	struct mwg_register_req q = { 0 };
	struct mwg_err e = { 0 };
	struct mwg_node out;
	uint8_t nk[32];

	randombytes_buf(n->mpriv, 32);
	crypto_scalarmult_base(n->mpub, n->mpriv);
	randombytes_buf(nk, 32);
	mwg_key_format(n->mkey, sizeof(n->mkey), "mkey:", n->mpub);
	mwg_key_format(n->nkey, sizeof(n->nkey), "nodekey:", nk);
	q.machine_key = n->mkey;
	q.node_key = n->nkey;
	q.hostname = host;
	q.auth_key = key;
	if (mwg_store_register(st, &q, &out, &e))
		fail_msg("register: %s", e.msg);
	n->id = out.id;
	mwg_node_clear(&out);
}

/* Next message on n's stream (NULL when none queued). */
static cJSON *next(struct node *n)
{
	char *line = mwg_stream_pop_line(n->s), *plain, want[2 * MWG_NONCE_LEN + 1];
	uint8_t nonce[24];
	struct mwg_err e;
	cJSON *env, *m;

	if (!line)
		return NULL;
	env = cJSON_Parse(line);
	free(line);
	assert_non_null(env);
	plain = mwg_unseal(n->mpriv, spub, env, nonce, NULL, &e);
	cJSON_Delete(env);
	assert_non_null(plain);
	m = cJSON_Parse(plain);
	free(plain);
	assert_non_null(m);
	/* labelled a reply, answering the stream's request */
	assert_int_equal(nonce[MWG_NONCE_DIR], MWG_DIR_REPLY);
	hex_encode(want, REQ, sizeof(REQ));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "req")), want);
	cJSON_DeleteItemFromObject(m, "req");
	return m;
}

static void drain(struct node *n)
{
	cJSON *m;

	while ((m = next(n)))
		cJSON_Delete(m);
}

static void sync_now(void)
{
	struct mwg_err e = { 0 };

	/* twice: changes made while applying (auto-approval) land in a 2nd round */
	assert_int_equal(mwg_tailnet_sync(tn, &e), 0);
	assert_int_equal(mwg_tailnet_sync(tn, &e), 0);
}

static int ids_in(const cJSON *arr, int64_t id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if ((int64_t)(cJSON_IsObject(it) ? cJSON_GetObjectItem(it, "id")->valuedouble
						  : it->valuedouble) == id)
			return 1;
	return 0;
}

static int setup(void **state)
{
	struct mwg_err e = { 0 };
	char *ka, *kb;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	strcpy(dir, "/tmp/mwg-delta-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	mwg_config_defaults(&cfg);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db", dir);
	cfg.derp_map = cJSON_Parse("{\"regions\":[]}");
	cfg.nameservers = cJSON_CreateArray();
	cfg.search_domains = cJSON_CreateArray();
	if (mwg_store_open(&cfg, &st, &e) || mwg_store_server_key(st, spriv, spub, &e))
		return -1;
	if (mwg_store_user_create(st, "alice", NULL, &e) || mwg_store_user_create(st, "bob", NULL, &e))
		return -1;
	ka = mwg_store_preauthkey_create(st, "alice", true, false, 3600, NULL, &e);
	kb = mwg_store_preauthkey_create(st, "bob", true, false, 3600, NULL, &e);
	if (!ka || !kb)
		return -1;
	reg(&N[1], "one", ka);
	reg(&N[2], "two", ka);
	reg(&N[3], "three", kb);
	free(ka);
	free(kb);
	return mwg_tailnet_new(&cfg, st, spriv, &tn, &e);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	mwg_tailnet_free(tn);
	mwg_store_close(st);
	mwg_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void update_endpoint(struct node *n, const char *ep)
{
	struct mwg_err e = { 0 };
	cJSON *a = cJSON_CreateArray();

	cJSON_AddItemToArray(a, cJSON_CreateString(ep));
	assert_int_equal(mwg_store_node_update(st, n->id, a, -1, NULL, NULL, NULL, &e), 0);
	cJSON_Delete(a);
}

static void test_engine(void **state)
{
	struct mwg_err e = { 0 };
	cJSON *m, *peer;

	(void)state;
	/* Full map first. */
	N[1].s = mwg_tailnet_stream_open(tn, N[1].id, N[1].mpub, REQ, NULL, &e);
	assert_non_null(N[1].s);
	m = next(&N[1]);
	assert_string_equal(cJSON_GetObjectItem(m, "type")->valuestring, "full");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "peers")), 2);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers"), N[2].id));
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers"), N[3].id));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "packet_filter")));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "self"), "id")->valueint, N[1].id);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "dns"), "records")), 3);
	cJSON_Delete(m);
	N[2].s = mwg_tailnet_stream_open(tn, N[2].id, N[2].mpub, REQ, NULL, &e);
	assert_non_null(N[2].s);
	sync_now();
	/* node 2 came online: node 1 hears of it */
	m = next(&N[1]);
	assert_non_null(m);
	peer = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers_changed"), 0);
	assert_int_equal(cJSON_GetObjectItem(peer, "id")->valueint, N[2].id);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(peer, "online")));
	cJSON_Delete(m);
	drain(&N[1]);
	drain(&N[2]);

	/* An endpoint change reaches both streams, once. */
	update_endpoint(&N[3], "192.0.2.3:41641");
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_string_equal(cJSON_GetObjectItem(m, "type")->valuestring, "delta");
	peer = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers_changed"), 0);
	assert_int_equal(cJSON_GetObjectItem(peer, "id")->valueint, N[3].id);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(peer, "endpoints"), 0)->valuestring,
			    "192.0.2.3:41641");
	assert_null(cJSON_GetObjectItem(m, "peers_removed"));
	cJSON_Delete(m);
	assert_null(next(&N[1]));
	m = next(&N[2]);
	assert_non_null(m);
	cJSON_Delete(m);
	assert_null(next(&N[2]));

	/* A policy that keeps alice's nodes to themselves: node 3 disappears
	 * from both, and both get a packet filter. */
	assert_int_equal(mwg_store_policy_set(st,
		"{\"acls\": [{\"action\": \"accept\", \"src\": [\"alice@\"], \"dst\": [\"alice@:*\"]}]}",
		&e), 0);
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers_removed"), N[3].id));
	assert_null(cJSON_GetObjectItem(m, "peers_added"));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(m, "packet_filter")));
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(m, "packet_filter")) > 0);
	cJSON_Delete(m);
	assert_null(next(&N[1]));
	m = next(&N[2]);
	assert_non_null(m);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers_removed"), N[3].id));
	cJSON_Delete(m);

	/* Incremental: a change to node 3 concerns nobody streaming now. */
	update_endpoint(&N[3], "192.0.2.3:1");
	sync_now();
	assert_null(next(&N[1]));
	assert_null(next(&N[2]));

	/* A change to node 2: node 1 gets it; node 2 itself nothing (its
	 * self, peers and filter did not change). */
	update_endpoint(&N[2], "192.0.2.2:2");
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers_changed"), N[2].id));
	cJSON_Delete(m);
	assert_null(next(&N[2]));

	/* Two changes in one batch: one message, the newest state, once. */
	update_endpoint(&N[2], "192.0.2.2:3");
	update_endpoint(&N[2], "192.0.2.2:4");
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "peers_changed")), 1);
	peer = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers_changed"), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(peer, "endpoints"), 0)->valuestring,
			    "192.0.2.2:4");
	cJSON_Delete(m);
	assert_null(next(&N[1]));

	/* Rename node 2: its self changes, node 1 sees the new DNS name. */
	assert_int_equal(mwg_store_node_rename(st, N[2].id, "deux", &e), 0);
	sync_now();
	m = next(&N[2]);
	assert_non_null(m);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "self"), "dns_name")->valuestring,
			    "deux.meshwg.internal");
	cJSON_Delete(m);
	m = next(&N[1]);
	peer = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers_changed"), 0);
	assert_string_equal(cJSON_GetObjectItem(peer, "dns_name")->valuestring, "deux.meshwg.internal");
	cJSON_Delete(m);

	/* An allow-all policy: node 3 is added again. */
	assert_int_equal(mwg_store_policy_set(st, "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}", &e), 0);
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers_added"), N[3].id));
	cJSON_Delete(m);
	drain(&N[2]);

	/* Node 2 deleted: node 1 gets a removal, node 2's stream a goodbye. */
	assert_int_equal(mwg_store_node_delete(st, N[2].id, &e), 0);
	sync_now();
	m = next(&N[1]);
	assert_non_null(m);
	assert_true(ids_in(cJSON_GetObjectItem(m, "peers_removed"), N[2].id));
	cJSON_Delete(m);
	m = next(&N[2]);
	assert_string_equal(cJSON_GetObjectItem(m, "type")->valuestring, "goodbye");
	cJSON_Delete(m);

	/* Node 1 expired: its stream ends. */
	assert_int_equal(mwg_store_node_expire(st, N[1].id, &e), 0);
	sync_now();
	m = next(&N[1]);
	assert_string_equal(cJSON_GetObjectItem(m, "type")->valuestring, "goodbye");
	assert_string_equal(cJSON_GetObjectItem(m, "reason")->valuestring, "node key expired");
	cJSON_Delete(m);
	{
		char buf[16];

		assert_int_equal(mwg_stream_read(N[1].s, buf, sizeof(buf)), -1);	/* ended */
	}
	/* and it cannot open a new one */
	assert_null(mwg_tailnet_stream_open(tn, N[1].id, N[1].mpub, REQ, NULL, &e));
	assert_int_equal(e.status, 403);

	mwg_tailnet_stream_close(N[1].s);
	mwg_tailnet_stream_close(N[2].s);
}

/* One stream per node: a second one ends the first with a goodbye. And all
 * streams together hold at most max_queued_bytes. */
static void test_stream_limits(void **state)
{
	struct mwg_err e = { 0 };
	struct mwg_stream *old, *s3;
	char buf[16];
	cJSON *m;

	(void)state;
	old = mwg_tailnet_stream_open(tn, N[1].id, N[1].mpub, REQ, NULL, &e);
	assert_non_null(old);
	N[1].s = old;
	drain(&N[1]);
	assert_int_equal(tn->queued, 0);
	N[1].s = mwg_tailnet_stream_open(tn, N[1].id, N[1].mpub, REQ, NULL, &e);
	assert_non_null(N[1].s);
	assert_true(tn->queued > 0);
	{
		struct node o = N[1];

		o.s = old;
		m = next(&o);
	}
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "type")), "goodbye");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "reason")),
			    "replaced by a newer stream of this node");
	cJSON_Delete(m);
	assert_int_equal(mwg_stream_read(old, buf, sizeof(buf)), -1);
	m = next(&N[1]);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "type")), "full");
	cJSON_Delete(m);
	mwg_tailnet_stream_close(old);
	assert_int_equal(tn->queued, 0);

	/* the global budget: N[1]'s full map is queued and unread, so N[3]'s
	 * does not fit and its stream ends at once */
	N[1].s = (mwg_tailnet_stream_close(N[1].s),
		  mwg_tailnet_stream_open(tn, N[1].id, N[1].mpub, REQ, NULL, &e));
	assert_non_null(N[1].s);
	cfg.max_queued_bytes = tn->queued + 10;
	s3 = mwg_tailnet_stream_open(tn, N[3].id, N[3].mpub, REQ, NULL, &e);
	assert_non_null(s3);
	assert_int_equal(mwg_stream_read(s3, buf, sizeof(buf)), -1);
	/* what a closed stream held leaves the budget */
	mwg_tailnet_stream_close(N[1].s);
	assert_int_equal(tn->queued, 0);
	mwg_tailnet_stream_close(s3);
	cfg.max_queued_bytes = 512u << 20;
}

static void test_store_nonce(void **state)
{
	struct mwg_err e = { 0 };

	(void)state;
	assert_int_equal(mwg_store_nonce_advance(st, N[1].mkey, 10, 1, &e), 0);
	assert_int_equal(mwg_store_nonce_advance(st, N[1].mkey, 10, 1, &e), -1);
	assert_int_equal(e.status, 401);
	assert_int_equal(mwg_store_nonce_advance(st, N[1].mkey, 10, 2, &e), 0);
	assert_int_equal(mwg_store_nonce_advance(st, N[1].mkey, 9, 5, &e), -1);
	assert_int_equal(mwg_store_nonce_advance(st, N[1].mkey, 11, 0, &e), 0);
	assert_int_equal(mwg_store_nonce_advance(st, N[2].mkey, 1, 1, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_diff),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_nonce, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
