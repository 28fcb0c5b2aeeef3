// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL classifier and the flow table (see filter.h, docs/filter.md).
 *
 * Lookup structure. Every rule is expanded into atoms, one per (source
 * prefix, destination prefix of the same family, protocol or "any"), each
 * with its destination port range. Atoms sharing the prefix lengths and the
 * "any protocol" bit form a tuple; atoms sharing a whole key (family, both
 * masked addresses, both lengths, protocol) form an entry, found by hashing.
 * An entry turns its port ranges into sorted elementary intervals, each
 * labelled with the lowest rule index covering it, so one binary search
 * answers "first rule of this entry matching this port".
 *
 * A lookup does not probe every tuple. The distinct source prefixes of a
 * family, sorted by address then length, nest or are disjoint; each carries
 * the set of lengths of itself and of the prefixes containing it. One
 * binary search finds the last prefix starting at or before the packet's
 * source; the prefixes containing the source are exactly those of its set
 * no longer than the bits it shares with the source. Likewise for the
 * destination. Only the tuples whose source and destination lengths are in
 * those two sets can match, and a table indexed by the pair of lengths
 * names them, so the cost is two binary searches plus one hash probe per
 * (source length, destination length) pair that the packet's addresses
 * actually match, whatever the number of rules and of tuples. First match
 * is exact: the answer is the minimum rule index over all matching atoms.
 */
#include "filter.h"

#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include <linux/random.h>
#include <linux/moduleparam.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/bitops.h>
#include <linux/overflow.h>
#include <linux/sched.h>

unsigned int mwg_flow_tcp_syn_timeout = 60;
unsigned int mwg_flow_tcp_timeout = 7440;
unsigned int mwg_flow_tcp_close_timeout = 10;
unsigned int mwg_flow_udp_timeout = 30;
unsigned int mwg_flow_udp_stream_timeout = 180;
unsigned int mwg_flow_icmp_timeout = 30;
unsigned int mwg_flow_table_size = 32768;

module_param_named(acl_tcp_syn_timeout, mwg_flow_tcp_syn_timeout, uint, 0644);
MODULE_PARM_DESC(acl_tcp_syn_timeout, "ACL: seconds a TCP flow waits for its answer");
module_param_named(acl_tcp_timeout, mwg_flow_tcp_timeout, uint, 0644);
MODULE_PARM_DESC(acl_tcp_timeout, "ACL: idle seconds of an established TCP flow");
module_param_named(acl_tcp_close_timeout, mwg_flow_tcp_close_timeout, uint, 0644);
MODULE_PARM_DESC(acl_tcp_close_timeout, "ACL: seconds a TCP flow lives after FIN or RST");
module_param_named(acl_udp_timeout, mwg_flow_udp_timeout, uint, 0644);
MODULE_PARM_DESC(acl_udp_timeout, "ACL: idle seconds of an unanswered UDP flow");
module_param_named(acl_udp_stream_timeout, mwg_flow_udp_stream_timeout, uint, 0644);
MODULE_PARM_DESC(acl_udp_stream_timeout, "ACL: idle seconds of an answered UDP flow");
module_param_named(acl_icmp_timeout, mwg_flow_icmp_timeout, uint, 0644);
MODULE_PARM_DESC(acl_icmp_timeout, "ACL: idle seconds of an ICMP echo flow");
module_param_named(acl_flow_table_size, mwg_flow_table_size, uint, 0444);
MODULE_PARM_DESC(acl_flow_table_size, "ACL: flows tracked per device (64 to 4194304)");

#define NSEC_PER_SECOND 1000000000ULL

/* Lookup structures. */

struct mwg_filter_key {
	u64 w[5];	/* src (2 words), dst (2), family|slen|dlen|proto */
};

struct mwg_filter_atom {
	struct mwg_filter_key key;
	u32 rule;
	u16 first, last;
};

struct mwg_filter_entry {
	struct mwg_filter_key key;
	u32 next;		/* hash chain, MWG_FILTER_NONE ends it */
	u32 portless_min;	/* lowest rule, ports not considered */
	u32 full_min;		/* lowest rule whose range is every port */
	u32 iv_off, n_iv;
};

struct mwg_filter_interval {
	u32 start;		/* first port of the interval */
	u32 rule;
};

struct mwg_filter_tuple {
	u8 family, slen, dlen;
	bool any_proto;
	u32 min_rule;
	u64 smask[2], dmask[2];	/* the prefix lengths as masks of key words */
};

/* A distinct prefix of a pset, and the lengths of it and its ancestors. */
struct mwg_filter_pnode {
	u8 addr[16];
	u8 len;
	u64 lens[3];		/* bit l: a prefix of length l contains this one */
};

/*
 * Up to this many tuples (compiled tailnet policies have a handful), a scan
 * of the tuples by ascending min_rule, which stops at the first tuple that
 * cannot improve on the best match, is cheaper than the two binary searches.
 */
#define MWG_FILTER_SCAN_TUPLES 16

static u32 tuple_slot(const struct mwg_filter *f, u32 fam, u32 si, u32 di,
		      bool any)
{
	return (si * f->pset[fam][1].n_lens + di) * 2 + any;
}

/* IPv6 extension headers the parser walks through. */
#define EXT_HOP		0
#define EXT_ROUTING	43
#define EXT_FRAGMENT	44
#define EXT_AUTH	51
#define EXT_DEST	60

static u16 rd16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static bool proto_has_ports(u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP ||
	       proto == IPPROTO_UDPLITE;
}

