// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's state machine and glue (daemon.h). */

#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "../control/client/mwgc_client.h"
#include "../control/util.h"
#include "api.h"
#include "ctl.h"
#include "endpoints.h"
#include "log.h"
#include "state.h"

#define MODULE_RETRY_MS 2000
#define APPROVAL_RETRY_MS 3000
#define ROTATE_CHECK_MS (3600 * 1000)
#define ROTATE_RETRY_MS (600 * 1000)
#define ROTATE_MIN_INTERVAL_MS (600 * 1000)	/* between automatic rotations */
#define BACKOFF_BASE_MS 500
#define HANDSHAKE_RECENT_S 180

enum backend_state { ST_NOMODULE, ST_NEEDS_LOGIN, ST_NEEDS_APPROVAL, ST_STARTING, ST_RUNNING,
		     ST_STOPPED };
static const char *const state_names[] = { "NoModule", "NeedsLogin", "NeedsApproval", "Starting",
					   "Running", "Stopped" };

struct peer_ev {
	uint8_t key[32];
	int64_t last_handshake;
	char endpoint[64];
};

struct daemon {
	struct loop *loop;
	struct daemon_config cfg;
	struct kern *kern;
	bool kern_is_up;
	struct ctl *ctl;
	struct api *api;
	struct prefs prefs;
	uint8_t mkey[32], nkey[32];
	bool have_nkey;
	cJSON *netmap;
	enum backend_state state;
	char message[300], last_error[300];
	bool connected;		/* first message of the current stream arrived */
	unsigned attempt;
	struct loop_timer module_timer, reconnect_timer, save_timer, endpoint_timer, rotate_timer;
	cJSON *endpoints_sent;
	struct api_req *pending_up;
	struct api_req *pending_rotate;
	bool rotating;
	uint64_t last_rotation_ms;	/* last automatic one, monotonic; 0 = never */
	uint8_t new_nkey[32];
	bool pending_auth_key;	/* the running `up` carried an auth key */
	struct peer_ev *evs;
	size_t nevs, capevs;
};

void daemon_config_defaults(struct daemon_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/meshwg");
	snprintf(c->socket_path, sizeof(c->socket_path), "/run/meshwg/meshwgd.sock");
	c->socket_gid = (gid_t)-1;
	snprintf(c->kern.ifname, sizeof(c->kern.ifname), "meshwg0");
	c->kern.listen_port = 41641;
	snprintf(c->kern.tailnet_v4, sizeof(c->kern.tailnet_v4), "100.64.0.0/10");
	snprintf(c->kern.tailnet_v6, sizeof(c->kern.tailnet_v6), "fd7a:115c:a1e0::/48");
	c->backoff_max_ms = 30000;
	c->rotate_before_s = 7 * 86400;
	c->stream_idle_ms = 70000;
	c->endpoint_interval_ms = 10000;
	c->save_delay_ms = 1000;
}

/* ---- small helpers ---- */

static void set_state(struct daemon *d, enum backend_state st, const char *msg)
{
	if (d->state != st)
		log_info("state %s -> %s%s%s", state_names[d->state], state_names[st],
			 msg && *msg ? ": " : "", msg ? msg : "");
	d->state = st;
	snprintf(d->message, sizeof(d->message), "%s", msg ? msg : "");
}

static cJSON *reply_error(const char *fmt, const char *a)
{
	cJSON *j = cJSON_CreateObject();
	char m[512];

	snprintf(m, sizeof(m), fmt, a);
	cJSON_AddFalseToObject(j, "ok");
	cJSON_AddStringToObject(j, "error", m);
	return j;
}

static cJSON *reply_ok_status(struct daemon *d)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddTrueToObject(j, "ok");
	cJSON_AddItemToObject(j, "status", daemon_status(d));
	return j;
}

static void finish_up(struct daemon *d, cJSON *reply)
{
	if (d->pending_up) {
		api_reply(d->pending_up, reply);
		d->pending_up = NULL;
	} else {
		cJSON_Delete(reply);
	}
}

static void progress(struct daemon *d, const char *msg)
{
	cJSON *j;

	if (!d->pending_up)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "message", msg);
	api_progress(d->pending_up, j);
	cJSON_Delete(j);
}

static void kern_cfg(struct daemon *d, struct kern_config *kc)
{
	*kc = d->cfg.kern;
	kc->accept_routes = d->prefs.accept_routes;
}

static void schedule_save(struct daemon *d)
{
	if (!loop_timer_armed(&d->save_timer))
		loop_timer_arm(&d->save_timer, d->cfg.save_delay_ms);
}

static void save_netmap_now(struct daemon *d)
{
	char err[300];

	loop_timer_disarm(&d->save_timer);
	if (d->netmap && state_save_netmap(d->cfg.state_dir, d->netmap, err, sizeof(err)))
		log_error("saving the netmap: %s", err);
}

