// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * agent/daemon.c end to end against a REAL meshwg-control (127.0.0.1,
 * temporary SQLite), with the kernel and the API socket replaced by test
 * doubles (fakes.c): status, `up` with a wrong and a good pre-auth key,
 * peers arriving by delta, rotate-key, a restart with the server stopped
 * (the mesh comes back from the saved netmap), down, logout, a node
 * waiting for an admin's approval, and advertised tags (tagOwners). Waits
 * are bounded by a hang guard, never timed assertions.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>

#include "../../../lib/util.h"
#include "ctl.h"
#include "daemon.h"
#include "fakes.h"
#include "log.h"
#include "server.h"
#include "state.h"

static struct daemon *D;
static struct daemon_config dcfg;
static char state_dir[300];

static cJSON *status(void)
{
	struct api_req r;
	cJSON *s;

	request(&r, "{\"cmd\":\"status\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	s = cJSON_DetachItemFromObject(r.final, "status");
	fake_api_req_free(&r);
	assert_non_null(s);
	return s;
}

static const char *sget(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, name)) ?: "";
}

static void expect_state(const char *want)
{
	cJSON *s = status();

	assert_string_equal(sget(s, "backend_state"), want);
	cJSON_Delete(s);
}

static void start_daemon(void)
{
	char err[600];

	assert_int_equal(daemon_start(&D, &L, &dcfg, err, sizeof(err)), 0);
}

static int setup(void **st)
{
	if (start_server(st))
		return -1;
	fake_api_on_final = quit_loop;
	if (loop_timer_init(&L, &tick, on_tick, NULL))
		return -1;
	daemon_config_defaults(&dcfg);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(dcfg.state_dir, sizeof(dcfg.state_dir), "%s", state_dir);
	snprintf(dcfg.socket_path, sizeof(dcfg.socket_path), "%s/sock", tmp);
	dcfg.kern.listen_port = 4242;
	dcfg.backoff_max_ms = 500;
	dcfg.save_delay_ms = 50;
	dcfg.status_cache_ms = 0;	/* every status reads the fake kernel, but in test_status_cache */
	start_daemon();
	return 0;
}

static int teardown(void **st)
{
	daemon_stop(D);
	D = NULL;
	loop_timer_destroy(&tick);
	cJSON_Delete(fk.applied);
	fk.applied = NULL;
	return stop_server(st);
}

static void test_starts_logged_out(void **st)
{
	cJSON *s;

	(void)st;
	s = status();
	assert_string_equal(sget(s, "backend_state"), "NeedsLogin");
	assert_string_equal(sget(s, "interface"), "meshwg0");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "self")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "peers")), 0);
	cJSON_Delete(s);
	assert_true(fk.open);
	assert_false(fk.up);
}

