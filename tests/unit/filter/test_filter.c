// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/filter.c in userspace: the classifier against a linear reference
 * evaluator on randomized rulesets, port and prefix edges, IPv4/IPv6,
 * fragments, the parser on good and malformed packets, the flow table with
 * an injected clock (timeouts, eviction), the whole decision, and every
 * validation refusal and allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "filter.h"
#include "reference.h"

#define SEC 1000000000ULL

/* Rulesets as the tests describe them. */

enum { P_DEFAULT, P_ANY, P_LIST };

struct trule {
	u8 action;
	int pmode;
	u8 protos[8];
	int np;
	struct mwg_filter_prefix src[6];
	int ns;
	struct mwg_filter_dst dst[6];
	int nd;
};

static struct mwg_filter_prefix pfx(const char *s)
{
	struct mwg_filter_prefix p = { 0 };
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = 0;
	if (inet_pton(AF_INET, buf, p.addr) == 1) {
		p.family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, buf, p.addr), 1);
		p.family = AF_INET6;
	}
	p.cidr = (u8)atoi(slash + 1);
	return p;
}

static struct mwg_filter_dst dstp(const char *s, u16 first, u16 last)
{
	struct mwg_filter_dst d = { .prefix = pfx(s), .first_port = first,
				    .last_port = last };
	return d;
}

static struct mwg_filter *build(const struct trule *r, int n, int *ret,
				const char **err)
{
	u32 ns = 0, nd = 0, si = 0, di = 0;
	struct mwg_filter *f;
	int i, j;

	for (i = 0; i < n; ++i) {
		ns += r[i].ns;
		nd += r[i].nd;
	}
	f = mwg_filter_alloc(n, ns, nd, 42, err);
	if (!f) {
		*ret = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; ++i) {
		struct mwg_filter_rule *fr = &f->rules[i];

		fr->action = r[i].action;
		fr->any_proto = r[i].pmode == P_ANY;
		for (j = 0; j < r[i].np; ++j)
			fr->proto_map[r[i].protos[j] / 32] |= 1U << (r[i].protos[j] % 32);
		fr->src_off = si;
		fr->n_src = r[i].ns;
		fr->dst_off = di;
		fr->n_dst = r[i].nd;
		for (j = 0; j < r[i].ns; ++j)
			f->src[si++] = r[i].src[j];
		for (j = 0; j < r[i].nd; ++j)
			f->dst[di++] = r[i].dst[j];
	}
	*ret = mwg_filter_compile(f, err);
	if (*ret) {
		mwg_filter_put(f);
		return NULL;
	}
	return f;
}

/* The reference: a plain first-match scan, written from the docs (reference.h). */

static u32 ref_lookup(const struct trule *r, int n,
		      const struct mwg_filter_pkt *p)
{
	int i, j, k;

	for (i = 0; i < n; ++i) {
		bool pm = false, sm = false;

		if (r[i].pmode == P_ANY)
			pm = true;
		else if (r[i].pmode == P_DEFAULT)
			pm = p->t.proto == 6 || p->t.proto == 17 ||
			     p->t.proto == 1 || p->t.proto == 58;
		for (j = 0; j < r[i].np; ++j)
			pm |= r[i].protos[j] == p->t.proto;
		if (!pm)
			continue;
		for (j = 0; j < r[i].ns; ++j)
			sm |= ref_prefix(&r[i].src[j], p->t.family, p->t.src);
		if (!sm)
			continue;
		for (k = 0; k < r[i].nd; ++k) {
			const struct mwg_filter_dst *d = &r[i].dst[k];

			if (!ref_prefix(&d->prefix, p->t.family, p->t.dst))
				continue;
			if (!ref_ports(p->t.proto))
				return i;
			if (p->flags & MWG_PKT_LATER_FRAG) {
				if (d->first_port == 0 && d->last_port == 65535)
					return i;
				continue;
			}
			if (p->t.dport >= d->first_port &&
			    p->t.dport <= d->last_port)
				return i;
		}
	}
	return MWG_FILTER_NONE;
}

/* Randomized rulesets from small pools, so that matches are common. */

static u64 rng;

static u32 rnd(u32 n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng % n);
}

static const u16 port_pool[] = { 0, 1, 21, 22, 23, 53, 80, 443, 1023, 1024,
				 8080, 65534, 65535 };
static const u8 proto_pool[] = { 1, 6, 17, 58, 132, 47, 33 };
static const u8 len4_pool[] = { 0, 8, 16, 23, 24, 30, 31, 32 };
static const u8 len6_pool[] = { 0, 48, 64, 120, 127, 128 };

static void rand_addr(u8 family, u8 a[16])
{
	memset(a, 0, 16);
	if (family == AF_INET) {
		a[0] = 10;
		a[1] = rnd(2);
		a[2] = rnd(2) ? 0 : 255;
		a[3] = rnd(4) + (rnd(2) ? 0 : 252);
	} else {
		a[0] = 0xfd;
		a[1] = 0x7a;
		a[5] = rnd(2);
		a[7] = rnd(2) ? 0 : 0x80;
		a[15] = rnd(4) + (rnd(2) ? 0 : 252);
	}
}

static struct mwg_filter_prefix rand_prefix(u8 family)
{
	struct mwg_filter_prefix p = { .family = family };
	u8 a[16];
	int i;

	rand_addr(family, a);
	p.cidr = family == AF_INET ? len4_pool[rnd(ARRAY_SIZE(len4_pool))] :
				     len6_pool[rnd(ARRAY_SIZE(len6_pool))];
	for (i = 0; i < 16; ++i) {
		int keep = p.cidr - i * 8;

		p.addr[i] = keep >= 8 ? a[i] :
			    keep <= 0 ? 0 : a[i] & (u8)(0xff00 >> keep);
	}
	return p;
}