static void on_save_timer(void *arg)
{
	save_netmap_now(arg);
}

static const char *hostname_pref(struct daemon *d)
{
	static char host[64];

	if (d->prefs.hostname[0])
		return d->prefs.hostname;
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "meshwg-node");
	host[sizeof(host) - 1] = '\0';
	return host;
}

/* ---- kernel ---- */

static int bring_up(struct daemon *d)
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

static void apply_netmap(struct daemon *d)
{
	struct kern_apply_stats st = { 0 };
	char err[300];

	if (!d->netmap || bring_up(d))
		return;
	if (kern_apply(d->kern, d->netmap, &st, err, sizeof(err))) {
		log_error("applying netmap seq %.0f: %s",
			  cJSON_GetNumberValue(cJSON_GetObjectItem(d->netmap, "seq")), err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		return;
	}
	log_info("netmap seq %.0f: +%u -%u ~%u peers in %.1f ms (%u messages)%s",
		 cJSON_GetNumberValue(cJSON_GetObjectItem(d->netmap, "seq")), st.added, st.removed,
		 st.changed, (double)st.usec / 1000.0, st.messages,
		 st.filter_changed ? ", filter changed" : "");
}

static void on_kern_event(const struct kern_event *ev, void *arg)
{
	struct daemon *d = arg;
	struct peer_ev *p = NULL;

	for (size_t i = 0; i < d->nevs; i++)
		if (!memcmp(d->evs[i].key, ev->public_key, 32))
			p = &d->evs[i];
	if (!p) {
		if (d->nevs == d->capevs) {
			size_t n = d->capevs ? d->capevs * 2 : 32;
			struct peer_ev *nv = realloc(d->evs, n * sizeof(*nv));

			if (!nv)
				return;
			d->evs = nv;
			d->capevs = n;
		}
		p = &d->evs[d->nevs++];
		memset(p, 0, sizeof(*p));
		memcpy(p->key, ev->public_key, 32);
	}
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

/* ---- endpoints ---- */

static cJSON *current_endpoints(struct daemon *d)
{
	struct ep_prefix ex[2];
	size_t n = 0;

	if (!d->kern_is_up)
		return NULL;
	if (!ep_prefix_parse(d->cfg.kern.tailnet_v4, &ex[n]))
		n++;
	if (!ep_prefix_parse(d->cfg.kern.tailnet_v6, &ex[n]))
		n++;
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

static void check_endpoints(struct daemon *d)
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

static void on_endpoint_timer(void *arg)
{
	struct daemon *d = arg;

	check_endpoints(d);
	loop_timer_arm(&d->endpoint_timer, d->cfg.endpoint_interval_ms);
}

/* ---- the map stream ---- */

static void connect_stream(struct daemon *d);
static void start_rotation(struct daemon *d);

static void schedule_reconnect(struct daemon *d, uint64_t ms)
{
	log_info("reconnecting to %s in %.1f s", d->ctl ? ctl_url(d->ctl) : "?", (double)ms / 1000);
	loop_timer_arm(&d->reconnect_timer, ms);
}

static void on_reconnect_timer(void *arg)
{
	connect_stream(arg);
}

static void check_rotation(struct daemon *d)
{
	const cJSON *self = cJSON_GetObjectItem(d->netmap, "self");
	const char *exp = cJSON_GetStringValue(cJSON_GetObjectItem(self, "key_expiry"));
	int64_t t, now = mwg_now();

	if (!exp || d->rotating || d->state != ST_RUNNING)
		return;
	t = daemon_parse_time(exp);
	if (t < 0)
		return;
	if (t - now >= (int64_t)d->cfg.rotate_before_s)
		return;
	/* A rotate_before longer than the key lifetime would rotate after
	 * every netmap: at most one automatic rotation per interval. */
	if (d->last_rotation_ms && loop_now_ms() - d->last_rotation_ms < ROTATE_MIN_INTERVAL_MS)
		return;
	log_info("node key expires %s: rotating it", exp);
	d->last_rotation_ms = loop_now_ms();
	start_rotation(d);
}

static void need_login(struct daemon *d, const char *why)
{
	char m[400];

	snprintf(m, sizeof(m), "%s; log in again with: meshwg up --auth-key KEY", why);
	set_state(d, ST_NEEDS_LOGIN, m);
	loop_timer_disarm(&d->reconnect_timer);
	if (d->ctl)
		ctl_stream_close(d->ctl);
	d->connected = false;
	finish_up(d, reply_error("%s", why));
}

static void on_msg(const cJSON *msg, void *arg)
{
	struct daemon *d = arg;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));

	if (!type)
		return;
	if (!strcmp(type, "full") || !strcmp(type, "delta")) {
		bool first = !d->connected;

		/* Event state of peers that left (or rotated keys) must not pile
		 * up: a FULL starts it afresh; kern_status() has the kernel's own
		 * last handshake and endpoint of every peer anyway. */
		if (!strcmp(type, "full"))
			d->nevs = 0;

		if (mwgc_netmap_apply(&d->netmap, msg)) {
			log_error("netmap message could not be applied");
			return;
		}
		if (!d->netmap)	/* a delta before any full: ignored */
			return;
		apply_netmap(d);
		schedule_save(d);
		if (first) {
			d->connected = true;
			d->attempt = 0;
			d->last_error[0] = '\0';
			set_state(d, ST_RUNNING, "");
			check_endpoints(d);
			finish_up(d, reply_ok_status(d));
		}
		check_rotation(d);
	} else if (!strcmp(type, "goodbye")) {
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "reason"));

		log_info("the control server said goodbye: %s", why ? why : "?");
		if (why && (!strcmp(why, "node key expired") || !strcmp(why, "node deleted")))
			need_login(d, why);
		/* "server shutting down", "pending approval": the stream end reconnects. */
	}
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
			set_state(d, ST_NEEDS_APPROVAL, m);
		loop_timer_arm(&d->reconnect_timer, APPROVAL_RETRY_MS);
		return;
	}
	if (r->status == 401 || r->status == 403) {
		need_login(d, r->error);
		return;
	}
	log_warn("map stream ended: %s", r->error);
	if (was)
		d->attempt = 0;
	if (d->state == ST_RUNNING)
		set_state(d, ST_STARTING, "reconnecting to the control server");
	schedule_reconnect(d, ctl_backoff_ms(d->attempt++, BACKOFF_BASE_MS, d->cfg.backoff_max_ms,
					     randombytes_random()));
}

