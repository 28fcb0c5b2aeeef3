// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd's local API server (agent/api.c) over real UNIX sockets in a
 * temporary directory. Clients run in threads (or, for the credential
 * tests, in forked children with other ids) while the test's loop serves.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "api.h"
#include "log.h"
#include "loop.h"

#define MAX_REQS 16
#define BIG_PAD (4u << 20)

/* Server side state of one test. */
struct fixture {
	char dir[64];
	char path[128];
	struct loop loop;
	struct api *api;
	struct loop_timer poll;		/* re-checks the stop condition */
	bool (*done)(struct fixture *f);
	/* handler */
	enum { REPLY_NOW, REPLY_LATER, HOLD } mode;
	int calls;
	char cmds[MAX_REQS][32];
	struct api_req *held[MAX_REQS];
	char held_cmd[MAX_REQS][32];
	int nheld;
	struct loop_timer later;
	/* clients */
	int clients_done;
	pthread_mutex_t lock;
	int baseline_fds;
	pid_t child;
	int child_status;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* The command, and who sent it (api_req_cred). */
static cJSON *echo_reply(struct api_req *r, const cJSON *req)
{
	const struct api_cred *c = api_req_cred(r);
	cJSON *o = cJSON_CreateObject();

	assert_non_null(o);
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "cmd", cJSON_GetObjectItem(req, "cmd")->valuestring);
	cJSON_AddNumberToObject(o, "uid", c->uid);
	cJSON_AddBoolToObject(o, "in_group", c->in_group);
	return o;
}

/*
 * meshwgd never asks the user or group database (NSS: files, LDAP, sssd...
 * may block) while it serves: these stand in for libc's in this binary and
 * count the calls; api.c must make none.
 */
static int nss_calls;

struct passwd *getpwuid(uid_t uid)
{
	(void)uid;
	nss_calls++;
	return NULL;
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	(void)uid;
	(void)pw;
	(void)buf;
	(void)len;
	nss_calls++;
	*res = NULL;
	return ENOENT;
}

struct passwd *getpwnam(const char *name)
{
	(void)name;
	nss_calls++;
	return NULL;
}

struct group *getgrgid(gid_t gid)
{
	(void)gid;
	nss_calls++;
	return NULL;
}

struct group *getgrnam(const char *name)
{
	(void)name;
	nss_calls++;
	return NULL;
}

int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
	(void)user;
	(void)group;
	(void)groups;
	(void)ngroups;
	nss_calls++;
	return -1;
}

static void later_cb(void *arg)
{
	struct fixture *f = arg;
	cJSON *msg = cJSON_CreateObject();

	cJSON_AddStringToObject(msg, "message", "step 2");
	/* Reply in reverse order of arrival: each client must get its own. */
	while (f->nheld) {
		struct api_req *r = f->held[--f->nheld];
		cJSON *o = cJSON_CreateObject();

		api_progress(r, msg);
		cJSON_AddTrueToObject(o, "ok");
		cJSON_AddStringToObject(o, "cmd", f->held_cmd[f->nheld]);
		api_reply(r, o);
	}
	cJSON_Delete(msg);
}

static void handler(struct api_req *r, const cJSON *req, void *arg)
{
	struct fixture *f = arg;
	const char *cmd = cJSON_GetObjectItem(req, "cmd")->valuestring;

	assert_true(f->calls < MAX_REQS);
	snprintf(f->cmds[f->calls], sizeof(f->cmds[0]), "%s", cmd);
	pthread_mutex_lock(&f->lock);
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	if (f->mode == REPLY_NOW) {
		cJSON *o = echo_reply(r, req);

		if (!strcmp(cmd, "big")) {	/* more than the socket buffers hold */
			char *pad = malloc(BIG_PAD + 1);

			assert_non_null(pad);
			memset(pad, 'p', BIG_PAD);
			pad[BIG_PAD] = '\0';
			for (int i = 0; i < 3; i++)
				api_progress(r, o);
			cJSON_AddStringToObject(o, "pad", pad);
			free(pad);
		}
		api_reply(r, o);
		return;
	}
	snprintf(f->held_cmd[f->nheld], sizeof(f->held_cmd[0]), "%s", cmd);
	f->held[f->nheld++] = r;
	if (f->mode == REPLY_LATER) {
		cJSON *msg = cJSON_CreateObject();

		cJSON_AddStringToObject(msg, "message", "step 1");
		api_progress(r, msg);
		cJSON_Delete(msg);
		loop_timer_arm(&f->later, 1);
	}
}