static void test_bad_requests(void **st)
{
	struct api_req r;

	(void)st;
	request(&r, "{\"cmd\":\"fly\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(strstr(sget(r.final, "error"), "unknown command"));
	fake_api_req_free(&r);
	request(&r, "{\"cmd\":\"up\"}");	/* no server known yet */
	assert_non_null(strstr(sget(r.final, "error"), "--login-server"));
	fake_api_req_free(&r);
	request(&r, "{\"cmd\":\"up\",\"login_server\":\"gopher://x\"}");
	assert_non_null(strstr(sget(r.final, "error"), "bad control server URL"));
	fake_api_req_free(&r);
	request(&r, "{\"cmd\":\"up\",\"login_server\":\"http://x\",\"advertise_tags\":[\"server\"]}");
	assert_non_null(strstr(sget(r.final, "error"), "tag:"));
	fake_api_req_free(&r);
	request(&r, "{\"cmd\":\"rotate-key\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	expect_state("NeedsLogin");
}

static void test_up_wrong_key(void **st)
{
	struct api_req r;
	char req[600];

	(void)st;
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"up\",\"login_server\":\"%s\",\"hostname\":\"alpha\",\"auth_key\":"
		 "\"mwgkey-000000000000-000000000000000000000000000000000000000000000000\"}", url);
	request(&r, req);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(strstr(sget(r.final, "error"), "the control server refused the auth key: "));
	fake_api_req_free(&r);
	expect_state("NeedsLogin");
	assert_false(fk.up);
}

static bool file_key_equals_kernel(void)
{
	uint8_t k[32];
	char err[300];

	return state_load_key(state_dir, "node.key", k, err, sizeof(err)) == 0 &&
	       !memcmp(k, fk.private_key, 32);
}

static void test_up(void **st)
{
	struct api_req r;
	const cJSON *s, *self;
	char req[600];

	(void)st;
	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"auth_key\":\"%s\",\"hostname\":\"alpha\"}",
		 authkey);
	request(&r, req);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(r.progress);
	assert_non_null(strstr(sget(cJSON_GetArrayItem(r.progress, 0), "message"), "registered as alpha"));
	s = cJSON_GetObjectItem(r.final, "status");
	assert_string_equal(sget(s, "backend_state"), "Running");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "control"), "connected")));
	self = cJSON_GetObjectItem(s, "self");
	assert_string_equal(sget(self, "hostname"), "alpha");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(self, "addresses")), 2);
	assert_non_null(strstr(sget(self, "node_key"), "nodekey:"));
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "listen_port")), 4242);
	fake_api_req_free(&r);
	/* The kernel got the node key and the netmap. */
	assert_true(fk.up);
	assert_true(file_key_equals_kernel());
	assert_non_null(cJSON_GetObjectItem(fk.applied, "self"));
	/* Files: keys 0600 in a 0700 directory. */
	{
		struct stat sb;
		char p[400];

		assert_int_equal(stat(state_dir, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0700);
		snprintf(p, sizeof(p), "%s/node.key", state_dir);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
}

static bool beta_applied(void)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(fk.applied, "peers"))
		if (!strcmp(sget(p, "hostname"), "beta"))
			return true;
	return false;
}

static void on_reg(const struct ctl_result *r, void *arg)
{
	*(long *)arg = r->status ? r->status : -1;
	loop_quit(&L);
}

static long reg_status;
static bool reg_done(void)
{
	return reg_status != 0;
}

/* The kernel's events, for many peers in random key order, are found again
 * by key: a handshake event for the peer with node key nk alone (the
 * kernel's dump says never; the others only changed endpoints) makes it
 * direct. */
static void peer_events(const char *nk)
{
	struct kern_event ev = { .type = KERN_EV_ENDPOINT }, hs = { .type = KERN_EV_HANDSHAKE };
	const cJSON *p;
	int64_t before = mwg_now();
	cJSON *s;
	int i;

	assert_non_null(fk.event_cb);
	assert_int_equal(mwg_key_parse(nk, "nodekey:", hs.public_key), 0);
	for (i = 0; i < 40; i++) {
		randombytes_buf(ev.public_key, 32);
		snprintf(ev.endpoint, sizeof(ev.endpoint), "198.51.100.%d:1", i);
		fk.event_cb(&ev, fk.event_arg);
		if (i == 20)
			fk.event_cb(&hs, fk.event_arg);
	}
	s = status();
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "peers"), 0);
	assert_string_equal(sget(p, "connection"), "direct");
	assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "last_handshake")) >= before);
	cJSON_Delete(s);
}

static void test_peer_arrives(void **st)
{
	uint8_t m[32], n[32];
	struct ctl *b;
	char err[300], ep[64];
	cJSON *s;
	const cJSON *p;
	double id;

	(void)st;
	randombytes_buf(m, 32);
	randombytes_buf(n, 32);
	assert_int_equal(ctl_open(&b, &L, url, NULL, m, n, err, sizeof(err)), 0);
	reg_status = 0;
	assert_int_equal(ctl_register(b, authkey, "beta", NULL, on_reg, &reg_status), 0);
	wait_for(reg_done);
	assert_int_equal(reg_status, 200);
	ctl_close(b);
	wait_for(beta_applied);
	s = status();
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "peers"), 0);
	assert_string_equal(sget(p, "hostname"), "beta");
	/* Never streamed and no handshake: offline. The kernel's counters
	 * are found by key. */
	assert_string_equal(sget(p, "connection"), "offline");
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "last_handshake")), 0);
	id = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id"));
	assert_true(id > 0);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "rx_bytes")), 1000 * id);
	snprintf(ep, sizeof(ep), "192.0.2.%.0f:41641", id);
	assert_string_equal(sget(p, "endpoint"), ep);
	cJSON_Delete(s);
	/* A recent handshake: direct. */
	fk.handshake = mwg_now() - 5;
	s = status();
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "peers"), 0);
	assert_string_equal(sget(p, "connection"), "direct");
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "last_handshake")), fk.handshake);
	fk.handshake = 0;
	peer_events(sget(p, "node_key"));
	cJSON_Delete(s);
}

