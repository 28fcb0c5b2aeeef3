// SPDX-License-Identifier: GPL-2.0 OR MIT
/* IP prefixes (prefix.h). */

#include "prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void clear_host_bits(struct kprefix *p, unsigned cidr)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		unsigned bits = i * 8 >= cidr ? 0 : cidr - i * 8;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00 >> bits);
	}
}

static int parse_prefix(struct kprefix *p, const char *text, bool clear, bool need_len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long cidr;
	unsigned max;

	memset(p, 0, sizeof(*p));
	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	else if (need_len)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	cidr = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		cidr = strtoul(slash + 1, &end, 10);
		if (errno || *end || cidr > max || end - (slash + 1) > 3)
			return -EINVAL;
	}
	p->cidr = (uint8_t)cidr;
	if (clear)
		clear_host_bits(p, p->cidr);
	return 0;
}

int kprefix_parse(struct kprefix *p, const char *text)
{
	return parse_prefix(p, text, true, false);
}

int kprefix_parse_cidr(struct kprefix *p, const char *text)
{
	return parse_prefix(p, text, true, true);
}

int kaddr_parse(struct kprefix *p, const char *text)
{
	return parse_prefix(p, text, false, false);
}

void kprefix_format(const struct kprefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->cidr);
}

int kprefix_cmp(const struct kprefix *a, const struct kprefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
	if (c)
		return c;
	return (a->cidr > b->cidr) - (a->cidr < b->cidr);
}

bool kprefix_covers(const struct kprefix *outer, const struct kprefix *inner)
{
	struct kprefix m = *inner;

	if (outer->family != inner->family || inner->cidr < outer->cidr)
		return false;
	m.cidr = outer->cidr;
	clear_host_bits(&m, outer->cidr);
	return !kprefix_cmp(outer, &m);
}

bool kprefix_overlaps(const struct kprefix *a, const struct kprefix *b)
{
	return kprefix_covers(a, b) || kprefix_covers(b, a);
}

void kprefix_host(struct kprefix *p, int family, const uint8_t *addr)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint16_t)family;
	p->cidr = family == AF_INET ? 32 : 128;
	memcpy(p->addr, addr, family == AF_INET ? 4 : 16);
}

int kprefix_list_add(struct kprefix_list *l, const struct kprefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct kprefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}
