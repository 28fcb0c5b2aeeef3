/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Hex helpers for meshwg-derper.  Kept in this one file so that the shared
 * userspace library (lib/) can replace them later.
 */
#ifndef MESHWG_RELAY_HEX_H
#define MESHWG_RELAY_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of in[0..len); out must hold 2 * len + 1 characters. */
void relay_hex_encode(char *out, const uint8_t *in, size_t len);
/*
 * Exactly 2 * len hex digits (either case) from hex[0..hex_len) into out;
 * 0 on success, -1 on a wrong length or a non-hex character.
 */
int relay_hex_decode(uint8_t *out, size_t len, const char *hex,
		     size_t hex_len);

#endif
