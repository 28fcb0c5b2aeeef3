// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Unit tests of the STUN binding code (relay/stun.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stun.h"

static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* A request as Tailscale's clients write it: 20 + 12 + 8 bytes. */
static size_t tailnode_request(uint8_t *b)
{
	static const uint8_t head[] = {
		0x00, 0x01, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42,
	};
	static const uint8_t sw[] = {
		0x80, 0x22, 0x00, 0x08, 't', 'a', 'i', 'l', 'n', 'o', 'd', 'e',
	};
	uint32_t fp;

	memcpy(b, head, 8);
	memcpy(b + 8, txid, 12);
	memcpy(b + 20, sw, sizeof(sw));
	fp = stun_crc32(b, 32) ^ 0x5354554eu;
	b[32] = 0x80;
	b[33] = 0x28;
	b[34] = 0;
	b[35] = 4;
	b[36] = fp >> 24;
	b[37] = fp >> 16;
	b[38] = fp >> 8;
	b[39] = fp;
	return 40;
}

static void test_crc32(void **state)
{
	(void)state;
	assert_int_equal(stun_crc32((const uint8_t *)"123456789", 9),
			 0xcbf43926u);
	assert_int_equal(stun_crc32(NULL, 0), 0);
}

static void test_request(void **state)
{
	uint8_t b[64], got[12];
	size_t n;

	(void)state;
	n = tailnode_request(b);
	assert_int_equal(stun_parse_request(b, n, got), STUN_OK);
	assert_memory_equal(got, txid, 12);

	b[39] ^= 1;
	assert_int_equal(stun_parse_request(b, n, got), STUN_BAD_FINGERPRINT);
	n = tailnode_request(b);
	b[31] = 'X';	/* "tailnodX" */
	assert_int_equal(stun_parse_request(b, n, got), STUN_WRONG_SOFTWARE);
	n = tailnode_request(b);
	assert_int_equal(stun_parse_request(b, 32, got), STUN_NO_FINGERPRINT);
	assert_int_equal(stun_parse_request(b, 37, got), STUN_BAD_ATTRS);
	b[1] = 0x11;	/* binding indication */
	assert_int_equal(stun_parse_request(b, n, got), STUN_NOT_BINDING);
	n = tailnode_request(b);
	b[4] = 0;
	assert_int_equal(stun_parse_request(b, n, got), STUN_NOT_STUN);
	n = tailnode_request(b);
	b[0] = 0x40;
	assert_int_equal(stun_parse_request(b, n, got), STUN_NOT_STUN);
	assert_int_equal(stun_parse_request(b, 19, got), STUN_NOT_STUN);
}

static void test_response_v4(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(41641) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(41641) };
	static const uint8_t want[32] = {
		0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
		0xa2 ^ 0x21, 0xa9 ^ 0x12,	/* 41641 = 0xa2a9 */
		192 ^ 0x21, 0 ^ 0x12, 2 ^ 0xa4, 1 ^ 0x42,
	};
	uint8_t out[STUN_MAX_RESPONSE];

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	assert_int_equal(stun_response(out, txid, (struct sockaddr *)&sin), 32);
	assert_memory_equal(out, want, 32);
	/* A v4-mapped address from a dual-stack socket is answered as v4. */
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &s6.sin6_addr);
	assert_int_equal(stun_response(out, txid, (struct sockaddr *)&s6), 32);
	assert_memory_equal(out, want, 32);
}

static void test_response_v6(void **state)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(3478) };
	static const uint8_t xorkey[16] = { 0x21, 0x12, 0xa4, 0x42,
					    1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					    11, 12 };
	uint8_t out[STUN_MAX_RESPONSE];

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	assert_int_equal(stun_response(out, txid, (struct sockaddr *)&s6), 44);
	assert_int_equal(out[3], 24);
	assert_int_equal(out[23], 20);
	assert_int_equal(out[25], 2);
	for (int i = 0; i < 16; i++)
		assert_int_equal(out[28 + i] ^ xorkey[i],
				 s6.sin6_addr.s6_addr[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_response_v4),
		cmocka_unit_test(test_response_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
