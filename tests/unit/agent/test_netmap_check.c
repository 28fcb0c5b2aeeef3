// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * agent/netmap_check.c: what a control server may not make meshwgd
 * install (host addresses outside the tailnet, wide prefixes, /1 splits,
 * routes over the control server, relays, peers' endpoints and this
 * node's own addresses, allowed IPs beyond a peer's addresses and routes),
 * and that everything else of the netmap is kept.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "netmap_check.h"

static struct kprefix keep[2];
static struct nmc_rules rules;

static int setup(void **state)
{
	(void)state;
	memset(&rules, 0, sizeof(rules));
	assert_int_equal(kprefix_parse(&rules.tailnet[0], "100.64.0.0/10"), 0);
	assert_int_equal(kprefix_parse(&rules.tailnet[1], "fd7a:115c:a1e0::/48"), 0);
	rules.n_tailnet = 2;
	/* the control server and this node's LAN address */
	assert_int_equal(kprefix_parse(&keep[0], "10.9.0.1"), 0);
	assert_int_equal(kprefix_parse(&keep[1], "192.168.1.77"), 0);
	rules.keep_off = keep;
	rules.n_keep_off = 2;
	return 0;
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

/* The strings of arr joined by ",". */
static const char *joined(const cJSON *arr)
{
	static char buf[1024];
	const cJSON *a;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(a, arr)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
				      cJSON_GetStringValue(a));
	return buf;
}

static const cJSON *peer_field(const cJSON *msg, const char *list, int i, const char *f)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(msg, list), i), f);
}

static bool has_problem(const cJSON *problems, const char *needle)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, problems)
		if (strstr(p->valuestring, needle))
			return true;
	return false;
}

static void test_self_addresses(void **state)
{
	cJSON *m = parse("{\"type\":\"full\",\"self\":{\"addresses\":[\"100.64.0.1/32\","
			 "\"200.1.2.3/1\",\"192.168.1.77/24\",\"100.64.0.9/10\",\"fd7a:115c:a1e0::1/128\","
			 "\"2001:db8::1/128\",7]},\"peers\":[]}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 5);
	assert_string_equal(joined(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "self"), "addresses")),
			    "100.64.0.1/32,fd7a:115c:a1e0::1/128");
	assert_true(has_problem(pr, "self: address 200.1.2.3/1 refused"));
	assert_true(has_problem(pr, "self: address 192.168.1.77/24 refused"));
	/* idempotent: the checked netmap passes as it is */
	cJSON_Delete(pr);
	pr = cJSON_CreateArray();
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 0);
	assert_int_equal(cJSON_GetArraySize(pr), 0);
	cJSON_Delete(pr);
	cJSON_Delete(m);
}

/* Without accept_routes a peer may send from its addresses only, whatever
 * allowed_ips the server wrote. */
