// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Checking a netmap before meshwgd acts on it (netmap_check.h). */

#include "netmap_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROBLEMS 64

static int prefix_sort_cmp(const void *a, const void *b)
{
	return kprefix_cmp(a, b);
}

int nmc_endpoint_host(struct kprefix *p, const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *host = buf, *colon;
	size_t n;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end)
			return -EINVAL;
		n = (size_t)(end - text - 1);
		memcpy(buf, text + 1, n);
		buf[n] = '\0';
		if (strchr(buf, '%'))
			*strchr(buf, '%') = '\0';
	} else {
		colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;	/* a bare IPv6 address */
		n = colon ? (size_t)(colon - text) : strlen(text);
		memcpy(buf, text, n);
		buf[n] = '\0';
	}
	if (strchr(host, '/') || kprefix_parse(p, host))
		return -EINVAL;
	return 0;
}

/* Adds the host of every string of arr (endpoints, relay addresses). */
static int add_hosts(struct kprefix_list *k, const cJSON *arr)
{
	const cJSON *e;
	struct kprefix p;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && !nmc_endpoint_host(&p, e->valuestring) &&
		    kprefix_list_add(k, &p))
			return -ENOMEM;
	return 0;
}

static int add_peers(struct kprefix_list *k, const cJSON *peers)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, peers)
		if (add_hosts(k, cJSON_GetObjectItemCaseSensitive(p, "endpoints")))
			return -ENOMEM;
	return 0;
}

/* The relay servers' addresses of a derp_map. */
static int add_relays(struct kprefix_list *k, const cJSON *derp_map)
{
	static const char *const fields[] = { "ipv4", "ipv6", "host" };
	const cJSON *regions = cJSON_GetObjectItemCaseSensitive(derp_map, "regions"), *reg, *node;
	struct kprefix p;

	cJSON_ArrayForEach(reg, regions) {
		cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(reg, "nodes")) {
			for (size_t i = 0; i < 3; i++) {
				const char *s = cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(node, fields[i]));

				/* "host" counts when it is an address literal. */
				if (s && !nmc_endpoint_host(&p, s) && kprefix_list_add(k, &p))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int collect_keep_off(struct kprefix_list *k, const cJSON *msg, const cJSON *before,
			    const struct nmc_rules *r)
{
	static const char *const lists[] = { "peers", "peers_added", "peers_changed" };

	for (size_t i = 0; i < r->n_keep_off; i++)
		if (kprefix_list_add(k, &r->keep_off[i]))
			return -ENOMEM;
	for (size_t i = 0; i < 3; i++)
		if (add_peers(k, cJSON_GetObjectItemCaseSensitive(msg, lists[i])))
			return -ENOMEM;
	if (add_peers(k, cJSON_GetObjectItemCaseSensitive(before, "peers")) ||
	    add_relays(k, cJSON_GetObjectItemCaseSensitive(msg, "derp_map")) ||
	    add_relays(k, cJSON_GetObjectItemCaseSensitive(before, "derp_map")))
		return -ENOMEM;
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), prefix_sort_cmp);
	return 0;
}

struct ctx {
	const struct nmc_rules *r;
	struct kprefix_list ko;
	cJSON *problems;
	size_t count;
	bool drop_routes;	/* out of memory: no route can be checked */
};

static void refuse(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct ctx *x, const char *fmt, ...)
{
	char m[300];
	va_list ap;

	x->count++;
	if (!x->problems || cJSON_GetArraySize(x->problems) >= MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(x->problems, cJSON_CreateString(m));
}

static bool in_tailnet(const struct nmc_rules *r, const struct kprefix *p)
{
	for (size_t i = 0; i < r->n_tailnet; i++)
		if (kprefix_covers(&r->tailnet[i], p))
			return true;
	return false;
}

static bool overlaps(const struct kprefix *a, const struct kprefix *b)
{
	return kprefix_covers(a, b) || kprefix_covers(b, a);
}

/* Multicast, loopback, link-local, unspecified: never routed to a peer. */
static bool special(const struct kprefix *p)
{
	static const char *const bad[] = { "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
					   "224.0.0.0/3", "::/8", "fe80::/10", "ff00::/8" };
	struct kprefix b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!kprefix_parse(&b, bad[i]) && overlaps(&b, p))
			return true;
	return false;
}

/* Does p cover an address of k (sorted)? The addresses p covers are one
 * run of the sorted array: the first at or after p's network address is
 * covered if any is. O(log n), so that 40,000 peers with routes and
 * endpoints cost no more than sorting them. */