static void poll_cb(void *arg)
{
	struct fixture *f = arg;

	if (f->done(f))
		loop_quit(&f->loop);
	else
		loop_timer_arm(&f->poll, 2);
}

/* Serves until f->done(f) holds (checked every few ms: no timing assumed). */
static void serve_until(struct fixture *f, bool (*done)(struct fixture *f))
{
	f->done = done;
	f->loop.stop = false;
	loop_timer_arm(&f->poll, 2);
	assert_int_equal(loop_run(&f->loop), 0);
	loop_timer_disarm(&f->poll);
}

/* Root-only as root; as another user, a socket of our own group. */
static gid_t default_gid(void)
{
	return geteuid() == 0 ? (gid_t)-1 : getegid();
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/meshwg-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	chmod(f->dir, 0755);
	snprintf(f->path, sizeof(f->path), "%s/run/meshwg/meshwgd.sock", f->dir);
	assert_int_equal(loop_init(&f->loop), 0);
	assert_int_equal(loop_timer_init(&f->loop, &f->poll, poll_cb, f), 0);
	assert_int_equal(loop_timer_init(&f->loop, &f->later, later_cb, f), 0);
	pthread_mutex_init(&f->lock, NULL);
	f->baseline_fds = count_fds();
	assert_int_equal(api_open(&f->api, &f->loop, f->path, default_gid(), handler, f,
				  err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	api_close(f->api);
	loop_timer_destroy(&f->poll);
	loop_timer_destroy(&f->later);
	loop_destroy(&f->loop);
	pthread_mutex_destroy(&f->lock);
	snprintf(p, sizeof(p), "%s/run/meshwg", f->dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/run", f->dir);
	rmdir(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* One client conversation, run in a thread or a child process. */
struct client {
	struct fixture *f;
	const char *path;
	const char *send;
	size_t send_len;
	bool half_close;		/* shutdown(SHUT_WR) after sending */
	bool close_after_handler;	/* close once the handler has the request */
	int connect_errno;
	char reply[4096];
	size_t reply_len;
	char *big;		/* when set (big_cap bytes): the reply goes here */
	size_t big_cap, big_len;
};

static int client_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Returns 0 or -errno of connect. Fills c->reply with all that came back. */
static int client_talk(struct client *c)
{
	size_t off = 0;
	int fd = client_connect(c->path);

	if (fd < 0)
		return fd;
	while (off < c->send_len) {
		ssize_t n = send(fd, c->send + off, c->send_len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;	/* the server may close on an oversized request */
		off += (size_t)n;
	}
	if (c->half_close)
		shutdown(fd, SHUT_WR);
	if (c->close_after_handler) {
		for (;;) {
			int calls;

			pthread_mutex_lock(&c->f->lock);
			calls = c->f->calls;
			pthread_mutex_unlock(&c->f->lock);
			if (calls)
				break;
			usleep(1000);
		}
		close(fd);
		return 0;
	}
	while (c->big) {
		ssize_t n = recv(fd, c->big + c->big_len, c->big_cap - 1 - c->big_len, 0);

		if (n <= 0)
			break;
		c->big_len += (size_t)n;
		c->big[c->big_len] = '\0';
	}
	for (;;) {
		ssize_t n = recv(fd, c->reply + c->reply_len, sizeof(c->reply) - 1 - c->reply_len, 0);

		if (n <= 0)
			break;
		c->reply_len += (size_t)n;
	}
	c->reply[c->reply_len] = '\0';
	close(fd);
	return 0;
}

static void *client_thread(void *arg)
{
	struct client *c = arg;

	c->connect_errno = -client_talk(c);
	pthread_mutex_lock(&c->f->lock);
	c->f->clients_done++;
	pthread_mutex_unlock(&c->f->lock);
	return NULL;
}

static int target_clients;

static bool all_clients_done(struct fixture *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->clients_done;
	pthread_mutex_unlock(&f->lock);
	return n >= target_clients;
}

/* Runs the clients in threads while serving; joins them. */
static void run_clients(struct fixture *f, struct client *cs, int n)
{
	pthread_t th[MAX_REQS];

	f->clients_done = 0;
	target_clients = n;
	for (int i = 0; i < n; i++) {
		cs[i].f = f;
		cs[i].path = f->path;
		if (!cs[i].send_len)
			cs[i].send_len = strlen(cs[i].send);
		assert_int_equal(pthread_create(&th[i], NULL, client_thread, &cs[i]), 0);
	}
	serve_until(f, all_clients_done);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* The reply's lines, parsed. Returns how many; asserts each is JSON. */
static int reply_lines(const char *reply, cJSON **lines, int max)
{
	int n = 0;
	const char *p = reply;

	while (*p) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);	/* every line ends with "\n" */
		assert_true(n < max);
		lines[n] = cJSON_ParseWithLength(p, (size_t)(nl - p));
		assert_non_null(lines[n]);
		n++;
		p = nl + 1;
	}
	return n;
}

static void free_lines(cJSON **lines, int n)
{
	for (int i = 0; i < n; i++)
		cJSON_Delete(lines[i]);
}

static void assert_final_error(const char *reply, const char *substr)
{
	cJSON *lines[4];
	int n = reply_lines(reply, lines, 4);

	assert_int_equal(n, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[0], "final")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(lines[0], "ok")));
	assert_non_null(strstr(cJSON_GetObjectItem(lines[0], "error")->valuestring, substr));
	free_lines(lines, n);
}

static void test_reply_now(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"ping\",\"x\":[1,2]}\n" };
	cJSON *lines[4];
	int n;

	f->mode = REPLY_NOW;
	run_clients(f, &c, 1);
	assert_int_equal(c.connect_errno, 0);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->cmds[0], "ping");
	n = reply_lines(c.reply, lines, 4);
	assert_int_equal(n, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[0], "ok")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[0], "final")));
	assert_string_equal(cJSON_GetObjectItem(lines[0], "cmd")->valuestring, "ping");
	free_lines(lines, n);
}

