// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg status/ip/whois' rendering (tools/statusfmt.c) over hand-written STATUS objects. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "statusfmt.h"

static const char *const STATUS =
	"{\"backend_state\":\"Running\",\"message\":\"\","
	" \"control\":{\"url\":\"http://10.9.0.1:8080\",\"connected\":true,\"last_error\":\"\"},"
	" \"interface\":\"meshwg0\",\"listen_port\":41641,"
	" \"self\":{\"id\":1,\"hostname\":\"a\",\"dns_name\":\"a.meshwg.internal.\","
	"  \"addresses\":[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"],\"user\":\"alice\",\"tags\":[],"
	"  \"key_expiry\":null,\"node_key\":\"nodekey:aa\"},"
	" \"peers\":["
	"  {\"id\":2,\"hostname\":\"b\",\"dns_name\":\"b.meshwg.internal\","
	"   \"addresses\":[\"100.64.0.2/32\",\"fd7a:115c:a1e0::2/128\"],\"user\":\"alice\",\"tags\":[],"
	"   \"online\":true,\"node_key\":\"nodekey:bb\",\"endpoint\":\"10.9.0.2:41641\","
	"   \"connection\":\"direct\",\"last_handshake\":1000,\"rx_bytes\":1536,\"tx_bytes\":5,"
	"   \"acl_drops\":3},"
	"  {\"id\":3,\"hostname\":\"c\",\"dns_name\":\"c.meshwg.internal\","
	"   \"addresses\":[\"100.64.0.3/32\"],\"user\":\"bob\",\"tags\":[\"tag:web\",\"tag:db\"],"
	"   \"online\":false,\"node_key\":\"nodekey:cc\",\"endpoint\":null,\"connection\":\"offline\","
	"   \"last_handshake\":0,\"rx_bytes\":0,\"tx_bytes\":0,\"acl_drops\":0},"
	"  {\"id\":4,\"hostname\":\"d\",\"dns_name\":\"d.meshwg.internal\","
	"   \"addresses\":[\"fd7a:115c:a1e0::4/128\"],\"user\":\"carol\",\"tags\":[],"
	"   \"online\":true,\"node_key\":\"nodekey:dd\",\"endpoint\":\"10.9.0.4:41641\","
	"   \"connection\":\"idle\",\"last_handshake\":400,\"rx_bytes\":5242880,\"tx_bytes\":1048576,"
	"   \"acl_drops\":0}],"
	" \"filter\":{\"installed\":true,\"version\":\"42\",\"drops\":7,\"rules\":["
	"  {\"action\":\"accept\",\"src\":[\"100.64.0.2/32\"],"
	"   \"dst\":[{\"prefix\":\"100.64.0.1/32\",\"first_port\":22,\"last_port\":22}],"
	"   \"protos\":[6],\"packets\":10,\"bytes\":2048},"
	"  {\"action\":\"accept\",\"src\":[\"*\"],"
	"   \"dst\":[{\"prefix\":\"100.64.0.0/10\",\"first_port\":0,\"last_port\":65535},"
	"            {\"prefix\":\"fd7a:115c:a1e0::/48\",\"first_port\":8000,\"last_port\":8080}],"
	"   \"protos\":\"*\",\"packets\":0,\"bytes\":0},"
	"  {\"action\":\"accept\",\"src\":[\"100.64.0.3/32\"],"
	"   \"dst\":[{\"prefix\":\"100.64.0.1/32\",\"first_port\":0,\"last_port\":65535}],"
	"   \"protos\":[],\"hits\":5,\"bytes\":0}]}}";

struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

static const char *out_text(struct out *o)
{
	fflush(o->f);
	return o->buf;
}

