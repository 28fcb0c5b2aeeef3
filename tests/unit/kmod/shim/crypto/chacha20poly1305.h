/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's chacha20poly1305 API on top of libsodium. */
#ifndef SHIM_CHACHA20POLY1305_H
#define SHIM_CHACHA20POLY1305_H
#include "../kernel.h"

enum chacha20poly1305_lengths {
	XCHACHA20POLY1305_NONCE_SIZE = 24,
	CHACHA20POLY1305_KEY_SIZE = 32,
	CHACHA20POLY1305_AUTHTAG_SIZE = 16
};

void chacha20poly1305_encrypt(u8 *dst, const u8 *src, size_t src_len,
			      const u8 *ad, size_t ad_len, u64 nonce,
			      const u8 key[CHACHA20POLY1305_KEY_SIZE]);
bool chacha20poly1305_decrypt(u8 *dst, const u8 *src, size_t src_len,
			      const u8 *ad, size_t ad_len, u64 nonce,
			      const u8 key[CHACHA20POLY1305_KEY_SIZE]);
void xchacha20poly1305_encrypt(u8 *dst, const u8 *src, size_t src_len,
			       const u8 *ad, size_t ad_len,
			       const u8 nonce[XCHACHA20POLY1305_NONCE_SIZE],
			       const u8 key[CHACHA20POLY1305_KEY_SIZE]);
bool xchacha20poly1305_decrypt(u8 *dst, const u8 *src, size_t src_len,
			       const u8 *ad, size_t ad_len,
			       const u8 nonce[XCHACHA20POLY1305_NONCE_SIZE],
			       const u8 key[CHACHA20POLY1305_KEY_SIZE]);
#endif