/* A reply far larger than the socket buffer: flushed as the client reads. */
static void test_big_reply(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"big\"}\n", .big_cap = BIG_PAD + 4096 };
	cJSON *lines[8];
	int n;

	c.big = malloc(c.big_cap);
	assert_non_null(c.big);
	c.big[0] = '\0';
	f->mode = REPLY_NOW;
	run_clients(f, &c, 1);
	n = reply_lines(c.big, lines, 8);
	assert_int_equal(n, 4);
	assert_null(cJSON_GetObjectItem(lines[2], "final"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[3], "final")));
	assert_int_equal(strlen(cJSON_GetObjectItem(lines[3], "pad")->valuestring), BIG_PAD);
	free_lines(lines, n);
	free(c.big);
}

static void test_reply_later_with_progress(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"up\"}\n" };
	cJSON *lines[4];
	int n;

	f->mode = REPLY_LATER;
	run_clients(f, &c, 1);
	n = reply_lines(c.reply, lines, 4);
	assert_int_equal(n, 3);
	assert_string_equal(cJSON_GetObjectItem(lines[0], "message")->valuestring, "step 1");
	assert_null(cJSON_GetObjectItem(lines[0], "final"));
	assert_string_equal(cJSON_GetObjectItem(lines[1], "message")->valuestring, "step 2");
	assert_null(cJSON_GetObjectItem(lines[1], "final"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[2], "final")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[2], "ok")));
	free_lines(lines, n);
}

/* A request without "\n", ended by shutdown(SHUT_WR): still answered. */
static void test_half_close(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"status\"}", .half_close = true };
	cJSON *lines[4];
	int n;

	f->mode = REPLY_LATER;
	run_clients(f, &c, 1);
	assert_int_equal(f->calls, 1);
	n = reply_lines(c.reply, lines, 4);
	assert_int_equal(n, 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[2], "ok")));
	free_lines(lines, n);
}

static bool fds_back_to_baseline(struct fixture *f)
{
	/* The listening socket and its two timers (sweep, resume) stay open. */
	return count_fds() == f->baseline_fds + 3;
}

