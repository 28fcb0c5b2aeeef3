// SPDX-License-Identifier: MIT
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sodium.h>
#include "admin.h"
#include "auth.h"
#include "netmap.h"
#include "polglue.h"
#include "store.h"
#include "tailnet.h"

struct server {
	const struct mwg_config *cfg;
	struct mwg_store *store;
	struct mwg_tailnet *tn;
	struct mwg_auth auth;
	uint8_t priv[32], pub[32];
	struct MHD_Daemon *d;
};

struct req {
	struct mwg_buf body;
	bool too_big;
};

/* ---- replies ---- */

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
				  const char *text, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned int status, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	enum MHD_Result r;

	cJSON_Delete(j);
	if (!s)
		return reply_text(c, 500, "{\"error\":\"out of memory\"}", "application/json");
	r = reply_text(c, status, s, "application/json");
	free(s);
	return r;
}

static enum MHD_Result reply_err(struct MHD_Connection *c, const struct mwg_err *e)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", e->msg[0] ? e->msg : "internal error");
	return reply_json(c, e->status >= 400 ? (unsigned int)e->status : 500, o);
}

static enum MHD_Result reply_sealed(struct server *sv, struct MHD_Connection *c,
				    const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN], cJSON *j)
{
	char *plain = j ? cJSON_PrintUnformatted(j) : NULL, *sealed;
	enum MHD_Result r;

	cJSON_Delete(j);
	sealed = plain ? mwg_auth_seal(&sv->auth, mkey, req, plain) : NULL;
	free(plain);
	if (!sealed)
		return reply_text(c, 500, "{\"error\":\"out of memory\"}", "application/json");
	r = reply_text(c, 200, sealed, "application/json");
	free(sealed);
	return r;
}

/* ---- map streams ---- */

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct mwg_stream *s = cls;
	ssize_t n;

	(void)pos;
	n = mwg_stream_read(s, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		/* The stream marked itself suspended under its lock; a
		 * producer that queues data resumes us. */
		MHD_suspend_connection(s->conn);
		/* Data may have arrived between unlock and suspend. */
		pthread_mutex_lock(&s->lock);
		if (!s->suspended || s->q.len > s->qoff || s->ending) {
			s->suspended = false;
			pthread_mutex_unlock(&s->lock);
			MHD_resume_connection(s->conn);
		} else {
			pthread_mutex_unlock(&s->lock);
		}
	}
	return n;
}

static void stream_free(void *cls)
{
	mwg_tailnet_stream_close(cls);
}

static void resume_conn(void *conn)
{
	MHD_resume_connection(conn);
}

/* ---- node protocol ---- */

static int node_lookup(struct server *sv, const char *mkey_text, const cJSON *in,
		       struct mwg_node *n, struct mwg_err *e)
{
	const cJSON *nk = cJSON_GetObjectItemCaseSensitive(in, "node_key");

	if (mwg_store_node_by_machine(sv->store, mkey_text, n, e)) {
		if (e->status == 404)
			mwg_fail(e, 401, "unknown machine; register first");
		return -1;
	}
	/* key text is canonical here (mwg_auth_open) */
	if (!cJSON_IsString(nk) || strcmp(nk->valuestring, n->node_key)) {
		mwg_node_clear(n);
		return mwg_fail(e, 401, "node key does not match the registered one");
	}
	return 0;
}

static int hostinfo_check(const cJSON *v, struct mwg_err *e)
{
	char *text;
	size_t n;

	if (!cJSON_IsObject(v))
		return mwg_fail(e, 400, "hostinfo: want an object");
	text = cJSON_PrintUnformatted(v);
	if (!text)
		return mwg_fail(e, 500, "out of memory");
	n = strlen(text);
	free(text);
	if (n > MWG_HOSTINFO_MAX)
		return mwg_fail(e, 400, "hostinfo: %zu bytes, at most %d", n, MWG_HOSTINFO_MAX);
	return 0;
}