static void test_rotate(void **st)
{
	struct api_req r;
	cJSON *s;
	char old[100];

	(void)st;
	s = status();
	snprintf(old, sizeof(old), "%s", sget(cJSON_GetObjectItem(s, "self"), "node_key"));
	cJSON_Delete(s);
	request(&r, "{\"cmd\":\"rotate-key\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_string_not_equal(sget(r.final, "node_key"), old);
	assert_non_null(strstr(sget(r.final, "node_key"), "nodekey:"));
	fake_api_req_free(&r);
	assert_int_equal(fk.key_sets, 1);
	assert_true(file_key_equals_kernel());
}

static bool rotated_twice(void)
{
	return fk.key_sets >= 2;
}

/* A rotate_before longer than the key's remaining life (SIGHUP path)
 * rotates on its own; the key file follows the kernel. */
static void test_auto_rotation(void **st)
{
	(void)st;
	dcfg.rotate_before_s = 365 * 86400;
	daemon_reconfigure(D, &dcfg);
	wait_for(rotated_twice);
	assert_true(file_key_equals_kernel());
	dcfg.rotate_before_s = 7 * 86400;
	daemon_reconfigure(D, &dcfg);
	expect_state("Running");
}

static bool netmap_saved(void)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/netmap.json", state_dir);
	return access(p, F_OK) == 0;
}

static bool running(void)
{
	cJSON *s = status();
	bool r = !strcmp(sget(s, "backend_state"), "Running");

	cJSON_Delete(s);
	return r;
}

static void test_restart_with_server_stopped(void **st)
{
	unsigned downs = fk.downs;

	(void)st;
	wait_for(netmap_saved);
	daemon_stop(D);
	D = NULL;
	assert_int_equal(fk.downs, downs + 1);	/* SIGTERM path deletes the interface */
	assert_false(fk.up);
	cJSON_Delete(fk.applied);
	fk.applied = NULL;
	kill(server, SIGSTOP);
	start_daemon();
	/* At once, before any word from the server: interface and peers back. */
	assert_true(fk.up);
	assert_true(file_key_equals_kernel());
	assert_true(beta_applied());
	expect_state("Starting");
	kill(server, SIGCONT);
	wait_for(running);
}

/* Sends json as cred; the final reply's error, or "" when ok. */
static void request_as(struct api_req *r, const char *json, uid_t uid, bool in_group)
{
	fake_api_cred = (struct api_cred){ .uid = uid, .gid = uid, .pid = 4321, .in_group = in_group };
	request(r, json);
	fake_api_cred = (struct api_cred){ 0 };
}

static void expect_denied(const char *json, uid_t uid)
{
	struct api_req r;

	request_as(&r, json, uid, false);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(strstr(sget(r.final, "error"), "permission denied"));
	assert_non_null(strstr(sget(r.final, "error"), "run it as root or use --operator"));
	fake_api_req_free(&r);
}

static void expect_ok_as(const char *json, uid_t uid, bool in_group, const char *state)
{
	struct api_req r;

	request_as(&r, json, uid, in_group);
	assert_string_equal(sget(r.final, "error"), "");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	expect_state(state);
}

