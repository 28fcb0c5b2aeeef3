// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's glue to the kernel side (kern.h): opening it, the interface,
 * programming the netmap, the peer events. See daemon_int.h. */

#include "daemon_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/util.h"
#include "log.h"

#define MODULE_RETRY_MS 2000

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
	log_info("interface %s up, listening on port %u", d->cfg.kern.ifname,
		 kern_listen_port(d->kern));
	return 0;
}

void daemon_kern_down(struct daemon *d)
{
	if (!d->kern || !d->kern_is_up)
		return;
	if (kern_down(d->kern))
		log_error("deleting %s failed", d->cfg.kern.ifname);
	else
		log_info("interface %s deleted", d->cfg.kern.ifname);
	d->kern_is_up = false;
}

void daemon_apply_netmap(struct daemon *d, const cJSON *delta)
{
	struct kern_apply_stats st = { 0 };
	double seq;
	char err[300];
	int r;

	if (!d->netmap || daemon_bring_up(d))
		return;
	/* kern_apply_delta falls back to the whole netmap whenever it must. */
	if (delta)
		r = kern_apply_delta(d->kern, d->netmap, delta, &st, err, sizeof(err));
	else
		r = kern_apply(d->kern, d->netmap, &st, err, sizeof(err));
	seq = cJSON_GetNumberValue(cJSON_GetObjectItem(d->netmap, "seq"));
	if (r) {
		log_error("applying netmap seq %.0f: %s", seq, err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		return;
	}
	/* One line shape for both (tests and benches read it), then how. */
	log_info("netmap seq %.0f: +%u -%u ~%u peers in %.1f ms (%u messages)%s%s", seq,
		 st.added, st.removed, st.changed, (double)st.usec / 1000.0, st.messages,
		 st.filter_changed ? ", filter changed" : "",
		 !delta ? "" : st.delta ? ", delta" : ", delta applied in full");
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
