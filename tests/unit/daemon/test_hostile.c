// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd (agent/daemon*.c, ctl.c, state.c, netmap_check.c) against a
 * HOSTILE control server (hostile.h) that speaks the real protocol: node
 * addresses with wide prefixes, allowed IPs of 0.0.0.0/0, /1 splits,
 * routes over the server and over peers' endpoints, escape sequences in
 * names, a netmap the kernel refuses. The agent refuses what it must,
 * reports it in `status`, keeps the rest and the last good state. The
 * kernel and the API socket are the test doubles of fakes.c. Waits are
 * bounded by a hang guard, never timed assertions.
 */

#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon_int.h"
#include "../../../control/client/mwgc_client.h"
#define DRIVE_GUARD_MS 30000
#include "drive.h"
#include "hostile.h"
#include "log.h"
#include "state.h"

static struct daemon *D;
static struct daemon_config dcfg;
static char tmp[64], state_dir[128], url[64];

static cJSON *status(void)
{
	struct api_req r;
	cJSON *s;

	request(&r, "{\"cmd\":\"status\"}");
	s = cJSON_DetachItemFromObject(r.final, "status");
	fake_api_req_free(&r);
	assert_non_null(s);
	return s;
}

static const char *sget(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, name)) ?: "";
}

/* The strings of arr joined by ",". */
static const char *joined(const cJSON *arr)
{
	static char buf[2048];
	const cJSON *a;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(a, arr)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
				      cJSON_GetStringValue(a));
	return buf;
}

static bool health_has(const char *needle)
{
	cJSON *s = status();
	bool found = strstr(joined(cJSON_GetObjectItem(s, "health")), needle) != NULL;

	cJSON_Delete(s);
	return found;
}

static const cJSON *applied_peer(int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(fk.applied, "peers"), i);
}

static int setup(void **st)
{
	char err[600];

	(void)st;
	snprintf(tmp, sizeof(tmp), "/tmp/mwgd-hostile-XXXXXX");
	if (!mkdtemp(tmp) || hs_start() || loop_init(&L) ||
	    loop_timer_init(&L, &guard, on_guard, NULL) || loop_timer_init(&L, &tick, on_tick, NULL))
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", hs.port);
	fake_api_on_final = quit_loop;
	memset(&fk, 0, sizeof(fk));
	daemon_config_defaults(&dcfg);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(dcfg.state_dir, sizeof(dcfg.state_dir), "%s", state_dir);
	snprintf(dcfg.socket_path, sizeof(dcfg.socket_path), "%s/sock", tmp);
	dcfg.backoff_max_ms = 300;
	dcfg.save_delay_ms = 20;
	return daemon_start(&D, &L, &dcfg, err, sizeof(err)) ? -1 : 0;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	daemon_stop(D);
	D = NULL;
	mwgc_clock_ns = mwg_now_ns;
	hs_stop();
	loop_timer_destroy(&tick);
	loop_timer_destroy(&guard);
	loop_destroy(&L);
	cJSON_Delete(fk.applied);
	fk.applied = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

/* `up` with --accept-routes; reply in r (maybe later). */
static void start_up(struct api_req *r)
{
	char req[300];

	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"login_server\":\"%s\",\"hostname\":\"alpha\","
		 "\"auth_key\":\"mwgkey-test\",\"accept_routes\":true}", url);
	fake_api_request(r, req);
	cur = r;
}

#define SELF_OK "{\"id\":1,\"hostname\":\"alpha\",\"node_key\":\"nodekey:00\"," \
	"\"addresses\":[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"]}"
#define PEER(id, extra) "{\"id\":" #id ",\"hostname\":\"p" #id "\",\"node_key\":\"nodekey:" \
	"00000000000000000000000000000000000000000000000000000000000000" #id "0\"," \
	"\"addresses\":[\"100.64.0." #id "/32\"],\"endpoints\":[\"198.51.100." #id ":41641\"]" extra "}"

static void up_running(void)
{
	struct api_req r;

	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":" SELF_OK ",\"peers\":[" PEER(2, "") "],"
		"\"packet_filter\":null}");
	start_up(&r);
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
}

static bool saved_netmap_has(const char *needle)
{
	cJSON *nm = NULL;
	char err[300], *t;
	bool found;

	assert_int_equal(state_load_netmap(state_dir, &nm, err, sizeof(err)), 0);
	t = cJSON_PrintUnformatted(nm);
	found = strstr(t, needle) != NULL;
	free(t);
	cJSON_Delete(nm);
	return found;
}