/* Any user reads; changes need root, the socket group or the operator. */
static void test_authorization(void **st)
{
	struct api_req r;
	struct prefs p;
	char err[300];
	unsigned downs = fk.downs;

	(void)st;
	expect_ok_as("{\"cmd\":\"status\"}", 1000, false, "Running");
	expect_denied("{\"cmd\":\"down\"}", 1000);
	expect_denied("{\"cmd\":\"logout\"}", 1000);
	expect_denied("{\"cmd\":\"rotate-key\"}", 1000);
	expect_denied("{\"cmd\":\"up\"}", 1000);
	expect_denied("{\"cmd\":\"fly\"}", 1000);
	assert_int_equal(fk.downs, downs);	/* nothing happened */
	expect_state("Running");

	/* The socket group may change. */
	expect_ok_as("{\"cmd\":\"down\"}", 1000, true, "Stopped");
	expect_ok_as("{\"cmd\":\"up\"}", 1000, true, "Running");

	/* Root names an operator (stored by uid); the operator may change,
	 * but not name another one. */
	expect_ok_as("{\"cmd\":\"up\",\"operator\":\"alice\",\"operator_uid\":1000}", 0, false,
		     "Running");
	prefs_init(&p);
	assert_int_equal(state_load_prefs(state_dir, &p, err, sizeof(err)), 0);
	assert_int_equal(p.operator_uid, 1000);
	assert_string_equal(p.operator_user, "alice");
	prefs_free(&p);
	expect_ok_as("{\"cmd\":\"down\"}", 1000, false, "Stopped");
	expect_ok_as("{\"cmd\":\"up\"}", 1000, false, "Running");
	request_as(&r, "{\"cmd\":\"up\",\"operator\":\"mallory\",\"operator_uid\":1001}", 1000, false);
	assert_non_null(strstr(sget(r.final, "error"), "only root may change the operator"));
	fake_api_req_free(&r);
	expect_denied("{\"cmd\":\"down\"}", 1001);
	request_as(&r, "{\"cmd\":\"up\",\"operator\":\"bob\"}", 0, false);	/* no uid */
	assert_non_null(strstr(sget(r.final, "error"), "operator_uid"));
	fake_api_req_free(&r);

	/* meshwgd --operator (the configuration, resolved at start): a uid too. */
	dcfg.operator_uid = 1002;
	daemon_reconfigure(D, &dcfg);
	expect_ok_as("{\"cmd\":\"down\"}", 1002, false, "Stopped");
	expect_ok_as("{\"cmd\":\"up\"}", 1002, false, "Running");
	dcfg.operator_uid = (uid_t)-1;
	daemon_reconfigure(D, &dcfg);
	expect_denied("{\"cmd\":\"down\"}", 1002);

	/* Root removes the operator. */
	expect_ok_as("{\"cmd\":\"up\",\"operator\":\"\"}", 0, false, "Running");
	expect_denied("{\"cmd\":\"down\"}", 1000);
}

/* A burst of `status` requests costs one device dump; a change of the
 * interface (here down and up, which applies the netmap) costs a new one. */
static void test_status_cache(void **st)
{
	unsigned dumps;
	cJSON *a, *b;

	(void)st;
	dcfg.status_cache_ms = 3600 * 1000;	/* no expiry during the test */
	daemon_reconfigure(D, &dcfg);
	a = status();
	dumps = fk.status_calls;
	for (int i = 0; i < 10; i++)
		cJSON_Delete(status());
	b = status();
	assert_int_equal(fk.status_calls, dumps);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "peers")), 1);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(b, "peers"), 0), "rx_bytes")),
		cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(a, "peers"), 0), "rx_bytes")));
	cJSON_Delete(a);
	cJSON_Delete(b);
	expect_ok_as("{\"cmd\":\"down\"}", 0, false, "Stopped");
	expect_ok_as("{\"cmd\":\"up\"}", 0, false, "Running");
	assert_true(fk.status_calls > dumps);	/* the new interface was read */
	dumps = fk.status_calls;
	cJSON_Delete(status());
	assert_int_equal(fk.status_calls, dumps);
	dcfg.status_cache_ms = 0;
	daemon_reconfigure(D, &dcfg);
	cJSON_Delete(status());
	assert_int_equal(fk.status_calls, dumps + 1);
}

static struct api_req up_req;

static bool applying(void)
{
	return fk.pending != NULL || up_req.done;
}

static bool up_done(void)
{
	return up_req.done;
}

/* A big apply goes in steps, one per turn of the loop: `status` is served
 * (and the interface may be taken down) while it is in progress. Ordering
 * only: the fake kernel stops the loop at a step. */
