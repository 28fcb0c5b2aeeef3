// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Keys as text (lib/key.c) and hex (lib/hex.c). */

#include <sodium.h>

#include "helpers.h"
#include "hex.h"
#include "key.h"

static void test_key_round_trip(void **state)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_B64_LEN];
	int i;

	(void)state;
	for (i = 0; i < 1000; ++i) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		assert_int_equal(strlen(b64), 44);
		assert_int_equal(b64[43], '=');
		assert_true(key_from_base64(back, b64));
		assert_memory_equal(key, back, KEY_LEN);
	}
}

static void test_known_vector(void **state)
{
	uint8_t key[KEY_LEN];
	char b64[KEY_B64_LEN];
	int i;

	(void)state;
	for (i = 0; i < KEY_LEN; ++i)
		key[i] = (uint8_t)i;
	key_to_base64(b64, key);
	assert_string_equal(b64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	memset(key, 0, sizeof(key));
	assert_true(key_is_zero(key));
	key_to_base64(b64, key);
	assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	key[31] = 1;
	assert_false(key_is_zero(key));
}

static void test_invalid_base64(void **state)
{
	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	  /* 43, no padding */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", /* 45 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",	  /* no '=' */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	  /* non-canonical bits */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8=",	  /* bad char */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=",	  /* url-safe alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=Hh8=",	  /* padding inside */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd h8=",	  /* space */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",	  /* 31 bytes */
		NULL
	};
	uint8_t key[KEY_LEN], orig[KEY_LEN];
	size_t i;

	(void)state;
	memset(orig, 0x5a, sizeof(orig));
	for (i = 0; bad[i]; ++i) {
		memcpy(key, orig, sizeof(key));
		if (key_from_base64(key, bad[i]))
			fail_msg("`%s' accepted", bad[i]);
		assert_memory_equal(key, orig, KEY_LEN);
	}
	assert_false(key_from_base64(key, NULL));
}

static void test_hex(void **state)
{
	uint8_t buf[8];
	char out[17];

	(void)state;
	assert_int_equal(hex_decode(buf, sizeof(buf), "00ff10Ab"), 4);
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(buf[2], 0x10);
	assert_int_equal(buf[3], 0xab);
	hex_encode(out, buf, 4);
	assert_string_equal(out, "00ff10ab");
	assert_int_equal(hex_decode(buf, sizeof(buf), ""), 0);
	assert_int_equal(hex_decode(buf, sizeof(buf), "abc"), -1);
	assert_int_equal(hex_decode(buf, sizeof(buf), "zz"), -1);
	assert_int_equal(hex_decode(buf, sizeof(buf), "0x00"), -1);
	assert_int_equal(hex_decode(buf, sizeof(buf), "000102030405060708"), -1); /* 9 > 8 */
	assert_int_equal(hex_decode(buf, sizeof(buf), "0001020304050607"), 8);
	/* A missing JSON string reaches the decoder as NULL: refused, no crash. */
	assert_int_equal(hex_decode(buf, sizeof(buf), NULL), -1);
	assert_int_equal(hex_nibble('F'), 15);
	assert_int_equal(hex_nibble('g'), -1);
	assert_int_equal(hex_nibble(-1), -1);
}

/* "prefix:<64 hex>", the protocol's key text: the one parser the agent's
 * netmap checks, its state files and the server use. */
static void test_key_text(void **state)
{
	static const char lower[] =
		"nodekey:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	static const char upper[] =
		"nodekey:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
	uint8_t key[MWG_KEY_LEN], k2[MWG_KEY_LEN];
	char text[MWG_KEY_TEXT_MAX];

	(void)state;
	assert_int_equal(mwg_key_parse(lower, "nodekey:", key), 0);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[31], 0xff);
	mwg_key_format(text, sizeof(text), "nodekey:", key);
	assert_string_equal(text, lower);
	/* Either case parses to the same key; the text written is lower case. */
	assert_int_equal(mwg_key_parse(upper, "nodekey:", k2), 0);
	assert_memory_equal(key, k2, MWG_KEY_LEN);
	assert_int_equal(mwg_key_parse(lower, "mkey:", key), -1);
	assert_int_equal(mwg_key_parse(NULL, "nodekey:", key), -1);
	assert_int_equal(mwg_key_parse("nodekey:", "nodekey:", key), -1);
	assert_int_equal(mwg_key_parse("nodekey:00", "nodekey:", key), -1);
	/* 63 and 66 digits. */
	assert_int_equal(mwg_key_parse(
		"nodekey:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
		"nodekey:", key), -1);
	assert_int_equal(mwg_key_parse(
		"nodekey:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
		"nodekey:", key), -1);
	assert_int_equal(mwg_key_parse(
		"nodekey:g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"nodekey:", key), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_round_trip),
		cmocka_unit_test(test_known_vector),
		cmocka_unit_test(test_invalid_base64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_key_text),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
