// SPDX-License-Identifier: MIT
/* Configuration parsing: defaults, every field, errors with positions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"

static void test_defaults(void **state)
{
	struct mwg_config c;
	struct mwg_err e = { 0 };
	char buf[64];

	(void)state;
	assert_int_equal(mwg_config_parse(&c, "{}", "t.json", &e), 0);
	assert_string_equal(c.listen_addr, "127.0.0.1");
	assert_int_equal(c.listen_port, 8080);
	kprefix_format(&c.v4, buf, sizeof(buf));
	assert_string_equal(buf, "100.64.0.0/10");
	kprefix_format(&c.v6, buf, sizeof(buf));
	assert_string_equal(buf, "fd7a:115c:a1e0::/48");
	assert_int_equal(c.node_key_expiry, 180 * 86400);
	assert_int_equal(c.db_type, MWG_DB_SQLITE);
	assert_non_null(c.derp_map);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c.derp_map, "regions")), 1);
	mwg_config_free(&c);
}

static void test_full(void **state)
{
	struct mwg_config c;
	struct mwg_err e = { 0 };
	const char *text =
		"{\"listen\": \"[::1]:9443\", \"server_url\": \"https://ctl.example\",\n"
		" \"tls_cert\": \"/c.pem\", \"tls_key\": \"/k.pem\",\n"
		" \"base_domain\": \"ts.example\", \"nameservers\": [\"9.9.9.9\"],\n"
		" \"prefix_v4\": \"100.80.0.0/16\", \"prefix_v6\": \"fd00:1::/64\",\n"
		" \"database\": {\"type\": \"postgres\", \"dsn\": \"host=/tmp dbname=x\"},\n"
		" \"policy_file\": \"/etc/p.hujson\", \"node_key_expiry\": \"90d\",\n"
		" \"ephemeral_inactivity_timeout\": \"5m\", \"keepalive_interval\": 10,\n"
		" \"derp_map\": {\"regions\": [{\"id\": 1, \"code\": \"x\", \"nodes\": [{\"host\": \"d.example\", \"stun_port\": 3478}]}]},\n"
		" \"threads\": 8, \"max_connections\": 30000}";

	(void)state;
	assert_int_equal(mwg_config_parse(&c, text, "t.json", &e), 0);
	assert_string_equal(c.listen_addr, "::1");
	assert_int_equal(c.listen_port, 9443);
	assert_int_equal(c.db_type, MWG_DB_POSTGRES);
	assert_string_equal(c.db_dsn, "host=/tmp dbname=x");
	assert_int_equal(c.node_key_expiry, 90 * 86400);
	assert_int_equal(c.ephemeral_timeout, 300);
	assert_int_equal(c.keepalive_interval, 10);
	assert_int_equal(c.v4.cidr, 16);
	assert_int_equal(c.threads, 8);
	assert_string_equal(cJSON_GetArrayItem(c.nameservers, 0)->valuestring, "9.9.9.9");
	mwg_config_free(&c);
}

static void expect_error(const char *text, const char *needle)
{
	struct mwg_config c;
	struct mwg_err e = { 0 };

	assert_int_equal(mwg_config_parse(&c, text, "t.json", &e), -1);
	if (!strstr(e.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", e.msg, needle);
	assert_int_equal(e.status, 400);
	/* on error the config holds plain defaults */
	assert_int_equal(c.listen_port, 8080);
	mwg_config_free(&c);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\n  \"listen\": \"127.0.0.1:80\",\n  oops\n}", "t.json:3:");
	expect_error("{\"listen\": 5}", "listen");
	expect_error("{\"lisen\": \"127.0.0.1:80\"}", "unknown key \"lisen\"");
	expect_error("{\"listen\": \"127.0.0.1:99999\"}", "bad port");
	expect_error("{\"listen\": \"0.0.0.0:80\"}", "plain HTTP only on loopback");
	expect_error("{\"tls_cert\": \"/c\"}", "go together");
	expect_error("{\"prefix_v4\": \"fd00::/64\"}", "prefix_v4");
	expect_error("{\"prefix_v4\": \"100.64.0.0/31\"}", "too small");
	expect_error("{\"database\": {\"type\": \"postgres\"}}", "dsn");
	expect_error("{\"database\": {\"type\": \"mysql\"}}", "database.type");
	expect_error("{\"node_key_expiry\": \"forever\"}", "duration");
	/* bounded: 1e30 seconds is no int64_t (undefined conversion before) */
	expect_error("{\"node_key_expiry\": 1e30}", "at most 100 years");
	expect_error("{\"node_key_expiry\": \"36501d\"}", "at most 100 years");
	expect_error("{\"max_pending\": -1}", "max_pending");
	expect_error("{\"request_timeout\": 0}", "request_timeout");
	expect_error("{\"derp_map\": {\"regions\": [{\"id\": 0, \"nodes\": []}]}}", "derp_map");
	expect_error("{\"derp_map\": {\"regions\": [{\"id\": 1, \"nodes\": [{}]}]}}", "host");
	expect_error("{\"threads\": 0}", "threads");
	expect_error("[]", "object");
	expect_error("", "malformed");
}

static void test_insecure_ok(void **state)
{
	struct mwg_config c;
	struct mwg_err e = { 0 };

	(void)state;
	assert_int_equal(mwg_config_parse(&c, "{\"listen\": \"0.0.0.0:80\", \"insecure_http\": true}",
					  "t.json", &e), 0);
	mwg_config_free(&c);
	assert_int_equal(mwg_config_parse(&c, "{\"node_key_expiry\": 0}", "t.json", &e), 0);
	assert_int_equal(c.node_key_expiry, 0);
	mwg_config_free(&c);
}

static void test_duration(void **state)
{
	(void)state;
	assert_int_equal(mwg_duration_parse("90"), 90);
	assert_int_equal(mwg_duration_parse("90s"), 90);
	assert_int_equal(mwg_duration_parse("2m"), 120);
	assert_int_equal(mwg_duration_parse("3h"), 10800);
	assert_int_equal(mwg_duration_parse("180d"), 180 * 86400);
	assert_int_equal(mwg_duration_parse("-1s"), -1);
	assert_int_equal(mwg_duration_parse("1w"), -1);
	assert_int_equal(mwg_duration_parse("36500d"), 36500LL * 86400);
	assert_int_equal(mwg_duration_parse("36501d"), -1);
	assert_int_equal(mwg_duration_parse("3153600001"), -1);
	assert_int_equal(mwg_duration_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_insecure_ok),
		cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
