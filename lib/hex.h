/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Hex text <-> bytes: the one hex codec of the CLI, meshwgd and meshwg-control. */
#ifndef MESHWG_HEX_H
#define MESHWG_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (upper or lower case), or -1. */
static inline int hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Hex (upper or lower case, even length) to bytes; returns the byte count,
 * or -1 for NULL, bad digits, an odd length or more than out_len bytes.
 * Callers that want exactly n bytes compare the result with n.
 */
long hex_decode(uint8_t *out, size_t out_len, const char *hex);
/* Bytes to lower-case hex; out must hold 2 * len + 1 characters. */
void hex_encode(char *out, const uint8_t *in, size_t len);

#endif
