// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * agent/ctl.c against a REAL meshwg-control started on 127.0.0.1 with a
 * temporary SQLite database: register (pre-auth key, wrong key, pending),
 * the full netmap and a delta on the map stream, requests queued behind the
 * stream (nonce order), rotation, logout, a dead stream detected, an
 * unreachable server. Everything runs on meshwgd's loop; each wait is
 * bounded by a generous guard timer, never a timed assertion.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "../../../control/client/mwgc_client.h"
#include "ctl.h"
#include "log.h"
#include "loop.h"

#ifndef MESHWG_CONTROL
#define MESHWG_CONTROL "../../../control/meshwg-control"
#endif

#include "server.h"

/* ---- running the loop until something happened ---- */


/* Runs the loop until *flag (set by a callback, which also quits the
 * loop); a hang guard of 60 s fails the test instead of blocking forever. */
static void run_until(bool *flag)
{
	guard.cb = on_guard;
	guard_fired = false;
	loop_timer_arm(&guard, 60000);
	while (!*flag && !guard_fired) {
		L.stop = false;
		loop_run(&L);
	}
	loop_timer_disarm(&guard);
	assert_false(guard_fired);
}

struct res {
	bool done;
	long status;
	char error[512];
	cJSON *reply;
};

static void on_done(const struct ctl_result *r, void *arg)
{
	struct res *x = arg;

	x->done = true;
	x->status = r->status;
	snprintf(x->error, sizeof(x->error), "%s", r->error);
	x->reply = r->reply ? cJSON_Duplicate(r->reply, 1) : NULL;
	loop_quit(&L);
}

struct stream {
	cJSON *full;
	int fulls, deltas, keepalives;
	cJSON *last_delta;
	bool want_delta, want_full;
	struct res end;
};

static void on_msg(const cJSON *msg, void *arg)
{
	struct stream *s = arg;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));

	assert_non_null(type);
	if (!strcmp(type, "full")) {
		s->fulls++;
		cJSON_Delete(s->full);
		s->full = cJSON_Duplicate(msg, 1);
		if (s->want_full)
			loop_quit(&L);
	} else if (!strcmp(type, "delta")) {
		s->deltas++;
		if (s->full)
			assert_int_equal(mwgc_netmap_apply(&s->full, msg), 0);
		cJSON_Delete(s->last_delta);
		s->last_delta = cJSON_Duplicate(msg, 1);
		if (s->want_delta)
			loop_quit(&L);
	} else if (!strcmp(type, "keepalive")) {
		s->keepalives++;
	}
}

static void on_stream_done(const struct ctl_result *r, void *arg)
{
	struct stream *s = arg;

	on_done(r, &s->end);
}

static void stream_free(struct stream *s)
{
	cJSON_Delete(s->full);
	cJSON_Delete(s->last_delta);
	cJSON_Delete(s->end.reply);
	memset(s, 0, sizeof(*s));
}

static struct ctl *new_ctl(const char *u)
{
	uint8_t m[32], n[32];
	struct ctl *c;
	char err[300];

	randombytes_buf(m, 32);
	randombytes_buf(n, 32);
	assert_int_equal(ctl_open(&c, &L, u, NULL, m, n, err, sizeof(err)), 0);
	return c;
}

static void do_register(struct ctl *c, const char *key, const char *host, struct res *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(ctl_register(c, key, host, NULL, on_done, r), 0);
	run_until(&r->done);
}

static bool has_peer(const cJSON *netmap, const char *nodekey)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(netmap, "peers"))
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "node_key")) ?: "", nodekey))
			return true;
	return false;
}

/* ---- tests ---- */

static void test_wrong_auth_key(void **st)
{
	struct ctl *c = new_ctl(url);
	struct res r;

	(void)st;
	do_register(c, "mwgkey-000000000000-000000000000000000000000000000000000000000000000", "bad", &r);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(r.error, "auth key"));
	assert_null(r.reply);
	ctl_close(c);
}

