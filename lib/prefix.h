/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* IP prefixes: meshwgd's netmap addresses, allowed IPs and interface
 * addresses, meshwg-control's tailnet ranges and routes. Pure, no I/O. */
#ifndef MESHWGD_PREFIX_H
#define MESHWGD_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct kprefix {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t cidr;
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
};

/* A growable array of prefixes; free(v) when done. */
struct kprefix_list {
	struct kprefix *v;
	size_t n, cap;
};

/* Appends *p (a copy); 0 or -ENOMEM. */
int kprefix_list_add(struct kprefix_list *l, const struct kprefix *p);

/* "100.64.0.1/32", "fd7a:115c:a1e0::1/128" (a bare address is a host prefix;
 * the length is 1 to 3 decimal digits). Host bits are cleared. 0 or -EINVAL. */
int kprefix_parse(struct kprefix *p, const char *text);
/* The same, but the "/length" must be given (meshwg-control's tailnet ranges
 * and routes). */
int kprefix_parse_cidr(struct kprefix *p, const char *text);
/* The same for an interface address: host bits are kept ("100.64.0.1/10"). */
int kaddr_parse(struct kprefix *p, const char *text);
/* "ip/cidr" into buf (at least 50 bytes). */
void kprefix_format(const struct kprefix *p, char *buf, size_t len);
int kprefix_cmp(const struct kprefix *a, const struct kprefix *b);
/* true when inner lies inside outer (same family, at least as long). */
bool kprefix_covers(const struct kprefix *outer, const struct kprefix *inner);
/* true when a and b share an address: one covers the other. */
bool kprefix_overlaps(const struct kprefix *a, const struct kprefix *b);
/* The host prefix (/32, /128) of a 4- or 16-byte address. */
void kprefix_host(struct kprefix *p, int family, const uint8_t *addr);

#endif
