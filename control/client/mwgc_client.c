// SPDX-License-Identifier: MIT
#include "mwgc_client.h"
#include "../../lib/hex.h"
#include "../../lib/http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

uint64_t (*mwgc_clock_ns)(void) = mwg_now_ns;

int mwgc_init(struct mwgc *c, const char *url, const uint8_t machine_priv[32],
	      const uint8_t node_priv[32])
{
	memset(c, 0, sizeof(*c));
	if (sodium_init() < 0 || strlen(url) >= sizeof(c->url))
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	snprintf(c->url, sizeof(c->url), "%s", url);
	while (strlen(c->url) && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = '\0';
	memcpy(c->mpriv, machine_priv, 32);
	crypto_scalarmult_base(c->mpub, c->mpriv);
	mwg_key_format(c->mkey, sizeof(c->mkey), "mkey:", c->mpub);
	mwgc_set_node_key(c, node_priv);
	mwg_nonce_gen_init(&c->gen);
	c->gen.clock = mwgc_clock_ns;
	c->timeout_s = 60;
	c->last_seq = -1;
	return 0;
}

void mwgc_destroy(struct mwgc *c)
{
	sodium_memzero(c->mpriv, sizeof(c->mpriv));
	sodium_memzero(c->npriv, sizeof(c->npriv));
	pthread_mutex_destroy(&c->gen.lock);
}

int mwgc_key_load(const char *path, uint8_t key[32], struct mwg_err *e)
{
	char *t = mwg_read_file(path, 4096, NULL, e);
	int r;

	if (!t)
		return -1;
	t[strcspn(t, "\r\n")] = '\0';
	r = mwg_key_parse(t, "privkey:", key);
	sodium_memzero(t, strlen(t));
	free(t);
	return r ? mwg_fail(e, 400, "%s: want \"privkey:\" + 64 hex digits", path) : 0;
}

void mwgc_genkey(uint8_t key[32])
{
	randombytes_buf(key, 32);
}

/* ---- HTTP ---- */

struct sink {
	struct mwg_buf b;
	size_t max;
	size_t scanned;		/* b.data[0..scanned) has no '\n' (stream) */
	/* stream mode */
	struct mwgc *c;
	struct mwgc_exchange *x;
	mwgc_msg_cb cb;
	void *arg;
	bool stopped, bad;
	struct mwg_err *e;
	long status;
	int64_t date;		/* the reply's Date header, Unix seconds; 0: none */
	CURL *h;
};

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n;
	int64_t date = mwg_http_date(p, len);

	if (date >= 0)
		s->date = date;
	return len;
}

bool mwgc_clock_refusal(long status, const char *error)
{
	return status == 401 && error && (strstr(error, "stale or future timestamp") ||
					  strstr(error, "nonce from before the server started"));
}

int64_t mwgc_clock_resync(struct mwgc *c, int64_t server_date)
{
	int64_t off;

	pthread_mutex_lock(&c->gen.lock);
	if (server_date > 0)
		c->gen.offset_ns = server_date * 1000000000LL - (int64_t)c->gen.clock();
	c->gen.last_ts = 0;	/* even backwards */
	c->gen.counter = 0;
	off = c->gen.offset_ns / 1000000000LL;
	pthread_mutex_unlock(&c->gen.lock);
	return off;
}