static bool applied_peer3(void)
{
	return !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(applied_peer(0), "hostname")) ?: "",
		       "p3");
}

static bool applied_two_peers(void)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(fk.applied, "peers")) == 2;
}

/* A FULL that would hijack routing: refused parts, the rest is programmed. */
static void test_hijack_refused(void **st)
{
	struct api_req r;
	cJSON *s;

	(void)st;
	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":{\"id\":1,\"hostname\":\"alpha\","
		"\"addresses\":[\"100.64.0.1/32\",\"200.1.2.3/1\",\"192.168.1.77/24\"]},"
		"\"peers\":[" PEER(2, ",\"allowed_ips\":[\"0.0.0.0/0\",\"::/0\"],\"exit_node\":true,"
				  "\"routes\":[\"0.0.0.0/0\",\"0.0.0.0/1\",\"128.0.0.0/1\",\"127.0.0.0/8\","
				  "\"198.51.100.0/24\",\"100.64.0.0/16\",\"10.20.0.0/16\"]") "],"
		"\"packet_filter\":null}");
	start_up(&r);
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);

	assert_string_equal(joined(cJSON_GetObjectItem(cJSON_GetObjectItem(fk.applied, "self"),
						       "addresses")), "100.64.0.1/32");
	assert_string_equal(joined(cJSON_GetObjectItem(applied_peer(0), "allowed_ips")),
			    "100.64.0.2/32,10.20.0.0/16");
	assert_string_equal(joined(cJSON_GetObjectItem(applied_peer(0), "routes")), "10.20.0.0/16");
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Running");
	cJSON_Delete(s);
	assert_true(health_has("self: address 200.1.2.3/1 refused"));
	assert_true(health_has("self: address 192.168.1.77/24 refused"));
	assert_true(health_has("route 0.0.0.0/1 refused: it is too wide"));
	assert_true(health_has("route 128.0.0.0/1 refused: it is too wide"));
	assert_true(health_has("route 127.0.0.0/8 refused"));
	assert_true(health_has("route 198.51.100.0/24 refused: it covers"));
	assert_true(health_has("route 100.64.0.0/16 refused: it overlaps the tailnet"));

	/* A delta: a new peer whose route covers peer 2's endpoint. */
	hs_send("{\"type\":\"delta\",\"seq\":2,\"peers_added\":[" PEER(3, ",\"routes\":[\"198.51.0.0/16\","
		"\"10.30.0.0/16\"],\"allowed_ips\":[\"0.0.0.0/0\"]") "]}");
	wait_for(applied_two_peers);
	assert_string_equal(joined(cJSON_GetObjectItem(applied_peer(1), "allowed_ips")),
			    "100.64.0.3/32,10.30.0.0/16");
	assert_true(health_has("peer 3 (p3): route 198.51.0.0/16 refused"));
	/* what was refused earlier is still reported until the next FULL */
	assert_true(health_has("200.1.2.3/1"));
	/* the saved netmap is the checked one */
	daemon_save_netmap_now(D);
	assert_false(saved_netmap_has("200.1.2.3"));
	assert_false(saved_netmap_has("0.0.0.0/1"));
	assert_true(saved_netmap_has("10.30.0.0/16"));
}

static bool refused_once(void)
{
	return fk.refusals >= 1;
}

static bool refused_twice(void)
{
	return fk.refusals >= 2;
}

/* A netmap the kernel refuses: not Running, reported, not saved, retried. */
static void test_kernel_refusal(void **st)
{
	cJSON *s;

	(void)st;
	up_running();
	daemon_save_netmap_now(D);
	assert_true(saved_netmap_has("p2"));
	fk.apply_fail = -EINVAL;
	hs_send("{\"type\":\"delta\",\"seq\":2,\"peers_added\":[" PEER(3, "") "]}");
	wait_for(refused_once);
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Starting");
	assert_non_null(strstr(sget(s, "message"), "the kernel refused netmap seq 2"));
	cJSON_Delete(s);
	assert_true(health_has("the kernel refused netmap seq 2"));
	wait_for(refused_twice);	/* retried */
	daemon_save_netmap_now(D);
	assert_false(saved_netmap_has("p3"));	/* the last good one stays on disk */
	fk.apply_fail = 0;
	wait_for(applied_two_peers);
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Running");
	assert_string_equal(joined(cJSON_GetObjectItem(s, "health")), "");
	cJSON_Delete(s);
	daemon_save_netmap_now(D);
	assert_true(saved_netmap_has("p3"));
}

