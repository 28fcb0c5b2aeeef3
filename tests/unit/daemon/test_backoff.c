// SPDX-License-Identifier: GPL-2.0 OR MIT
/* agent/ctl.c: the reconnect backoff (bounds and jitter). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl.h"

static void test_bounds(void **st)
{
	(void)st;
	for (unsigned a = 0; a < 100; a++) {
		uint64_t cap = 500;

		for (unsigned i = 0; i < a && cap < 30000; i++)
			cap *= 2;
		if (cap > 30000)
			cap = 30000;
		for (uint32_t r = 0; r < 5000; r += 7) {
			uint64_t d = ctl_backoff_ms(a, 500, 30000, r * 2654435761u);

			assert_true(d >= cap / 2);
			assert_true(d <= cap);
		}
	}
	/* The cap wins even over a huge attempt count. */
	assert_true(ctl_backoff_ms(1000000, 500, 2000, 0xffffffffu) <= 2000);
	/* A cap below the base is the base. */
	assert_true(ctl_backoff_ms(0, 500, 100, 0) >= 250);
}

static void test_jitter(void **st)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)st;
	/* Different random inputs spread over the interval. */
	for (uint32_t r = 0; r < 1000; r++) {
		uint64_t d = ctl_backoff_ms(10, 500, 30000, r * 2654435761u);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < 16000);
	assert_true(hi > 28000);
	/* Growth: attempt 3's range is above attempt 0's. */
	assert_true(ctl_backoff_ms(3, 500, 30000, 0) > ctl_backoff_ms(0, 500, 30000, 0xffffffffu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