static int deliver_line(struct sink *s, const char *line)
{
	cJSON *msg = mwgc_open(s->c, line, s->x, s->e);

	if (!msg) {
		if (s->e) {
			char why[sizeof(s->e->msg)];

			snprintf(why, sizeof(why), "%s", s->e->msg);
			mwg_fail(s->e, s->e->status, "stream: %s", why);
		}
		return -1;
	}
	if (s->cb(msg, s->arg))
		s->stopped = true;
	cJSON_Delete(msg);
	return 0;
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n;

	if (s->cb && !s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (mwg_http_append(&s->b, s->max, p, len))
		return 0;
	if (s->cb && s->status == 200) {
		char *line;
		size_t l;

		while ((line = mwg_http_line(&s->b, &s->scanned, &l))) {
			if (deliver_line(s, line)) {
				s->bad = true;
				return 0;
			}
			mwg_http_line_drop(&s->b, &s->scanned, l);
			if (s->stopped)
				return 0;
		}
	}
	return len;
}

static CURL *handle(struct mwgc *c, const char *path, struct curl_slist **hdrs, struct sink *s)
{
	CURL *h = mwg_http_handle(c->url, path, on_data, on_header, s);

	if (!h)
		return NULL;
	if (c->timeout_s && !s->cb)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	if (c->insecure_tls) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	*hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	s->h = h;
	return h;
}

int mwgc_fetch_server_key(struct mwgc *c, struct mwg_err *e)
{
	struct sink s = { .max = 65536, .e = e };
	struct curl_slist *hd;
	CURL *h = handle(c, "/v1/key", &hd, &s);
	CURLcode rc;
	long status = 0;
	cJSON *j;
	int r = 0;

	if (!h)
		return mwg_fail(e, 500, "curl init failed");
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hd);
	if (rc != CURLE_OK) {
		mwg_buf_free(&s.b);
		return mwg_fail(e, 503, "%s: %s", c->url, curl_easy_strerror(rc));
	}
	j = s.b.data ? cJSON_Parse(s.b.data) : NULL;
	if (status != 200 || !j ||
	    mwg_key_parse(cJSON_GetStringValue(cJSON_GetObjectItem(j, "server_key")), "mkey:", c->spub))
		r = mwg_fail(e, 502, "GET /v1/key: bad reply (HTTP %ld)", status);
	else if (cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")) != MWG_PROTOCOL_VERSION)
		r = mwg_fail(e, 502, "%s speaks protocol version %g, this client %d", c->url,
			     cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")),
			     MWG_PROTOCOL_VERSION);
	else
		c->have_server_key = true;
	cJSON_Delete(j);
	mwg_buf_free(&s.b);
	return r;
}

char *mwgc_seal_request(struct mwgc *c, const cJSON *payload, struct mwgc_exchange *x)
{
	char *plain = cJSON_PrintUnformatted(payload), *out;
	cJSON *env;

	if (!plain)
		return NULL;
	env = mwg_seal(c->mpriv, c->spub, &c->gen, MWG_DIR_REQUEST, plain, strlen(plain));
	free(plain);
	if (!env)
		return NULL;
	if (x) {
		memset(x, 0, sizeof(*x));
		hex_decode(x->req, MWG_NONCE_LEN,
			   cJSON_GetStringValue(cJSON_GetObjectItem(env, "nonce")));
	}
	cJSON_AddStringToObject(env, "machine_key", c->mkey);
	out = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	return out;
}

long mwgc_post_raw(struct mwgc *c, const char *path, const char *body, char **reply,
		   struct mwg_err *e)
{
	struct sink s = { .max = 64 << 20, .e = e };
	struct curl_slist *hd;
	CURL *h = handle(c, path, &hd, &s);
	CURLcode rc;
	long status = -1;

	*reply = NULL;
	if (!h)
		return mwg_fail(e, 500, "curl init failed");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		mwg_fail(e, 503, "%s%s: %s", c->url, path, curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	curl_slist_free_all(hd);
	if (rc == CURLE_OK)
		*reply = s.b.data ? s.b.data : strdup("");
	else
		mwg_buf_free(&s.b);
	c->last_date = s.date;
	return status;
}

cJSON *mwgc_open(struct mwgc *c, const char *text, struct mwgc_exchange *x, struct mwg_err *e)
{
	cJSON *env = cJSON_Parse(text), *msg;
	const cJSON *seq;
	uint8_t nonce[MWG_NONCE_LEN];
	char *plain, want[2 * MWG_NONCE_LEN + 1];
	uint64_t ts, ctr;

	plain = env ? mwg_unseal(c->mpriv, c->spub, env, nonce, NULL, e) : NULL;
	cJSON_Delete(env);
	if (!plain) {
		if (!e || !e->status)
			mwg_fail(e, 502, "reply is not a sealed envelope");
		else
			e->status = 502;
		return NULL;
	}
	msg = cJSON_Parse(plain);
	free(plain);
	if (!cJSON_IsObject(msg)) {
		cJSON_Delete(msg);
		mwg_fail(e, 502, "sealed reply is not a JSON object");
		return NULL;
	}
	ts = mwg_nonce_ts(nonce);
	ctr = mwg_nonce_counter(nonce);
	hex_encode(want, x->req, MWG_NONCE_LEN);
	seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
	if (nonce[MWG_NONCE_DIR] != MWG_DIR_REPLY)
		mwg_fail(e, 502, "sealed message is not a reply (direction label): reflected?");
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "req")) ||
		 strcmp(cJSON_GetObjectItemCaseSensitive(msg, "req")->valuestring, want))
		mwg_fail(e, 502, "reply does not answer this request: replayed?");
	else if (ts < x->last_ts || (ts == x->last_ts && ctr <= x->last_ctr))
		mwg_fail(e, 502, "reply is not newer than the previous one: replayed or reordered?");
	else if (seq && (!cJSON_IsNumber(seq) || !(seq->valuedouble >= 0) ||
			 seq->valuedouble > 9007199254740992.0 ||
			 seq->valuedouble != (double)(int64_t)seq->valuedouble))
		mwg_fail(e, 502, "netmap seq is not an integer from 0 to 2^53");
	else if (cJSON_IsNumber(seq) && seq->valuedouble < (double)c->last_seq)
		mwg_fail(e, 502, "netmap seq %.0f is older than seq %lld already applied: replayed?",
			 seq->valuedouble, (long long)c->last_seq);
	else
		goto ok;
	cJSON_Delete(msg);
	return NULL;
