// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's map stream (ctl.h): connecting, the netmap messages, the
 * reconnects, and the node's endpoints sent on it. See daemon_int.h. */

#include "daemon_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "../control/client/mwgc_client.h"
#include "endpoints.h"
#include "log.h"

#define APPROVAL_RETRY_MS 3000
#define BACKOFF_BASE_MS 500

/* ---- endpoints ---- */

static cJSON *current_endpoints(struct daemon *d)
{
	struct kprefix ex[2];
	size_t n = daemon_tailnet(d, ex);

	if (!d->kern_is_up)
		return NULL;
	return ep_collect(d->cfg.kern.ifname, ex, n, kern_listen_port(d->kern));
}

static void on_update_done(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;

	if (r->error[0]) {
		log_warn("endpoint update: %s", r->error);
		/* Send again at the next check. */
		cJSON_Delete(d->endpoints_sent);
		d->endpoints_sent = NULL;
	}
}

void daemon_check_endpoints(struct daemon *d)
{
	cJSON *eps, *fields;

	if (!d->ctl || !ctl_stream_connected(d->ctl) || !(eps = current_endpoints(d)))
		return;
	if (d->endpoints_sent && cJSON_Compare(eps, d->endpoints_sent, 1)) {
		cJSON_Delete(eps);
		return;
	}
	fields = cJSON_CreateObject();
	cJSON_AddItemToObject(fields, "endpoints", cJSON_Duplicate(eps, 1));
	if (ctl_update(d->ctl, fields, on_update_done, d)) {
		cJSON_Delete(eps);
	} else {
		char *t = cJSON_PrintUnformatted(eps);

		log_info("endpoints: %s", t ? t : "?");
		free(t);
		cJSON_Delete(d->endpoints_sent);
		d->endpoints_sent = eps;
	}
	cJSON_Delete(fields);
}

/* ---- the map stream ---- */

bool daemon_refusal_is_final(long status, const char *error)
{
	/* What meshwg-control says when this node's key is gone for good
	 * (docs/protocol.md): expired, replaced, or the node deleted. Other
	 * refusals (a stale nonce after a clock step, a box that does not open,
	 * a proxy's 403 page) may pass: the stream is retried with backoff. */
	static const char *const final[] = { "node key expired", "unknown machine",
					     "node key does not match" };

	if (status != 401 && status != 403)
		return false;
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		if (strstr(error, final[i]))
			return true;
	return false;
}

static void schedule_reconnect(struct daemon *d, uint64_t ms)
{
	log_info("reconnecting to %s in %.1f s", d->ctl ? ctl_url(d->ctl) : "?", (double)ms / 1000);
	loop_timer_arm(&d->reconnect_timer, ms);
}

void daemon_reconnect_later(struct daemon *d)
{
	schedule_reconnect(d, ctl_backoff_ms(d->attempt++, BACKOFF_BASE_MS, d->cfg.backoff_max_ms,
					     randombytes_random()));
}

static void need_login(struct daemon *d, const char *why)
{
	char m[400];

	snprintf(m, sizeof(m), "%s; log in again with: meshwg up --auth-key KEY "
		 "(or without a key, to wait for an administrator's approval)", why);
	daemon_set_state(d, ST_NEEDS_LOGIN, m);
	loop_timer_disarm(&d->reconnect_timer);
	if (d->ctl)
		ctl_stream_close(d->ctl);
	d->connected = false;
	daemon_finish_up(d, daemon_reply_error("%s", why));
}

/* A "full" or "delta" message: checked (daemon_check_netmap) before it is
 * merged into d->netmap and programmed. */
/* A message the netmap cannot take (too many peers): the last netmap
 * stays, the refusal is logged and in `status` health until the next FULL. */
static void netmap_refused(struct daemon *d, const struct mwg_err *e)
{
	log_warn("netmap: %s", e->msg);
	if (!d->refused)
		d->refused = cJSON_CreateArray();
	if (cJSON_GetArraySize(d->refused) < DAEMON_MAX_REFUSED)
		cJSON_AddItemToArray(d->refused, cJSON_CreateString(e->msg));
}

static void on_netmap(struct daemon *d, const cJSON *raw, bool full)
{
	bool first = !d->connected;
	struct mwg_err e = { 0 };
	cJSON *msg;

	if (!full && !d->netmap)	/* a delta before any full: ignored */
		return;
	/* Too many peers: refused before any work on it (the merge checks again). */
	if (full && cJSON_GetArraySize(cJSON_GetObjectItem(raw, "peers")) > MWGC_MAX_PEERS) {
		struct mwg_err e = { 0 };
		cJSON *none = NULL;

		mwgc_netmap_merge(&none, raw, MWGC_MAX_PEERS, &e);
		netmap_refused(d, &e);
		return;
	}
	msg = cJSON_Duplicate(raw, 1);
	if (!msg) {
		log_error("netmap message: out of memory");
		return;
	}
	daemon_check_netmap(d, msg, full ? NULL : d->netmap, full);
	/* Event state of peers that left (or rotated keys) must not pile
	 * up: a FULL starts it afresh; kern_status() has the kernel's own
	 * last handshake and endpoint of every peer anyway. */
	if (full)
		d->nevs = 0;

	if (mwgc_netmap_merge(&d->netmap, msg, MWGC_MAX_PEERS, &e)) {
		netmap_refused(d, &e);
		cJSON_Delete(msg);
		return;
	}
	if (first) {
		d->connected = true;
		d->attempt = 0;
		daemon_settle_rotation(d, true);
	}
	/* Running (and saved) once the kernel took it, maybe a few turns of
	 * the loop later; not Running on a netmap it refused (retried). */
	daemon_apply_netmap(d, full ? NULL : msg);
	cJSON_Delete(msg);
	if (first)
		daemon_check_endpoints(d);
	daemon_check_rotation(d);
}

