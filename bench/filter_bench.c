// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of the ACL classifier and flow table of meshwg.ko: kmod/filter.c
 * built in userspace (tests/unit/filter/shim) with -O2. Run by hand with
 * bench/filter_bench.sh; not part of make check.
 *
 * For 10, 1,000, 10,000 and 100,000 rules shaped like compiled tailnet
 * policies (sources: single nodes, some subnets, some "any"; destinations:
 * nodes and subnets with single ports, port ranges or all ports; TCP, UDP or
 * the default set), prints the compile time, the ns per classification of
 * random packets (half aimed at existing rules), the same for a plain
 * linear first-match scan for comparison (small sets only), and the ns per
 * flow-table lookup of return traffic (hit) and of a miss. Then the
 * adversarial rulesets of issue 9 (see adversarial()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter.h"

static u64 rng = 88172645463325252ULL;

static u32 rnd(u32 n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng % n);
}

static double now_ns(void)
{
	struct timespec ts;

	/* CPU time: the load of a shared machine does not count. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void node_addr(u8 a[16], u32 node)
{
	memset(a, 0, 16);
	a[0] = 100;
	a[1] = 64 + (node >> 16 & 63);
	a[2] = node >> 8;
	a[3] = node;
}

static struct mwg_filter_prefix prefix_of(u32 node, u8 cidr)
{
	struct mwg_filter_prefix p = { .family = AF_INET, .cidr = cidr };
	int i;

	node_addr(p.addr, node);
	for (i = cidr; i < 32; ++i)
		p.addr[i / 8] &= ~(0x80 >> (i % 8));
	return p;
}

static struct mwg_filter *make_rules(u32 n, u32 nodes)
{
	const char *err;
	struct mwg_filter *f = mwg_filter_alloc(n, 2 * n, 2 * n, 1, &err);
	u32 i, s = 0, d = 0;

	if (!f) {
		fprintf(stderr, "alloc: %s\n", err);
		exit(1);
	}
	for (i = 0; i < n; ++i) {
		struct mwg_filter_rule *r = &f->rules[i];
		u32 k = rnd(100), j;

		r->action = rnd(20) ? MESHWG_FILTER_ACCEPT : MESHWG_FILTER_DENY;
		if (k < 40)
			r->proto_map[0] |= 1U << IPPROTO_TCP;
		else if (k < 50)
			r->proto_map[0] |= 1U << IPPROTO_UDP;
		r->src_off = s;
		r->n_src = 1 + rnd(2);
		for (j = 0; j < r->n_src; ++j) {
			k = rnd(100);
			f->src[s++] = prefix_of(rnd(nodes), k < 80 ? 32 : k < 95 ? 24 : 0);
		}
		r->dst_off = d;
		r->n_dst = 1 + rnd(2);
		for (j = 0; j < r->n_dst; ++j) {
			struct mwg_filter_dst *dp = &f->dst[d++];

			k = rnd(100);
			dp->prefix = prefix_of(rnd(nodes), k < 85 ? 32 : 24);
			k = rnd(100);
			dp->first_port = k < 50 ? rnd(65536) : k < 70 ? 1000 + rnd(1000) : 0;
			dp->last_port = k < 50 ? dp->first_port :
					k < 70 ? dp->first_port + rnd(1000) : 65535;
		}
	}
	f->n_src = s;
	f->n_dst = d;
	return f;
}

static void make_pkt(struct mwg_filter_pkt *p, const struct mwg_filter *f,
		     u32 nodes)
{
	memset(p, 0, sizeof(*p));
	p->t.family = AF_INET;
	p->t.proto = rnd(10) < 7 ? IPPROTO_TCP : rnd(2) ? IPPROTO_UDP : IPPROTO_ICMP;
	p->flags = p->t.proto == IPPROTO_ICMP ? 0 : MWG_PKT_PORTS;
	p->t.sport = rnd(65536);
	if (rnd(2) && f->n_rules) {
		/* Aimed at a rule: its first source and destination. */
		const struct mwg_filter_rule *r = &f->rules[rnd(f->n_rules)];
		const struct mwg_filter_dst *d = &f->dst[r->dst_off];

		memcpy(p->t.src, f->src[r->src_off].addr, 16);
		p->t.src[3] |= rnd(2);
		memcpy(p->t.dst, d->prefix.addr, 16);
		p->t.dport = d->first_port + rnd(d->last_port - d->first_port + 1U);
	} else {
		node_addr(p->t.src, rnd(nodes));
		node_addr(p->t.dst, rnd(nodes));
		p->t.dport = rnd(65536);
	}
}