ok:
	x->last_ts = ts;
	x->last_ctr = ctr;
	if (cJSON_IsNumber(seq))
		c->last_seq = (int64_t)seq->valuedouble;
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "req");
	return msg;
}

static int error_reply(const char *body, long status, struct mwg_err *e)
{
	cJSON *j = cJSON_Parse(body);
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));

	mwg_fail(e, (int)status, "%s", m ? m : "unexpected reply");
	cJSON_Delete(j);
	return -1;
}

static int call_once(struct mwgc *c, const char *path, const cJSON *payload, cJSON **reply,
		     struct mwg_err *e)
{
	struct mwgc_exchange x;
	char *body, *resp = NULL;
	cJSON *msg;
	long status;

	if (reply)
		*reply = NULL;
	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	body = mwgc_seal_request(c, payload, &x);
	if (!body)
		return mwg_fail(e, 500, "out of memory");
	status = mwgc_post_raw(c, path, body, &resp, e);
	free(body);
	if (status < 0)
		return -1;
	if (status != 200) {
		error_reply(resp, status, e);
		free(resp);
		return -1;
	}
	msg = mwgc_open(c, resp, &x, e);
	free(resp);
	if (!msg)
		return -1;
	if (reply)
		*reply = msg;
	else
		cJSON_Delete(msg);
	return 0;
}

/* Whether a failed exchange (e, 0 on success) should be tried again: a
 * clock refusal the first time (the clock is re-synced then). */
static bool again(struct mwgc *c, int r, const struct mwg_err *e, int attempt)
{
	if (!r || attempt || !mwgc_clock_refusal(e->status, e->msg))
		return false;
	mwgc_clock_resync(c, c->last_date);
	return true;
}

int mwgc_call(struct mwgc *c, const char *path, const cJSON *payload, cJSON **reply,
	      struct mwg_err *e)
{
	struct mwg_err le = { 0 };
	int r, attempt = 0;

	do
		r = call_once(c, path, payload, reply, &le);
	while (again(c, r, &le, attempt++));
	if (r && e)
		*e = le;
	return r;
}

cJSON *mwgc_payload(const struct mwgc *c, const cJSON *extra)
{
	cJSON *p = extra ? cJSON_Duplicate(extra, 1) : cJSON_CreateObject();

	if (!p)
		return NULL;
	cJSON_DeleteItemFromObject(p, "node_key");
	cJSON_AddStringToObject(p, "node_key", c->nkey);
	return p;
}

