// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the sealed-box framing of the coordination protocol,
 * open path (lib/seal.c mwg_unseal, control/client/mwgc_open), as a
 * client meets it in every reply and map-stream line. The first byte picks
 * what the rest is:
 *   0: the text of an envelope off the wire (anyone on the path): it must be
 *      refused with a message, and nothing may crash or leak;
 *   1: a plaintext the server seals as a reply to the request of the
 *      exchange (its "req" added as the server does): unsealing gives back
 *      exactly the plaintext, and when mwgc_open accepts it, the message is
 *      the plaintext's object (minus the "req" the server added) and the
 *      client's newest seq only ever grows;
 *   2: the same plaintext sealed with the request direction label (a
 *      reflected request): always refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "client/mwgc_client.h"
#include "seal.h"

static struct mwgc c;
static uint8_t spriv[32], spub[32];
static struct mwg_nonce_gen sgen;

static void setup(void)
{
	uint8_t mpriv[32], npriv[32];

	memset(mpriv, 1, sizeof(mpriv));
	memset(npriv, 2, sizeof(npriv));
	memset(spriv, 3, sizeof(spriv));
	if (mwgc_init(&c, "http://127.0.0.1:1", mpriv, npriv))
		abort();
	crypto_scalarmult_base(spub, spriv);
	memcpy(c.spub, spub, 32);
	c.have_server_key = true;
	mwg_nonce_gen_init(&sgen);
}

static void sealed(const uint8_t *data, size_t size, uint8_t dir)
{
	struct mwgc_exchange x;
	struct mwg_err e = { 0 };
	uint8_t nonce[MWG_NONCE_LEN];
	char *plain, *text, *env_text, *back, *a, *b;
	cJSON *env, *msg, *want;
	int64_t seq_before = c.last_seq;
	size_t len;

	memset(&x, 0, sizeof(x));
	randombytes_buf(x.req, sizeof(x.req));
	plain = malloc(size + 1);
	if (!plain)
		abort();
	memcpy(plain, data, size);
	plain[size] = '\0';
	/* the server's reply: "req" first, as mwg_reply_text writes it */
	text = strlen(plain) == size ? mwg_reply_text(plain, x.req) : NULL;
	if (!text)
		text = strdup(plain);
	if (!text)
		abort();
	env = mwg_seal(spriv, c.mpub, &sgen, dir, text, strlen(text));
	if (!env)
		abort();
	/* the open path gives back exactly what was sealed */
	back = mwg_unseal(c.mpriv, spub, env, nonce, &len, &e);
	if (!back || len != strlen(text) || memcmp(back, text, len) ||
	    nonce[MWG_NONCE_DIR] != dir)
		abort();
	free(back);
	env_text = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (!env_text)
		abort();
	msg = mwgc_open(&c, env_text, &x, &e);
	free(env_text);
	if (!msg) {
		if (!e.msg[0] || e.status != 502)
			abort();
	} else {
		if (dir != MWG_DIR_REPLY)
			abort();	/* a reflected request was accepted */
		/* printed, not cJSON_Compare: that one fails on duplicate keys */
		want = cJSON_Parse(plain);
		a = cJSON_PrintUnformatted(msg);
		b = cJSON_PrintUnformatted(want);
		if (!a || !b || strcmp(a, b)) {
			fprintf(stderr, "opened message differs from the plaintext\n");
			abort();
		}
		free(a);
		free(b);
		cJSON_Delete(want);
		cJSON_Delete(msg);
		if (c.last_seq < seq_before)
			abort();
	}
	free(text);
	free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct mwgc_exchange x;
	struct mwg_err e = { 0 };
	cJSON *msg;
	char *text;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		memset(&x, 0, sizeof(x));
		text = malloc(size);
		if (!text)
			abort();
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		msg = mwgc_open(&c, text, &x, &e);
		free(text);
		if (msg || !e.msg[0])
			abort();	/* forged without the keys? */
		break;
	case 1:
		sealed(data + 1, size - 1, MWG_DIR_REPLY);
		break;
	default:
		sealed(data + 1, size - 1, MWG_DIR_REQUEST);
		break;
	}
	return 0;
}