/* A client that connects and sends nothing is dropped after the timeout. */
static void test_idle_client_dropped(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "" };

	api_set_limits(f->api, API_MAX_CONNS, 50);
	f->mode = REPLY_NOW;
	run_clients(f, &c, 1);
	assert_int_equal(f->calls, 0);
	assert_final_error(c.reply, "no request received in time");
	serve_until(f, fds_back_to_baseline);
}

/* Over the connection cap, a client is told so and closed; the others are
 * served. */
static void test_connection_cap(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"status\"}\n" };
	int idle[2];

	api_set_limits(f->api, 2, 60000);
	f->mode = REPLY_NOW;
	for (int i = 0; i < 2; i++)
		assert_true((idle[i] = client_connect(f->path)) >= 0);
	run_clients(f, &c, 1);
	assert_int_equal(f->calls, 0);
	assert_final_error(c.reply, "meshwgd is busy: 2 connections");
	close(idle[0]);
	close(idle[1]);
	serve_until(f, fds_back_to_baseline);
	run_clients(f, &c, 1);	/* room again */
	assert_int_equal(f->calls, 1);
}

static int polls;
static bool some_polls(struct fixture *f)
{
	(void)f;
	return ++polls >= 50;
}

/* accept() out of file descriptors: the listener rests (one log line)
 * instead of spinning on the pending client. */
static void test_emfile_no_spin(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, low;
	char path[128], line[256];
	int saved = dup(2), fd, cl, lines = 0, fill[64], nfill = 0;
	FILE *log;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	snprintf(path, sizeof(path), "%s/stderr", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	/* Every descriptor taken but one, which the client's socket takes:
	 * the server's accept() then fails with EMFILE. */
	low = old;
	low.rlim_cur = (rlim_t)count_fds() + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 64 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fill[nfill++] = fd;
	assert_true(nfill > 0 && nfill < 64);
	close(fill[--nfill]);
	cl = client_connect(f->path);
	assert_true(cl >= 0);
	polls = 0;
	log_set_level(LOG_WARN_);
	serve_until(f, some_polls);
	log_set_level(LOG_ERROR_);
	while (nfill)
		close(fill[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(cl);
	log = fopen(path, "r");
	assert_non_null(log);
	while (fgets(line, sizeof(line), log))
		if (strstr(line, "accept"))
			lines++;
	fclose(log);
	unlink(path);
	assert_true(lines >= 1);
	assert_true(lines <= 2);
}

static void test_client_gone_before_reply(void **state)
{
	struct fixture *f = *state;
	struct client c = { .send = "{\"cmd\":\"up\"}\n", .close_after_handler = true };
	cJSON *msg = cJSON_CreateObject(), *o = cJSON_CreateObject();

	f->mode = HOLD;
	run_clients(f, &c, 1);
	assert_int_equal(f->nheld, 1);
	/* The server notices the hang-up and closes its end. */
	serve_until(f, fds_back_to_baseline);
	cJSON_AddStringToObject(msg, "message", "nobody listens");
	api_progress(f->held[0], msg);
	cJSON_AddTrueToObject(o, "ok");
	api_reply(f->held[0], o);	/* only frees (valgrind checks) */
	f->nheld = 0;
	cJSON_Delete(msg);
	assert_true(fds_back_to_baseline(f));
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	size_t big = API_MAX_REQUEST + 100;
	char *buf = malloc(big + 1);
	struct client c = { 0 };

	assert_non_null(buf);
	memset(buf, ' ', big);
	memcpy(buf, "{\"cmd\":\"x\",\"pad\":\"", 18);
	buf[big - 2] = '}';
	buf[big - 1] = '\n';
	buf[big] = '\0';
	c.send = buf;
	f->mode = REPLY_NOW;
	run_clients(f, &c, 1);
	assert_int_equal(f->calls, 0);
	assert_final_error(c.reply, "request too large");
	free(buf);
}

/* A request of exactly API_MAX_REQUEST bytes, "\n" included, is served. */
static void test_largest_request(void **state)
{
	struct fixture *f = *state;
	size_t len = API_MAX_REQUEST;
	char *buf = malloc(len + 1);
	struct client c = { 0 };
	cJSON *lines[4];
	int n;

	assert_non_null(buf);
	memset(buf, 'a', len);
	memcpy(buf, "{\"cmd\":\"max\",\"pad\":\"", 20);
	memcpy(buf + len - 3, "\"}\n", 3);
	buf[len] = '\0';
	c.send = buf;
	f->mode = REPLY_NOW;
	run_clients(f, &c, 1);
	assert_int_equal(f->calls, 1);
	n = reply_lines(c.reply, lines, 4);
	assert_int_equal(n, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines[0], "ok")));
	free_lines(lines, n);
	free(buf);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct client cs[5] = {
		{ .send = "not json\n" },
		{ .send = "[1,2]\n" },
		{ .send = "{\"x\":1}\n" },
		{ .send = "{\"cmd\":5}\n" },
		{ .send = "{\"cmd\":\"\"}\n" },
	};

	f->mode = REPLY_NOW;
	run_clients(f, cs, 5);
	assert_int_equal(f->calls, 0);
	assert_final_error(cs[0].reply, "not a JSON object");
	assert_final_error(cs[1].reply, "not a JSON object");
	assert_final_error(cs[2].reply, "no \"cmd\" string");
	assert_final_error(cs[3].reply, "no \"cmd\" string");
	assert_final_error(cs[4].reply, "no \"cmd\" string");
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	struct client cs[8] = { 0 };
	char reqs[8][32];

	for (int i = 0; i < 8; i++) {
		snprintf(reqs[i], sizeof(reqs[i]), "{\"cmd\":\"c%d\"}\n", i);
		cs[i].send = reqs[i];
	}
	/* Held, then answered from a timer, newest first. */
	f->mode = REPLY_LATER;
	run_clients(f, cs, 8);
	assert_int_equal(f->calls, 8);
	for (int i = 0; i < 8; i++) {
		cJSON *lines[12], *last;
		char want[8];
		int n = reply_lines(cs[i].reply, lines, 12);

		snprintf(want, sizeof(want), "c%d", i);
		assert_true(n >= 2);
		last = lines[n - 1];
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(last, "final")));
		assert_string_equal(cJSON_GetObjectItem(last, "cmd")->valuestring, want);
		free_lines(lines, n);
	}
}

