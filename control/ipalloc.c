// SPDX-License-Identifier: MIT
#include "ipalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocator ---- */

enum { SLOT_EMPTY, SLOT_USED, SLOT_GONE };

struct slot {
	uint8_t state;
	uint8_t addr[16];
};

struct mwg_ipalloc {
	struct kprefix prefix;
	int alen;		/* 4 or 16 */
	uint64_t size;		/* host offsets 0..size-1 considered */
	uint64_t cursor;	/* last offset handed out */
	struct slot *slots;
	size_t nslots, used, occupied;
};

static uint64_t hash16(const uint8_t *a)
{
	uint64_t h = 1469598103934665603ull;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	return h;
}

struct mwg_ipalloc *mwg_ipalloc_new(const struct kprefix *p)
{
	struct mwg_ipalloc *a = calloc(1, sizeof(*a));
	int hostbits;

	if (!a)
		return NULL;
	a->prefix = *p;
	a->alen = p->family == AF_INET ? 4 : 16;
	hostbits = a->alen * 8 - p->cidr;
	a->size = hostbits >= 63 ? (1ull << 63) : (1ull << hostbits);
	a->nslots = 64;
	a->slots = calloc(a->nslots, sizeof(*a->slots));
	if (!a->slots) {
		free(a);
		return NULL;
	}
	return a;
}

void mwg_ipalloc_free(struct mwg_ipalloc *a)
{
	if (!a)
		return;
	free(a->slots);
	free(a);
}

static struct slot *find(const struct mwg_ipalloc *a, const uint8_t *addr, bool for_insert)
{
	size_t i = hash16(addr) & (a->nslots - 1);
	struct slot *gone = NULL;

	for (;;) {
		struct slot *s = &a->slots[i];

		if (s->state == SLOT_EMPTY)
			return for_insert ? (gone ? gone : s) : NULL;
		if (s->state == SLOT_GONE) {
			if (!gone)
				gone = s;
		} else if (!memcmp(s->addr, addr, 16)) {
			return s;
		}
		i = (i + 1) & (a->nslots - 1);
	}
}

static int grow(struct mwg_ipalloc *a)
{
	struct slot *old = a->slots;
	size_t i, n = a->nslots;

	a->nslots = n * 2;
	a->slots = calloc(a->nslots, sizeof(*a->slots));
	if (!a->slots) {
		a->slots = old;
		a->nslots = n;
		return -1;
	}
	a->occupied = a->used;
	for (i = 0; i < n; i++)
		if (old[i].state == SLOT_USED)
			*find(a, old[i].addr, true) = old[i];
	free(old);
	return 0;
}

static int parse_addr(const struct mwg_ipalloc *a, const char *text, uint8_t out[16])
{
	struct kprefix host;

	memset(out, 0, 16);
	if (inet_pton(a->prefix.family, text, out) != 1)
		return -1;
	kprefix_host(&host, a->prefix.family, out);
	return kprefix_covers(&a->prefix, &host) ? 0 : -1;
}

static int insert(struct mwg_ipalloc *a, const uint8_t addr[16])
{
	struct slot *s;

	if ((a->occupied + 1) * 2 > a->nslots && grow(a) < 0)
		return -1;
	s = find(a, addr, true);
	if (s->state == SLOT_USED)
		return 0;
	if (s->state == SLOT_EMPTY)
		a->occupied++;
	s->state = SLOT_USED;
	memcpy(s->addr, addr, 16);
	a->used++;
	return 0;
}

int mwg_ipalloc_mark(struct mwg_ipalloc *a, const char *text)
{
	uint8_t addr[16];

	if (parse_addr(a, text, addr) < 0)
		return -1;
	return insert(a, addr);
}

int mwg_ipalloc_release(struct mwg_ipalloc *a, const char *text)
{
	uint8_t addr[16];
	struct slot *s;

	if (parse_addr(a, text, addr) < 0)
		return -1;
	s = find(a, addr, false);
	if (!s)
		return -1;
	s->state = SLOT_GONE;
	a->used--;
	return 0;
}

bool mwg_ipalloc_is_used(const struct mwg_ipalloc *a, const char *text)
{
	uint8_t addr[16];

	if (parse_addr(a, text, addr) < 0)
		return false;
	return find(a, addr, false) != NULL;
}

size_t mwg_ipalloc_count(const struct mwg_ipalloc *a)
{
	return a->used;
}

static void offset_addr(const struct mwg_ipalloc *a, uint64_t off, uint8_t out[16])
{
	int i;

	memcpy(out, a->prefix.addr, 16);
	for (i = a->alen - 1; i >= 0 && off; i--) {
		unsigned int v = out[i] + (unsigned int)(off & 0xff);

		out[i] = (uint8_t)v;
		off = (off >> 8) + (v >> 8);
	}
}

static bool reserved(const struct mwg_ipalloc *a, uint64_t off, const uint8_t *addr)
{
	static const uint8_t quad100[4] = { 100, 100, 100, 100 };

	if (off == 0)
		return true;	/* network address */
	if (a->alen == 4) {
		if (off == a->size - 1)
			return true;	/* broadcast */
		if (!memcmp(addr, quad100, 4))
			return true;	/* MagicDNS resolver */
	}
	return false;
}

int mwg_ipalloc_set_cursor(struct mwg_ipalloc *a, const char *text)
{
	uint8_t addr[16];
	uint64_t off = 0;
	int i;

	if (parse_addr(a, text, addr) < 0)
		return -1;
	/* the host part (the prefix's host bits are zero) */
	for (i = a->alen > 8 ? a->alen - 8 : 0; i < a->alen; i++)
		off = off << 8 | (uint8_t)(addr[i] ^ a->prefix.addr[i]);
	if (off >= a->size)
		return -1;
	a->cursor = off;
	return 0;
}

int mwg_ipalloc_next(struct mwg_ipalloc *a, char *out, size_t outlen)
{
	uint64_t tries;

	for (tries = 0; tries < a->size && tries < (1ull << 24); tries++) {
		uint8_t addr[16];

		a->cursor = (a->cursor + 1) % a->size;
		offset_addr(a, a->cursor, addr);
		if (reserved(a, a->cursor, addr) || find(a, addr, false))
			continue;
		if (insert(a, addr) < 0)
			return -1;
		if (!inet_ntop(a->prefix.family, addr, out, (socklen_t)outlen))
			return -1;
		return 0;
	}
	return -1;
}