/* The first netmap refused by the kernel: `up` does not say Running. */
static void test_kernel_refusal_first(void **st)
{
	struct api_req r;

	(void)st;
	fk.apply_fail = -EINVAL;
	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	start_up(&r);
	wait_for(refused_once);
	assert_false(r.done);
	assert_true(health_has("the kernel refused netmap seq 1"));
	fk.apply_fail = 0;
	cur = &r;
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_string_equal(sget(cJSON_GetObjectItem(r.final, "status"), "backend_state"), "Running");
	fake_api_req_free(&r);
}

static unsigned storm_base;
static bool refused_more(void)
{
	return hs_get(&hs.map_requests) >= storm_base + 4;
}

static bool running_again(void)
{
	cJSON *s = status();
	bool r = !strcmp(sget(s, "backend_state"), "Running");

	cJSON_Delete(s);
	return r;
}

/* 401/403 storms that do not mean "logged out" (a clock step, a proxy's
 * 403): the node retries with backoff and keeps its mesh. */
static void test_transient_refusals(void **st)
{
	cJSON *s;

	(void)st;
	up_running();
	storm_base = hs_get(&hs.map_requests);
	hs_refuse_map(401, "stale or future timestamp in nonce (check the clock)");
	hs_end_stream();
	wait_for(refused_more);
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Starting");
	assert_non_null(strstr(sget(cJSON_GetObjectItem(s, "control"), "last_error"), "timestamp"));
	cJSON_Delete(s);
	assert_int_equal(fk.downs, 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fk.applied, "peers")), 1);
	storm_base = hs_get(&hs.map_requests);
	hs_refuse_map(403, "<html>Forbidden by proxy</html>");
	wait_for(refused_more);
	hs_refuse_map(0, NULL);
	hs_send("{\"type\":\"full\",\"seq\":5,\"self\":" SELF_OK ",\"peers\":[" PEER(2, "") "],"
		"\"packet_filter\":null}");
	wait_for(running_again);
}

static bool needs_login(void)
{
	cJSON *s = status();
	bool r = !strcmp(sget(s, "backend_state"), "NeedsLogin");

	cJSON_Delete(s);
	return r;
}

/* The server says the key is gone: NeedsLogin, no retry. */
static void test_final_refusal(void **st)
{
	cJSON *s;

	(void)st;
	up_running();
	hs_refuse_map(403, "node key expired; re-register");
	hs_end_stream();
	wait_for(needs_login);
	assert_false(loop_timer_armed(&D->reconnect_timer));
	s = status();
	assert_non_null(strstr(sget(s, "message"), "node key expired; re-register; log in again with: "
				"meshwg up --auth-key KEY"));
	cJSON_Delete(s);
}

static const char *saved_server(void)
{
	static struct prefs p;
	char err[300];

	prefs_free(&p);
	prefs_init(&p);
	assert_int_equal(state_load_prefs(state_dir, &p, err, sizeof(err)), 0);
	return p.login_server;
}

static unsigned switch_base;
static bool new_stream(void)
{
	return hs_get(&hs.stream_gen) > switch_base;
}

/* `up --login-server` with a typo: nothing changes until a registration
 * with the new server succeeded; then the node switches. */
static void test_login_server_switch(void **st)
{
	struct api_req r;
	char req[300], other[80];
	cJSON *s;

	(void)st;
	up_running();
	request(&r, "{\"cmd\":\"up\",\"login_server\":\"http://127.0.0.1:1\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(strstr(sget(r.final, "error"), "nothing changed"));
	fake_api_req_free(&r);
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Running");
	assert_string_equal(sget(cJSON_GetObjectItem(s, "control"), "url"), url);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "control"), "connected")));
	cJSON_Delete(s);
	assert_string_equal(saved_server(), url);
	assert_int_equal(hs_get(&hs.streams_open), 1);

	/* The same (hostile) server under another address: the switch happens. */
	snprintf(other, sizeof(other), "http://127.0.0.2:%u", hs.port);
	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"login_server\":\"%s\"}", other);
	switch_base = hs_get(&hs.stream_gen);
	fake_api_request(&r, req);
	cur = &r;
	wait_for(new_stream);
	hs_send("{\"type\":\"full\",\"seq\":9,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_string_equal(saved_server(), other);
	s = status();
	assert_string_equal(sget(cJSON_GetObjectItem(s, "control"), "url"), other);
	cJSON_Delete(s);
	saved_server();
}