static void rand_rule(struct trule *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->action = rnd(3) ? MESHWG_FILTER_ACCEPT : MESHWG_FILTER_DENY;
	r->pmode = rnd(4) == 0 ? P_ANY : rnd(2) ? P_DEFAULT : P_LIST;
	if (r->pmode == P_LIST) {
		r->np = 1 + rnd(3);
		for (i = 0; i < r->np; ++i)
			r->protos[i] = proto_pool[rnd(ARRAY_SIZE(proto_pool))];
	}
	r->ns = 1 + rnd(3);
	for (i = 0; i < r->ns; ++i)
		r->src[i] = rand_prefix(rnd(2) ? AF_INET : AF_INET6);
	r->nd = 1 + rnd(3);
	for (i = 0; i < r->nd; ++i) {
		u16 a = port_pool[rnd(ARRAY_SIZE(port_pool))];
		u16 b = port_pool[rnd(ARRAY_SIZE(port_pool))];

		r->dst[i].prefix = rand_prefix(rnd(2) ? AF_INET : AF_INET6);
		if (rnd(3) == 0) {
			a = 0;
			b = 65535;
		}
		r->dst[i].first_port = min(a, b);
		r->dst[i].last_port = max(a, b);
	}
}

static void rand_pkt(struct mwg_filter_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->t.family = rnd(2) ? AF_INET : AF_INET6;
	p->t.proto = rnd(8) ? proto_pool[rnd(ARRAY_SIZE(proto_pool))] : rnd(256);
	rand_addr(p->t.family, p->t.src);
	rand_addr(p->t.family, p->t.dst);
	if (rnd(10) == 0)
		p->flags |= MWG_PKT_LATER_FRAG;
	else if (ref_ports(p->t.proto))
		p->flags |= MWG_PKT_PORTS;
	p->t.sport = rnd(65536);
	p->t.dport = rnd(3) ? port_pool[rnd(ARRAY_SIZE(port_pool))] +
			      (u16)(rnd(3) - 1) : rnd(65536);
}

static void test_random_vs_reference(void **state)
{
	static struct trule rules[300];
	long cases = 0, matched = 0;
	int seed, scanned = 0, searched = 0;

	(void)state;
	for (seed = 1; seed <= 150; ++seed) {
		struct mwg_filter *f;
		const char *err;
		int n, i, ret;

		rng = 0x9e3779b97f4a7c15ULL * seed;
		n = seed % 10 == 0 ? 0 : 1 + rnd(seed % 3 ? 40 : 300);
		for (i = 0; i < n; ++i)
			rand_rule(&rules[i]);
		f = build(rules, n, &ret, &err);
		assert_int_equal(ret, 0);
		assert_non_null(f);
		/* Both lookups: the tuple scan and the prefix-set search. */
		if (f->n_tuples <= 16)
			scanned++;
		else
			searched++;
		for (i = 0; i < 300; ++i) {
			struct mwg_filter_pkt p;
			u32 want, got;

			rand_pkt(&p);
			want = ref_lookup(rules, n, &p);
			got = mwg_filter_lookup(f, &p);
			if (want != got)
				fail_msg("seed %d packet %d: want rule %d, got %d",
					 seed, i, (int)want, (int)got);
			cases++;
			matched += want != MWG_FILTER_NONE;
		}
		mwg_filter_put(f);
	}
	/* The pools must make the comparison meaningful. */
	assert_true(scanned >= 20 && searched >= 20);
	assert_true(cases == 45000);
	assert_true(matched > cases / 5);
	assert_true(matched < cases - cases / 10);
}

static struct mwg_filter_pkt mkpkt(const char *src, const char *dst, u8 proto,
				   u16 sport, u16 dport)
{
	struct mwg_filter_pkt p = { 0 };

	if (inet_pton(AF_INET, src, p.t.src) == 1) {
		p.t.family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, dst, p.t.dst), 1);
	} else {
		p.t.family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, src, p.t.src), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, p.t.dst), 1);
	}
	p.t.proto = proto;
	p.t.sport = sport;
	p.t.dport = dport;
	if (ref_ports(proto))
		p.flags = MWG_PKT_PORTS;
	p.len = 100;
	return p;
}