static void test_unreachable(void **st)
{
	char u[64];
	struct ctl *c;
	struct res r;

	(void)st;
	snprintf(u, sizeof(u), "http://127.0.0.1:%d", free_port());
	c = new_ctl(u);
	do_register(c, authkey, "x", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.error, u));
	ctl_close(c);
}

static void test_bad_url(void **st)
{
	uint8_t k[32] = { 1 };
	struct ctl *c = (struct ctl *)1;
	char err[300];

	(void)st;
	assert_int_equal(ctl_open(&c, &L, "ftp://x", NULL, k, k, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "URL"));
}

/* Registers with machine key m through a connection to u pinning in dir. */
static void reg_pinned(const char *u, const char *dir, const uint8_t m[32], struct res *r)
{
	uint8_t n[32];
	struct ctl *c;
	char err[300];

	randombytes_buf(n, 32);
	assert_int_equal(ctl_open(&c, &L, u, dir, m, n, err, sizeof(err)), 0);
	do_register(c, authkey, "pinned", r);
	ctl_close(c);
}

/* The server key is pinned on first use in the state directory; a server
 * presenting another key (an impostor on the path, after a restart) is then
 * refused with a message, and so is one that differs from a pin in the URL. */
static void test_server_key_pin(void **st)
{
	char dir[300], pin[400], key[100], u[300], *t;
	uint8_t m[32];
	struct res r;
	FILE *f;

	(void)st;
	snprintf(dir, sizeof(dir), "%s/pin", tmp);
	snprintf(pin, sizeof(pin), "%s/server.pin", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	randombytes_buf(m, 32);
	reg_pinned(url, dir, m, &r);
	assert_int_equal(r.status, 200);
	cJSON_Delete(r.reply);
	/* pinned: "URL mkey:<hex>" */
	f = fopen(pin, "r");
	assert_non_null(f);
	assert_non_null(fgets(u, sizeof(u), f));
	fclose(f);
	t = strchr(u, ' ');
	assert_non_null(t);
	*t = '\0';
	assert_string_equal(u, url);
	snprintf(key, sizeof(key), "%.69s", t + 1);
	assert_int_equal(strlen(key), 69);
	/* the pinned key is the server's: a new connection works */
	reg_pinned(url, dir, m, &r);
	assert_int_equal(r.status, 200);
	cJSON_Delete(r.reply);
	/* another key pinned for this URL: refused, before any request */
	f = fopen(pin, "w");
	assert_non_null(f);
	fprintf(f, "%s mkey:%064d\n", url, 1);
	fclose(f);
	reg_pinned(url, dir, m, &r);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(r.error, "the control server's key changed"));
	assert_non_null(strstr(r.error, pin));
	assert_null(r.reply);
	/* a pin in the URL: the right key works (no state directory needed) */
	snprintf(u, sizeof(u), "%s#%s", url, key);
	reg_pinned(u, NULL, m, &r);
	assert_int_equal(r.status, 200);
	cJSON_Delete(r.reply);
	snprintf(u, sizeof(u), "%s#mkey:%064d", url, 2);
	reg_pinned(u, NULL, m, &r);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(r.error, "pinned (in the login server URL)"));
	snprintf(u, sizeof(u), "%s#mkey:12", url);
	{
		struct ctl *c = (struct ctl *)1;
		char err[300];

		assert_int_equal(ctl_open(&c, &L, u, NULL, m, m, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bad server key pin"));
	}
}

static void test_pending(void **st)
{
	struct ctl *c = new_ctl(url);
	struct stream s = { 0 };
	struct res r;

	(void)st;
	do_register(c, NULL, "waiting", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r.reply, "status")), "pending");
	cJSON_Delete(r.reply);
	/* A pending node's stream is refused with 403. */
	assert_int_equal(ctl_stream_open(c, NULL, on_msg, on_stream_done, &s), 0);
	run_until(&s.end.done);
	assert_int_equal(s.end.status, 403);
	assert_non_null(strstr(s.end.error, "pending"));
	assert_int_equal(s.fulls, 0);
	stream_free(&s);
	ctl_close(c);
}

