// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Key and payload encodings: base64 keys (libsodium), hex payloads. */

#include <string.h>
#include <sodium.h>

#include "encoding.h"

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool key_from_base64(uint8_t key[KEY_LEN], const char *b64)
{
	uint8_t tmp[KEY_LEN];
	size_t bin_len = 0;
	const char *end = NULL;

	if (!b64 || strlen(b64) != KEY_B64_LEN - 1 || b64[KEY_B64_LEN - 2] != '=')
		return false;
	if (sodium_base642bin(tmp, sizeof(tmp), b64, KEY_B64_LEN - 1, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	if (bin_len != KEY_LEN || !end || *end != '\0') {
		sodium_memzero(tmp, sizeof(tmp));
		return false;
	}
	memcpy(key, tmp, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return true;
}

bool key_is_zero(const uint8_t key[KEY_LEN])
{
	return sodium_is_zero(key, KEY_LEN);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long hex_decode(uint8_t *out, size_t out_len, const char *hex)
{
	size_t len = strlen(hex), i;

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