static void test_port_edges(void **state)
{
	struct trule r[3] = {
		{ .action = MESHWG_FILTER_DENY, .pmode = P_LIST, .protos = { 6 }, .np = 1,
		  .src = { pfx("0.0.0.0/0") }, .ns = 1,
		  .dst = { dstp("10.0.0.1/32", 22, 23) }, .nd = 1 },
		{ .action = MESHWG_FILTER_ACCEPT, .pmode = P_DEFAULT,
		  .src = { pfx("10.1.0.0/16"), pfx("fd00::/8") }, .ns = 2,
		  .dst = { dstp("10.0.0.0/24", 0, 1024), dstp("10.0.0.1/32", 65535, 65535),
			   dstp("fd00::1/128", 443, 443) }, .nd = 3 },
		{ .action = MESHWG_FILTER_ACCEPT, .pmode = P_ANY,
		  .src = { pfx("10.1.2.3/32") }, .ns = 1,
		  .dst = { dstp("10.0.0.1/32", 5000, 5000) }, .nd = 1 },
	};
	static const struct { const char *s, *d; u8 proto; u16 port; u32 want; } c[] = {
		{ "10.1.2.3", "10.0.0.1", 6, 21, 1 },
		{ "10.1.2.3", "10.0.0.1", 6, 22, 0 },
		{ "10.1.2.3", "10.0.0.1", 6, 23, 0 },
		{ "10.1.2.3", "10.0.0.1", 6, 24, 1 },
		{ "10.1.2.3", "10.0.0.1", 17, 22, 1 },
		{ "10.1.2.3", "10.0.0.1", 6, 1024, 1 },
		{ "10.1.2.3", "10.0.0.1", 6, 1025, MWG_FILTER_NONE },
		{ "10.1.2.3", "10.0.0.1", 6, 65534, MWG_FILTER_NONE },
		{ "10.1.2.3", "10.0.0.1", 6, 65535, 1 },
		{ "10.1.2.3", "10.0.0.1", 6, 0, 1 },
		{ "10.1.2.3", "10.0.0.1", 6, 5000, 2 },
		{ "10.1.2.3", "10.0.0.1", 47, 0, 2 },	/* any proto, GRE */
		{ "10.1.2.4", "10.0.0.1", 47, 0, MWG_FILTER_NONE },
		{ "10.1.2.3", "10.0.1.1", 6, 80, MWG_FILTER_NONE },
		{ "10.2.0.1", "10.0.0.1", 6, 80, MWG_FILTER_NONE },
		{ "10.1.2.3", "10.0.0.9", 1, 0, 1 },	/* ICMP: ports ignored */
		{ "fd12::5", "fd00::1", 6, 443, 1 },
		{ "fd12::5", "fd00::1", 6, 442, MWG_FILTER_NONE },
		{ "fd12::5", "fd00::1", 58, 0, 1 },
		{ "fe80::1", "fd00::1", 6, 443, MWG_FILTER_NONE },
	};
	struct mwg_filter *f;
	const char *err;
	size_t i;
	int ret;

	(void)state;
	f = build(r, 3, &ret, &err);
	assert_non_null(f);
	for (i = 0; i < ARRAY_SIZE(c); ++i) {
		struct mwg_filter_pkt p = mkpkt(c[i].s, c[i].d, c[i].proto, 1234,
						c[i].port);

		if (mwg_filter_lookup(f, &p) != c[i].want)
			fail_msg("case %zu: want %d got %d", i, (int)c[i].want,
				 (int)mwg_filter_lookup(f, &p));
		assert_int_equal(ref_lookup(r, 3, &p), c[i].want);
	}
	/* A later fragment matches only rules admitting every port. */
	{
		struct mwg_filter_pkt p = mkpkt("10.1.2.3", "10.0.0.1", 6, 0, 0);

		p.flags = MWG_PKT_LATER_FRAG;
		assert_int_equal(mwg_filter_lookup(f, &p), MWG_FILTER_NONE);
		p.t.proto = 1;
		assert_int_equal(mwg_filter_lookup(f, &p), 1);
	}
	mwg_filter_put(f);
}

/* Packets as bytes. */

static size_t ip4(u8 *b, const char *s, const char *d, u8 proto, u16 frag,
		  size_t l4len)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (u8)((20 + l4len) >> 8);
	b[3] = (u8)(20 + l4len);
	b[6] = (u8)(frag >> 8);
	b[7] = (u8)frag;
	b[8] = 64;
	b[9] = proto;
	inet_pton(AF_INET, s, b + 12);
	inet_pton(AF_INET, d, b + 16);
	return 20;
}

static size_t ip6(u8 *b, const char *s, const char *d, u8 nh, size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (u8)(plen >> 8);
	b[5] = (u8)plen;
	b[6] = nh;
	b[7] = 64;
	inet_pton(AF_INET6, s, b + 8);
	inet_pton(AF_INET6, d, b + 24);
	return 40;
}

static size_t l4ports(u8 *b, u16 sp, u16 dp, u8 tcpflags, size_t len)
{
	memset(b, 0, len);
	b[0] = (u8)(sp >> 8);
	b[1] = (u8)sp;
	b[2] = (u8)(dp >> 8);
	b[3] = (u8)dp;
	if (len >= 20) {
		b[12] = 5 << 4;
		b[13] = tcpflags;
	}
	return len;
}

static size_t icmp(u8 *b, u8 type, u16 id)
{
	memset(b, 0, 8);
	b[0] = type;
	b[4] = (u8)(id >> 8);
	b[5] = (u8)id;
	return 8;
}

