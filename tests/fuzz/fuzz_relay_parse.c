// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target for meshwg-derper's parsers of untrusted input
 * (relay/): the HTTP request head, the DERP frame stream with every
 * payload decoder, and STUN binding requests.  The first byte picks the
 * parser; ASan/UBSan catch bad reads, the asserts the contracts.
 */
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "derp_frame.h"
#include "http.h"
#include "stun.h"

static void within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	assert(q >= buf && n <= len && q - buf <= (ptrdiff_t)(len - n));
}

static void frames(const uint8_t *b, size_t len)
{
	size_t off = 0, used;
	struct derp_frame f;

	while (derp_frame_parse(b + off, len - off, &f, &used) ==
	       DERP_PARSE_OK) {
		const uint8_t *k, *k2, *p;
		uint8_t ip[16], reason, flags;
		uint16_t port;
		uint32_t x, y;
		size_t n;
		bool pref;

		assert(used == DERP_HDR_LEN + (size_t)f.len && used <= len - off);
		assert(f.len <= derp_frame_max_len(f.type));
		if (derp_get_server_key(&f, &k))
			within(k, DERP_KEY_LEN, f.payload, f.len);
		if (derp_get_client_info(&f, &k, &p, &n)) {
			within(k, DERP_KEY_LEN, f.payload, f.len);
			within(p, n, f.payload, f.len);
			assert(n >= DERP_NONCE_LEN + DERP_BOX_MAC_LEN);
		}
		if (derp_get_server_info(&f, &p, &n))
			within(p, n, f.payload, f.len);
		if (derp_get_packet(&f, &k, &p, &n)) {
			within(p, n, f.payload, f.len);
			assert(n <= DERP_MAX_PACKET);
		}
		if (derp_get_forward(&f, &k, &k2, &p, &n))
			within(p, n, f.payload, f.len);
		derp_get_note_preferred(&f, &pref);
		if (derp_get_peer_gone(&f, &k, &reason))
			within(k, DERP_KEY_LEN, f.payload, f.len);
		derp_get_peer_present(&f, &k, ip, &port, &flags);
		derp_get_close_peer(&f, &k);
		if (derp_get_ping(&f, &p))
			within(p, DERP_PING_LEN, f.payload, f.len);
		derp_get_restarting(&f, &x, &y);
		if (f.type == DERP_FRAME_SEND_PACKET ||
		    f.type == DERP_FRAME_RECV_PACKET)
			derp_looks_like_disco(f.payload, f.len);
		off += used;
	}
}

static void http(const uint8_t *b, size_t len)
{
	struct http_request req;
	size_t used;

	if (http_parse_request((const char *)b, len, &req, &used) !=
	    HTTP_PARSE_OK)
		return;
	assert(used <= len && used <= HTTP_MAX_HEAD);
	within(req.method.p, req.method.len, b, used);
	within(req.path.p, req.path.len, b, used);
	if (req.upgrade.p)
		within(req.upgrade.p, req.upgrade.len, b, used);
	if (req.fast_start.p)
		within(req.fast_start.p, req.fast_start.len, b, used);
	if (req.challenge.p)
		within(req.challenge.p, req.challenge.len, b, used);
	http_value_is(&req.upgrade, "derp");
}

static void stun(const uint8_t *b, size_t len)
{
	uint8_t txid[STUN_TXID_LEN], out[STUN_MAX_RESPONSE];
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (stun_parse_request(b, len, txid) != STUN_OK)
		return;
	assert(!memcmp(txid, b + 8, STUN_TXID_LEN));
	assert(stun_response(out, txid, (struct sockaddr *)&s6) == 44);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		http(data + 1, size - 1);
		break;
	case 1:
		frames(data + 1, size - 1);
		break;
	default:
		stun(data + 1, size - 1);
	}
	return 0;
}