static void connect_stream(struct daemon *d)
{
	cJSON *extra;
	int r;

	if (!d->ctl || ctl_stream_open_p(d->ctl))
		return;
	extra = cJSON_CreateObject();
	{
		cJSON *eps = current_endpoints(d);

		if (eps) {
			cJSON_AddItemToObject(extra, "endpoints", cJSON_Duplicate(eps, 1));
			cJSON_Delete(d->endpoints_sent);
			d->endpoints_sent = eps;
		}
	}
	d->connected = false;
	r = ctl_stream_open(d->ctl, extra, on_msg, on_stream_end, d);
	cJSON_Delete(extra);
	if (r)
		log_error("opening the map stream: %s", strerror(-r));
}

static int ensure_ctl(struct daemon *d, char *err, size_t errlen)
{
	if (d->ctl && !strcmp(ctl_url(d->ctl), d->prefs.login_server))
		return 0;
	if (d->ctl && strlen(d->prefs.login_server) &&
	    !strncmp(ctl_url(d->ctl), d->prefs.login_server, strlen(ctl_url(d->ctl))) &&
	    strspn(d->prefs.login_server + strlen(ctl_url(d->ctl)), "/") ==
		    strlen(d->prefs.login_server + strlen(ctl_url(d->ctl))))
		return 0;	/* same URL but for trailing slashes */
	/* A new server: the old connection and its stream go. */
	ctl_close(d->ctl);
	d->ctl = NULL;
	d->connected = false;
	loop_timer_disarm(&d->reconnect_timer);
	cJSON_Delete(d->endpoints_sent);
	d->endpoints_sent = NULL;
	if (ctl_open(&d->ctl, d->loop, d->prefs.login_server, d->mkey, d->nkey, err, errlen))
		return -1;
	ctl_set_stream_idle_ms(d->ctl, d->cfg.stream_idle_ms);
	return 0;
}

/* Brings the node towards Running from the stored state. */
static void resume(struct daemon *d)
{
	char err[300];

	if (!d->kern)
		return;
	if (!d->prefs.want_running) {
		set_state(d, d->have_nkey ? ST_STOPPED : ST_NEEDS_LOGIN,
			  d->have_nkey ? "stopped: run meshwg up" : "");
		return;
	}
	if (!d->have_nkey || !d->prefs.login_server[0]) {
		set_state(d, ST_NEEDS_LOGIN, "");
		return;
	}
	if (d->netmap && !d->kern_is_up) {
		log_info("bringing the mesh up from the saved netmap (%d peers)",
			 cJSON_GetArraySize(cJSON_GetObjectItem(d->netmap, "peers")));
		apply_netmap(d);
	}
	if (ensure_ctl(d, err, sizeof(err))) {
		set_state(d, ST_NEEDS_LOGIN, err);
		return;
	}
	set_state(d, ST_STARTING, "connecting to the control server");
	connect_stream(d);
}