static void test_parse(void **state)
{
	struct mwg_filter_pkt p;
	u8 b[300];
	size_t n;

	(void)state;
	/* TCP SYN over IPv4. */
	n = ip4(b, "10.0.0.1", "10.0.0.2", 6, 0, 20);
	n += l4ports(b + n, 1000, 22, MWG_TCP_SYN, 20);
	assert_int_equal(mwg_filter_parse(b, n, n, &p), 0);
	assert_int_equal(p.t.family, AF_INET);
	assert_int_equal(p.t.sport, 1000);
	assert_int_equal(p.t.dport, 22);
	assert_true(p.flags & MWG_PKT_PORTS);
	assert_true(p.flags & MWG_PKT_TCP);
	assert_int_equal(p.tcp_flags, MWG_TCP_SYN);
	assert_int_equal(p.len, 40);
	/* Trailing bytes beyond tot_len are ignored (len counts tot_len). */
	assert_int_equal(mwg_filter_parse(b, n + 10, n + 10, &p), 0);
	assert_int_equal(p.len, 40);
	/* Truncated TCP header, bad data offset, tot_len > len, bad version. */
	assert_int_equal(mwg_filter_parse(b, n - 1, n - 1, &p), -EINVAL);
	b[20 + 12] = 4 << 4;
	assert_int_equal(mwg_filter_parse(b, n, n, &p), -EINVAL);
	b[20 + 12] = 5 << 4;
	b[0] = 0x44;
	assert_int_equal(mwg_filter_parse(b, n, n, &p), -EINVAL);
	b[0] = 0x55;
	assert_int_equal(mwg_filter_parse(b, n, n, &p), -EINVAL);
	assert_int_equal(mwg_filter_parse(b, 10, 10, &p), -EINVAL);
	assert_int_equal(mwg_filter_parse(b, 0, 0, &p), -EINVAL);
	b[0] = 0x45;
	b[3] = 10;	/* tot_len below the header */
	assert_int_equal(mwg_filter_parse(b, n, n, &p), -EINVAL);

	/* IPv4 fragments: later ones carry no ports, first ones must. */
	n = ip4(b, "10.0.0.1", "10.0.0.2", 17, 185, 100);
	assert_int_equal(mwg_filter_parse(b, n + 100, n + 100, &p), 0);
	assert_true(p.flags & MWG_PKT_LATER_FRAG);
	assert_false(p.flags & (MWG_PKT_PORTS | MWG_PKT_MORE_FRAGS));
	assert_int_equal(p.t.proto, 17);
	b[4] = 0xbe;
	b[5] = 0xef;
	b[6] |= 0x20;
	assert_int_equal(mwg_filter_parse(b, n + 100, n + 100, &p), 0);
	assert_true(p.flags & MWG_PKT_MORE_FRAGS);
	assert_false(p.flags & MWG_PKT_FIRST_FRAG);
	assert_int_equal(p.frag_id, 0xbeef);
	n = ip4(b, "10.0.0.1", "10.0.0.2", 17, 0x2000, 8);
	b[5] = 9;
	l4ports(b + n, 1, 2, 0, 8);
	assert_int_equal(mwg_filter_parse(b, n + 8, n + 8, &p), 0);
	assert_int_equal(p.flags & (MWG_PKT_FIRST_FRAG | MWG_PKT_MORE_FRAGS |
				    MWG_PKT_LATER_FRAG),
			 MWG_PKT_FIRST_FRAG | MWG_PKT_MORE_FRAGS);
	assert_int_equal(p.frag_id, 9);
	n = ip4(b, "10.0.0.1", "10.0.0.2", 17, 0x2000, 4);
	l4ports(b + n, 1, 2, 0, 4);
	assert_int_equal(mwg_filter_parse(b, n + 4, n + 4, &p), -EINVAL);

	/* UDP over IPv6 behind a hop-by-hop and a fragment header. */
	n = ip6(b, "fd00::1", "fd00::2", 0, 8 + 8 + 8);
	memset(b + n, 0, 16);
	b[n] = 44;		/* hop-by-hop, next: fragment */
	b[n + 8] = 17;		/* fragment, next: UDP, offset 0 */
	l4ports(b + n + 16, 5353, 53, 0, 8);
	assert_int_equal(mwg_filter_parse(b, n + 24, n + 24, &p), 0);
	assert_int_equal(p.t.family, AF_INET6);
	assert_int_equal(p.t.proto, 17);
	assert_int_equal(p.t.dport, 53);
	assert_true(p.flags & MWG_PKT_PORTS);
	assert_false(p.flags & MWG_PKT_FIRST_FRAG);
	/* With M set and an identification: a first fragment. */
	b[n + 8 + 3] = 0x01;
	b[n + 8 + 4] = 0xa0;
	b[n + 8 + 7] = 0x05;
	assert_int_equal(mwg_filter_parse(b, n + 24, n + 24, &p), 0);
	assert_true(p.flags & MWG_PKT_FIRST_FRAG);
	assert_true(p.flags & MWG_PKT_MORE_FRAGS);
	assert_int_equal(p.frag_id, 0xa0000005);
	/*
	 * Two fragment headers, the first a first fragment, the second a
	 * later one (found by fuzz_filter_parse): malformed.
	 */
	n = ip6(b, "fd00::1", "fd00::2", 44, 8 + 8 + 8);
	memset(b + n, 0, 16);
	b[n] = 44;		/* fragment (offset 0, M), next: fragment */
	b[n + 3] = 0x01;
	b[n + 8] = 17;		/* fragment (offset 5), next: UDP */
	b[n + 8 + 3] = 0x28;
	l4ports(b + n + 16, 5353, 53, 0, 8);
	assert_int_equal(mwg_filter_parse(b, n + 24, n + 24, &p), -EINVAL);
	b[n] = 17;		/* one of them is fine */
	assert_int_equal(mwg_filter_parse(b, n + 24, n + 24, &p), 0);
	assert_true(p.flags & MWG_PKT_FIRST_FRAG);
	n = ip6(b, "fd00::1", "fd00::2", 0, 8 + 8 + 8);
	memset(b + n, 0, 16);
	b[n] = 44;
	b[n + 8] = 17;
	l4ports(b + n + 16, 5353, 53, 0, 8);
	/* Same with a non-zero fragment offset. */
	b[n + 8 + 3] = 0x08;
	assert_int_equal(mwg_filter_parse(b, n + 24, n + 24, &p), 0);
	assert_true(p.flags & MWG_PKT_LATER_FRAG);
	/* Headers beyond what is captured are malformed. */
	assert_int_equal(mwg_filter_parse(b, n + 12, n + 24, &p), -EINVAL);
	/* payload_len beyond the packet. */
	assert_int_equal(mwg_filter_parse(b, n + 23, n + 23, &p), -EINVAL);
	/* An endless chain of extension headers. */
	n = ip6(b, "fd00::1", "fd00::2", 60, 8 * 12);
	for (int i = 0; i < 12; ++i) {
		memset(b + n + 8 * i, 0, 8);
		b[n + 8 * i] = 60;
	}
	assert_int_equal(mwg_filter_parse(b, n + 96, n + 96, &p), -EINVAL);

	/* ICMPv6 echo, ICMP echo reply. */
	n = ip6(b, "fd00::1", "fd00::2", 58, 8);
	n += icmp(b + n, ICMPV6_ECHO_REQUEST, 777);
	assert_int_equal(mwg_filter_parse(b, n, n, &p), 0);
	assert_true(p.flags & MWG_PKT_ECHO_REQUEST);
	assert_int_equal(p.t.sport, 777);
	n = ip4(b, "10.0.0.1", "10.0.0.2", 1, 0, 8);
	n += icmp(b + n, ICMP_ECHOREPLY, 9);
	assert_int_equal(mwg_filter_parse(b, n, n, &p), 0);
	assert_true(p.flags & MWG_PKT_ECHO_REPLY);
	assert_int_equal(mwg_filter_parse(b, n - 1, n - 1, &p), -EINVAL);

	/* ICMP error quoting a UDP packet; a broken quote relates nothing. */
	n = ip4(b, "10.0.0.9", "10.0.0.1", 1, 0, 8 + 28);
	n += icmp(b + n, ICMP_DEST_UNREACH, 0);
	n += ip4(b + n, "10.0.0.1", "10.0.0.2", 17, 0, 8);
	n += l4ports(b + n, 4000, 53, 0, 8);
	assert_int_equal(mwg_filter_parse(b, n, n, &p), 0);
	assert_true(p.flags & MWG_PKT_ICMP_ERROR);
	assert_true(p.inner_flags & MWG_PKT_PORTS);
	assert_int_equal(p.inner.sport, 4000);
	assert_int_equal(p.inner.dport, 53);
	b[28] = 0x65;
	assert_int_equal(mwg_filter_parse(b, n, n, &p), 0);
	assert_false(p.flags & MWG_PKT_ICMP_ERROR);
}

