/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A hostile control server for meshwgd's tests: a small fake that speaks
 * the real coordination protocol (docs/protocol.md: GET /v1/key, sealed
 * /v1/register, /v1/map streams of sealed ndjson lines, /v1/update,
 * /v1/logout; sealing from lib/seal.c through libmeshwg.a) on
 * 127.0.0.1, and sends whatever the test scripts: netmaps with wide
 * prefixes, /1 splits, routes over the server, escape sequences in names,
 * 401/403 storms. Runs in libmicrohttpd threads; the test drives it with
 * the hs_* functions. Included by one test file (static helpers).
 */
#ifndef DAEMON_TEST_HOSTILE_H
#define DAEMON_TEST_HOSTILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>
#include <sodium.h>
#include <cjson/cJSON.h>

#include "../../../lib/seal.h"
#include "../../../lib/util.h"

#define HS_MAX_LINES 64

static struct hostile {
	struct MHD_Daemon *d;
	uint16_t port;
	uint8_t priv[32], pub[32];
	struct mwg_nonce_gen gen;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* scripted */
	long map_status, register_status;	/* 0: 200 */
	long rotate_reply;	/* a rotation is applied, but answered with this status (0: 200) */
	bool check_keys;	/* /v1/map refuses a node key other than node_key */
	bool check_time;	/* refuse nonces 300 s off the real clock, as meshwg-control */
	char node_key[80];	/* the registered one */
	char map_error[200];
	char *lines[HS_MAX_LINES];	/* plaintext messages for the current stream */
	size_t n_lines;
	bool end_stream;
	/* seen */
	uint8_t machine[32];
	bool have_machine;
	unsigned map_requests, register_requests, streams_open, time_refusals;
	unsigned stream_gen;	/* streams opened; only the newest gets lines */
	char register_tags[200];	/* "tags" of the last /v1/register, "" when absent */
} hs;

struct hs_conn {
	char *body;
	size_t len;
};

struct hs_stream {
	uint8_t machine[32];
	char req[2 * MWG_NONCE_LEN + 1];	/* the nonce of the request it answers */
	unsigned gen;
	char *pending;		/* a sealed line being sent */
	size_t off, len;
};

/*
 * Seals a reply as protocol v2 wants it (docs/protocol.md, "Replies"):
 * labelled a reply, with the request's nonce echoed as "req" in the
 * object. Plaintext that is not an object is sealed as it is.
 */
