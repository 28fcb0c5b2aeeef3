// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's local-API handlers (api.h): status, up, down, logout and
 * rotate-key, and their replies. See daemon_int.h. */

#include "daemon_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "util.h"
#include "escape.h"
#include "log.h"

/* ---- replies ---- */

cJSON *daemon_reply_error(const char *fmt, const char *a)
{
	cJSON *j = cJSON_CreateObject();
	char m[512];

	snprintf(m, sizeof(m), fmt, a);
	cJSON_AddFalseToObject(j, "ok");
	cJSON_AddStringToObject(j, "error", m);
	return j;
}

cJSON *daemon_reply_status(struct daemon *d)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddTrueToObject(j, "ok");
	cJSON_AddItemToObject(j, "status", daemon_status(d));
	return j;
}

void daemon_finish_up(struct daemon *d, cJSON *reply)
{
	if (d->pending_up) {
		api_reply(d->pending_up, reply);
		d->pending_up = NULL;
	} else {
		cJSON_Delete(reply);
	}
}

/* A progress line for the running `up`. */
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

/* ---- up: the registration ---- */

static void up_set_prefs(struct daemon *d, struct prefs *np);

static void registered_error(struct daemon *d, const struct ctl_result *r)
{
	snprintf(d->last_error, sizeof(d->last_error), "%s", r->error);
	if (r->status == 401 || r->status == 403) {
		/* A node that is running with its key stays running. */
		if (!d->connected)
			daemon_set_state(d, ST_NEEDS_LOGIN, r->error);
		if (r->status == 403 && cJSON_GetArraySize(d->prefs.advertise_tags) > 0)
			/* The server refused the advertised tags (tagOwners). */
			daemon_finish_up(d, daemon_reply_error("the control server refused the registration: %s",
							       r->error));
		else if (d->pending_auth_key)
			daemon_finish_up(d, daemon_reply_error("the control server refused the auth key: %s",
							       r->error));
		else
			daemon_finish_up(d, daemon_reply_error("the control server refused this node (log in with --auth-key KEY): %s",
							       r->error));
		return;
	}
	daemon_finish_up(d, daemon_reply_error("cannot register with the control server: %s", r->error));
	if (!d->connected && d->have_nkey && d->kern_is_up) {
		/* Known node, server unreachable: keep trying the stream. */
		daemon_set_state(d, ST_STARTING, r->error);
		if (!ctl_stream_open_p(d->ctl) && !loop_timer_armed(&d->reconnect_timer))
			daemon_reconnect_later(d);
	} else if (!d->connected) {
		daemon_set_state(d, ST_NEEDS_LOGIN, r->error);
	}
}

static void registered_pending(struct daemon *d, const cJSON *reply)
{
	char m[400];

	snprintf(m, sizeof(m), "waiting for approval: meshwg-control nodes approve %.0f --user <USER>",
		 cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "node_id")));
	daemon_set_state(d, ST_NEEDS_APPROVAL, m);
	progress(d, m);
	daemon_connect_stream(d);
}

static void registered(struct daemon *d, const cJSON *reply)
{
	const cJSON *self = cJSON_GetObjectItem(reply, "self");
	char *addrs = cJSON_PrintUnformatted(cJSON_GetObjectItem(self, "addresses"));
	char m[400];

	snprintf(m, sizeof(m), "registered as %s %s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(self, "dns_name")) ?: "?",
		 addrs ? addrs : "");
	free(addrs);
	log_info("%s", m);
	progress(d, m);
	if (daemon_bring_up(d)) {
		daemon_set_state(d, ST_STARTING, d->last_error);
		daemon_finish_up(d, daemon_reply_error("cannot bring up the interface: %s", d->last_error));
		return;
	}
	if (d->connected && ctl_stream_connected(d->ctl)) {
		daemon_set_state(d, ST_RUNNING, "");
		daemon_finish_up(d, daemon_reply_status(d));
		return;
	}
	daemon_set_state(d, ST_STARTING, "connecting to the control server");
	daemon_connect_stream(d);
}

/* The registration with a new server (`up --login-server` while another
 * one is in use) came back: switch to it only if it succeeded. */