static void try_module(struct daemon *d)
{
	struct kern_config kc;
	char err[300];
	int r;

	kern_cfg(d, &kc);
	r = kern_open(&d->kern, &kc, d->loop, err, sizeof(err));
	if (r == -ENOENT) {
		if (d->state != ST_NOMODULE)
			log_error("%s", err);
		set_state(d, ST_NOMODULE, err);
		loop_timer_arm(&d->module_timer, MODULE_RETRY_MS);
		return;
	}
	if (r) {
		log_error("kernel: %s; retrying", err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		set_state(d, ST_NOMODULE, err);
		loop_timer_arm(&d->module_timer, MODULE_RETRY_MS);
		return;
	}
	kern_set_event_cb(d->kern, on_kern_event, d);
	if (d->state == ST_NOMODULE)
		set_state(d, ST_STOPPED, "");
	resume(d);
}

static void on_module_timer(void *arg)
{
	try_module(arg);
}

/* ---- rotation ---- */

static void on_rotated(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	char err[300];

	d->rotating = false;
	if (r->error[0]) {
		log_error("node key rotation failed: %s", r->error);
		if (d->pending_rotate)
			api_reply(d->pending_rotate, reply_error("node key rotation failed: %s", r->error));
		d->pending_rotate = NULL;
		loop_timer_arm(&d->rotate_timer, ROTATE_RETRY_MS);
		sodium_memzero(d->new_nkey, 32);
		return;
	}
	/* The server has the new key: the interface and the key file follow. */
	if (d->kern_is_up && kern_set_private_key(d->kern, d->new_nkey))
		log_error("setting the new private key on %s failed", d->cfg.kern.ifname);
	memcpy(d->nkey, d->new_nkey, 32);
	sodium_memzero(d->new_nkey, 32);
	if (state_save_key(d->cfg.state_dir, "node.key", d->nkey, err, sizeof(err)))
		log_error("saving the rotated node key: %s", err);
	log_info("node key rotated: now %s", ctl_node_key(d->ctl));
	if (d->pending_rotate) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddTrueToObject(j, "ok");
		cJSON_AddStringToObject(j, "node_key", ctl_node_key(d->ctl));
		api_reply(d->pending_rotate, j);
		d->pending_rotate = NULL;
	}
}

static void start_rotation(struct daemon *d)
{
	if (d->rotating || !d->ctl)
		return;
	randombytes_buf(d->new_nkey, 32);
	if (ctl_rotate(d->ctl, d->new_nkey, hostname_pref(d), on_rotated, d)) {
		log_error("cannot start the node key rotation: out of memory");
		return;
	}
	d->rotating = true;
}

static void on_rotate_timer(void *arg)
{
	struct daemon *d = arg;

	check_rotation(d);
	loop_timer_arm(&d->rotate_timer, ROTATE_CHECK_MS);
}

/* ---- API handlers ---- */

static void on_registered(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	const char *st;
	char m[400];

	if (!d->prefs.want_running)	/* `down` came first */
		return;
	if (r->error[0]) {
		snprintf(d->last_error, sizeof(d->last_error), "%s", r->error);
		if (r->status == 401 || r->status == 403) {
			/* A node that is running with its key stays running. */
			if (!d->connected)
				set_state(d, ST_NEEDS_LOGIN, r->error);
			if (d->pending_auth_key)
				finish_up(d, reply_error("the control server refused the auth key: %s", r->error));
			else
				finish_up(d, reply_error("the control server refused this node (log in with --auth-key KEY): %s",
							 r->error));
			return;
		}
		finish_up(d, reply_error("cannot register with the control server: %s", r->error));
		if (!d->connected && d->have_nkey && d->kern_is_up) {
			/* Known node, server unreachable: keep trying the stream. */
			set_state(d, ST_STARTING, r->error);
			if (!ctl_stream_open_p(d->ctl) && !loop_timer_armed(&d->reconnect_timer))
				schedule_reconnect(d, ctl_backoff_ms(d->attempt++, BACKOFF_BASE_MS,
								     d->cfg.backoff_max_ms,
								     randombytes_random()));
		} else if (!d->connected) {
			set_state(d, ST_NEEDS_LOGIN, r->error);
		}
		return;
	}
	st = cJSON_GetStringValue(cJSON_GetObjectItem(r->reply, "status"));
	if (st && !strcmp(st, "pending")) {
		snprintf(m, sizeof(m), "waiting for approval: meshwg-control nodes approve %.0f --user <USER>",
			 cJSON_GetNumberValue(cJSON_GetObjectItem(r->reply, "node_id")));
		set_state(d, ST_NEEDS_APPROVAL, m);
		progress(d, m);
		connect_stream(d);
		return;
	}
	{
		const cJSON *self = cJSON_GetObjectItem(r->reply, "self");
		char *addrs = cJSON_PrintUnformatted(cJSON_GetObjectItem(self, "addresses"));

		snprintf(m, sizeof(m), "registered as %s %s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(self, "dns_name")) ?: "?",
			 addrs ? addrs : "");
		free(addrs);
		log_info("%s", m);
		progress(d, m);
	}
	if (bring_up(d)) {
		set_state(d, ST_STARTING, d->last_error);
		finish_up(d, reply_error("cannot bring up the interface: %s", d->last_error));
		return;
	}
	if (d->connected && ctl_stream_connected(d->ctl)) {
		set_state(d, ST_RUNNING, "");
		finish_up(d, reply_ok_status(d));
		return;
	}
	set_state(d, ST_STARTING, "connecting to the control server");
	connect_stream(d);
}