/* Many nodes registering at once (one connection each, all on one loop),
 * then a FULL of hundreds of peers: a line of many chunks. */
#define MANY 150	/* ~6 descriptors each */
static int many_done;

static void on_many(const struct ctl_result *r, void *arg)
{
	long *status = arg;

	*status = r->status;
	if (++many_done == MANY)
		loop_quit(&L);
}

static void test_big_full(void **st)
{
	static struct ctl *c[MANY];
	static long status[MANY];
	struct stream s = { 0 };
	char host[32];
	bool all = false;

	(void)st;
	many_done = 0;
	for (int i = 0; i < MANY; i++) {
		c[i] = new_ctl(url);
		snprintf(host, sizeof(host), "many-%d", i);
		assert_int_equal(ctl_register(c[i], authkey, host, NULL, on_many, &status[i]), 0);
	}
	while (!all) {
		L.stop = false;
		loop_timer_arm(&guard, 120000);
		loop_run(&L);
		assert_false(guard_fired);
		all = many_done == MANY;
	}
	for (int i = 0; i < MANY; i++)
		assert_int_equal(status[i], 200);
	s.want_full = true;
	assert_int_equal(ctl_stream_open(c[0], NULL, on_msg, on_stream_done, &s), 0);
	while (!s.fulls) {
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
		assert_false(s.end.done);
	}
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(s.full, "peers")) >= MANY - 1);
	assert_true(has_peer(s.full, ctl_node_key(c[MANY - 1])));
	ctl_stream_close(c[0]);
	stream_free(&s);
	for (int i = 0; i < MANY; i++)
		ctl_close(c[i]);
}

