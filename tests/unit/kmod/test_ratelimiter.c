// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/ratelimiter.c: token arithmetic, per-source buckets (IPv4 /32,
 * IPv6 /64, per namespace), keyed buckets of other kinds, the bound on the table, garbage collection of
 * idle buckets and the refcounted global init. The source file is included
 * whole so that the GC work function and counters can be reached.
 */
#include "src/ratelimiter.c"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

/* Time for one handshake's worth of tokens. */
#define COST (NSEC_PER_SEC / MWG_RATELIMITER_PACKETS_PER_SECOND)
#define BURST MWG_RATELIMITER_PACKETS_BURSTABLE
#define FULL (BURST * NSEC_PER_SEC)

static bool take(u64 *tokens, u64 *last, u64 now)
{
	return mwg_token_bucket_take(tokens, last, now,
				     MWG_RATELIMITER_PACKETS_PER_SECOND, BURST);
}

struct src {
	struct iphdr ip4;
	struct ipv6hdr ip6;
	struct sk_buff skb;
};

static struct sk_buff *v4(struct src *s, u32 addr)
{
	memset(s, 0, sizeof(*s));
	s->ip4.saddr = cpu_to_be32(addr);
	s->skb.network_header = (u8 *)&s->ip4;
	s->skb.protocol = htons(ETH_P_IP);
	return &s->skb;
}

static struct sk_buff *v6(struct src *s, u64 prefix, u64 host)
{
	u64 p = cpu_to_be64(prefix), h = cpu_to_be64(host);

	memset(s, 0, sizeof(*s));
	memcpy(s->ip6.saddr.s6_addr, &p, 8);
	memcpy(s->ip6.saddr.s6_addr + 8, &h, 8);
	s->skb.network_header = (u8 *)&s->ip6;
	s->skb.protocol = htons(ETH_P_IPV6);
	return &s->skb;
}

static int burst(struct sk_buff *skb, struct net *net, int tries)
{
	int i, ok = 0;

	for (i = 0; i < tries; ++i)
		ok += mwg_ratelimiter_allow(skb, net);
	return ok;
}

static long live_before;

