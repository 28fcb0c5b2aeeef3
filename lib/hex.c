// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Hex text <-> bytes (hex.h). */

#include <string.h>

#include "hex.h"

long hex_decode(uint8_t *out, size_t out_len, const char *hex)
{
	size_t len, i;

	if (!hex)
		return -1;
	len = strlen(hex);
	if (len % 2 || len / 2 > out_len)
		return -1;
	for (i = 0; i < len / 2; ++i) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

void hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; ++i) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}
