// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's glue to the kernel side (kern.h): opening it, the interface,
 * programming the netmap, the peer events. See daemon_int.h. */

#include "daemon_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"
#include "endpoints.h"
#include "log.h"
#include "netmap_check.h"

#define MODULE_RETRY_MS 2000
#define APPLY_RETRY_BASE_MS 1000
/* Peers programmed per turn of the loop (about 9 SET_DEVICE messages):
 * the local API, the map stream and events are served between steps. */
#define APPLY_STEP_PEERS 1024

void daemon_kern_cfg(struct daemon *d, struct kern_config *kc)
{
	*kc = d->cfg.kern;
	kc->accept_routes = d->prefs.accept_routes;
}

int daemon_bring_up(struct daemon *d)
{
	char err[300];

	if (d->kern_is_up)
		return 0;
	if (!d->kern)
		return -1;
	if (kern_up(d->kern, d->nkey, err, sizeof(err))) {
		log_error("bringing up %s: %s", d->cfg.kern.ifname, err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		return -1;
	}
	d->kern_is_up = true;
	daemon_kview_drop(d);
	log_info("interface %s up, listening on port %u", d->cfg.kern.ifname,
		 kern_listen_port(d->kern));
	return 0;
}

void daemon_kern_down(struct daemon *d)
{
	daemon_apply_cancel(d);
	if (!d->kern || !d->kern_is_up)
		return;
	if (kern_down(d->kern))
		log_error("deleting %s failed", d->cfg.kern.ifname);
	else
		log_info("interface %s deleted", d->cfg.kern.ifname);
	d->kern_is_up = false;
	daemon_kview_drop(d);
}

void daemon_kview_drop(struct daemon *d)
{
	cJSON_Delete(d->kview);
	d->kview = NULL;
}

/* ---- checking ---- */

#define MAX_KEEP_OFF (EP_MAX + 2)

/* The control server's address: the URL's host when it is an address,
 * and the address the connection went to. */
static size_t server_addrs(struct daemon *d, struct kprefix *out)
{
	const char *url = d->ctl ? ctl_url(d->ctl) : d->prefs.login_server;
	const char *host = strstr(url, "://"), *ip = d->ctl ? ctl_server_ip(d->ctl) : NULL;
	char buf[300];
	size_t n = 0;

	if (host) {
		host += 3;
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(host, "/?#"), host);
		if (!nmc_endpoint_host(&out[n], buf))
			n++;
	}
	if (ip && ip[0] && !nmc_endpoint_host(&out[n], ip))
		n++;
	return n;
}

size_t daemon_tailnet(const struct daemon *d, struct kprefix out[2])
{
	size_t n = 0;

	if (!kprefix_parse(&out[n], d->cfg.kern.tailnet_v4))
		n++;
	if (!kprefix_parse(&out[n], d->cfg.kern.tailnet_v6))
		n++;
	return n;
}

/* This node's own underlay addresses (those it reports as endpoints). */
static size_t own_addrs(struct daemon *d, struct kprefix *out, size_t max)
{
	struct kprefix ex[2];
	size_t n = 0, nex = daemon_tailnet(d, ex);
	cJSON *eps, *e;

	eps = ep_collect(d->cfg.kern.ifname, ex, nex, 1);
	cJSON_ArrayForEach(e, eps)
		if (n < max && !nmc_endpoint_host(&out[n], e->valuestring))
			n++;
	cJSON_Delete(eps);
	return n;
}