cJSON *mwgc_register_payload(struct mwgc *c, const char *auth_key, const char *hostname,
			     const cJSON *extra)
{
	cJSON *p = mwgc_payload(c, extra);
	cJSON *proof = mwg_node_proof(c->npriv, c->spub, &c->gen, c->mkey);

	if (!p || !proof) {
		cJSON_Delete(p);
		cJSON_Delete(proof);
		return NULL;
	}
	cJSON_AddItemToObject(p, "node_proof", proof);
	cJSON_DeleteItemFromObject(p, "hostname");
	cJSON_AddStringToObject(p, "hostname", hostname);
	if (auth_key)
		cJSON_AddStringToObject(p, "auth_key", auth_key);
	return p;
}

int mwgc_register(struct mwgc *c, const char *auth_key, const char *hostname,
		  const cJSON *extra, cJSON **reply, struct mwg_err *e)
{
	cJSON *p;
	int r;

	struct mwg_err le = { 0 };
	int attempt = 0;

	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	do {	/* the proof in the payload has a nonce too: made again */
		p = mwgc_register_payload(c, auth_key, hostname, extra);
		if (!p)
			return mwg_fail(e, 500, "out of memory");
		r = call_once(c, "/v1/register", p, reply, &le);
		cJSON_Delete(p);
	} while (again(c, r, &le, attempt++));
	if (r && e)
		*e = le;
	return r;
}

cJSON *mwgc_rotate_payload(struct mwgc *c, const uint8_t new_node_priv[32],
			   const char *hostname)
{
	uint8_t npub[32];
	char nkey[MWG_KEY_TEXT_MAX];
	cJSON *p = cJSON_CreateObject();
	cJSON *proof = mwg_node_proof(new_node_priv, c->spub, &c->gen, c->mkey);
	cJSON *oproof = mwg_node_proof(c->npriv, c->spub, &c->gen, c->mkey);

	if (!p || !proof || !oproof) {
		cJSON_Delete(p);
		cJSON_Delete(proof);
		cJSON_Delete(oproof);
		return NULL;
	}
	crypto_scalarmult_base(npub, new_node_priv);
	mwg_key_format(nkey, sizeof(nkey), "nodekey:", npub);
	cJSON_AddStringToObject(p, "node_key", nkey);
	cJSON_AddItemToObject(p, "node_proof", proof);
	cJSON_AddStringToObject(p, "old_node_key", c->nkey);
	cJSON_AddItemToObject(p, "old_node_proof", oproof);
	cJSON_AddStringToObject(p, "hostname", hostname);
	return p;
}

void mwgc_set_node_key(struct mwgc *c, const uint8_t node_priv[32])
{
	memcpy(c->npriv, node_priv, 32);
	crypto_scalarmult_base(c->npub, c->npriv);
	mwg_key_format(c->nkey, sizeof(c->nkey), "nodekey:", c->npub);
}

int mwgc_rotate(struct mwgc *c, const uint8_t new_node_priv[32], const char *hostname,
		cJSON **reply, struct mwg_err *e)
{
	cJSON *p;
	int r;

	struct mwg_err le = { 0 };
	int attempt = 0;

	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	do {
		p = mwgc_rotate_payload(c, new_node_priv, hostname);
		if (!p)
			return mwg_fail(e, 500, "out of memory");
		r = call_once(c, "/v1/register", p, reply, &le);
		cJSON_Delete(p);
	} while (again(c, r, &le, attempt++));
	if (r && e)
		*e = le;
	if (!r)
		mwgc_set_node_key(c, new_node_priv);
	return r;
}

int mwgc_map(struct mwgc *c, const cJSON *extra, cJSON **netmap, struct mwg_err *e)
{
	cJSON *p = mwgc_payload(c, extra);
	int r;

	if (!p)
		return mwg_fail(e, 500, "out of memory");
	r = mwgc_call(c, "/v1/map", p, netmap, e);
	cJSON_Delete(p);
	return r;
}

int mwgc_update(struct mwgc *c, const cJSON *fields, struct mwg_err *e)
{
	cJSON *p = mwgc_payload(c, fields);
	int r;

	if (!p)
		return mwg_fail(e, 500, "out of memory");
	r = mwgc_call(c, "/v1/update", p, NULL, e);
	cJSON_Delete(p);
	return r;
}

int mwgc_logout(struct mwgc *c, struct mwg_err *e)
{
	cJSON *p = mwgc_payload(c, NULL);
	int r;

	if (!p)
		return mwg_fail(e, 500, "out of memory");
	r = mwgc_call(c, "/v1/logout", p, NULL, e);
	cJSON_Delete(p);
	return r;
}