/* "1.2.3.4:5" or "[v6]:5" with a port 1-65535. */
static bool valid_endpoint(const char *s)
{
	char host[64];
	const char *colon;
	unsigned char a[16];
	char *end;
	long port;
	size_t n;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon || (n = (size_t)(colon - s - 1)) >= sizeof(host))
			return false;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
			return false;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, host, a) != 1 || !colon[1])
		return false;
	port = strtol(colon + 1, &end, 10);
	return !*end && port >= 1 && port <= 65535;
}

/* Optional node-reported fields; validated before anything is written. */
static int node_fields(const cJSON *in, const cJSON **endpoints, int *home_derp,
		       const char **disco, const cJSON **hostinfo, const cJSON **routes,
		       struct mwg_err *e)
{
	const cJSON *v, *it;
	uint8_t k[32];

	*endpoints = *hostinfo = *routes = NULL;
	*disco = NULL;
	*home_derp = -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "endpoints"))) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 64)
			return mwg_fail(e, 400, "endpoints: want an array of at most 64 \"ip:port\"");
		cJSON_ArrayForEach(it, v)
			if (!cJSON_IsString(it) || strlen(it->valuestring) > 64 ||
			    !valid_endpoint(it->valuestring))
				return mwg_fail(e, 400, "endpoints: \"%s\" is not ip:port",
						cJSON_IsString(it) ? it->valuestring : "?");
		*endpoints = v;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "home_derp"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535)
			return mwg_fail(e, 400, "home_derp: want a DERP region id (0 = none)");
		*home_derp = v->valueint;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "disco_key"))) {
		if (!cJSON_IsString(v) || mwg_key_parse(v->valuestring, "discokey:", k))
			return mwg_fail(e, 400, "disco_key: want \"discokey:\" + 64 hex digits");
		*disco = v->valuestring;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "hostinfo"))) {
		if (hostinfo_check(v, e))
			return -1;
		*hostinfo = v;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "routes"))) {
		if (mwg_routes_validate(v, e))
			return -1;
		*routes = v;
	}
	return 0;
}

static enum MHD_Result do_register(struct server *sv, struct MHD_Connection *c,
				   const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
				   const char *mtext, const cJSON *in)
{
	struct mwg_err e = { 0 };
	struct mwg_register_req q = { 0 };
	const cJSON *nk = cJSON_GetObjectItemCaseSensitive(in, "node_key");
	const cJSON *onk = cJSON_GetObjectItemCaseSensitive(in, "old_node_key");
	const cJSON *hn = cJSON_GetObjectItemCaseSensitive(in, "hostname");
	const cJSON *ak = cJSON_GetObjectItemCaseSensitive(in, "auth_key");
	const cJSON *dk = cJSON_GetObjectItemCaseSensitive(in, "disco_key");
	const cJSON *hi = cJSON_GetObjectItemCaseSensitive(in, "hostinfo");
	const cJSON *tg = cJSON_GetObjectItemCaseSensitive(in, "tags");
	struct mwg_node n;
	cJSON *out;
	uint8_t k[32];
	char host[64];

	if (!cJSON_IsString(nk) ||
	    mwg_auth_check_proof(&sv->auth, cJSON_GetObjectItemCaseSensitive(in, "node_proof"),
				 nk->valuestring, mtext, &e))
		return reply_err(c, e.status ? &e : &(struct mwg_err){ 400, "node_key is required" });
	if (onk && (!cJSON_IsString(onk) ||
		    mwg_auth_check_proof(&sv->auth, cJSON_GetObjectItemCaseSensitive(in, "old_node_proof"),
					 onk->valuestring, mtext, &e)))
		return reply_err(c, e.status ? &e : &(struct mwg_err){ 400, "old_node_key must be a string" });
	/* Peers print it: only a DNS label (lowercase letters, digits, '-')
	 * is kept, never the bytes a node sent (escape sequences...). */
	if (!cJSON_IsString(hn) || !*hn->valuestring || strlen(hn->valuestring) > 63 ||
	    mwg_sanitize_hostname(hn->valuestring, host, sizeof(host)))
		return reply_err(c, &(struct mwg_err){ 400, "hostname: want 1-63 bytes with letters or digits" });
	if (ak && !cJSON_IsString(ak))
		return reply_err(c, &(struct mwg_err){ 400, "auth_key must be a string" });
	if (dk && (!cJSON_IsString(dk) || mwg_key_parse(dk->valuestring, "discokey:", k)))
		return reply_err(c, &(struct mwg_err){ 400, "disco_key: want \"discokey:\" + 64 hex digits" });
	if (hi && hostinfo_check(hi, &e))
		return reply_err(c, &e);
	if (tg && !cJSON_IsNull(tg) && mwg_tags_validate(tg, &e))
		return reply_err(c, &e);
	q.machine_key = mtext;
	q.node_key = nk->valuestring;
	q.old_node_key = onk ? onk->valuestring : NULL;
	q.hostname = host;
	q.auth_key = ak ? ak->valuestring : NULL;
	q.disco_key = dk ? dk->valuestring : NULL;
	q.hostinfo = hi;
	q.tags = cJSON_IsArray(tg) ? tg : NULL;
	if (mwg_store_register(sv->store, &q, &n, &e))
		return reply_err(c, &e);
	mwg_tailnet_kick(sv->tn);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "status", n.pending ? "pending" : "registered");
	cJSON_AddNumberToObject(out, "node_id", (double)n.id);
	cJSON_AddItemToObject(out, "self", mwg_netmap_self(&n, sv->cfg));
	mwg_node_clear(&n);
	return reply_sealed(sv, c, mkey, req, out);
}