static void out_close(struct out *o)
{
	fclose(o->f);
	free(o->buf);
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

/* STATUS with one top-level field replaced (value as JSON text). */
static cJSON *status_with(const char *key, const char *value)
{
	cJSON *j = parse(STATUS);

	cJSON_ReplaceItemInObject(j, key, parse(value));
	return j;
}

static void test_bytes(void **state)
{
	char b[32];

	(void)state;
	sf_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	sf_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	sf_bytes(1024, b, sizeof(b));
	assert_string_equal(b, "1.0 KiB");
	sf_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5 KiB");
	sf_bytes(5ull << 20, b, sizeof(b));
	assert_string_equal(b, "5.0 MiB");
	sf_bytes(3ull << 40, b, sizeof(b));
	assert_string_equal(b, "3.0 TiB");
	sf_bytes(UINT64_MAX, b, sizeof(b));
	assert_string_equal(b, "16.0 EiB");
}

static void test_ago(void **state)
{
	char b[32];

	(void)state;
	sf_ago(1000, 0, b, sizeof(b));
	assert_string_equal(b, "-");
	sf_ago(1000, 988, b, sizeof(b));
	assert_string_equal(b, "12s ago");
	sf_ago(1000, 1000, b, sizeof(b));
	assert_string_equal(b, "0s ago");
	sf_ago(1000, 1000 - 300, b, sizeof(b));
	assert_string_equal(b, "5m ago");
	sf_ago(20000, 20000 - 3 * 3600 - 5, b, sizeof(b));
	assert_string_equal(b, "3h ago");
	sf_ago(200000, 200000 - 2 * 86400, b, sizeof(b));
	assert_string_equal(b, "2d ago");
	sf_ago(1000, 1005, b, sizeof(b));	/* clocks disagree */
	assert_string_equal(b, "just now");
}

static void test_status_table(void **state)
{
	const char *want =
		"100.64.0.1         a.meshwg.internal  alice           self (meshwg0, port 41641)\n"
		"100.64.0.2         b.meshwg.internal  alice           direct 10.9.0.2:41641  handshake 12s ago  rx 1.5 KiB  tx 5 B      acl-drops 3\n"
		"100.64.0.3         c.meshwg.internal  tag:web,tag:db  offline                handshake -        rx 0 B      tx 0 B      acl-drops 0\n"
		"fd7a:115c:a1e0::4  d.meshwg.internal  carol           idle                   handshake 10m ago  rx 5.0 MiB  tx 1.0 MiB  acl-drops 0\n"
		"\n"
		"Filter version 42: 3 rules, 7 packets dropped by default\n"
		"  1  accept 100.64.0.2/32 -> 100.64.0.1/32:22 proto tcp  hits 10 (2.0 KiB)\n"
		"  2  accept * -> 100.64.0.0/10,fd7a:115c:a1e0::/48:8000-8080 proto any  hits 0 (0 B)\n"
		"  3  accept 100.64.0.3/32 -> 100.64.0.1/32 proto tcp,udp,icmp,ipv6-icmp  hits 5 (0 B)\n";
	cJSON *st = parse(STATUS);
	struct out o;
	char err[128];

	(void)state;
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 1012, err, sizeof(err)), 0);
	assert_string_equal(out_text(&o), want);
	out_close(&o);
	cJSON_Delete(st);
}

static void test_status_no_filter_control_down(void **state)
{
	cJSON *st = status_with("filter", "null");
	struct out o;
	char err[128];

	(void)state;
	cJSON_ReplaceItemInObject(st, "control",
				  parse("{\"url\":\"http://ctl:8080\",\"connected\":false,"
					"\"last_error\":\"connection refused\"}"));
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 1012, err, sizeof(err)), 0);
	assert_null(strstr(out_text(&o), "Filter"));
	assert_non_null(strstr(out_text(&o),
			       "# not connected to the control server http://ctl:8080: connection "
			       "refused; the mesh keeps its last configuration\n"));
	assert_non_null(strstr(out_text(&o), "b.meshwg.internal"));
	out_close(&o);
	cJSON_Delete(st);

	/* A filter that is not installed has no section either. */
	st = status_with("filter", "{\"installed\":false,\"rules\":[]}");
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 1012, err, sizeof(err)), 0);
	assert_null(strstr(out_text(&o), "Filter"));
	out_close(&o);
	cJSON_Delete(st);
}

/* What meshwgd refused of the netmap ends the table, one line each. */
static void test_status_health(void **state)
{
	cJSON *st = parse(STATUS);
	struct out o;
	char err[128];

	(void)state;
	cJSON_AddItemToObject(st, "health",
			      parse("[\"peer 2 (b): route 0.0.0.0/1 refused: it is too wide\","
				    "\"the kernel refused netmap seq 7: Invalid argument\"]"));
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 1012, err, sizeof(err)), 0);
	assert_non_null(strstr(out_text(&o),
			       "# health: peer 2 (b): route 0.0.0.0/1 refused: it is too wide\n"
			       "# health: the kernel refused netmap seq 7: Invalid argument\n"));
	out_close(&o);
	cJSON_Delete(st);
}

static void expect_state(const char *state, const char *message, const char *want, bool table)
{
	cJSON *st = parse(STATUS);
	struct out o;
	char err[128], buf[256];

	cJSON_ReplaceItemInObject(st, "backend_state", cJSON_CreateString(state));
	cJSON_ReplaceItemInObject(st, "message", cJSON_CreateString(message));
	assert_non_null(sf_state_text(st, buf, sizeof(buf)));
	assert_string_equal(buf, want);
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 1012, err, sizeof(err)), 0);
	assert_true(!strncmp(out_text(&o), want, strlen(want)));
	assert_int_equal(strstr(out_text(&o), "self (meshwg0") != NULL, table);
	out_close(&o);
	cJSON_Delete(st);
}

