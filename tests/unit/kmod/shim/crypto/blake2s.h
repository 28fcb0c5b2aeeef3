/* SPDX-License-Identifier: GPL-2.0 */
/* BLAKE2s (RFC 7693) with the kernel's lib/crypto signatures. */
#ifndef SHIM_BLAKE2S_H
#define SHIM_BLAKE2S_H
#include "../kernel.h"

enum blake2s_lengths {
	BLAKE2S_BLOCK_SIZE = 64,
	BLAKE2S_HASH_SIZE = 32,
	BLAKE2S_KEY_SIZE = 32
};

struct blake2s_state {
	u32 h[8];
	u32 t[2];
	u8 buf[BLAKE2S_BLOCK_SIZE];
	unsigned int buflen;
	unsigned int outlen;
};

void blake2s_init(struct blake2s_state *state, size_t outlen);
void blake2s_init_key(struct blake2s_state *state, size_t outlen,
		      const void *key, size_t keylen);
void blake2s_update(struct blake2s_state *state, const u8 *in, size_t inlen);
void blake2s_final(struct blake2s_state *state, u8 *out);
void blake2s(u8 *out, const u8 *in, const u8 *key, size_t outlen,
	     size_t inlen, size_t keylen);
#endif