static void on_trial_registered(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	struct ctl *trial = d->trial_ctl;
	char err[400];
	const char *st;

	d->trial_ctl = NULL;
	if (!r->error[0] && state_save_prefs(d->cfg.state_dir, &d->trial_prefs, err, sizeof(err))) {
		daemon_finish_up(d, daemon_reply_error("%s", err));
		r = NULL;
	} else if (r->error[0]) {
		log_warn("staying with %s: registering with %s failed: %s",
			 d->ctl ? ctl_url(d->ctl) : "?", d->trial_prefs.login_server, r->error);
		daemon_finish_up(d, daemon_reply_error("the new control server refused or failed the "
						       "registration (nothing changed): %s", r->error));
		r = NULL;
	}
	if (!r) {
		daemon_bury_ctl(d, trial);
		prefs_free(&d->trial_prefs);
		return;
	}
	log_info("switching from %s to %s", d->ctl ? ctl_url(d->ctl) : "?", ctl_url(trial));
	daemon_bury_ctl(d, d->ctl);
	d->ctl = trial;
	d->connected = false;
	loop_timer_disarm(&d->reconnect_timer);
	cJSON_Delete(d->endpoints_sent);
	d->endpoints_sent = NULL;
	up_set_prefs(d, &d->trial_prefs);
	prefs_init(&d->trial_prefs);
	st = cJSON_GetStringValue(cJSON_GetObjectItem(r->reply, "status"));
	if (st && !strcmp(st, "pending"))
		registered_pending(d, r->reply);
	else
		registered(d, r->reply);
}

static void on_registered(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	const char *st;

	if (!d->prefs.want_running)	/* `down` came first */
		return;
	if (r->error[0]) {
		registered_error(d, r);
		return;
	}
	st = cJSON_GetStringValue(cJSON_GetObjectItem(r->reply, "status"));
	if (st && !strcmp(st, "pending"))
		registered_pending(d, r->reply);
	else
		registered(d, r->reply);
}

/* ---- up: the request ---- */

struct up_args {
	const char *server, *auth_key, *host, *op;	/* NULL: not given */
	const cJSON *tags, *accept_routes, *op_uid;
};

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

/* The arguments of j (they point into it); NULL, or the error reply. */
static cJSON *up_args_parse(const cJSON *j, struct up_args *a)
{
	char err[400];

	a->tags = cJSON_GetObjectItem(j, "advertise_tags");
	a->accept_routes = cJSON_GetObjectItem(j, "accept_routes");
	a->op_uid = cJSON_GetObjectItem(j, "operator_uid");
	if (get_string(j, "login_server", &a->server, err, sizeof(err)) ||
	    get_string(j, "auth_key", &a->auth_key, err, sizeof(err)) ||
	    get_string(j, "hostname", &a->host, err, sizeof(err)) ||
	    get_string(j, "operator", &a->op, err, sizeof(err)))
		return daemon_reply_error("%s", err);
	/* The CLI resolves the user name; meshwgd only keeps the numbers. */
	if (a->op && a->op[0] &&
	    (!prefs_uid_valid(a->op_uid) || strlen(a->op) >= 64 || esc_needed(a->op)))
		return daemon_reply_error("%s", "\"operator\" needs \"operator_uid\" (a uid) and a "
					  "printable name shorter than 64 bytes");
	if ((a->tags && !cJSON_IsArray(a->tags) && !cJSON_IsNull(a->tags)) ||
	    (a->accept_routes && !cJSON_IsBool(a->accept_routes) && !cJSON_IsNull(a->accept_routes)))
		return daemon_reply_error("%s", "\"advertise_tags\" must be an array, \"accept_routes\" a boolean");
	return NULL;
}

static bool tags_valid(const cJSON *tags)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tags)
		if (!cJSON_IsString(t) || strncmp(t->valuestring, "tag:", 4) || !t->valuestring[4])
			return false;
	return true;
}

/* np (initialized) becomes the current prefs with a applied and checked,
 * with want_running; NULL, or the error reply. Nothing is saved. */