static int setup(void **state)
{
	(void)state;
	live_before = shim_live_allocs;
	shim_totalram_pages = 1UL << 18;
	assert_int_equal(mwg_ratelimiter_init(), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mwg_ratelimiter_uninit();
	assert_int_equal(init_refcount, 0);
	assert_int_equal(atomic_read(&total_entries), 0);
	assert_int_equal(shim_live_allocs, live_before);
	assert_int_equal(shim_locks_held, 0);
	return 0;
}

static void test_token_arithmetic(void **state)
{
	u64 tokens = FULL, last = 1000, now = 1000;
	int i;

	(void)state;
	for (i = 0; i < BURST; ++i)
		assert_true(take(&tokens, &last, now));
	assert_false(take(&tokens, &last, now));
	assert_int_equal(tokens, 0);
	/* Just short of one packet's worth of time: still no. */
	now += COST - 1;
	assert_false(take(&tokens, &last, now));
	now += 1;
	assert_true(take(&tokens, &last, now));
	assert_int_equal(last, now);
	/* A long idle refills to the burst size, not beyond. */
	now += 1000ULL * NSEC_PER_SEC;
	for (i = 0; i < BURST; ++i)
		assert_true(take(&tokens, &last, now));
	assert_false(take(&tokens, &last, now));
	/* A clock going backwards gives nothing. */
	now -= 10ULL * NSEC_PER_SEC;
	assert_false(take(&tokens, &last, now));
	/* Huge gaps do not overflow. */
	tokens = FULL - 1;
	last = 0;
	assert_true(take(&tokens, &last, UINT64_MAX));
	assert_int_equal(tokens, FULL - NSEC_PER_SEC);
	/* More than full counts as full: U64_MAX starts a bucket full. */
	tokens = UINT64_MAX;
	last = now;
	for (i = 0; i < BURST; ++i)
		assert_true(take(&tokens, &last, now));
	assert_false(take(&tokens, &last, now));
	/* Rate or burst 0: nothing ever passes. */
	tokens = UINT64_MAX;
	assert_false(mwg_token_bucket_take(&tokens, &last, now, 0, BURST));
	assert_false(mwg_token_bucket_take(&tokens, &last, now, 20, 0));
}

/*
 * Large rates (module parameters are any u32): rate * elapsed must not
 * wrap. 10 s at 1,844,674,408/s is 2^64 + ~6.3e9 token units, which
 * wrapped would leave 6 packets instead of a full bucket of 1000.
 */
static void test_token_overflow(void **state)
{
	const u32 rate = 1844674408u, burst = 1000;
	u64 tokens = 0, last = 0, now = 10ULL * NSEC_PER_SEC;
	u32 i;

	(void)state;
	for (i = 0; i < burst; ++i)
		assert_true(mwg_token_bucket_take(&tokens, &last, now, rate, burst));
	assert_false(mwg_token_bucket_take(&tokens, &last, now, rate, burst));
	/* The largest rate and burst, over the longest gap: full, no more. */
	tokens = 0;
	last = 0;
	assert_true(mwg_token_bucket_take(&tokens, &last, UINT64_MAX, UINT32_MAX,
					  UINT32_MAX));
	assert_true(tokens == (u64)UINT32_MAX * NSEC_PER_SEC - NSEC_PER_SEC);
	/* Nearly full plus a refill that alone fits: still capped. */
	tokens = (u64)UINT32_MAX * NSEC_PER_SEC - 1;
	last = 0;
	assert_true(mwg_token_bucket_take(&tokens, &last, NSEC_PER_SEC,
					  UINT32_MAX, UINT32_MAX));
	assert_true(tokens == (u64)UINT32_MAX * NSEC_PER_SEC - NSEC_PER_SEC);
}

static void test_per_source_buckets(void **state)
{
	struct net net1 = { 1 }, net2 = { 2 };
	struct src s;

	(void)state;
	assert_int_equal(burst(v4(&s, 0x0a000001), &net1, 20), BURST);
	/* Another address, or the same one in another namespace: fresh. */
	assert_int_equal(burst(v4(&s, 0x0a000002), &net1, 20), BURST);
	assert_int_equal(burst(v4(&s, 0x0a000001), &net2, 20), BURST);
	/* One bucket per IPv6 /64: hopping hosts inside it does not help. */
	assert_int_equal(burst(v6(&s, 0x20010db800000001ULL, 1), &net1, 3), 3);
	assert_int_equal(burst(v6(&s, 0x20010db800000001ULL, 99), &net1, 20),
			 BURST - 3);
	assert_int_equal(burst(v6(&s, 0x20010db800000002ULL, 1), &net1, 20),
			 BURST);
	/* Neither IPv4 nor IPv6: refused. */
	s.skb.protocol = 0;
	assert_false(mwg_ratelimiter_allow(&s.skb, &net1));
	/* Time refills: one more per COST nanoseconds. */
	shim_now_ns += COST;
	assert_int_equal(burst(v4(&s, 0x0a000001), &net1, 20), 1);
	shim_now_ns += 3 * COST;
	assert_int_equal(burst(v4(&s, 0x0a000001), &net1, 20), 3);
	assert_int_equal(atomic_read(&total_entries), 5);
}

/* Buckets of other kinds and owners, with their own rate and burst. */
static void test_keyed_buckets(void **state)
{
	struct net net = { 1 };
	int dev1, dev2, i, ok;
	struct src s;

	(void)state;
	/* A source spent on handshakes still has its agent budget. */
	assert_int_equal(burst(v4(&s, 0x0a000001), &net, 20), BURST);
	for (i = 0, ok = 0; i < 50; ++i)
		ok += mwg_ratelimiter_allow_source(v4(&s, 0x0a000001), &dev1,
						   MWG_RATELIMIT_AGENT, 100, 32);
	assert_int_equal(ok, 32);
	/* Another device, or another source on the same device: fresh. */
	for (i = 0, ok = 0; i < 50; ++i)
		ok += mwg_ratelimiter_allow_source(v4(&s, 0x0a000001), &dev2,
						   MWG_RATELIMIT_AGENT, 100, 32);
	assert_int_equal(ok, 32);
	for (i = 0, ok = 0; i < 50; ++i)
		ok += mwg_ratelimiter_allow_source(v6(&s, 0x20010db8ULL << 32, 1),
						   &dev1, MWG_RATELIMIT_AGENT,
						   100, 32);
	assert_int_equal(ok, 32);
	/* Keys (relay ids): per key, per owner, per kind. */
	for (i = 0, ok = 0; i < 10; ++i)
		ok += mwg_ratelimiter_allow_key(7, &dev1, MWG_RATELIMIT_INJECT,
						10, 3);
	assert_int_equal(ok, 3);
	assert_true(mwg_ratelimiter_allow_key(8, &dev1, MWG_RATELIMIT_INJECT,
					      10, 3));
	assert_true(mwg_ratelimiter_allow_key(7, &dev1,
					      MWG_RATELIMIT_RELAY_HANDSHAKE,
					      10, 3));
	/* One more per 1/rate second; a rate or burst of 0 passes nothing. */
	shim_now_ns += NSEC_PER_SEC / 10;
	assert_true(mwg_ratelimiter_allow_key(7, &dev1, MWG_RATELIMIT_INJECT,
					      10, 3));
	assert_false(mwg_ratelimiter_allow_key(7, &dev1, MWG_RATELIMIT_INJECT,
					       10, 3));
	assert_false(mwg_ratelimiter_allow_key(9, &dev1, MWG_RATELIMIT_INJECT,
					       0, 3));
	assert_false(mwg_ratelimiter_allow_key(9, &dev1, MWG_RATELIMIT_INJECT,
					       10, 0));
	assert_int_equal(atomic_read(&total_entries), 7);
}

static void test_gc_drops_idle_buckets(void **state)
{
	struct net net = { 1 };
	struct src s;

	(void)state;
	assert_true(mwg_ratelimiter_allow(v4(&s, 0xc0000201), &net));
	assert_true(mwg_ratelimiter_allow(v6(&s, 0xfd7a115c00000000ULL, 5), &net));
	assert_true(gc_work.work.pending);
	/* Not idle for a second yet: kept. */
	shim_now_ns += NSEC_PER_SEC / 2;
	gc_entries(&gc_work.work);
	assert_int_equal(atomic_read(&total_entries), 2);
	assert_true(mwg_ratelimiter_allow(v4(&s, 0xc0000201), &net));
	/* v4 used half a second ago, v6 a full second+: only v6 goes. */
	shim_now_ns += NSEC_PER_SEC / 2 + 1;
	gc_entries(&gc_work.work);
	assert_int_equal(atomic_read(&total_entries), 1);
	shim_now_ns += NSEC_PER_SEC;
	gc_entries(&gc_work.work);
	assert_int_equal(atomic_read(&total_entries), 0);
	/* And it rearmed itself. */
	assert_true(gc_work.work.pending);
}

static void test_table_is_bounded(void **state)
{
	struct net net = { 1 };
	struct src s;
	u32 i;

	(void)state;
	/* Re-init small: 16 buckets, so at most 128 sources. */
	mwg_ratelimiter_uninit();
	shim_totalram_pages = 16;
	assert_int_equal(mwg_ratelimiter_init(), 0);
	assert_int_equal(table_size, 16);
	assert_int_equal(max_entries, 128);
	for (i = 0; i < max_entries; ++i)
		assert_true(mwg_ratelimiter_allow(v4(&s, 0x0b000000 + i), &net));
	/* Full: a new source is refused, known ones keep their budget. */
	assert_false(mwg_ratelimiter_allow(v4(&s, 0x0c000000), &net));
	assert_true(mwg_ratelimiter_allow(v4(&s, 0x0b000000), &net));
	assert_int_equal(atomic_read(&total_entries), 128);
	/* Failing allocation for a new source: refused, counted back. */
	shim_now_ns += 2 * NSEC_PER_SEC;
	gc_entries(&gc_work.work);
	shim_fail_alloc_at = shim_alloc_count + 1;
	assert_false(mwg_ratelimiter_allow(v4(&s, 0x0c000000), &net));
	shim_fail_alloc_at = 0;
	assert_int_equal(atomic_read(&total_entries), 0);
	assert_true(mwg_ratelimiter_allow(v4(&s, 0x0c000000), &net));
}

static void test_init_refcount_and_failure(void **state)
{
	struct net net = { 1 };
	struct src s;
	long live;

	(void)state;
	/* A second device shares the tables; its uninit keeps them. */
	assert_int_equal(mwg_ratelimiter_init(), 0);
	assert_true(mwg_ratelimiter_allow(v4(&s, 0x01020304), &net));
	mwg_ratelimiter_uninit();
	assert_int_equal(init_refcount, 1);
	assert_int_equal(burst(v4(&s, 0x01020304), &net, 10), BURST - 1);
	mwg_ratelimiter_uninit();
	assert_int_equal(init_refcount, 0);
	assert_int_equal(atomic_read(&total_entries), 0);
	assert_false(gc_work.work.pending);

	/* Every allocation of init failing in turn: -ENOMEM, nothing kept. */
	live = shim_live_allocs;
	for (unsigned long k = 1; k <= 3; ++k) {
		shim_fail_alloc_at = shim_alloc_count + k;
		assert_int_equal(mwg_ratelimiter_init(), -ENOMEM);
		assert_int_equal(init_refcount, 0);
		assert_int_equal(shim_live_allocs, live);
	}
	shim_fail_alloc_at = 0;
	/* An extra uninit is harmless. */
	mwg_ratelimiter_uninit();
	assert_int_equal(mwg_ratelimiter_init(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_arithmetic),
		cmocka_unit_test(test_token_overflow),
		cmocka_unit_test_setup_teardown(test_per_source_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyed_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_drops_idle_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_refcount_and_failure, setup, teardown),
	};

	return cmocka_run_group_tests_name("ratelimiter", tests, NULL, NULL);
}
