// SPDX-License-Identifier: GPL-2.0 OR MIT
/* STUN binding requests and responses (stun.h). */
#include "stun.h"

#include <netinet/in.h>
#include <string.h>

#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_SOFTWARE 0x8022
#define ATTR_FINGERPRINT 0x8028
#define FINGERPRINT_XOR 0x5354554eu
#define FINGERPRINT_ATTR_LEN 8

static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

uint32_t stun_crc32(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

enum stun_result stun_parse_request(const uint8_t *b, size_t len,
				    uint8_t txid[STUN_TXID_LEN])
{
	const uint8_t *a = b + STUN_HDR_LEN, *end = b + len;
	uint16_t last = 0;
	uint32_t fp = 0;
	int software = 0;

	if (len < STUN_HDR_LEN || (b[0] & 0xc0) || memcmp(b + 4, cookie, 4))
		return STUN_NOT_STUN;
	if (b[0] != 0x00 || b[1] != 0x01)
		return STUN_NOT_BINDING;
	while (a < end) {
		uint16_t type, alen, padded;

		if (end - a < 4)
			return STUN_BAD_ATTRS;
		type = get16(a);
		alen = get16(a + 2);
		padded = (uint16_t)((alen + 3u) & ~3u);
		a += 4;
		if (padded > end - a)
			return STUN_BAD_ATTRS;
		if (type == ATTR_SOFTWARE && alen == 8 &&
		    !memcmp(a, "tailnode", 8))
			software = 1;
		if (type == ATTR_FINGERPRINT && alen == 4)
			fp = get32(a);
		last = type;
		a += padded;
	}
	if (!software)
		return STUN_WRONG_SOFTWARE;
	if (last != ATTR_FINGERPRINT || len < STUN_HDR_LEN + FINGERPRINT_ATTR_LEN)
		return STUN_NO_FINGERPRINT;
	if (fp != (stun_crc32(b, len - FINGERPRINT_ATTR_LEN) ^ FINGERPRINT_XOR))
		return STUN_BAD_FINGERPRINT;
	memcpy(txid, b + 8, STUN_TXID_LEN);
	return STUN_OK;
}

size_t stun_response(uint8_t *out, const uint8_t txid[STUN_TXID_LEN],
		     const struct sockaddr *sa)
{
	const uint8_t *ip;
	uint16_t port;
	size_t alen;
	uint8_t fam;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		ip = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
		alen = 4;
		fam = 1;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		ip = s6->sin6_addr.s6_addr;
		port = ntohs(s6->sin6_port);
		alen = 16;
		fam = 2;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ip += 12;
			alen = 4;
			fam = 1;
		}
	} else {
		return 0;
	}
	out[0] = 0x01;	/* binding success response */
	out[1] = 0x01;
	out[2] = 0;
	out[3] = (uint8_t)(8 + alen);
	memcpy(out + 4, cookie, 4);
	memcpy(out + 8, txid, STUN_TXID_LEN);
	out[20] = ATTR_XOR_MAPPED_ADDRESS >> 8;
	out[21] = ATTR_XOR_MAPPED_ADDRESS & 0xff;
	out[22] = 0;
	out[23] = (uint8_t)(4 + alen);
	out[24] = 0;
	out[25] = fam;
	out[26] = (port >> 8) ^ cookie[0];
	out[27] = (port & 0xff) ^ cookie[1];
	for (size_t i = 0; i < alen; i++)
		out[28 + i] = ip[i] ^ (i < 4 ? cookie[i] : txid[i - 4]);
	return 28 + alen;
}