static cJSON *up_prefs(struct daemon *d, const struct up_args *a, struct prefs *np)
{
	if (prefs_copy(np, &d->prefs))
		return daemon_reply_error("%s", "out of memory");
	if (a->server) {
		if (strlen(a->server) >= sizeof(np->login_server) ||
		    (strncmp(a->server, "http://", 7) && strncmp(a->server, "https://", 8)))
			return daemon_reply_error("bad control server URL \"%s\" (want http:// or https://)",
						  a->server);
		snprintf(np->login_server, sizeof(np->login_server), "%s", a->server);
	}
	if (a->host) {
		char clean[64];

		if (mwg_sanitize_hostname(a->host, clean, sizeof(clean)))
			return daemon_reply_error("bad hostname \"%s\"", a->host);
		/* The DNS label is what is stored and registered, never the raw text. */
		snprintf(np->hostname, sizeof(np->hostname), "%s", clean);
	}
	if (cJSON_IsArray(a->tags)) {
		if (!tags_valid(a->tags))
			return daemon_reply_error("%s", "advertised tags must look like tag:NAME");
		cJSON_Delete(np->advertise_tags);
		np->advertise_tags = cJSON_Duplicate(a->tags, 1);
	}
	if (cJSON_IsBool(a->accept_routes))
		np->accept_routes = cJSON_IsTrue(a->accept_routes);
	if (a->op) {	/* "" clears it; the name is kept for people, the uid counts */
		np->operator_uid = a->op[0] ? (int64_t)a->op_uid->valuedouble : -1;
		snprintf(np->operator_user, sizeof(np->operator_user), "%s", a->op);
	}
	if (!np->login_server[0])
		return daemon_reply_error("%s", "no control server known: meshwg up --login-server URL");
	np->want_running = true;
	return NULL;
}

