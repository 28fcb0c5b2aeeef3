// SPDX-License-Identifier: MIT
#include "mwgc_client.h"
#include "../../lib/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <sodium.h>

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
	/* stream mode */
	struct mwgc *c;
	struct mwgc_exchange *x;
	mwgc_msg_cb cb;
	void *arg;
	bool stopped, bad;
	struct mwg_err *e;
	long status;
	CURL *h;
};

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
	if (s->b.len + len > s->max || mwg_buf_append(&s->b, p, len))
		return 0;
	if (s->cb && s->status == 200) {
		char *nl;

		while ((nl = memchr(s->b.data, '\n', s->b.len))) {
			size_t l = (size_t)(nl - s->b.data);

			*nl = '\0';
			if (deliver_line(s, s->b.data)) {
				s->bad = true;
				return 0;
			}
			memmove(s->b.data, nl + 1, s->b.len - l - 1);
			s->b.len -= l + 1;
			s->b.data[s->b.len] = '\0';
			if (s->stopped)
				return 0;
		}
	}
	return len;
}

static CURL *handle(struct mwgc *c, const char *path, struct curl_slist **hdrs, struct sink *s)
{
	CURL *h = curl_easy_init();
	char url[512];

	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
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

int mwgc_call(struct mwgc *c, const char *path, const cJSON *payload, cJSON **reply,
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

	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	p = mwgc_register_payload(c, auth_key, hostname, extra);
	if (!p)
		return mwg_fail(e, 500, "out of memory");
	r = mwgc_call(c, "/v1/register", p, reply, e);
	cJSON_Delete(p);
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

	if (!c->have_server_key && mwgc_fetch_server_key(c, e))
		return -1;
	p = mwgc_rotate_payload(c, new_node_priv, hostname);
	if (!p)
		return mwg_fail(e, 500, "out of memory");
	r = mwgc_call(c, "/v1/register", p, reply, e);
	cJSON_Delete(p);
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

int mwgc_stream(struct mwgc *c, const cJSON *extra, mwgc_msg_cb cb, void *arg,
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
	if (s.bad)
		r = -1;
	else if (s.status != 200 && s.status > 0)
		r = error_reply(s.b.data ? s.b.data : "", s.status, e);
	else if (rc != CURLE_OK && !s.stopped)
		r = mwg_fail(e, 503, "stream: %s", curl_easy_strerror(rc));
	mwg_buf_free(&s.b);
	return r;
}

static cJSON *find_peer(cJSON *peers, double id, int *idx)
{
	cJSON *p;
	int i = 0;

	cJSON_ArrayForEach(p, peers) {
		if (cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id")) == id) {
			if (idx)
				*idx = i;
			return p;
		}
		i++;
	}
	return NULL;
}

/* Sets o[k] = v (v consumed, also on failure; NULL does nothing): a delta
 * may carry a member the full netmap lacked. */
static void put_member(cJSON *o, const char *k, cJSON *v)
{
	if (!v)
		return;
	if (cJSON_GetObjectItem(o, k) ? !cJSON_ReplaceItemInObject(o, k, v)
				      : !cJSON_AddItemToObject(o, k, v))
		cJSON_Delete(v);
}

int mwgc_netmap_apply(cJSON **netmap, const cJSON *msg)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));
	const cJSON *it;
	cJSON *peers;

	if (!type)
		return -1;
	if (!strcmp(type, "full")) {
		cJSON *n = cJSON_Duplicate(msg, 1);

		if (!n)
			return -1;
		cJSON_Delete(*netmap);
		*netmap = n;
		return 0;
	}
	if (strcmp(type, "delta") || !*netmap)
		return 0;
	if (!cJSON_IsArray(cJSON_GetObjectItem(*netmap, "peers")))
		put_member(*netmap, "peers", cJSON_CreateArray());
	peers = cJSON_GetObjectItem(*netmap, "peers");
	if ((it = cJSON_GetObjectItem(msg, "self")))
		put_member(*netmap, "self", cJSON_Duplicate(it, 1));
	if ((it = cJSON_GetObjectItem(msg, "packet_filter")))
		put_member(*netmap, "packet_filter", cJSON_Duplicate(it, 1));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(msg, "peers_removed")) {
		int idx;

		if (find_peer(peers, it->valuedouble, &idx))
			cJSON_DeleteItemFromArray(peers, idx);
	}
	const char *lists[] = { "peers_added", "peers_changed" };

	for (size_t l = 0; l < 2; l++) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(msg, lists[l])) {
			int idx;
			double id = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id"));

			cJSON *dup = cJSON_Duplicate(it, 1);

			if (!dup)
				continue;
			if (find_peer(peers, id, &idx) ? !cJSON_ReplaceItemInArray(peers, idx, dup)
						       : !cJSON_AddItemToArray(peers, dup))
				cJSON_Delete(dup);
		}
	}
	put_member(*netmap, "seq",
		   cJSON_CreateNumber(cJSON_GetNumberValue(cJSON_GetObjectItem(msg, "seq"))));
	return 0;
}