static enum MHD_Result do_map(struct server *sv, struct MHD_Connection *c,
			      const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
				   const char *mtext, const cJSON *in)
{
	struct mwg_err e = { 0 };
	struct mwg_node n;
	const cJSON *ep, *hi, *ro;
	const char *dk;
	int hd;
	bool stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "stream"));

	if (node_fields(in, &ep, &hd, &dk, &hi, &ro, &e) || node_lookup(sv, mtext, in, &n, &e))
		return reply_err(c, &e);
	if (n.pending || mwg_node_expired(&n, mwg_now())) {
		mwg_fail(&e, 403, n.pending ? "node is pending approval" : "node key expired; re-register");
		mwg_node_clear(&n);
		return reply_err(c, &e);
	}
	if ((ep || hd >= 0 || dk || hi || ro) &&
	    mwg_store_node_update(sv->store, n.id, ep, hd, dk, hi, ro, &e)) {
		mwg_node_clear(&n);
		return reply_err(c, &e);
	}
	/* Apply our own update before the full map, so it is current. */
	mwg_tailnet_sync(sv->tn, &e);
	if (stream) {
		struct mwg_stream *s = mwg_tailnet_stream_open(sv->tn, n.id, mkey, req, c, &e);
		struct MHD_Response *r;
		enum MHD_Result ret;

		mwg_node_clear(&n);
		if (!s)
			return reply_err(c, &e);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8 * 1024, stream_reader, s,
						      stream_free);
		if (!r) {
			mwg_tailnet_stream_close(s);
			return MHD_NO;
		}
		/* idle for up to three keepalives, where a request gets
		 * request_timeout (a slow sender holds no connection long) */
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned int)(sv->cfg->keepalive_interval * 3 + 30));
		MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
		MHD_add_response_header(r, "Cache-Control", "no-store");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	} else {
		char *m = mwg_tailnet_full_map(sv->tn, n.id, &e), *sealed;
		enum MHD_Result ret;

		mwg_node_clear(&n);
		if (!m)
			return reply_err(c, &e);
		sealed = mwg_auth_seal(&sv->auth, mkey, req, m);
		free(m);
		if (!sealed)
			return reply_text(c, 500, "{\"error\":\"out of memory\"}", "application/json");
		ret = reply_text(c, 200, sealed, "application/json");
		free(sealed);
		return ret;
	}
}

