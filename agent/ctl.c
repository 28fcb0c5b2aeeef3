// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The control connection on libcurl multi (ctl.h). */

#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

#include "../control/client/mwgc_client.h"
#include "http.h"
#include "log.h"
#include "state.h"

enum req_op { OP_REGISTER, OP_ROTATE, OP_UPDATE, OP_LOGOUT, OP_STREAM };

struct req {
	struct ctl *c;
	enum req_op op;
	const char *path;
	cJSON *fields;		/* extra/fields given by the caller (owned) */
	char *auth_key, *hostname;
	uint8_t new_priv[32];
	bool fetching_key;	/* phase 1: GET /v1/key */
	bool resynced;		/* sent again once after a clock refusal */
	int64_t date;		/* the reply's HTTP Date, Unix seconds; 0: none */
	struct mwgc_exchange x;	/* what its replies must answer */
	CURL *h;
	struct curl_slist *hdrs;
	char *body;
	struct mwg_buf buf;
	size_t scanned;		/* buf[0..scanned) has no '\n' (stream) */
	size_t max;
	long status;
	char errbuf[CURL_ERROR_SIZE];
	ctl_done_cb cb;
	ctl_msg_cb msg_cb;
	void *arg;
	struct req *next;
};

struct ctl {
	char url[300];		/* as given, pin included */
	/* The server key we trust: from the URL ("#mkey:<hex>"), or pinned in
	 * pin_dir/server.pin the first time (docs/agent.md). */
	char pin_dir[PATH_MAX];
	uint8_t pin[32];
	bool pinned;
	struct loop *loop;
	CURLM *multi;
	struct loop_timer curl_timer, kick_timer, idle_timer;
	struct mwgc m;
	struct req *queue;	/* waiting to start, in order */
	struct req *active;	/* holds the one-at-a-time slot */
	struct req *stream;
	bool stream_accepted;
	uint64_t idle_ms;
	long timeout_s;
	char server_ip[64];	/* where the last reply came from */
};

static void req_free(struct req *r)
{
	if (!r)
		return;
	if (r->h) {
		curl_multi_remove_handle(r->c->multi, r->h);
		curl_easy_cleanup(r->h);
	}
	curl_slist_free_all(r->hdrs);
	free(r->body);
	mwg_buf_free(&r->buf);
	cJSON_Delete(r->fields);
	if (r->auth_key) {
		sodium_memzero(r->auth_key, strlen(r->auth_key));
		free(r->auth_key);
	}
	free(r->hostname);
	sodium_memzero(r->new_priv, sizeof(r->new_priv));
	free(r);
}

static void kick(struct ctl *c)
{
	loop_timer_arm(&c->kick_timer, 0);
}

/* ---- curl <-> loop glue ---- */

static void process(struct ctl *c);

static void on_sock(int fd, uint32_t events, void *arg)
{
	struct ctl *c = arg;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	process(c);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct ctl *c = userp;
	uint32_t ev = 0;

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_del(c->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (loop_add(c->loop, s, ev, on_sock, c) == -EEXIST &&
	    loop_mod(c->loop, s, ev) == -ENOENT) {
		/* A stale watch of a closed socket whose number came back. */
		loop_del(c->loop, s);
		if (loop_add(c->loop, s, ev, on_sock, c))
			log_error("ctl: cannot watch socket %d", (int)s);
	}
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct ctl *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_disarm(&c->curl_timer);
	else
		loop_timer_arm(&c->curl_timer, (uint64_t)timeout_ms);
	return 0;
}

static void on_curl_timer(void *arg)
{
	struct ctl *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process(c);
}

/* ---- HTTP ---- */

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = sz * n;
	int64_t date = mwg_http_date(p, len);

	if (date >= 0)
		r->date = date;

	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		long st = 0;

		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &st);
		if (st >= 200) {
			char *ip = NULL;

			if (!curl_easy_getinfo(r->h, CURLINFO_PRIMARY_IP, &ip) && ip)
				snprintf(r->c->server_ip, sizeof(r->c->server_ip), "%s", ip);
			r->status = st;
			log_debug("ctl: %s%s: HTTP %ld", r->c->m.url, r->fetching_key ? "/v1/key" : r->path, st);
			if (r->op == OP_STREAM && !r->fetching_key && r->c->stream == r) {
				/* The server has checked our nonce: the next request may go. */
				r->c->stream_accepted = st == 200;
				if (r->c->active == r) {
					r->c->active = NULL;
					kick(r->c);
				}
			}
		}
	}
	return len;
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = sz * n;

	if (mwg_http_append(&r->buf, r->max, p, len))
		return 0;
	if (r->op == OP_STREAM && r->c->stream == r && r->c->idle_ms)
		loop_timer_arm(&r->c->idle_timer, r->c->idle_ms);
	return len;
}

