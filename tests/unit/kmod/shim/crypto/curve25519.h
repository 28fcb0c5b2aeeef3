/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's curve25519 API on top of libsodium. */
#ifndef SHIM_CURVE25519_H
#define SHIM_CURVE25519_H
#include "../kernel.h"

enum curve25519_lengths {
	CURVE25519_KEY_SIZE = 32
};

bool curve25519(u8 out[CURVE25519_KEY_SIZE], const u8 secret[CURVE25519_KEY_SIZE],
		const u8 basepoint[CURVE25519_KEY_SIZE]);
bool curve25519_generate_public(u8 pub[CURVE25519_KEY_SIZE],
				const u8 secret[CURVE25519_KEY_SIZE]);
void curve25519_clamp_secret(u8 secret[CURVE25519_KEY_SIZE]);
void curve25519_generate_secret(u8 secret[CURVE25519_KEY_SIZE]);
#endif