static enum MHD_Result do_update(struct server *sv, struct MHD_Connection *c,
				 const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
				   const char *mtext, const cJSON *in)
{
	struct mwg_err e = { 0 };
	struct mwg_node n;
	const cJSON *ep, *hi, *ro;
	const char *dk;
	int hd, r;

	if (node_fields(in, &ep, &hd, &dk, &hi, &ro, &e) || node_lookup(sv, mtext, in, &n, &e))
		return reply_err(c, &e);
	if (n.pending || mwg_node_expired(&n, mwg_now())) {
		mwg_fail(&e, 403, n.pending ? "node is pending approval" : "node key expired; re-register");
		mwg_node_clear(&n);
		return reply_err(c, &e);
	}
	r = mwg_store_node_update(sv->store, n.id, ep, hd, dk, hi, ro, &e);
	mwg_node_clear(&n);
	if (r)
		return reply_err(c, &e);
	mwg_tailnet_kick(sv->tn);
	return reply_sealed(sv, c, mkey, req, cJSON_CreateObject());
}

static enum MHD_Result do_logout(struct server *sv, struct MHD_Connection *c,
				 const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
				   const char *mtext, const cJSON *in)
{
	struct mwg_err e = { 0 };
	struct mwg_node n;
	int r;

	if (node_lookup(sv, mtext, in, &n, &e))
		return reply_err(c, &e);
	r = mwg_store_node_logout(sv->store, n.id, &e);
	mwg_node_clear(&n);
	if (r)
		return reply_err(c, &e);
	mwg_tailnet_kick(sv->tn);
	return reply_sealed(sv, c, mkey, req, cJSON_CreateObject());
}

static enum MHD_Result node_api(struct server *sv, struct MHD_Connection *c, const char *url,
				struct req *rq)
{
	struct mwg_err e = { 0 };
	uint8_t mkey[32], req[MWG_NONCE_LEN];
	char mtext[MWG_KEY_TEXT_MAX];
	cJSON *in;
	enum MHD_Result r;

	in = mwg_auth_open(&sv->auth, rq->body.data ? rq->body.data : "", rq->body.len, mkey, mtext,
			   req, &e);
	if (!in)
		return reply_err(c, &e);
	if (!strcmp(url, "/v1/register"))
		r = do_register(sv, c, mkey, req, mtext, in);
	else if (!strcmp(url, "/v1/map"))
		r = do_map(sv, c, mkey, req, mtext, in);
	else if (!strcmp(url, "/v1/update"))
		r = do_update(sv, c, mkey, req, mtext, in);
	else
		r = do_logout(sv, c, mkey, req, mtext, in);
	cJSON_Delete(in);
	return r;
}

/* ---- admin API ---- */

/*
 * The admin API's paths, matched exactly: /api/v1/RES, /api/v1/RES/ARG or
 * /api/v1/RES/ARG/ACTION (for policy/check the second segment is a word, not
 * an argument). Any other path is 404, a known path with another method 405.
 */
static const struct admin_route {
	const char *method, *res, *action;
	int nseg;
	const char *op;
} admin_routes[] = {
	{ "GET", "users", NULL, 1, "users.list" },
	{ "POST", "users", NULL, 1, "users.create" },
	{ "DELETE", "users", NULL, 2, "users.delete" },
	{ "GET", "nodes", NULL, 1, "nodes.list" },
	{ "DELETE", "nodes", NULL, 2, "nodes.delete" },
	{ "POST", "nodes", "approve", 3, "nodes.approve" },
	{ "POST", "nodes", "expire", 3, "nodes.expire" },
	{ "POST", "nodes", "rename", 3, "nodes.rename" },
	{ "POST", "nodes", "tags", 3, "nodes.tag" },
	{ "GET", "nodes", "routes", 3, "nodes.routes" },
	{ "POST", "nodes", "routes", 3, "nodes.approve-routes" },
	{ "GET", "preauthkeys", NULL, 1, "preauthkeys.list" },
	{ "POST", "preauthkeys", NULL, 1, "preauthkeys.create" },
	{ "POST", "preauthkeys", "expire", 3, "preauthkeys.expire" },
	{ "GET", "policy", NULL, 1, "policy.get" },
	{ "PUT", "policy", NULL, 1, "policy.set" },
	{ "POST", "policy", "check", 2, "policy.check" },
	{ "GET", "apikeys", NULL, 1, "apikeys.list" },
	{ "POST", "apikeys", NULL, 1, "apikeys.create" },
	{ "POST", "apikeys", "expire", 3, "apikeys.expire" },
};

