// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Checking a netmap before meshwgd acts on it (netmap_check.h). */

#include "netmap_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
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

/* ---- sizes ---- */

/* Cuts arr to max entries (reported as what). */
static void cut_list(struct ctx *x, cJSON *arr, size_t max, const char *who, const char *what)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	cJSON *a, *next;

	if (!arr || n <= max)
		return;
	refuse(x, "%s: %zu %s, more than %zu: the rest ignored", who, n, what, max);
	for (a = arr->child; a; a = next) {
		next = a->next;
		if (i++ >= max)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
	}
}

/* Removes the entries of arr that are not strings of at most max bytes. */
static void cut_strings(struct ctx *x, cJSON *arr, size_t max, const char *who, const char *what)
{
	cJSON *a, *next;

	for (a = arr ? arr->child : NULL; a; a = next) {
		next = a->next;
		if (cJSON_IsString(a) && strlen(a->valuestring) <= max)
			continue;
		refuse(x, "%s: %s refused: %s", who, what,
		       cJSON_IsString(a) ? "too long" : "not a string");
		cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
	}
}

/* Removes obj's member field unless it is a string of at most max bytes
 * (max + 1 when it ends in a dot: a fully qualified DNS name). */
static void bound_string(struct ctx *x, cJSON *obj, const char *field, size_t max, const char *who)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, field);
	size_t n;

	if (!s || cJSON_IsNull(s))
		return;
	if (cJSON_IsString(s)) {
		n = strlen(s->valuestring);
		if (n <= max || (n == max + 1 && s->valuestring[n - 1] == '.'))
			return;
	}
	refuse(x, "%s: %s refused: %s", who, field,
	       cJSON_IsString(s) ? "too long" : "not a string");
	cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
}

/* A bounded list of strings: at most max entries of at most len bytes. */
static void bound_list(struct ctx *x, cJSON *obj, const char *field, size_t max, size_t len,
		       const char *who)
{
	cJSON *arr = string_array(obj, field, who, x);

	if (!arr)
		return;
	cut_list(x, arr, max, who, field);
	cut_strings(x, arr, len, who, field);
}

/* The sizes of self or a peer. */
static void bound_node(struct ctx *x, cJSON *node, const char *who)
{
	bound_string(x, node, "hostname", NMC_MAX_HOSTNAME, who);
	bound_string(x, node, "dns_name", NMC_MAX_DNS_NAME, who);
	bound_string(x, node, "user", NMC_MAX_USER, who);
	bound_list(x, node, "tags", NMC_MAX_TAGS, NMC_MAX_TAG, who);
	/* addresses and routes are checked one by one later: only cut here */
	cut_list(x, string_array(node, "addresses", who, x), NMC_MAX_ADDRESSES, who, "addresses");
	cut_list(x, string_array(node, "routes", who, x), NMC_MAX_ROUTES, who, "routes");
	bound_list(x, node, "endpoints", NMC_MAX_ENDPOINTS, NMC_MAX_ENDPOINT, who);
}

static void bound_dns(struct ctx *x, cJSON *dns)
{
	cJSON *records, *r, *next;

	if (!cJSON_IsObject(dns))
		return;
	bound_string(x, dns, "domain", NMC_MAX_DNS_NAME, "dns");
	bound_list(x, dns, "nameservers", NMC_MAX_DNS_LIST, INET6_ADDRSTRLEN, "dns");
	bound_list(x, dns, "search_domains", NMC_MAX_DNS_LIST, NMC_MAX_DNS_NAME + 1, "dns");
	records = string_array(dns, "records", "dns", x);
	if (!records)
		return;
	cut_list(x, records, NMC_MAX_DNS_RECORDS, "dns", "records");
	for (r = records->child; r; r = next) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
		size_t n = cJSON_IsString(name) ? strlen(name->valuestring) : 0;

		next = r->next;
		if (cJSON_IsObject(r) && n && (n <= NMC_MAX_DNS_NAME ||
					       (n == NMC_MAX_DNS_NAME + 1 && name->valuestring[n - 1] == '.'))) {
			bound_list(x, r, "addresses", NMC_MAX_DNS_LIST, INET6_ADDRSTRLEN, "dns record");
			continue;
		}
		refuse(x, "dns: a record refused: %s", n ? "name too long" : "no name");
		cJSON_Delete(cJSON_DetachItemViaPointer(records, r));
	}
}

