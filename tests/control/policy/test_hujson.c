// SPDX-License-Identifier: MIT
/* HuJSON parser: comments, trailing commas, escapes, positions, errors. */
#include "helpers.h"
#include "hujson.h"

static void parse_or_fail(const char *s, struct hj_value *v)
{
	struct policy_error e = { 0 };

	if (hj_parse(s, strlen(s), v, &e) < 0)
		fail_msg("%d:%d: %s", e.line, e.col, e.msg);
}

static void hj_fails(const char *s, int line, int col, const char *what)
{
	struct policy_error e = { 0 };
	struct hj_value v;

	assert_int_equal(hj_parse(s, strlen(s), &v, &e), -1);
	if (e.line != line || e.col != col || !strstr(e.msg, what))
		fail_msg("got %d:%d: %s; expected %d:%d %s", e.line, e.col,
			 e.msg, line, col, what);
}

static void test_comments_trailing_commas(void **state)
{
	struct hj_value v;
	(void)state;

	parse_or_fail("// head\n{ /* a */ \"a\": [1, 2, /* x */ 3,], // c\n"
		      "  \"b\": {\"c\": true,},\n}\n// tail", &v);
	assert_int_equal(v.type, HJ_OBJECT);
	assert_int_equal(v.n_items, 2);
	assert_string_equal(v.items[0].key, "a");
	assert_int_equal(v.items[0].type, HJ_ARRAY);
	assert_int_equal(v.items[0].n_items, 3);
	assert_true(v.items[0].items[2].number == 3);
	assert_true(v.items[0].items[2].integer);
	assert_int_equal(v.items[1].items[0].type, HJ_BOOL);
	assert_true(v.items[1].items[0].boolean);
	hj_free(&v);
}

static void test_positions(void **state)
{
	struct hj_value v;
	(void)state;

	parse_or_fail("{\n  \"k\":  \"v\",\n\t\"n\": [null,\n    false]\n}", &v);
	assert_int_equal(v.line, 1);
	assert_int_equal(v.col, 1);
	assert_int_equal(v.items[0].key_line, 2);
	assert_int_equal(v.items[0].key_col, 3);
	assert_int_equal(v.items[0].line, 2);
	assert_int_equal(v.items[0].col, 9);
	assert_int_equal(v.items[1].key_line, 3);
	assert_int_equal(v.items[1].key_col, 2);
	assert_int_equal(v.items[1].items[0].type, HJ_NULL);
	assert_int_equal(v.items[1].items[0].col, 8);
	assert_int_equal(v.items[1].items[1].line, 4);
	assert_int_equal(v.items[1].items[1].col, 5);
	hj_free(&v);
}

static void test_strings(void **state)
{
	struct hj_value v;
	(void)state;

	parse_or_fail("[\"a\\\"b\\\\c\\/\\n\\t\", \"\\u00e9\\u20ac\", "
		      "\"\\ud83d\\ude00\", \"caf\xc3\xa9\"]", &v);
	assert_string_equal(v.items[0].str, "a\"b\\c/\n\t");
	assert_string_equal(v.items[1].str, "\xc3\xa9\xe2\x82\xac");
	assert_string_equal(v.items[2].str, "\xf0\x9f\x98\x80");
	assert_string_equal(v.items[3].str, "caf\xc3\xa9");
	hj_free(&v);
}

static void test_numbers(void **state)
{
	struct hj_value v;
	(void)state;

	parse_or_fail("[0, -12, 3.5, 1e3]", &v);
	assert_true(v.items[0].integer && v.items[0].number == 0);
	assert_true(v.items[1].integer && v.items[1].number == -12);
	assert_false(v.items[2].integer);
	assert_true(v.items[2].number == 3.5);
	assert_false(v.items[3].integer);
	assert_true(v.items[3].number == 1000);
	hj_free(&v);
}

static void test_errors(void **state)
{
	(void)state;
	hj_fails("", 1, 1, "unexpected end of input");
	hj_fails("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}'");
	hj_fails("{\"a\": 1,\n \"a\": 2}", 2, 2, "duplicate key \"a\"");
	hj_fails("[1, 2", 1, 1, "unterminated array");
	hj_fails("{\"a\": 1", 1, 1, "unterminated object");
	hj_fails("{\n  \"a\": \"xyz\n}", 2, 8, "unterminated string");
	hj_fails("{\n  \"a\": \"xy\nz\"}", 2, 11, "control character");
	hj_fails("\"abc", 1, 1, "unterminated string");
	hj_fails("[1] x", 1, 5, "unexpected data after the document");
	hj_fails("/* never closed", 1, 1, "unterminated comment");
	hj_fails("[tru]", 1, 2, "unexpected character 't'");
	hj_fails("[01]", 1, 3, "expected ',' or ']'");
	hj_fails("[-]", 1, 2, "bad number");
	hj_fails("[\"\\x\"]", 1, 3, "bad escape");
	hj_fails("[\"\\u12\"]", 1, 7, "bad \\u escape");
	hj_fails("[\"\\ud800\"]", 1, 3, "unpaired UTF-16 surrogate");
	hj_fails("[\"\\u0000\"]", 1, 3, "NUL character");
	hj_fails("{1: 2}", 1, 2, "expected a string key");
	hj_fails("{\"a\" 2}", 1, 6, "expected ':'");
	hj_fails("[1e999]", 1, 2, "out of range");
	hj_fails("[ / ]", 1, 3, "unexpected '/'");
}

static void test_depth_limit(void **state)
{
	char buf[200];
	(void)state;

	memset(buf, '[', 100);
	memset(buf + 100, ']', 99);
	buf[199] = '\0';
	hj_fails(buf, 1, 66, "nesting deeper than 64");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_trailing_commas),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
