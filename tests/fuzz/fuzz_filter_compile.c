// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: kmod/filter.c's ruleset validation and compiler, and
 * the classifier it builds, against a plain first-match scan. The input
 * describes up to 16 rules (action, protocols, up to 4 sources and 4
 * destinations with port ranges, addresses drawn from a small pool so that
 * prefixes nest and overlap) and then packets. A ruleset the compiler
 * refuses must be invalid by the documented rules; one it accepts must
 * classify every packet exactly as the scan does.
 */
#include "shim.h"
#include "filter.h"
#include "tests/unit/filter/reference.h"

#include <stdio.h>

struct in {
	const u8 *d;
	size_t n;
};

static u8 take(struct in *in)
{
	u8 b;

	if (!in->n)
		return 0;
	b = *in->d++;
	in->n--;
	return b;
}

static u16 take16(struct in *in)
{
	return (u16)(take(in) << 8 | take(in));
}

/* Addresses from a pool of four bases, so that prefixes overlap. */
static void addr(struct in *in, u8 family, u8 out[16])
{
	static const u8 base[4][16] = {
		{ 10, 0, 0, 1 }, { 10, 0, 1, 0 }, { 192, 168, 0, 1 },
		{ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	};
	u8 b = take(in);

	memset(out, 0, 16);
	memcpy(out, base[b & 3], family == AF_INET ? 4 : 16);
	/* A few low bits flipped, sometimes. */
	out[(family == AF_INET ? 3 : 15)] ^= (b >> 2) & 7;
	if (family == AF_INET6 && (b & 0x40))
		out[0] = 0xfd;
}

static bool valid_prefix(const struct mwg_filter_prefix *p)
{
	int i, bits = p->family == AF_INET ? 32 : 128;

	if (p->family != AF_INET && p->family != AF_INET6)
		return false;
	if (p->cidr > bits)
		return false;
	for (i = p->cidr; i < 128; ++i)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static u32 scan(const struct mwg_filter *f, const struct mwg_filter_pkt *p)
{
	u32 i, j, k;

	for (i = 0; i < f->n_rules; ++i) {
		const struct mwg_filter_rule *r = &f->rules[i];
		bool pm, sm = false, none = true;

		for (j = 0; j < 8; ++j)
			none &= !r->proto_map[j];
		if (r->any_proto)
			pm = true;
		else if (none)
			pm = p->t.proto == 6 || p->t.proto == 17 ||
			     p->t.proto == 1 || p->t.proto == 58;
		else
			pm = r->proto_map[p->t.proto / 32] & (1U << (p->t.proto % 32));
		if (!pm)
			continue;
		for (j = 0; j < r->n_src; ++j)
			sm |= ref_prefix(&f->src[r->src_off + j], p->t.family, p->t.src);
		if (!sm)
			continue;
		for (k = 0; k < r->n_dst; ++k) {
			const struct mwg_filter_dst *d = &f->dst[r->dst_off + k];

			if (!ref_prefix(&d->prefix, p->t.family, p->t.dst))
				continue;
			if (!ref_ports(p->t.proto))
				return i;
			if (p->flags & MWG_PKT_LATER_FRAG) {
				if (d->first_port == 0 && d->last_port == 65535)
					return i;
				continue;
			}
			if (p->t.dport >= d->first_port && p->t.dport <= d->last_port)
				return i;
		}
	}
	return MWG_FILTER_NONE;
}

static const u8 protos[8] = { 6, 17, 1, 58, 132, 47, 0, 255 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	u32 n_rules = take(&in) % 17, i, j, s = 0, d = 0;
	struct mwg_filter *f;
	const char *err = NULL;
	bool valid = true;
	int ret;

	f = mwg_filter_alloc(n_rules, 4 * n_rules, 4 * n_rules, 0, &err);
	if (!f)
		abort();
	for (i = 0; i < n_rules; ++i) {
		struct mwg_filter_rule *r = &f->rules[i];
		u8 b = take(&in), ns = 1 + (b >> 4 & 3), nd = 1 + (b >> 6);

		r->action = b & 1 ? MESHWG_FILTER_DENY : MESHWG_FILTER_ACCEPT;
		if ((b & 6) == 2) {
			r->any_proto = true;
		} else if ((b & 6) == 4) {
			u8 m = take(&in);

			for (j = 0; j < 8; ++j)
				if (m & (1 << j))
					r->proto_map[protos[j] / 32] |= 1U << (protos[j] % 32);
		}
		if (b & 8)
			ns = 0;	/* sometimes invalid: no source */
		r->src_off = s;
		r->n_src = ns;
		for (j = 0; j < ns; ++j) {
			struct mwg_filter_prefix *p = &f->src[s++];
			u8 c = take(&in);

			p->family = c & 1 ? AF_INET6 : AF_INET;
			p->cidr = take(&in) % 130;
			addr(&in, p->family, p->addr);
			/* Mostly valid: host bits cleared unless asked not to. */
			if (!(c & 2))
				for (int k = p->cidr; k < 128; ++k)
					p->addr[k / 8] &= ~(0x80 >> (k % 8));
			valid &= valid_prefix(p);
		}
		r->dst_off = d;
		r->n_dst = nd;
		for (j = 0; j < nd; ++j) {
			struct mwg_filter_dst *p = &f->dst[d++];
			u8 c = take(&in);

			p->prefix.family = c & 1 ? AF_INET6 : AF_INET;
			p->prefix.cidr = take(&in) % 130;
			addr(&in, p->prefix.family, p->prefix.addr);
			if (!(c & 2))
				for (int k = p->prefix.cidr; k < 128; ++k)
					p->prefix.addr[k / 8] &= ~(0x80 >> (k % 8));
			if (c & 4) {
				p->first_port = 0;
				p->last_port = 65535;
			} else {
				p->first_port = take16(&in) % 1024;
				p->last_port = take16(&in) % 1024;
			}
			valid &= valid_prefix(&p->prefix);
			valid &= p->first_port <= p->last_port;
		}
		valid &= ns && nd;
	}
	f->n_src = s;
	f->n_dst = d;
	ret = mwg_filter_compile(f, &err);
	if (!valid != !!ret) {
		fprintf(stderr, "valid %d but compile returned %d (%s)\n", valid,
			ret, err ? err : "");
		abort();
	}
	if (ret) {
		mwg_filter_put(f);
		return 0;
	}
	while (in.n) {
		struct mwg_filter_pkt p;
		u8 c = take(&in);
		u32 got, want;

		memset(&p, 0, sizeof(p));
		p.t.family = c & 1 ? AF_INET6 : AF_INET;
		p.t.proto = protos[(c >> 1) & 7];
		addr(&in, p.t.family, p.t.src);
		addr(&in, p.t.family, p.t.dst);
		p.t.dport = take16(&in) % 1024;
		if (c & 0x10)
			p.t.dport = c & 0x20 ? 65535 : 0;
		if (ref_ports(p.t.proto))
			p.flags = c & 0x40 ? MWG_PKT_LATER_FRAG : MWG_PKT_PORTS;
		got = mwg_filter_lookup(f, &p);
		want = scan(f, &p);
		if (got != want) {
			fprintf(stderr, "lookup %u, first match %u\n", got, want);
			abort();
		}
	}
	mwg_filter_put(f);
	return 0;
}
