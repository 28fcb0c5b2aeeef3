/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The node's endpoints: the addresses of its interfaces with the WireGuard
 * listen port, which it reports to the control server (in the map request
 * and with /v1/update when they change). Skipped: interfaces that are down,
 * loopback, link-local addresses (fe80::/10, 169.254.0.0/16), the meshwg
 * interface itself and any address inside the tailnet prefixes. NAT
 * traversal (STUN-discovered endpoints) will add to this list later.
 */
#ifndef MESHWGD_ENDPOINTS_H
#define MESHWGD_ENDPOINTS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "prefix.h"

#define EP_MAX 64
#define EP_TEXT_MAX 64

struct ep_addr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* 4 or 16 bytes */
	char ifname[IFNAMSIZ];
	bool up, loopback;
};

/* The pure part: writes "ip:port" / "[ip6]:port" for every usable address
 * of in[] to out (deduplicated, in order, at most max). Returns the count. */
size_t ep_filter(const struct ep_addr *in, size_t n, const char *own_ifname,
		 const struct kprefix *excl, size_t nexcl, uint16_t port,
		 char out[][EP_TEXT_MAX], size_t max);

/* getifaddrs() + ep_filter(). Returns a JSON array of strings (caller
 * owns) or NULL on error. */
cJSON *ep_collect(const char *own_ifname, const struct kprefix *excl, size_t nexcl,
		  uint16_t port);

#endif
