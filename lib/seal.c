// SPDX-License-Identifier: MIT
#include "seal.h"
#include "hex.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

void mwg_nonce_gen_init(struct mwg_nonce_gen *g)
{
	pthread_mutex_init(&g->lock, NULL);
	g->last_ts = 0;
	g->counter = 0;
	g->clock = mwg_now_ns;
	g->offset_ns = 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void mwg_nonce_make(struct mwg_nonce_gen *g, uint8_t dir, uint8_t nonce[MWG_NONCE_LEN])
{
	uint64_t ts;

	pthread_mutex_lock(&g->lock);
	ts = g->clock() + (uint64_t)g->offset_ns;
	/* time never goes backwards for us, and the counter never repeats */
	if (ts < g->last_ts)
		ts = g->last_ts;
	g->last_ts = ts;
	g->counter++;
	put_be64(nonce, ts);
	put_be64(nonce + 8, g->counter);
	pthread_mutex_unlock(&g->lock);
	nonce[MWG_NONCE_DIR] = dir;
	randombytes_buf(nonce + MWG_NONCE_DIR + 1, MWG_NONCE_LEN - MWG_NONCE_DIR - 1);
}

uint64_t mwg_nonce_ts(const uint8_t nonce[MWG_NONCE_LEN])
{
	return get_be64(nonce);
}

uint64_t mwg_nonce_counter(const uint8_t nonce[MWG_NONCE_LEN])
{
	return get_be64(nonce + 8);
}

cJSON *mwg_seal(const uint8_t priv[32], const uint8_t peer_pub[32], struct mwg_nonce_gen *g,
		uint8_t dir, const void *plain, size_t len)
{
	uint8_t nonce[MWG_NONCE_LEN], *c;
	char hex[2 * MWG_NONCE_LEN + 1], *b64;
	cJSON *o;

	c = malloc(len + crypto_box_MACBYTES);
	if (!c)
		return NULL;
	mwg_nonce_make(g, dir, nonce);
	if (crypto_box_easy(c, plain, len, nonce, peer_pub, priv) != 0) {
		free(c);
		return NULL;
	}
	b64 = mwg_b64_encode(c, len + crypto_box_MACBYTES);
	free(c);
	o = cJSON_CreateObject();
	hex_encode(hex, nonce, sizeof(nonce));
	if (!b64 || !o || !cJSON_AddStringToObject(o, "nonce", hex) ||
	    !cJSON_AddStringToObject(o, "box", b64)) {
		free(b64);
		cJSON_Delete(o);
		return NULL;
	}
	free(b64);
	return o;
}

char *mwg_unseal(const uint8_t priv[32], const uint8_t peer_pub[32], const cJSON *env,
		 uint8_t nonce[MWG_NONCE_LEN], size_t *len, struct mwg_err *e)
{
	const cJSON *jn = cJSON_GetObjectItemCaseSensitive(env, "nonce");
	const cJSON *jb = cJSON_GetObjectItemCaseSensitive(env, "box");
	uint8_t *c = NULL;
	size_t clen = 0;
	char *p;

	if (!cJSON_IsString(jn) || hex_decode(nonce, MWG_NONCE_LEN, jn->valuestring) != MWG_NONCE_LEN) {
		mwg_fail(e, 400, "\"nonce\" must be %d hex digits", 2 * MWG_NONCE_LEN);
		return NULL;
	}
	if (!cJSON_IsString(jb) || mwg_b64_decode(jb->valuestring, &c, &clen)) {
		mwg_fail(e, 400, "\"box\" must be base64");
		return NULL;
	}
	if (clen < crypto_box_MACBYTES) {
		free(c);
		mwg_fail(e, 401, "sealed box does not open");
		return NULL;
	}
	p = malloc(clen - crypto_box_MACBYTES + 1);
	if (!p) {
		free(c);
		mwg_fail(e, 500, "out of memory");
		return NULL;
	}
	if (crypto_box_open_easy((uint8_t *)p, c, clen, nonce, peer_pub, priv) != 0) {
		free(c);
		free(p);
		mwg_fail(e, 401, "sealed box does not open (wrong key or tampered)");
		return NULL;
	}
	free(c);
	p[clen - crypto_box_MACBYTES] = '\0';
	if (len)
		*len = clen - crypto_box_MACBYTES;
	return p;
}

cJSON *mwg_node_proof(const uint8_t node_priv[32], const uint8_t server_pub[32],
		      struct mwg_nonce_gen *g, const char *machine_key_text)
{
	char msg[sizeof(MWG_PROOF_CONTEXT) + MWG_KEY_TEXT_MAX];
	size_t n = (size_t)snprintf(msg, sizeof(msg), "%s%s", MWG_PROOF_CONTEXT, machine_key_text);

	return mwg_seal(node_priv, server_pub, g, MWG_DIR_PROOF, msg, n);
}

char *mwg_seal_line(const uint8_t k[32], struct mwg_nonce_gen *g, const void *plain, size_t len)
{
	uint8_t nonce[MWG_NONCE_LEN], *c;
	char hex[2 * MWG_NONCE_LEN + 1], *b64, *line = NULL;

	c = malloc(len + crypto_box_MACBYTES);
	if (!c)
		return NULL;
	mwg_nonce_make(g, MWG_DIR_REPLY, nonce);
	crypto_box_easy_afternm(c, plain, len, nonce, k);
	b64 = mwg_b64_encode(c, len + crypto_box_MACBYTES);
	free(c);
	if (!b64)
		return NULL;
	hex_encode(hex, nonce, sizeof(nonce));
	if (asprintf(&line, "{\"nonce\":\"%s\",\"box\":\"%s\"}\n", hex, b64) < 0)
		line = NULL;
	free(b64);
	return line;
}

char *mwg_reply_text(const char *plain, const uint8_t req[MWG_NONCE_LEN])
{
	char hex[2 * MWG_NONCE_LEN + 1], *out = NULL;

	if (plain[0] != '{')
		return NULL;
	hex_encode(hex, req, MWG_NONCE_LEN);
	if (asprintf(&out, "{\"req\":\"%s\"%s%s", hex, plain[1] == '}' ? "" : ",", plain + 1) < 0)
		return NULL;
	return out;
}