static void test_allowed_ips_without_routes(void **state)
{
	cJSON *m = parse("{\"type\":\"full\",\"peers\":[{\"id\":2,\"hostname\":\"b\","
			 "\"addresses\":[\"100.64.0.2/32\",\"10.0.0.0/8\"],"
			 "\"allowed_ips\":[\"0.0.0.0/0\",\"::/0\"],"
			 "\"routes\":[\"0.0.0.0/1\",\"128.0.0.0/1\"],\"exit_node\":true}]}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 1);
	assert_true(has_problem(pr, "peer 2 (b): address 10.0.0.0/8 refused"));
	assert_string_equal(joined(peer_field(m, "peers", 0, "allowed_ips")), "100.64.0.2/32");
	/* routes are not looked at (nor used) without accept_routes */
	assert_string_equal(joined(peer_field(m, "peers", 0, "routes")), "0.0.0.0/1,128.0.0.0/1");
	cJSON_Delete(pr);
	cJSON_Delete(m);
}

static void test_routes(void **state)
{
	cJSON *m = parse("{\"type\":\"full\","
			 "\"derp_map\":{\"regions\":[{\"id\":900,\"nodes\":[{\"ipv4\":\"203.0.113.5\"}]}]},"
			 "\"peers\":[{\"id\":2,\"hostname\":\"b\",\"addresses\":[\"100.64.0.2/32\"],"
			 "\"endpoints\":[\"198.51.100.7:41641\",\"[2001:db8:1::7]:41641\"],"
			 "\"allowed_ips\":[\"0.0.0.0/0\"],"
			 "\"routes\":[\"0.0.0.0/0\",\"::/0\",\"0.0.0.0/1\",\"128.0.0.0/1\",\"10.0.0.0/24\","
			 "\"10.9.0.0/16\",\"192.168.1.0/24\",\"198.51.100.0/24\",\"203.0.113.0/24\","
			 "\"100.64.0.0/16\",\"224.0.0.0/8\",\"127.0.0.0/8\",\"2001:db8:1::/48\","
			 "\"2001:db8:2::/48\",\"bogus\"]},"
			 "{\"id\":3,\"hostname\":\"c\",\"addresses\":[\"100.64.0.3/32\"],"
			 "\"endpoints\":[\"172.16.5.5:41641\"],\"routes\":[\"172.16.0.0/12\"]}]}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	rules.accept_routes = true;
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 12);
	assert_string_equal(joined(peer_field(m, "peers", 0, "routes")),
			    "10.0.0.0/24,2001:db8:2::/48");
	assert_string_equal(joined(peer_field(m, "peers", 0, "allowed_ips")),
			    "100.64.0.2/32,10.0.0.0/24,2001:db8:2::/48");
	/* c's route covers its own endpoint: refused too */
	assert_string_equal(joined(peer_field(m, "peers", 1, "routes")), "");
	assert_string_equal(joined(peer_field(m, "peers", 1, "allowed_ips")), "100.64.0.3/32");
	assert_true(has_problem(pr, "route 0.0.0.0/1 refused: it is too wide"));
	assert_true(has_problem(pr, "route 128.0.0.0/1 refused: it is too wide"));
	assert_true(has_problem(pr, "route 10.9.0.0/16 refused: it covers the control server"));
	assert_true(has_problem(pr, "route 100.64.0.0/16 refused: it overlaps the tailnet"));
	assert_true(has_problem(pr, "route 224.0.0.0/8 refused: it is not unicast"));
	assert_false(has_problem(pr, "0.0.0.0/0"));	/* exit routes: dropped, not reported */
	cJSON_Delete(pr);
	pr = cJSON_CreateArray();
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 0);
	cJSON_Delete(pr);
	cJSON_Delete(m);
}

/* A delta is checked against the endpoints of the netmap it applies to. */
static void test_delta_against_before(void **state)
{
	cJSON *before = parse("{\"peers\":[{\"id\":2,\"endpoints\":[\"198.51.100.7:41641\"]}],"
			      "\"derp_map\":{\"regions\":[{\"nodes\":[{\"host\":\"203.0.113.5\"}]}]}}");
	cJSON *m = parse("{\"type\":\"delta\",\"peers_changed\":[{\"id\":3,\"hostname\":\"c\","
			 "\"addresses\":[\"100.64.0.3/32\",\"100.64.0.4\"],\"routes\":[\"198.51.100.0/24\","
			 "\"203.0.113.0/24\",\"10.1.0.0/16\"]}],\"self\":{\"addresses\":[\"1.2.3.4/32\"]}}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	rules.accept_routes = true;
	assert_int_equal(nmc_check(m, before, &rules, pr), 3);
	assert_string_equal(joined(peer_field(m, "peers_changed", 0, "routes")), "10.1.0.0/16");
	assert_string_equal(joined(peer_field(m, "peers_changed", 0, "allowed_ips")),
			    "100.64.0.3/32,100.64.0.4,10.1.0.0/16");
	assert_string_equal(joined(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "self"), "addresses")), "");
	cJSON_Delete(pr);
	cJSON_Delete(m);
	cJSON_Delete(before);
}

