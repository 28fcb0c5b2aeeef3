// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The CLI's local-API transport (tools/apiclient.c) against a fake meshwgd:
 * a thread answering on a UNIX socket in a temporary directory.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "apiclient.h"

struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t th;
	const char *reply;	/* written after the request line is read */
	size_t reply_len;
	bool hold;		/* keep the connection open without replying */
	int hold_fd;
	char request[1024];	/* the request line received */
};

static void *serve(void *arg)
{
	struct fake *f = arg;
	size_t len = 0, off = 0;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (len < sizeof(f->request) - 1 && !memchr(f->request, '\n', len)) {
		ssize_t n = recv(fd, f->request + len, sizeof(f->request) - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	f->request[len] = '\0';
	if (f->hold) {
		f->hold_fd = fd;	/* closed by the test */
		return NULL;
	}
	while (off < f->reply_len) {
		ssize_t n = send(fd, f->reply + off, f->reply_len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *reply, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	f->reply = reply;
	f->reply_len = len ? len : strlen(reply);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	strcpy(sun.sun_path, f->path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	if (f->hold_fd >= 0)
		close(f->hold_fd);
	f->hold_fd = -1;
	close(f->lfd);
	unlink(f->path);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/meshwg-apiclient-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/meshwgd.sock", f->dir);
	f->hold_fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static cJSON *request(const char *cmd)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "cmd", cmd);
	return r;
}

struct progress {
	int n;
	char msgs[4][64];
};

static void on_progress(const cJSON *line, void *arg)
{
	struct progress *p = arg;
	const cJSON *m = cJSON_GetObjectItem(line, "message");

	assert_true(p->n < 4);
	snprintf(p->msgs[p->n++], sizeof(p->msgs[0]), "%s", cJSON_IsString(m) ? m->valuestring : "?");
}

static void test_progress_then_final(void **state)
{
	struct fake *f = *state;
	struct progress p = { 0 };
	cJSON *req = request("up"), *final = NULL;
	char err[256];

	cJSON_AddStringToObject(req, "auth_key", "k1");
	fake_start(f, "{\"message\":\"registering\"}\n{\"message\":\"run: approve 7\"}\n"
		      "{\"ok\":true,\"final\":true,\"status\":{\"backend_state\":\"Running\"}}\n"
		      "{\"ignored\":true}\n", 0);
	assert_int_equal(apiclient_call(f->path, req, -1, on_progress, &p, &final, err, sizeof(err)), 0);
	fake_stop(f);
	assert_string_equal(f->request, "{\"cmd\":\"up\",\"auth_key\":\"k1\"}\n");
	assert_int_equal(p.n, 2);
	assert_string_equal(p.msgs[0], "registering");
	assert_string_equal(p.msgs[1], "run: approve 7");
	assert_non_null(final);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(final, "ok")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(final, "status"),
						"backend_state")->valuestring, "Running");
	cJSON_Delete(final);
	cJSON_Delete(req);
}

/* An error reply is a successful call: the caller reads "ok" and "error". */
static void test_error_reply(void **state)
{
	struct fake *f = *state;
	cJSON *req = request("up"), *final = NULL;
	char err[256];

	fake_start(f, "{\"ok\":false,\"error\":\"the control server refused the auth key: "
		      "auth key already used\",\"final\":true}\n", 0);
	assert_int_equal(apiclient_call(f->path, req, -1, NULL, NULL, &final, err, sizeof(err)), 0);
	fake_stop(f);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(final, "ok")));
	assert_non_null(strstr(cJSON_GetObjectItem(final, "error")->valuestring, "already used"));
	cJSON_Delete(final);
	cJSON_Delete(req);
}

/* A final line of several MB, delivered in many reads. */
static void test_big_reply(void **state)
{
	struct fake *f = *state;
	size_t pad = 3u << 20, len;
	char *reply = malloc(pad + 64);
	cJSON *req = request("status"), *final = NULL;
	char err[256];

	assert_non_null(reply);
	len = (size_t)sprintf(reply, "{\"ok\":true,\"final\":true,\"pad\":\"");
	memset(reply + len, 'x', pad);
	len += pad;
	len += (size_t)sprintf(reply + len, "\"}\n");
	fake_start(f, reply, len);
	assert_int_equal(apiclient_call(f->path, req, -1, NULL, NULL, &final, err, sizeof(err)), 0);
	fake_stop(f);
	assert_int_equal(strlen(cJSON_GetObjectItem(final, "pad")->valuestring), pad);
	cJSON_Delete(final);
	cJSON_Delete(req);
	free(reply);
}

static void expect_failure(struct fake *f, const char *reply, int want, const char *msg)
{
	cJSON *req = request("status"), *final = (cJSON *)1;
	char err[256];

	fake_start(f, reply, 0);
	assert_int_equal(apiclient_call(f->path, req, -1, NULL, NULL, &final, err, sizeof(err)), want);
	fake_stop(f);
	assert_null(final);
	assert_non_null(strstr(err, msg));
	cJSON_Delete(req);
}

static void test_bad_replies(void **state)
{
	struct fake *f = *state;

	expect_failure(f, "", -EPROTO, "closed the connection without a final reply");
	expect_failure(f, "{\"message\":\"x\"}\n", -EPROTO, "without a final reply");
	expect_failure(f, "{\"ok\":true,\"final\":true}", -EPROTO, "without a final reply");
	expect_failure(f, "garbage\n", -EPROTO, "not a JSON object");
	expect_failure(f, "[1]\n", -EPROTO, "not a JSON object");
}

static void test_not_running(void **state)
{
	struct fake *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	cJSON *req = request("status"), *final = NULL;
	char err[256];
	int fd;

	/* No socket file. */
	assert_int_equal(apiclient_call(f->path, req, -1, NULL, NULL, &final, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, APICLIENT_NOT_RUNNING);
	/* A socket file nobody listens on (a daemon that died). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(apiclient_call(f->path, req, -1, NULL, NULL, &final, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_string_equal(err, APICLIENT_NOT_RUNNING);
	assert_null(final);
	cJSON_Delete(req);
}

/* The daemon accepts but never answers: --timeout ends the wait. */
static void test_timeout(void **state)
{
	struct fake *f = *state;
	cJSON *req = request("up"), *final = NULL;
	char err[256];

	f->hold = true;
	fake_start(f, "", 0);
	assert_int_equal(apiclient_call(f->path, req, 100, NULL, NULL, &final, err, sizeof(err)),
			 -ETIMEDOUT);
	fake_stop(f);
	assert_string_equal(f->request, "{\"cmd\":\"up\"}\n");	/* sent before waiting */
	assert_string_equal(err, "timed out after 1 s waiting for meshwgd");
	assert_null(final);
	cJSON_Delete(req);
}

static void test_socket_path(void **state)
{
	(void)state;
	apiclient_socket = NULL;
	unsetenv("MESHWG_SOCKET");
	assert_string_equal(apiclient_path(), "/run/meshwg/meshwgd.sock");
	setenv("MESHWG_SOCKET", "/tmp/env.sock", 1);
	assert_string_equal(apiclient_path(), "/tmp/env.sock");
	apiclient_socket = "/tmp/opt.sock";
	assert_string_equal(apiclient_path(), "/tmp/opt.sock");
	apiclient_socket = NULL;
	setenv("MESHWG_SOCKET", "", 1);
	assert_string_equal(apiclient_path(), "/run/meshwg/meshwgd.sock");
	unsetenv("MESHWG_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_progress_then_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test(test_socket_path),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
