/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BLAKE2s (RFC 7693), keyed and unkeyed, output 1..32 bytes, and the
 * WireGuard message pieces built on it (mac1/cookie label hashes, le32
 * fields); for the test helpers only (libsodium has BLAKE2b, not BLAKE2s).
 */
#ifndef MESHWG_TEST_BLAKE2S_H
#define MESHWG_TEST_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct blake2s_state {
	uint32_t h[8], t[2], f[2];
	uint8_t buf[64];
	size_t buflen, outlen;
};

static const uint32_t blake2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t b2s_ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t b2s_load(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void blake2s_compress(struct blake2s_state *s, const uint8_t block[64])
{
	uint32_t m[16], v[16];
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = b2s_load(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];
#define B2S_G(a, b, c, d, x, y)                          \
	do {                                             \
		v[a] = v[a] + v[b] + (x);                \
		v[d] = b2s_ror(v[d] ^ v[a], 16);         \
		v[c] = v[c] + v[d];                      \
		v[b] = b2s_ror(v[b] ^ v[c], 12);         \
		v[a] = v[a] + v[b] + (y);                \
		v[d] = b2s_ror(v[d] ^ v[a], 8);          \
		v[c] = v[c] + v[d];                      \
		v[b] = b2s_ror(v[b] ^ v[c], 7);          \
	} while (0)
	for (r = 0; r < 10; r++) {
		const uint8_t *sg = blake2s_sigma[r];

		B2S_G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		B2S_G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		B2S_G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		B2S_G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		B2S_G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		B2S_G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		B2S_G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		B2S_G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
#undef B2S_G
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static inline void blake2s_inc(struct blake2s_state *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

static inline void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len)
{
	while (len > 0) {
		size_t take;

		if (s->buflen == 64) {
			blake2s_inc(s, 64);
			blake2s_compress(s, s->buf);
			s->buflen = 0;
		}
		take = 64 - s->buflen;
		if (take > len)
			take = len;
		memcpy(s->buf + s->buflen, in, take);
		s->buflen += take;
		in += take;
		len -= take;
	}
}

static inline void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key,
			 size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000 ^ (uint32_t)(keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		uint8_t block[64] = { 0 };

		memcpy(block, key, keylen);
		blake2s_update(s, block, 64);
	}
}

static inline void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t full[32];
	int i;

	blake2s_inc(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, 64 - s->buflen);
	s->f[0] = 0xffffffff;
	blake2s_compress(s, s->buf);
	for (i = 0; i < 8; i++) {
		full[4 * i] = s->h[i];
		full[4 * i + 1] = s->h[i] >> 8;
		full[4 * i + 2] = s->h[i] >> 16;
		full[4 * i + 3] = s->h[i] >> 24;
	}
	memcpy(out, full, s->outlen);
}

static inline void blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
			   const uint8_t *in, size_t inlen)
{
	struct blake2s_state s;

	blake2s_init(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}

/* Little-endian 32-bit fields of WireGuard messages. */
static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* WireGuard's HASH(LABEL || public key), for the mac1 and cookie keys:
 * label is 8 bytes ("mac1----", "cookie--"). */
static inline void label_hash(uint8_t out[32], const char *label, const uint8_t pub[32])
{
	struct blake2s_state st;

	blake2s_init(&st, 32, NULL, 0);
	blake2s_update(&st, (const uint8_t *)label, 8);
	blake2s_update(&st, pub, 32);
	blake2s_final(&st, out);
}

#endif
