// SPDX-License-Identifier: MIT
/* Request authentication: good box, bad box, replayed nonce, stale time,
 * node-key proofs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include "auth.h"
#include "../../lib/hex.h"

static uint8_t spriv[32], spub[32], mpriv[32], mpub[32], npriv[32], npub[32];
static struct mwg_auth A;
static struct mwg_nonce_gen G;
static char mtext[MWG_KEY_TEXT_MAX], ntext[MWG_KEY_TEXT_MAX];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(spriv, 32);
	crypto_scalarmult_base(spub, spriv);
	randombytes_buf(mpriv, 32);
	crypto_scalarmult_base(mpub, mpriv);
	randombytes_buf(npriv, 32);
	crypto_scalarmult_base(npub, npriv);
	mwg_key_format(mtext, sizeof(mtext), "mkey:", mpub);
	mwg_key_format(ntext, sizeof(ntext), "nodekey:", npub);
	mwg_nonce_gen_init(&G);
	return mwg_auth_init(&A, spriv, 300);
}

static int teardown(void **state)
{
	(void)state;
	mwg_auth_destroy(&A);
	pthread_mutex_destroy(&G.lock);
	return 0;
}

/* Envelope with an explicit nonce. */
static char *envelope(const uint8_t *from_priv, const uint8_t *to_pub, const uint8_t nonce[24],
		      const char *plain, const char *mkey)
{
	uint8_t c[1024];
	size_t n = strlen(plain);
	char hex[49], *b64, *out;
	cJSON *o = cJSON_CreateObject();

	assert_true(n + crypto_box_MACBYTES <= sizeof(c));
	assert_int_equal(crypto_box_easy(c, (const uint8_t *)plain, n, nonce, to_pub, from_priv), 0);
	b64 = mwg_b64_encode(c, n + crypto_box_MACBYTES);
	hex_encode(hex, nonce, 24);
	cJSON_AddStringToObject(o, "machine_key", mkey);
	cJSON_AddStringToObject(o, "nonce", hex);
	cJSON_AddStringToObject(o, "box", b64);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(b64);
	return out;
}

static void nonce_at(uint8_t nonce[24], uint64_t ts, uint64_t ctr)
{
	int i;

	for (i = 7; i >= 0; i--, ts >>= 8)
		nonce[i] = (uint8_t)ts;
	for (i = 15; i >= 8; i--, ctr >>= 8)
		nonce[i] = (uint8_t)ctr;
	nonce[MWG_NONCE_DIR] = MWG_DIR_REQUEST;
	randombytes_buf(nonce + 17, 7);
}

static cJSON *try_open(const char *body, struct mwg_err *e)
{
	uint8_t mk[32], req[MWG_NONCE_LEN];
	char mt[MWG_KEY_TEXT_MAX];

	memset(e, 0, sizeof(*e));
	return mwg_auth_open(&A, body, strlen(body), mk, mt, req, e);
}

static void test_good(void **state)
{
	uint8_t nonce[24];
	struct mwg_err e;
	char *body;
	cJSON *in;

	(void)state;
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(mpriv, spub, nonce, "{\"hello\":1}", mtext);
	in = try_open(body, &e);
	assert_non_null(in);
	assert_int_equal(cJSON_GetObjectItem(in, "hello")->valueint, 1);
	cJSON_Delete(in);
	free(body);
}

static void test_bad_box(void **state)
{
	uint8_t nonce[24], other[32], otherpub[32];
	struct mwg_err e;
	char *body, *p;

	(void)state;
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(mpriv, spub, nonce, "{\"x\":true}", mtext);
	p = strstr(body, "\"box\":\"") + 7;
	*p = *p == 'A' ? 'B' : 'A';	/* flip the ciphertext */
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	free(body);

	/* sealed by another machine key than the one claimed */
	randombytes_buf(other, 32);
	crypto_scalarmult_base(otherpub, other);
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(other, spub, nonce, "{\"x\":true}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	free(body);

	/* malformed envelopes */
	assert_null(try_open("not json", &e));
	assert_int_equal(e.status, 400);
	assert_null(try_open("{\"machine_key\":\"mkey:zz\",\"nonce\":\"00\",\"box\":\"\"}", &e));
	assert_int_equal(e.status, 400);
	body = envelope(mpriv, spub, nonce, "[1,2]", mtext);	/* inner not an object */
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	free(body);
	body = envelope(mpriv, spub, nonce, "[1,2]", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 400);
	free(body);
}

static void test_replay(void **state)
{
	uint8_t nonce[24], n2[24];
	struct mwg_err e;
	char *b1, *b2;
	cJSON *in;

	(void)state;
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	mwg_nonce_make(&G, MWG_DIR_REQUEST, n2);
	b1 = envelope(mpriv, spub, nonce, "{}", mtext);
	b2 = envelope(mpriv, spub, n2, "{}", mtext);
	in = try_open(b2, &e);
	assert_non_null(in);
	cJSON_Delete(in);
	/* the same request again */
	assert_null(try_open(b2, &e));
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "replay"));
	/* an older (lower counter) one after a newer one */
	assert_null(try_open(b1, &e));
	assert_int_equal(e.status, 401);
	free(b1);
	free(b2);
}

