// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Keys as text (key.h): base64 (libsodium) and "prefix:<64 hex>". */

#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "hex.h"
#include "key.h"

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[MWG_KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN, key, MWG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool key_from_base64(uint8_t key[MWG_KEY_LEN], const char *b64)
{
	uint8_t tmp[MWG_KEY_LEN];
	size_t bin_len = 0;
	const char *end = NULL;

	if (!b64 || strlen(b64) != KEY_B64_LEN - 1 || b64[KEY_B64_LEN - 2] != '=')
		return false;
	if (sodium_base642bin(tmp, sizeof(tmp), b64, KEY_B64_LEN - 1, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	if (bin_len != MWG_KEY_LEN || !end || *end != '\0') {
		sodium_memzero(tmp, sizeof(tmp));
		return false;
	}
	memcpy(key, tmp, MWG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return true;
}

bool key_is_zero(const uint8_t key[MWG_KEY_LEN])
{
	return sodium_is_zero(key, MWG_KEY_LEN);
}

int mwg_key_parse(const char *text, const char *prefix, uint8_t key[MWG_KEY_LEN])
{
	size_t pl = strlen(prefix);

	if (!text || strncmp(text, prefix, pl) != 0 ||
	    strlen(text + pl) != 2 * MWG_KEY_LEN ||
	    hex_decode(key, MWG_KEY_LEN, text + pl) != MWG_KEY_LEN)
		return -1;
	return 0;
}

void mwg_key_format(char *out, size_t outlen, const char *prefix,
		    const uint8_t key[MWG_KEY_LEN])
{
	char hex[2 * MWG_KEY_LEN + 1];

	hex_encode(hex, key, MWG_KEY_LEN);
	snprintf(out, outlen, "%s%s", prefix, hex);
}