/* Flow table and decisions. */

static struct mwg_filter_pkt out_pkt(const char *s, const char *d, u8 proto,
				     u16 sp, u16 dp, u8 tcpflags)
{
	struct mwg_filter_pkt p = mkpkt(s, d, proto, sp, dp);

	if (proto == 6) {
		p.flags |= MWG_PKT_TCP;
		p.tcp_flags = tcpflags;
	}
	return p;
}

static struct mwg_filter *empty_filter(void)
{
	const char *err;
	int ret;
	struct mwg_filter *f = build(NULL, 0, &ret, &err);

	assert_non_null(f);
	return f;
}

static void test_flows(void **state)
{
	struct mwg_flow_table *ft = mwg_flow_table_create(1024);
	struct mwg_filter *f = empty_filter();
	struct mwg_filter_pkt o, i;
	u64 t = 1000 * SEC;
	u32 rule;

	(void)state;
	assert_non_null(ft);
	/* No ruleset: everything passes; empty ruleset: nothing does. */
	i = out_pkt("10.0.0.2", "10.0.0.1", 17, 53, 4000, 0);
	assert_int_equal(mwg_filter_decide(NULL, ft, 7, &i, t, &rule), MWG_FILTER_PASS);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t, &rule), MWG_FILTER_DROP);
	assert_int_equal(rule, MWG_FILTER_NONE);

	/* UDP: our query opens the flow, the answer passes, until timeout. */
	o = out_pkt("10.0.0.1", "10.0.0.2", 17, 4000, 53, 0);
	mwg_flow_outbound(ft, 7, &o, t);
	assert_int_equal(mwg_flow_count(ft, t), 1);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t + SEC, &rule), MWG_FILTER_PASS);
	/* Not from another peer, not to another port. */
	assert_int_equal(mwg_filter_decide(f, ft, 8, &i, t + SEC, &rule), MWG_FILTER_DROP);
	i.t.dport = 4001;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t + SEC, &rule), MWG_FILTER_DROP);
	i.t.dport = 4000;
	/* Answered: the stream timeout (180 s) applies from the last packet. */
	assert_true(mwg_flow_inbound(ft, 7, &i, t + 100 * SEC));
	assert_true(mwg_flow_inbound(ft, 7, &i, t + 279 * SEC));
	assert_false(mwg_flow_inbound(ft, 7, &i, t + 460 * SEC));
	assert_int_equal(mwg_flow_count(ft, t + 460 * SEC), 0);

	/* Unanswered UDP: 30 s. */
	t += 1000 * SEC;
	mwg_flow_outbound(ft, 7, &o, t);
	assert_false(mwg_flow_inbound(ft, 7, &i, t + 31 * SEC));

	/* TCP: only a SYN opens a flow. */
	o = out_pkt("10.0.0.1", "10.0.0.2", 6, 40000, 443, MWG_TCP_ACK);
	i = out_pkt("10.0.0.2", "10.0.0.1", 6, 443, 40000, MWG_TCP_SYN | MWG_TCP_ACK);
	mwg_flow_outbound(ft, 7, &o, t);
	assert_false(mwg_flow_inbound(ft, 7, &i, t));
	o.tcp_flags = MWG_TCP_SYN;
	mwg_flow_outbound(ft, 7, &o, t);
	assert_true(mwg_flow_inbound(ft, 7, &i, t + SEC));
	/* Established: long timeout; FIN: short. */
	assert_true(mwg_flow_inbound(ft, 7, &i, t + 3000 * SEC));
	o.tcp_flags = MWG_TCP_FIN | MWG_TCP_ACK;
	mwg_flow_outbound(ft, 7, &o, t + 3001 * SEC);
	assert_true(mwg_flow_inbound(ft, 7, &i, t + 3005 * SEC));
	assert_false(mwg_flow_inbound(ft, 7, &i, t + 3020 * SEC));
	/* SYN never answered: gone after 60 s. */
	o.tcp_flags = MWG_TCP_SYN;
	mwg_flow_outbound(ft, 7, &o, t + 4000 * SEC);
	assert_false(mwg_flow_inbound(ft, 7, &i, t + 4061 * SEC));

	/* ICMP echo: the reply with the same id passes. */
	o = mkpkt("fd00::1", "fd00::2", 58, 99, 0);
	o.flags = MWG_PKT_ECHO_REQUEST;
	i = mkpkt("fd00::2", "fd00::1", 58, 99, 0);
	i.flags = MWG_PKT_ECHO_REPLY;
	mwg_flow_outbound(ft, 7, &o, t);
	assert_true(mwg_flow_inbound(ft, 7, &i, t + SEC));
	i.t.sport = 98;
	assert_false(mwg_flow_inbound(ft, 7, &i, t + SEC));
	/* An echo request from the peer is not return traffic. */
	i.t.sport = 99;
	i.flags = MWG_PKT_ECHO_REQUEST;
	assert_false(mwg_flow_inbound(ft, 7, &i, t + SEC));

	/* ICMP error about a packet of a tracked flow. */
	o = out_pkt("10.0.0.1", "10.0.0.3", 17, 5000, 9999, 0);
	mwg_flow_outbound(ft, 7, &o, t);
	i = mkpkt("10.0.0.3", "10.0.0.1", 1, 0, 0);
	i.flags = MWG_PKT_ICMP_ERROR;
	i.inner = o.t;
	i.inner_flags = MWG_PKT_PORTS;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t + SEC, &rule), MWG_FILTER_PASS);
	/* The same quote, aimed at another host behind us: unrelated. */
	assert_int_equal(inet_pton(AF_INET, "10.0.0.77", i.t.dst), 1);
	assert_false(mwg_flow_inbound(ft, 7, &i, t + SEC));
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t + SEC, &rule), MWG_FILTER_DROP);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", i.t.dst), 1);
	i.inner.dport = 9998;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &i, t + SEC, &rule), MWG_FILTER_DROP);

	assert_int_equal(shim_locks_held, 0);
	mwg_filter_put(f);
	mwg_flow_table_destroy(ft);
}