/* The request's payload: the same builders as the blocking client's. */
static cJSON *build_payload(struct req *r)
{
	struct mwgc *m = &r->c->m;
	cJSON *p;

	switch (r->op) {
	case OP_REGISTER:
		return mwgc_register_payload(m, r->auth_key, r->hostname, r->fields);
	case OP_ROTATE:
		return mwgc_rotate_payload(m, r->new_priv, r->hostname);
	case OP_STREAM:
		p = mwgc_payload(m, r->fields);
		if (p)
			cJSON_AddTrueToObject(p, "stream");
		return p;
	case OP_UPDATE:
	case OP_LOGOUT:
		return mwgc_payload(m, r->fields);
	}
	return NULL;
}

static void finish(struct req *r, long status, const char *error, const cJSON *reply);

static int start_http(struct req *r)
{
	struct ctl *c = r->c;

	r->h = mwg_http_handle(c->m.url, r->fetching_key ? "/v1/key" : r->path, on_data,
			       on_header, r);
	if (!r->h)
		return -1;
	mwg_buf_free(&r->buf);
	r->scanned = 0;
	r->status = 0;
	r->date = 0;
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 15L);
	if (r->op != OP_STREAM || r->fetching_key)
		curl_easy_setopt(r->h, CURLOPT_TIMEOUT, c->timeout_s);
	if (!r->fetching_key) {
		cJSON *p = build_payload(r);

		r->body = p ? mwgc_seal_request(&c->m, p, &r->x) : NULL;
		cJSON_Delete(p);
		if (!r->body)
			return -1;
		r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
		curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	if (r->op == OP_STREAM && !r->fetching_key && c->idle_ms)
		loop_timer_arm(&c->idle_timer, c->idle_ms);
	return curl_multi_add_handle(c->multi, r->h) == CURLM_OK ? 0 : -1;
}

static void on_kick(void *arg)
{
	struct ctl *c = arg;

	while (!c->active && c->queue) {
		struct req *r = c->queue;

		c->queue = r->next;
		r->next = NULL;
		if (r->op == OP_STREAM) {
			if (c->stream) {
				finish(r, 0, "a map stream is already open", NULL);
				continue;
			}
			c->stream = r;
			c->stream_accepted = false;
		}
		c->active = r;
		r->fetching_key = !c->m.have_server_key;
		if (start_http(r))
			finish(r, 0, "out of memory", NULL);
	}
}

/* Completes r: out of every list, callback, freed. */
static void finish(struct req *r, long status, const char *error, const cJSON *reply)
{
	struct ctl *c = r->c;
	struct ctl_result res = { .status = status, .error = error ? error : "", .reply = reply };

	if (c->active == r) {
		c->active = NULL;
		kick(c);
	}
	if (c->stream == r) {
		c->stream = NULL;
		c->stream_accepted = false;
		loop_timer_disarm(&c->idle_timer);
	}
	if (r->h) {
		curl_multi_remove_handle(c->multi, r->h);
		curl_easy_cleanup(r->h);
		r->h = NULL;
	}
	log_debug("ctl: %s done: %ld %s", r->fetching_key ? "/v1/key" : r->path, status, res.error);
	if (r->cb)
		r->cb(&res, r->arg);
	req_free(r);
}

static void error_from_body(struct req *r, char *out, size_t outlen)
{
	cJSON *j = r->buf.data ? cJSON_Parse(r->buf.data) : NULL;
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));

	if (m)
		snprintf(out, outlen, "%s", m);
	else
		snprintf(out, outlen, "HTTP %ld from %s", r->status, r->c->m.url);
	cJSON_Delete(j);
}

/* Opens one sealed envelope from the server, a reply to r. */
static cJSON *open_sealed(struct req *r, const char *text, char *err, size_t errlen)
{
	struct mwg_err e = { 0 };
	cJSON *msg = mwgc_open(&r->c->m, text, &r->x, &e);

	if (!msg)
		snprintf(err, errlen, "%s", e.msg);
	return msg;
}

/* Delivers the complete lines of the stream. false when the stream was
 * closed (by the callback or because a line was bad). */