static bool key_file(const char *name, uint8_t key[32])
{
	char err[300];

	return state_load_key(state_dir, name, key, err, sizeof(err)) == 0;
}

static void nodekey_text(char *out, size_t len, const uint8_t priv[32])
{
	uint8_t pub[32];
	char hex[65];

	crypto_scalarmult_base(pub, priv);
	sodium_bin2hex(hex, sizeof(hex), pub, 32);
	snprintf(out, len, "nodekey:%s", hex);
}

static unsigned gen_base;
static bool stream_reopened(void)
{
	return hs_get(&hs.stream_gen) > gen_base;
}

/* The server applies a rotation but its reply is lost (a gateway's 502):
 * the new key stays pending on disk, and the next map answer ("node key
 * does not match") makes it current. */
static void test_rotation_reply_lost(void **st)
{
	struct api_req r;
	uint8_t old[32], new[32], k[32];

	(void)st;
	hs.check_keys = true;
	up_running();
	assert_true(key_file("node.key", old));
	hs.rotate_reply = 502;
	request(&r, "{\"cmd\":\"rotate-key\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_true(key_file("node.key.new", new));	/* written before the server knew it */
	assert_true(key_file("node.key", k));
	assert_memory_equal(k, old, 32);
	gen_base = hs_get(&hs.stream_gen);
	hs_end_stream();
	wait_for(stream_reopened);
	hs_send("{\"type\":\"full\",\"seq\":3,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	wait_for(running_again);
	assert_true(key_file("node.key", k));
	assert_memory_equal(k, new, 32);
	assert_memory_equal(fk.private_key, new, 32);
	assert_false(key_file("node.key.new", k));
}

/* meshwgd died between the rotation and writing node.key: at start,
 * node.key.new is there, and the server tells which key it has. */
static void restart_with_pending(bool server_has_new)
{
	uint8_t old[32], pending[32], k[32];
	char err[600];

	hs.check_keys = true;
	up_running();
	assert_true(key_file("node.key", old));
	daemon_stop(D);
	D = NULL;
	randombytes_buf(pending, 32);
	assert_int_equal(state_save_key(state_dir, "node.key.new", pending, err, sizeof(err)), 0);
	if (server_has_new) {
		pthread_mutex_lock(&hs.lock);
		nodekey_text(hs.node_key, sizeof(hs.node_key), pending);
		pthread_mutex_unlock(&hs.lock);
	}
	gen_base = hs_get(&hs.stream_gen);
	assert_int_equal(daemon_start(&D, &L, &dcfg, err, sizeof(err)), 0);
	wait_for(stream_reopened);
	hs_send("{\"type\":\"full\",\"seq\":3,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	wait_for(running_again);
	assert_true(key_file("node.key", k));
	assert_memory_equal(k, server_has_new ? pending : old, 32);
	assert_false(key_file("node.key.new", k));
}

static void test_rotation_crash_server_has_new(void **st)
{
	(void)st;
	restart_with_pending(true);
}

static void test_rotation_crash_server_has_old(void **st)
{
	(void)st;
	restart_with_pending(false);
}

static unsigned maps_base;
static bool map_requested_again(void)
{
	return hs_get(&hs.map_requests) > maps_base;
}

/* A map-stream line over CTL_MAX_LINE ends the stream: it is not parsed
 * (cJSON would need tens of times its size), the last netmap stays, and
 * the stream reconnects. */
static void test_oversized_line(void **st)
{
	size_t n = CTL_MAX_LINE;
	char *pad = malloc(n + 1);

	(void)st;
	assert_non_null(pad);
	memset(pad, 'x', n);
	pad[n] = '\0';
	up_running();
	maps_base = hs_get(&hs.map_requests);
	hs_send("{\"type\":\"full\",\"seq\":2,\"self\":" SELF_OK ",\"peers\":[" PEER(9, "") "],"
		"\"packet_filter\":null,\"pad\":\"%s\"}", pad);
	free(pad);
	wait_for(map_requested_again);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fk.applied, "peers")), 1);
	assert_string_equal(sget(applied_peer(0), "hostname"), "p2");
	hs_send("{\"type\":\"full\",\"seq\":3,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	wait_for(running_again);
}

/* The big FULL was dealt with: refused (health says so) or, wrongly, applied. */
static bool big_full_handled(void)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(fk.applied, "peers")) != 1 ||
	       health_has("100000 peers, more than the limit of 65536");
}