static void test_states(void **state)
{
	cJSON *st = parse(STATUS);
	char buf[256];

	(void)state;
	assert_null(sf_state_text(st, buf, sizeof(buf)));
	cJSON_Delete(st);
	expect_state("NeedsLogin", "",
		     "Logged out. Log in with: meshwg up --login-server URL --auth-key KEY", false);
	expect_state("NoModule", "", "meshwg kernel module not loaded (run: modprobe meshwg)", false);
	expect_state("Stopped", "", "meshwg is stopped (run: meshwg up)", false);
	expect_state("NeedsApproval", "run: meshwg-control nodes approve 7", "run: meshwg-control nodes approve 7",
		     false);
	expect_state("NeedsApproval", "",
		     "Waiting for an administrator of the control server to approve this node.", false);
	expect_state("Starting", "fetching the netmap", "meshwg is starting: fetching the netmap", true);
	expect_state("Bogus", "", "meshwgd reports the unknown state \"Bogus\"", false);
}

static void test_status_malformed(void **state)
{
	cJSON *st = parse("{\"peers\":[]}");
	struct out o;
	char err[128];

	(void)state;
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "backend_state"));
	out_close(&o);
	cJSON_Delete(st);
	/* Peers with missing fields still print, with placeholders. */
	st = parse("{\"backend_state\":\"Running\",\"peers\":[{\"hostname\":\"x\"},5]}");
	out_open(&o);
	assert_int_equal(sf_status(o.f, st, 0, err, sizeof(err)), 0);
	assert_string_equal(out_text(&o), "-  x  -  -  handshake -  rx 0 B  tx 0 B  acl-drops 0\n");
	out_close(&o);
	cJSON_Delete(st);
}

static void expect_ip(const cJSON *st, int family, const char *who, int ret, const char *want)
{
	struct out o;
	char err[128] = "";

	out_open(&o);
	assert_int_equal(sf_ip(o.f, st, family, who, err, sizeof(err)), ret);
	assert_string_equal(ret ? err : out_text(&o), want);
	out_close(&o);
}

static void test_ip(void **state)
{
	cJSON *st = parse(STATUS);

	(void)state;
	expect_ip(st, 0, NULL, 0, "100.64.0.1\nfd7a:115c:a1e0::1\n");
	expect_ip(st, AF_INET, NULL, 0, "100.64.0.1\n");
	expect_ip(st, AF_INET6, NULL, 0, "fd7a:115c:a1e0::1\n");
	expect_ip(st, 0, "b", 0, "100.64.0.2\nfd7a:115c:a1e0::2\n");
	expect_ip(st, AF_INET6, "B.meshwg.internal.", 0, "fd7a:115c:a1e0::2\n");
	expect_ip(st, AF_INET, "fd7a:115c:a1e0:0:0::2", 0, "100.64.0.2\n");
	expect_ip(st, 0, "a.meshwg.internal", 0, "100.64.0.1\nfd7a:115c:a1e0::1\n");
	expect_ip(st, AF_INET6, "c", -ENOENT, "c has no IPv6 address");
	expect_ip(st, 0, "zed", -ENOENT, "no node named zed");
	expect_ip(st, 0, "100.64.0.9", -ENOENT, "no node named 100.64.0.9");
	cJSON_Delete(st);
	st = parse("{\"backend_state\":\"NeedsLogin\",\"self\":null,\"peers\":[]}");
	expect_ip(st, 0, NULL, -ENOENT,
		  "this node has no addresses yet: Logged out. Log in with: meshwg up "
		  "--login-server URL --auth-key KEY");
	cJSON_Delete(st);
}

static void test_whois(void **state)
{
	cJSON *st = parse(STATUS);
	struct out o;
	char err[128];

	(void)state;
	out_open(&o);
	assert_int_equal(sf_whois(o.f, st, "100.64.0.3", err, sizeof(err)), 0);
	assert_string_equal(out_text(&o),
			    "Machine:\n"
			    "  Name:       c.meshwg.internal\n"
			    "  Hostname:   c\n"
			    "  ID:         3\n"
			    "  Node key:   nodekey:cc\n"
			    "  Addresses:  100.64.0.3/32\n"
			    "  Online:     no\n"
			    "Tags:         tag:web,tag:db\n");
	out_close(&o);

	out_open(&o);
	assert_int_equal(sf_whois(o.f, st, "fd7a:115c:a1e0::0:1", err, sizeof(err)), 0);
	assert_non_null(strstr(out_text(&o), "  Name:       a.meshwg.internal (this node)\n"));
	assert_non_null(strstr(out_text(&o), "User:         alice\n"));
	assert_non_null(strstr(out_text(&o), "  Addresses:  100.64.0.1/32, fd7a:115c:a1e0::1/128\n"));
	assert_null(strstr(out_text(&o), "Online"));
	out_close(&o);

	out_open(&o);
	assert_int_equal(sf_whois(o.f, st, "100.64.0.9", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no node has IP 100.64.0.9");
	assert_int_equal(sf_whois(o.f, st, "b", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "`b' is not an IP address");
	assert_int_equal(sf_whois(o.f, st, "100.64.0.2/32", err, sizeof(err)), -EINVAL);
	assert_string_equal(out_text(&o), "");
	out_close(&o);
	cJSON_Delete(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_ago),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_status_no_filter_control_down),
		cmocka_unit_test(test_status_health),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_whois),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