static void test_apply_in_steps(void **st)
{
	struct api_req r;
	unsigned steps, applies = fk.applies;
	cJSON *s;

	(void)st;
	expect_ok_as("{\"cmd\":\"down\"}", 0, false, "Stopped");
	fk.apply_steps = 5;
	fk.on_step = quit_loop;
	steps = fk.steps;
	fake_api_request(&up_req, "{\"cmd\":\"up\"}");
	wait_for(applying);
	/* The loop is back between two steps: the apply is not done. */
	assert_false(up_req.done);
	assert_non_null(fk.pending);
	assert_true(fk.steps > steps);
	assert_int_equal(fk.applies, applies);
	s = status();
	assert_string_equal(sget(s, "backend_state"), "Starting");
	cJSON_Delete(s);
	fk.on_step = NULL;
	wait_for(up_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(up_req.final, "ok")));
	fake_api_req_free(&up_req);
	assert_int_equal(fk.applies, applies + 1);
	assert_int_equal(fk.steps, steps + 5);
	expect_state("Running");

	/* `down` in the middle: the apply stops, `up` is told. */
	expect_ok_as("{\"cmd\":\"down\"}", 0, false, "Stopped");
	fk.on_step = quit_loop;
	fake_api_request(&up_req, "{\"cmd\":\"up\"}");
	wait_for(applying);
	assert_non_null(fk.pending);
	fk.on_step = NULL;
	request(&r, "{\"cmd\":\"down\"}");
	fake_api_req_free(&r);
	assert_null(fk.pending);
	assert_true(up_req.done);
	assert_non_null(strstr(sget(up_req.final, "error"), "interrupted by meshwg down"));
	fake_api_req_free(&up_req);
	expect_state("Stopped");
	fk.apply_steps = 0;
	expect_ok_as("{\"cmd\":\"up\"}", 0, false, "Running");
	assert_int_equal(fk.applies, applies + 2);
}