/* A FULL of 100,000 peers (within the line limit: small peers) is refused
 * as a whole: reported in health, the last netmap stays programmed. */
static void test_too_many_peers(void **st)
{
	size_t n = 100000, cap = n * 160 + 256, len = 0;
	char *line = malloc(cap);
	cJSON *s;

	(void)st;
	assert_non_null(line);
	up_running();
	len += (size_t)snprintf(line + len, cap - len,
				"{\"type\":\"full\",\"seq\":2,\"self\":" SELF_OK ",\"peers\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, cap - len,
					"%s{\"id\":%zu,\"node_key\":\"nodekey:%064zx\","
					"\"addresses\":[\"100.%zu.%zu.%zu/32\"]}", i ? "," : "", i + 10,
					i + 10, 64 + (i >> 16), (i >> 8) & 255, i & 255);
	snprintf(line + len, cap - len, "],\"packet_filter\":null}");
	hs_send("%s", line);
	free(line);
	wait_for(big_full_handled);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fk.applied, "peers")), 1);
	assert_string_equal(sget(applied_peer(0), "hostname"), "p2");
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Running");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "peers")), 1);
	cJSON_Delete(s);
	daemon_save_netmap_now(D);
	assert_false(saved_netmap_has("nodekey:00000000000000000000000000000000000000000000000000000000000186a9"));
	/* a FULL within the limit is taken again */
	hs_send("{\"type\":\"full\",\"seq\":3,\"self\":" SELF_OK ",\"peers\":[" PEER(3, "") "],"
		"\"packet_filter\":null}");
	wait_for(applied_peer3);
	assert_false(health_has("limit"));
}

/* The delta was dealt with: its peer is in the netmap with 100 endpoints
 * or fewer. */
static bool long_delta_handled(void)
{
	const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(D->netmap, "peers"), 0);

	return cJSON_GetArraySize(cJSON_GetObjectItem(p, "endpoints")) != 1;
}

/* Overlong names and lists from the server: removed or cut, reported,
 * the peer is still programmed. */
static void test_overlong_strings(void **st)
{
	char name[300], eps[64 * 100], *p = eps;
	cJSON *peer;

	(void)st;
	up_running();
	memset(name, 'h', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s\"203.0.113.%d:41641\"", i ? "," : "", i + 1);
	hs_send("{\"type\":\"delta\",\"seq\":2,\"peers_changed\":[{\"id\":2,\"hostname\":\"%s\","
		"\"node_key\":\"nodekey:0000000000000000000000000000000000000000000000000000000000000020\","
		"\"addresses\":[\"100.64.0.2/32\"],\"endpoints\":[%s],\"user\":\"%s\"}]}",
		name, eps, name);
	wait_for(long_delta_handled);
	assert_true(health_has("hostname refused: too long"));
	assert_true(health_has("100 endpoints, more than 64: the rest ignored"));
	assert_true(health_has("user refused: too long"));
	peer = cJSON_GetArrayItem(cJSON_GetObjectItem(D->netmap, "peers"), 0);
	assert_null(cJSON_GetObjectItem(peer, "hostname"));
	assert_null(cJSON_GetObjectItem(peer, "user"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(peer, "endpoints")), 64);
	assert_string_equal(joined(cJSON_GetObjectItem(peer, "allowed_ips")), "100.64.0.2/32");
}

/* Two HA routers announce one route: the lower node id gets it in the
 * kernel, the other's claim is reported in health. */
static void test_overlapping_routes(void **st)
{
	struct api_req r;

	(void)st;
	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":" SELF_OK ",\"peers\":["
		PEER(3, ",\"routes\":[\"10.20.0.0/16\",\"10.30.0.0/16\"]") ","
		PEER(2, ",\"routes\":[\"10.20.0.0/16\"]") "],\"packet_filter\":null}");
	start_up(&r);
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_string_equal(joined(cJSON_GetObjectItem(applied_peer(0), "allowed_ips")),
			    "100.64.0.3/32,10.30.0.0/16");
	assert_string_equal(joined(cJSON_GetObjectItem(applied_peer(1), "allowed_ips")),
			    "100.64.0.2/32,10.20.0.0/16");
	assert_true(health_has("peer 3 (p3): 10.20.0.0/16 not used: peer 2 (p2) has it too"));
}

static int64_t clock_skew_ns;

static uint64_t skewed_clock(void)
{
	return mwg_now_ns() + (uint64_t)clock_skew_ns;
}

