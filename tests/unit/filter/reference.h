/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pieces of the ACL reference (a plain first-match scan, written from
 * docs/filter.md rather than from kmod/filter.c) that the unit tests and
 * the compiler fuzzer (tests/fuzz/fuzz_filter_compile.c) share.
 */
#ifndef MESHWG_TEST_FILTER_REFERENCE_H
#define MESHWG_TEST_FILTER_REFERENCE_H

#include "filter.h"

/* Does prefix p hold address a of family? Bit by bit, no masks. */
static inline bool ref_prefix(const struct mwg_filter_prefix *p, u8 family, const u8 *a)
{
	int i;

	if (p->family != family)
		return false;
	for (i = 0; i < p->cidr; ++i) {
		int bit = 7 - i % 8;

		if (((p->addr[i / 8] >> bit) & 1) != ((a[i / 8] >> bit) & 1))
			return false;
	}
	return true;
}

/* The protocols whose packets carry ports: TCP, UDP, SCTP, DCCP, UDP-Lite. */
static inline bool ref_ports(u8 proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 33 ||
	       proto == 136;
}

#endif