void daemon_check_netmap(struct daemon *d, cJSON *msg, const cJSON *before, bool full)
{
	struct kprefix keep[MAX_KEEP_OFF];
	struct nmc_rules r = { .accept_routes = d->prefs.accept_routes, .keep_off = keep };
	cJSON *found = cJSON_CreateArray(), *p;

	r.n_tailnet = daemon_tailnet(d, r.tailnet);
	r.n_keep_off = server_addrs(d, keep);
	r.n_keep_off += own_addrs(d, keep + r.n_keep_off, MAX_KEEP_OFF - r.n_keep_off);
	nmc_check(msg, before, &r, found);
	if (full || !d->refused) {
		cJSON_Delete(d->refused);
		d->refused = cJSON_CreateArray();
	}
	cJSON_ArrayForEach(p, found) {
		log_warn("netmap: %s", p->valuestring);
		if (d->refused && cJSON_GetArraySize(d->refused) < DAEMON_MAX_REFUSED)
			cJSON_AddItemToArray(d->refused, cJSON_CreateString(p->valuestring));
	}
	cJSON_Delete(found);
}

/* ---- programming ---- */

/* After the kernel took (ok) or refused d->netmap. */
static void applied(struct daemon *d, bool ok)
{
	if (!ok) {
		/* Not Running on a netmap the kernel refused; retried (apply_timer). */
		if (d->state == ST_RUNNING || d->state == ST_STARTING)
			daemon_set_state(d, ST_STARTING, d->apply_error);
		return;
	}
	daemon_schedule_save(d);
	if (d->connected && d->state != ST_RUNNING) {
		d->last_error[0] = '\0';
		daemon_set_state(d, ST_RUNNING, "");
		daemon_finish_up(d, daemon_reply_status(d));
	}
}

