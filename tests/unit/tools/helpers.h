/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Small helpers shared by the tools unit tests. */
#ifndef TOOLS_TEST_HELPERS_H
#define TOOLS_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "containers.h"

static inline size_t count_peers(const struct mw_device *dev)
{
	const struct mw_peer *p;
	size_t n = 0;

	for_each_peer(dev, p)
		++n;
	return n;
}

static inline size_t count_ips(const struct mw_peer *peer)
{
	const struct mw_allowedip *ip;
	size_t n = 0;

	for_each_allowedip(peer, ip)
		++n;
	return n;
}

#endif