static bool deliver_lines(struct ctl *c, struct req *r)
{
	char *line;
	size_t l;

	/* A FULL of 10,000 peers is megabytes in many chunks: search only
	 * what arrived since the last look. */
	while (c->stream == r && r->status == 200 &&
	       (line = mwg_http_line(&r->buf, &r->scanned, &l))) {
		char err[300];
		cJSON *msg;

		msg = l ? open_sealed(r, line, err, sizeof(err)) : NULL;
		mwg_http_line_drop(&r->buf, &r->scanned, l);
		if (!l)
			continue;
		if (!msg) {
			char m[360];

			snprintf(m, sizeof(m), "map stream: %s", err);
			finish(r, 502, m, NULL);
			return false;
		}
		log_debug("ctl: stream message %.40s", cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type")) ?: "?");
		r->msg_cb(msg, r->arg);
		cJSON_Delete(msg);
	}
	if (c->stream == r)
		r->scanned = r->buf.len;
	return c->stream == r;
}

/*
 * The reply of GET /v1/key: the server key, checked against the pin (a
 * changed key is refused: it is what an impostor on the path would send),
 * or pinned now if nothing is (trust on first use). 0 with c->m.spub set.
 */
static int trust_server_key(struct ctl *c, struct req *r, char *err, size_t errlen)
{
	cJSON *j = r->buf.data ? cJSON_Parse(r->buf.data) : NULL;
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(j, "server_key"));
	double version = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version"));
	uint8_t key[32];
	char have[MWG_KEY_TEXT_MAX], want[MWG_KEY_TEXT_MAX], serr[300];
	int bad = r->status != 200 || mwg_key_parse(k, "mkey:", key);

	cJSON_Delete(j);
	if (bad) {
		snprintf(err, errlen, "GET %s/v1/key: bad reply (HTTP %ld)", c->m.url, r->status);
		return -1;
	}
	if (version != MWG_PROTOCOL_VERSION) {
		snprintf(err, errlen, "%s speaks protocol version %g, meshwgd %d: upgrade the older one",
			 c->m.url, version, MWG_PROTOCOL_VERSION);
		return -1;
	}
	mwg_key_format(have, sizeof(have), "mkey:", key);
	if (c->pinned && sodium_memcmp(key, c->pin, 32)) {
		mwg_key_format(want, sizeof(want), "mkey:", c->pin);
		snprintf(err, errlen, "the control server's key changed: it now presents %s, but %s is "
			 "pinned (%s%.100s%s); refusing to talk to it. If the server really has a new "
			 "key, remove the pin and log in again", have, want,
			 strchr(c->url, '#') ? "in the login server URL" : "in ",
			 strchr(c->url, '#') ? "" : c->pin_dir,
			 strchr(c->url, '#') ? "" : "/server.pin");
		return -1;
	}
	if (!c->pinned && c->pin_dir[0]) {
		if (state_save_pin(c->pin_dir, c->m.url, key, serr, sizeof(serr))) {
			snprintf(err, errlen, "cannot pin the server key: %s", serr);
			return -1;
		}
		log_info("ctl: pinned the key of %s: %s (in %s/server.pin)", c->m.url, have,
			 c->pin_dir);
	}
	memcpy(c->pin, key, 32);
	c->pinned = true;
	memcpy(c->m.spub, key, 32);
	return 0;
}

static void done(struct req *r, CURLcode rc)
{
	struct ctl *c = r->c;
	char err[600];

	if (r->op == OP_STREAM && !r->fetching_key && !deliver_lines(c, r))
		return;
	if (rc != CURLE_OK) {
		snprintf(err, sizeof(err), "%s: %s", c->m.url,
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		finish(r, 0, err, NULL);
		return;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->fetching_key) {
		if (trust_server_key(c, r, err, sizeof(err))) {
			finish(r, r->status == 200 ? 502 : r->status, err, NULL);
			return;
		}
		c->m.have_server_key = true;
		curl_multi_remove_handle(c->multi, r->h);
		curl_easy_cleanup(r->h);
		r->h = NULL;
		r->fetching_key = false;
		if (start_http(r))
			finish(r, 0, "out of memory", NULL);
		return;
	}
	if (r->status != 200) {
		error_from_body(r, err, sizeof(err));
		if (mwgc_clock_refusal(r->status, err) && !r->resynced) {
			/* Our clock is off (a node booted with a wrong clock, or
			 * one that stepped): take the server's, new nonces, and
			 * send the request once more, sealed anew, if it can
			 * still go first (a stream gave its slot up with its
			 * status; then its owner's reconnect sends it). */
			int64_t off = mwgc_clock_resync(&c->m, r->date);
			bool first = c->active == r || !c->active;

			log_warn("ctl: %s refused our clock (%s); nonces now follow the server's "
				 "clock%s (offset %lld s)%s", c->m.url, err,
				 r->date ? "" : " (no Date header: restarted only)", (long long)off,
				 first ? ", sending again" : "");
			if (!first) {
				finish(r, r->status, err, NULL);
				return;
			}
			c->active = r;
			r->resynced = true;
			curl_multi_remove_handle(c->multi, r->h);
			curl_easy_cleanup(r->h);
			r->h = NULL;
			curl_slist_free_all(r->hdrs);
			r->hdrs = NULL;
			free(r->body);
			r->body = NULL;
			if (start_http(r))
				finish(r, 0, "out of memory", NULL);
			return;
		}
		finish(r, r->status, err, NULL);
		return;
	}
	if (r->op == OP_STREAM) {
		finish(r, 200, "the server ended the map stream", NULL);
		return;
	}
	{
		cJSON *reply = open_sealed(r, r->buf.data ? r->buf.data : "", err, sizeof(err));

		if (!reply) {
			finish(r, 502, err, NULL);
			return;
		}
		if (r->op == OP_ROTATE)
			ctl_set_node_key(c, r->new_priv);
		finish(r, 200, "", reply);
		cJSON_Delete(reply);
	}
}

static void process(struct ctl *c)
{
	CURLMsg *msg;
	int left;

	if (c->stream && !c->stream->fetching_key)
		deliver_lines(c, c->stream);
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct req *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			done(r, msg->data.result);
	}
}