static int get_string(const cJSON *req, const char *name, const char **out, char *err,
		      size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItem(req, name);

	*out = NULL;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it)) {
		snprintf(err, errlen, "\"%s\" must be a string", name);
		return -1;
	}
	*out = it->valuestring;
	return 0;
}

static int ensure_keys(struct daemon *d, char *err, size_t errlen)
{
	if (!d->have_nkey) {
		randombytes_buf(d->nkey, 32);
		if (state_save_key(d->cfg.state_dir, "node.key", d->nkey, err, errlen))
			return -1;
		d->have_nkey = true;
		if (d->ctl)
			ctl_set_node_key(d->ctl, d->nkey);
	}
	return 0;
}

static void handle_up(struct daemon *d, struct api_req *req, const cJSON *j)
{
	const char *server, *auth_key, *host;
	const cJSON *tags = cJSON_GetObjectItem(j, "advertise_tags");
	const cJSON *ar = cJSON_GetObjectItem(j, "accept_routes");
	struct prefs np;
	char err[400];
	cJSON *extra, *hostinfo;
	bool routes_changed;

	if (get_string(j, "login_server", &server, err, sizeof(err)) ||
	    get_string(j, "auth_key", &auth_key, err, sizeof(err)) ||
	    get_string(j, "hostname", &host, err, sizeof(err))) {
		api_reply(req, reply_error("%s", err));
		return;
	}
	if ((tags && !cJSON_IsArray(tags) && !cJSON_IsNull(tags)) ||
	    (ar && !cJSON_IsBool(ar) && !cJSON_IsNull(ar))) {
		api_reply(req, reply_error("%s", "\"advertise_tags\" must be an array, \"accept_routes\" a boolean"));
		return;
	}
	if (d->state == ST_NOMODULE) {
		api_reply(req, reply_error("%s", d->message));
		return;
	}
	prefs_init(&np);
	if (prefs_copy(&np, &d->prefs)) {
		prefs_free(&np);
		api_reply(req, reply_error("%s", "out of memory"));
		return;
	}
	if (server) {
		if (strlen(server) >= sizeof(np.login_server) ||
		    (strncmp(server, "http://", 7) && strncmp(server, "https://", 8))) {
			prefs_free(&np);
			api_reply(req, reply_error("bad control server URL \"%s\" (want http:// or https://)", server));
			return;
		}
		snprintf(np.login_server, sizeof(np.login_server), "%s", server);
	}
	if (host) {
		char clean[64];

		if (mwg_sanitize_hostname(host, clean, sizeof(clean))) {
			prefs_free(&np);
			api_reply(req, reply_error("bad hostname \"%s\"", host));
			return;
		}
		snprintf(np.hostname, sizeof(np.hostname), "%s", host);
	}
	if (cJSON_IsArray(tags)) {
		const cJSON *t;

		cJSON_ArrayForEach(t, tags) {
			if (!cJSON_IsString(t) || strncmp(t->valuestring, "tag:", 4) || !t->valuestring[4]) {
				prefs_free(&np);
				api_reply(req, reply_error("%s", "advertised tags must look like tag:NAME"));
				return;
			}
		}
		cJSON_Delete(np.advertise_tags);
		np.advertise_tags = cJSON_Duplicate(tags, 1);
	}
	if (cJSON_IsBool(ar))
		np.accept_routes = cJSON_IsTrue(ar);
	if (!np.login_server[0]) {
		prefs_free(&np);
		api_reply(req, reply_error("%s", "no control server known: meshwg up --login-server URL"));
		return;
	}
	np.want_running = true;
	if (state_save_prefs(d->cfg.state_dir, &np, err, sizeof(err))) {
		prefs_free(&np);
		api_reply(req, reply_error("%s", err));
		return;
	}
	routes_changed = np.accept_routes != d->prefs.accept_routes;
	prefs_free(&d->prefs);
	d->prefs = np;
	if (routes_changed && d->kern) {
		struct kern_config kc;

		kern_cfg(d, &kc);
		if (kern_reconfigure(d->kern, &kc))
			log_warn("could not apply accept_routes=%d", d->prefs.accept_routes);
		else if (d->netmap && d->kern_is_up)
			apply_netmap(d);
	}
	if (ensure_keys(d, err, sizeof(err)) || ensure_ctl(d, err, sizeof(err))) {
		api_reply(req, reply_error("%s", err));
		return;
	}
	if (d->pending_up)
		finish_up(d, reply_error("%s", "superseded by a newer meshwg up"));
	d->pending_up = req;
	d->pending_auth_key = auth_key != NULL;
	if (d->state != ST_RUNNING)
		set_state(d, ST_STARTING, "registering with the control server");
	extra = cJSON_CreateObject();
	hostinfo = cJSON_AddObjectToObject(extra, "hostinfo");
	cJSON_AddStringToObject(hostinfo, "os", "linux");
	cJSON_AddStringToObject(hostinfo, "agent", "meshwgd");
	cJSON_AddItemToObject(hostinfo, "advertise_tags", cJSON_Duplicate(d->prefs.advertise_tags, 1));
	if (ctl_register(d->ctl, auth_key, hostname_pref(d), extra, on_registered, d))
		finish_up(d, reply_error("%s", "out of memory"));
	cJSON_Delete(extra);
}