static void test_forgery_does_not_advance(void **state)
{
	uint8_t nonce[24], other[32];
	struct mwg_err e;
	char *forged, *good;
	cJSON *in;

	(void)state;
	/* A forged request far in the future of the counter must not block
	 * the real machine's next request. */
	randombytes_buf(other, 32);
	nonce_at(nonce, mwg_now_ns() + 1000000000ull, UINT64_MAX - 1);
	forged = envelope(other, spub, nonce, "{}", mtext);
	assert_null(try_open(forged, &e));
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	good = envelope(mpriv, spub, nonce, "{}", mtext);
	in = try_open(good, &e);
	assert_non_null(in);
	cJSON_Delete(in);
	free(forged);
	free(good);
}

static void test_stale_and_future(void **state)
{
	uint8_t nonce[24];
	struct mwg_err e;
	char *body;

	(void)state;
	nonce_at(nonce, mwg_now_ns() - 3600ull * 1000000000ull, 1);
	body = envelope(mpriv, spub, nonce, "{}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "stale"));
	free(body);
	nonce_at(nonce, mwg_now_ns() + 3600ull * 1000000000ull, 1);
	body = envelope(mpriv, spub, nonce, "{}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	free(body);
}

static void test_node_proof(void **state)
{
	struct mwg_err e = { 0 };
	cJSON *proof;
	char other_m[MWG_KEY_TEXT_MAX];
	uint8_t k[32];

	(void)state;
	proof = mwg_node_proof(npriv, spub, &G, mtext);
	assert_int_equal(mwg_auth_check_proof(&A, proof, ntext, mtext, &e), 0);
	/* bound to another machine */
	randombytes_buf(k, 32);
	mwg_key_format(other_m, sizeof(other_m), "mkey:", k);
	assert_int_equal(mwg_auth_check_proof(&A, proof, ntext, other_m, &e), -1);
	assert_int_equal(e.status, 401);
	/* claimed for another node key */
	crypto_scalarmult_base(k, mpriv);
	mwg_key_format(other_m, sizeof(other_m), "nodekey:", k);
	assert_int_equal(mwg_auth_check_proof(&A, proof, other_m, mtext, &e), -1);
	assert_int_equal(e.status, 401);
	/* missing / malformed */
	assert_int_equal(mwg_auth_check_proof(&A, NULL, ntext, mtext, &e), -1);
	assert_int_equal(e.status, 401);
	assert_int_equal(mwg_auth_check_proof(&A, proof, "nodekey:12", mtext, &e), -1);
	assert_int_equal(e.status, 400);
	cJSON_Delete(proof);
}

static void upper_hex(char *dst, const char *src)
{
	const char *colon = strchr(src, ':');
	size_t i;

	strcpy(dst, src);
	for (i = (size_t)(colon - src) + 1; dst[i]; i++)
		if (dst[i] >= 'a' && dst[i] <= 'f')
			dst[i] = (char)(dst[i] - 'a' + 'A');
}

/* Uppercase hex names the same key: the keys of an opened request come out
 * in the one canonical (lowercase) text. */
static void test_canonical_keys(void **state)
{
	char um[MWG_KEY_TEXT_MAX], un[MWG_KEY_TEXT_MAX], plain[512], mt[MWG_KEY_TEXT_MAX];
	uint8_t nonce[24], mk[32], req[MWG_NONCE_LEN];
	struct mwg_err e = { 0 };
	char *body;
	cJSON *in, *proof;

	(void)state;
	upper_hex(um, mtext);
	upper_hex(un, ntext);
	assert_string_not_equal(um, mtext);
	snprintf(plain, sizeof(plain), "{\"node_key\":\"%s\",\"old_node_key\":\"%s\"}", un, un);
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(mpriv, spub, nonce, plain, um);
	in = mwg_auth_open(&A, body, strlen(body), mk, mt, req, &e);
	assert_non_null(in);
	assert_string_equal(mt, mtext);
	assert_string_equal(cJSON_GetObjectItem(in, "node_key")->valuestring, ntext);
	assert_string_equal(cJSON_GetObjectItem(in, "old_node_key")->valuestring, ntext);
	cJSON_Delete(in);
	free(body);
	/* a proof naming the machine key in uppercase is bound to the same key */
	proof = mwg_node_proof(npriv, spub, &G, um);
	assert_int_equal(mwg_auth_check_proof(&A, proof, ntext, mtext, &e), 0);
	cJSON_Delete(proof);
}

/* Without a replay record that outlives the process, nonces from before
 * the server started are refused (a request captured before a restart). */
static void test_not_before_start(void **state)
{
	uint8_t nonce[24];
	struct mwg_err e;
	char *body;
	cJSON *in;

	(void)state;
	A.not_before_ns = mwg_now_ns();
	nonce_at(nonce, A.not_before_ns - 1000000000ull, 1);
	body = envelope(mpriv, spub, nonce, "{}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "before the server started"));
	free(body);
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(mpriv, spub, nonce, "{}", mtext);
	in = try_open(body, &e);
	assert_non_null(in);
	cJSON_Delete(in);
	free(body);
	A.not_before_ns = 0;
}

/* The in-memory record keeps only machines seen within the skew. */
static void test_prune(void **state)
{
	uint8_t nonce[24], k[32], kp[32];
	char mk[MWG_KEY_TEXT_MAX], *body;
	struct mwg_err e;
	size_t before = A.count;
	cJSON *in;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		randombytes_buf(k, 32);
		crypto_scalarmult_base(kp, k);
		mwg_key_format(mk, sizeof(mk), "mkey:", kp);
		mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
		body = envelope(k, spub, nonce, "{}", mk);
		in = try_open(body, &e);
		assert_non_null(in);
		cJSON_Delete(in);
		free(body);
	}
	assert_int_equal(A.count, before + 10);
	mwg_auth_prune(&A, mwg_now_ns());
	assert_int_equal(A.count, before + 10);
	/* once their nonces are older than the skew, they are forgotten */
	mwg_auth_prune(&A, mwg_now_ns() + 2 * (uint64_t)A.max_skew_ns);
	assert_int_equal(A.count, 0);
}

static int shared_calls;

static int reject_all(void *arg, const char *mkey, uint64_t ts, uint64_t ctr, struct mwg_err *e)
{
	(void)arg;
	(void)ts;
	(void)ctr;
	assert_string_equal(mkey, mtext);
	shared_calls++;
	return mwg_fail(e, 401, "replayed (shared)");
}

static void test_shared_check(void **state)
{
	uint8_t nonce[24], other[32];
	struct mwg_err e;
	char *body;

	(void)state;
	A.shared_check = reject_all;
	/* a box that does not open never reaches the shared check */
	randombytes_buf(other, 32);
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(other, spub, nonce, "{}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(shared_calls, 0);
	free(body);
	/* a good one does, and its verdict counts */
	mwg_nonce_make(&G, MWG_DIR_REQUEST, nonce);
	body = envelope(mpriv, spub, nonce, "{}", mtext);
	assert_null(try_open(body, &e));
	assert_int_equal(shared_calls, 1);
	assert_string_equal(e.msg, "replayed (shared)");
	free(body);
	A.shared_check = NULL;
}

static void test_reply_seal(void **state)
{
	uint8_t req[MWG_NONCE_LEN], nonce[24];
	char *line, *plain, want[200], hex[49];
	cJSON *env;
	struct mwg_err e;

	(void)state;
	mwg_nonce_make(&G, MWG_DIR_REQUEST, req);
	line = mwg_auth_seal(&A, mpub, req, "{\"ok\":true}");
	env = cJSON_Parse(line);
	plain = mwg_unseal(mpriv, spub, env, nonce, NULL, &e);
	assert_non_null(plain);
	/* labelled a reply, and naming the request it answers */
	assert_int_equal(nonce[MWG_NONCE_DIR], MWG_DIR_REPLY);
	hex_encode(hex, req, sizeof(req));
	snprintf(want, sizeof(want), "{\"req\":\"%s\",\"ok\":true}", hex);
	assert_string_equal(plain, want);
	free(plain);
	free(line);
	cJSON_Delete(env);
	line = mwg_auth_seal(&A, mpub, req, "{}");
	env = cJSON_Parse(line);
	plain = mwg_unseal(mpriv, spub, env, nonce, NULL, &e);
	snprintf(want, sizeof(want), "{\"req\":\"%s\"}", hex);
	assert_string_equal(plain, want);
	free(plain);
	free(line);
	cJSON_Delete(env);
}

/* One crypto_box key serves both directions: a sealed reply sent back to the
 * server as a request body (and a node-key proof used as a request) opens,
 * and only the direction label refuses it. */
static void test_reflected_reply(void **state)
{
	uint8_t req[MWG_NONCE_LEN];
	struct mwg_err e;
	char *line, *body;
	cJSON *env, *in, *proof;

	(void)state;
	mwg_nonce_make(&G, MWG_DIR_REQUEST, req);
	line = mwg_auth_seal(&A, mpub, req, "{\"type\":\"full\",\"seq\":1}");
	env = cJSON_Parse(line);
	cJSON_AddStringToObject(env, "machine_key", mtext);
	body = cJSON_PrintUnformatted(env);
	in = try_open(body, &e);
	assert_null(in);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.msg, "not a request"));
	cJSON_Delete(env);
	free(body);
	free(line);
	/* a proof (from the node key) is not a request either */
	proof = mwg_node_proof(mpriv, spub, &G, mtext);
	cJSON_AddStringToObject(proof, "machine_key", mtext);
	body = cJSON_PrintUnformatted(proof);
	assert_null(try_open(body, &e));
	assert_int_equal(e.status, 401);
	free(body);
	cJSON_Delete(proof);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad_box),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_forgery_does_not_advance),
		cmocka_unit_test(test_stale_and_future),
		cmocka_unit_test(test_node_proof),
		cmocka_unit_test(test_canonical_keys),
		cmocka_unit_test(test_shared_check),
		cmocka_unit_test(test_reply_seal),
		cmocka_unit_test(test_reflected_reply),
		cmocka_unit_test(test_not_before_start),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
