// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Unit tests of the DERP frame codec (relay/derp_frame.c) and hex helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "derp_frame.h"
#include "../../lib/hex.h"

static uint8_t buf[DERP_HDR_LEN + 2 * DERP_KEY_LEN + DERP_MAX_PACKET + 8];

static void key_fill(uint8_t *k, uint8_t v)
{
	memset(k, v, DERP_KEY_LEN);
}

/* Parses buf[0..n) as exactly one complete frame. */
static struct derp_frame one(size_t n)
{
	struct derp_frame f;
	size_t used;

	assert_int_equal(derp_frame_parse(buf, n, &f, &used), DERP_PARSE_OK);
	assert_int_equal(used, n);
	assert_int_equal(f.len, n - DERP_HDR_LEN);
	return f;
}

static void test_header_layout(void **state)
{
	static const uint8_t want[] = { 0x04, 0x00, 0x01, 0x02, 0x03 };

	(void)state;
	assert_int_equal(derp_put_header(buf, 0x04, 0x00010203), 5);
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_server_key(void **state)
{
	static const uint8_t magic[8] = { 0x44, 0x45, 0x52, 0x50,
					  0xf0, 0x9f, 0x94, 0x91 };
	uint8_t k[DERP_KEY_LEN];
	const uint8_t *got;
	struct derp_frame f;

	(void)state;
	key_fill(k, 7);
	assert_int_equal(derp_put_server_key(buf, k), 45);
	assert_int_equal(buf[0], 0x01);
	assert_memory_equal(buf + 5, magic, 8);
	f = one(45);
	assert_true(derp_get_server_key(&f, &got));
	assert_memory_equal(got, k, DERP_KEY_LEN);
	buf[5] ^= 1;	/* bad magic */
	f = one(45);
	assert_false(derp_get_server_key(&f, &got));
}

static void test_client_and_server_info(void **state)
{
	uint8_t k[DERP_KEY_LEN], box[60];
	const uint8_t *gk, *gb;
	size_t bl, n;
	struct derp_frame f;

	(void)state;
	key_fill(k, 1);
	memset(box, 9, sizeof(box));
	n = derp_put_client_info(buf, k, box, sizeof(box));
	assert_int_equal(n, 5 + 32 + 60);
	f = one(n);
	assert_true(derp_get_client_info(&f, &gk, &gb, &bl));
	assert_memory_equal(gk, k, 32);
	assert_int_equal(bl, 60);
	assert_memory_equal(gb, box, 60);
	/* Key + nonce + MAC at least. */
	n = derp_put_client_info(buf, k, box, 24 + 15);
	f = one(n);
	assert_false(derp_get_client_info(&f, &gk, &gb, &bl));

	n = derp_put_server_info(buf, box, sizeof(box));
	f = one(n);
	assert_int_equal(f.type, DERP_FRAME_SERVER_INFO);
	assert_true(derp_get_server_info(&f, &gb, &bl));
	assert_int_equal(bl, 60);
	n = derp_put_server_info(buf, box, 39);
	f = one(n);
	assert_false(derp_get_server_info(&f, &gb, &bl));
}

static void test_packets(void **state)
{
	uint8_t k[DERP_KEY_LEN], k2[DERP_KEY_LEN];
	const uint8_t *gk, *gk2, *gp;
	size_t pl, n;
	struct derp_frame f;

	(void)state;
	key_fill(k, 2);
	key_fill(k2, 3);
	n = derp_put_packet_header(buf, DERP_FRAME_SEND_PACKET, k, 3);
	assert_int_equal(n, 37);
	memcpy(buf + n, "abc", 3);
	f = one(n + 3);
	assert_true(derp_get_packet(&f, &gk, &gp, &pl));
	assert_memory_equal(gk, k, 32);
	assert_int_equal(pl, 3);
	assert_memory_equal(gp, "abc", 3);
	/* Empty packets are packets; the largest is 64 KiB. */
	n = derp_put_packet_header(buf, DERP_FRAME_RECV_PACKET, k, 0);
	f = one(n);
	assert_true(derp_get_packet(&f, &gk, &gp, &pl));
	assert_int_equal(pl, 0);
	n = derp_put_packet_header(buf, DERP_FRAME_RECV_PACKET, k,
				   DERP_MAX_PACKET);
	f = one(n + DERP_MAX_PACKET);
	assert_true(derp_get_packet(&f, &gk, &gp, &pl));
	assert_int_equal(pl, DERP_MAX_PACKET);

	n = derp_put_forward_header(buf, k, k2, 2);
	assert_int_equal(n, 69);
	memcpy(buf + n, "hi", 2);
	f = one(n + 2);
	assert_true(derp_get_forward(&f, &gk, &gk2, &gp, &pl));
	assert_memory_equal(gk, k, 32);
	assert_memory_equal(gk2, k2, 32);
	assert_int_equal(pl, 2);
	/* A packet frame shorter than its key. */
	derp_put_header(buf, DERP_FRAME_SEND_PACKET, 31);
	f = one(5 + 31);
	assert_false(derp_get_packet(&f, &gk, &gp, &pl));
}

static void test_small_frames(void **state)
{
	uint8_t k[DERP_KEY_LEN], ip[16], gip[16];
	const uint8_t *gk, *gd;
	uint8_t reason, flags;
	uint16_t port;
	uint32_t a, b;
	bool pref;
	struct derp_frame f;

	(void)state;
	key_fill(k, 4);
	f = one(derp_put_empty(buf, DERP_FRAME_KEEP_ALIVE));
	assert_int_equal(f.type, DERP_FRAME_KEEP_ALIVE);

	f = one(derp_put_note_preferred(buf, true));
	assert_true(derp_get_note_preferred(&f, &pref));
	assert_true(pref);
	f = one(derp_put_note_preferred(buf, false));
	assert_true(derp_get_note_preferred(&f, &pref));
	assert_false(pref);
	derp_put_header(buf, DERP_FRAME_NOTE_PREFERRED, 2);
	f = one(7);
	assert_false(derp_get_note_preferred(&f, &pref));

	f = one(derp_put_peer_gone(buf, k, DERP_PEER_GONE_NOT_HERE));
	assert_int_equal(f.len, 33);
	assert_true(derp_get_peer_gone(&f, &gk, &reason));
	assert_int_equal(reason, DERP_PEER_GONE_NOT_HERE);
	f.len = 32;	/* old servers: no reason byte */
	assert_true(derp_get_peer_gone(&f, &gk, &reason));
	assert_int_equal(reason, DERP_PEER_GONE_DISCONNECTED);

	memset(ip, 0, 16);
	ip[10] = ip[11] = 0xff;
	ip[12] = 192;
	ip[15] = 1;
	f = one(derp_put_peer_present(buf, k, ip, 41641, DERP_PRESENT_REGULAR));
	assert_int_equal(f.len, 51);
	assert_int_equal(buf[5 + 48], 41641 >> 8);
	assert_true(derp_get_peer_present(&f, &gk, gip, &port, &flags));
	assert_memory_equal(gip, ip, 16);
	assert_int_equal(port, 41641);
	assert_int_equal(flags, DERP_PRESENT_REGULAR);
	f.len = 32;
	assert_true(derp_get_peer_present(&f, &gk, gip, &port, &flags));
	assert_int_equal(port, 0);

	f = one(derp_put_close_peer(buf, k));
	assert_true(derp_get_close_peer(&f, &gk));

	f = one(derp_put_ping(buf, DERP_FRAME_PING, (const uint8_t *)"12345678"));
	assert_true(derp_get_ping(&f, &gd));
	assert_memory_equal(gd, "12345678", 8);
	f = one(derp_put_ping(buf, DERP_FRAME_PONG, (const uint8_t *)"abcdefgh"));
	assert_int_equal(f.type, DERP_FRAME_PONG);
	assert_true(derp_get_ping(&f, &gd));
	derp_put_header(buf, DERP_FRAME_PING, 7);
	f = one(12);
	assert_false(derp_get_ping(&f, &gd));

	f = one(derp_put_health(buf, "dup", 3));
	assert_int_equal(f.type, DERP_FRAME_HEALTH);
	assert_memory_equal(f.payload, "dup", 3);

	f = one(derp_put_restarting(buf, 1000, 60000));
	assert_true(derp_get_restarting(&f, &a, &b));
	assert_int_equal(a, 1000);
	assert_int_equal(b, 60000);
}

static void test_parse_incremental_and_bounds(void **state)
{
	struct derp_frame f;
	size_t used, n;
	uint8_t k[DERP_KEY_LEN];

	(void)state;
	key_fill(k, 5);
	n = derp_put_peer_gone(buf, k, 0);
	n += derp_put_empty(buf + n, DERP_FRAME_KEEP_ALIVE);
	for (size_t i = 0; i < DERP_PEER_GONE_SIZE; i++)
		assert_int_equal(derp_frame_parse(buf, i, &f, &used),
				 DERP_PARSE_MORE);
	assert_int_equal(derp_frame_parse(buf, n, &f, &used), DERP_PARSE_OK);
	assert_int_equal(used, DERP_PEER_GONE_SIZE);
	assert_int_equal(derp_frame_parse(buf + used, n - used, &f, &used),
			 DERP_PARSE_OK);
	assert_int_equal(f.type, DERP_FRAME_KEEP_ALIVE);

	/* Over the limit is known from the header alone. */
	derp_put_header(buf, DERP_FRAME_SEND_PACKET, 32 + DERP_MAX_PACKET + 1);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
	derp_put_header(buf, DERP_FRAME_SEND_PACKET, 32 + DERP_MAX_PACKET);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used), DERP_PARSE_MORE);
	derp_put_header(buf, DERP_FRAME_FORWARD_PACKET, 64 + DERP_MAX_PACKET + 1);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
	derp_put_header(buf, DERP_FRAME_CLIENT_INFO, DERP_MAX_CLIENT_INFO + 1);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
	derp_put_header(buf, DERP_FRAME_PING, DERP_MAX_PING + 1);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
	/* Unknown types: skippable up to 1 MiB. */
	derp_put_header(buf, 0x7f, DERP_MAX_INFO);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used), DERP_PARSE_MORE);
	derp_put_header(buf, 0x7f, DERP_MAX_INFO + 1);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
	derp_put_header(buf, 0x7f, 0xffffffffu);
	assert_int_equal(derp_frame_parse(buf, 5, &f, &used),
			 DERP_PARSE_TOO_BIG);
}

static void test_disco_and_hex(void **state)
{
	uint8_t pkt[62] = { 'T', 'S', 0xf0, 0x9f, 0x92, 0xac };
	uint8_t raw[3] = { 0x00, 0xab, 0xff }, back[3];
	char hex[7];

	(void)state;
	assert_true(derp_looks_like_disco(pkt, 62));
	assert_false(derp_looks_like_disco(pkt, 61));
	pkt[0] = 'X';
	assert_false(derp_looks_like_disco(pkt, 62));

	hex_encode(hex, raw, 3);
	assert_string_equal(hex, "00abff");
	assert_int_equal(hex_decode(back, 3, "00ABff"), 3);
	assert_memory_equal(back, raw, 3);
	assert_int_equal(hex_decode(back, 3, "00abf"), -1);
	assert_int_equal(hex_decode(back, 3, "00abfg"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_server_key),
		cmocka_unit_test(test_client_and_server_info),
		cmocka_unit_test(test_packets),
		cmocka_unit_test(test_small_frames),
		cmocka_unit_test(test_parse_incremental_and_bounds),
		cmocka_unit_test(test_disco_and_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