static void go_down(struct daemon *d, bool forget)
{
	char err[300];

	loop_timer_disarm(&d->reconnect_timer);
	if (d->ctl)
		ctl_stream_close(d->ctl);
	d->connected = false;
	if (d->pending_up)
		finish_up(d, reply_error("%s", "interrupted by meshwg down"));
	save_netmap_now(d);
	if (d->kern && d->kern_is_up) {
		if (kern_down(d->kern))
			log_error("deleting %s failed", d->cfg.kern.ifname);
		else
			log_info("interface %s deleted", d->cfg.kern.ifname);
	}
	d->kern_is_up = false;
	d->prefs.want_running = false;
	if (state_save_prefs(d->cfg.state_dir, &d->prefs, err, sizeof(err)))
		log_error("%s", err);
	if (forget) {
		if (state_remove(d->cfg.state_dir, "node.key", err, sizeof(err)) ||
		    state_remove(d->cfg.state_dir, "netmap.json", err, sizeof(err)))
			log_error("%s", err);
		sodium_memzero(d->nkey, 32);
		d->have_nkey = false;
		cJSON_Delete(d->netmap);
		d->netmap = NULL;
		cJSON_Delete(d->endpoints_sent);
		d->endpoints_sent = NULL;
		/* The ctl stays (this may run in its callback): the next `up`
		 * gives it the new node key (ensure_keys). */
		set_state(d, ST_NEEDS_LOGIN, "logged out");
	} else {
		set_state(d, ST_STOPPED, "stopped: run meshwg up");
	}
}

struct logout_ctx {
	struct daemon *d;
	struct api_req *req;
};

static void on_logged_out(const struct ctl_result *r, void *arg)
{
	struct logout_ctx *x = arg;
	struct daemon *d = x->d;
	struct api_req *req = x->req;

	free(x);
	if (r->error[0] && r->status != 401) {
		api_reply(req, reply_error("logout failed: %s", r->error));
		return;
	}
	go_down(d, true);
	api_reply(req, reply_ok_status(d));
}

static void handle_logout(struct daemon *d, struct api_req *req)
{
	struct logout_ctx *x;

	if (!d->have_nkey || !d->ctl) {
		go_down(d, true);
		api_reply(req, reply_ok_status(d));
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		api_reply(req, reply_error("%s", "out of memory"));
		return;
	}
	x->d = d;
	x->req = req;
	if (ctl_logout(d->ctl, on_logged_out, x)) {
		free(x);
		api_reply(req, reply_error("%s", "out of memory"));
	}
}

static void handle_rotate(struct daemon *d, struct api_req *req)
{
	if (d->state != ST_RUNNING || !d->ctl) {
		api_reply(req, reply_error("cannot rotate the node key now (state %s)",
					   state_names[d->state]));
		return;
	}
	if (d->pending_rotate) {
		api_reply(req, reply_error("%s", "a rotation is already running"));
		return;
	}
	start_rotation(d);
	if (!d->rotating) {
		api_reply(req, reply_error("%s", "a rotation is already running or cannot start"));
		return;
	}
	d->pending_rotate = req;
}

static void on_api(struct api_req *req, const cJSON *j, void *arg)
{
	struct daemon *d = arg;
	const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItem(j, "cmd"));

	if (!cmd) {
		api_reply(req, reply_error("%s", "missing \"cmd\""));
	} else if (!strcmp(cmd, "status")) {
		api_reply(req, reply_ok_status(d));
	} else if (!strcmp(cmd, "up")) {
		handle_up(d, req, j);
	} else if (!strcmp(cmd, "down")) {
		go_down(d, false);
		api_reply(req, reply_ok_status(d));
	} else if (!strcmp(cmd, "logout")) {
		handle_logout(d, req);
	} else if (!strcmp(cmd, "rotate-key")) {
		handle_rotate(d, req);
	} else {
		api_reply(req, reply_error("unknown command \"%s\"", cmd));
	}
}