/* Routes against many keep-off addresses (sorted, searched): exactly the
 * routes that cover one are refused. */
static void test_many_endpoints(void **state)
{
	cJSON *m = cJSON_CreateObject(), *peers = cJSON_AddArrayToObject(m, "peers"), *p, *a;
	static const char *const routes[] = { "10.0.1.0/24", "10.0.2.0/24", "10.0.0.0/30",
					      "10.0.0.4/30", "10.200.0.0/16", "2001:db8:5::/48",
					      "2001:db8:6::/48", "11.0.0.0/8" };
	char buf[64];

	(void)state;
	rules.accept_routes = true;
	for (int i = 0; i < 300; i++) {
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "id", i + 2);
		a = cJSON_AddArrayToObject(p, "endpoints");
		/* 10.0.0.5, 10.0.1.7, 10.0.3.2 .. 10.0.3.199, 2001:db8:5::c8 .. */
		if (i == 0)
			snprintf(buf, sizeof(buf), "10.0.0.5:1");
		else if (i == 1)
			snprintf(buf, sizeof(buf), "10.0.1.7:1");
		else if (i < 200)
			snprintf(buf, sizeof(buf), "10.0.3.%d:41641", i);
		else
			snprintf(buf, sizeof(buf), "[2001:db8:5::%x]:41641", i);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		cJSON_AddItemToArray(peers, p);
	}
	p = cJSON_GetArrayItem(peers, 299);
	a = cJSON_AddArrayToObject(p, "routes");
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(routes[i]));
	assert_int_equal(nmc_check(m, NULL, &rules, NULL), 3);
	assert_string_equal(joined(cJSON_GetObjectItem(p, "routes")),
			    "10.0.2.0/24,10.0.0.0/30,10.200.0.0/16,2001:db8:6::/48,11.0.0.0/8");
	cJSON_Delete(m);
}

static void test_not_arrays(void **state)
{
	cJSON *m = parse("{\"type\":\"full\",\"self\":{\"addresses\":\"100.64.0.1/32\"},"
			 "\"peers\":[{\"id\":2,\"addresses\":{},\"routes\":5}]}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	rules.accept_routes = true;
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 3);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "self"), "addresses"));
	assert_string_equal(joined(peer_field(m, "peers", 0, "allowed_ips")), "");
	cJSON_Delete(pr);
	cJSON_Delete(m);
}

/* A string of n bytes of c. */
static cJSON *str_of(size_t n, char c)
{
	char *t = malloc(n + 1);
	cJSON *j;

	assert_non_null(t);
	memset(t, c, n);
	t[n] = '\0';
	j = cJSON_CreateString(t);
	free(t);
	return j;
}

static cJSON *list_of(size_t n, const char *fmt)
{
	cJSON *a = cJSON_CreateArray();
	char b[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), fmt, (unsigned)(i / 250), (unsigned)(i % 250) + 1);
		cJSON_AddItemToArray(a, cJSON_CreateString(b));
	}
	return a;
}

/* Strings and lists over their limits (netmap_check.h) are removed or cut,
 * and said so; what is within them stays. */