static bool in_prefix(const struct mwg_filter_prefix *p, const u8 *a)
{
	int i;

	for (i = 0; i < p->cidr; ++i)
		if (((p->addr[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static u32 linear(const struct mwg_filter *f, const struct mwg_filter_pkt *p)
{
	u32 i, j, k;

	for (i = 0; i < f->n_rules; ++i) {
		const struct mwg_filter_rule *r = &f->rules[i];
		bool any = !(r->proto_map[0] | r->proto_map[1]);
		bool pm = any ? p->t.proto == 6 || p->t.proto == 17 ||
				p->t.proto == 1 || p->t.proto == 58 :
			  !!(r->proto_map[p->t.proto / 32] & (1U << (p->t.proto % 32)));

		if (!pm)
			continue;
		for (j = 0; j < r->n_src; ++j)
			if (in_prefix(&f->src[r->src_off + j], p->t.src))
				break;
		if (j == r->n_src)
			continue;
		for (k = 0; k < r->n_dst; ++k) {
			const struct mwg_filter_dst *d = &f->dst[r->dst_off + k];

			if (in_prefix(&d->prefix, p->t.dst) &&
			    (!(p->flags & MWG_PKT_PORTS) ||
			     (p->t.dport >= d->first_port && p->t.dport <= d->last_port)))
				return i;
		}
	}
	return MWG_FILTER_NONE;
}

#define NPKT 4096

/*
 * The adversarial shape of issue 9: 16,384 IPv6 rules, rule i with a
 * source of length i / 128 and a destination of length i % 128 (every
 * pair of lengths distinct), TCP to port 1, and packets to port 2 that no
 * rule admits. Random: the prefixes are of random addresses and so are the
 * packets. Nested: all sources are prefixes of one address, all
 * destinations of another, and the packets go between those two: every
 * source and destination prefix matches and only the port misses.
 */
static void adversarial(bool nested)
{
	static struct mwg_filter_pkt pkts[NPKT];
	const u32 n = 16384;
	const char *err;
	struct mwg_filter *f = mwg_filter_alloc(n, n, n, 1, &err);
	volatile u32 sink = 0;
	u8 a[16], b[16];
	double t0, t1;
	u32 i, j, it;

	if (!f)
		exit(1);
	for (j = 0; j < 16; ++j) {
		a[j] = rnd(256);
		b[j] = rnd(256);
	}
	for (i = 0; i < n; ++i) {
		struct mwg_filter_rule *r = &f->rules[i];
		struct mwg_filter_prefix *sp = &f->src[i];
		struct mwg_filter_dst *dp = &f->dst[i];

		r->action = MESHWG_FILTER_ACCEPT;
		r->proto_map[0] = 1U << IPPROTO_TCP;
		r->src_off = i;
		r->n_src = 1;
		r->dst_off = i;
		r->n_dst = 1;
		sp->family = AF_INET6;
		sp->cidr = i / 128;
		dp->prefix.family = AF_INET6;
		dp->prefix.cidr = i % 128;
		for (j = 0; j < 16; ++j) {
			sp->addr[j] = nested ? a[j] : rnd(256);
			dp->prefix.addr[j] = nested ? b[j] : rnd(256);
		}
		for (j = sp->cidr; j < 128; ++j)
			sp->addr[j / 8] &= ~(0x80 >> (j % 8));
		for (j = dp->prefix.cidr; j < 128; ++j)
			dp->prefix.addr[j / 8] &= ~(0x80 >> (j % 8));
		dp->first_port = dp->last_port = 1;
	}
	t0 = now_ns();
	if (mwg_filter_compile(f, &err)) {
		fprintf(stderr, "compile: %s\n", err);
		exit(1);
	}
	t1 = now_ns();
	printf("%8s %10.1f %8u ", nested ? "nested" : "random", (t1 - t0) / 1e6,
	       f->n_tuples);
	for (i = 0; i < NPKT; ++i) {
		struct mwg_filter_pkt *p = &pkts[i];

		memset(p, 0, sizeof(*p));
		p->t.family = AF_INET6;
		p->t.proto = IPPROTO_TCP;
		p->flags = MWG_PKT_PORTS;
		p->t.dport = 2;
		for (j = 0; j < 16; ++j) {
			p->t.src[j] = nested ? a[j] : rnd(256);
			p->t.dst[j] = nested ? b[j] : rnd(256);
		}
		if (mwg_filter_lookup(f, p) != MWG_FILTER_NONE ||
		    linear(f, p) != MWG_FILTER_NONE) {
			fprintf(stderr, "\nadversarial packet %u matched\n", i);
			exit(1);
		}
	}
	/* As many lookups as fit in 0.2 s (the old lookup took ~1 ms each). */
	t0 = now_ns();
	for (it = 0, t1 = t0; t1 - t0 < 2e8; t1 = now_ns())
		for (i = 0; i < 64; ++i, ++it)
			sink += mwg_filter_lookup(f, &pkts[it % NPKT]);
	printf("%12.1f ", (t1 - t0) / it);
	t0 = now_ns();
	for (i = 0; i < NPKT / 16; ++i)
		sink += linear(f, &pkts[i]);
	printf("%12.1f %7.1f%%\n", (now_ns() - t0) / (NPKT / 16), 0.0);
	mwg_filter_put(f);
}

int main(void)
{
	static const u32 sizes[] = { 10, 1000, 10000, 100000 };
	static struct mwg_filter_pkt pkts[NPKT];
	volatile u32 sink = 0;
	unsigned int s;

	printf("%8s %10s %8s %12s %12s %8s\n", "rules", "compile-ms", "tuples",
	       "ns/classify", "ns/linear", "matched");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); ++s) {
		u32 n = sizes[s], nodes = n < 1000 ? 1000 : n, i, matched = 0;
		u32 iters = n >= 100000 ? 200 : 500;
		struct mwg_filter *f = make_rules(n, nodes);
		double t0, t1, lin = -1;
		const char *err;

		t0 = now_ns();
		if (mwg_filter_compile(f, &err)) {
			fprintf(stderr, "compile: %s\n", err);
			return 1;
		}
		t1 = now_ns();
		printf("%8u %10.1f %8u ", n, (t1 - t0) / 1e6, f->n_tuples);
		for (i = 0; i < NPKT; ++i)
			make_pkt(&pkts[i], f, nodes);
		for (i = 0; i < NPKT; ++i) {
			u32 r = mwg_filter_lookup(f, &pkts[i]);

			if (r != linear(f, &pkts[i])) {
				fprintf(stderr, "\nmismatch at packet %u\n", i);
				return 1;
			}
			matched += r != MWG_FILTER_NONE;
		}
		t0 = now_ns();
		for (u32 it = 0; it < iters; ++it)
			for (i = 0; i < NPKT; ++i)
				sink += mwg_filter_lookup(f, &pkts[i]);
		t1 = now_ns();
		if (n <= 10000) {
			double l0 = now_ns();
			u32 li = n >= 10000 ? 2 : 50;

			for (u32 it = 0; it < li; ++it)
				for (i = 0; i < NPKT; ++i)
					sink += linear(f, &pkts[i]);
			lin = (now_ns() - l0) / ((double)li * NPKT);
		}
		printf("%12.1f ", (t1 - t0) / ((double)iters * NPKT));
		if (lin >= 0)
			printf("%12.1f ", lin);
		else
			printf("%12s ", "-");
		printf("%7.1f%%\n", 100.0 * matched / NPKT);
		mwg_filter_put(f);
	}

	printf("adversarial: 16,384 IPv6 rules, distinct prefix-length pairs, denied packets\n");
	adversarial(false);
	adversarial(true);

	/* Flow table: 32768 flows of 64 peers; lookups of return traffic. */
	{
		struct mwg_flow_table *ft = mwg_flow_table_create(32768);
		static struct mwg_filter_pkt out[NPKT], in[NPKT];
		u64 t = 1000000000ULL;
		u32 i, hits = 0, it;
		double t0, t1, t2;

		for (i = 0; i < NPKT; ++i) {
			struct mwg_filter_pkt *o = &out[i], *r = &in[i];

			memset(o, 0, sizeof(*o));
			o->t.family = AF_INET;
			o->t.proto = IPPROTO_UDP;
			o->flags = MWG_PKT_PORTS;
			node_addr(o->t.src, 1);
			node_addr(o->t.dst, 2 + i % 64);
			o->t.sport = 10000 + i;
			o->t.dport = 53;
			mwg_flow_outbound(ft, 1 + i % 64, o, t);
			*r = *o;
			memcpy(r->t.src, o->t.dst, 16);
			memcpy(r->t.dst, o->t.src, 16);
			r->t.sport = o->t.dport;
			r->t.dport = o->t.sport;
		}
		for (i = 0; i < NPKT; ++i)
			hits += mwg_flow_inbound(ft, 1 + i % 64, &in[i], t);
		t0 = now_ns();
		for (it = 0; it < 200; ++it)
			for (i = 0; i < NPKT; ++i)
				sink += mwg_flow_inbound(ft, 1 + i % 64, &in[i], t);
		t1 = now_ns();
		for (it = 0; it < 200; ++it)
			for (i = 0; i < NPKT; ++i)
				sink += mwg_flow_inbound(ft, 1000 + i, &in[i], t);
		t2 = now_ns();
		printf("\nflow table (%u flows present, %u/%u found): hit %.1f ns, miss %.1f ns\n",
		       mwg_flow_count(ft, t), hits, NPKT, (t1 - t0) / (200.0 * NPKT),
		       (t2 - t1) / (200.0 * NPKT));
		mwg_flow_table_destroy(ft);
	}
	return sink == 0xdeadbeef;
}
