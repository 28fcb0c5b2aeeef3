// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: kmod/allowedips.c (the crypto-routing trie) against a
 * brute-force longest-prefix match. The input is a program: insert, remove,
 * remove-by-peer and lookup operations on prefixes drawn from a small pool
 * (so that they nest and split one another). After the program every
 * lookup, the trie's structure and each peer's list are checked, the table
 * is freed and every allocation must have been returned.
 */
#include "kernel.h"
#include "peer.h"
#include "allowedips.h"

#include <stdio.h>

#define NPEERS 4
#define MAXREF 512

struct ref_entry {
	int family;
	u8 addr[16];
	u8 cidr;
	int peer;
};

static struct ref_entry ref[MAXREF];
static int nref;
static struct mwg_peer peers[NPEERS];

static void mask(u8 *a, u8 cidr)
{
	int i;

	for (i = 0; i < 16; ++i) {
		if (i * 8 >= cidr)
			a[i] = 0;
		else if (cidr - i * 8 < 8)
			a[i] &= (u8)(0xff << (8 - (cidr - i * 8)));
	}
}

static struct ref_entry *ref_find(int family, const u8 *m, u8 cidr)
{
	int i;

	for (i = 0; i < nref; ++i)
		if (ref[i].family == family && ref[i].cidr == cidr &&
		    !memcmp(ref[i].addr, m, 16))
			return &ref[i];
	return NULL;
}

static int ref_lookup(int family, const u8 *a)
{
	int i, best = -1, best_cidr = -1;
	u8 m[16];

	for (i = 0; i < nref; ++i) {
		if (ref[i].family != family || ref[i].cidr <= best_cidr)
			continue;
		memcpy(m, a, 16);
		mask(m, ref[i].cidr);
		if (!memcmp(m, ref[i].addr, 16)) {
			best = ref[i].peer;
			best_cidr = ref[i].cidr;
		}
	}
	return best;
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_allowedips: %s\n", what);
	abort();
}

static int check_subtree(struct allowedips_node *node,
			 struct allowedips_node *parent, u8 bitlen)
{
	int b, n = 1, children = 0;

	if (node->parent != parent || node->cidr > bitlen ||
	    (parent && node->cidr <= parent->cidr))
		fail("trie shape");
	for (b = 0; b < 2; ++b) {
		if (node->bit[b]) {
			children++;
			n += check_subtree(node->bit[b], node, bitlen);
		}
	}
	if (!node->peer && children != 2)
		fail("join node without two children");
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u8 pool[4][16] = {
		{ 10, 0, 0, 1 }, { 10, 0, 128, 7 }, { 192, 168, 1, 1 },
		{ 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	};
	struct allowedips table;
	struct mutex lock;
	long live = shim_live_allocs;
	size_t i;
	int k, listed;

	if (mwg_allowedips_slab_init())
		abort();
	mwg_allowedips_init(&table);
	mutex_init(&lock);
	mutex_lock(&lock);
	nref = 0;
	for (k = 0; k < NPEERS; ++k) {
		memset(&peers[k], 0, sizeof(peers[k]));
		kref_init(&peers[k].refcount);
		INIT_LIST_HEAD(&peers[k].allowedips_list);
		peers[k].internal_id = k;
	}
	for (i = 0; i + 3 <= size; i += 3) {
		u8 op = data[i], b = data[i + 1], c = data[i + 2];
		int family = b & 1 ? AF_INET6 : AF_INET, peer = (op >> 2) & 3;
		u8 a[16] = { 0 }, m[16], cidr = c % (family == AF_INET ? 33 : 129);
		struct mwg_peer *p;

		memcpy(a, pool[(b >> 1) & 3], family == AF_INET ? 4 : 16);
		a[family == AF_INET ? 3 : 15] ^= b >> 3;
		if (family == AF_INET && ((b >> 1) & 3) == 3)
			a[0] = 0xfd;
		memcpy(m, a, 16);
		mask(m, cidr);
		switch (op & 3) {
		case 0: {	/* insert (moves an existing prefix) */
			struct ref_entry *e = ref_find(family, m, cidr);
			int ret = family == AF_INET ?
				mwg_allowedips_insert_v4(&table, (struct in_addr *)a,
							 cidr, &peers[peer], &lock) :
				mwg_allowedips_insert_v6(&table, (struct in6_addr *)a,
							 cidr, &peers[peer], &lock);

			if (ret)
				fail("insert failed");
			if (!e) {
				if (nref == MAXREF)
					fail("reference full");
				e = &ref[nref++];
				e->family = family;
				memcpy(e->addr, m, 16);
				e->cidr = cidr;
			}
			e->peer = peer;
			break;
		}
		case 1: {	/* remove, a no-op unless peer owns it */
			struct ref_entry *e = ref_find(family, m, cidr);
			int ret = family == AF_INET ?
				mwg_allowedips_remove_v4(&table, (struct in_addr *)a,
							 cidr, &peers[peer], &lock) :
				mwg_allowedips_remove_v6(&table, (struct in6_addr *)a,
							 cidr, &peers[peer], &lock);

			if (ret)
				fail("remove failed");
			if (e && e->peer == peer)
				*e = ref[--nref];
			break;
		}
		case 2:		/* remove every prefix of a peer */
			if (c & 0x80)
				break;
			mwg_allowedips_remove_by_peer(&table, &peers[peer], &lock);
			for (k = 0; k < nref; )
				if (ref[k].peer == peer)
					ref[k] = ref[--nref];
				else
					++k;
			break;
		default:	/* lookup */
			p = mwg_allowedips_lookup(&table, family, a);
			if ((p ? (int)(p - peers) : -1) != ref_lookup(family, a))
				fail("lookup differs from the reference");
			if (p)
				mwg_peer_put(p);
			break;
		}
	}
	if (table.root4)
		check_subtree(table.root4, NULL, 32);
	if (table.root6)
		check_subtree(table.root6, NULL, 128);
	for (k = 0; k < NPEERS; ++k) {
		struct allowedips_node *node;
		int want = 0, j;

		listed = 0;
		list_for_each_entry(node, &peers[k].allowedips_list, peer_list)
			listed++;
		for (j = 0; j < nref; ++j)
			want += ref[j].peer == k;
		if (listed != want)
			fail("peer list differs from the reference");
	}
	for (k = 0; k < nref; ++k) {
		struct mwg_peer *p = mwg_allowedips_lookup(&table, ref[k].family,
							   ref[k].addr);

		if ((p ? (int)(p - peers) : -1) != ref_lookup(ref[k].family, ref[k].addr))
			fail("final lookup differs from the reference");
		if (p)
			mwg_peer_put(p);
	}
	mwg_allowedips_free(&table, &lock);
	mutex_unlock(&lock);
	for (k = 0; k < NPEERS; ++k)
		if (!list_empty(&peers[k].allowedips_list) ||
		    peers[k].refcount.refcount != 1)
			fail("peer left referenced");
	mwg_allowedips_slab_uninit();
	if (shim_live_allocs != live)
		fail("allocations leaked");
	return 0;
}