static unsigned refusals_base;
static bool clock_refused_again(void)
{
	return hs_get(&hs.time_refusals) > refusals_base;
}

/*
 * A node whose clock is skew_s off the server's (booted without NTP): the
 * server refuses its nonces; meshwgd takes the time from the reply's Date
 * and registers, streams and runs. Then its clock steps an hour ahead:
 * the reconnect is refused once, re-synced, and runs again. (A step back
 * is not refused at once: nonce times never go back, they wait at the last
 * one until the server finds them stale, and then the same happens.)
 */
static void clock_off(int64_t skew_s)
{
	struct api_req r;
	char err[600];

	daemon_stop(D);
	D = NULL;
	clock_skew_ns = skew_s * 1000000000LL;
	mwgc_clock_ns = skewed_clock;	/* the clock meshwgd's ctl reads */
	hs.check_time = true;
	assert_int_equal(daemon_start(&D, &L, &dcfg, err, sizeof(err)), 0);
	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":" SELF_OK ",\"peers\":[" PEER(2, "") "],"
		"\"packet_filter\":null}");
	start_up(&r);
	wait_for(cur_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_true(hs_get(&hs.time_refusals) >= 1);
	assert_true(running_again());

	refusals_base = hs_get(&hs.time_refusals);
	clock_skew_ns += 3600 * 1000000000LL;
	hs_end_stream();
	wait_for(clock_refused_again);
	hs_send("{\"type\":\"full\",\"seq\":2,\"self\":" SELF_OK ",\"peers\":[" PEER(3, "") "],"
		"\"packet_filter\":null}");
	wait_for(applied_peer3);
	assert_true(running_again());
	mwgc_clock_ns = mwg_now_ns;
}

static void test_clock_behind(void **st)
{
	(void)st;
	clock_off(-2 * 86400);
}

static void test_clock_ahead(void **st)
{
	(void)st;
	clock_off(3 * 3600);
}

/* The "tags" of the registration an `up` (with an auth key) sends. */
static const char *tags_sent(const char *tags_member)
{
	struct api_req r;
	char req[400];

	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"login_server\":\"%s\",\"auth_key\":\"k\"%s}",
		 url, tags_member);
	request(&r, req);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	return hs.register_tags;
}

/* `up --advertise-tags=` (an empty list) with an auth key sends "tags": []
 * (the node becomes personal again); an `up` that does not name tags sends
 * none (the server keeps them). */
static void test_empty_tags_sent(void **st)
{
	(void)st;
	up_running();
	assert_string_equal(tags_sent(",\"advertise_tags\":[\"tag:web\"]"), "[\"tag:web\"]");
	assert_string_equal(tags_sent(""), "[\"tag:web\"]");	/* kept in the prefs */
	assert_string_equal(tags_sent(",\"advertise_tags\":[]"), "[]");
	assert_string_equal(tags_sent(""), "");
}

/* A log line is one line, whatever the server's text holds. */
static void test_log_escapes(void **st)
{
	char path[200], buf[512];
	int saved = dup(2), fd;
	ssize_t n;

	(void)st;
	snprintf(path, sizeof(path), "%s/log", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	log_error("map stream ended: %s", "bad\nmeshwgd[1]: error: forged\x1b[2J\x9b");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ": error: map stream ended: bad\\x0ameshwgd[1]: error: forged"
				    "\\x1b[2J\\x9b\n"));
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

/* `up --hostname` stores (and registers) the DNS label, not the raw text. */
static void test_hostname_sanitized(void **st)
{
	struct api_req r;
	struct prefs p;
	char req[300], err[300];

	(void)st;
	hs_send("{\"type\":\"full\",\"seq\":1,\"self\":" SELF_OK ",\"peers\":[],\"packet_filter\":null}");
	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"login_server\":\"%s\","
		 "\"hostname\":\"Evil\\u001b]52;x\\u0007\",\"auth_key\":\"k\"}", url);
	request(&r, req);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	prefs_init(&p);
	assert_int_equal(state_load_prefs(state_dir, &p, err, sizeof(err)), 0);
	assert_string_equal(p.hostname, "evil52x");
	prefs_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hijack_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_refusal_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transient_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_server_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_reply_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_crash_server_has_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_crash_server_has_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_tags_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostname_sanitized, setup, teardown),
	};

	if (getenv("MESHWGD_TEST_LOG") == NULL)
		log_set_level(LOG_ERROR_);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