/* "peer ID (HOSTNAME)", the hostname as far as it is one. */
static void peer_who(char *who, size_t len, const cJSON *p)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "hostname");

	snprintf(who, len, "peer %.0f (%.40s)",
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "id")),
		 cJSON_IsString(name) ? name->valuestring : "?");
}

static void bound_sizes(struct ctx *x, cJSON *msg)
{
	static const char *const lists[] = { "peers", "peers_added", "peers_changed" };
	cJSON *self = cJSON_GetObjectItemCaseSensitive(msg, "self"), *p;
	char who[120];

	if (cJSON_IsObject(self))
		bound_node(x, self, "self");
	for (size_t i = 0; i < 3; i++) {
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(msg, lists[i])) {
			if (!cJSON_IsObject(p))
				continue;
			peer_who(who, sizeof(who), p);
			bound_node(x, p, who);
		}
	}
	bound_dns(x, cJSON_GetObjectItemCaseSensitive(msg, "dns"));
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
		if (!cJSON_IsObject(p))
			continue;
		peer_who(who, sizeof(who), p);
		check_addresses(x, p, who);
		if (x->r->accept_routes)
			check_routes(x, p, who);
		set_allowed_ips(x, p);
	}
}

/* ---- one prefix, one peer ---- */

/* A prefix a peer claims (its addresses, and its routes with accept_routes). */
struct claim {
	struct kprefix p;
	double id;		/* the peer's node id; +inf without one */
	size_t peer;		/* index into the peers considered */
};

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int c = kprefix_cmp(&x->p, &y->p);

	if (c)
		return c;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double node_id(const cJSON *peer)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(peer, "id");

	return cJSON_IsNumber(id) && isfinite(id->valuedouble) ? id->valuedouble : INFINITY;
}

static const char *const claim_fields[] = { "addresses", "routes" };

/* Appends the claims of peer i (what set_allowed_ips made its allowed IPs). */
static int add_claims(struct claim **v, size_t *n, size_t *cap, const cJSON *peer, size_t i,
		      bool accept_routes)
{
	const cJSON *a;
	struct kprefix p;

	for (size_t f = 0; f < (accept_routes ? 2u : 1u); f++) {
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, claim_fields[f])) {
			if (!cJSON_IsString(a) || kprefix_parse(&p, a->valuestring))
				continue;
			if (*n == *cap) {
				size_t c = *cap ? 2 * *cap : 64;
				struct claim *nv = realloc(*v, c * sizeof(*nv));

				if (!nv)
					return -ENOMEM;
				*v = nv;
				*cap = c;
			}
			(*v)[(*n)++] = (struct claim){ .p = p, .id = node_id(peer), .peer = i };
		}
	}
	return 0;
}

/* The claim that holds p: the first of its run in c (sorted). */
static const struct claim *holder(const struct claim *c, size_t n, const struct kprefix *p)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kprefix_cmp(&c[mid].p, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !kprefix_cmp(&c[lo].p, p) ? &c[lo] : NULL;
}

static bool in_allowed(const cJSON *peer, const struct kprefix *p)
{
	const cJSON *a;
	struct kprefix q;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, "allowed_ips"))
		if (cJSON_IsString(a) && !kprefix_parse(&q, a->valuestring) && !kprefix_cmp(&q, p))
			return true;
	return false;
}

struct cpeer {
	cJSON *j;
	bool hot;		/* one of its claims is another's too, or was */
};