/* The end of an apply: r as kern_apply's. */
static int apply_done(struct daemon *d, int r, const struct kern_apply_stats *st, const char *err,
		      bool delta)
{
	double seq = cJSON_GetNumberValue(cJSON_GetObjectItem(d->netmap, "seq"));

	daemon_kview_drop(d);
	if (r) {
		uint64_t ms = ctl_backoff_ms(d->apply_attempt++, APPLY_RETRY_BASE_MS,
					     d->cfg.backoff_max_ms, randombytes_random());

		log_error("applying netmap seq %.0f: %s; retrying in %.1f s", seq, err,
			  (double)ms / 1000);
		snprintf(d->apply_error, sizeof(d->apply_error),
			 "the kernel refused netmap seq %.0f: %.240s", seq, err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", d->apply_error);
		loop_timer_arm(&d->apply_timer, ms);
		applied(d, false);
		return -1;
	}
	if (d->apply_error[0])
		log_info("netmap seq %.0f applied after an earlier refusal", seq);
	d->apply_error[0] = '\0';
	d->apply_attempt = 0;
	loop_timer_disarm(&d->apply_timer);
	/* One line shape for both (tests and benches read it), then how. */
	log_info("netmap seq %.0f: +%u -%u ~%u peers in %.1f ms (%u messages)%s%s", seq,
		 st->added, st->removed, st->changed, (double)st->usec / 1000.0, st->messages,
		 st->filter_changed ? ", filter changed" : "",
		 !delta ? "" : st->delta ? ", delta" : ", delta applied in full");
	applied(d, true);
	return 0;
}

void daemon_apply_step(void *arg)
{
	struct daemon *d = arg;
	struct kern_apply_stats st;
	char err[300];
	int r;

	if (!d->applying)
		return;
	r = kern_apply_continue(d->kern, APPLY_STEP_PEERS, &st, err, sizeof(err));
	if (r == 1) {
		loop_timer_arm(&d->apply_step_timer, 1);
		return;
	}
	d->applying = false;
	apply_done(d, r, &st, err, d->applying_delta);
}

void daemon_apply_cancel(struct daemon *d)
{
	if (!d->applying)
		return;
	d->applying = false;
	loop_timer_disarm(&d->apply_step_timer);
	if (d->kern)
		kern_apply_cancel(d->kern);
}

int daemon_apply_netmap(struct daemon *d, const cJSON *delta)
{
	struct kern_apply_stats st;
	char err[300];
	int r;

	if (!d->netmap || daemon_bring_up(d))
		return -1;
	if (d->applying) {	/* what it was sending is part of d->netmap too */
		daemon_apply_cancel(d);
		delta = NULL;
	}
	/* kern_apply_start falls back to the whole netmap whenever it must. */
	r = kern_apply_start(d->kern, d->netmap, delta, APPLY_STEP_PEERS, &st, err, sizeof(err));
	if (r == 1) {
		d->applying = true;
		d->applying_delta = delta != NULL;
		loop_timer_arm(&d->apply_step_timer, 1);
		return 1;
	}
	return apply_done(d, r, &st, err, delta != NULL);
}

/* Where the event state of key is in d->evs (kept sorted by key), or where it
 * would go: events and status look peers up by key, so neither a handshake
 * nor a status at 10,000 peers scans them all. */
static size_t peer_ev_pos(const struct daemon *d, const uint8_t key[32], bool *found)
{
	size_t lo = 0, hi = d->nevs;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(d->evs[mid].key, key, 32);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct peer_ev *daemon_peer_ev(const struct daemon *d, const uint8_t key[32])
{
	bool found;
	size_t i = peer_ev_pos(d, key, &found);

	return found ? &d->evs[i] : NULL;
}

/* The event state of the peer with key, a new one if there is none; NULL
 * when out of memory. */
static struct peer_ev *peer_ev_get(struct daemon *d, const uint8_t key[32])
{
	bool found;
	size_t i = peer_ev_pos(d, key, &found);
	struct peer_ev *p;

	if (found)
		return &d->evs[i];
	if (d->nevs == d->capevs) {
		size_t n = d->capevs ? d->capevs * 2 : 32;
		struct peer_ev *nv = realloc(d->evs, n * sizeof(*nv));

		if (!nv)
			return NULL;
		d->evs = nv;
		d->capevs = n;
	}
	p = &d->evs[i];
	memmove(p + 1, p, (d->nevs - i) * sizeof(*p));
	d->nevs++;
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, 32);
	return p;
}

static void on_kern_event(const struct kern_event *ev, void *arg)
{
	struct daemon *d = arg;
	struct peer_ev *p = peer_ev_get(d, ev->public_key);

	if (!p)
		return;
	switch (ev->type) {
	case KERN_EV_HANDSHAKE:
		p->last_handshake = mwg_now();
		if (ev->endpoint[0])
			snprintf(p->endpoint, sizeof(p->endpoint), "%s", ev->endpoint);
		log_debug("handshake with a peer at %s", ev->endpoint[0] ? ev->endpoint : "?");
		break;
	case KERN_EV_ENDPOINT:
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", ev->endpoint);
		log_debug("peer endpoint now %s", ev->endpoint);
		break;
	case KERN_EV_WANTS_ENDPOINT:
		/* NAT traversal / DERP will answer this later. */
		log_debug("a peer without endpoint has queued traffic");
		break;
	case KERN_EV_ACL_DENY:
		log_debug("acl deny (sampled)");
		break;
	}
}

void daemon_try_module(struct daemon *d)
{
	struct kern_config kc;
	char err[300];
	int r;

	daemon_kern_cfg(d, &kc);
	r = kern_open(&d->kern, &kc, d->loop, err, sizeof(err));
	if (r == -ENOENT) {
		if (d->state != ST_NOMODULE)
			log_error("%s", err);
		daemon_set_state(d, ST_NOMODULE, err);
		loop_timer_arm(&d->module_timer, MODULE_RETRY_MS);
		return;
	}
	if (r) {
		log_error("kernel: %s; retrying", err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		daemon_set_state(d, ST_NOMODULE, err);
		loop_timer_arm(&d->module_timer, MODULE_RETRY_MS);
		return;
	}
	kern_set_event_cb(d->kern, on_kern_event, d);
	if (d->state == ST_NOMODULE)
		daemon_set_state(d, ST_STOPPED, "");
	daemon_resume(d);
}
