// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The STATUS object of the local API (docs/agent.md): the daemon's state,
 * the netmap's nodes and what the kernel says of them. See daemon.h. */

#include "daemon_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define HANDSHAKE_RECENT_S 180

/* The node fields copied from the netmap, for self and for every peer. */
static const char *const node_fields[] = { "id", "hostname", "dns_name", "addresses", "user",
					   "tags" };

const char *daemon_connection(bool online, int64_t last_handshake, int64_t now)
{
	bool recent = last_handshake > 0 && now - last_handshake <= HANDSHAKE_RECENT_S;

	if (recent)
		return "direct";
	return online ? "idle" : "offline";
}

int64_t daemon_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end != 'Z' && *end != '\0') || (*end == 'Z' && end[1]))
		return -1;
	return (int64_t)timegm(&tm);
}

static void copy_item(cJSON *to, const cJSON *from, const char *name)
{
	const cJSON *it = cJSON_GetObjectItem(from, name);

	cJSON_AddItemToObject(to, name, it ? cJSON_Duplicate(it, 1) : cJSON_CreateNull());
}

static void copy_node_fields(cJSON *to, const cJSON *from)
{
	for (size_t i = 0; i < sizeof(node_fields) / sizeof(node_fields[0]); i++)
		copy_item(to, from, node_fields[i]);
}