struct overlap {
	struct ctx *x;
	struct cpeer *peers;	/* the peers considered */
	size_t n_peers, cap_peers, n_msg;	/* [0, n_msg) are msg's own */
	struct claim *c;
	size_t n, cap;
};

static int consider(struct overlap *o, cJSON *p)
{
	size_t first = o->n;
	int r;

	if (o->n_peers == o->cap_peers) {
		size_t nc = o->cap_peers ? 2 * o->cap_peers : 64;
		struct cpeer *np = realloc(o->peers, nc * sizeof(*np));

		if (!np)
			return -ENOMEM;
		o->peers = np;
		o->cap_peers = nc;
	}
	r = add_claims(&o->c, &o->n, &o->cap, p, o->n_peers, o->x->r->accept_routes);
	/* A claim missing from its allowed IPs was lost to another peer
	 * earlier: it may come back now. */
	o->peers[o->n_peers++] = (struct cpeer){
		.j = p, .hot = o->n - first != (size_t)cJSON_GetArraySize(
			cJSON_GetObjectItemCaseSensitive(p, "allowed_ips")) };
	return r;
}

/* Peer k's allowed IPs: its claims it holds, in their order; its claims
 * another peer holds are reported (those of a peer of before only when it
 * had them until now). */
static cJSON *held_ips(struct overlap *o, size_t k, bool from_before)
{
	cJSON *peer = o->peers[k].j, *ips = cJSON_CreateArray();
	const cJSON *a;
	struct kprefix p;
	char who[120], win[120];

	for (size_t f = 0; ips && f < (o->x->r->accept_routes ? 2u : 1u); f++) {
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, claim_fields[f])) {
			const struct claim *h;

			if (!cJSON_IsString(a) || kprefix_parse(&p, a->valuestring))
				continue;
			h = holder(o->c, o->n, &p);
			if (!h || h->peer == k) {
				cJSON_AddItemToArray(ips, cJSON_Duplicate(a, 0));
				continue;
			}
			if (from_before && !in_allowed(peer, &p))
				continue;	/* lost before: said then */
			peer_who(who, sizeof(who), peer);
			peer_who(win, sizeof(win), o->peers[h->peer].j);
			refuse(o->x, "%s: %.60s not used: %s has it too (the lowest node id keeps it)",
			       who, a->valuestring, win);
		}
	}
	return ips;
}

/* Removes from obj's addresses those another peer than k holds: a peer
 * without --accept-routes is programmed from its addresses. */
static void drop_lost_addresses(struct overlap *o, size_t k, cJSON *obj)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "addresses"), *a, *next;
	struct kprefix p;

	for (a = arr ? arr->child : NULL; a; a = next) {
		const struct claim *h;

		next = a->next;
		if (cJSON_IsString(a) && !kprefix_parse(&p, a->valuestring) &&
		    (h = holder(o->c, o->n, &p)) && h->peer != k)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, a));
	}
}

/*
 * Two peers claiming one prefix (two HA subnet routers, a hostile server
 * giving one address twice): WireGuard gives a prefix to one peer, the one
 * programmed last, so the netmap, meshwgd's books and the kernel would
 * disagree. The protocol has no "primary" of a route, so the lowest node
 * id holds it, the same on every node and at every apply; the others do
 * not get it in their allowed IPs (their routes stay listed, so a route
 * comes back when its holder goes; an address given twice is removed from
 * the loser until the next FULL), and each loss is reported. In a DELTA
 * the peers of before that it leaves alone take part too: one whose
 * allowed IPs change (a claim lost to a newcomer, or regained) is added to
 * the message's peers_changed, so that it is programmed again.
 */
