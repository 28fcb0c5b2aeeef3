// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * agent/kern.c without the module (the build machines cannot load it): the
 * error meshwgd shows when it is missing. Everything that needs meshwg.ko is
 * checked in the VM (kern_vm.sh).
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kern.h"

static void test_no_module(void **state)
{
	struct kern_config cfg = { .listen_port = 0 };
	struct kern *k = (struct kern *)&cfg;
	char err[256] = "";
	int ret;

	(void)state;
	ret = kern_open(&k, &cfg, NULL, err, sizeof(err));
	if (!ret) {
		kern_close(k);
		skip(); /* the module is loaded here: the VM tests cover this machine */
	}
	assert_int_equal(ret, -ENOENT);
	assert_null(k);
	assert_string_equal(err, "meshwg kernel module not loaded (run: modprobe meshwg)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_module),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
