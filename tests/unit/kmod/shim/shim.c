// SPDX-License-Identifier: GPL-2.0
/*
 * Implementations behind shim/kernel.h: allocation with fault injection, a
 * deterministic random source, a settable clock, libsodium-backed
 * ChaCha20-Poly1305 and Curve25519, our own BLAKE2s (RFC 7693), and the peer
 * reference counting that kmod/peer.c provides in the kernel.
 */
#include "kernel.h"
#include "peer.h"
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>
#include <sodium.h>

unsigned int mwg_rekey_after_time = 120;
unsigned int mwg_reject_after_time = 180;
unsigned int mwg_rekey_timeout = 5;
unsigned int mwg_keepalive_timeout = 10;

unsigned long shim_fail_alloc_at, shim_alloc_count;
long shim_live_allocs;
long shim_locks_held;
unsigned long shim_totalram_pages = 1UL << 18; /* 1 GiB */
u64 shim_now_ns = 1000ULL * NSEC_PER_SEC;
s64 shim_realtime_sec = 1700000000;
long shim_realtime_nsec;
int system_power_efficient_wq;

void *shim_alloc(size_t size)
{
	void *p;

	if (++shim_alloc_count == shim_fail_alloc_at)
		return NULL;
	p = calloc(1, size ? size : 1);
	if (p)
		shim_live_allocs++;
	return p;
}

void shim_free(void *p)
{
	if (p)
		shim_live_allocs--;
	free(p);
}

struct kmem_cache *shim_kmem_cache_create(size_t size)
{
	struct kmem_cache *c = shim_alloc(sizeof(*c));

	if (c)
		c->size = size;
	return c;
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	shim_free(c);
}

/* xorshift64*: reproducible runs from a fixed seed. */
static u64 rng_state = 0x9e3779b97f4a7c15ULL;

void shim_random_seed(u64 seed)
{
	rng_state = seed ? seed : 1;
}

static u64 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

void get_random_bytes(void *buf, size_t len)
{
	u8 *p = buf;
	u64 r;

	while (len) {
		size_t n = min(len, sizeof(r));

		r = rng_next();
		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

u32 get_random_u32(void)
{
	return (u32)(rng_next() >> 32);
}

/* ---- peers: what kmod/peer.c does with the refcount ---- */
struct mwg_peer *mwg_peer_get_maybe_zero(struct mwg_peer *peer)
{
	if (!peer || !kref_get_unless_zero(&peer->refcount))
		return NULL;
	return peer;
}

void mwg_peer_put(struct mwg_peer *peer)
{
	if (peer) {
		assert(peer->refcount.refcount > 0);
		peer->refcount.refcount--;
	}
}

/* ---- Curve25519 and ChaCha20-Poly1305 via libsodium ---- */
static void sodium_once(void)
{
	static bool done;

	if (!done) {
		if (sodium_init() < 0)
			abort();
		done = true;
	}
}

bool curve25519(u8 out[32], const u8 secret[32], const u8 basepoint[32])
{
	sodium_once();
	/* libsodium refuses (-1) an all-zero result, as the kernel does. */
	return crypto_scalarmult(out, secret, basepoint) == 0;
}

bool curve25519_generate_public(u8 pub[32], const u8 secret[32])
{
	static const u8 zero[32];

	sodium_once();
	if (!memcmp(secret, zero, 32))
		return false;
	return crypto_scalarmult_base(pub, secret) == 0;
}

void curve25519_clamp_secret(u8 secret[32])
{
	secret[0] &= 248;
	secret[31] = (secret[31] & 127) | 64;
}

void curve25519_generate_secret(u8 secret[32])
{
	get_random_bytes(secret, 32);
	curve25519_clamp_secret(secret);
}

static void ietf_nonce(u8 out[12], u64 nonce)
{
	memset(out, 0, 4);
	memcpy(out + 4, &nonce, 8); /* little endian host */
}

void chacha20poly1305_encrypt(u8 *dst, const u8 *src, size_t src_len,
			      const u8 *ad, size_t ad_len, u64 nonce,
			      const u8 key[32])
{
	u8 n[12];

	sodium_once();
	ietf_nonce(n, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, src_len, ad,
						  ad_len, NULL, n, key);
}

bool chacha20poly1305_decrypt(u8 *dst, const u8 *src, size_t src_len,
			      const u8 *ad, size_t ad_len, u64 nonce,
			      const u8 key[32])
{
	u8 scratch[1];
	u8 n[12];

	sodium_once();
	if (src_len < 16)
		return false;
	ietf_nonce(n, nonce);
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst ? dst : scratch,
							 NULL, NULL, src,
							 src_len, ad, ad_len,
							 n, key) == 0;
}

void xchacha20poly1305_encrypt(u8 *dst, const u8 *src, size_t src_len,
			       const u8 *ad, size_t ad_len, const u8 nonce[24],
			       const u8 key[32])
{
	sodium_once();
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, src_len, ad,
						   ad_len, NULL, nonce, key);
}

