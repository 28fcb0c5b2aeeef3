// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd's local API (api.h): a UNIX stream socket served from the loop.
 *
 * One connection carries one request. A connection reads until "\n" (or
 * EOF), checks the JSON, then hands it to the handler and waits for
 * api_reply(); meanwhile it watches only for the client hanging up (a
 * half-closed client still gets its reply). Output
 * is buffered and flushed as the socket accepts it; after the final line
 * the connection closes once the buffer is empty.
 */

#include "api.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* A client that stops reading is dropped once this much output waits. */
#define API_MAX_OUTPUT (64u * 1024 * 1024)
/* After accept() ran out of file descriptors (or memory), the listener
 * rests this long instead of failing again at once, level-triggered. */
#define API_ACCEPT_PAUSE_MS 1000

enum conn_state {
	CONN_READING,	/* collecting the request line */
	CONN_HANDLING,	/* the handler owns a struct api_req */
	CONN_CLOSING,	/* final line queued; close once flushed */
};

struct conn {
	struct api *api;
	int fd;
	enum conn_state state;
	bool read_eof;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	struct api_req *req;
	struct api_cred cred;
	uint64_t deadline;	/* CLOCK_MONOTONIC ms; 0 while the handler works */
	struct conn *prev, *next;
};

struct api_req {
	struct api *api;
	struct conn *conn;	/* NULL once the client went away */
	struct api_cred cred;
	struct api_req *prev, *next;
};

struct api {
	struct loop *loop;
	int fd;
	char *path;
	gid_t gid;
	api_handler handler;
	void *arg;
	struct conn *conns;
	unsigned n_conns, max_conns;
	uint64_t timeout_ms;
	struct api_req *reqs;
	struct loop_timer sweep;	/* drops connections past their deadline */
	struct loop_timer resume;	/* the listener back after an accept pause */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void conn_free(struct conn *c)
{
	struct api *a = c->api;

	if (c->req)
		c->req->conn = NULL;
	loop_del(a->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c);
	a->n_conns--;
}

static uint32_t conn_events(const struct conn *c)
{
	uint32_t ev = 0;

	if (c->state == CONN_READING && !c->read_eof)
		ev |= EPOLLIN;
	if (c->out_len > c->out_off)
		ev |= EPOLLOUT;
	/* EPOLLHUP and EPOLLERR are always reported: that is how a client
	 * that went away is noticed while its request is handled. */
	return ev;
}

/* Writes what the socket takes. Returns false when the connection was freed. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("api: client went away: %s", strerror(errno));
			conn_free(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->state == CONN_CLOSING) {
			conn_free(c);
			return false;
		}
	}
	loop_mod(c->api->loop, c->fd, conn_events(c));
	return true;
}

/* Queues one JSON line. false: out of memory or the client stopped reading
 * (the caller frees the connection). */
static bool conn_queue(struct conn *c, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	size_t len, need;

	if (!text)
		return false;
	if (c->out_off) {	/* drop what was sent already */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	len = strlen(text);
	need = c->out_len + len + 1;
	if (need > API_MAX_OUTPUT) {
		log_warn("api: client does not read its replies; dropping it");
		free(text);
		return false;
	}
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		while (cap < need)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n) {
			free(text);
			return false;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(text);
	return true;
}

/* Queues obj (not consumed) as the final line, adding "final": true, and
 * closes once it is written. The connection may be freed on return. */
static void conn_final(struct conn *c, cJSON *obj)
{
	cJSON_DeleteItemFromObject(obj, "final");
	if (!cJSON_AddTrueToObject(obj, "final") || !conn_queue(c, obj)) {
		conn_free(c);
		return;
	}
	c->state = CONN_CLOSING;
	c->deadline = mono_ms() + c->api->timeout_ms;	/* to take the reply */
	conn_flush(c);
}

static void conn_error(struct conn *c, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddFalseToObject(o, "ok") || !cJSON_AddStringToObject(o, "error", msg)) {
		cJSON_Delete(o);
		conn_free(c);
		return;
	}
	conn_final(c, o);
	cJSON_Delete(o);
}

static void req_unlink(struct api_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->api->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

cJSON *api_parse_request(const char *line, size_t len, const char **why)
{
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *cmd;

	if (!cJSON_IsObject(req)) {
		cJSON_Delete(req);
		*why = "request is not a JSON object";
		return NULL;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	if (!cJSON_IsString(cmd) || !cmd->valuestring[0]) {
		cJSON_Delete(req);
		*why = "request has no \"cmd\" string";
		return NULL;
	}
	return req;
}

/* The request line is complete (len bytes, without "\n"). */
static void conn_request(struct conn *c, size_t len)
{
	struct api *a = c->api;
	const cJSON *cmd;
	const char *why;
	struct api_req *r;
	cJSON *req;

	req = api_parse_request(c->in, len, &why);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	if (!req) {
		conn_error(c, why);
		return;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	r = calloc(1, sizeof(*r));
	if (!r) {
		cJSON_Delete(req);
		conn_error(c, "meshwgd is out of memory");
		return;
	}
	r->api = a;
	r->conn = c;
	r->cred = c->cred;
	r->next = a->reqs;
	if (a->reqs)
		a->reqs->prev = r;
	a->reqs = r;
	c->req = r;
	c->state = CONN_HANDLING;
	c->deadline = 0;	/* `up` may wait as long as it must */
	loop_mod(a->loop, c->fd, conn_events(c));
	log_debug("api: request %s", cmd->valuestring);
	/* The handler may reply at once, which can free c: c is not used after. */
	a->handler(r, req, a->arg);
	cJSON_Delete(req);
}

static void conn_read(struct conn *c)
{
	for (;;) {
		char *nl;
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
			char *b;

			if (c->in_cap >= API_MAX_REQUEST) {
				conn_error(c, "request too large (the limit is 65536 bytes)");
				return;
			}
			if (cap > API_MAX_REQUEST)
				cap = API_MAX_REQUEST;
			b = realloc(c->in, cap);
			if (!b) {
				conn_error(c, "meshwgd is out of memory");
				return;
			}
			c->in = b;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_free(c);
			return;
		}
		if (n == 0) {
			/* EOF ends a request sent without "\n"; nothing sent: gone. */
			c->read_eof = true;
			if (!c->in_len) {
				conn_free(c);
				return;
			}
			conn_request(c, c->in_len);
			return;
		}
		nl = memchr(c->in + c->in_len, '\n', (size_t)n);
		c->in_len += (size_t)n;
		if (nl) {
			conn_request(c, (size_t)(nl - c->in));
			return;
		}
	}
}

static void conn_cb(int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (events & EPOLLOUT) {
		if (!conn_flush(c))
			return;
	}
	/* Reading: a request may come with the hang-up (EOF ends it). */
	if (c->state == CONN_READING && !c->read_eof && (events & EPOLLIN)) {
		conn_read(c);
		return;
	}
	/* The client closed (or reset) its end: nobody reads the replies.
	 * (While the request is handled, only this is watched for.) */
	if (events & (EPOLLHUP | EPOLLERR))
		conn_free(c);
}

static bool gid_in_list(gid_t gid, const gid_t *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i] == gid)
			return true;
	return false;
}

/* The client's uid, gid and pid, and whether the API's group is its
 * primary or one of its current supplementary groups: numbers from the
 * kernel only, no user or group database (NSS) in the loop. */
static int peer_cred(const struct api *a, int fd, struct api_cred *out, char *why,
		     size_t whylen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(why, whylen, "permission denied: cannot read the client's credentials: %s",
			 strerror(errno));
		return -1;
	}
	out->uid = cred.uid;
	out->gid = cred.gid;
	out->pid = cred.pid;
	out->in_group = false;
	if (a->gid == (gid_t)-1)
		return 0;
	len = sizeof(groups);
	out->in_group = cred.gid == a->gid ||
		(!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) &&
		 gid_in_list(a->gid, groups, (int)(len / sizeof(gid_t))));
	return 0;
}

