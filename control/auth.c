// SPDX-License-Identifier: MIT
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

struct mwg_auth_entry {
	struct mwg_auth_entry *next;
	uint8_t mkey[32];
	uint64_t ts, counter;
};

int mwg_auth_init(struct mwg_auth *a, const uint8_t priv[32], int64_t max_skew_s)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->priv, priv, 32);
	crypto_scalarmult_base(a->pub, a->priv);
	a->max_skew_ns = max_skew_s * 1000000000LL;
	mwg_nonce_gen_init(&a->gen);
	pthread_mutex_init(&a->lock, NULL);
	a->nbuckets = 1024;
	a->table = calloc(a->nbuckets, sizeof(*a->table));
	return a->table ? 0 : -1;
}

void mwg_auth_destroy(struct mwg_auth *a)
{
	size_t i;

	for (i = 0; a->table && i < a->nbuckets; i++) {
		struct mwg_auth_entry *x = a->table[i], *nx;

		for (; x; x = nx) {
			nx = x->next;
			free(x);
		}
	}
	free(a->table);
	sodium_memzero(a->priv, sizeof(a->priv));
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->gen.lock);
}

static size_t bucket(const struct mwg_auth *a, const uint8_t *k)
{
	uint64_t h;

	memcpy(&h, k, sizeof(h));
	return (size_t)(h % a->nbuckets);
}

static int grow(struct mwg_auth *a)
{
	size_t n = a->nbuckets * 2, i;
	struct mwg_auth_entry **t = calloc(n, sizeof(*t));

	if (!t)
		return -1;
	for (i = 0; i < a->nbuckets; i++) {
		struct mwg_auth_entry *x = a->table[i], *nx;

		for (; x; x = nx) {
			uint64_t h;

			nx = x->next;
			memcpy(&h, x->mkey, sizeof(h));
			x->next = t[h % n];
			t[h % n] = x;
		}
	}
	free(a->table);
	a->table = t;
	a->nbuckets = n;
	return 0;
}

static void prune_locked(struct mwg_auth *a, uint64_t now_ns)
{
	uint64_t cut = now_ns - (uint64_t)a->max_skew_ns;
	size_t i;

	if (now_ns < (uint64_t)a->max_skew_ns)
		return;
	for (i = 0; i < a->nbuckets; i++) {
		struct mwg_auth_entry **pp = &a->table[i];

		while (*pp) {
			struct mwg_auth_entry *x = *pp;

			if (x->ts < cut) {
				*pp = x->next;
				free(x);
				a->count--;
			} else {
				pp = &x->next;
			}
		}
	}
}

void mwg_auth_prune(struct mwg_auth *a, uint64_t now_ns)
{
	pthread_mutex_lock(&a->lock);
	prune_locked(a, now_ns);
	pthread_mutex_unlock(&a->lock);
}

