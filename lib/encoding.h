/* SPDX-License-Identifier: GPL-2.0 OR MIT */
#ifndef MESHWG_ENCODING_H
#define MESHWG_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containers.h"

/* 44 characters of standard base64 plus the terminating NUL. */
#define KEY_B64_LEN 45

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[KEY_LEN]);
/* Exactly 44 characters of canonical standard base64 decoding to 32 bytes. */
bool key_from_base64(uint8_t key[KEY_LEN], const char *b64);
bool key_is_zero(const uint8_t key[KEY_LEN]);

/* Hex (upper or lower case, even length) to bytes; returns the byte count or -1. */
long hex_decode(uint8_t *out, size_t out_len, const char *hex);
/* Bytes to lower-case hex; out must hold 2 * len + 1 characters. */
void hex_encode(char *out, const uint8_t *in, size_t len);

#endif
