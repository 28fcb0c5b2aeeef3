// SPDX-License-Identifier: GPL-2.0 OR MIT
/* lib/escape.c: the one escaping of foreign text for terminals and logs. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "escape.h"

static void expect(const char *in, const char *want)
{
	char out[256];

	assert_int_equal(esc_text(out, sizeof(out), in), strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(esc_needed(in), strcmp(in, want) != 0);
}

static void test_text(void **state)
{
	(void)state;
	expect("plain b.meshwg.internal", "plain b.meshwg.internal");
	expect("", "");
	expect("evil\x1b]52;c;ZXZpbA==\x07", "evil\\x1b]52;c;ZXZpbA==\\x07");
	expect("a\nmeshwgd[1]: error: fake\r", "a\\x0ameshwgd[1]: error: fake\\x0d");
	expect("tab\there\x7f", "tab\\x09here\\x7f");
	/* UTF-8 is kept, C1 controls in UTF-8 are escaped, broken bytes too */
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xac", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xac");
	expect("x\xc2\x9b" "2Jy", "x\\u009b2Jy");
	expect("\x9b" "31m", "\\x9b31m");
	expect("\xc3", "\\xc3");
	expect("\xc0\xaf", "\\xc0\\xaf");	/* overlong */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");	/* a surrogate */
}

static void test_truncation(void **state)
{
	char out[8];

	(void)state;
	/* never half an escape or half a character */
	assert_int_equal(esc_text(out, sizeof(out), "abcde\x1b"), 5);
	assert_string_equal(out, "abcde");
	assert_int_equal(esc_text(out, sizeof(out), "abcdef\xc3\xa9"), 6);
	assert_string_equal(out, "abcdef");
	assert_int_equal(esc_text(out, 1, "abc"), 0);
	assert_string_equal(out, "");
}

static void test_json(void **state)
{
	cJSON *j = cJSON_Parse("{\"a\":\"x\\u001by\",\"b\":[\"ok\",{\"c\":\"\\n\"}],\"n\":5,"
			       "\"d\":\"\\u009b\"}");
	char *t;

	(void)state;
	assert_non_null(j);
	esc_json_strings(j);
	t = cJSON_PrintUnformatted(j);
	assert_string_equal(t, "{\"a\":\"x\\\\x1by\",\"b\":[\"ok\",{\"c\":\"\\\\x0a\"}],\"n\":5,"
			       "\"d\":\"\\\\u009b\"}");
	free(t);
	cJSON_Delete(j);
	esc_json_strings(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