static void test_full_flow(void **st)
{
	struct ctl *a = new_ctl(url), *b = new_ctl(url);
	struct stream s = { 0 };
	struct res r, u, rot, lo;
	cJSON *fields, *eps;
	char old_key[100], b_key[100];
	const cJSON *p, *self;
	bool found = false;

	(void)st;
	/* Register both with the pre-auth key. */
	do_register(a, authkey, "alpha", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r.reply, "status")), "registered");
	self = cJSON_GetObjectItem(r.reply, "self");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(self, "addresses")), 2);
	cJSON_Delete(r.reply);
	do_register(b, authkey, "beta", &r);
	assert_int_equal(r.status, 200);
	cJSON_Delete(r.reply);
	snprintf(b_key, sizeof(b_key), "%s", ctl_node_key(b));

	/* a's stream: the FULL netmap with b in it. An update queued right
	 * behind the stream must not be refused for its nonce. */
	s.want_full = true;
	assert_int_equal(ctl_stream_open(a, NULL, on_msg, on_stream_done, &s), 0);
	assert_int_equal(ctl_stream_open(a, NULL, on_msg, on_stream_done, &s), -EALREADY);
	fields = cJSON_Parse("{\"endpoints\": [\"192.0.2.10:41641\"]}");
	memset(&u, 0, sizeof(u));
	assert_int_equal(ctl_update(a, fields, on_done, &u), 0);
	cJSON_Delete(fields);
	while (!s.fulls || !u.done) {
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
		assert_false(s.end.done);
	}
	assert_int_equal(u.status, 200);
	cJSON_Delete(u.reply);
	assert_true(ctl_stream_connected(a));
	assert_int_equal(s.fulls, 1);
	assert_non_null(cJSON_GetObjectItem(s.full, "self"));
	assert_true(has_peer(s.full, b_key));

	/* b changes its endpoints: a gets a delta with b in peers_changed. */
	s.want_delta = true;
	fields = cJSON_Parse("{\"endpoints\": [\"198.51.100.7:41641\"]}");
	memset(&u, 0, sizeof(u));
	assert_int_equal(ctl_update(b, fields, on_done, &u), 0);
	cJSON_Delete(fields);
	run_until(&u.done);
	assert_int_equal(u.status, 200);
	cJSON_Delete(u.reply);
	/* Deltas are applied to s.full as they come (other nodes' changes
	 * may come first): wait until b's new endpoint is there. */
	while (!found) {
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(s.full, "peers")) {
			eps = cJSON_GetObjectItem(p, "endpoints");
			if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "node_key")) ?: "", b_key) &&
			    !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(eps, 0)) ?: "", "198.51.100.7:41641"))
				found = true;
		}
		if (found)
			break;
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
	}
	assert_true(s.deltas > 0);

	/* Rotation of a, while its stream is open: signed with both keys. */
	snprintf(old_key, sizeof(old_key), "%s", ctl_node_key(a));
	{
		uint8_t nk[32];

		randombytes_buf(nk, 32);
		memset(&rot, 0, sizeof(rot));
		assert_int_equal(ctl_rotate(a, nk, "alpha", on_done, &rot), 0);
		run_until(&rot.done);
	}
	assert_int_equal(rot.status, 200);
	assert_string_not_equal(ctl_node_key(a), old_key);
	self = cJSON_GetObjectItem(rot.reply, "self");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(self, "node_key")), ctl_node_key(a));
	cJSON_Delete(rot.reply);
	/* The new key works: a new stream with it gets a FULL. */
	ctl_stream_close(a);
	assert_false(ctl_stream_open_p(a));
	assert_false(s.end.done);	/* closing does not call back */
	s.fulls = 0;
	assert_int_equal(ctl_stream_open(a, NULL, on_msg, on_stream_done, &s), 0);
	while (!s.fulls) {
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
		assert_false(s.end.done);
	}
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s.full, "self"),
								     "node_key")),
			    ctl_node_key(a));

	/* b logs out: a's stream loses b. */
	s.want_delta = true;
	s.deltas = 0;
	memset(&lo, 0, sizeof(lo));
	assert_int_equal(ctl_logout(b, on_done, &lo), 0);
	run_until(&lo.done);
	assert_int_equal(lo.status, 200);
	assert_string_equal(lo.error, "");
	cJSON_Delete(lo.reply);
	while (has_peer(s.full, b_key)) {
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
	}
	/* b's key is expired now: its requests are refused. */
	memset(&u, 0, sizeof(u));
	fields = cJSON_Parse("{\"endpoints\": []}");
	assert_int_equal(ctl_update(b, fields, on_done, &u), 0);
	cJSON_Delete(fields);
	run_until(&u.done);
	assert_true(u.status == 401 || u.status == 403);

	/* A dead stream (the server stops answering) is noticed. */
	ctl_set_stream_idle_ms(a, 1500);
	kill(server, SIGSTOP);
	run_until(&s.end.done);
	kill(server, SIGCONT);
	assert_int_equal(s.end.status, 0);
	assert_non_null(strstr(s.end.error, "nothing received"));
	assert_false(ctl_stream_open_p(a));

	/* A server that dies closes the stream at once (not by the idle
	 * timeout, which is long again). Last: the server is gone after it. */
	ctl_set_stream_idle_ms(a, 600000);
	memset(&s.end, 0, sizeof(s.end));
	s.fulls = 0;
	assert_int_equal(ctl_stream_open(a, NULL, on_msg, on_stream_done, &s), 0);
	while (!s.fulls) {
		L.stop = false;
		loop_timer_arm(&guard, 60000);
		loop_run(&L);
		assert_false(guard_fired);
		assert_false(s.end.done);
	}
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	server = -1;
	run_until(&s.end.done);
	assert_int_equal(s.end.status, 0);
	assert_null(strstr(s.end.error, "nothing received"));
	assert_non_null(strstr(s.end.error, url));

	stream_free(&s);
	ctl_close(a);
	ctl_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_wrong_auth_key),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_server_key_pin),
		cmocka_unit_test(test_big_full),
		cmocka_unit_test(test_full_flow),
	};

	{
		struct rlimit rl;

		/* test_big_full holds many connections and timers at once. */
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("MWG_DEBUG"))
		log_set_level(LOG_DEBUG_);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
