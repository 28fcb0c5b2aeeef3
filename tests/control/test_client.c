// SPDX-License-Identifier: MIT
/* The client library's checks on what the server sends (mwgc_open): the
 * direction label, the request echo, per-exchange ordering and the netmap
 * seq that never goes back, with replies sealed by the server's own code. */
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
#include "client/mwgc_client.h"

static uint8_t spriv[32], spub[32], mpriv[32], mpub[32], npriv[32];
static struct mwg_auth A;
static struct mwgc C;

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
	if (mwgc_init(&C, "http://127.0.0.1:9", mpriv, npriv))
		return -1;
	memcpy(C.spub, spub, 32);
	C.have_server_key = true;
	return mwg_auth_init(&A, spriv, 300);
}

static int teardown(void **state)
{
	(void)state;
	mwg_auth_destroy(&A);
	mwgc_destroy(&C);
	return 0;
}

/* A request of C: its exchange, as the server would see it. */
static void request(struct mwgc_exchange *x)
{
	cJSON *p = cJSON_CreateObject(), *in;
	char *body = mwgc_seal_request(&C, p, x), mt[MWG_KEY_TEXT_MAX];
	uint8_t mk[32], req[MWG_NONCE_LEN];
	struct mwg_err e = { 0 };

	assert_non_null(body);
	in = mwg_auth_open(&A, body, strlen(body), mk, mt, req, &e);
	assert_non_null(in);
	assert_memory_equal(req, x->req, MWG_NONCE_LEN);
	cJSON_Delete(in);
	cJSON_Delete(p);
	free(body);
}

static cJSON *open_reply(const char *line, struct mwgc_exchange *x, struct mwg_err *e)
{
	memset(e, 0, sizeof(*e));
	return mwgc_open(&C, line, x, e);
}

static void test_fresh_replies(void **state)
{
	struct mwgc_exchange x, other;
	struct mwg_err e;
	char *full, *delta, *stale;
	cJSON *m;

	(void)state;
	request(&x);
	full = mwg_auth_seal(&A, mpub, x.req, "{\"type\":\"full\",\"seq\":5}");
	delta = mwg_auth_seal(&A, mpub, x.req, "{\"type\":\"delta\",\"seq\":7}");
	m = open_reply(full, &x, &e);
	assert_non_null(m);
	assert_null(cJSON_GetObjectItem(m, "req"));
	cJSON_Delete(m);
	assert_int_equal(C.last_seq, 5);
	m = open_reply(delta, &x, &e);
	assert_non_null(m);
	cJSON_Delete(m);
	assert_int_equal(C.last_seq, 7);
	/* the same message again, or an earlier one of the same stream */
	assert_null(open_reply(delta, &x, &e));
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "not newer"));
	assert_null(open_reply(full, &x, &e));
	/* a reply made for another request */
	request(&other);
	assert_null(open_reply(full, &other, &e));
	assert_non_null(strstr(e.msg, "does not answer this request"));
	/* an old FULL netmap (older seq) on a new stream, e.g. after a restart
	 * of the server: refused, a newer one accepted */
	stale = mwg_auth_seal(&A, mpub, other.req, "{\"type\":\"full\",\"seq\":6}");
	assert_null(open_reply(stale, &other, &e));
	assert_non_null(strstr(e.msg, "netmap seq 6 is older than seq 7"));
	free(stale);
	stale = mwg_auth_seal(&A, mpub, other.req, "{\"type\":\"full\",\"seq\":7}");
	m = open_reply(stale, &other, &e);
	assert_non_null(m);
	cJSON_Delete(m);
	free(stale);
	free(full);
	free(delta);
}

/* The client's own request (same crypto_box key) reflected back to it. */
static void test_reflected_request(void **state)
{
	struct mwgc_exchange x;
	struct mwg_err e;
	cJSON *p = cJSON_CreateObject();
	char *body = mwgc_seal_request(&C, p, &x);

	(void)state;
	assert_null(open_reply(body, &x, &e));
	assert_int_equal(e.status, 502);
	assert_non_null(strstr(e.msg, "not a reply"));
	free(body);
	cJSON_Delete(p);
}

static uint64_t two_days_behind(void)
{
	return mwg_now_ns() - 2ULL * 86400 * 1000000000ULL;
}

/* A client whose clock is two days behind is refused by the server's
 * freshness check; after mwgc_clock_resync() with the server's Date its
 * nonces (a request's and a node-key proof's) pass, counting anew. */
static void test_clock_resync(void **state)
{
	struct mwgc c;
	struct mwgc_exchange x;
	struct mwg_err e = { 0 };
	uint8_t mk[32], req[MWG_NONCE_LEN];
	char mt[MWG_KEY_TEXT_MAX], *body;
	cJSON *p = cJSON_CreateObject(), *in;
	uint8_t mpriv2[32];

	(void)state;
	randombytes_buf(mpriv2, 32);	/* a machine the server has no record of */
	mwgc_clock_ns = two_days_behind;
	assert_int_equal(mwgc_init(&c, "http://127.0.0.1:9", mpriv2, npriv), 0);
	mwgc_clock_ns = mwg_now_ns;
	memcpy(c.spub, spub, 32);
	c.have_server_key = true;
	body = mwgc_seal_request(&c, p, &x);
	assert_null(mwg_auth_open(&A, body, strlen(body), mk, mt, req, &e));
	assert_int_equal(e.status, 401);
	assert_true(mwgc_clock_refusal(e.status, e.msg));
	assert_false(mwgc_clock_refusal(401, "node key expired"));
	assert_false(mwgc_clock_refusal(403, e.msg));
	assert_true(mwgc_clock_refusal(401, "nonce from before the server started"));
	free(body);

	/* the server's Date: about 2 days ahead of this client */
	assert_true(mwgc_clock_resync(&c, mwg_now()) >= 2 * 86400 - 2);
	assert_int_equal(c.gen.counter, 0);
	body = mwgc_seal_request(&c, p, &x);
	memset(&e, 0, sizeof(e));
	in = mwg_auth_open(&A, body, strlen(body), mk, mt, req, &e);
	assert_non_null(in);
	assert_int_equal(mwg_nonce_counter(x.req), 1);
	cJSON_Delete(in);
	free(body);
	cJSON_Delete(p);
	mwgc_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_replies),
		cmocka_unit_test(test_reflected_request),
		cmocka_unit_test(test_clock_resync),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