static void test_decide_rules(void **state)
{
	struct trule r[2] = {
		{ .action = MESHWG_FILTER_DENY, .pmode = P_DEFAULT,
		  .src = { pfx("10.0.0.66/32") }, .ns = 1,
		  .dst = { dstp("0.0.0.0/0", 0, 65535) }, .nd = 1 },
		{ .action = MESHWG_FILTER_ACCEPT, .pmode = P_LIST, .protos = { 6 }, .np = 1,
		  .src = { pfx("10.0.0.0/24") }, .ns = 1,
		  .dst = { dstp("10.0.0.1/32", 22, 22) }, .nd = 1 },
	};
	struct mwg_flow_table *ft = mwg_flow_table_create(64);
	struct mwg_filter_pkt p;
	struct mwg_filter *f;
	const char *err;
	u32 rule;
	int ret;

	(void)state;
	f = build(r, 2, &ret, &err);
	assert_non_null(f);
	p = out_pkt("10.0.0.5", "10.0.0.1", 6, 1234, 22, MWG_TCP_SYN);
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_PASS);
	assert_int_equal(rule, 1);
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_PASS);
	assert_int_equal(atomic64_read(&f->rules[1].packets), 2);
	assert_int_equal(atomic64_read(&f->rules[1].bytes), 200);
	p = out_pkt("10.0.0.66", "10.0.0.1", 6, 1234, 22, MWG_TCP_SYN);
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_DROP);
	assert_int_equal(rule, 0);
	assert_int_equal(atomic64_read(&f->rules[0].packets), 1);
	/* Return traffic of our own flow passes even a deny rule. */
	{
		struct mwg_filter_pkt o = out_pkt("10.0.0.1", "10.0.0.66", 6, 22, 1234,
						  MWG_TCP_SYN);

		mwg_flow_outbound(ft, 1, &o, SEC);
		assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule),
				 MWG_FILTER_PASS);
	}
	/*
	 * ICMP error about our answer in a connection the peer opened (to
	 * port 22, allowed): related, passes; about another port: dropped.
	 */
	p = mkpkt("10.0.0.5", "10.0.0.1", 1, 0, 0);
	p.flags = MWG_PKT_ICMP_ERROR;
	p.inner = out_pkt("10.0.0.1", "10.0.0.5", 6, 22, 1234, MWG_TCP_ACK).t;
	p.inner_flags = MWG_PKT_PORTS;
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_PASS);
	/* The same error sent to another host (PMTU poisoning): dropped. */
	assert_int_equal(inet_pton(AF_INET, "10.0.0.3", p.t.dst), 1);
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_DROP);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", p.t.dst), 1);
	p.inner.sport = 23;
	/* ICMP itself is allowed by no rule from 10.0.0.5 (rule 1 is TCP). */
	assert_int_equal(mwg_filter_decide(f, ft, 1, &p, SEC, &rule), MWG_FILTER_DROP);
	mwg_filter_put(f);
	mwg_flow_table_destroy(ft);
}