/* Splits the path after /api/v1/ into 1-3 non-empty segments (copied into
 * seg, each below 128 bytes). Returns the count, or 0 if malformed. */
static int admin_split(const char *path, char seg[3][128])
{
	int n = 0;

	for (;;) {
		size_t len = strcspn(path, "/");

		if (n == 3 || len == 0 || len >= sizeof(seg[0]))
			return 0;
		memcpy(seg[n], path, len);
		seg[n++][len] = '\0';
		if (!path[len])
			return n;
		path += len + 1;
	}
}

/* The operation for (method, path): 0 with *op set, or 404/405. */
static int admin_route(const char *method, int nseg, char seg[3][128],
		       const struct admin_route **op)
{
	size_t i;
	bool path_known = false;

	for (i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]); i++) {
		const struct admin_route *r = &admin_routes[i];

		if (r->nseg != nseg || strcmp(r->res, seg[0]) ||
		    (r->action && strcmp(r->action, seg[nseg - 1])))
			continue;
		path_known = true;
		if (!strcmp(r->method, method)) {
			*op = r;
			return 0;
		}
	}
	return path_known ? 405 : 404;
}

static enum MHD_Result admin_api(struct server *sv, struct MHD_Connection *c, const char *url,
				 const char *method, struct req *rq)
{
	struct mwg_err e = { 0 };
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char seg[3][128];
	const struct admin_route *route = NULL;
	cJSON *args = NULL, *out = NULL;
	int nseg, status;

	if (!auth || strncmp(auth, "Bearer ", 7) || mwg_store_apikey_check(sv->store, auth + 7, &e))
		return reply_err(c, e.status ? &e : &(struct mwg_err){ 401, "Authorization: Bearer <API key> required" });
	nseg = admin_split(url + strlen("/api/v1/"), seg);
	status = nseg ? admin_route(method, nseg, seg, &route) : 404;
	if (status == 405)
		return reply_err(c, &(struct mwg_err){ 405, "method not allowed on this path" });
	if (status)
		return reply_err(c, &(struct mwg_err){ 404, "no such endpoint" });
	if (rq->body.len && memchr(rq->body.data, '\0', rq->body.len))
		return reply_err(c, &(struct mwg_err){ 400, "request body contains a NUL byte" });
	if (!strcmp(route->res, "policy") && strcmp(route->method, "GET")) {
		args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "text", rq->body.data ? rq->body.data : "");
		cJSON_AddStringToObject(args, "name", "policy");
	} else {
		if (rq->body.len) {
			args = cJSON_ParseWithLength(rq->body.data, rq->body.len);
			if (!cJSON_IsObject(args)) {
				cJSON_Delete(args);
				return reply_err(c, &(struct mwg_err){ 400, "request body must be a JSON object" });
			}
		} else {
			args = cJSON_CreateObject();
		}
		if (nseg >= 2) {
			const char *k = !strcmp(route->res, "users") ? "name" : "id";

			cJSON_DeleteItemFromObject(args, k);
			cJSON_AddStringToObject(args, k, seg[1]);
		}
	}
	if (!args)
		return reply_text(c, 500, "{\"error\":\"out of memory\"}", "application/json");
	if (mwg_admin_exec(sv->store, sv->cfg, route->op, args, &out, &e)) {
		cJSON_Delete(args);
		return reply_err(c, &e);
	}
	cJSON_Delete(args);
	if (!mwg_admin_readonly(route->op))
		mwg_tailnet_kick(sv->tn);
	return reply_json(c, 200, out);
}