static void test_sizes(void **state)
{
	cJSON *m = parse("{\"type\":\"full\",\"self\":{\"addresses\":[\"100.64.0.1/32\"]},"
			 "\"peers\":[{\"id\":2},{\"id\":3,\"hostname\":\"ok\",\"tags\":[\"tag:a\",5]}],"
			 "\"dns\":{\"records\":[{\"name\":\"a.b\",\"addresses\":[\"100.64.0.2\"]},"
			 "{\"addresses\":[]}]}}");
	cJSON *self = cJSON_GetObjectItem(m, "self");
	cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers"), 0);
	cJSON *p3 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "peers"), 1);
	cJSON *dns = cJSON_GetObjectItem(m, "dns"), *recs = cJSON_GetObjectItem(dns, "records");
	cJSON *pr = cJSON_CreateArray(), *r;

	(void)state;
	rules.accept_routes = true;
	cJSON_AddItemToObject(self, "hostname", str_of(NMC_MAX_HOSTNAME, 'a'));
	cJSON_AddItemToObject(self, "user", str_of(NMC_MAX_USER + 1, 'u'));
	cJSON_AddItemToObject(self, "dns_name", str_of(NMC_MAX_DNS_NAME, 'd'));
	cJSON_AddItemToObject(p, "hostname", str_of(NMC_MAX_HOSTNAME + 1, 'h'));
	cJSON_AddItemToObject(p, "dns_name", str_of(NMC_MAX_DNS_NAME + 1, 'd'));
	cJSON_AddItemToObject(p, "tags", list_of(NMC_MAX_TAGS + 6, "tag:t%u-%u"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(p, "tags"), str_of(NMC_MAX_TAG + 1, 't'));
	cJSON_AddItemToObject(p, "endpoints", list_of(NMC_MAX_ENDPOINTS + 36, "198.51.%u.%u:41641"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(p, "endpoints"), str_of(NMC_MAX_ENDPOINT + 1, '1'));
	cJSON_AddItemToObject(p, "addresses", list_of(NMC_MAX_ADDRESSES + 4, "100.64.%u.%u/32"));
	cJSON_AddItemToObject(p, "routes", list_of(NMC_MAX_ROUTES + 500, "10.%u.%u.0/24"));
	cJSON_AddItemToObject(p3, "dns_name", str_of(NMC_MAX_DNS_NAME, 'x'));
	cJSON_SetValuestring(cJSON_GetObjectItem(p3, "dns_name"), "");
	cJSON_AddItemToArray(recs, cJSON_CreateObject());
	cJSON_AddItemToObject(cJSON_GetArrayItem(recs, 2), "name", str_of(NMC_MAX_DNS_NAME + 2, 'n'));
	cJSON_AddItemToObject(dns, "nameservers", list_of(NMC_MAX_DNS_LIST + 1, "192.0.%u.%u"));
	nmc_check(m, NULL, &rules, pr);

	/* self: a 63-byte label and a 253-byte name are fine; the user is not */
	assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(self, "hostname"))), 63);
	assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(self, "dns_name"))), 253);
	assert_null(cJSON_GetObjectItem(self, "user"));
	assert_true(has_problem(pr, "self: user refused: too long"));
	/* peer 2: names removed, lists cut, the long tag and endpoint removed */
	assert_null(cJSON_GetObjectItem(p, "hostname"));
	assert_null(cJSON_GetObjectItem(p, "dns_name"));
	assert_true(has_problem(pr, "hostname refused: too long"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "tags")), NMC_MAX_TAGS);
	assert_true(has_problem(pr, "71 tags, more than 64: the rest ignored"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "endpoints")), NMC_MAX_ENDPOINTS);
	assert_true(has_problem(pr, "101 endpoints, more than 64"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "addresses")), NMC_MAX_ADDRESSES);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "routes")), NMC_MAX_ROUTES);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "allowed_ips")),
			 NMC_MAX_ADDRESSES + NMC_MAX_ROUTES);
	/* peer 3: a tag that is not a string goes, the rest stays */
	assert_string_equal(joined(cJSON_GetObjectItem(p3, "tags")), "tag:a");
	assert_true(has_problem(pr, "peer 3 (ok): tags refused: not a string"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p3, "hostname")), "ok");
	/* dns: records without a name or with a long one go, lists are cut */
	assert_int_equal(cJSON_GetArraySize(recs), 1);
	r = cJSON_GetArrayItem(recs, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")), "a.b");
	assert_true(has_problem(pr, "dns: a record refused: name too long"));
	assert_true(has_problem(pr, "dns: a record refused: no name"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(dns, "nameservers")), NMC_MAX_DNS_LIST);
	cJSON_Delete(pr);
	cJSON_Delete(m);
}