static void resolve_overlaps(struct ctx *x, cJSON *msg, const cJSON *before)
{
	static const char *const lists[] = { "peers", "peers_added", "peers_changed" };
	struct overlap o = { .x = x };
	double *named = NULL;
	size_t n_named = 0, i;
	cJSON *p, *changed = NULL;

	for (size_t l = 0; l < 3; l++)
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(msg, lists[l]))
			if (cJSON_IsObject(p) && consider(&o, p))
				goto nomem;
	o.n_msg = o.n_peers;
	if (before) {
		/* the peers of before the message neither removes nor replaces */
		const cJSON *rm = cJSON_GetObjectItemCaseSensitive(msg, "peers_removed"), *r;

		named = malloc((o.n_msg + (size_t)cJSON_GetArraySize(rm) + 1) * sizeof(*named));
		if (!named)
			goto nomem;
		for (i = 0; i < o.n_msg; i++)
			named[n_named++] = node_id(o.peers[i].j);
		cJSON_ArrayForEach(r, rm)
			if (cJSON_IsNumber(r) && isfinite(r->valuedouble))
				named[n_named++] = r->valuedouble;
		qsort(named, n_named, sizeof(*named), double_cmp);
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(before, "peers")) {
			double id = node_id(p);

			if (!cJSON_IsObject(p) ||
			    (isfinite(id) && bsearch(&id, named, n_named, sizeof(*named), double_cmp)))
				continue;
			if (consider(&o, p))
				goto nomem;
		}
	}
	if (!o.n)
		goto out;
	qsort(o.c, o.n, sizeof(*o.c), claim_cmp);
	for (i = 1; i < o.n; i++) {
		if (!kprefix_cmp(&o.c[i].p, &o.c[i - 1].p) && o.c[i].peer != o.c[i - 1].peer) {
			o.peers[o.c[i].peer].hot = true;
			o.peers[o.c[i - 1].peer].hot = true;
		}
	}
	/* Only the peers in a conflict, now or before, can change: a one-peer
	 * delta to 10,000 peers does not rebuild them all. */
	for (size_t k = 0; k < o.n_peers; k++) {
		cJSON *ips, *copy;

		if (!o.peers[k].hot)
			continue;
		ips = held_ips(&o, k, k >= o.n_msg);
		if (!ips)
			goto nomem;
		if (k < o.n_msg) {
			cJSON_ReplaceItemInObjectCaseSensitive(o.peers[k].j, "allowed_ips", ips);
			drop_lost_addresses(&o, k, o.peers[k].j);
			continue;
		}
		if (cJSON_Compare(ips, cJSON_GetObjectItemCaseSensitive(o.peers[k].j, "allowed_ips"), 1)) {
			cJSON_Delete(ips);
			continue;
		}
		/* a peer of before whose allowed IPs change: programmed again */
		copy = cJSON_Duplicate(o.peers[k].j, 1);
		if (!changed) {
			changed = cJSON_GetObjectItemCaseSensitive(msg, "peers_changed");
			if (!cJSON_IsArray(changed)) {
				cJSON_DeleteItemFromObjectCaseSensitive(msg, "peers_changed");
				changed = cJSON_AddArrayToObject(msg, "peers_changed");
			}
		}
		if (!copy || !changed) {
			cJSON_Delete(copy);
			cJSON_Delete(ips);
			goto nomem;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(copy, "allowed_ips", ips);
		drop_lost_addresses(&o, k, copy);
		cJSON_AddItemToArray(changed, copy);
	}
	goto out;
nomem:
	refuse(x, "out of memory while checking the netmap for overlapping allowed IPs");
out:
	free(named);
	free(o.c);
	free(o.peers);
}

size_t nmc_check(cJSON *msg, const cJSON *before, const struct nmc_rules *r, cJSON *problems)
{
	struct ctx x = { .r = r, .problems = problems };
	cJSON *self;

	if (!cJSON_IsObject(msg))
		return 0;
	/* Sizes first: nothing below works on more than the limits. */
	bound_sizes(&x, msg);
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
	resolve_overlaps(&x, msg, before);
	free(x.ko.v);
	return x.count;
}
