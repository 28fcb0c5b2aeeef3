/* SPDX-License-Identifier: MIT */
/*
 * Server-side request authentication: opens the sealed request envelope
 * {"machine_key","nonce","box"}, checks the nonce is fresh (timestamp within
 * the allowed skew) and strictly newer than any earlier one of the same
 * machine (replay), and checks node-key proofs.
 */
#ifndef MWG_AUTH_H
#define MWG_AUTH_H

#include <pthread.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "../lib/seal.h"
#include "../lib/util.h"

struct mwg_auth_entry;

struct mwg_auth {
	uint8_t priv[32], pub[32];
	int64_t max_skew_ns;
	struct mwg_nonce_gen gen;
	pthread_mutex_t lock;
	struct mwg_auth_entry **table;
	size_t nbuckets, count, inserts;
	/* Nonces older than this (ns) are refused (0: no limit). */
	uint64_t not_before_ns;
	/* Optional second replay check (shared database), after the local one. */
	int (*shared_check)(void *arg, const char *mkey_text, uint64_t ts, uint64_t ctr,
			    struct mwg_err *e);
	void *shared_arg;
};

int mwg_auth_init(struct mwg_auth *a, const uint8_t priv[32], int64_t max_skew_s);
void mwg_auth_destroy(struct mwg_auth *a);

/* Opens a request body. On success fills mkey (and its text) and the
 * request's nonce, and returns the parsed inner JSON object (caller owns).
 * NULL with e set (400/401). */
cJSON *mwg_auth_open(struct mwg_auth *a, const char *body, size_t len, uint8_t mkey[32],
		     char mkey_text[MWG_KEY_TEXT_MAX], uint8_t req[MWG_NONCE_LEN],
		     struct mwg_err *e);
/* Forgets machines whose last nonce is older than now_ns - max skew: a
 * replay of it would be stale anyway. Done every 1024 new machines. */
void mwg_auth_prune(struct mwg_auth *a, uint64_t now_ns);
/* Seals the reply plain (a JSON object's text) to the request with nonce req
 * from mkey (mwg_reply_text). Returns malloc'd JSON text. */
char *mwg_auth_seal(struct mwg_auth *a, const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
		    const char *plain);
/* Checks a node-key proof for node_key (text "nodekey:...") bound to mkey_text. */
int mwg_auth_check_proof(struct mwg_auth *a, const cJSON *proof, const char *node_key,
			 const char *mkey_text, struct mwg_err *e);

#endif