static void on_idle(void *arg)
{
	struct ctl *c = arg;
	char m[128];

	if (!c->stream)
		return;
	snprintf(m, sizeof(m), "map stream: nothing received for %llu s",
		 (unsigned long long)(c->idle_ms / 1000));
	finish(c->stream, 0, m, NULL);
}

/* ---- API ---- */

int ctl_open(struct ctl **cp, struct loop *l, const char *url, const char *pin_dir,
	     const uint8_t machine_priv[32], const uint8_t node_priv[32], char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));
	char base[300], *hash, perr[300];
	int r = 1;

	*cp = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->loop = l;
	c->idle_ms = 70000;
	c->timeout_s = 60;
	c->curl_timer.fd = c->kick_timer.fd = c->idle_timer.fd = -1;
	snprintf(c->url, sizeof(c->url), "%s", url);
	snprintf(base, sizeof(base), "%s", url);
	/* "https://server#mkey:<hex>" pins the server key in the URL itself */
	hash = strchr(base, '#');
	if (hash) {
		*hash++ = '\0';
		if (mwg_key_parse(hash, "mkey:", c->pin)) {
			snprintf(err, errlen, "bad server key pin in \"%s\" (want URL#mkey:<64 hex digits>)",
				 url);
			free(c);
			return -1;
		}
		c->pinned = true;
	}
	if (strlen(url) >= sizeof(c->url) || (pin_dir && strlen(pin_dir) >= sizeof(c->pin_dir)) ||
	    mwgc_init(&c->m, base, machine_priv, node_priv)) {
		snprintf(err, errlen, "bad control server URL \"%s\"", url);
		free(c);
		return -1;
	}
	if (pin_dir)
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", pin_dir);
	if (!c->pinned && pin_dir && (r = state_load_pin(pin_dir, c->m.url, c->pin, perr, sizeof(perr))) < 0) {
		snprintf(err, errlen, "%s", perr);
		mwgc_destroy(&c->m);
		free(c);
		return -1;
	}
	if (r == 0)
		c->pinned = true;
	if (strncmp(c->m.url, "http://", 7) && strncmp(c->m.url, "https://", 8)) {
		snprintf(err, errlen, "bad control server URL \"%s\" (want http:// or https://)", url);
		mwgc_destroy(&c->m);
		free(c);
		return -1;
	}
	c->multi = curl_multi_init();
	if (!c->multi || loop_timer_init(l, &c->curl_timer, on_curl_timer, c) ||
	    loop_timer_init(l, &c->kick_timer, on_kick, c) ||
	    loop_timer_init(l, &c->idle_timer, on_idle, c)) {
		snprintf(err, errlen, "cannot set up the control connection");
		ctl_close(c);
		return -1;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*cp = c;
	return 0;
}

void ctl_close(struct ctl *c)
{
	struct req *r;

	if (!c)
		return;
	while ((r = c->queue)) {
		c->queue = r->next;
		req_free(r);
	}
	if (c->stream && c->stream != c->active)
		req_free(c->stream);
	req_free(c->active);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	loop_timer_destroy(&c->curl_timer);
	loop_timer_destroy(&c->kick_timer);
	loop_timer_destroy(&c->idle_timer);
	mwgc_destroy(&c->m);
	free(c);
}

const char *ctl_url(const struct ctl *c)
{
	return c->url;
}

