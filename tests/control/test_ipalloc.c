// SPDX-License-Identifier: MIT
/* Address allocation: unique, stable across reloads, exhaustion, reserved. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "ipalloc.h"

static struct mwg_ipalloc *mk(const char *prefix)
{
	struct kprefix p;

	assert_int_equal(kprefix_parse_cidr(&p, prefix), 0);
	return mwg_ipalloc_new(&p);
}

static void test_prefix_parse(void **state)
{
	struct kprefix p;
	char buf[64];

	(void)state;
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/10"), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.cidr, 10);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.1.7/10"), 0);	/* host bits masked */
	kprefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "100.64.0.0/10");
	assert_int_equal(kprefix_parse_cidr(&p, "fd7a:115c:a1e0::/48"), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/33"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "nonsense/8"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "::/129"), -EINVAL);
	/* The length is decimal digits only, as in meshwgd's parser (this
	 * server's own strtol() took a sign, blanks and leading zeros). */
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/+10"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/ 10"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/0010"), -EINVAL);
	assert_int_equal(kprefix_parse_cidr(&p, "100.64.0.0/-0"), -EINVAL);
}

static void test_prefix_overlaps(void **state)
{
	struct kprefix a, b;

	(void)state;
	assert_int_equal(kprefix_parse_cidr(&a, "100.64.0.0/10"), 0);
	assert_int_equal(kprefix_parse_cidr(&b, "64.0.0.0/2"), 0);
	assert_true(kprefix_overlaps(&a, &b));
	assert_true(kprefix_overlaps(&b, &a));
	assert_int_equal(kprefix_parse_cidr(&b, "100.64.3.4/32"), 0);
	assert_true(kprefix_overlaps(&a, &b));
	assert_int_equal(kprefix_parse_cidr(&b, "100.128.0.0/9"), 0);
	assert_false(kprefix_overlaps(&a, &b));
	assert_int_equal(kprefix_parse_cidr(&b, "::/0"), 0);
	assert_false(kprefix_overlaps(&a, &b));	/* other family */
}

static void test_unique_sequential(void **state)
{
	struct mwg_ipalloc *a = mk("100.64.0.0/10");
	char seen[1000][16], ip[64];
	int i, j;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(mwg_ipalloc_next(a, ip, sizeof(ip)), 0);
		assert_true(strlen(ip) < 16);
		strcpy(seen[i], ip);
		assert_true(mwg_ipalloc_is_used(a, ip));
	}
	assert_string_equal(seen[0], "100.64.0.1");
	assert_string_equal(seen[255], "100.64.1.0");	/* .0 in the middle of a /10 is a host */
	for (i = 0; i < 1000; i++)
		for (j = i + 1; j < 1000; j++)
			assert_string_not_equal(seen[i], seen[j]);
	assert_int_equal(mwg_ipalloc_count(a), 1000);
	mwg_ipalloc_free(a);
}

static void test_stable_after_reload(void **state)
{
	struct mwg_ipalloc *a = mk("fd7a:115c:a1e0::/48"), *b;
	char ips[10][64], ip[64];
	int i, j;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_int_equal(mwg_ipalloc_next(a, ips[i], sizeof(ips[i])), 0);
	assert_string_equal(ips[0], "fd7a:115c:a1e0::1");
	/* A server restart reloads the used set from the database (in any
	 * order); new allocations never collide with existing ones. */
	b = mk("fd7a:115c:a1e0::/48");
	for (i = 9; i >= 0; i--)
		assert_int_equal(mwg_ipalloc_mark(b, ips[i]), 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(mwg_ipalloc_next(b, ip, sizeof(ip)), 0);
		for (j = 0; j < 10; j++)
			assert_string_not_equal(ip, ips[j]);
	}
	assert_int_equal(mwg_ipalloc_mark(b, "10.0.0.1"), -1);	/* other family */
	assert_int_equal(mwg_ipalloc_mark(b, "fd00::1"), -1);	/* outside the prefix */
	mwg_ipalloc_free(a);
	mwg_ipalloc_free(b);
}

static void test_exhaustion_and_release(void **state)
{
	struct mwg_ipalloc *a = mk("100.64.0.0/29");
	char ip[64], got[6][64];
	int i;

	(void)state;
	/* .0 is the network, .7 broadcast: 6 usable */
	for (i = 0; i < 6; i++)
		assert_int_equal(mwg_ipalloc_next(a, got[i], sizeof(got[i])), 0);
	assert_string_equal(got[5], "100.64.0.6");
	assert_int_equal(mwg_ipalloc_next(a, ip, sizeof(ip)), -1);
	assert_int_equal(mwg_ipalloc_count(a), 6);
	assert_int_equal(mwg_ipalloc_release(a, "100.64.0.3"), 0);
	assert_false(mwg_ipalloc_is_used(a, "100.64.0.3"));
	assert_int_equal(mwg_ipalloc_release(a, "100.64.0.3"), -1);
	assert_int_equal(mwg_ipalloc_next(a, ip, sizeof(ip)), 0);
	assert_string_equal(ip, "100.64.0.3");
	assert_int_equal(mwg_ipalloc_next(a, ip, sizeof(ip)), -1);
	mwg_ipalloc_free(a);
}

static void test_reserved_quad100(void **state)
{
	struct mwg_ipalloc *a = mk("100.100.100.96/28");
	char ip[64];
	int n = 0;

	(void)state;
	while (mwg_ipalloc_next(a, ip, sizeof(ip)) == 0) {
		assert_string_not_equal(ip, "100.100.100.100");
		assert_string_not_equal(ip, "100.100.100.96");
		assert_string_not_equal(ip, "100.100.100.111");
		n++;
	}
	assert_int_equal(n, 13);
	mwg_ipalloc_free(a);
}

static void test_many_grow(void **state)
{
	struct mwg_ipalloc *a = mk("100.64.0.0/10");
	char ip[64];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++)
		assert_int_equal(mwg_ipalloc_next(a, ip, sizeof(ip)), 0);
	assert_int_equal(mwg_ipalloc_count(a), 20000);
	assert_true(mwg_ipalloc_is_used(a, "100.64.0.1"));
	assert_true(mwg_ipalloc_is_used(a, ip));
	assert_false(mwg_ipalloc_is_used(a, "100.127.255.254"));
	mwg_ipalloc_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_overlaps),
		cmocka_unit_test(test_unique_sequential),
		cmocka_unit_test(test_stable_after_reload),
		cmocka_unit_test(test_exhaustion_and_release),
		cmocka_unit_test(test_reserved_quad100),
		cmocka_unit_test(test_many_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