static bool child_exited(struct fixture *f)
{
	return waitpid(f->child, &f->child_status, WNOHANG) == f->child;
}

/*
 * Forks a child that takes uid 65534, primary group gid and the given
 * supplementary groups, then talks to the server. Exit status: 0 served as
 * uid 65534 in the API's group, 3 served as uid 65534 not in it, 1
 * anything else.
 */
static int talk_as(struct fixture *f, gid_t gid, const gid_t *groups, size_t ngroups)
{
	f->child = fork();
	assert_true(f->child >= 0);
	if (!f->child) {
		struct client c = { .f = f, .path = f->path, .send = "{\"cmd\":\"status\"}\n" };

		c.send_len = strlen(c.send);
		if (setgroups(ngroups, groups) || setgid(gid) || setuid(65534))
			_exit(1);
		/* The calls counter is not shared with the parent: plain reply. */
		if (client_talk(&c) || !strstr(c.reply, "\"ok\":true") ||
		    !strstr(c.reply, "\"uid\":65534"))
			_exit(1);
		if (strstr(c.reply, "\"in_group\":true"))
			_exit(0);
		if (strstr(c.reply, "\"in_group\":false"))
			_exit(3);
		_exit(1);
	}
	serve_until(f, child_exited);
	assert_true(WIFEXITED(f->child_status));
	return WEXITSTATUS(f->child_status);
}

static void reopen(struct fixture *f, gid_t gid)
{
	char err[256];

	api_close(f->api);
	assert_int_equal(api_open(&f->api, &f->loop, f->path, gid, handler, f, err, sizeof(err)), 0);
}

/* Anyone may connect (mode 0666); the handler learns the uid and whether
 * the client is in the API's group, from numbers only (no NSS). */
