// SPDX-License-Identifier: GPL-2.0
/* The out-of-line parts of the userspace shim (see shim.h). */
#include "shim.h"

long shim_locks_held;
long shim_fail_alloc_after = -1;

void *shim_zalloc(size_t n)
{
	if (shim_fail_alloc_after == 0)
		return NULL;
	if (shim_fail_alloc_after > 0)
		shim_fail_alloc_after--;
	return calloc(1, n ? n : 1);
}

void sort(void *base, size_t num, size_t size,
	  int (*cmp)(const void *, const void *), void *swap)
{
	(void)swap;
	if (num)
		qsort(base, num, size, cmp);
}

static u64 rng_state = 0x243f6a8885a308d3ULL;

void get_random_bytes(void *buf, size_t len)
{
	u8 *p = buf;

	while (len--) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		*p++ = (u8)rng_state;
	}
}

/* SipHash-2-4, written from the paper's description. */
#define ROTL(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

u64 siphash(const void *data, size_t len, const siphash_key_t *key)
{
	const u8 *in = data;
	u64 v0 = 0x736f6d6570736575ULL ^ key->key[0];
	u64 v1 = 0x646f72616e646f6dULL ^ key->key[1];
	u64 v2 = 0x6c7967656e657261ULL ^ key->key[0];
	u64 v3 = 0x7465646279746573ULL ^ key->key[1];
	u64 b = (u64)len << 56, m;
	size_t i, left = len % 8;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; ++j)
		b |= (u64)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