static double num_or0(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItem(o, name);

	return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

static int cmp_item_name(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* The kernel's peers by base64 key, sorted for bsearch: a status of 10,000
 * peers must not cost 10,000 linear lookups. NULL when there are none. */
static const cJSON **index_peers(const cJSON *kpeers, size_t *n)
{
	const cJSON **v, *it;
	size_t i = 0;

	*n = (size_t)cJSON_GetArraySize(kpeers);
	if (!*n || !(v = calloc(*n, sizeof(*v))))
		return NULL;
	cJSON_ArrayForEach(it, kpeers)
		if (it->string && i < *n)
			v[i++] = it;
	*n = i;
	qsort(v, i, sizeof(*v), cmp_item_name);
	return v;
}

static const cJSON *find_kpeer(const cJSON **v, size_t n, const char *b64)
{
	cJSON key = { .string = (char *)b64 };
	const cJSON *kp = &key, **hit;

	if (!v)
		return NULL;
	hit = bsearch(&kp, v, n, sizeof(*v), cmp_item_name);
	return hit ? *hit : NULL;
}

/* The kernel's peers, indexed (index_peers). */
struct kpeer_index {
	const cJSON **v;
	size_t n;
};

/* What is known of the peer with node key nk ("nodekey:..."): its kernel
 * entry (*kp, NULL if none), and from the events its last handshake (*hs)
 * and endpoint. */
static void peer_lookup(struct daemon *d, const struct kpeer_index *ki, const char *nk,
			const cJSON **kp, int64_t *hs, char *endpoint, size_t eplen)
{
	const struct peer_ev *ev;
	uint8_t key[32];
	char *b64;

	if (!nk || mwg_key_parse(nk, "nodekey:", key))
		return;
	b64 = mwg_b64_encode(key, 32);
	*kp = b64 ? find_kpeer(ki->v, ki->n, b64) : NULL;
	free(b64);
	ev = daemon_peer_ev(d, key);
	if (ev) {
		*hs = ev->last_handshake;
		snprintf(endpoint, eplen, "%s", ev->endpoint);
	}
}

static cJSON *status_peer(struct daemon *d, const cJSON *p, const struct kpeer_index *ki,
			  int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	const char *nk = cJSON_GetStringValue(cJSON_GetObjectItem(p, "node_key"));
	const cJSON *kp = NULL, *ep;
	int64_t hs = 0;
	bool online = cJSON_IsTrue(cJSON_GetObjectItem(p, "online"));
	char endpoint[64] = "";

	copy_node_fields(o, p);
	cJSON_AddBoolToObject(o, "online", online);
	cJSON_AddStringToObject(o, "node_key", nk ? nk : "");
	peer_lookup(d, ki, nk, &kp, &hs, endpoint, sizeof(endpoint));
	/* The kernel's own numbers win when they are newer. */
	if (num_or0(kp, "last_handshake") > (double)hs)
		hs = (int64_t)num_or0(kp, "last_handshake");
	ep = cJSON_GetObjectItem(kp, "endpoint");
	if (cJSON_IsString(ep))
		snprintf(endpoint, sizeof(endpoint), "%s", ep->valuestring);
	if (endpoint[0])
		cJSON_AddStringToObject(o, "endpoint", endpoint);
	else
		cJSON_AddNullToObject(o, "endpoint");
	cJSON_AddStringToObject(o, "connection", daemon_connection(online, hs, now));
	cJSON_AddNumberToObject(o, "last_handshake", (double)hs);
	cJSON_AddNumberToObject(o, "rx_bytes", num_or0(kp, "rx_bytes"));
	cJSON_AddNumberToObject(o, "tx_bytes", num_or0(kp, "tx_bytes"));
	cJSON_AddNumberToObject(o, "acl_drops", num_or0(kp, "acl_drops"));
	return o;
}

static void status_control(struct daemon *d, cJSON *st)
{
	cJSON *ctl = cJSON_AddObjectToObject(st, "control");

	cJSON_AddStringToObject(ctl, "url", d->ctl ? ctl_url(d->ctl) : d->prefs.login_server);
	cJSON_AddBoolToObject(ctl, "connected", d->connected);
	cJSON_AddStringToObject(ctl, "last_error", d->last_error);
}

/* What is wrong although the node may run: netmap parts refused, a netmap
 * the kernel refused. */
static void status_health(struct daemon *d, cJSON *st)
{
	cJSON *h = d->refused ? cJSON_Duplicate(d->refused, 1) : cJSON_CreateArray();

	if (d->apply_error[0])
		cJSON_AddItemToArray(h, cJSON_CreateString(d->apply_error));
	cJSON_AddItemToObject(st, "health", h);
}

static void status_self(struct daemon *d, cJSON *st)
{
	const cJSON *self = cJSON_GetObjectItem(d->netmap, "self");
	cJSON *s;

	if (!self) {
		cJSON_AddNullToObject(st, "self");
		return;
	}
	s = cJSON_AddObjectToObject(st, "self");
	copy_node_fields(s, self);
	copy_item(s, self, "key_expiry");
	cJSON_AddStringToObject(s, "node_key", d->ctl ? ctl_node_key(d->ctl) :
				cJSON_GetStringValue(cJSON_GetObjectItem(self, "node_key")) ?: "");
}

static void status_peers(struct daemon *d, cJSON *st, const cJSON *kpeers, int64_t now)
{
	struct kpeer_index ki;
	cJSON *peers = cJSON_AddArrayToObject(st, "peers");
	const cJSON *p;

	ki.v = index_peers(kpeers, &ki.n);
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(d->netmap, "peers"))
		cJSON_AddItemToArray(peers, status_peer(d, p, &ki, now));
	free(ki.v);
}

/*
 * The kernel's view (peers' counters, the filter): a device dump at 10,000
 * peers is costly, so requests in a burst share one, at most
 * cfg.status_cache_ms old; anything that changes the interface drops it.
 */
static const cJSON *kern_view(struct daemon *d)
{
	uint64_t now = mwg_mono_ms();

	if (!d->kern || !d->kern_is_up) {
		daemon_kview_drop(d);
		return NULL;
	}
	if (!d->kview || now - d->kview_ms >= d->cfg.status_cache_ms) {
		cJSON_Delete(d->kview);
		d->kview = kern_status(d->kern);
		d->kview_ms = now;
	}
	return d->kview;
}

cJSON *daemon_status(struct daemon *d)
{
	cJSON *st = cJSON_CreateObject(), *f;
	const cJSON *ks;
	int64_t now = mwg_now();

	if (!st)
		return NULL;
	ks = kern_view(d);
	cJSON_AddStringToObject(st, "backend_state", daemon_state_name(d->state));
	cJSON_AddStringToObject(st, "message", d->message);
	status_control(d, st);
	status_health(d, st);
	cJSON_AddStringToObject(st, "interface", d->cfg.kern.ifname);
	cJSON_AddNumberToObject(st, "listen_port",
				d->kern_is_up ? kern_listen_port(d->kern) : d->cfg.kern.listen_port);
	status_self(d, st);
	status_peers(d, st, cJSON_GetObjectItem(ks, "peers"), now);
	f = cJSON_Duplicate(cJSON_GetObjectItem(ks, "filter"), 1);
	cJSON_AddItemToObject(st, "filter", f ? f : cJSON_CreateNull());
	return st;
}