static int stream_once(struct mwgc *c, const cJSON *extra, mwgc_msg_cb cb, void *arg,
		       struct mwg_err *e)
{
	struct mwgc_exchange x;
	struct sink s = { .max = 64 << 20, .c = c, .x = &x, .cb = cb, .arg = arg, .e = e };
	struct curl_slist *hd;
	cJSON *p;
	char *body;
	CURL *h;
	CURLcode rc;
	int r = 0;

	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	p = mwgc_payload(c, extra);
	if (p)
		cJSON_AddTrueToObject(p, "stream");
	body = p ? mwgc_seal_request(c, p, &x) : NULL;
	cJSON_Delete(p);
	if (!body)
		return mwg_fail(e, 500, "out of memory");
	h = handle(c, "/v1/map", &hd, &s);
	if (!h) {
		free(body);
		return mwg_fail(e, 500, "curl init failed");
	}
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	rc = curl_easy_perform(h);
	if (!s.status)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s.status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hd);
	free(body);
	c->last_date = s.date;
	if (s.bad)
		r = -1;
	else if (s.status != 200 && s.status > 0)
		r = error_reply(s.b.data ? s.b.data : "", s.status, e);
	else if (rc != CURLE_OK && !s.stopped)
		r = mwg_fail(e, 503, "stream: %s", curl_easy_strerror(rc));
	mwg_buf_free(&s.b);
	return r;
}

int mwgc_stream(struct mwgc *c, const cJSON *extra, mwgc_msg_cb cb, void *arg,
		struct mwg_err *e)
{
	struct mwg_err le = { 0 };
	int r, attempt = 0;

	do
		r = stream_once(c, extra, cb, arg, &le);
	while (again(c, r, &le, attempt++));
	if (r && e)
		*e = le;
	return r;
}

/* ---- netmaps ---- */

unsigned long long mwgc_merge_steps;

/* A peer of the netmap, or of a delta's peers_added/peers_changed, by id. */
struct pent {
	double id;
	size_t order;		/* position: the netmap's, or the delta's */
	cJSON *item;
	bool dead;		/* removed by peers_removed */
	cJSON *repl;		/* the delta's last entry with this id (a copy) */
};