bool xchacha20poly1305_decrypt(u8 *dst, const u8 *src, size_t src_len,
			       const u8 *ad, size_t ad_len, const u8 nonce[24],
			       const u8 key[32])
{
	sodium_once();
	if (src_len < 16)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src,
							  src_len, ad, ad_len,
							  nonce, key) == 0;
}

/* ---- BLAKE2s, RFC 7693 ---- */
static const u32 blake2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19
};

static const u8 blake2s_sigma[10][16] = {
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

static u32 ror32(u32 x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void blake2s_compress(struct blake2s_state *s, const u8 block[64],
			     bool last)
{
	u32 m[16], v[16];
	int i, r;

	for (i = 0; i < 16; ++i)
		memcpy(&m[i], block + 4 * i, 4); /* little endian host */
	for (i = 0; i < 8; ++i) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];

#define G(a, b, c, d, x, y)                          \
	do {                                         \
		v[a] += v[b] + (x);                  \
		v[d] = ror32(v[d] ^ v[a], 16);       \
		v[c] += v[d];                        \
		v[b] = ror32(v[b] ^ v[c], 12);       \
		v[a] += v[b] + (y);                  \
		v[d] = ror32(v[d] ^ v[a], 8);        \
		v[c] += v[d];                        \
		v[b] = ror32(v[b] ^ v[c], 7);        \
	} while (0)

	for (r = 0; r < 10; ++r) {
		const u8 *sg = blake2s_sigma[r];

		G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
#undef G
	for (i = 0; i < 8; ++i)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void blake2s_counter_add(struct blake2s_state *s, u32 n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void blake2s_init_key(struct blake2s_state *s, size_t outlen,
		      const void *key, size_t keylen)
{
	u8 block[64] = { 0 };

	assert(outlen >= 1 && outlen <= 32 && keylen <= 32);
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000U ^ ((u32)keylen << 8) ^ (u32)outlen;
	s->outlen = outlen;
	if (keylen) {
		memcpy(block, key, keylen);
		blake2s_update(s, block, sizeof(block));
	}
}

void blake2s_init(struct blake2s_state *s, size_t outlen)
{
	blake2s_init_key(s, outlen, NULL, 0);
}

void blake2s_update(struct blake2s_state *s, const u8 *in, size_t inlen)
{
	while (inlen) {
		size_t n;

		/* Keep the last block buffered: final must flag it. */
		if (s->buflen == 64) {
			blake2s_counter_add(s, 64);
			blake2s_compress(s, s->buf, false);
			s->buflen = 0;
		}
		n = min(inlen, (size_t)(64 - s->buflen));
		memcpy(s->buf + s->buflen, in, n);
		s->buflen += n;
		in += n;
		inlen -= n;
	}
}

void blake2s_final(struct blake2s_state *s, u8 *out)
{
	u8 full[32];

	blake2s_counter_add(s, s->buflen);
	memset(s->buf + s->buflen, 0, 64 - s->buflen);
	blake2s_compress(s, s->buf, true);
	memcpy(full, s->h, sizeof(full)); /* little endian host */
	memcpy(out, full, s->outlen);
	memzero_explicit(s, sizeof(*s));
}

void blake2s(u8 *out, const u8 *in, const u8 *key, size_t outlen,
	     size_t inlen, size_t keylen)
{
	struct blake2s_state s;

	blake2s_init_key(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}