/* ---- status ---- */

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

cJSON *daemon_status(struct daemon *d)
{
	cJSON *st = cJSON_CreateObject(), *ks = NULL, *kpeers, *ctl, *peers;
	const cJSON **kidx;
	size_t nkp;
	const cJSON *self = cJSON_GetObjectItem(d->netmap, "self"), *p;
	const char *names[] = { "id", "hostname", "dns_name", "addresses", "user", "tags" };
	int64_t now = mwg_now();

	if (!st)
		return NULL;
	if (d->kern && d->kern_is_up)
		ks = kern_status(d->kern);
	kpeers = cJSON_GetObjectItem(ks, "peers");
	kidx = index_peers(kpeers, &nkp);
	cJSON_AddStringToObject(st, "backend_state", state_names[d->state]);
	cJSON_AddStringToObject(st, "message", d->message);
	ctl = cJSON_AddObjectToObject(st, "control");
	cJSON_AddStringToObject(ctl, "url", d->ctl ? ctl_url(d->ctl) : d->prefs.login_server);
	cJSON_AddBoolToObject(ctl, "connected", d->connected);
	cJSON_AddStringToObject(ctl, "last_error", d->last_error);
	cJSON_AddStringToObject(st, "interface", d->cfg.kern.ifname);
	cJSON_AddNumberToObject(st, "listen_port",
				d->kern_is_up ? kern_listen_port(d->kern) : d->cfg.kern.listen_port);
	if (self) {
		cJSON *s = cJSON_AddObjectToObject(st, "self");

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			copy_item(s, self, names[i]);
		copy_item(s, self, "key_expiry");
		cJSON_AddStringToObject(s, "node_key", d->ctl ? ctl_node_key(d->ctl) :
				cJSON_GetStringValue(cJSON_GetObjectItem(self, "node_key")) ?: "");
	} else {
		cJSON_AddNullToObject(st, "self");
	}
	peers = cJSON_AddArrayToObject(st, "peers");
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(d->netmap, "peers")) {
		cJSON *o = cJSON_CreateObject();
		const char *nk = cJSON_GetStringValue(cJSON_GetObjectItem(p, "node_key"));
		const cJSON *kp = NULL, *ep;
		uint8_t key[32];
		int64_t hs = 0;
		bool online = cJSON_IsTrue(cJSON_GetObjectItem(p, "online"));
		char endpoint[64] = "";

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			copy_item(o, p, names[i]);
		cJSON_AddBoolToObject(o, "online", online);
		cJSON_AddStringToObject(o, "node_key", nk ? nk : "");
		if (nk && !mwg_key_parse(nk, "nodekey:", key)) {
			char *b64 = mwg_b64_encode(key, 32);

			kp = b64 ? find_kpeer(kidx, nkp, b64) : NULL;
			free(b64);
			for (size_t i = 0; i < d->nevs; i++) {
				if (memcmp(d->evs[i].key, key, 32))
					continue;
				hs = d->evs[i].last_handshake;
				snprintf(endpoint, sizeof(endpoint), "%s", d->evs[i].endpoint);
			}
		}
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
		cJSON_AddItemToArray(peers, o);
	}
	{
		cJSON *f = cJSON_DetachItemFromObject(ks, "filter");

		cJSON_AddItemToObject(st, "filter", f ? f : cJSON_CreateNull());
	}
	free(kidx);
	cJSON_Delete(ks);
	return st;
}

/* ---- life ---- */

static int load_state(struct daemon *d, char *err, size_t errlen)
{
	int r;

	if (state_init(d->cfg.state_dir, err, errlen))
		return -1;
	r = state_load_key(d->cfg.state_dir, "machine.key", d->mkey, err, errlen);
	if (r < 0)
		return -1;
	if (r == 1) {
		randombytes_buf(d->mkey, 32);
		if (state_save_key(d->cfg.state_dir, "machine.key", d->mkey, err, errlen))
			return -1;
		log_info("new machine key in %s/machine.key", d->cfg.state_dir);
	}
	r = state_load_key(d->cfg.state_dir, "node.key", d->nkey, err, errlen);
	if (r < 0)
		return -1;
	d->have_nkey = r == 0;
	if (state_load_prefs(d->cfg.state_dir, &d->prefs, err, errlen) < 0)
		return -1;
	r = state_load_netmap(d->cfg.state_dir, &d->netmap, err, errlen);
	if (r < 0) {
		/* Only a cache: start without it rather than not at all. */
		log_warn("%s (ignored)", err);
		d->netmap = NULL;
	}
	return 0;
}