/* Accepts (ts, counter) if strictly newer than the last one; records it. */
static int check_and_record(struct mwg_auth *a, const uint8_t mkey[32], uint64_t ts,
			    uint64_t counter, struct mwg_err *e)
{
	struct mwg_auth_entry *x;
	int r = 0;

	pthread_mutex_lock(&a->lock);
	for (x = a->table[bucket(a, mkey)]; x; x = x->next)
		if (!memcmp(x->mkey, mkey, 32))
			break;
	if (x) {
		if (ts < x->ts || (ts == x->ts && counter <= x->counter)) {
			r = mwg_fail(e, 401, "replayed or out-of-order nonce");
		} else {
			x->ts = ts;
			x->counter = counter;
		}
	} else {
		/* the table holds only machines seen within the skew */
		if (++a->inserts % 1024 == 0)
			prune_locked(a, mwg_now_ns());
		if (a->count + 1 > a->nbuckets * 2)
			grow(a);
		x = calloc(1, sizeof(*x));
		if (!x) {
			r = mwg_fail(e, 500, "out of memory");
		} else {
			memcpy(x->mkey, mkey, 32);
			x->ts = ts;
			x->counter = counter;
			x->next = a->table[bucket(a, mkey)];
			a->table[bucket(a, mkey)] = x;
			a->count++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

static int fresh(const struct mwg_auth *a, const uint8_t nonce[MWG_NONCE_LEN], struct mwg_err *e)
{
	int64_t d = (int64_t)(mwg_nonce_ts(nonce) - mwg_now_ns());

	if (d > a->max_skew_ns || -d > a->max_skew_ns)
		return mwg_fail(e, 401, "stale or future timestamp in nonce (check the clock)");
	if (mwg_nonce_ts(nonce) < a->not_before_ns)
		return mwg_fail(e, 401, "nonce from before the server started (replay protection)");
	return 0;
}

/*
 * Key text is canonicalised where the request is parsed: hex digits in
 * either case name one key, so the payload's keys are rewritten in the
 * lowercase form every later comparison, lookup and stored row uses.
 * Malformed keys are left for the field checks to refuse.
 */
static int canon_keys(cJSON *in)
{
	static const char *const fields[][2] = {
		{ "node_key", "nodekey:" }, { "old_node_key", "nodekey:" },
		{ "disco_key", "discokey:" },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(in, fields[i][0]);
		char text[MWG_KEY_TEXT_MAX];
		uint8_t k[32];

		if (!cJSON_IsString(v) || mwg_key_parse(v->valuestring, fields[i][1], k))
			continue;
		mwg_key_format(text, sizeof(text), fields[i][1], k);
		if (!cJSON_SetValuestring(v, text))
			return -1;
	}
	return 0;
}

cJSON *mwg_auth_open(struct mwg_auth *a, const char *body, size_t len, uint8_t mkey[32],
		     char mkey_text[MWG_KEY_TEXT_MAX], uint8_t req[MWG_NONCE_LEN],
		     struct mwg_err *e)
{
	cJSON *env, *inner = NULL;
	const cJSON *jm;
	uint8_t nonce[MWG_NONCE_LEN];
	const char *end = NULL;
	char *plain;
	size_t plen;

	env = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!env || !cJSON_IsObject(env)) {
		cJSON_Delete(env);
		mwg_fail(e, 400, "request body is not a JSON object");
		return NULL;
	}
	jm = cJSON_GetObjectItemCaseSensitive(env, "machine_key");
	if (!cJSON_IsString(jm) || mwg_key_parse(jm->valuestring, "mkey:", mkey)) {
		cJSON_Delete(env);
		mwg_fail(e, 400, "\"machine_key\" must be \"mkey:\" + 64 hex digits");
		return NULL;
	}
	mwg_key_format(mkey_text, MWG_KEY_TEXT_MAX, "mkey:", mkey);
	plain = mwg_unseal(a->priv, mkey, env, nonce, &plen, e);
	cJSON_Delete(env);
	if (!plain)
		return NULL;
	if (nonce[MWG_NONCE_DIR] != MWG_DIR_REQUEST) {
		free(plain);
		mwg_fail(e, 401, "sealed box is not a request (direction label; protocol version %d)",
			 MWG_PROTOCOL_VERSION);
		return NULL;
	}
	memcpy(req, nonce, MWG_NONCE_LEN);
	if (fresh(a, nonce, e) ||
	    check_and_record(a, mkey, mwg_nonce_ts(nonce), mwg_nonce_counter(nonce), e) ||
	    (a->shared_check && a->shared_check(a->shared_arg, mkey_text, mwg_nonce_ts(nonce),
						mwg_nonce_counter(nonce), e))) {
		free(plain);
		return NULL;
	}
	inner = cJSON_ParseWithLength(plain, plen);
	free(plain);
	if (!inner || !cJSON_IsObject(inner)) {
		cJSON_Delete(inner);
		mwg_fail(e, 400, "sealed payload is not a JSON object");
		return NULL;
	}
	if (canon_keys(inner)) {
		cJSON_Delete(inner);
		mwg_fail(e, 500, "out of memory");
		return NULL;
	}
	return inner;
}

char *mwg_auth_seal(struct mwg_auth *a, const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
		    const char *plain)
{
	char *text = mwg_reply_text(plain, req), *s;
	cJSON *o = text ? mwg_seal(a->priv, mkey, &a->gen, MWG_DIR_REPLY, text, strlen(text)) : NULL;

	free(text);
	if (!o)
		return NULL;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int mwg_auth_check_proof(struct mwg_auth *a, const cJSON *proof, const char *node_key,
			 const char *mkey_text, struct mwg_err *e)
{
	uint8_t nk[32], nonce[MWG_NONCE_LEN], want_m[32], got_m[32];
	char *plain;
	int r = 0;

	if (!node_key || mwg_key_parse(node_key, "nodekey:", nk))
		return mwg_fail(e, 400, "node key must be \"nodekey:\" + 64 hex digits");
	if (!cJSON_IsObject(proof))
		return mwg_fail(e, 401, "missing proof of possession of %s", node_key);
	plain = mwg_unseal(a->priv, nk, proof, nonce, NULL, e);
	if (!plain)
		return mwg_fail(e, 401, "proof for %.80s does not open", node_key);
	if (nonce[MWG_NONCE_DIR] != MWG_DIR_PROOF) {
		free(plain);
		return mwg_fail(e, 401, "proof for %.80s is not a proof (direction label)", node_key);
	}
	/* bound to the machine key (compared as a key, whatever the hex case) */
	if (mwg_key_parse(mkey_text, "mkey:", want_m) ||
	    strncmp(plain, MWG_PROOF_CONTEXT, strlen(MWG_PROOF_CONTEXT)) ||
	    mwg_key_parse(plain + strlen(MWG_PROOF_CONTEXT), "mkey:", got_m) ||
	    sodium_memcmp(want_m, got_m, 32))
		r = mwg_fail(e, 401, "proof for %.80s is not bound to this machine key", node_key);
	else if (fresh(a, nonce, e))
		r = -1;
	free(plain);
	return r;
}