const struct api_cred *api_req_cred(const struct api_req *r)
{
	return &r->cred;
}

/* Every second (while there are connections): a client that sends no
 * complete request, or does not take its reply, within timeout_ms goes. */
static void sweep_cb(void *arg)
{
	struct api *a = arg;
	uint64_t now = mono_ms();
	struct conn *c, *next;

	for (c = a->conns; c; c = next) {
		next = c->next;
		if (!c->deadline || now < c->deadline)
			continue;
		log_debug("api: dropping a client that %s",
			  c->state == CONN_READING ? "sent no request" : "does not read its reply");
		if (c->state == CONN_READING)
			conn_error(c, "no request received in time");
		else
			conn_free(c);
	}
	if (a->conns)
		loop_timer_arm(&a->sweep, a->timeout_ms < 2000 ? a->timeout_ms / 2 + 1 : 1000);
}

static void resume_cb(void *arg)
{
	struct api *a = arg;

	loop_mod(a->loop, a->fd, EPOLLIN);
}

/* Over the connection cap: one line, best effort, and closed. */
static void refuse_busy(struct api *a, int cfd)
{
	char line[160];
	int n = snprintf(line, sizeof(line),
			 "{\"ok\":false,\"error\":\"meshwgd is busy: %u connections (the limit)\","
			 "\"final\":true}\n", a->max_conns);

	(void)!send(cfd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(cfd);
}

static void accept_cb(int fd, uint32_t events, void *arg)
{
	struct api *a = arg;

	(void)events;
	for (;;) {
		char why[160];
		struct conn *c;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending client
			 * stays queued and the listener stays readable, so
			 * rest instead of spinning (one log line per pause). */
			log_warn("api: accept: %s (not accepting for %d ms)", strerror(errno),
				 API_ACCEPT_PAUSE_MS);
			loop_mod(a->loop, a->fd, 0);
			loop_timer_arm(&a->resume, API_ACCEPT_PAUSE_MS);
			return;
		}
		if (a->n_conns >= a->max_conns) {
			refuse_busy(a, cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->api = a;
		c->fd = cfd;
		c->state = CONN_READING;
		c->deadline = mono_ms() + a->timeout_ms;
		if (loop_add(a->loop, cfd, EPOLLIN, conn_cb, c)) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = a->conns;
		if (a->conns)
			a->conns->prev = c;
		a->conns = c;
		a->n_conns++;
		if (!loop_timer_armed(&a->sweep))
			loop_timer_arm(&a->sweep, a->timeout_ms < 2000 ? a->timeout_ms / 2 + 1 : 1000);
		if (peer_cred(a, cfd, &c->cred, why, sizeof(why))) {
			log_warn("api: %s", why);
			conn_error(c, why);
		}
	}
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "directory name too long: %s", dir);
		return -ENAMETOOLONG;
	}
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || !*p) {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
				int e = errno;

				snprintf(err, errlen, "cannot create %s: %s", buf, strerror(e));
				return -e;
			}
			*p = saved;
			if (!saved)
				break;
		}
	}
	return 0;
}