int daemon_start(struct daemon **dp, struct loop *l, const struct daemon_config *cfg, char *err,
		 size_t errlen)
{
	struct daemon *d = calloc(1, sizeof(*d));

	*dp = NULL;
	if (!d || sodium_init() < 0) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->loop = l;
	d->cfg = *cfg;
	d->state = ST_STOPPED;
	prefs_init(&d->prefs);
	d->module_timer.fd = d->reconnect_timer.fd = d->save_timer.fd = -1;
	d->endpoint_timer.fd = d->rotate_timer.fd = -1;
	if (load_state(d, err, errlen))
		goto fail;
	if (loop_timer_init(l, &d->module_timer, on_module_timer, d) ||
	    loop_timer_init(l, &d->reconnect_timer, on_reconnect_timer, d) ||
	    loop_timer_init(l, &d->save_timer, on_save_timer, d) ||
	    loop_timer_init(l, &d->endpoint_timer, on_endpoint_timer, d) ||
	    loop_timer_init(l, &d->rotate_timer, on_rotate_timer, d)) {
		snprintf(err, errlen, "cannot create timers");
		goto fail;
	}
	if (api_open(&d->api, l, cfg->socket_path, cfg->socket_gid, on_api, d, err, errlen))
		goto fail;
	log_info("listening on %s", cfg->socket_path);
	loop_timer_arm(&d->endpoint_timer, cfg->endpoint_interval_ms);
	loop_timer_arm(&d->rotate_timer, ROTATE_CHECK_MS);
	try_module(d);
	*dp = d;
	return 0;
fail:
	d->cfg.keep_interface = true;
	daemon_stop(d);
	return -1;
}

void daemon_reconfigure(struct daemon *d, const struct daemon_config *cfg)
{
	if (strcmp(cfg->state_dir, d->cfg.state_dir) || strcmp(cfg->socket_path, d->cfg.socket_path) ||
	    strcmp(cfg->kern.ifname, d->cfg.kern.ifname) ||
	    cfg->kern.listen_port != d->cfg.kern.listen_port)
		log_warn("state_dir, socket, interface and port change only with a restart");
	d->cfg.keep_interface = cfg->keep_interface;
	d->cfg.backoff_max_ms = cfg->backoff_max_ms;
	d->cfg.rotate_before_s = cfg->rotate_before_s;
	d->cfg.stream_idle_ms = cfg->stream_idle_ms;
	d->cfg.endpoint_interval_ms = cfg->endpoint_interval_ms;
	d->cfg.save_delay_ms = cfg->save_delay_ms;
	if (d->ctl)
		ctl_set_stream_idle_ms(d->ctl, cfg->stream_idle_ms);
	if (cfg->socket_gid != d->cfg.socket_gid) {
		char err[256];

		d->cfg.socket_gid = cfg->socket_gid;
		if (d->api && api_set_gid(d->api, cfg->socket_gid, err, sizeof(err)))
			log_warn("%s", err);
	}
	if (cfg->kern.fwmark != d->cfg.kern.fwmark) {
		d->cfg.kern.fwmark = cfg->kern.fwmark;
		if (d->kern) {
			struct kern_config kc;

			kern_cfg(d, &kc);
			if (kern_reconfigure(d->kern, &kc))
				log_warn("could not change the fwmark");
		}
	}
	log_info("configuration reloaded");
	check_rotation(d);
}

void daemon_stop(struct daemon *d)
{
	if (!d)
		return;
	if (d->pending_up)
		finish_up(d, reply_error("%s", "meshwgd is shutting down"));
	if (d->pending_rotate)
		api_reply(d->pending_rotate, reply_error("%s", "meshwgd is shutting down"));
	d->pending_rotate = NULL;
	if (d->api)
		api_close(d->api);
	d->api = NULL;
	ctl_close(d->ctl);
	d->ctl = NULL;
	if (d->save_timer.fd >= 0 && loop_timer_armed(&d->save_timer))
		save_netmap_now(d);
	if (d->kern) {
		if (d->kern_is_up && !d->cfg.keep_interface) {
			if (kern_down(d->kern))
				log_error("deleting %s failed", d->cfg.kern.ifname);
			else
				log_info("interface %s deleted", d->cfg.kern.ifname);
		}
		kern_close(d->kern);
	}
	loop_timer_destroy(&d->module_timer);
	loop_timer_destroy(&d->reconnect_timer);
	loop_timer_destroy(&d->save_timer);
	loop_timer_destroy(&d->endpoint_timer);
	loop_timer_destroy(&d->rotate_timer);
	cJSON_Delete(d->netmap);
	cJSON_Delete(d->endpoints_sent);
	prefs_free(&d->prefs);
	free(d->evs);
	sodium_memzero(d->mkey, 32);
	sodium_memzero(d->nkey, 32);
	sodium_memzero(d->new_nkey, 32);
	free(d);
}
