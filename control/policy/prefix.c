// SPDX-License-Identifier: MIT
/* IP prefix helpers of the policy engine. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static int addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

static void mask_host_bits(struct policy_prefix *p)
{
	int len = addr_len(p->family);

	for (int i = 0; i < len; i++) {
		int keep = (int)p->bits - i * 8;

		if (keep >= 8)
			continue;
		p->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	for (int i = len; i < 16; i++)
		p->addr[i] = 0;
}

int policy_prefix_parse(const char *s, struct policy_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct policy_prefix p;
	long bits;

	memset(&p, 0, sizeof(p));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p.addr) == 1)
		p.family = 4;
	else if (inet_pton(AF_INET6, buf, p.addr) == 1)
		p.family = 6;
	else
		return -1;
	bits = p.family == 4 ? 32 : 128;
	if (slash) {
		const char *d = slash + 1;
		char *end;

		if (*d < '0' || *d > '9' || (d[0] == '0' && d[1]))
			return -1;
		errno = 0;
		long b = strtol(d, &end, 10);

		if (errno || *end || b > bits)
			return -1;
		bits = b;
	}
	p.bits = (uint8_t)bits;
	struct policy_prefix m = p;

	mask_host_bits(&m);
	if (memcmp(m.addr, p.addr, 16))
		return -1;	/* host bits set */
	*out = p;
	return 0;
}

char *policy_prefix_format(const struct policy_prefix *p, char *buf,
			   size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a,
		       sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->bits);
	return buf;
}

/* true if the first `bits` bits of a and b are equal */
static bool same_bits(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full))
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));

	return (a[full] & m) == (b[full] & m);
}

bool prefix_contains(const struct policy_prefix *outer,
		     const struct policy_prefix *inner)
{
	return outer->family == inner->family && outer->bits <= inner->bits &&
	       same_bits(outer->addr, inner->addr, outer->bits);
}

bool prefix_overlaps(const struct policy_prefix *a,
		     const struct policy_prefix *b)
{
	return prefix_contains(a, b) || prefix_contains(b, a);
}

int prefix_cmp(const struct policy_prefix *a, const struct policy_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return a->bits < b->bits ? -1 : a->bits > b->bits;
}

void prefix_host(struct policy_prefix *out, int family, const uint8_t *addr)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	out->bits = family == 4 ? 32 : 128;
	memcpy(out->addr, addr, (size_t)addr_len(family));
}

static int cmp_qsort(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

/* a and b are siblings: same length, differ only in their last bit */
static bool siblings(const struct policy_prefix *a,
		     const struct policy_prefix *b)
{
	if (a->family != b->family || a->bits != b->bits || a->bits == 0)
		return false;
	int bit = a->bits - 1;

	if (!same_bits(a->addr, b->addr, bit))
		return false;
	uint8_t m = (uint8_t)(0x80 >> (bit % 8));

	return !(a->addr[bit / 8] & m) && (b->addr[bit / 8] & m);
}

size_t prefix_normalize(struct policy_prefix *p, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(p, n, sizeof(*p), cmp_qsort);
	/* Sorted by address then length: a covering prefix comes before what
	 * it covers. Keep a stack of kept prefixes and merge siblings. */
	for (size_t i = 0; i < n; i++) {
		struct policy_prefix cur = p[i];

		if (out && prefix_contains(&p[out - 1], &cur))
			continue;
		while (out && siblings(&p[out - 1], &cur)) {
			cur = p[out - 1];
			cur.bits--;
			out--;
			if (out && prefix_contains(&p[out - 1], &cur))
				goto next;
		}
		p[out++] = cur;
next:
		;
	}
	return out;
}

#define V4(a, b, c, d, len) \
	{ .family = 4, .bits = (len), .addr = { (a), (b), (c), (d) } }

/* 0.0.0.0/0 minus 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
 * 192.168/16, 224/4, 240/4; and 2000::/3. */
static const struct policy_prefix internet[] = {
	V4(1, 0, 0, 0, 8),
	V4(2, 0, 0, 0, 7),
	V4(4, 0, 0, 0, 6),
	V4(8, 0, 0, 0, 7),
	V4(11, 0, 0, 0, 8),
	V4(12, 0, 0, 0, 6),
	V4(16, 0, 0, 0, 4),
	V4(32, 0, 0, 0, 3),
	V4(64, 0, 0, 0, 3),
	V4(96, 0, 0, 0, 6),
	V4(100, 0, 0, 0, 10),
	V4(100, 128, 0, 0, 9),
	V4(101, 0, 0, 0, 8),
	V4(102, 0, 0, 0, 7),
	V4(104, 0, 0, 0, 5),
	V4(112, 0, 0, 0, 5),
	V4(120, 0, 0, 0, 6),
	V4(124, 0, 0, 0, 7),
	V4(126, 0, 0, 0, 8),
	V4(128, 0, 0, 0, 3),
	V4(160, 0, 0, 0, 5),
	V4(168, 0, 0, 0, 8),
	V4(169, 0, 0, 0, 9),
	V4(169, 128, 0, 0, 10),
	V4(169, 192, 0, 0, 11),
	V4(169, 224, 0, 0, 12),
	V4(169, 240, 0, 0, 13),
	V4(169, 248, 0, 0, 14),
	V4(169, 252, 0, 0, 15),
	V4(169, 255, 0, 0, 16),
	V4(170, 0, 0, 0, 7),
	V4(172, 0, 0, 0, 12),
	V4(172, 32, 0, 0, 11),
	V4(172, 64, 0, 0, 10),
	V4(172, 128, 0, 0, 9),
	V4(173, 0, 0, 0, 8),
	V4(174, 0, 0, 0, 7),
	V4(176, 0, 0, 0, 4),
	V4(192, 0, 0, 0, 9),
	V4(192, 128, 0, 0, 11),
	V4(192, 160, 0, 0, 13),
	V4(192, 169, 0, 0, 16),
	V4(192, 170, 0, 0, 15),
	V4(192, 172, 0, 0, 14),
	V4(192, 176, 0, 0, 12),
	V4(192, 192, 0, 0, 10),
	V4(193, 0, 0, 0, 8),
	V4(194, 0, 0, 0, 7),
	V4(196, 0, 0, 0, 6),
	V4(200, 0, 0, 0, 5),
	V4(208, 0, 0, 0, 4),
	{ .family = 6, .bits = 3, .addr = { 0x20 } },
};

const struct policy_prefix *internet_prefixes(size_t *n)
{
	*n = sizeof(internet) / sizeof(internet[0]);
	return internet;
}
