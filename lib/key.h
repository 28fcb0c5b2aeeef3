/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * 32-byte keys as text: the 44 characters of standard base64 of wg(8) and
 * the "prefix:<64 hex>" of the coordination protocol ("nodekey:", "mkey:",
 * "discokey:", "privkey:"; docs/protocol.md). The one key parser of the CLI,
 * meshwgd and meshwg-control.
 */
#ifndef MESHWG_KEY_H
#define MESHWG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MWG_KEY_LEN 32
/* 44 characters of standard base64 plus the terminating NUL. */
#define KEY_B64_LEN 45
/* Room for "prefix:<64 hex>" with any prefix in use. */
#define MWG_KEY_TEXT_MAX 80

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[MWG_KEY_LEN]);
/* Exactly 44 characters of canonical standard base64 decoding to 32 bytes. */
bool key_from_base64(uint8_t key[MWG_KEY_LEN], const char *b64);
bool key_is_zero(const uint8_t key[MWG_KEY_LEN]);

/* "prefix:<64 hex>" (either case) <-> 32 bytes; 0, or -1 for NULL or bad
 * text. mwg_key_format writes lower case. */
int mwg_key_parse(const char *text, const char *prefix, uint8_t key[MWG_KEY_LEN]);
void mwg_key_format(char *out, size_t outlen, const char *prefix,
		    const uint8_t key[MWG_KEY_LEN]);

#endif