static unsigned int addr_len(u8 family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask_addr(u8 out[16], const u8 *in, u8 family, u8 cidr)
{
	unsigned int len = addr_len(family), full = cidr / 8, i;

	memset(out, 0, 16);
	memcpy(out, in, full < len ? full : len);
	if (full < len && cidr % 8)
		out[full] = in[full] & (u8)(0xff00 >> (cidr % 8));
	for (i = len; i < 16; ++i)
		out[i] = 0;
}

static void make_key(struct mwg_filter_key *k, u8 family, const u8 *src,
		     u8 slen, const u8 *dst, u8 dlen, u16 proto)
{
	u8 buf[16];

	mask_addr(buf, src, family, slen);
	memcpy(&k->w[0], buf, 16);
	mask_addr(buf, dst, family, dlen);
	memcpy(&k->w[2], buf, 16);
	k->w[4] = (u64)family | (u64)slen << 8 | (u64)dlen << 16 |
		  (u64)proto << 24;
}

static u32 key_hash(const struct mwg_filter_key *k)
{
	u64 h = 0x9e3779b97f4a7c15ULL;
	int i;

	/* Keys come from the ruleset only: no need for a keyed hash. */
	for (i = 0; i < 5; ++i) {
		h ^= k->w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return (u32)h;
}

static int key_cmp(const struct mwg_filter_key *a, const struct mwg_filter_key *b)
{
	int i;

	for (i = 4; i >= 0; --i) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

static int atom_cmp(const void *a, const void *b)
{
	const struct mwg_filter_atom *x = a, *y = b;
	int c = key_cmp(&x->key, &y->key);

	if (c)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int tuple_cmp(const void *a, const void *b)
{
	const struct mwg_filter_tuple *x = a, *y = b;

	return x->min_rule < y->min_rule ? -1 : x->min_rule > y->min_rule;
}

static int u32_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void *mwg_kvcalloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kvzalloc(n && size ? n * size : 1, GFP_KERNEL_ACCOUNT);
}

/* Ruleset lifetime. */

struct mwg_filter *mwg_filter_alloc(u32 n_rules, u32 n_src, u32 n_dst,
				    u64 version, const char **err)
{
	struct mwg_filter *f;
	u32 i;

	if (n_rules > MWG_FILTER_MAX_RULES) {
		*err = "too many rules";
		return NULL;
	}
	if ((u64)n_src + n_dst > MWG_FILTER_MAX_PREFIXES) {
		*err = "too many source and destination prefixes";
		return NULL;
	}
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		goto nomem;
	f->version = version;
	f->n_rules = n_rules;
	f->n_src = n_src;
	f->n_dst = n_dst;
	refcount_set(&f->refs, 1);
	f->rules = mwg_kvcalloc(n_rules, sizeof(*f->rules));
	f->src = mwg_kvcalloc(n_src, sizeof(*f->src));
	f->dst = mwg_kvcalloc(n_dst, sizeof(*f->dst));
	if (!f->rules || !f->src || !f->dst) {
		mwg_filter_put(f);
		goto nomem;
	}
	for (i = 0; i < n_rules; ++i) {
		atomic64_set(&f->rules[i].packets, 0);
		atomic64_set(&f->rules[i].bytes, 0);
	}
	return f;
nomem:
	*err = "out of memory";
	return NULL;
}

static void filter_free(struct mwg_filter *f)
{
	kvfree(f->rules);
	kvfree(f->src);
	kvfree(f->dst);
	kvfree(f->tuples);
	kvfree(f->entries);
	kvfree(f->intervals);
	kvfree(f->heads);
	kvfree(f->pset[0][0].nodes);
	kvfree(f->pset[0][1].nodes);
	kvfree(f->pset[1][0].nodes);
	kvfree(f->pset[1][1].nodes);
	kvfree(f->tuple_idx[0]);
	kvfree(f->tuple_idx[1]);
	kfree(f);
}

void mwg_filter_get(struct mwg_filter *f)
{
	refcount_inc(&f->refs);
}

/* Process context only: the last reference frees at once. */
void mwg_filter_put(struct mwg_filter *f)
{
	if (f && refcount_dec_and_test(&f->refs))
		filter_free(f);
}

/* Validation. */

static bool prefix_ok(const struct mwg_filter_prefix *p, const char **err)
{
	u8 masked[16];

	if (p->family != AF_INET && p->family != AF_INET6) {
		*err = "prefix family must be AF_INET or AF_INET6";
		return false;
	}
	if (p->cidr > addr_len(p->family) * 8) {
		*err = "prefix length out of range";
		return false;
	}
	mask_addr(masked, p->addr, p->family, p->cidr);
	if (memcmp(masked, p->addr, 16)) {
		*err = "prefix has host bits set";
		return false;
	}
	return true;
}

static bool rule_has_proto(const struct mwg_filter_rule *r, unsigned int p)
{
	return r->proto_map[p / 32] & (1U << (p % 32));
}

static bool rule_default_protos(const struct mwg_filter_rule *r)
{
	int i;

	if (r->any_proto)
		return false;
	for (i = 0; i < 8; ++i) {
		if (r->proto_map[i])
			return false;
	}
	return true;
}

static int validate(const struct mwg_filter *f, u64 *atoms, const char **err)
{
	static const u8 defaults[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
				       IPPROTO_ICMPV6 };
	u64 total = 0;
	u32 i, j;

	for (i = 0; i < f->n_rules; ++i) {
		const struct mwg_filter_rule *r = &f->rules[i];
		u64 src4 = 0, src6 = 0, dst4 = 0, dst6 = 0, protos = 0;

		if (r->action != MESHWG_FILTER_ACCEPT &&
		    r->action != MESHWG_FILTER_DENY) {
			*err = "rule action must be accept or deny";
			return -EINVAL;
		}
		if (!r->n_src || !r->n_dst) {
			*err = "rule needs at least one source and one destination";
			return -EINVAL;
		}
		if (r->src_off > f->n_src || r->n_src > f->n_src - r->src_off ||
		    r->dst_off > f->n_dst || r->n_dst > f->n_dst - r->dst_off) {
			*err = "rule prefixes out of bounds";
			return -EINVAL;
		}
		if (r->any_proto &&
		    (r->proto_map[0] | r->proto_map[1] | r->proto_map[2] |
		     r->proto_map[3] | r->proto_map[4] | r->proto_map[5] |
		     r->proto_map[6] | r->proto_map[7])) {
			*err = "rule has both protocols and any protocol";
			return -EINVAL;
		}
		for (j = 0; j < r->n_src; ++j) {
			const struct mwg_filter_prefix *p = &f->src[r->src_off + j];

			if (!prefix_ok(p, err))
				return -EINVAL;
			if (p->family == AF_INET)
				src4++;
			else
				src6++;
		}
		for (j = 0; j < r->n_dst; ++j) {
			const struct mwg_filter_dst *d = &f->dst[r->dst_off + j];

			if (!prefix_ok(&d->prefix, err))
				return -EINVAL;
			if (d->first_port > d->last_port) {
				*err = "destination port range is reversed";
				return -EINVAL;
			}
			if (d->prefix.family == AF_INET)
				dst4++;
			else
				dst6++;
		}
		if (r->any_proto)
			protos = 1;
		else if (rule_default_protos(r))
			protos = ARRAY_SIZE(defaults);
		else
			for (j = 0; j < 8; ++j)
				protos += hweight32(r->proto_map[j]);
		total += (src4 * dst4 + src6 * dst6) * protos;
		if (total > MWG_FILTER_MAX_ATOMS) {
			*err = "ruleset too large: sources x destinations x protocols over the limit";
			return -E2BIG;
		}
		cond_resched();
	}
	*atoms = total;
	return 0;
}

/* Compilation. */

static u32 add_atoms(const struct mwg_filter *f, u32 ri,
		     struct mwg_filter_atom *atoms, u32 n)
{
	static const u8 defaults[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
				       IPPROTO_ICMPV6 };
	const struct mwg_filter_rule *r = &f->rules[ri];
	u16 protos[256];
	u32 n_protos = 0, s, d, p;

	if (r->any_proto) {
		protos[n_protos++] = MWG_FILTER_PROTO_ANY;
	} else if (rule_default_protos(r)) {
		for (p = 0; p < ARRAY_SIZE(defaults); ++p)
			protos[n_protos++] = defaults[p];
	} else {
		for (p = 0; p < 256; ++p)
			if (rule_has_proto(r, p))
				protos[n_protos++] = p;
	}
	for (s = 0; s < r->n_src; ++s) {
		const struct mwg_filter_prefix *sp = &f->src[r->src_off + s];

		for (d = 0; d < r->n_dst; ++d) {
			const struct mwg_filter_dst *dp = &f->dst[r->dst_off + d];

			if (dp->prefix.family != sp->family)
				continue;
			for (p = 0; p < n_protos; ++p) {
				struct mwg_filter_atom *a = &atoms[n++];

				make_key(&a->key, sp->family, sp->addr, sp->cidr,
					 dp->prefix.addr, dp->prefix.cidr,
					 protos[p]);
				a->rule = ri;
				a->first = dp->first_port;
				a->last = dp->last_port;
			}
		}
	}
	return n;
}

/* Next unassigned interval at or after i, with path halving. */
static u32 uf_find(u32 *next, u32 i)
{
	while (next[i] != i) {
		next[i] = next[next[i]];
		i = next[i];
	}
	return i;
}

static u32 lower_index(const u32 *pts, u32 m, u32 v)
{
	u32 lo = 0, hi = m;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (pts[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Builds the intervals of the entry made of atoms[0..k) (sorted by rule):
 * each elementary interval gets the first rule covering it.
 */
static void build_intervals(struct mwg_filter *f, struct mwg_filter_entry *e,
			    const struct mwg_filter_atom *atoms, u32 k,
			    u32 *pts, u32 *next, u32 *label)
{
	u32 m = 0, i, j, w;

	pts[m++] = 0;
	for (i = 0; i < k; ++i) {
		pts[m++] = atoms[i].first;
		if (atoms[i].last < 65535)
			pts[m++] = atoms[i].last + 1U;
	}
	sort(pts, m, sizeof(*pts), u32_cmp, NULL);
	for (i = 1, w = 1; i < m; ++i)
		if (pts[i] != pts[w - 1])
			pts[w++] = pts[i];
	m = w;
	for (i = 0; i <= m; ++i) {
		next[i] = i;
		label[i] = MWG_FILTER_NONE;
	}
	for (i = 0; i < k; ++i) {
		u32 lo = lower_index(pts, m, atoms[i].first);
		u32 hi = atoms[i].last == 65535 ? m :
			 lower_index(pts, m, atoms[i].last + 1U);

		for (j = uf_find(next, lo); j < hi; j = uf_find(next, j)) {
			label[j] = atoms[i].rule;
			next[j] = j + 1;
		}
	}
	e->iv_off = f->n_intervals;
	for (i = 0; i < m; ++i) {
		struct mwg_filter_interval *iv;

		if (i && label[i] == label[i - 1])
			continue;
		iv = &f->intervals[f->n_intervals++];
		iv->start = pts[i];
		iv->rule = label[i];
	}
	e->n_iv = f->n_intervals - e->iv_off;
}

static int pnode_cmp(const void *a, const void *b)
{
	const struct mwg_filter_pnode *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static bool pnode_contains(const struct mwg_filter_pnode *p, const u8 *addr)
{
	u8 m[16];

	mask_addr(m, addr, AF_INET6, p->len);
	return !memcmp(m, p->addr, 16);
}

/* The prefix lengths present, per family and side, and their indexes. */
static void build_len_idx(struct mwg_filter *f)
{
	u32 i, fam, side;

	memset(f->pset, 0, sizeof(f->pset));
	for (fam = 0; fam < 2; ++fam)
		for (side = 0; side < 2; ++side)
			memset(f->pset[fam][side].len_idx, 0xff, 129);
	for (i = 0; i < f->n_entries; ++i) {
		u64 w = f->entries[i].key.w[4];

		fam = (w & 0xff) == AF_INET6;
		f->pset[fam][0].len_idx[(w >> 8) & 0xff] = 0;
		f->pset[fam][1].len_idx[(w >> 16) & 0xff] = 0;
	}
	for (fam = 0; fam < 2; ++fam)
		for (side = 0; side < 2; ++side) {
			struct mwg_filter_pset *ps = &f->pset[fam][side];

			for (i = 0; i <= 128; ++i)
				if (!ps->len_idx[i])
					ps->len_idx[i] = ps->n_lens++;
		}
}

/*
 * The prefix sets: the distinct source and destination prefixes of each
 * family (from the entries' keys), sorted, with their length sets. Sorted
 * by address then length, prefixes that nest form a stack, which gives each
 * one its ancestors.
 */
static int build_pset(struct mwg_filter *f, int fam, int side)
{
	struct mwg_filter_pset *ps = &f->pset[fam][side];
	struct mwg_filter_pnode *n, **stack;
	u32 i, w, depth = 0;

	ps->nodes = mwg_kvcalloc(f->n_entries, sizeof(*ps->nodes));
	stack = mwg_kvcalloc(129, sizeof(*stack));
	if (!ps->nodes || !stack) {
		kvfree(stack);
		return -ENOMEM;
	}
	for (i = 0; i < f->n_entries; ++i) {
		const struct mwg_filter_key *k = &f->entries[i].key;

		if ((k->w[4] & 0xff) != (fam ? AF_INET6 : AF_INET))
			continue;
		n = &ps->nodes[ps->n++];
		memcpy(n->addr, &k->w[side * 2], 16);
		n->len = (k->w[4] >> (side ? 16 : 8)) & 0xff;
	}
	sort(ps->nodes, ps->n, sizeof(*ps->nodes), pnode_cmp, NULL);
	for (i = 0, w = 0; i < ps->n; ++i) {
		n = &ps->nodes[i];
		if (w && !pnode_cmp(n, &ps->nodes[w - 1]))
			continue;
		ps->nodes[w] = *n;
		n = &ps->nodes[w++];
		while (depth && !pnode_contains(stack[depth - 1], n->addr))
			depth--;
		if (depth)
			memcpy(n->lens, stack[depth - 1]->lens, sizeof(n->lens));
		else
			memset(n->lens, 0, sizeof(n->lens));
		n->lens[n->len / 64] |= 1ULL << (n->len % 64);
		stack[depth++] = n;
	}
	ps->n = w;
	kvfree(stack);
	cond_resched();
	return 0;
}

static int build_psets(struct mwg_filter *f)
{
	int fam, side, ret;

	for (fam = 0; fam < 2; ++fam)
		for (side = 0; side < 2; ++side) {
			ret = build_pset(f, fam, side);
			if (ret)
				return ret;
		}
	return 0;
}

/* Tuples: distinct (family, slen, dlen, any), indexed by their lengths. */
static int build_tuples(struct mwg_filter *f)
{
	u32 i, fam, slots;

	for (fam = 0; fam < 2; ++fam) {
		slots = (u32)f->pset[fam][0].n_lens * f->pset[fam][1].n_lens * 2;
		if (!slots)
			continue;
		f->tuple_idx[fam] = mwg_kvcalloc(slots, sizeof(u32));
		if (!f->tuple_idx[fam])
			return -ENOMEM;
		for (i = 0; i < slots; ++i)
			f->tuple_idx[fam][i] = MWG_FILTER_NONE;
	}
	f->tuples = mwg_kvcalloc(f->n_entries, sizeof(*f->tuples));
	if (!f->tuples)
		return -ENOMEM;
	for (i = 0; i < f->n_entries; ++i) {
		const struct mwg_filter_entry *e = &f->entries[i];
		struct mwg_filter_tuple *t;
		u8 family = e->key.w[4] & 0xff, slen = (e->key.w[4] >> 8) & 0xff;
		u8 dlen = (e->key.w[4] >> 16) & 0xff;
		bool any = (e->key.w[4] >> 24) == MWG_FILTER_PROTO_ANY;
		u32 *slot, fi = family == AF_INET6;
		u8 ones[16], m[16];

		slot = &f->tuple_idx[fi][tuple_slot(f, fi, f->pset[fi][0].len_idx[slen],
						   f->pset[fi][1].len_idx[dlen], any)];
		if (*slot != MWG_FILTER_NONE) {
			t = &f->tuples[*slot];
			t->min_rule = min(t->min_rule, e->portless_min);
			continue;
		}
		*slot = f->n_tuples;
		t = &f->tuples[f->n_tuples++];
		t->family = family;
		t->slen = slen;
		t->dlen = dlen;
		t->any_proto = any;
		t->min_rule = e->portless_min;
		memset(ones, 0xff, sizeof(ones));
		mask_addr(m, ones, family, slen);
		memcpy(t->smask, m, 16);
		mask_addr(m, ones, family, dlen);
		memcpy(t->dmask, m, 16);
	}
	/* By ascending min_rule for the scan of small rulesets; re-index. */
	sort(f->tuples, f->n_tuples, sizeof(*f->tuples), tuple_cmp, NULL);
	for (i = 0; i < f->n_tuples; ++i) {
		const struct mwg_filter_tuple *t = &f->tuples[i];
		u32 fi = t->family == AF_INET6;

		f->tuple_idx[fi][tuple_slot(f, fi, f->pset[fi][0].len_idx[t->slen],
					    f->pset[fi][1].len_idx[t->dlen],
					    t->any_proto)] = i;
	}
	return 0;
}

int mwg_filter_compile(struct mwg_filter *f, const char **err)
{
	struct mwg_filter_atom *atoms = NULL;
	u32 *pts = NULL, *next = NULL, *label = NULL;
	u32 n_atoms = 0, i, j, maxk = 0, buckets;
	u64 total;
	int ret;

	ret = validate(f, &total, err);
	if (ret)
		return ret;
	ret = -ENOMEM;
	*err = "out of memory";
	atoms = mwg_kvcalloc(total, sizeof(*atoms));
	if (!atoms)
		goto out;
	for (i = 0; i < f->n_rules; ++i) {
		n_atoms = add_atoms(f, i, atoms, n_atoms);
		cond_resched();
	}
	sort(atoms, n_atoms, sizeof(*atoms), atom_cmp, NULL);

	/* Entries: runs of equal keys. */
	for (i = 0; i < n_atoms; i = j) {
		for (j = i + 1; j < n_atoms && !key_cmp(&atoms[i].key,
							  &atoms[j].key); ++j)
			;
		f->n_entries++;
		maxk = max(maxk, j - i);
	}
	f->entries = mwg_kvcalloc(f->n_entries, sizeof(*f->entries));
	f->intervals = mwg_kvcalloc(2 * (u64)n_atoms + f->n_entries,
				    sizeof(*f->intervals));
	pts = mwg_kvcalloc(2 * (u64)maxk + 2, sizeof(*pts));
	next = mwg_kvcalloc(2 * (u64)maxk + 3, sizeof(*next));
	label = mwg_kvcalloc(2 * (u64)maxk + 3, sizeof(*label));
	for (buckets = 1; buckets < f->n_entries; buckets <<= 1)
		;
	f->heads = mwg_kvcalloc(buckets, sizeof(*f->heads));
	f->hash_mask = buckets - 1;
	if (!f->entries || !f->intervals || !pts || !next || !label || !f->heads)
		goto out;
	for (i = 0; i < buckets; ++i)
		f->heads[i] = MWG_FILTER_NONE;

	f->n_entries = 0;
	for (i = 0; i < n_atoms; i = j) {
		struct mwg_filter_entry *e = &f->entries[f->n_entries];
		u32 h;

		for (j = i + 1; j < n_atoms && !key_cmp(&atoms[i].key,
							  &atoms[j].key); ++j)
			;
		e->key = atoms[i].key;
		e->portless_min = atoms[i].rule;
		e->full_min = MWG_FILTER_NONE;
		for (h = i; h < j; ++h) {
			if (atoms[h].first == 0 && atoms[h].last == 65535) {
				e->full_min = atoms[h].rule;
				break;
			}
		}
		build_intervals(f, e, &atoms[i], j - i, pts, next, label);
		h = key_hash(&e->key) & f->hash_mask;
		e->next = f->heads[h];
		f->heads[h] = f->n_entries++;
		cond_resched();
	}

	build_len_idx(f);
	ret = build_tuples(f);
	if (ret)
		goto out;
	/* Only the search of large tuple sets needs the prefix sets. */
	if (f->n_tuples > MWG_FILTER_SCAN_TUPLES) {
		ret = build_psets(f);
		if (ret)
			goto out;
	}
	ret = 0;
	*err = NULL;
out:
	kvfree(atoms);
	kvfree(pts);
	kvfree(next);
	kvfree(label);
	return ret;
}

/* Lookup. */

static const struct mwg_filter_entry *
find_entry(const struct mwg_filter *f, const struct mwg_filter_key *k)
{
	u32 i = f->heads[key_hash(k) & f->hash_mask];

	while (i != MWG_FILTER_NONE) {
		const struct mwg_filter_entry *e = &f->entries[i];

		if (!memcmp(&e->key, k, sizeof(*k)))
			return e;
		i = e->next;
	}
	return NULL;
}

static u32 interval_rule(const struct mwg_filter *f,
			 const struct mwg_filter_entry *e, u16 port)
{
	const struct mwg_filter_interval *iv = &f->intervals[e->iv_off];
	u32 lo = 0, hi = e->n_iv;

	/* The last interval starting at or before port (the first is 0). */
	while (hi - lo > 1) {
		u32 mid = lo + (hi - lo) / 2;

		if (iv[mid].start <= port)
			lo = mid;
		else
			hi = mid;
	}
	return iv[lo].rule;
}

/*
 * The lengths of the prefixes of ps containing addr: those of the last
 * prefix starting at or before addr, its own and its ancestors', up to the
 * number of leading bits it shares with addr.
 */
static void pset_lens(const struct mwg_filter_pset *ps, const u8 *addr,
		      u64 lens[3])
{
	const struct mwg_filter_pnode *n;
	u32 lo = 0, hi = ps->n, common = 0, i;

	lens[0] = lens[1] = lens[2] = 0;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (memcmp(ps->nodes[mid].addr, addr, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return;
	n = &ps->nodes[lo - 1];
	for (i = 0; i < 16 && n->addr[i] == addr[i]; ++i)
		common += 8;
	if (i < 16)
		common += __builtin_clz((u32)(n->addr[i] ^ addr[i]) << 24);
	for (i = 0; i < 3; ++i) {
		u64 keep = common >= 64 * (i + 1) ? ~0ULL :
			   common < 64 * i ? 0 :
			   ~0ULL >> (63 - (common - 64 * i));

		lens[i] = n->lens[i] & keep;
	}
}

static u32 probe_tuple(const struct mwg_filter *f,
		       const struct mwg_filter_tuple *tu,
		       const struct mwg_filter_tuple5 *t, const u64 *src,
		       const u64 *dst, u32 flags)
{
	const struct mwg_filter_entry *e;
	struct mwg_filter_key k;

	/* The same key as make_key() builds, from precomputed masks. */
	k.w[0] = src[0] & tu->smask[0];
	k.w[1] = src[1] & tu->smask[1];
	k.w[2] = dst[0] & tu->dmask[0];
	k.w[3] = dst[1] & tu->dmask[1];
	k.w[4] = (u64)tu->family | (u64)tu->slen << 8 | (u64)tu->dlen << 16 |
		 (u64)(tu->any_proto ? MWG_FILTER_PROTO_ANY : t->proto) << 24;
	e = find_entry(f, &k);
	if (!e)
		return MWG_FILTER_NONE;
	if (!proto_has_ports(t->proto))
		return e->portless_min;
	if (flags & MWG_PKT_LATER_FRAG)
		return e->full_min;
	return interval_rule(f, e, t->dport);
}

/* The set bits of lens, as indexes of the lengths in ps. */
static u32 len_list(const u64 lens[3], const struct mwg_filter_pset *ps,
		    u8 *out)
{
	u32 n = 0, w;

	for (w = 0; w < 3; ++w) {
		u64 bits = lens[w];

		while (bits) {
			out[n++] = ps->len_idx[w * 64 + __builtin_ctzll(bits)];
			bits &= bits - 1;
		}
	}
	return n;
}


static u32 lookup_tuple(const struct mwg_filter *f,
			const struct mwg_filter_tuple5 *t, u32 flags)
{
	u32 best = MWG_FILTER_NONE, fam = t->family == AF_INET6;
	const struct mwg_filter_pset *sp = &f->pset[fam][0];
	const struct mwg_filter_pset *dp = &f->pset[fam][1];
	u64 src[2], dst[2], slens[3], dlens[3];
	u32 ti, r, ns, nd, i, j, any;
	u8 si[129], di[129];

	if (!f->tuple_idx[fam])
		return best;
	memcpy(src, t->src, 16);
	memcpy(dst, t->dst, 16);
	if (f->n_tuples <= MWG_FILTER_SCAN_TUPLES) {
		/* Few tuples: probe them by ascending min_rule, stop early. */
		for (ti = 0; ti < f->n_tuples; ++ti) {
			const struct mwg_filter_tuple *tu = &f->tuples[ti];

			if (tu->min_rule >= best)
				break;
			if (tu->family != t->family)
				continue;
			r = probe_tuple(f, tu, t, src, dst, flags);
			if (r < best)
				best = r;
		}
		return best;
	}
	pset_lens(sp, t->src, slens);
	pset_lens(dp, t->dst, dlens);
	ns = len_list(slens, sp, si);
	nd = len_list(dlens, dp, di);
	for (i = 0; i < ns; ++i) {
		for (j = 0; j < nd; ++j) {
			for (any = 0; any < 2; ++any) {
				ti = f->tuple_idx[fam][tuple_slot(f, fam, si[i], di[j], any)];
				if (ti == MWG_FILTER_NONE ||
				    f->tuples[ti].min_rule >= best)
					continue;
				r = probe_tuple(f, &f->tuples[ti], t, src, dst, flags);
				best = min(best, r);
			}
		}
	}
	return best;
}

u32 mwg_filter_lookup(const struct mwg_filter *f,
		      const struct mwg_filter_pkt *pkt)
{
	return lookup_tuple(f, &pkt->t, pkt->flags);
}

/* Parsing. */

#define MAX_EXT_HEADERS 8

/*
 * Parses the IP packet at d (cap bytes present, len bytes long in total).
 * For a quoted packet (inner), a truncated tail is fine: only what is there
 * is used, and a missing L4 header leaves the ports out.
 */
static int parse_ip(const u8 *d, u32 cap, u32 len, bool inner,
		    struct mwg_filter_tuple5 *t, u32 *flags, u8 *tcp_flags,
		    u32 *l4, u32 *iplen, u32 *frag_id)
{
	u32 off, avail;
	u8 proto;

	memset(t, 0, sizeof(*t));
	*flags = 0;
	if (cap < 1)
		return -EINVAL;
	if ((d[0] >> 4) == 4) {
		u32 ihl = (d[0] & 0xf) * 4U, tot;
		u16 frag;

		if (cap < sizeof(struct iphdr) || ihl < sizeof(struct iphdr) ||
		    ihl > cap)
			return -EINVAL;
		tot = rd16(d + 2);
		if (tot < ihl || (!inner && tot > len))
			return -EINVAL;
		if (!inner)
			len = tot;
		*iplen = len;
		t->family = AF_INET;
		proto = d[9];
		memcpy(t->src, d + 12, 4);
		memcpy(t->dst, d + 16, 4);
		frag = rd16(d + 6);
		off = ihl;
		*frag_id = rd16(d + 4);
		if (frag & 0x2000)
			*flags |= MWG_PKT_MORE_FRAGS;
		if (frag & 0x1fff) {
			t->proto = proto;
			*flags |= MWG_PKT_LATER_FRAG;
			return 0;
		}
		if (frag & 0x2000)
			*flags |= MWG_PKT_FIRST_FRAG;
	} else if ((d[0] >> 4) == 6) {
		bool frag_seen = false;
		u32 n;

		if (cap < sizeof(struct ipv6hdr))
			return -EINVAL;
		n = rd16(d + 4) + (u32)sizeof(struct ipv6hdr);
		if (!inner && n > len)
			return -EINVAL;
		if (!inner)
			len = n;
		*iplen = len;
		t->family = AF_INET6;
		memcpy(t->src, d + 8, 16);
		memcpy(t->dst, d + 24, 16);
		proto = d[6];
		off = sizeof(struct ipv6hdr);
		for (n = 0; ; ++n) {
			if (proto != EXT_HOP && proto != EXT_ROUTING &&
			    proto != EXT_DEST && proto != EXT_FRAGMENT &&
			    proto != EXT_AUTH)
				break;
			if (n == MAX_EXT_HEADERS || off + 8 > cap ||
			    off + 8 > len)
				return -EINVAL;
			if (proto == EXT_FRAGMENT) {
				u16 fo = rd16(d + off + 2);

				/* One fragment header at most (RFC 8200 4.5). */
				if (frag_seen)
					return -EINVAL;
				frag_seen = true;
				proto = d[off];
				*frag_id = (u32)rd16(d + off + 4) << 16 |
					   rd16(d + off + 6);
				if (fo & 1)
					*flags |= MWG_PKT_MORE_FRAGS;
				if (fo & 0xfff8) {
					t->proto = proto;
					*flags |= MWG_PKT_LATER_FRAG;
					return 0;
				}
				if (fo & 1)
					*flags |= MWG_PKT_FIRST_FRAG;
				off += 8;
			} else if (proto == EXT_AUTH) {
				u32 hl = (d[off + 1] + 2U) * 4;

				proto = d[off];
				off += hl;
			} else {
				u32 hl = (d[off + 1] + 1U) * 8;

				proto = d[off];
				off += hl;
			}
		}
	} else {
		return -EINVAL;
	}
	t->proto = proto;
	*l4 = off;
	avail = min(cap, len);
	avail = avail > off ? avail - off : 0;
	if (proto_has_ports(proto)) {
		u32 need = proto == IPPROTO_TCP ? 20 :
			   proto == IPPROTO_SCTP ? 12 :
			   proto == IPPROTO_DCCP ? 12 : 8;

		if (inner)
			need = 4;
		if (avail < need)
			return inner ? 0 : -EINVAL;
		t->sport = rd16(d + off);
		t->dport = rd16(d + off + 2);
		*flags |= MWG_PKT_PORTS;
		if (proto == IPPROTO_TCP && !inner) {
			if ((d[off + 12] >> 4) < 5)
				return -EINVAL;
			*tcp_flags = d[off + 13];
			*flags |= MWG_PKT_TCP;
		}
	} else if ((proto == IPPROTO_ICMP && t->family == AF_INET) ||
		   (proto == IPPROTO_ICMPV6 && t->family == AF_INET6)) {
		bool v4 = t->family == AF_INET;
		u8 type;

		if (avail < (inner ? 6U : 8U))
			return inner ? 0 : -EINVAL;
		type = d[off];
		if (type == (v4 ? ICMP_ECHO : ICMPV6_ECHO_REQUEST)) {
			t->sport = rd16(d + off + 4);
			*flags |= MWG_PKT_ECHO_REQUEST;
		} else if (type == (v4 ? ICMP_ECHOREPLY : ICMPV6_ECHO_REPLY)) {
			t->sport = rd16(d + off + 4);
			*flags |= MWG_PKT_ECHO_REPLY;
		} else if (!inner &&
			   (v4 ? type == ICMP_DEST_UNREACH ||
				 type == ICMP_TIME_EXCEEDED ||
				 type == ICMP_PARAMETERPROB :
				 type == ICMPV6_DEST_UNREACH ||
				 type == ICMPV6_PKT_TOOBIG ||
				 type == ICMPV6_TIME_EXCEED ||
				 type == ICMPV6_PARAMPROB)) {
			*flags |= MWG_PKT_ICMP_ERROR;
		}
	}
	return 0;
}

int mwg_filter_parse(const u8 *data, u32 cap, u32 len,
		     struct mwg_filter_pkt *pkt)
{
	u32 l4 = 0, iflags, ifrag;
	u8 unused;
	int ret;

	memset(pkt, 0, sizeof(*pkt));
	ret = parse_ip(data, cap, len, false, &pkt->t, &pkt->flags,
		       &pkt->tcp_flags, &l4, &len, &pkt->frag_id);
	if (ret)
		return ret;
	pkt->len = len;
	if (pkt->flags & MWG_PKT_ICMP_ERROR) {
		u32 ioff = l4 + 8, il4, ilen;

		/* An unreadable quote just relates the error to nothing. */
		if (ioff >= min(cap, len) ||
		    parse_ip(data + ioff, min(cap, len) - ioff, len - ioff, true,
			     &pkt->inner, &iflags, &unused, &il4, &ilen,
			     &ifrag) ||
		    pkt->inner.family != pkt->t.family ||
		    (iflags & MWG_PKT_LATER_FRAG))
			pkt->flags &= ~MWG_PKT_ICMP_ERROR;
		else
			pkt->inner_flags = iflags;
	}
	return 0;
}

/* Flow table. */

enum { FLOW_NEW = 1, FLOW_ESTABLISHED, FLOW_CLOSING };

/*
 * What a slot holds: a flow, or the later fragments of one inbound packet
 * (lport:rport is the fragment identification, laddr the destination).
 */
enum { KIND_FLOW, KIND_FRAG };

struct flow_key {
	u64 owner;
	u8 laddr[16], raddr[16];
	u16 lport, rport;
	u8 family, proto, kind;
	u8 pad;
} __aligned(8);

struct mwg_flow_table *mwg_flow_table_create(unsigned int flows)
{
	struct mwg_flow_table *ft;
	u32 n = 1, i;

	flows = clamp(flows, 64U, 4194304U);
	while (n * MWG_FLOW_WAYS < flows)
		n <<= 1;
	ft = kvzalloc(struct_size(ft, buckets, n), GFP_KERNEL_ACCOUNT);
	if (!ft)
		return NULL;
	get_random_bytes(&ft->key, sizeof(ft->key));
	ft->mask = n - 1;
	for (i = 0; i < n; ++i)
		spin_lock_init(&ft->buckets[i].lock);
	atomic64_set(&ft->evictions, 0);
	return ft;
}

void mwg_flow_table_destroy(struct mwg_flow_table *ft)
{
	kvfree(ft);
}

static bool flow_tracked_proto(u8 proto)
{
	return proto_has_ports(proto) || proto == IPPROTO_ICMP ||
	       proto == IPPROTO_ICMPV6;
}

static u64 flow_timeout(const struct mwg_flow *fl)
{
	unsigned int s;

	if (fl->kind == KIND_FRAG)
		s = MWG_FRAG_TIMEOUT;
	else if (fl->proto == IPPROTO_TCP)
		s = fl->state == FLOW_NEW ? READ_ONCE(mwg_flow_tcp_syn_timeout) :
		    fl->state == FLOW_ESTABLISHED ? READ_ONCE(mwg_flow_tcp_timeout) :
		    READ_ONCE(mwg_flow_tcp_close_timeout);
	else if (fl->proto == IPPROTO_ICMP || fl->proto == IPPROTO_ICMPV6)
		s = READ_ONCE(mwg_flow_icmp_timeout);
	else
		s = fl->state == FLOW_NEW ? READ_ONCE(mwg_flow_udp_timeout) :
		    READ_ONCE(mwg_flow_udp_stream_timeout);
	return (u64)s * NSEC_PER_SECOND;
}

static void flow_touch(struct mwg_flow *fl, u64 now)
{
	fl->last_ns = now;
	fl->expires_ns = now + flow_timeout(fl);
}

static bool flow_live(const struct mwg_flow *fl, u64 now)
{
	return fl->owner && fl->expires_ns > now;
}

static bool flow_is(const struct mwg_flow *fl, const struct flow_key *k)
{
	return fl->owner == k->owner && fl->family == k->family &&
	       fl->proto == k->proto && fl->kind == k->kind &&
	       fl->lport == k->lport &&
	       fl->rport == k->rport && !memcmp(fl->laddr, k->laddr, 16) &&
	       !memcmp(fl->raddr, k->raddr, 16);
}

static struct mwg_flow_bucket *flow_bucket(struct mwg_flow_table *ft,
					   const struct flow_key *k)
{
	return &ft->buckets[siphash(k, sizeof(*k), &ft->key) & ft->mask];
}

static struct mwg_flow *flow_find(struct mwg_flow_bucket *b,
				  const struct flow_key *k, u64 now)
{
	int i;

	for (i = 0; i < MWG_FLOW_WAYS; ++i) {
		if (flow_live(&b->slot[i], now) && flow_is(&b->slot[i], k))
			return &b->slot[i];
	}
	return NULL;
}

/*
 * A slot for a new flow of k->owner: a free or expired one; else the least
 * recently used flow of the owner holding the most slots of the bucket, if
 * that owner holds more than k->owner does; else k->owner's own least
 * recently used flow. A peer so takes a slot from another only while that
 * other holds more of the bucket than itself: whatever a peer makes the
 * node open, every other peer keeps its fair share of each bucket (a peer
 * with one flow in a bucket loses it to nobody who already has one there).
 * The buckets are keyed with siphash, so nobody can aim at the bucket of
 * another's flow.
 */
static struct mwg_flow *flow_victim(struct mwg_flow_table *ft,
				    struct mwg_flow_bucket *b,
				    const struct flow_key *k, u64 now)
{
	struct mwg_flow *victim = NULL;
	unsigned int mine = 0, most = 0, cnt[MWG_FLOW_WAYS];
	int i, j;

	for (i = 0; i < MWG_FLOW_WAYS; ++i) {
		if (!flow_live(&b->slot[i], now))
			return &b->slot[i];
		if (b->slot[i].owner == k->owner)
			mine++;
	}
	atomic64_inc(&ft->evictions);
	for (i = 0; i < MWG_FLOW_WAYS; ++i) {
		cnt[i] = 0;
		for (j = 0; j < MWG_FLOW_WAYS; ++j)
			cnt[i] += b->slot[j].owner == b->slot[i].owner;
		if (b->slot[i].owner != k->owner)
			most = max(most, cnt[i]);
	}
	for (i = 0; i < MWG_FLOW_WAYS; ++i) {
		struct mwg_flow *fl = &b->slot[i];
		bool cand = most > mine ?
			    cnt[i] == most && fl->owner != k->owner :
			    fl->owner == k->owner;

		if (cand && (!victim || fl->last_ns < victim->last_ns))
			victim = fl;
	}
	return victim;
}

/* Takes a slot of b for the new flow k (bucket locked). */
static struct mwg_flow *flow_claim(struct mwg_flow_table *ft,
				   struct mwg_flow_bucket *b,
				   const struct flow_key *k, u64 now)
{
	struct mwg_flow *fl = flow_victim(ft, b, k, now);

	fl->owner = k->owner;
	fl->family = k->family;
	fl->proto = k->proto;
	fl->kind = k->kind;
	fl->lport = k->lport;
	fl->rport = k->rport;
	memcpy(fl->laddr, k->laddr, 16);
	memcpy(fl->raddr, k->raddr, 16);
	fl->state = FLOW_NEW;
	return fl;
}

void mwg_flow_outbound(struct mwg_flow_table *ft, u64 owner,
		       const struct mwg_filter_pkt *pkt, u64 now)
{
	const struct mwg_filter_tuple5 *t = &pkt->t;
	struct mwg_flow_bucket *b;
	struct mwg_flow *fl;
	struct flow_key k;
	bool opens;

	if (!ft || !owner || !flow_tracked_proto(t->proto))
		return;
	if (!(pkt->flags & (MWG_PKT_PORTS | MWG_PKT_ECHO_REQUEST)))
		return;
	opens = !(pkt->flags & MWG_PKT_TCP) ||
		(pkt->tcp_flags & (MWG_TCP_SYN | MWG_TCP_ACK | MWG_TCP_RST)) ==
		MWG_TCP_SYN;
	memset(&k, 0, sizeof(k));
	k.owner = owner;
	k.family = t->family;
	k.proto = t->proto;
	memcpy(k.laddr, t->src, 16);
	memcpy(k.raddr, t->dst, 16);
	k.lport = t->sport;
	k.rport = (pkt->flags & MWG_PKT_ECHO_REQUEST) ? 0 : t->dport;

	b = flow_bucket(ft, &k);
	spin_lock_bh(&b->lock);
	fl = flow_find(b, &k, now);
	if (!fl) {
		if (!opens)
			goto out;
		fl = flow_claim(ft, b, &k, now);
	} else if ((pkt->flags & MWG_PKT_TCP) &&
		   (pkt->tcp_flags & (MWG_TCP_FIN | MWG_TCP_RST))) {
		fl->state = FLOW_CLOSING;
	} else if ((pkt->flags & MWG_PKT_TCP) && opens &&
		   fl->state == FLOW_CLOSING) {
		fl->state = FLOW_NEW;	/* the port pair reused */
	}
	flow_touch(fl, now);
out:
	spin_unlock_bh(&b->lock);
}

/*
 * An ICMP error is about a packet we sent only if it goes back to that
 * packet's sender: its destination is the quoted source. Anything else
 * (an "unreachable" or "packet too big" aimed at another host behind us,
 * quoting some flow of ours) is not related to the flow.
 */
static bool icmp_error_to_sender(const struct mwg_filter_pkt *pkt)
{
	return !memcmp(pkt->t.dst, pkt->inner.src, 16);
}

/* The key of the fragment train of inbound pkt (k->owner already set). */
static void frag_key(struct flow_key *k, const struct mwg_filter_pkt *pkt)
{
	k->kind = KIND_FRAG;
	k->family = pkt->t.family;
	k->proto = pkt->t.proto;
	memcpy(k->laddr, pkt->t.dst, 16);
	memcpy(k->raddr, pkt->t.src, 16);
	k->lport = pkt->frag_id >> 16;
	k->rport = (u16)pkt->frag_id;
}

static bool flow_inbound_key(u64 owner, const struct mwg_filter_pkt *pkt,
			     struct flow_key *k, bool *error)
{
	const struct mwg_filter_tuple5 *t;
	u32 flags;

	memset(k, 0, sizeof(*k));
	k->owner = owner;
	*error = pkt->flags & MWG_PKT_ICMP_ERROR;
	if (pkt->flags & MWG_PKT_LATER_FRAG) {
		frag_key(k, pkt);
		return true;
	}
	if (*error) {
		/* The quoted packet is one we sent: the flow's own direction. */
		t = &pkt->inner;
		flags = pkt->inner_flags;
		if (!(flags & (MWG_PKT_PORTS | MWG_PKT_ECHO_REQUEST)) ||
		    !icmp_error_to_sender(pkt))
			return false;
		memcpy(k->laddr, t->src, 16);
		memcpy(k->raddr, t->dst, 16);
		k->lport = t->sport;
		k->rport = (flags & MWG_PKT_ECHO_REQUEST) ? 0 : t->dport;
	} else {
		t = &pkt->t;
		flags = pkt->flags;
		if (flags & MWG_PKT_ECHO_REPLY) {
			k->lport = t->sport;
		} else if (flags & MWG_PKT_PORTS) {
			k->lport = t->dport;
			k->rport = t->sport;
		} else {
			return false;
		}
		memcpy(k->laddr, t->dst, 16);
		memcpy(k->raddr, t->src, 16);
	}
	k->family = t->family;
	k->proto = t->proto;
	return flow_tracked_proto(t->proto);
}

bool mwg_flow_inbound(struct mwg_flow_table *ft, u64 owner,
		      const struct mwg_filter_pkt *pkt, u64 now)
{
	struct mwg_flow_bucket *b;
	struct mwg_flow *fl;
	struct flow_key k;
	bool error;

	if (!ft || !owner || !flow_inbound_key(owner, pkt, &k, &error))
		return false;
	b = flow_bucket(ft, &k);
	spin_lock_bh(&b->lock);
	fl = flow_find(b, &k, now);
	if (fl && k.kind == KIND_FRAG) {
		/* The last fragment ends the train (the tunnel keeps order). */
		if (pkt->flags & MWG_PKT_MORE_FRAGS)
			flow_touch(fl, now);
		else
			fl->owner = 0;
	} else if (fl && !error) {
		if (pkt->flags & MWG_PKT_TCP) {
			if (pkt->tcp_flags & (MWG_TCP_FIN | MWG_TCP_RST))
				fl->state = FLOW_CLOSING;
			else if ((pkt->tcp_flags & MWG_TCP_ACK) &&
				 fl->state == FLOW_NEW)
				fl->state = FLOW_ESTABLISHED;
		} else if (fl->proto != IPPROTO_ICMP &&
			   fl->proto != IPPROTO_ICMPV6) {
			fl->state = FLOW_ESTABLISHED;
		}
		flow_touch(fl, now);
	}
	spin_unlock_bh(&b->lock);
	return fl;
}

void mwg_flow_frag_passed(struct mwg_flow_table *ft, u64 owner,
			  const struct mwg_filter_pkt *pkt, u64 now)
{
	struct mwg_flow_bucket *b;
	struct mwg_flow *fl;
	struct flow_key k;

	if (!ft || !owner || !(pkt->flags & MWG_PKT_FIRST_FRAG))
		return;
	memset(&k, 0, sizeof(k));
	k.owner = owner;
	frag_key(&k, pkt);
	b = flow_bucket(ft, &k);
	spin_lock_bh(&b->lock);
	fl = flow_find(b, &k, now);
	if (!fl)
		fl = flow_claim(ft, b, &k, now);
	flow_touch(fl, now);
	spin_unlock_bh(&b->lock);
}

u32 mwg_flow_count(struct mwg_flow_table *ft, u64 now)
{
	u32 n = 0, i;
	int j;

	for (i = 0; i <= ft->mask; ++i) {
		struct mwg_flow_bucket *b = &ft->buckets[i];

		spin_lock_bh(&b->lock);
		for (j = 0; j < MWG_FLOW_WAYS; ++j)
			n += flow_live(&b->slot[j], now);
		spin_unlock_bh(&b->lock);
	}
	return n;
}

/* The decision. */

static void count_rule(const struct mwg_filter *f, u32 r, u32 len)
{
	struct mwg_filter_rule *rule = &f->rules[r];

	atomic64_inc(&rule->packets);
	atomic64_add(len, &rule->bytes);
}

enum mwg_filter_verdict mwg_filter_decide(const struct mwg_filter *f,
					  struct mwg_flow_table *ft, u64 owner,
					  const struct mwg_filter_pkt *pkt,
					  u64 now, u32 *rule)
{
	u32 r;

	*rule = MWG_FILTER_NONE;
	if (!f)
		return MWG_FILTER_PASS;
	if (mwg_flow_inbound(ft, owner, pkt, now))
		goto pass;
	if (pkt->flags & MWG_PKT_ICMP_ERROR) {
		/*
		 * An error about a packet we sent in a flow the peer opened:
		 * the flow is allowed if the quote, reversed, is.
		 */
		struct mwg_filter_tuple5 rev = pkt->inner;

		if ((pkt->inner_flags & MWG_PKT_PORTS) &&
		    icmp_error_to_sender(pkt)) {
			memcpy(rev.src, pkt->inner.dst, 16);
			memcpy(rev.dst, pkt->inner.src, 16);
			rev.sport = pkt->inner.dport;
			rev.dport = pkt->inner.sport;
			r = lookup_tuple(f, &rev, MWG_PKT_PORTS);
			if (r != MWG_FILTER_NONE &&
			    f->rules[r].action == MESHWG_FILTER_ACCEPT) {
				count_rule(f, r, pkt->len);
				*rule = r;
				return MWG_FILTER_PASS;
			}
		}
	}
	r = mwg_filter_lookup(f, pkt);
	*rule = r;
	if (r == MWG_FILTER_NONE)
		return MWG_FILTER_DROP;
	count_rule(f, r, pkt->len);
	if (f->rules[r].action != MESHWG_FILTER_ACCEPT)
		return MWG_FILTER_DROP;
pass:
	mwg_flow_frag_passed(ft, owner, pkt, now);
	return MWG_FILTER_PASS;
}

#ifdef __KERNEL__
#include <linux/skbuff.h>

/* The headers the classifier reads are in the first bytes. */
#define PARSE_BYTES 256

int mwg_filter_parse_skb(const struct sk_buff *skb, struct mwg_filter_pkt *pkt)
{
	u8 buf[PARSE_BYTES];
	int off = skb_network_offset(skb);
	u32 len, cap;
	const u8 *p;

	if (off < 0 || skb->len <= (unsigned int)off)
		return -EINVAL;
	len = skb->len - off;
	cap = min_t(u32, len, PARSE_BYTES);
	p = skb_header_pointer(skb, off, cap, buf);
	if (!p)
		return -EINVAL;
	return mwg_filter_parse(p, cap, len, pkt);
}
#endif