static int pent_cmp(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	mwgc_merge_steps++;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool id_of(const cJSON *j, double *id)
{
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return false;
	*id = j->valuedouble;
	return true;
}

/* The first entry of v[0..n) (sorted) whose id is not below id, or n. */
static size_t pent_find(const struct pent *v, size_t n, double id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		mwgc_merge_steps++;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first live entry with id in v (sorted by id, then order), or NULL:
 * with repeated ids (a server bug) a removal takes the first live one, as
 * applying the delta entry by entry would. skip[i] counts the dead entries
 * at the start of the run of v[i].id when i starts that run. */
static struct pent *pent_live(struct pent *v, size_t n, size_t *skip, double id)
{
	size_t i = pent_find(v, n, id);

	if (i == n || v[i].id != id)
		return NULL;
	if (i + skip[i] < n && v[i + skip[i]].id == id && !v[i + skip[i]].dead)
		return &v[i + skip[i]];
	return NULL;
}

/* What a message does to a netmap, worked out before anything changes. */
struct plan {
	struct pent *have, *want;	/* the netmap's peers; the delta's new ones */
	size_t n_have, n_want, *skip;
	cJSON **append;			/* copies of new peers, in order of first mention */
	size_t n_append;
	size_t after;			/* peers the netmap then has */
};

static void plan_free(struct plan *p, bool copies)
{
	size_t i;

	if (copies) {
		for (i = 0; i < p->n_have; i++)
			cJSON_Delete(p->have[i].repl);
		for (i = 0; i < p->n_append; i++)
			cJSON_Delete(p->append[i]);
	}
	free(p->have);
	free(p->want);
	free(p->skip);
	free(p->append);
	memset(p, 0, sizeof(*p));
}

static int want_cmp_first(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * A delta, entry by entry (docs/protocol.md), is: remove each id of
 * peers_removed; then for each entry of peers_added and peers_changed,
 * replace the peer with its id, or append it. Done here with sorted
 * arrays: O((n + m) log(n + m)) for n peers and m entries, where looking
 * every entry up in the list was O(n m) (10,000 + 10,000 peers: 3.9 s).
 */
static int plan_delta(struct plan *p, cJSON *peers, const cJSON *msg, struct mwg_err *e)
{
	static const char *const lists[] = { "peers_added", "peers_changed" };
	const cJSON *it;
	cJSON *c;
	size_t i, n_bad = 0, n_new = 0, cap_w = 0;

	memset(p, 0, sizeof(*p));
	cJSON_ArrayForEach(c, peers) {
		double id;

		if (!id_of(cJSON_GetObjectItemCaseSensitive(c, "id"), &id)) {
			n_bad++;	/* never found by id: stays */
			continue;
		}
		p->n_have++;
	}
	p->have = calloc(p->n_have + 1, sizeof(*p->have));
	p->skip = calloc(p->n_have + 1, sizeof(*p->skip));
	if (!p->have || !p->skip)
		goto nomem;
	i = 0;
	cJSON_ArrayForEach(c, peers) {
		double id;

		if (id_of(cJSON_GetObjectItemCaseSensitive(c, "id"), &id))
			p->have[i] = (struct pent){ .id = id, .order = i, .item = c }, i++;
	}
	qsort(p->have, p->n_have, sizeof(*p->have), pent_cmp);

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "peers_removed")) {
		double id;
		struct pent *h;
		size_t run;

		if (!id_of(it, &id) || !(h = pent_live(p->have, p->n_have, p->skip, id)))
			continue;
		h->dead = true;
		run = pent_find(p->have, p->n_have, id);
		p->skip[run]++;
	}

	/* The entries that name no live peer become new peers: sorted by id,
	 * the first mention of an id places it, the last one is its value. */
	for (size_t l = 0, order = 0; l < 2; l++) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, lists[l])) {
			double id;
			struct pent *h = NULL;

			if (id_of(cJSON_GetObjectItemCaseSensitive(it, "id"), &id))
				h = pent_live(p->have, p->n_have, p->skip, id);
			else
				id = NAN;
			if (h) {
				cJSON_Delete(h->repl);
				h->repl = cJSON_Duplicate(it, 1);
				if (!h->repl)
					goto nomem;
				order++;
				continue;
			}
			if (p->n_want == cap_w) {
				size_t n = cap_w ? 2 * cap_w : 64;
				struct pent *w = realloc(p->want, n * sizeof(*w));

				if (!w)
					goto nomem;
				p->want = w;
				cap_w = n;
			}
			p->want[p->n_want++] = (struct pent){ .id = id, .order = order++,
							      .item = (cJSON *)it };
		}
	}
	/* Entries without a usable id sort last and never match: each is a
	 * peer of its own (marked dead here, which only means "no run"). */
	for (i = 0; i < p->n_want; i++)
		if (!isfinite(p->want[i].id))
			p->want[i].id = INFINITY, p->want[i].dead = true;
	if (p->n_want)	/* want is NULL without entries */
		qsort(p->want, p->n_want, sizeof(*p->want), pent_cmp);
	for (i = 0; i < p->n_want; i++) {
		/* the last of a run of one id holds the value, the first the place */
		size_t j = i;

		while (!p->want[i].dead && j + 1 < p->n_want && !p->want[j + 1].dead &&
		       p->want[j + 1].id == p->want[i].id)
			j++;
		p->want[n_new] = p->want[i];
		p->want[n_new].item = p->want[j].item;
		n_new++;
		i = j;
	}
	p->n_want = n_new;
	if (p->n_want)
		qsort(p->want, p->n_want, sizeof(*p->want), want_cmp_first);
	p->append = calloc(p->n_want + 1, sizeof(*p->append));
	if (!p->append)
		goto nomem;
	for (i = 0; i < p->n_want; i++) {
		p->append[i] = cJSON_Duplicate(p->want[i].item, 1);
		if (!p->append[i])
			goto nomem;
		p->n_append++;
	}
	p->after = n_bad + p->n_want;
	for (i = 0; i < p->n_have; i++)
		p->after += !p->have[i].dead;
	return 0;
