/* SPDX-License-Identifier: MIT */
/*
 * Sealed messages of the coordination protocol (docs/protocol.md):
 * NaCl crypto_box (Curve25519, XSalsa20-Poly1305) between two Curve25519
 * keys, with a 24-byte nonce = 8-byte big-endian unix time in ns, 8-byte
 * big-endian counter, 8 random bytes. Used by server and client.
 */
#ifndef MWG_SEAL_H
#define MWG_SEAL_H

#include <stdint.h>
#include <stddef.h>
#include <pthread.h>
#include <cjson/cJSON.h>
#include "util.h"

#define MWG_NONCE_LEN 24
/* The protocol version of /v1/key ("version"); 2 added the direction labels
 * and the request echo in replies. */
#define MWG_PROTOCOL_VERSION 2

/* Direction label, nonce byte 16 (docs/protocol.md, "Sealed messages"): one
 * crypto_box key serves both directions, so the label keeps a reply from
 * being reflected as a request (or a proof as either). */
#define MWG_DIR_REQUEST 'Q'
#define MWG_DIR_REPLY 'R'
#define MWG_DIR_PROOF 'P'
#define MWG_NONCE_DIR 16

struct mwg_nonce_gen {
	pthread_mutex_t lock;
	uint64_t last_ts, counter;
	/* The time of a nonce is clock() + offset_ns: a client whose clock is
	 * wrong corrects it from the server's (mwgc_clock_resync). */
	uint64_t (*clock)(void);
	int64_t offset_ns;
};

/* clock = mwg_now_ns, offset 0. */
void mwg_nonce_gen_init(struct mwg_nonce_gen *g);
void mwg_nonce_make(struct mwg_nonce_gen *g, uint8_t dir, uint8_t nonce[MWG_NONCE_LEN]);
uint64_t mwg_nonce_ts(const uint8_t nonce[MWG_NONCE_LEN]);
uint64_t mwg_nonce_counter(const uint8_t nonce[MWG_NONCE_LEN]);

/* Seals plaintext from priv to peer_pub with direction label dir. Returns a
 * cJSON object {"nonce": hex, "box": base64} (caller owns), NULL on out of
 * memory. */
cJSON *mwg_seal(const uint8_t priv[32], const uint8_t peer_pub[32], struct mwg_nonce_gen *g,
		uint8_t dir, const void *plain, size_t len);
/* Opens {"nonce","box"} from peer_pub to priv (the caller checks the
 * direction label, nonce[MWG_NONCE_DIR]). Returns malloc'd,
 * NUL-terminated plaintext and the nonce, or NULL with e set (400/401). */
char *mwg_unseal(const uint8_t priv[32], const uint8_t peer_pub[32], const cJSON *env,
		 uint8_t nonce[MWG_NONCE_LEN], size_t *len, struct mwg_err *e);

/* The node-key proof: a box from the node key to the server key over
 * "meshwg-node-proof-v1 " + machine key text. */
#define MWG_PROOF_CONTEXT "meshwg-node-proof-v1 "
cJSON *mwg_node_proof(const uint8_t node_priv[32], const uint8_t server_pub[32],
		      struct mwg_nonce_gen *g, const char *machine_key_text);



/* Same as mwg_seal of a reply with a key precomputed by crypto_box_beforenm;
 * returns the envelope as one malloc'd line of JSON text ending in '\n'. */
char *mwg_seal_line(const uint8_t k[32], struct mwg_nonce_gen *g, const void *plain, size_t len);
/* A reply's plaintext: the JSON object text plain with "req" (the nonce of
 * the request it answers, hex) added first. malloc'd; NULL when plain is
 * not an object's text or out of memory. */
char *mwg_reply_text(const char *plain, const uint8_t req[MWG_NONCE_LEN]);
#endif