/* Fragmented answers: later fragments follow their first one. */
static void test_fragments(void **state)
{
	struct trule r[1] = {
		{ .action = MESHWG_FILTER_ACCEPT, .pmode = P_LIST, .protos = { 17 }, .np = 1,
		  .src = { pfx("10.0.0.0/24") }, .ns = 1,
		  .dst = { dstp("10.0.0.1/32", 53, 53) }, .nd = 1 },
	};
	struct mwg_flow_table *ft = mwg_flow_table_create(64);
	struct mwg_filter_pkt o, first, later;
	struct mwg_filter *f;
	const char *err;
	u64 t = SEC;
	u32 rule;
	int ret;

	(void)state;
	f = build(r, 1, &ret, &err);
	assert_non_null(f);
	/* Our query from :4000 to :53; the answer comes in three fragments. */
	o = out_pkt("10.0.0.1", "10.0.0.2", 17, 4000, 53, 0);
	mwg_flow_outbound(ft, 7, &o, t);
	first = out_pkt("10.0.0.2", "10.0.0.1", 17, 53, 4000, 0);
	first.flags |= MWG_PKT_FIRST_FRAG | MWG_PKT_MORE_FRAGS;
	first.frag_id = 0x1234;
	later = mkpkt("10.0.0.2", "10.0.0.1", 17, 0, 0);
	later.flags = MWG_PKT_LATER_FRAG | MWG_PKT_MORE_FRAGS;
	later.frag_id = 0x1234;
	/* Without its first fragment, a later one is dropped (no rule for it). */
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_DROP);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &first, t, &rule), MWG_FILTER_PASS);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_PASS);
	/* Not another identification, not from another peer. */
	later.frag_id = 0x1235;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_DROP);
	later.frag_id = 0x1234;
	assert_int_equal(mwg_filter_decide(f, ft, 8, &later, t, &rule), MWG_FILTER_DROP);
	/* The last fragment passes and ends the train. */
	later.flags = MWG_PKT_LATER_FRAG;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_PASS);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_DROP);
	/* A train whose first fragment a rule accepted (to :53), over IPv6 too. */
	first = out_pkt("10.0.0.9", "10.0.0.1", 17, 999, 53, 0);
	first.flags |= MWG_PKT_FIRST_FRAG | MWG_PKT_MORE_FRAGS;
	first.frag_id = 77;
	later = mkpkt("10.0.0.9", "10.0.0.1", 17, 0, 0);
	later.flags = MWG_PKT_LATER_FRAG | MWG_PKT_MORE_FRAGS;
	later.frag_id = 77;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &first, t, &rule), MWG_FILTER_PASS);
	assert_int_equal(rule, 0);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t + SEC, &rule), MWG_FILTER_PASS);
	/* Silence for MWG_FRAG_TIMEOUT: the train is forgotten. */
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later,
					   t + (MWG_FRAG_TIMEOUT + 2) * SEC, &rule),
			 MWG_FILTER_DROP);
	/* A first fragment the rules deny opens no train. */
	first.t.dport = 54;
	first.frag_id = 78;
	later.frag_id = 78;
	assert_int_equal(mwg_filter_decide(f, ft, 7, &first, t, &rule), MWG_FILTER_DROP);
	assert_int_equal(mwg_filter_decide(f, ft, 7, &later, t, &rule), MWG_FILTER_DROP);
	assert_int_equal(shim_locks_held, 0);
	mwg_filter_put(f);
	mwg_flow_table_destroy(ft);
}

static unsigned int owned(const struct mwg_flow_bucket *b, u64 owner)
{
	unsigned int n = 0;
	int j;

	for (j = 0; j < MWG_FLOW_WAYS; ++j)
		n += b->slot[j].owner == owner;
	return n;
}

#define LEGIT 48

static void test_eviction(void **state)
{
	struct mwg_flow_table *ft = mwg_flow_table_create(64);
	struct mwg_filter_pkt o, legit[LEGIT];
	unsigned int before[8], alive_before = 0, alive_after = 0;
	bool alive[LEGIT];
	u32 nb, b, i;
	u64 t = SEC;

	(void)state;
	assert_non_null(ft);
	nb = ft->mask + 1;
	assert_int_equal(nb * MWG_FLOW_WAYS, 64);
	/* 48 peers open one flow each: six a bucket on average. */
	for (i = 0; i < LEGIT; ++i) {
		legit[i] = out_pkt("10.0.0.1", "10.0.1.1", 17, 1000 + i, 53, 0);
		mwg_flow_outbound(ft, 100 + i, &legit[i], t + i);
	}
	for (b = 0; b < nb; ++b) {
		before[b] = 0;
		for (i = 0; i < LEGIT; ++i)
			before[b] += owned(&ft->buckets[b], 100 + i);
	}
	for (i = 0; i < LEGIT; ++i) {
		struct mwg_filter_pkt in = out_pkt("10.0.1.1", "10.0.0.1", 17, 53,
						   1000 + i, 0);

		alive[i] = mwg_flow_inbound(ft, 100 + i, &in, t + SEC);
		alive_before += alive[i];
	}
	/* Peer 1 opens (or makes us open) thousands. */
	for (i = 0; i < 5000; ++i) {
		o = out_pkt("10.0.0.1", "10.0.2.1", 17, i, 7, 0);
		mwg_flow_outbound(ft, 1, &o, t + 2 * SEC + i);
	}
	/*
	 * It filled every free slot, but took a slot from a peer with one
	 * flow only where it had none: at most one flow a bucket.
	 */
	for (b = 0; b < nb; ++b) {
		unsigned int mine = owned(&ft->buckets[b], 1);

		assert_int_equal(mine, before[b] == MWG_FLOW_WAYS ? 1 :
				 MWG_FLOW_WAYS - before[b]);
	}
	for (i = 0; i < LEGIT; ++i) {
		struct mwg_filter_pkt in = out_pkt("10.0.1.1", "10.0.0.1", 17, 53,
						   1000 + i, 0);

		if (alive[i])
			alive_after += mwg_flow_inbound(ft, 100 + i, &in, t + 9 * SEC);
	}
	for (b = 0; b < nb; ++b)
		alive_before -= before[b] == MWG_FLOW_WAYS;
	assert_true(alive_after >= alive_before);
	/* A newcomer still gets its flows, at the expense of the greedy. */
	for (i = 0; i < 8; ++i) {
		struct mwg_filter_pkt in = out_pkt("10.0.4.1", "10.0.0.1", 17, 53,
						   2000 + i, 0);

		o = out_pkt("10.0.0.1", "10.0.4.1", 17, 2000 + i, 53, 0);
		mwg_flow_outbound(ft, 200, &o, t + 10 * SEC);
		assert_true(mwg_flow_inbound(ft, 200, &in, t + 10 * SEC));
	}
	assert_true(atomic64_read(&ft->evictions) > 0);
	/* A busy peer gives slots up to another only down to an equal share. */
	for (i = 0; i < 5000; ++i) {
		o = out_pkt("10.0.0.1", "10.0.5.1", 17, i, 7, 0);
		mwg_flow_outbound(ft, 300, &o, t + 11 * SEC + i);
	}
	for (b = 0; b < nb; ++b) {
		unsigned int a = owned(&ft->buckets[b], 1);
		unsigned int c = owned(&ft->buckets[b], 300);

		assert_true(c <= a + 1 && a <= c + 1);
	}
	/* Expired flows are reused first. */
	o = out_pkt("10.0.0.1", "10.0.3.1", 17, 1, 7, 0);
	mwg_flow_outbound(ft, 500, &o, t + 1000 * SEC);
	assert_int_equal(mwg_flow_count(ft, t + 1000 * SEC), 1);
	assert_int_equal(shim_locks_held, 0);
	mwg_flow_table_destroy(ft);
}

