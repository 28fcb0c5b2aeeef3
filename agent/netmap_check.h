/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The one place where a netmap from the control server (a map-stream
 * message, or netmap.json read back from the state directory) is checked
 * before anything acts on it. The control server is trusted to say who the
 * peers are, not to rewrite this host's routing: what breaks the rules
 * below is removed from the message, one line per refusal is reported, and
 * the rest of the netmap is kept.
 *
 * - Addresses of self and of peers are host prefixes (/32, /128) inside the
 *   tailnet prefixes.
 * - A peer's routes are used only with accept_routes, and only when each
 *   route is unicast, at least /8 (IPv4) or /16 (IPv6) long, outside the
 *   tailnet prefixes, and covers none of the "keep off" addresses: the
 *   control server, the relay (DERP) servers of the netmap, every peer's
 *   underlay endpoint, this node's own underlay addresses. Default routes
 *   (exit nodes) are not used: meshwgd has no exit-node selection yet, so
 *   they are dropped without a report.
 * - A peer's allowed IPs are recomputed here as its checked addresses plus
 *   its checked routes: the server's "allowed_ips" is not trusted.
 * - One prefix, one peer: when peers claim the same prefix (HA routers),
 *   the lowest node id holds it and the others' allowed IPs lack it
 *   (reported); in a DELTA, a peer of before whose allowed IPs change so
 *   is added to the message's peers_changed.
 * - Sizes (docs/agent.md, "Limits"): a string longer than its limit below
 *   (or not a string) is removed, a list longer than its limit is cut to
 *   it. The number of peers is bounded where the netmap is merged
 *   (MWGC_MAX_PEERS, control/client/mwgc_client.h).
 */
#ifndef MESHWGD_NETMAP_CHECK_H
#define MESHWGD_NETMAP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "prefix.h"

#define NMC_MIN_ROUTE_V4 8
#define NMC_MIN_ROUTE_V6 16

/* Limits of one node (self or a peer) and of the DNS configuration, in
 * bytes of a string or entries of a list. */
#define NMC_MAX_HOSTNAME 63		/* a DNS label */
#define NMC_MAX_DNS_NAME 253		/* a DNS name, a final dot aside */
#define NMC_MAX_USER 63			/* as meshwg-control's user names */
#define NMC_MAX_TAGS 64
#define NMC_MAX_TAG 67			/* "tag:" + 63 */
#define NMC_MAX_ADDRESSES 16
#define NMC_MAX_ROUTES 1024
#define NMC_MAX_ENDPOINTS 64		/* as /v1/update takes */
#define NMC_MAX_ENDPOINT 64		/* "[v6 address]:port" */
#define NMC_MAX_DNS_RECORDS 65537	/* one per peer (MWGC_MAX_PEERS) and self */
#define NMC_MAX_DNS_LIST 64		/* nameservers, search domains, a record's addresses */

struct nmc_rules {
	struct kprefix tailnet[2];
	size_t n_tailnet;
	bool accept_routes;
	/* Host addresses no route may cover (control server, own underlay). */
	const struct kprefix *keep_off;
	size_t n_keep_off;
};

/* "1.2.3.4:5" / "[::1]:5" / a bare address -> host prefix. 0 or -EINVAL. */
int nmc_endpoint_host(struct kprefix *p, const char *text);

/*
 * Checks msg (a FULL netmap or a DELTA message, docs/protocol.md) in place.
 * before is the netmap the message applies to (NULL for none): its peers'
 * endpoints and relay servers are kept off too. One string per refusal is
 * appended to problems (may be NULL). Returns the number of refusals.
 */
size_t nmc_check(cJSON *msg, const cJSON *before, const struct nmc_rules *r, cJSON *problems);

#endif
