// SPDX-License-Identifier: GPL-2.0 OR MIT
/* agent/endpoints.c: which interface addresses become endpoints. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "endpoints.h"

static struct ep_addr A(const char *ip, const char *ifname, bool up, bool loopback)
{
	struct ep_addr a = { .up = up, .loopback = loopback };

	if (inet_pton(AF_INET, ip, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a.addr) == 1)
		a.family = AF_INET6;
	snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
	return a;
}

static void test_filter(void **st)
{
	struct ep_addr in[] = {
		A("127.0.0.1", "lo", true, true),
		A("::1", "lo", true, true),
		A("10.9.0.1", "eth0", true, false),
		A("fe80::1", "eth0", true, false),
		A("2001:db8::5", "eth0", true, false),
		A("100.64.0.7", "meshwg0", true, false),	/* our interface */
		A("100.64.0.9", "eth1", true, false),		/* inside the tailnet */
		A("fd7a:115c:a1e0::9", "eth1", true, false),	/* inside the tailnet */
		A("192.0.2.1", "eth2", false, false),		/* down */
		A("169.254.3.3", "eth0", true, false),		/* link-local v4 */
		A("10.9.0.1", "eth0", true, false),		/* duplicate */
		A("198.51.100.2", "eth3", true, false),
	};
	struct kprefix ex[2];
	char out[EP_MAX][EP_TEXT_MAX];
	size_t n;

	(void)st;
	assert_int_equal(kprefix_parse(&ex[0], "100.64.0.0/10"), 0);
	assert_int_equal(kprefix_parse(&ex[1], "fd7a:115c:a1e0::/48"), 0);
	n = ep_filter(in, sizeof(in) / sizeof(in[0]), "meshwg0", ex, 2, 41641, out, EP_MAX);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "10.9.0.1:41641");
	assert_string_equal(out[1], "[2001:db8::5]:41641");
	assert_string_equal(out[2], "198.51.100.2:41641");
	/* Without exclusions the tailnet addresses of other interfaces count. */
	n = ep_filter(in, sizeof(in) / sizeof(in[0]), "meshwg0", NULL, 0, 7, out, EP_MAX);
	assert_int_equal(n, 5);
	assert_string_equal(out[2], "100.64.0.9:7");
	/* The limit is honoured. */
	n = ep_filter(in, sizeof(in) / sizeof(in[0]), "meshwg0", ex, 2, 1, out, 2);
	assert_int_equal(n, 2);
}

static void test_prefix_parse(void **st)
{
	struct kprefix p, q;

	(void)st;
	assert_int_equal(kprefix_parse(&p, "10.1.2.3/8"), 0);
	assert_int_equal(p.cidr, 8);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.addr[1], 0);			/* host bits cleared */
	assert_int_equal(kaddr_parse(&q, "10.1.2.3/8"), 0);
	assert_int_equal(q.addr[1], 1);			/* kept for an address */
	assert_true(kprefix_covers(&p, &q));
	assert_int_equal(kprefix_parse(&q, "10.0.0.0"), 0);	/* bare: host prefix */
	assert_int_equal(q.cidr, 32);
	assert_true(kprefix_covers(&p, &q));
	assert_false(kprefix_covers(&q, &p));		/* wider is not inside */
	assert_int_equal(kprefix_parse(&p, "::/0"), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_false(kprefix_covers(&p, &q));		/* other family */
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/33"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "10.0.0.0/8x"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, "nope/8"), -EINVAL);
	assert_int_equal(kprefix_parse(&p, NULL), -EINVAL);
}

static void test_prefix_bits(void **st)
{
	/* /10 boundary: 100.127.255.255 inside, 100.128.0.0 outside. */
	struct ep_addr in[] = {
		A("100.127.255.255", "eth0", true, false),
		A("100.128.0.0", "eth0", true, false),
	};
	struct kprefix ex;
	char out[4][EP_TEXT_MAX];

	(void)st;
	assert_int_equal(kprefix_parse(&ex, "100.64.0.0/10"), 0);
	assert_int_equal(ep_filter(in, 2, NULL, &ex, 1, 1, out, 4), 1);
	assert_string_equal(out[0], "100.128.0.0:1");
}

static void test_collect(void **st)
{
	/* The real interfaces: never loopback, always "ip:port". */
	cJSON *arr = ep_collect("meshwg0", NULL, 0, 4242), *it;

	(void)st;
	assert_non_null(arr);
	cJSON_ArrayForEach(it, arr) {
		assert_true(cJSON_IsString(it));
		assert_null(strstr(it->valuestring, "127.0.0.1"));
		assert_non_null(strstr(it->valuestring, ":4242"));
	}
	cJSON_Delete(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_bits),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
