// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's local API, client side (apiclient.h). */

#include "apiclient.h"
#include "escape.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A status of many thousands of peers is a few MB; this is a sanity cap. */
#define MAX_LINE (256u * 1024 * 1024)

const char *apiclient_socket;

const char *apiclient_path(void)
{
	const char *env;

	if (apiclient_socket)
		return apiclient_socket;
	env = getenv("MESHWG_SOCKET");
	return env && env[0] ? env : APICLIENT_DEFAULT_SOCKET;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline (< 0: none). 0, or -ETIMEDOUT/-errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int timeout = -1, n;

		if (deadline >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&p, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static int connect_daemon(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	/* A local connect completes (or fails) at once. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	e = errno;
	close(fd);
	if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
		snprintf(err, errlen, "%s", APICLIENT_NOT_RUNNING);
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "permission denied on %s: run as root or as a member of "
			 "meshwgd's group", path);
	else if (e == EAGAIN)
		snprintf(err, errlen, "meshwgd is too busy to accept a connection on %s", path);
	else
		snprintf(err, errlen, "cannot connect to meshwgd on %s: %s", path, strerror(e));
	return -e;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline, char *err,
		    size_t errlen)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int ret;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ret = -errno;
			snprintf(err, errlen, "sending the request to meshwgd: %s", strerror(errno));
			return ret;
		}
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

struct linebuf {
	char *buf;
	size_t len, cap;
};

/* Handles every complete line in lb. 1: final line seen, 0: more needed, <0 error. */
static int take_lines(struct linebuf *lb, apiclient_progress_cb cb, void *arg,
		      cJSON **final, char *err, size_t errlen)
{
	size_t start = 0;
	int ret = 0;

	for (;;) {
		char *nl = memchr(lb->buf + start, '\n', lb->len - start);
		cJSON *line;

		if (!nl)
			break;
		line = cJSON_ParseWithLength(lb->buf + start, (size_t)(nl - lb->buf - start));
		start = (size_t)(nl - lb->buf) + 1;
		if (!line || !cJSON_IsObject(line)) {
			cJSON_Delete(line);
			snprintf(err, errlen, "meshwgd sent a reply that is not a JSON object");
			return -EPROTO;
		}
		/* Names and errors come from the control server and its nodes:
		 * nothing the verbs print may carry a control character. */
		esc_json_strings(line);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(line, "final"))) {
			*final = line;
			ret = 1;
			break;
		}
		if (cb)
			cb(line, arg);
		cJSON_Delete(line);
	}
	memmove(lb->buf, lb->buf + start, lb->len - start);
	lb->len -= start;
	return ret;
}

int apiclient_call(const char *path, const cJSON *req, int timeout_ms,
		   apiclient_progress_cb cb, void *arg, cJSON **final, char *err, size_t errlen)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct linebuf lb = { 0 };
	char *text;
	size_t len;
	int fd, ret;

	*final = NULL;
	err[0] = '\0';
	text = cJSON_PrintUnformatted(req);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	len = strlen(text);
	fd = connect_daemon(path, err, errlen);
	if (fd < 0) {
		free(text);
		return fd;
	}
	text[len] = '\n';	/* replaces the terminator; len + 1 bytes are sent */
	ret = send_all(fd, text, len + 1, deadline, err, errlen);
	free(text);
	while (!ret) {
		ssize_t n;

		if (lb.len == lb.cap) {
			size_t cap = lb.cap ? lb.cap * 2 : 65536;
			char *b;

			if (cap > MAX_LINE) {
				snprintf(err, errlen, "meshwgd sent a reply line longer than %u bytes",
					 MAX_LINE);
				ret = -EPROTO;
				break;
			}
			b = realloc(lb.buf, cap);
			if (!b) {
				snprintf(err, errlen, "out of memory");
				ret = -ENOMEM;
				break;
			}
			lb.buf = b;
			lb.cap = cap;
		}
		n = recv(fd, lb.buf + lb.len, lb.cap - lb.len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ret = wait_fd(fd, POLLIN, deadline);
				continue;
			}
			ret = -errno;
			snprintf(err, errlen, "reading meshwgd's reply: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			snprintf(err, errlen, "meshwgd closed the connection without a final reply");
			ret = -EPROTO;
			break;
		}
		lb.len += (size_t)n;
		ret = take_lines(&lb, cb, arg, final, err, errlen);
		if (ret == 1) {
			ret = 0;
			break;
		}
	}
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "timed out after %d s waiting for meshwgd", (timeout_ms + 999) / 1000);
	else if (ret && !err[0])
		snprintf(err, errlen, "talking to meshwgd: %s", strerror(-ret));
	free(lb.buf);
	close(fd);
	return ret;
}

cJSON *apiclient_simple(const char *cmd, int timeout_ms)
{
	cJSON *req = cJSON_CreateObject(), *final = NULL;
	const char *env = getenv("MESHWG_TIMEOUT");
	const cJSON *e;
	char err[512], *end;

	if (env && *env) {
		long s = strtol(env, &end, 10);

		if (!*end && s > 0 && s <= 86400)
			timeout_ms = (int)s * 1000;
	}
	if (!req || !cJSON_AddStringToObject(req, "cmd", cmd)) {
		cJSON_Delete(req);
		fprintf(stderr, "meshwg: out of memory\n");
		return NULL;
	}
	if (apiclient_call(apiclient_path(), req, timeout_ms, NULL, NULL, &final, err, sizeof(err))) {
		cJSON_Delete(req);
		fprintf(stderr, "meshwg: %s\n", err);
		return NULL;
	}
	cJSON_Delete(req);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(final, "ok")))
		return final;
	e = cJSON_GetObjectItemCaseSensitive(final, "error");
	fprintf(stderr, "meshwg: %s\n", cJSON_IsString(e) ? e->valuestring : "meshwgd reported an error");
	cJSON_Delete(final);
	return NULL;
}