/* ---- dispatch ---- */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct server *sv = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		/* a policy may be larger than other bodies, as large as a file */
		size_t max = strncmp(url, "/api/v1/policy", 14) ? sv->cfg->max_body :
			     POLICY_MAX_FILE;

		if (rq->body.len + *upload_size > max)
			rq->too_big = true;
		else if (mwg_buf_append(&rq->body, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big) {
		struct mwg_err e;

		mwg_fail(&e, 413, "request body larger than %zu bytes",
			 strncmp(url, "/api/v1/policy", 14) ? sv->cfg->max_body : POLICY_MAX_FILE);
		return reply_err(c, &e);
	}
	if (!strcmp(url, "/v1/key") && !strcmp(method, "GET")) {
		cJSON *o = cJSON_CreateObject();
		char k[MWG_KEY_TEXT_MAX];

		mwg_key_format(k, sizeof(k), "mkey:", sv->pub);
		cJSON_AddNumberToObject(o, "version", MWG_PROTOCOL_VERSION);
		cJSON_AddStringToObject(o, "server_key", k);
		return reply_json(c, 200, o);
	}
	if (!strcmp(url, "/health")) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		struct mwg_err ae = { 0 };
		/* the counts tell how big the tailnet is: for admins only */
		cJSON *o = auth && !strncmp(auth, "Bearer ", 7) &&
			   !mwg_store_apikey_check(sv->store, auth + 7, &ae) ?
			   mwg_tailnet_stats(sv->tn) : cJSON_CreateObject();

		cJSON_AddStringToObject(o, "status", "ok");
		return reply_json(c, 200, o);
	}
	if (!strcmp(url, "/v1/register") || !strcmp(url, "/v1/map") ||
	    !strcmp(url, "/v1/update") || !strcmp(url, "/v1/logout")) {
		if (strcmp(method, "POST"))
			return reply_err(c, &(struct mwg_err){ 405, "use POST" });
		return node_api(sv, c, url, rq);
	}
	if (!strncmp(url, "/api/v1/", 8))
		return admin_api(sv, c, url, method, rq);
	return reply_err(c, &(struct mwg_err){ 404, "no such endpoint" });
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		mwg_buf_free(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static int shared_nonce_check(void *arg, const char *mkey, uint64_t ts, uint64_t ctr,
			      struct mwg_err *e)
{
	return mwg_store_nonce_advance(arg, mkey, ts, ctr, e);
}


/* Loads the configured policy file into the database when it differs.
 * Neither its users nor its tests are checked here (as in Headscale, a
 * start must not depend on nodes or users that may not exist yet);
 * `policy set`/`policy check` do. */
static int sync_policy_file(struct server *sv, struct mwg_err *e)
{
	char *text, *cur = NULL;
	size_t len;
	struct policy *p;
	int r = 0;

	if (!sv->cfg->policy_file[0])
		return 0;
	text = mwg_read_file(sv->cfg->policy_file, POLICY_MAX_FILE, &len, e);
	if (!text)
		return -1;
	p = mwg_policy_parse_text(text, len, sv->cfg->policy_file, e);
	if (!p) {
		free(text);
		return -1;
	}
	policy_free(p);
	if (mwg_store_policy_get(sv->store, &cur, NULL, e) == 0 && (!cur || strcmp(cur, text)))
		r = mwg_store_policy_set(sv->store, text, e);
	free(cur);
	free(text);
	return r;
}

int mwg_serve(const struct mwg_config *cfg, struct mwg_err *e)
{
	struct server sv = { .cfg = cfg };
	struct sockaddr_storage ss = { 0 };
	struct rlimit rl;
	char *cert = NULL, *key = NULL;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	MHD_socket lsock = MHD_INVALID_SOCKET;
	int r = -1;

	sigset_t stop_sigs;
	int sig;

	/* SIGINT/SIGTERM are blocked in every thread (the HTTP and watcher
	 * threads inherit the mask) and taken with sigwait() below. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strchr(cfg->listen_addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(cfg->listen_port);
		inet_pton(AF_INET6, cfg->listen_addr, &a->sin6_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(cfg->listen_port);
		inet_pton(AF_INET, cfg->listen_addr, &a->sin_addr);
	}
	if (cfg->tls_cert[0]) {
		cert = mwg_read_file(cfg->tls_cert, 1 << 20, NULL, e);
		key = cert ? mwg_read_file(cfg->tls_key, 1 << 20, NULL, e) : NULL;
		if (!key)
			goto out;
		flags |= MHD_USE_TLS;
	}
	if (mwg_store_open(cfg, &sv.store, e) || mwg_store_server_key(sv.store, sv.priv, sv.pub, e))
		goto out;
	if (sync_policy_file(&sv, e))
		goto out;
	if (mwg_auth_init(&sv.auth, sv.priv, cfg->auth_max_skew)) {
		mwg_fail(e, 500, "out of memory");
		goto out;
	}
	/* The replay record outlives the process in the database (and is
	 * shared by the servers of one PostgreSQL database). Without it, a
	 * request sealed before this start could be replayed within the skew:
	 * such nonces are refused instead. */
	if (cfg->db_type == MWG_DB_POSTGRES || cfg->shared_replay_check) {
		sv.auth.shared_check = shared_nonce_check;
		sv.auth.shared_arg = sv.store;
	} else {
		sv.auth.not_before_ns = mwg_now_ns();
	}
	if (mwg_tailnet_new(cfg, sv.store, sv.priv, &sv.tn, e))
		goto out_auth;
	sv.tn->resume = resume_conn;
	if (cert)
		sv.d = MHD_start_daemon(flags, 0, NULL, NULL, handler, &sv,
					MHD_OPTION_SOCK_ADDR, &ss,
					MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					(unsigned int)cfg->max_connections_per_ip,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->request_timeout,
					MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
					MHD_OPTION_HTTPS_MEM_CERT, cert,
					MHD_OPTION_HTTPS_MEM_KEY, key,
					MHD_OPTION_END);
	else
		sv.d = MHD_start_daemon(flags, 0, NULL, NULL, handler, &sv,
					MHD_OPTION_SOCK_ADDR, &ss,
					MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					(unsigned int)cfg->max_connections_per_ip,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->request_timeout,
					MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
					MHD_OPTION_END);
	if (!sv.d) {
		mwg_fail(e, 500, "cannot listen on %s port %u (in use, or bad TLS files?)",
			 cfg->listen_addr, cfg->listen_port);
		goto out_tn;
	}
	if (mwg_tailnet_start(sv.tn)) {
		mwg_fail(e, 500, "cannot start the change watcher");
		goto out_d;
	}
	{
		char k[MWG_KEY_TEXT_MAX];

		mwg_key_format(k, sizeof(k), "mkey:", sv.pub);
		fprintf(stderr, "meshwg-control: serving %s on %s port %u (%s, %s database), server key %s\n",
			cfg->server_url, cfg->listen_addr, cfg->listen_port, cert ? "https" : "http",
			cfg->db_type == MWG_DB_SQLITE ? "sqlite" : "postgres", k);
	}
	while (sigwait(&stop_sigs, &sig) != 0)
		;
	fprintf(stderr, "meshwg-control: shutting down\n");
	r = 0;
	mwg_tailnet_stop(sv.tn);
	lsock = MHD_quiesce_daemon(sv.d);
	/* libmicrohttpd refuses to stop with suspended connections: end every
	 * stream (which resumes it) and let the connections finish. */
	if (mwg_tailnet_end_all(sv.tn, "server shutting down")) {
		int i;

		for (i = 0; i < 200 && mwg_tailnet_nstreams(sv.tn); i++)
			usleep(50 * 1000);
	}
out_d:
	MHD_stop_daemon(sv.d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);	/* ours after quiesce, closed once MHD stopped */
out_tn:
	mwg_tailnet_free(sv.tn);
out_auth:
	mwg_auth_destroy(&sv.auth);
out:
	mwg_store_close(sv.store);
	if (key)
		sodium_memzero(key, strlen(key));
	free(cert);
	free(key);
	sodium_memzero(sv.priv, sizeof(sv.priv));
	return r;
}