static void test_down_up(void **st)
{
	struct api_req r;
	struct prefs p;
	char err[300];

	(void)st;
	request(&r, "{\"cmd\":\"down\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_false(fk.up);
	expect_state("Stopped");
	prefs_init(&p);
	assert_int_equal(state_load_prefs(state_dir, &p, err, sizeof(err)), 0);
	assert_false(p.want_running);
	assert_string_equal(p.hostname, "alpha");
	prefs_free(&p);
	/* Up again with the stored prefs, no key needed. */
	request(&r, "{\"cmd\":\"up\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	assert_true(fk.up);
	expect_state("Running");
}

static void test_logout(void **st)
{
	struct api_req r;
	char p[400];

	(void)st;
	request(&r, "{\"cmd\":\"logout\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
	expect_state("NeedsLogin");
	assert_false(fk.up);
	snprintf(p, sizeof(p), "%s/node.key", state_dir);
	assert_int_not_equal(access(p, F_OK), 0);
	/* Without a key the server will not take the node back. */
	request(&r, "{\"cmd\":\"up\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	fake_api_req_free(&r);
}

static struct api_req pending;
static bool pending_progress(void)
{
	return pending.progress != NULL || pending.done;
}

static bool pending_done(void)
{
	return pending.done;
}

static void test_approval(void **st)
{
	char req[600], cmd[100], out[256];
	const char *msg;
	unsigned id;

	(void)st;
	/* A fresh node (new state directory) without an auth key. */
	daemon_stop(D);
	D = NULL;
	snprintf(state_dir, sizeof(state_dir), "%s/state2", tmp);
	snprintf(dcfg.state_dir, sizeof(dcfg.state_dir), "%s", state_dir);
	start_daemon();
	snprintf(req, sizeof(req), "{\"cmd\":\"up\",\"login_server\":\"%s\",\"hostname\":\"gamma\"}", url);
	fake_api_request(&pending, req);
	wait_for(pending_progress);
	assert_false(pending.done);
	msg = sget(cJSON_GetArrayItem(pending.progress, 0), "message");
	assert_non_null(strstr(msg, "waiting for approval: meshwg-control nodes approve "));
	assert_int_equal(sscanf(strstr(msg, "approve ") + 8, "%u", &id), 1);
	expect_state("NeedsApproval");
	snprintf(cmd, sizeof(cmd), "nodes approve %u --user alice", id);
	assert_int_equal(run_admin(cmd, out, sizeof(out)), 0);
	wait_for(pending_done);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(pending.final, "ok")));
	assert_string_equal(sget(cJSON_GetObjectItem(pending.final, "status"), "backend_state"), "Running");
	fake_api_req_free(&pending);
	assert_true(fk.up);
}

/* `up --advertise-tags`: refused tags end `up` with the server's reason;
 * allowed ones make the node a tagged node (status self.tags). */
static void test_advertise_tags(void **st)
{
	struct api_req r;
	char req[600], cmd[400], out[256], pol[300];
	const cJSON *self;
	FILE *f;

	(void)st;
	daemon_stop(D);
	D = NULL;
	snprintf(state_dir, sizeof(state_dir), "%s/state3", tmp);
	snprintf(dcfg.state_dir, sizeof(dcfg.state_dir), "%s", state_dir);
	start_daemon();
	/* No policy in force: tags cannot be checked. */
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"up\",\"login_server\":\"%s\",\"hostname\":\"delta\","
		 "\"auth_key\":\"%s\",\"advertise_tags\":[\"tag:web\"]}", url, authkey);
	request(&r, req);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_non_null(strstr(sget(r.final, "error"),
			       "the control server refused the registration: tag:web: no policy"));
	fake_api_req_free(&r);
	expect_state("NeedsLogin");
	/* alice owns tag:web, not tag:db. */
	snprintf(pol, sizeof(pol), "%s/policy.hujson", tmp);
	f = fopen(pol, "w");
	assert_non_null(f);
	fputs("{\"tagOwners\": {\"tag:web\": [\"alice@\"], \"tag:db\": [\"tag:web\"]},\n"
	      " \"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "policy set %s", pol);
	assert_int_equal(run_admin(cmd, out, sizeof(out)), 0);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"up\",\"hostname\":\"delta\",\"auth_key\":\"%s\","
		 "\"advertise_tags\":[\"tag:web\",\"tag:db\"]}", authkey);
	request(&r, req);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	assert_string_equal(sget(r.final, "error"), "the control server refused the registration: "
			    "user alice@ may not use tag:db (tagOwners)");
	fake_api_req_free(&r);
	expect_state("NeedsLogin");
	assert_false(fk.up);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"up\",\"hostname\":\"delta\",\"auth_key\":\"%s\","
		 "\"advertise_tags\":[\"tag:web\"]}", authkey);
	request(&r, req);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.final, "ok")));
	self = cJSON_GetObjectItem(cJSON_GetObjectItem(r.final, "status"), "self");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(self, "tags")), 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(self, "tags"), 0)),
			    "tag:web");
	fake_api_req_free(&r);
	expect_state("Running");
	assert_true(fk.up);
}

static void test_connection_rule(void **st)
{
	(void)st;
	assert_string_equal(daemon_connection(true, 1000, 1100), "direct");
	assert_string_equal(daemon_connection(false, 1000, 1180), "direct");
	assert_string_equal(daemon_connection(false, 1000, 1181), "offline");
	assert_string_equal(daemon_connection(true, 1000, 1181), "idle");
	assert_string_equal(daemon_connection(true, 0, 1181), "idle");
	assert_string_equal(daemon_connection(false, 0, 1181), "offline");
	assert_int_equal(daemon_parse_time("2027-05-21T02:10:43Z"), 1810865443);
	assert_int_equal(daemon_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(daemon_parse_time("2027-05-21"), -1);
	assert_int_equal(daemon_parse_time("2027-05-21T02:10:43Zjunk"), -1);
	assert_int_equal(daemon_parse_time(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_rule),
		cmocka_unit_test(test_starts_logged_out),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_up_wrong_key),
		cmocka_unit_test(test_up),
		cmocka_unit_test(test_peer_arrives),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_auto_rotation),
		cmocka_unit_test(test_restart_with_server_stopped),
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_status_cache),
		cmocka_unit_test(test_apply_in_steps),
		cmocka_unit_test(test_down_up),
		cmocka_unit_test(test_logout),
		cmocka_unit_test(test_approval),
		cmocka_unit_test(test_advertise_tags),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sodium_init() < 0)
		return 1;
	log_set_level(getenv("MWG_DEBUG") ? LOG_DEBUG_ : LOG_ERROR_);
	return cmocka_run_group_tests(tests, setup, teardown);
}