static void on_goodbye(struct daemon *d, const cJSON *msg)
{
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "reason"));

	log_info("the control server said goodbye: %s", why ? why : "?");
	if (why && (!strcmp(why, "node key expired") || !strcmp(why, "node deleted")))
		need_login(d, why);
	/* "server shutting down", "pending approval": the stream end reconnects. */
}

static void on_msg(const cJSON *msg, void *arg)
{
	struct daemon *d = arg;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));

	if (!type)
		return;
	if (!strcmp(type, "full") || !strcmp(type, "delta"))
		on_netmap(d, msg, !strcmp(type, "full"));
	else if (!strcmp(type, "goodbye"))
		on_goodbye(d, msg);
}

static void on_stream_end(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	bool was = d->connected;

	d->connected = false;
	snprintf(d->last_error, sizeof(d->last_error), "%s", r->error);
	if (r->status == 403 && strstr(r->error, "pending")) {
		char m[200];

		snprintf(m, sizeof(m), "waiting for approval: meshwg-control nodes approve <ID> --user <USER>");
		if (d->state != ST_NEEDS_APPROVAL)
			daemon_set_state(d, ST_NEEDS_APPROVAL, m);
		loop_timer_arm(&d->reconnect_timer, APPROVAL_RETRY_MS);
		return;
	}
	if (r->status == 401 && strstr(r->error, "node key does not match") &&
	    daemon_settle_rotation(d, false)) {
		daemon_reconnect_later(d);	/* with the key the server has */
		return;
	}
	if ((r->status == 401 || r->status == 403) && daemon_refusal_is_final(r->status, r->error)) {
		need_login(d, r->error);
		return;
	}
	log_warn("map stream ended: %s", r->error);
	if (was)
		d->attempt = 0;
	if (d->state == ST_RUNNING)
		daemon_set_state(d, ST_STARTING, "reconnecting to the control server");
	daemon_reconnect_later(d);
}

void daemon_connect_stream(struct daemon *d)
{
	cJSON *extra, *eps;
	int r;

	if (!d->ctl || ctl_stream_open_p(d->ctl))
		return;
	extra = cJSON_CreateObject();
	eps = current_endpoints(d);
	if (eps) {
		cJSON_AddItemToObject(extra, "endpoints", cJSON_Duplicate(eps, 1));
		cJSON_Delete(d->endpoints_sent);
		d->endpoints_sent = eps;
	}
	d->connected = false;
	r = ctl_stream_open(d->ctl, extra, on_msg, on_stream_end, d);
	cJSON_Delete(extra);
	if (r)
		log_error("opening the map stream: %s", strerror(-r));
}

/* url names want, or want is url with trailing slashes. */
bool daemon_same_server(const char *url, const char *want)
{
	size_t n = strlen(url);

	if (!strcmp(url, want))
		return true;
	return strlen(want) && !strncmp(url, want, n) && strspn(want + n, "/") == strlen(want + n);
}

int daemon_ensure_ctl(struct daemon *d, char *err, size_t errlen)
{
	if (d->ctl && daemon_same_server(ctl_url(d->ctl), d->prefs.login_server))
		return 0;
	/* A new server: the old connection and its stream go. */
	ctl_close(d->ctl);
	d->ctl = NULL;
	d->connected = false;
	loop_timer_disarm(&d->reconnect_timer);
	cJSON_Delete(d->endpoints_sent);
	d->endpoints_sent = NULL;
	if (ctl_open(&d->ctl, d->loop, d->prefs.login_server, d->cfg.state_dir, d->mkey, d->nkey,
		     err, errlen))
		return -1;
	ctl_set_stream_idle_ms(d->ctl, d->cfg.stream_idle_ms);
	return 0;
}

void daemon_resume(struct daemon *d)
{
	char err[300];

	if (!d->kern)
		return;
	if (!d->prefs.want_running) {
		daemon_set_state(d, d->have_nkey ? ST_STOPPED : ST_NEEDS_LOGIN,
				 d->have_nkey ? "stopped: run meshwg up" : "");
		return;
	}
	if (!d->have_nkey || !d->prefs.login_server[0]) {
		daemon_set_state(d, ST_NEEDS_LOGIN, "");
		return;
	}
	if (d->netmap && !d->kern_is_up) {
		log_info("bringing the mesh up from the saved netmap (%d peers)",
			 cJSON_GetArraySize(cJSON_GetObjectItem(d->netmap, "peers")));
		daemon_apply_netmap(d, NULL);
	}
	if (daemon_ensure_ctl(d, err, sizeof(err))) {
		daemon_set_state(d, ST_NEEDS_LOGIN, err);
		return;
	}
	daemon_set_state(d, ST_STARTING, "connecting to the control server");
	daemon_connect_stream(d);
}