nomem:
	plan_free(p, true);
	return mwg_fail(e, 500, "out of memory");
}

/* Sets obj's member name to a copy of v (added when absent). */
static int set_member(cJSON *obj, const char *name, const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);

	if (!c)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(obj, name))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, c);
	else
		cJSON_AddItemToObject(obj, name, c);
	return 0;
}

static int too_many(size_t n, size_t max, struct mwg_err *e)
{
	return mwg_fail(e, 413, "netmap refused: %zu peers, more than the limit of %zu "
			"(MWGC_MAX_PEERS); the last netmap stays", n, max);
}

/* The peers array of a netmap; created empty when absent. */
static cJSON *netmap_peers(cJSON *netmap, struct mwg_err *e)
{
	cJSON *peers = cJSON_GetObjectItemCaseSensitive(netmap, "peers");

	if (!peers || cJSON_IsNull(peers)) {
		cJSON *a = cJSON_CreateArray();

		if (!a) {
			mwg_fail(e, 500, "out of memory");
			return NULL;
		}
		if (peers)
			cJSON_ReplaceItemInObjectCaseSensitive(netmap, "peers", a);
		else
			cJSON_AddItemToObject(netmap, "peers", a);
		return a;
	}
	if (!cJSON_IsArray(peers))
		mwg_fail(e, 400, "netmap \"peers\" is not an array");
	return cJSON_IsArray(peers) ? peers : NULL;
}

int mwgc_netmap_merge(cJSON **netmap, const cJSON *msg, size_t max_peers, struct mwg_err *e)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
	const cJSON *it, *peers_in;
	struct plan p;
	cJSON *peers;
	size_t i;

	if (!type)
		return mwg_fail(e, 400, "netmap message without a type");
	if (!strcmp(type, "full")) {
		cJSON *n;

		peers_in = cJSON_GetObjectItemCaseSensitive(msg, "peers");
		if (peers_in && !cJSON_IsNull(peers_in) && !cJSON_IsArray(peers_in))
			return mwg_fail(e, 400, "netmap \"peers\" is not an array");
		if ((size_t)cJSON_GetArraySize(peers_in) > max_peers)
			return too_many((size_t)cJSON_GetArraySize(peers_in), max_peers, e);
		n = cJSON_Duplicate(msg, 1);
		if (!n)
			return mwg_fail(e, 500, "out of memory");
		cJSON_Delete(*netmap);
		*netmap = n;
		return 0;
	}
	if (strcmp(type, "delta") || !*netmap)
		return 0;
	peers = netmap_peers(*netmap, e);
	if (!peers || plan_delta(&p, peers, msg, e))
		return -1;
	if (p.after > max_peers) {
		int r = too_many(p.after, max_peers, e);

		plan_free(&p, true);
		return r;
	}
	/* From here on nothing fails but the small copies of the members. */
	for (i = 0; i < p.n_have; i++) {
		if (p.have[i].dead) {
			cJSON_Delete(cJSON_DetachItemViaPointer(peers, p.have[i].item));
			cJSON_Delete(p.have[i].repl);
		} else if (p.have[i].repl) {
			cJSON_ReplaceItemViaPointer(peers, p.have[i].item, p.have[i].repl);
		}
		p.have[i].repl = NULL;
	}
	for (i = 0; i < p.n_append; i++) {
		cJSON_AddItemToArray(peers, p.append[i]);
		p.append[i] = NULL;
	}
	plan_free(&p, false);
	if (((it = cJSON_GetObjectItemCaseSensitive(msg, "self")) && set_member(*netmap, "self", it)) ||
	    ((it = cJSON_GetObjectItemCaseSensitive(msg, "packet_filter")) &&
	     set_member(*netmap, "packet_filter", it)) ||
	    ((it = cJSON_GetObjectItemCaseSensitive(msg, "seq")) && set_member(*netmap, "seq", it)))
		return mwg_fail(e, 500, "out of memory");
	return 0;
}

int mwgc_netmap_apply(cJSON **netmap, const cJSON *msg)
{
	return mwgc_netmap_merge(netmap, msg, MWGC_MAX_PEERS, NULL);
}