/* Two HA routers with one route, and an address given to two peers: the
 * lowest node id holds each; the others lose it from their allowed IPs
 * (the route stays listed, the address goes), said so. */
static void test_overlaps_full(void **state)
{
	cJSON *m = parse("{\"type\":\"full\",\"peers\":["
			 "{\"id\":7,\"hostname\":\"r7\",\"addresses\":[\"100.64.0.7/32\"],"
			 "\"routes\":[\"10.1.0.0/16\",\"10.2.0.0/16\"]},"
			 "{\"id\":4,\"hostname\":\"r4\",\"addresses\":[\"100.64.0.4/32\"],"
			 "\"routes\":[\"10.1.0.0/16\"]},"
			 "{\"id\":9,\"hostname\":\"x9\",\"addresses\":[\"100.64.0.4/32\",\"100.64.0.9/32\"]}]}");
	cJSON *pr = cJSON_CreateArray();

	(void)state;
	rules.accept_routes = true;
	assert_int_equal(nmc_check(m, NULL, &rules, pr), 2);
	assert_string_equal(joined(peer_field(m, "peers", 0, "allowed_ips")), "100.64.0.7/32,10.2.0.0/16");
	assert_string_equal(joined(peer_field(m, "peers", 0, "routes")), "10.1.0.0/16,10.2.0.0/16");
	assert_string_equal(joined(peer_field(m, "peers", 1, "allowed_ips")), "100.64.0.4/32,10.1.0.0/16");
	assert_string_equal(joined(peer_field(m, "peers", 2, "allowed_ips")), "100.64.0.9/32");
	assert_string_equal(joined(peer_field(m, "peers", 2, "addresses")), "100.64.0.9/32");
	assert_true(has_problem(pr, "peer 7 (r7): 10.1.0.0/16 not used: peer 4 (r4) has it too "
				"(the lowest node id keeps it)"));
	assert_true(has_problem(pr, "peer 9 (x9): 100.64.0.4/32 not used: peer 4 (r4) has it too"));
	cJSON_Delete(pr);
	cJSON_Delete(m);

	/* without --accept-routes only addresses count */
	m = parse("{\"type\":\"full\",\"peers\":[{\"id\":3,\"addresses\":[\"100.64.0.3/32\"],"
		  "\"routes\":[\"10.1.0.0/16\"]},{\"id\":2,\"addresses\":[\"100.64.0.2/32\"],"
		  "\"routes\":[\"10.1.0.0/16\"]}]}");
	rules.accept_routes = false;
	assert_int_equal(nmc_check(m, NULL, &rules, NULL), 0);
	assert_string_equal(joined(peer_field(m, "peers", 0, "allowed_ips")), "100.64.0.3/32");
	cJSON_Delete(m);
}

/* In a DELTA, a newcomer with a lower id takes the route of a peer the
 * delta does not name: that peer is added to peers_changed without it;
 * when the newcomer goes, it is added again with the route back. */