static char *hs_seal_text(const uint8_t machine[32], const char *req, const char *plain)
{
	cJSON *msg = cJSON_Parse(plain), *env;
	char *text = NULL, *t;

	if (cJSON_IsObject(msg)) {
		cJSON_AddStringToObject(msg, "req", req);
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	env = mwg_seal(hs.priv, machine, &hs.gen, MWG_DIR_REPLY, text ? text : plain,
		       strlen(text ? text : plain));
	free(text);
	t = env ? cJSON_PrintUnformatted(env) : NULL;
	cJSON_Delete(env);
	return t;
}

static enum MHD_Result hs_reply(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result hs_error(struct MHD_Connection *c, long status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	char *t;
	enum MHD_Result ret;

	cJSON_AddStringToObject(j, "error", msg);
	t = cJSON_PrintUnformatted(j);
	ret = hs_reply(c, (unsigned)status, t);
	free(t);
	cJSON_Delete(j);
	return ret;
}

static ssize_t hs_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct hs_stream *s = cls;
	struct timespec ts;

	(void)pos;
	if (!s->pending) {
		pthread_mutex_lock(&hs.lock);
		if (s->gen != hs.stream_gen) {	/* replaced by a newer stream */
			pthread_mutex_unlock(&hs.lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (!hs.n_lines && !hs.end_stream) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&hs.cond, &hs.lock, &ts);
		}
		if (hs.n_lines && s->gen == hs.stream_gen) {
			char *plain = hs.lines[0], *sealed;

			memmove(hs.lines, hs.lines + 1, --hs.n_lines * sizeof(hs.lines[0]));
			sealed = hs_seal_text(s->machine, s->req, plain);
			free(plain);
			if (sealed) {
				s->len = strlen(sealed) + 1;
				s->pending = malloc(s->len + 1);
				sprintf(s->pending, "%s\n", sealed);
				s->off = 0;
				free(sealed);
			}
		} else if (hs.end_stream) {
			hs.end_stream = false;
			pthread_mutex_unlock(&hs.lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		pthread_mutex_unlock(&hs.lock);
		if (!s->pending)
			return 0;
	}
	{
		size_t n = s->len - s->off;	/* not strlen: lines of megabytes */

		if (n > max)
			n = max;
		memcpy(buf, s->pending + s->off, n);
		s->off += n;
		if (s->off == s->len) {
			free(s->pending);
			s->pending = NULL;
		}
		return (ssize_t)n;
	}
}

static void hs_stream_free(void *cls)
{
	struct hs_stream *s = cls;

	pthread_mutex_lock(&hs.lock);
	hs.streams_open--;
	pthread_mutex_unlock(&hs.lock);
	free(s->pending);
	free(s);
}

/* Opens the envelope of a POST: the machine key, the nonce (hex) and the payload. */
static cJSON *hs_open(const char *body, uint8_t machine[32], char req[2 * MWG_NONCE_LEN + 1],
		      uint64_t *ts)
{
	cJSON *env = cJSON_Parse(body), *payload = NULL;
	struct mwg_err e;
	uint8_t nonce[MWG_NONCE_LEN];
	size_t len;
	char *plain;

	if (!env || mwg_key_parse(cJSON_GetStringValue(cJSON_GetObjectItem(env, "machine_key")),
				  "mkey:", machine))
		goto out;
	plain = mwg_unseal(hs.priv, machine, env, nonce, &len, &e);
	if (plain)
		payload = cJSON_Parse(plain);
	sodium_bin2hex(req, 2 * MWG_NONCE_LEN + 1, nonce, MWG_NONCE_LEN);
	*ts = mwg_nonce_ts(nonce);
	free(plain);
out:
	cJSON_Delete(env);
	return payload;
}

static const char hs_self[] =
	"{\"id\":1,\"hostname\":\"alpha\",\"dns_name\":\"alpha.meshwg.internal.\","
	"\"addresses\":[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"],\"user\":\"alice\","
	"\"tags\":[],\"key_expiry\":null}";

static enum MHD_Result hs_post(struct MHD_Connection *c, const char *url, const char *body)
{
	uint8_t machine[32];
	char req[2 * MWG_NONCE_LEN + 1] = "";
	uint64_t ts = 0;
	cJSON *payload = hs_open(body, machine, req, &ts);
	enum MHD_Result ret;
	long status = 0;
	char err[200] = "";
	int64_t skew = (int64_t)(ts - mwg_now_ns());

	if (!payload)
		return hs_error(c, 401, "box does not open");
	pthread_mutex_lock(&hs.lock);
	if (hs.check_time && (skew > 300000000000LL || skew < -300000000000LL)) {
		hs.time_refusals++;
		pthread_mutex_unlock(&hs.lock);
		cJSON_Delete(payload);
		return hs_error(c, 401, "stale or future timestamp in nonce (check the clock)");
	}
	memcpy(hs.machine, machine, 32);
	hs.have_machine = true;
	if (!strcmp(url, "/v1/map")) {
		const char *nk = cJSON_GetStringValue(cJSON_GetObjectItem(payload, "node_key"));

		hs.map_requests++;
		status = hs.map_status;
		snprintf(err, sizeof(err), "%s", hs.map_error);
		if (!status && hs.check_keys && (!nk || strcmp(nk, hs.node_key))) {
			status = 401;
			snprintf(err, sizeof(err), "node key does not match the registered one");
		}
	} else if (!strcmp(url, "/v1/register")) {
		const char *nk = cJSON_GetStringValue(cJSON_GetObjectItem(payload, "node_key"));
		const char *old = cJSON_GetStringValue(cJSON_GetObjectItem(payload, "old_node_key"));

		hs.register_requests++;
		{
			char *t = cJSON_PrintUnformatted(cJSON_GetObjectItem(payload, "tags"));

			snprintf(hs.register_tags, sizeof(hs.register_tags), "%s", t ? t : "");
			free(t);
		}
		status = hs.register_status;
		snprintf(err, sizeof(err), "%s", hs.map_error);
		if (!status && nk) {
			snprintf(hs.node_key, sizeof(hs.node_key), "%s", nk);
			if (old && hs.rotate_reply) {	/* rotated, but the reply is lost */
				status = hs.rotate_reply;
				snprintf(err, sizeof(err), "bad gateway");
			}
		}
	}
	pthread_mutex_unlock(&hs.lock);
	if (status && status != 200) {
		cJSON_Delete(payload);
		return hs_error(c, status, err);
	}
	if (!strcmp(url, "/v1/map") && cJSON_IsTrue(cJSON_GetObjectItem(payload, "stream"))) {
		struct hs_stream *s = calloc(1, sizeof(*s));
		struct MHD_Response *r;

		memcpy(s->machine, machine, 32);
		memcpy(s->req, req, sizeof(s->req));
		pthread_mutex_lock(&hs.lock);
		s->gen = ++hs.stream_gen;
		hs.streams_open++;
		pthread_mutex_unlock(&hs.lock);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, hs_stream_read, s,
						      hs_stream_free);
		MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
	} else {
		char reply[1024], *sealed;

		if (!strcmp(url, "/v1/register"))
			snprintf(reply, sizeof(reply),
				 "{\"status\":\"registered\",\"node_id\":1,\"self\":%s}", hs_self);
		else
			snprintf(reply, sizeof(reply), "{}");
		sealed = hs_seal_text(machine, req, reply);
		ret = hs_reply(c, 200, sealed ? sealed : "{}");
		free(sealed);
	}
	cJSON_Delete(payload);
	return ret;
}

static enum MHD_Result hs_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **ptr)
{
	struct hs_conn *x = *ptr;