static void test_peer_credentials(void **state)
{
	struct fixture *f = *state;
	const gid_t group = 4242, other = 4243;
	const gid_t supp[] = { 4244, group };
	struct stat st;

	f->mode = REPLY_NOW;
	nss_calls = 0;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	if (geteuid() != 0) {
		/* Not root: our own group, then none. */
		struct client c = { .send = "{\"cmd\":\"status\"}\n" };
		struct client d = { .send = "{\"cmd\":\"status\"}\n" };
		char uid[32];

		snprintf(uid, sizeof(uid), "\"uid\":%u", (unsigned int)geteuid());
		reopen(f, getegid());
		run_clients(f, &c, 1);
		assert_non_null(strstr(c.reply, uid));
		assert_non_null(strstr(c.reply, "\"in_group\":true"));
		reopen(f, (gid_t)-1);
		run_clients(f, &d, 1);
		assert_non_null(strstr(d.reply, "\"in_group\":false"));
		assert_int_equal(nss_calls, 0);
		return;
	}
	/* No group (gid -1): uid 65534 is served, not in the group. */
	assert_int_equal(talk_as(f, group, NULL, 0), 3);

	/* Group 4242. */
	reopen(f, group);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(talk_as(f, other, NULL, 0), 3);	/* not in the group */
	assert_int_equal(talk_as(f, group, NULL, 0), 0);	/* primary group */
	assert_int_equal(talk_as(f, other, supp, 2), 0);	/* supplementary */

	/* SIGHUP moved meshwgd to another group: it alone is in_group. */
	api_set_gid(f->api, other);
	assert_int_equal(talk_as(f, group, NULL, 0), 3);
	assert_int_equal(talk_as(f, other, NULL, 0), 0);
	api_set_gid(f->api, (gid_t)-1);
	assert_int_equal(talk_as(f, other, NULL, 0), 3);
	assert_int_equal(f->calls, 7);
	assert_int_equal(nss_calls, 0);
	/* root itself */
	{
		struct client c = { .send = "{\"cmd\":\"status\"}\n" };

		run_clients(f, &c, 1);
		assert_non_null(strstr(c.reply, "\"uid\":0,"));
	}
}

static void test_live_and_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct api *second = NULL;
	char err[256], file[160];
	int fd;

	/* A live server on the path: refused, and the live socket is intact. */
	assert_int_equal(api_open(&second, &f->loop, f->path, (gid_t)-1, handler, f,
				  err, sizeof(err)), -EADDRINUSE);
	assert_null(second);
	assert_non_null(strstr(err, "another meshwgd is running on"));
	assert_non_null(strstr(err, f->path));
	{
		struct client c = { .send = "{\"cmd\":\"still-here\"}\n" };

		f->mode = REPLY_NOW;
		run_clients(f, &c, 1);
		assert_non_null(strstr(c.reply, "still-here"));
	}

	/* A stale socket (bound, nobody listening): replaced. */
	api_close(f->api);
	f->api = NULL;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(api_open(&f->api, &f->loop, f->path, (gid_t)-1, handler, f,
				  err, sizeof(err)), 0);

	/* Not a socket: refused and left alone. */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(api_open(&second, &f->loop, file, (gid_t)-1, handler, f,
				  err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);

	/* A path too long for sun_path. */
	memset(file, 'a', sizeof(file) - 1);
	file[0] = '/';
	file[sizeof(file) - 1] = '\0';
	assert_int_equal(api_open(&second, &f->loop, file, (gid_t)-1, handler, f,
				  err, sizeof(err)), -ENAMETOOLONG);
}

static bool one_held(struct fixture *f)
{
	return f->nheld == 1;
}

struct shutdown_client {
	struct client c;
	pthread_t th;
};

static void test_close_with_pending(void **state)
{
	struct fixture *f = *state;
	struct shutdown_client s = { .c = { .send = "{\"cmd\":\"up\"}\n" } };
	struct stat st;
	char dir[160];

	s.c.f = f;
	s.c.path = f->path;
	s.c.send_len = strlen(s.c.send);
	f->mode = HOLD;
	assert_int_equal(pthread_create(&s.th, NULL, client_thread, &s.c), 0);
	serve_until(f, one_held);
	api_close(f->api);	/* frees the held request */
	f->api = NULL;
	f->nheld = 0;
	pthread_join(s.th, NULL);
	assert_final_error(s.c.reply, "meshwgd is shutting down");
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* The directory was made with mode 0755. */
	snprintf(dir, sizeof(dir), "%s/run/meshwg", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reply_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_later_with_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_before_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_client_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emfile_no_spin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_largest_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_and_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR_);	/* refusals are logged as warnings */
	alarm(300);	/* a hang fails the run instead of blocking CI */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