static void test_overlaps_delta(void **state)
{
	cJSON *before = parse("{\"type\":\"full\",\"peers\":["
			      "{\"id\":4,\"hostname\":\"r4\",\"addresses\":[\"100.64.0.4/32\"],"
			      "\"routes\":[\"10.1.0.0/16\"]},"
			      "{\"id\":5,\"hostname\":\"p5\",\"addresses\":[\"100.64.0.5/32\"]}]}");
	cJSON *d = parse("{\"type\":\"delta\",\"peers_added\":[{\"id\":2,\"hostname\":\"r2\","
			 "\"addresses\":[\"100.64.0.2/32\"],\"routes\":[\"10.1.0.0/16\"]}]}");
	cJSON *pr = cJSON_CreateArray(), *r4;

	(void)state;
	rules.accept_routes = true;
	assert_int_equal(nmc_check(before, NULL, &rules, NULL), 0);
	assert_int_equal(nmc_check(d, before, &rules, pr), 1);
	assert_string_equal(joined(peer_field(d, "peers_added", 0, "allowed_ips")),
			    "100.64.0.2/32,10.1.0.0/16");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "peers_changed")), 1);
	assert_int_equal(cJSON_GetNumberValue(peer_field(d, "peers_changed", 0, "id")), 4);
	assert_string_equal(joined(peer_field(d, "peers_changed", 0, "allowed_ips")), "100.64.0.4/32");
	assert_string_equal(joined(peer_field(d, "peers_changed", 0, "routes")), "10.1.0.0/16");
	assert_true(has_problem(pr, "peer 4 (r4): 10.1.0.0/16 not used: peer 2 (r2) has it too"));

	/* the netmap after it (what mwgc_netmap_merge makes of it) */
	r4 = cJSON_DetachItemFromArray(cJSON_GetObjectItem(d, "peers_changed"), 0);
	cJSON_ReplaceItemInArray(cJSON_GetObjectItem(before, "peers"), 0, r4);
	cJSON_AddItemToArray(cJSON_GetObjectItem(before, "peers"),
			     cJSON_DetachItemFromArray(cJSON_GetObjectItem(d, "peers_added"), 0));
	cJSON_Delete(d);
	cJSON_Delete(pr);

	/* a delta that names neither: nothing changes, nothing is said again */
	d = parse("{\"type\":\"delta\",\"peers_changed\":[{\"id\":5,\"hostname\":\"p5\","
		  "\"addresses\":[\"100.64.0.5/32\"]}]}");
	pr = cJSON_CreateArray();
	assert_int_equal(nmc_check(d, before, &rules, pr), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "peers_changed")), 1);
	cJSON_Delete(d);

	/* the holder goes: peer 4 has its route again */
	d = parse("{\"type\":\"delta\",\"peers_removed\":[2]}");
	assert_int_equal(nmc_check(d, before, &rules, pr), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "peers_changed")), 1);
	assert_string_equal(joined(peer_field(d, "peers_changed", 0, "allowed_ips")),
			    "100.64.0.4/32,10.1.0.0/16");
	assert_int_equal(cJSON_GetArraySize(pr), 0);
	cJSON_Delete(d);
	cJSON_Delete(pr);
	cJSON_Delete(before);
}

static void test_endpoint_host(void **state)
{
	struct kprefix p;
	char b[64];

	(void)state;
	assert_int_equal(nmc_endpoint_host(&p, "1.2.3.4:5"), 0);
	kprefix_format(&p, b, sizeof(b));
	assert_string_equal(b, "1.2.3.4/32");
	assert_int_equal(nmc_endpoint_host(&p, "[fe80::1%eth0]:5"), 0);
	kprefix_format(&p, b, sizeof(b));
	assert_string_equal(b, "fe80::1/128");
	assert_int_equal(nmc_endpoint_host(&p, "2001:db8::1"), 0);
	assert_int_equal(nmc_endpoint_host(&p, "derp.example:443"), -EINVAL);
	assert_int_equal(nmc_endpoint_host(&p, "[::1"), -EINVAL);
	assert_int_equal(nmc_endpoint_host(&p, "10.0.0.0/8"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_self_addresses, setup),
		cmocka_unit_test_setup(test_allowed_ips_without_routes, setup),
		cmocka_unit_test_setup(test_routes, setup),
		cmocka_unit_test_setup(test_delta_against_before, setup),
		cmocka_unit_test_setup(test_many_endpoints, setup),
		cmocka_unit_test_setup(test_not_arrays, setup),
		cmocka_unit_test_setup(test_sizes, setup),
		cmocka_unit_test_setup(test_overlaps_full, setup),
		cmocka_unit_test_setup(test_overlaps_delta, setup),
		cmocka_unit_test_setup(test_endpoint_host, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