static bool covers_keep_off(const struct kprefix_list *k, const struct kprefix *p)
{
	struct kprefix key = *p;
	size_t lo = 0, hi = k->n;

	key.cidr = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kprefix_cmp(&k->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->n && kprefix_covers(p, &k->v[lo]);
}

/* Why route p (parsed from text) may not be used, or NULL. */
static const char *route_problem(struct ctx *x, const struct kprefix *p)
{
	const struct nmc_rules *r = x->r;

	if (p->cidr < (p->family == AF_INET ? NMC_MIN_ROUTE_V4 : NMC_MIN_ROUTE_V6))
		return "it is too wide";
	if (special(p))
		return "it is not unicast";
	for (size_t i = 0; i < r->n_tailnet; i++)
		if (overlaps(&r->tailnet[i], p))
			return "it overlaps the tailnet";
	if (covers_keep_off(&x->ko, p))
		return "it covers the control server, a relay server, a peer's endpoint or this node's own address";
	return NULL;
}

/* obj's member field when it is an array; NULL when absent, null or (refused) not an array. */
static cJSON *string_array(cJSON *obj, const char *field, const char *who, struct ctx *x)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!arr || cJSON_IsNull(arr))
		return NULL;
	if (!cJSON_IsArray(arr)) {
		refuse(x, "%s.%s is not an array: ignored", who, field);
		cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
		return NULL;
	}
	return arr;
}

static void check_addresses(struct ctx *x, cJSON *node, const char *who)
{
	cJSON *arr = string_array(node, "addresses", who, x), *a, *next;
	struct kprefix p;

	for (a = arr ? arr->child : NULL; a; a = next) {
		next = a->next;
		if (cJSON_IsString(a) && !kaddr_parse(&p, a->valuestring) &&
		    p.cidr == (p.family == AF_INET ? 32 : 128) && in_tailnet(x->r, &p))
			continue;
		refuse(x, "%s: address %.60s refused: not a host address inside the tailnet",
		       who, cJSON_IsString(a) ? a->valuestring : "(not a string)");
		cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
	}
}

static void check_routes(struct ctx *x, cJSON *peer, const char *who)
{
	cJSON *arr = string_array(peer, "routes", who, x), *a, *next;
	struct kprefix p;

	for (a = arr ? arr->child : NULL; a; a = next) {
		const char *why;

		next = a->next;
		if (x->drop_routes) {
			why = "it could not be checked";
		} else if (!cJSON_IsString(a) || kprefix_parse(&p, a->valuestring)) {
			why = "it is not a prefix";
		} else if (!p.cidr) {
			/* An exit node's default route: not used (no exit-node choice). */
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
			continue;
		} else {
			why = route_problem(x, &p);
			if (!why)
				continue;
		}
		refuse(x, "%s: route %.60s refused: %s", who,
		       cJSON_IsString(a) ? a->valuestring : "(not a string)", why);
		cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
	}
}

/* allowed_ips := addresses (+ routes with accept_routes). */
static void set_allowed_ips(struct ctx *x, cJSON *peer)
{
	cJSON *ips = cJSON_CreateArray(), *a;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, "addresses"))
		cJSON_AddItemToArray(ips, cJSON_Duplicate(a, 0));
	if (x->r->accept_routes)
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, "routes"))
			cJSON_AddItemToArray(ips, cJSON_Duplicate(a, 0));
	if (cJSON_HasObjectItem(peer, "allowed_ips"))
		cJSON_ReplaceItemInObjectCaseSensitive(peer, "allowed_ips", ips);
	else
		cJSON_AddItemToObject(peer, "allowed_ips", ips);
}

static void check_peers(struct ctx *x, cJSON *msg, const char *list)
{
	cJSON *peers = cJSON_GetObjectItemCaseSensitive(msg, list), *p;
	char who[120];

	if (!cJSON_IsArray(peers))
		return;		/* malformed: the kernel side refuses the whole message */
	cJSON_ArrayForEach(p, peers) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "hostname"));

		if (!cJSON_IsObject(p))
			continue;
		snprintf(who, sizeof(who), "peer %.0f (%.40s)",
			 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "id")),
			 name ? name : "?");
		check_addresses(x, p, who);
		if (x->r->accept_routes)
			check_routes(x, p, who);
		set_allowed_ips(x, p);
	}
}

size_t nmc_check(cJSON *msg, const cJSON *before, const struct nmc_rules *r, cJSON *problems)
{
	struct ctx x = { .r = r, .problems = problems };
	cJSON *self;

	if (!cJSON_IsObject(msg))
		return 0;
	if (collect_keep_off(&x.ko, msg, before, r)) {
		/* Out of memory: refuse every route rather than check none. */
		x.drop_routes = true;
		refuse(&x, "out of memory while checking the netmap: routes ignored");
	}
	self = cJSON_GetObjectItemCaseSensitive(msg, "self");
	if (cJSON_IsObject(self))
		check_addresses(&x, self, "self");
	check_peers(&x, msg, "peers");
	check_peers(&x, msg, "peers_added");
	check_peers(&x, msg, "peers_changed");
	free(x.ko.v);
	return x.count;
}