/* Validation. */

static void expect_refused(struct trule *r, int n, int want, const char *msg)
{
	const char *err = NULL;
	int ret;
	struct mwg_filter *f = build(r, n, &ret, &err);

	assert_null(f);
	assert_int_equal(ret, want);
	assert_non_null(err);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
}

static void test_validation(void **state)
{
	struct trule good = {
		.action = MESHWG_FILTER_ACCEPT, .pmode = P_DEFAULT,
		.src = { pfx("10.0.0.0/8") }, .ns = 1,
		.dst = { dstp("10.0.0.1/32", 0, 65535) }, .nd = 1 },
		r;
	const char *err;
	struct mwg_filter *f;

	(void)state;
	r = good;
	r.action = 3;
	expect_refused(&r, 1, -EINVAL, "action");
	r = good;
	r.ns = 0;
	expect_refused(&r, 1, -EINVAL, "at least one source");
	r = good;
	r.nd = 0;
	expect_refused(&r, 1, -EINVAL, "at least one source");
	r = good;
	r.src[0].family = 7;
	expect_refused(&r, 1, -EINVAL, "family");
	r = good;
	r.src[0].cidr = 33;
	expect_refused(&r, 1, -EINVAL, "length");
	r = good;
	r.dst[0].prefix = pfx("fd00::/129");
	expect_refused(&r, 1, -EINVAL, "length");
	r = good;
	r.src[0] = pfx("10.0.0.1/8");
	expect_refused(&r, 1, -EINVAL, "host bits");
	r = good;
	r.dst[0].first_port = 80;
	r.dst[0].last_port = 79;
	expect_refused(&r, 1, -EINVAL, "reversed");
	r = good;
	r.pmode = P_ANY;
	r.protos[0] = 6;
	r.np = 1;
	expect_refused(&r, 1, -EINVAL, "any protocol");

	f = mwg_filter_alloc(MWG_FILTER_MAX_RULES + 1, 1, 1, 0, &err);
	assert_null(f);
	assert_non_null(strstr(err, "too many rules"));
	f = mwg_filter_alloc(1, MWG_FILTER_MAX_PREFIXES, 1, 0, &err);
	assert_null(f);
	assert_non_null(strstr(err, "prefixes"));

	/* Too many atoms: 1500 x 1500 x 4 protocols. */
	f = mwg_filter_alloc(1, 1500, 1500, 0, &err);
	assert_non_null(f);
	f->rules[0].action = MESHWG_FILTER_ACCEPT;
	f->rules[0].n_src = 1500;
	f->rules[0].n_dst = 1500;
	for (int i = 0; i < 1500; ++i) {
		f->src[i] = pfx("10.0.0.0/8");
		f->dst[i].prefix = pfx("10.0.0.0/8");
		f->dst[i].last_port = 65535;
	}
	assert_int_equal(mwg_filter_compile(f, &err), -E2BIG);
	mwg_filter_put(f);

	/* Out-of-bounds slices. */
	f = mwg_filter_alloc(1, 1, 1, 0, &err);
	assert_non_null(f);
	f->rules[0].action = MESHWG_FILTER_ACCEPT;
	f->src[0] = pfx("10.0.0.0/8");
	f->dst[0].prefix = pfx("10.0.0.0/8");
	f->rules[0].n_src = 1;
	f->rules[0].n_dst = 2;
	assert_int_equal(mwg_filter_compile(f, &err), -EINVAL);
	mwg_filter_put(f);
}

static void test_alloc_failures(void **state)
{
	static struct trule rules[30];
	long k;
	int i;

	(void)state;
	rng = 12345;
	for (i = 0; i < 30; ++i)
		rand_rule(&rules[i]);
	/* Every allocation of alloc + compile fails in turn, cleanly. */
	for (k = 0; ; ++k) {
		const char *err;
		struct mwg_filter *f;
		int ret;

		shim_fail_alloc_after = k;
		f = build(rules, 30, &ret, &err);
		shim_fail_alloc_after = -1;
		if (f) {
			mwg_filter_put(f);
			break;
		}
		assert_int_equal(ret, -ENOMEM);
		assert_non_null(strstr(err, "memory"));
	}
	assert_true(k >= 8);
	shim_fail_alloc_after = 0;
	assert_null(mwg_flow_table_create(64));
	shim_fail_alloc_after = -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_port_edges),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_decide_rules),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