/* An existing file at path: a live daemon's socket (fail), a stale one
 * (removed) or something else (fail). */
static int check_existing(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (!ret) {
		snprintf(err, errlen, "another meshwgd is running on %s", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		ret = -errno;
		snprintf(err, errlen, "cannot check %s: %s", path, strerror(errno));
		return ret;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return ret;
	}
	return 0;
}

int api_open(struct api **out, struct loop *l, const char *path, gid_t gid,
	     api_handler h, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)];
	struct api *a;
	char *slash;
	int ret;

	*out = NULL;
	if (!path || !path[0] || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "invalid socket path (at most %zu bytes): %s",
			 sizeof(sun.sun_path) - 1, path ? path : "");
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = mkdir_p(dir, err, errlen);
		if (ret)
			return ret;
	}
	ret = check_existing(path, &sun, err, errlen);
	if (ret)
		return ret;

	a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(path))) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->loop = l;
	a->gid = gid;
	a->handler = h;
	a->arg = arg;
	a->max_conns = API_MAX_CONNS;
	a->timeout_ms = API_TIMEOUT_MS;
	a->sweep.fd = a->resume.fd = -1;
	if (loop_timer_init(l, &a->sweep, sweep_cb, a) || loop_timer_init(l, &a->resume, resume_cb, a)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "cannot create timers");
		goto err_free;
	}
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err_free;
	}
	/* Mode 0666: every local user may connect (read-only requests);
	 * the handler authorizes each request by its credentials. */
	if (bind(a->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto err_close;
	}
	if (chmod(path, 0666) < 0) {	/* whatever the umask was */
		ret = -errno;
		snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	if (listen(a->fd, 64) < 0) {
		ret = -errno;
		snprintf(err, errlen, "listen on %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	ret = loop_add(l, a->fd, EPOLLIN, accept_cb, a);
	if (ret) {
		snprintf(err, errlen, "cannot watch %s: %s", path, strerror(-ret));
		goto err_unlink;
	}
	*out = a;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(a->fd);
err_free:
	loop_timer_destroy(&a->sweep);
	loop_timer_destroy(&a->resume);
	free(a->path);
	free(a);
	return ret;
}

void api_set_limits(struct api *a, unsigned max_conns, uint64_t timeout_ms)
{
	a->max_conns = max_conns ? max_conns : 1;
	a->timeout_ms = timeout_ms ? timeout_ms : 1;
}

void api_set_gid(struct api *a, gid_t gid)
{
	a->gid = gid;
}

void api_close(struct api *a)
{
	if (!a)
		return;
	loop_del(a->loop, a->fd);
	close(a->fd);
	unlink(a->path);
	while (a->reqs) {
		struct api_req *r = a->reqs;

		req_unlink(r);
		if (r->conn) {
			struct conn *c = r->conn;

			c->req = NULL;
			conn_error(c, "meshwgd is shutting down");
		}
		free(r);
	}
	/* What is left: requests being read, and replies being flushed (one
	 * last non-blocking try). */
	while (a->conns) {
		struct conn *c = a->conns;

		if (c->out_len > c->out_off)
			(void)!send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_free(c);
	}
	loop_timer_destroy(&a->sweep);
	loop_timer_destroy(&a->resume);
	free(a->path);
	free(a);
}

void api_progress(struct api_req *r, const cJSON *obj)
{
	struct conn *c = r->conn;

	if (!c || !obj)
		return;
	if (!conn_queue(c, obj)) {
		conn_free(c);
		return;
	}
	conn_flush(c);
}

void api_reply(struct api_req *r, cJSON *obj)
{
	struct conn *c = r->conn;

	req_unlink(r);
	free(r);
	if (c) {
		c->req = NULL;
		if (!obj)
			conn_error(c, "meshwgd is out of memory");
		else if (!cJSON_HasObjectItem(obj, "ok") && !cJSON_AddTrueToObject(obj, "ok"))
			conn_free(c);
		else
			conn_final(c, obj);
	}
	cJSON_Delete(obj);
}