const char *ctl_server_ip(const struct ctl *c)
{
	return c->server_ip;
}

const char *ctl_node_key(const struct ctl *c)
{
	return c->m.nkey;
}

void ctl_set_node_key(struct ctl *c, const uint8_t node_priv[32])
{
	mwgc_set_node_key(&c->m, node_priv);
}

void ctl_set_stream_idle_ms(struct ctl *c, uint64_t ms)
{
	c->idle_ms = ms;
	if (c->stream && !c->stream->fetching_key) {
		if (ms)
			loop_timer_arm(&c->idle_timer, ms);
		else
			loop_timer_disarm(&c->idle_timer);
	}
}

void ctl_set_timeout_s(struct ctl *c, long s)
{
	c->timeout_s = s;
}

static struct req *req_new(struct ctl *c, enum req_op op, const char *path, const cJSON *fields,
			   ctl_done_cb cb, void *arg)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	r->op = op;
	r->path = path;
	r->cb = cb;
	r->arg = arg;
	r->max = CTL_MAX_REPLY;
	if (fields && !(r->fields = cJSON_Duplicate(fields, 1))) {
		free(r);
		return NULL;
	}
	return r;
}

static int submit(struct ctl *c, struct req *r)
{
	struct req **p = &c->queue;

	while (*p)
		p = &(*p)->next;
	*p = r;
	kick(c);
	return 0;
}

int ctl_register(struct ctl *c, const char *auth_key, const char *hostname, const cJSON *extra,
		 ctl_done_cb cb, void *arg)
{
	struct req *r = req_new(c, OP_REGISTER, "/v1/register", extra, cb, arg);

	if (!r)
		return -ENOMEM;
	r->hostname = strdup(hostname);
	r->auth_key = auth_key ? strdup(auth_key) : NULL;
	if (!r->hostname || (auth_key && !r->auth_key)) {
		req_free(r);
		return -ENOMEM;
	}
	return submit(c, r);
}

int ctl_rotate(struct ctl *c, const uint8_t new_priv[32], const char *hostname, ctl_done_cb cb,
	       void *arg)
{
	struct req *r = req_new(c, OP_ROTATE, "/v1/register", NULL, cb, arg);

	if (!r)
		return -ENOMEM;
	memcpy(r->new_priv, new_priv, 32);
	r->hostname = strdup(hostname);
	if (!r->hostname) {
		req_free(r);
		return -ENOMEM;
	}
	return submit(c, r);
}

int ctl_update(struct ctl *c, const cJSON *fields, ctl_done_cb cb, void *arg)
{
	struct req *r = req_new(c, OP_UPDATE, "/v1/update", fields, cb, arg);

	return r ? submit(c, r) : -ENOMEM;
}

int ctl_logout(struct ctl *c, ctl_done_cb cb, void *arg)
{
	struct req *r = req_new(c, OP_LOGOUT, "/v1/logout", NULL, cb, arg);

	return r ? submit(c, r) : -ENOMEM;
}

int ctl_stream_open(struct ctl *c, const cJSON *extra, ctl_msg_cb msg_cb, ctl_done_cb end_cb,
		    void *arg)
{
	struct req *r;

	for (r = c->queue; r; r = r->next)
		if (r->op == OP_STREAM)
			return -EALREADY;
	if (c->stream)
		return -EALREADY;
	r = req_new(c, OP_STREAM, "/v1/map", extra, end_cb, arg);
	if (!r)
		return -ENOMEM;
	r->msg_cb = msg_cb;
	r->max = CTL_MAX_LINE;
	return submit(c, r);
}

void ctl_stream_close(struct ctl *c)
{
	struct req **p = &c->queue;

	while (*p) {
		if ((*p)->op == OP_STREAM) {
			struct req *r = *p;

			*p = r->next;
			req_free(r);
			continue;
		}
		p = &(*p)->next;
	}
	if (c->stream) {
		c->stream->cb = NULL;
		finish(c->stream, 0, NULL, NULL);
	}
}

bool ctl_stream_open_p(const struct ctl *c)
{
	const struct req *r;

	for (r = c->queue; r; r = r->next)
		if (r->op == OP_STREAM)
			return true;
	return c->stream != NULL;
}

bool ctl_stream_connected(const struct ctl *c)
{
	return c->stream && c->stream_accepted;
}

uint64_t ctl_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms, uint32_t rnd)
{
	uint64_t d = base_ms ? base_ms : 1;

	if (max_ms < d)
		max_ms = d;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d / 2 + (d - d / 2 ? rnd % (d - d / 2 + 1) : 0);
}