/* np becomes d's prefs; the kernel follows a change of accept_routes. */
static void up_set_prefs(struct daemon *d, struct prefs *np)
{
	bool routes_changed = np->accept_routes != d->prefs.accept_routes;
	struct kern_config kc;

	prefs_free(&d->prefs);
	d->prefs = *np;
	if (!routes_changed || !d->kern)
		return;
	daemon_kern_cfg(d, &kc);
	if (d->netmap)	/* routes are checked only when they are to be used */
		daemon_check_netmap(d, d->netmap, NULL, true);
	if (kern_reconfigure(d->kern, &kc))
		log_warn("could not apply accept_routes=%d", d->prefs.accept_routes);
	else if (d->netmap && d->kern_is_up)
		daemon_apply_netmap(d, NULL);
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

/* The register request's extra fields for prefs p (hostinfo, tags). An
 * `up` that names its tags sends them even when there are none: with an
 * auth key, `[]` makes the node personal again; absent, the server keeps
 * the node's tags (docs/protocol.md). */
static cJSON *register_extra(const struct prefs *p, bool tags_given)
{
	cJSON *extra = cJSON_CreateObject(), *hostinfo;

	hostinfo = cJSON_AddObjectToObject(extra, "hostinfo");
	cJSON_AddStringToObject(hostinfo, "os", "linux");
	cJSON_AddStringToObject(hostinfo, "agent", "meshwgd");
	cJSON_AddItemToObject(hostinfo, "advertise_tags", cJSON_Duplicate(p->advertise_tags, 1));
	/* Checked by the server against the policy's tagOwners (docs/protocol.md). */
	if (tags_given || cJSON_GetArraySize(p->advertise_tags) > 0)
		cJSON_AddItemToObject(extra, "tags", cJSON_Duplicate(p->advertise_tags, 1));
	return extra;
}

/* req becomes the pending `up`, answered when registered and connected. */
static void up_register(struct daemon *d, struct api_req *req, const char *auth_key,
			bool tags_given)
{
	cJSON *extra;

	if (d->pending_up)
		daemon_finish_up(d, daemon_reply_error("%s", "superseded by a newer meshwg up"));
	d->pending_up = req;
	d->pending_auth_key = auth_key != NULL;
	if (d->state != ST_RUNNING)
		daemon_set_state(d, ST_STARTING, "registering with the control server");
	extra = register_extra(&d->prefs, tags_given);
	if (ctl_register(d->ctl, auth_key, daemon_hostname(d), extra, on_registered, d))
		daemon_finish_up(d, daemon_reply_error("%s", "out of memory"));
	cJSON_Delete(extra);
}

/* A different server while one is in use: register there first, on a
 * ctl of its own; d->ctl, its stream and the prefs stay until it worked. */
static void up_trial(struct daemon *d, struct api_req *req, struct prefs *np,
		     const char *auth_key, bool tags_given)
{
	char err[400];
	cJSON *extra;

	if (d->trial_ctl) {	/* an earlier trial still running: it is superseded */
		daemon_bury_ctl(d, d->trial_ctl);
		d->trial_ctl = NULL;
	}
	prefs_free(&d->trial_prefs);
	d->trial_prefs = *np;
	if (ctl_open(&d->trial_ctl, d->loop, np->login_server, d->cfg.state_dir,
		     d->mkey, d->nkey, err, sizeof(err))) {
		prefs_free(&d->trial_prefs);
		api_reply(req, daemon_reply_error("%s", err));
		return;
	}
	ctl_set_stream_idle_ms(d->trial_ctl, d->cfg.stream_idle_ms);
	if (d->pending_up)
		daemon_finish_up(d, daemon_reply_error("%s", "superseded by a newer meshwg up"));
	d->pending_up = req;
	d->pending_auth_key = auth_key != NULL;
	log_info("registering with %s before leaving %s", np->login_server, ctl_url(d->ctl));
	extra = register_extra(np, tags_given);
	if (ctl_register(d->trial_ctl, auth_key, np->hostname[0] ? np->hostname : daemon_hostname(d),
			 extra, on_trial_registered, d))
		daemon_finish_up(d, daemon_reply_error("%s", "out of memory"));
	cJSON_Delete(extra);
}

static void handle_up(struct daemon *d, struct api_req *req, const cJSON *j)
{
	struct up_args a;
	struct prefs np;
	char err[400];
	cJSON *reply = up_args_parse(j, &a);

	if (reply) {
		api_reply(req, reply);
		return;
	}
	if (a.op && api_req_cred(req)->uid != 0 &&
	    (a.op[0] ? (int64_t)a.op_uid->valuedouble : -1) != d->prefs.operator_uid) {
		api_reply(req, daemon_reply_error("%s", "permission denied: only root may change the "
						  "operator (meshwg up --operator USER)"));
		return;
	}
	if (d->state == ST_NOMODULE) {
		api_reply(req, daemon_reply_error("%s", d->message));
		return;
	}
	prefs_init(&np);
	reply = up_prefs(d, &a, &np);
	if (reply) {
		prefs_free(&np);
		api_reply(req, reply);
		return;
	}
	if (d->ctl && d->have_nkey && !daemon_same_server(ctl_url(d->ctl), np.login_server)) {
		up_trial(d, req, &np, a.auth_key, cJSON_IsArray(a.tags));
		return;
	}
	if (state_save_prefs(d->cfg.state_dir, &np, err, sizeof(err))) {
		prefs_free(&np);
		api_reply(req, daemon_reply_error("%s", err));
		return;
	}
	up_set_prefs(d, &np);
	if (ensure_keys(d, err, sizeof(err)) || daemon_ensure_ctl(d, err, sizeof(err))) {
		api_reply(req, daemon_reply_error("%s", err));
		return;
	}
	up_register(d, req, a.auth_key, cJSON_IsArray(a.tags));
}

/* ---- down, logout ---- */

/* logout: the node key, the netmap and the endpoints sent go too. */
static void forget_node(struct daemon *d)
{
	char err[300];

	if (state_remove(d->cfg.state_dir, "node.key", err, sizeof(err)) ||
	    state_remove(d->cfg.state_dir, "netmap.json", err, sizeof(err)))
		log_error("%s", err);
	if (state_remove(d->cfg.state_dir, "node.key.new", err, sizeof(err)))
		log_error("%s", err);
	sodium_memzero(d->nkey, 32);
	sodium_memzero(d->new_nkey, 32);
	d->pending_nkey = false;
	d->have_nkey = false;
	cJSON_Delete(d->netmap);
	d->netmap = NULL;
	cJSON_Delete(d->refused);
	d->refused = NULL;
	d->apply_error[0] = '\0';
	loop_timer_disarm(&d->apply_timer);
	cJSON_Delete(d->endpoints_sent);
	d->endpoints_sent = NULL;
}

static void go_down(struct daemon *d, bool forget)
{
	char err[300];

	loop_timer_disarm(&d->reconnect_timer);
	if (d->ctl)
		ctl_stream_close(d->ctl);
	d->connected = false;
	if (d->trial_ctl) {	/* a switch to another server that did not finish */
		daemon_bury_ctl(d, d->trial_ctl);
		d->trial_ctl = NULL;
		prefs_free(&d->trial_prefs);
	}
	if (d->pending_up)
		daemon_finish_up(d, daemon_reply_error("%s", "interrupted by meshwg down"));
	daemon_save_netmap_now(d);
	daemon_kern_down(d);
	d->kern_is_up = false;
	d->prefs.want_running = false;
	if (state_save_prefs(d->cfg.state_dir, &d->prefs, err, sizeof(err)))
		log_error("%s", err);
	if (forget) {
		forget_node(d);
		/* The ctl stays (this may run in its callback): the next `up`
		 * gives it the new node key (ensure_keys). */
		daemon_set_state(d, ST_NEEDS_LOGIN, "logged out");
	} else {
		daemon_set_state(d, ST_STOPPED, "stopped: run meshwg up");
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
		api_reply(req, daemon_reply_error("logout failed: %s", r->error));
		return;
	}
	go_down(d, true);
	api_reply(req, daemon_reply_status(d));
}

static void handle_logout(struct daemon *d, struct api_req *req)
{
	struct logout_ctx *x;

	if (!d->have_nkey || !d->ctl) {
		go_down(d, true);
		api_reply(req, daemon_reply_status(d));
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		api_reply(req, daemon_reply_error("%s", "out of memory"));
		return;
	}
	x->d = d;
	x->req = req;
	if (ctl_logout(d->ctl, on_logged_out, x)) {
		free(x);
		api_reply(req, daemon_reply_error("%s", "out of memory"));
	}
}

/* ---- rotate-key ---- */

static void handle_rotate(struct daemon *d, struct api_req *req)
{
	if (d->state != ST_RUNNING || !d->ctl) {
		api_reply(req, daemon_reply_error("cannot rotate the node key now (state %s)",
						  daemon_state_name(d->state)));
		return;
	}
	if (d->pending_rotate) {
		api_reply(req, daemon_reply_error("%s", "a rotation is already running"));
		return;
	}
	daemon_start_rotation(d);
	if (!d->rotating) {
		api_reply(req, daemon_reply_error("%s", "a rotation is already running or cannot start"));
		return;
	}
	d->pending_rotate = req;
}

/* ---- dispatch ---- */

/* Any local user may read (status: what `meshwg status`, `ip` and `whois`
 * show). Every other request changes meshwgd and needs root, the socket group (SO_PEERCRED's
 * gid or SO_PEERGROUPS) or the operator's uid: numbers only, no NSS. */
static bool may_change(const struct daemon *d, const struct api_cred *c)
{
	return c->uid == 0 || c->in_group ||
	       (d->cfg.operator_uid != (uid_t)-1 && c->uid == d->cfg.operator_uid) ||
	       (d->prefs.operator_uid >= 0 && (int64_t)c->uid == d->prefs.operator_uid);
}

void daemon_on_api(struct api_req *req, const cJSON *j, void *arg)
{
	struct daemon *d = arg;
	const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItem(j, "cmd"));
	const struct api_cred *cred = api_req_cred(req);

	if (cmd && strcmp(cmd, "status") && !may_change(d, cred)) {
		char m[300];

		snprintf(m, sizeof(m), "permission denied: `meshwg %s` changes meshwgd; run it as root "
			 "or use --operator (uid %u is not root, the operator or in the socket group)",
			 !strcmp(cmd, "rotate-key") ? "debug rotate-key" : cmd, (unsigned int)cred->uid);
		log_warn("api: %s (pid %d)", m, (int)cred->pid);
		api_reply(req, daemon_reply_error("%s", m));
	} else if (!cmd) {
		api_reply(req, daemon_reply_error("%s", "missing \"cmd\""));
	} else if (!strcmp(cmd, "status")) {
		api_reply(req, daemon_reply_status(d));
	} else if (!strcmp(cmd, "up")) {
		handle_up(d, req, j);
	} else if (!strcmp(cmd, "down")) {
		go_down(d, false);
		api_reply(req, daemon_reply_status(d));
	} else if (!strcmp(cmd, "logout")) {
		handle_logout(d, req);
	} else if (!strcmp(cmd, "rotate-key")) {
		handle_rotate(d, req);
	} else {
		api_reply(req, daemon_reply_error("unknown command \"%s\"", cmd));
	}
}