	(void)cls;
	(void)version;
	if (!x) {
		*ptr = calloc(1, sizeof(struct hs_conn));
		return *ptr ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		x->body = realloc(x->body, x->len + *upload_size + 1);
		memcpy(x->body + x->len, upload, *upload_size);
		x->len += *upload_size;
		x->body[x->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	if (!strcmp(method, "GET") && !strcmp(url, "/v1/key")) {
		char t[200], hex[65];

		sodium_bin2hex(hex, sizeof(hex), hs.pub, 32);
		snprintf(t, sizeof(t), "{\"version\":2,\"server_key\":\"mkey:%s\"}", hex);
		return hs_reply(c, 200, t);
	}
	if (!strcmp(method, "POST"))
		return hs_post(c, url, x->body ? x->body : "");
	return hs_error(c, 404, "no such endpoint");
}

static void hs_completed(void *cls, struct MHD_Connection *c, void **ptr,
			 enum MHD_RequestTerminationCode toe)
{
	struct hs_conn *x = *ptr;

	(void)cls;
	(void)c;
	(void)toe;
	if (x)
		free(x->body);
	free(x);
	*ptr = NULL;
}

static int hs_start(void)
{
	const union MHD_DaemonInfo *info;

	memset(&hs, 0, sizeof(hs));
	pthread_mutex_init(&hs.lock, NULL);
	pthread_cond_init(&hs.cond, NULL);
	mwg_nonce_gen_init(&hs.gen);
	crypto_box_keypair(hs.pub, hs.priv);
	hs.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, hs_handler, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, hs_completed, NULL,
				MHD_OPTION_END);
	if (!hs.d)
		return -1;
	info = MHD_get_daemon_info(hs.d, MHD_DAEMON_INFO_BIND_PORT);
	hs.port = info ? info->port : 0;
	return hs.port ? 0 : -1;
}

static void hs_stop(void)
{
	pthread_mutex_lock(&hs.lock);
	hs.end_stream = true;
	pthread_cond_broadcast(&hs.cond);
	pthread_mutex_unlock(&hs.lock);
	MHD_stop_daemon(hs.d);
	for (size_t i = 0; i < hs.n_lines; i++)
		free(hs.lines[i]);
	hs.n_lines = 0;
}

/* Queues one plaintext message (printf format) for the map stream. */
static void hs_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hs_send(const char *fmt, ...)
{
	va_list ap;
	char *t;

	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	pthread_mutex_lock(&hs.lock);
	if (t && hs.n_lines < HS_MAX_LINES)
		hs.lines[hs.n_lines++] = t;
	else
		free(t);
	pthread_cond_broadcast(&hs.cond);
	pthread_mutex_unlock(&hs.lock);
}

/* The next map requests get status with {"error": msg} (0: streams again). */
static void hs_refuse_map(long status, const char *msg)
{
	pthread_mutex_lock(&hs.lock);
	hs.map_status = status;
	snprintf(hs.map_error, sizeof(hs.map_error), "%s", msg ? msg : "");
	pthread_mutex_unlock(&hs.lock);
}

/* Ends the current map stream (as a server restart would). */
static void hs_end_stream(void)
{
	pthread_mutex_lock(&hs.lock);
	hs.end_stream = true;
	pthread_cond_broadcast(&hs.cond);
	pthread_mutex_unlock(&hs.lock);
}

static unsigned hs_get(const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&hs.lock);
	v = *field;
	pthread_mutex_unlock(&hs.lock);
	return v;
}

#endif
