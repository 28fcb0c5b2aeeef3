// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lib/http.c, the HTTP parts meshwgd's control connection and the blocking
 * client share: the request handle, the Date header, the capped body and
 * the splitting of a map stream into lines as it arrives in chunks.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static void test_handle(void **st)
{
	char base[MWG_HTTP_URL_MAX];
	char *url = NULL;
	CURL *h;

	(void)st;
	h = mwg_http_handle("http://127.0.0.1:8080", "/v1/key", sink, sink, NULL);
	assert_non_null(h);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
	assert_string_equal(url, "http://127.0.0.1:8080/v1/key");
	curl_easy_cleanup(h);

	/* A URL that does not fit is refused, never cut short. */
	memset(base, 'a', sizeof(base) - 7);
	memcpy(base, "http://", 7);
	base[sizeof(base) - 7] = '\0';	/* 505 + 7 = 512: one too many */
	h = mwg_http_handle(base, "/v1/key", sink, sink, NULL);
	assert_null(h);
	h = mwg_http_handle(base, "/v1/k", sink, sink, NULL);
	assert_non_null(h);
	curl_easy_cleanup(h);
}

static void test_date(void **st)
{
	static const char d[] = "Date: Thu, 03 Dec 2026 18:00:00 GMT\r\n";
	static const char lower[] = "date: Thu, 03 Dec 2026 18:00:00 GMT\r\n";
	static const char bad[] = "Date: yesterday\r\n";
	static const char other[] = "Content-Type: application/json\r\n";
	char longer[200];

	(void)st;
	assert_int_equal(mwg_http_date(d, strlen(d)), 1796320800);
	assert_int_equal(mwg_http_date(lower, strlen(lower)), 1796320800);
	/* only len bytes count: the line is not NUL-terminated */
	assert_int_equal(mwg_http_date(d, 5), -1);
	assert_int_equal(mwg_http_date(bad, strlen(bad)), 0);
	assert_int_equal(mwg_http_date(other, strlen(other)), -1);
	assert_int_equal(mwg_http_date("\r\n", 2), -1);
	memset(longer, ' ', sizeof(longer));
	memcpy(longer, "Date:", 5);
	assert_int_equal(mwg_http_date(longer, sizeof(longer)), -1);
}

static void test_append_cap(void **st)
{
	struct mwg_buf b = { 0 };

	(void)st;
	assert_int_equal(mwg_http_append(&b, 8, "abcd", 4), 0);
	assert_int_equal(mwg_http_append(&b, 8, "efgh", 4), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(mwg_http_append(&b, 8, "i", 1), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "abcdefgh");
	mwg_buf_free(&b);
}

static void test_lines(void **st)
{
	struct mwg_buf b = { 0 };
	size_t scanned = 0, len = 99;
	char *line;

	(void)st;
	/* a line in three chunks: nothing until its '\n' */
	assert_int_equal(mwg_http_append(&b, 1 << 20, "{\"a\"", 4), 0);
	assert_null(mwg_http_line(&b, &scanned, &len));
	assert_int_equal(scanned, 4);
	assert_int_equal(mwg_http_append(&b, 1 << 20, ":1}", 3), 0);
	assert_null(mwg_http_line(&b, &scanned, &len));
	assert_int_equal(scanned, 7);
	assert_int_equal(mwg_http_append(&b, 1 << 20, "\n\n{\"b\":2}\n{\"c", 13), 0);
	line = mwg_http_line(&b, &scanned, &len);
	assert_non_null(line);
	assert_int_equal(len, 7);
	assert_string_equal(line, "{\"a\":1}");
	mwg_http_line_drop(&b, &scanned, len);
	assert_int_equal(scanned, 0);
	/* an empty line is a line of length 0 */
	line = mwg_http_line(&b, &scanned, &len);
	assert_non_null(line);
	assert_int_equal(len, 0);
	assert_string_equal(line, "");
	mwg_http_line_drop(&b, &scanned, len);
	line = mwg_http_line(&b, &scanned, &len);
	assert_non_null(line);
	assert_string_equal(line, "{\"b\":2}");
	mwg_http_line_drop(&b, &scanned, len);
	/* the rest waits for its end */
	assert_null(mwg_http_line(&b, &scanned, &len));
	assert_int_equal(scanned, 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "{\"c", 4);
	assert_int_equal(mwg_http_append(&b, 1 << 20, "\":3}\n", 5), 0);
	line = mwg_http_line(&b, &scanned, &len);
	assert_non_null(line);
	assert_string_equal(line, "{\"c\":3}");
	mwg_http_line_drop(&b, &scanned, len);
	assert_int_equal(b.len, 0);
	assert_null(mwg_http_line(&b, &scanned, &len));
	assert_int_equal(scanned, 0);
	mwg_buf_free(&b);

	/* an empty buffer has no line */
	scanned = 0;
	assert_null(mwg_http_line(&b, &scanned, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handle),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_append_cap),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
