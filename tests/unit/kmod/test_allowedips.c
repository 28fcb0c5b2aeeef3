// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/allowedips.c against a brute-force reference: random prefixes (fixed
 * seeds) inserted, moved and removed, then longest-prefix lookups, per-peer
 * lists and the trie's own invariants compared after every phase.
 */
#include "kernel.h"
#include "peer.h"
#include "allowedips.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#define NPEERS 12
#define MAXREF 4096

struct ref_entry {
	int family;
	u8 addr[16];
	u8 cidr;
	int peer;
};

struct fixture {
	struct allowedips table;
	struct mutex lock;
	struct mwg_peer peers[NPEERS];
	struct ref_entry ref[MAXREF];
	int nref;
	u64 rng;
	long live_before;
};

static u64 rnd(struct fixture *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static void mask(u8 *a, u8 cidr, int bytes)
{
	int i;

	for (i = 0; i < bytes; ++i) {
		if (i * 8 >= cidr)
			a[i] = 0;
		else if (cidr - i * 8 < 8)
			a[i] &= (u8)(0xff << (8 - (cidr - i * 8)));
	}
}

static bool prefix_has(const u8 *prefix, u8 cidr, const u8 *addr)
{
	u8 tmp[16];

	memcpy(tmp, addr, 16);
	mask(tmp, cidr, 16);
	return !memcmp(tmp, prefix, 16);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->live_before = shim_live_allocs;
	assert_int_equal(mwg_allowedips_slab_init(), 0);
	mwg_allowedips_init(&f->table);
	mutex_init(&f->lock);
	mutex_lock(&f->lock);
	for (i = 0; i < NPEERS; ++i) {
		kref_init(&f->peers[i].refcount);
		INIT_LIST_HEAD(&f->peers[i].allowedips_list);
		f->peers[i].internal_id = i;
	}
	f->rng = 0x1234567890abcdefULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	mwg_allowedips_free(&f->table, &f->lock);
	for (i = 0; i < NPEERS; ++i) {
		assert_true(list_empty(&f->peers[i].allowedips_list));
		/* Every lookup reference was dropped again. */
		assert_int_equal(f->peers[i].refcount.refcount, 1);
	}
	mutex_unlock(&f->lock);
	mwg_allowedips_slab_uninit();
	assert_int_equal(shim_live_allocs, f->live_before);
	free(f);
	return 0;
}

static int table_insert(struct fixture *f, int family, const u8 *a, u8 cidr,
			int peer)
{
	struct mwg_peer *p = &f->peers[peer];

	if (family == AF_INET)
		return mwg_allowedips_insert_v4(&f->table,
						(const struct in_addr *)a,
						cidr, p, &f->lock);
	return mwg_allowedips_insert_v6(&f->table, (const struct in6_addr *)a,
					cidr, p, &f->lock);
}

static int table_remove(struct fixture *f, int family, const u8 *a, u8 cidr,
			int peer)
{
	struct mwg_peer *p = &f->peers[peer];

	if (family == AF_INET)
		return mwg_allowedips_remove_v4(&f->table,
						(const struct in_addr *)a,
						cidr, p, &f->lock);
	return mwg_allowedips_remove_v6(&f->table, (const struct in6_addr *)a,
					cidr, p, &f->lock);
}

static struct ref_entry *ref_find(struct fixture *f, int family, const u8 *a,
				  u8 cidr)
{
	int i;

	for (i = 0; i < f->nref; ++i)
		if (f->ref[i].family == family && f->ref[i].cidr == cidr &&
		    !memcmp(f->ref[i].addr, a, 16))
			return &f->ref[i];
	return NULL;
}

static void ref_insert(struct fixture *f, int family, const u8 *a, u8 cidr,
		       int peer)
{
	struct ref_entry *e;
	u8 m[16] = { 0 };

	memcpy(m, a, family == AF_INET ? 4 : 16);
	mask(m, cidr, 16);
	e = ref_find(f, family, m, cidr);
	if (!e) {
		assert_true(f->nref < MAXREF);
		e = &f->ref[f->nref++];
		e->family = family;
		memcpy(e->addr, m, 16);
		e->cidr = cidr;
	}
	e->peer = peer;
}

static void ref_remove(struct fixture *f, int family, const u8 *a, u8 cidr,
		       int peer)
{
	struct ref_entry *e;
	u8 m[16] = { 0 };

	memcpy(m, a, family == AF_INET ? 4 : 16);
	mask(m, cidr, 16);
	e = ref_find(f, family, m, cidr);
	if (e && e->peer == peer)
		*e = f->ref[--f->nref];
}

static int ref_lookup(struct fixture *f, int family, const u8 *a)
{
	int i, best = -1, best_cidr = -1;
	u8 full[16] = { 0 };

	memcpy(full, a, family == AF_INET ? 4 : 16);
	for (i = 0; i < f->nref; ++i)
		if (f->ref[i].family == family &&
		    f->ref[i].cidr > best_cidr &&
		    prefix_has(f->ref[i].addr, f->ref[i].cidr, full)) {
			best = f->ref[i].peer;
			best_cidr = f->ref[i].cidr;
		}
	return best;
}

static int table_lookup(struct fixture *f, int family, const u8 *a)
{
	struct mwg_peer *p = mwg_allowedips_lookup(&f->table, family, a);
	int idx;

	if (!p)
		return -1;
	idx = (int)(p - f->peers);
	assert_true(idx >= 0 && idx < NPEERS);
	/* The lookup handed out a reference. */
	assert_int_equal(p->refcount.refcount, 2);
	mwg_peer_put(p);
	return idx;
}

/* Walks the whole trie checking the structural invariants; returns nodes. */
static int check_subtree(struct allowedips_node *node,
			 struct allowedips_node *parent,
			 struct allowedips_node **slot, u8 bitlen)
{
	int b, n = 1, children = 0;
	struct allowedips_node *c;

	assert_ptr_equal(node->parent, parent);
	assert_ptr_equal(node->parent_slot, slot);
	assert_int_equal(node->bitlen, bitlen);
	assert_true(node->cidr <= bitlen);
	if (parent) {
		assert_true(node->cidr > parent->cidr);
		u8 tmp[16] = { 0 };

		memcpy(tmp, node->bits, bitlen / 8);
		mask(tmp, parent->cidr, 16);
		u8 pb[16] = { 0 };

		memcpy(pb, parent->bits, bitlen / 8);
		assert_memory_equal(tmp, pb, 16);
		b = (node->bits[parent->cidr / 8] >> (7 - parent->cidr % 8)) & 1;
		assert_ptr_equal(slot, &parent->bit[b]);
	}
	for (b = 0; b < 2; ++b) {
		c = node->bit[b];
		if (c) {
			children++;
			n += check_subtree(c, node, &node->bit[b], bitlen);
		}
	}
	/* A node without a peer exists only to join two subtrees. */
	if (!node->peer)
		assert_int_equal(children, 2);
	return n;
}

static void check_all(struct fixture *f)
{
	int i, fam, k, want, got, count[NPEERS] = { 0 }, listed;
	struct allowedips_node *node;
	u8 a[16], ip[16], cidr;

	if (f->table.root4) {
		check_subtree(f->table.root4, NULL, &f->table.root4, 32);
		assert_null(f->table.root4->parent);
	}
	if (f->table.root6)
		check_subtree(f->table.root6, NULL, &f->table.root6, 128);

	/* Each peer's list is exactly its share of the reference. */
	for (i = 0; i < f->nref; ++i)
		count[f->ref[i].peer]++;
	for (i = 0; i < NPEERS; ++i) {
		listed = 0;
		list_for_each_entry(node, &f->peers[i].allowedips_list,
				    peer_list) {
			struct ref_entry *e;

			fam = mwg_allowedips_read_node(node, ip, &cidr);
			e = ref_find(f, fam, ip, cidr);
			assert_non_null(e);
			assert_int_equal(e->peer, i);
			listed++;
		}
		assert_int_equal(listed, count[i]);
	}

	/* Lookups: random addresses, and addresses inside known prefixes. */
	for (k = 0; k < 3000; ++k) {
		fam = (rnd(f) & 1) ? AF_INET : AF_INET6;
		for (i = 0; i < 16; i += 8) {
			u64 r = rnd(f);

			memcpy(a + i, &r, 8);
		}
		if (f->nref && (k & 1)) {
			struct ref_entry *e = &f->ref[rnd(f) % f->nref];
			u8 keep[16];

			fam = e->family;
			memcpy(keep, e->addr, 16);
			/* Random host bits below the prefix. */
			for (i = 0; i < 16; ++i) {
				if (i * 8 + 8 <= e->cidr)
					a[i] = keep[i];
				else if (i * 8 < e->cidr)
					a[i] = (u8)((keep[i] & (0xff << (8 - (e->cidr - i * 8)))) |
					       (a[i] & (0xff >> (e->cidr - i * 8))));
			}
		}
		if (fam == AF_INET)
			memset(a + 4, 0, 12);
		want = ref_lookup(f, fam, a);
		got = table_lookup(f, fam, a);
		assert_int_equal(got, want);
	}
}

/* Addresses cluster around a few bases, so prefixes nest and split. */
static void random_prefix(struct fixture *f, int *family, u8 *a, u8 *cidr)
{
	static const u8 bases[4][16] = {
		{ 10, 0, 0, 0 },
		{ 192, 168, 1, 0 },
		{ 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 },
		{ 0x20, 0x01, 0x0d, 0xb8 },
	};
	int b = (int)(rnd(f) % 4), i, flips;

	*family = b < 2 ? AF_INET : AF_INET6;
	memcpy(a, bases[b], 16);
	flips = (int)(rnd(f) % 6);
	for (i = 0; i < flips; ++i) {
		int bit = (int)(rnd(f) % (*family == AF_INET ? 32 : 128));

		a[bit / 8] ^= (u8)(0x80 >> (bit % 8));
	}
	*cidr = (u8)(rnd(f) % ((*family == AF_INET ? 32 : 128) + 1));
	if (rnd(f) % 4 == 0)
		*cidr = *family == AF_INET ? 32 : 128;
}

static void run_random(struct fixture *f, u64 seed)
{
	int round, k, family, peer;
	u8 a[16], cidr;

	f->rng = seed;
	for (round = 0; round < 6; ++round) {
		for (k = 0; k < 300; ++k) {
			random_prefix(f, &family, a, &cidr);
			peer = (int)(rnd(f) % NPEERS);
			assert_int_equal(table_insert(f, family, a, cidr, peer), 0);
			ref_insert(f, family, a, cidr, peer);
		}
		check_all(f);
		/* Remove some: half existing prefixes, half random ones. */
		for (k = 0; k < 150 && f->nref; ++k) {
			if (k & 1) {
				struct ref_entry e = f->ref[rnd(f) % f->nref];

				family = e.family;
				memcpy(a, e.addr, 16);
				cidr = e.cidr;
				peer = (rnd(f) % 4) ? e.peer : (int)(rnd(f) % NPEERS);
			} else {
				random_prefix(f, &family, a, &cidr);
				peer = (int)(rnd(f) % NPEERS);
			}
			assert_int_equal(table_remove(f, family, a, cidr, peer), 0);
			ref_remove(f, family, a, cidr, peer);
		}
		check_all(f);
		peer = (int)(rnd(f) % NPEERS);
		mwg_allowedips_remove_by_peer(&f->table, &f->peers[peer],
					      &f->lock);
		for (k = 0; k < f->nref;)
			if (f->ref[k].peer == peer)
				f->ref[k] = f->ref[--f->nref];
			else
				++k;
		check_all(f);
	}
}

static void test_random_seed1(void **state)
{
	run_random(*state, 0x5eed0001ULL);
}

static void test_random_seed2(void **state)
{
	run_random(*state, 0xdeadbeefcafeULL);
}

static void test_random_seed3(void **state)
{
	run_random(*state, 42);
}

static void test_basic_lpm(void **state)
{
	struct fixture *f = *state;
	u8 a[16] = { 10, 0, 0, 0 }, q[16] = { 10, 1, 2, 3 };
	u8 d[16] = { 0 };

	assert_int_equal(table_lookup(f, AF_INET, q), -1);
	assert_int_equal(table_insert(f, AF_INET, d, 0, 1), 0);
	assert_int_equal(table_insert(f, AF_INET, a, 8, 2), 0);
	assert_int_equal(table_insert(f, AF_INET, q, 32, 3), 0);
	assert_int_equal(table_lookup(f, AF_INET, q), 3);
	q[3] = 4;
	assert_int_equal(table_lookup(f, AF_INET, q), 2);
	q[0] = 11;
	assert_int_equal(table_lookup(f, AF_INET, q), 1);
	/* v4 and v6 are separate tables: ::/0 is not there yet. */
	assert_int_equal(table_lookup(f, AF_INET6, q), -1);
	/* Host bits in the inserted address are ignored. */
	a[3] = 77;
	assert_int_equal(table_insert(f, AF_INET, a, 8, 4), 0);
	q[0] = 10;
	assert_int_equal(table_lookup(f, AF_INET, q), 4);
	/* Removing with the wrong peer does nothing. */
	assert_int_equal(table_remove(f, AF_INET, a, 8, 2), 0);
	assert_int_equal(table_lookup(f, AF_INET, q), 4);
	assert_int_equal(table_remove(f, AF_INET, a, 8, 4), 0);
	assert_int_equal(table_lookup(f, AF_INET, q), 1);
}

static void test_invalid_cidr(void **state)
{
	struct fixture *f = *state;
	u8 a[16] = { 1, 2, 3, 4 };
	u64 seq = f->table.seq;

	assert_int_equal(table_insert(f, AF_INET, a, 33, 0), -EINVAL);
	assert_int_equal(table_insert(f, AF_INET6, a, 129, 0), -EINVAL);
	assert_int_equal(table_remove(f, AF_INET, a, 33, 0), -EINVAL);
	assert_int_equal(table_remove(f, AF_INET6, a, 129, 0), -EINVAL);
	assert_null(f->table.root4);
	assert_null(f->table.root6);
	assert_int_equal(f->table.seq, seq);
	assert_true(list_empty(&f->peers[0].allowedips_list));
}

static void test_enomem_changes_nothing(void **state)
{
	struct fixture *f = *state;
	u8 a[16] = { 10, 0, 0, 0 }, b[16] = { 10, 128, 0, 0 };
	u8 q[16] = { 10, 128, 0, 1 };
	long live;
	u64 seq;

	assert_int_equal(table_insert(f, AF_INET, a, 16, 1), 0);
	live = shim_live_allocs;
	seq = f->table.seq;

	/* The node itself cannot be allocated. */
	shim_fail_alloc_at = shim_alloc_count + 1;
	assert_int_equal(table_insert(f, AF_INET, b, 16, 2), -ENOMEM);
	/* The node can, the join node it needs cannot: both undone. */
	shim_fail_alloc_at = shim_alloc_count + 2;
	assert_int_equal(table_insert(f, AF_INET, b, 16, 2), -ENOMEM);
	shim_fail_alloc_at = 0;

	assert_int_equal(shim_live_allocs, live);
	assert_int_equal(f->table.seq, seq);
	assert_true(list_empty(&f->peers[2].allowedips_list));
	assert_int_equal(table_lookup(f, AF_INET, q), -1);
	ref_insert(f, AF_INET, a, 16, 1);
	check_all(f);

	assert_int_equal(table_insert(f, AF_INET, b, 16, 2), 0);
	assert_int_equal(table_lookup(f, AF_INET, q), 2);
}

struct walk_ctx {
	int seen, stop_after;
	u8 cidrs[64];
	int families[64];
};

static int walk_cb(void *data, const u8 ip[16], u8 cidr, int family)
{
	struct walk_ctx *c = data;

	(void)ip;
	if (c->stop_after && c->seen == c->stop_after) {
		c->stop_after = 0; /* room for more next time */
		return -EMSGSIZE;
	}
	c->cidrs[c->seen] = cidr;
	c->families[c->seen] = family;
	c->seen++;
	return 0;
}

static void test_walk_resumable(void **state)
{
	struct fixture *f = *state;
	struct allowedips_cursor cursor = { 0 };
	struct walk_ctx c = { 0 };
	u8 a[16] = { 172, 16, 0, 0 };
	int i, ret;

	for (i = 1; i <= 20; ++i)
		assert_int_equal(table_insert(f, i % 2 ? AF_INET : AF_INET6,
					      a, (u8)i, 5), 0);

	/* Three messages' worth: stop after 7, then after 7 more. */
	c.stop_after = 7;
	assert_int_equal(mwg_allowedips_walk_by_peer(&f->table, &cursor,
						     &f->peers[5], walk_cb, &c,
						     &f->lock), -EMSGSIZE);
	assert_int_equal(c.seen, 7);
	assert_non_null(cursor.next);
	c.stop_after = 14;
	assert_int_equal(mwg_allowedips_walk_by_peer(&f->table, &cursor,
						     &f->peers[5], walk_cb, &c,
						     &f->lock), -EMSGSIZE);
	assert_int_equal(c.seen, 14);
	ret = mwg_allowedips_walk_by_peer(&f->table, &cursor, &f->peers[5],
					  walk_cb, &c, &f->lock);
	assert_int_equal(ret, 0);
	assert_null(cursor.next);
	assert_int_equal(c.seen, 20);
	/* Every prefix once, in insertion order, with its family. */
	for (i = 0; i < 20; ++i) {
		assert_int_equal(c.cidrs[i], i + 1);
		assert_int_equal(c.families[i], (i + 1) % 2 ? AF_INET : AF_INET6);
	}

	/* A change between two calls makes the cursor stale. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	assert_int_equal(mwg_allowedips_walk_by_peer(&f->table, &cursor,
						     &f->peers[5], walk_cb, &c,
						     &f->lock), -EMSGSIZE);
	assert_int_equal(table_remove(f, AF_INET, a, 1, 5), 0);
	assert_int_equal(mwg_allowedips_walk_by_peer(&f->table, &cursor,
						     &f->peers[5], walk_cb, &c,
						     &f->lock), -ESTALE);
	assert_null(cursor.next);

	/* A peer with nothing: done at once. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mwg_allowedips_walk_by_peer(&f->table, &cursor,
						     &f->peers[6], walk_cb, &c,
						     &f->lock), 0);
	assert_int_equal(c.seen, 0);
}

static void test_move_between_peers(void **state)
{
	struct fixture *f = *state;
	u8 a[16] = { 0xfd, 0x7a, 0x11, 0x5c }, q[16];

	memcpy(q, a, 16);
	q[15] = 9;
	assert_int_equal(table_insert(f, AF_INET6, a, 48, 1), 0);
	assert_int_equal(table_insert(f, AF_INET6, a, 48, 2), 0);
	assert_true(list_empty(&f->peers[1].allowedips_list));
	assert_false(list_empty(&f->peers[2].allowedips_list));
	assert_int_equal(table_lookup(f, AF_INET6, q), 2);
	mwg_allowedips_remove_by_peer(&f->table, &f->peers[1], &f->lock);
	assert_int_equal(table_lookup(f, AF_INET6, q), 2);
	mwg_allowedips_remove_by_peer(&f->table, &f->peers[2], &f->lock);
	assert_int_equal(table_lookup(f, AF_INET6, q), -1);
	assert_null(f->table.root6);
}

static void test_lookup_skb_and_dying_peer(void **state)
{
	struct fixture *f = *state;
	u8 a[16] = { 192, 168, 7, 0 };
	struct iphdr ip4 = { 0 };
	struct ipv6hdr ip6 = { 0 };
	struct sk_buff skb = { 0 };
	struct mwg_peer *p;

	assert_int_equal(table_insert(f, AF_INET, a, 24, 3), 0);
	memcpy(&ip4.daddr, (u8[]){ 192, 168, 7, 9 }, 4);
	memcpy(&ip4.saddr, (u8[]){ 8, 8, 8, 8 }, 4);
	skb.network_header = (u8 *)&ip4;
	skb.protocol = htons(ETH_P_IP);
	p = mwg_allowedips_lookup_dst(&f->table, &skb);
	assert_ptr_equal(p, &f->peers[3]);
	mwg_peer_put(p);
	assert_null(mwg_allowedips_lookup_src(&f->table, &skb));

	/* Same bytes read as IPv6 are another table. */
	skb.network_header = (u8 *)&ip6;
	skb.protocol = htons(ETH_P_IPV6);
	assert_null(mwg_allowedips_lookup_dst(&f->table, &skb));
	skb.protocol = 0;
	assert_null(mwg_allowedips_lookup_dst(&f->table, &skb));

	/* A peer whose refcount already hit zero is not handed out. */
	skb.network_header = (u8 *)&ip4;
	skb.protocol = htons(ETH_P_IP);
	f->peers[3].refcount.refcount = 0;
	assert_null(mwg_allowedips_lookup_dst(&f->table, &skb));
	f->peers[3].refcount.refcount = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_lpm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_cidr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enomem_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_resumable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_between_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_skb_and_dying_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_seed1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_seed2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_seed3, setup, teardown),
	};

	return cmocka_run_group_tests_name("allowedips", tests, NULL, NULL);
}
