// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd's state machine (daemon.h): its life (start, reconfigure, stop),
 * its state and timers. The rest is in daemon_kern.c, daemon_stream.c,
 * daemon_rotate.c, daemon_api.c and daemon_status.c; see daemon_int.h.
 */

#include "daemon_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"

#define ROTATE_CHECK_MS (3600 * 1000)

static const char *const state_names[] = { "NoModule", "NeedsLogin", "NeedsApproval", "Starting",
					   "Running", "Stopped" };

void daemon_config_defaults(struct daemon_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/meshwg");
	snprintf(c->socket_path, sizeof(c->socket_path), "/run/meshwg/meshwgd.sock");
	c->socket_gid = (gid_t)-1;
	c->operator_uid = (uid_t)-1;
	snprintf(c->kern.ifname, sizeof(c->kern.ifname), "meshwg0");
	c->kern.listen_port = 41641;
	snprintf(c->kern.tailnet_v4, sizeof(c->kern.tailnet_v4), "100.64.0.0/10");
	snprintf(c->kern.tailnet_v6, sizeof(c->kern.tailnet_v6), "fd7a:115c:a1e0::/48");
	c->backoff_max_ms = 30000;
	c->rotate_before_s = 7 * 86400;
	c->stream_idle_ms = 70000;
	c->endpoint_interval_ms = 10000;
	c->save_delay_ms = 1000;
	c->status_cache_ms = 1000;
}

/* ---- state ---- */

const char *daemon_state_name(enum backend_state st)
{
	return state_names[st];
}

void daemon_set_state(struct daemon *d, enum backend_state st, const char *msg)
{
	if (d->state != st)
		log_info("state %s -> %s%s%s", state_names[d->state], state_names[st],
			 msg && *msg ? ": " : "", msg ? msg : "");
	d->state = st;
	snprintf(d->message, sizeof(d->message), "%s", msg ? msg : "");
}

void daemon_schedule_save(struct daemon *d)
{
	if (!loop_timer_armed(&d->save_timer))
		loop_timer_arm(&d->save_timer, d->cfg.save_delay_ms);
}

void daemon_save_netmap_now(struct daemon *d)
{
	char err[300];

	loop_timer_disarm(&d->save_timer);
	/* A netmap the kernel refused is not saved: netmap.json keeps the last good one. */
	if (d->netmap && !d->apply_error[0] && state_save_netmap(d->cfg.state_dir, d->netmap, err, sizeof(err)))
		log_error("saving the netmap: %s", err);
}

const char *daemon_hostname(struct daemon *d)
{
	static char host[64];

	if (d->prefs.hostname[0])
		return d->prefs.hostname;
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "meshwg-node");
	host[sizeof(host) - 1] = '\0';
	return host;
}

/* ---- timers ---- */

static void on_module_timer(void *arg)
{
	daemon_try_module(arg);
}

static void on_reconnect_timer(void *arg)
{
	daemon_connect_stream(arg);
}

static void on_save_timer(void *arg)
{
	daemon_save_netmap_now(arg);
}

static void on_endpoint_timer(void *arg)
{
	struct daemon *d = arg;

	daemon_check_endpoints(d);
	loop_timer_arm(&d->endpoint_timer, d->cfg.endpoint_interval_ms);
}

static void on_rotate_timer(void *arg)
{
	struct daemon *d = arg;

	daemon_check_rotation(d);
	loop_timer_arm(&d->rotate_timer, ROTATE_CHECK_MS);
}

static void on_apply_timer(void *arg)
{
	struct daemon *d = arg;

	if (d->apply_error[0] && d->kern_is_up)
		daemon_apply_netmap(d, NULL);
}

static void on_graveyard_timer(void *arg)
{
	struct daemon *d = arg;

	ctl_close(d->dead_ctl);
	d->dead_ctl = NULL;
}

void daemon_bury_ctl(struct daemon *d, struct ctl *c)
{
	if (!c)
		return;
	ctl_stream_close(c);
	if (d->dead_ctl)	/* not in a callback of that one: it has no work left */
		ctl_close(d->dead_ctl);
	d->dead_ctl = c;
	loop_timer_arm(&d->graveyard_timer, 0);
}

static int init_timers(struct daemon *d)
{
	struct loop *l = d->loop;

	return loop_timer_init(l, &d->module_timer, on_module_timer, d) ||
	       loop_timer_init(l, &d->reconnect_timer, on_reconnect_timer, d) ||
	       loop_timer_init(l, &d->save_timer, on_save_timer, d) ||
	       loop_timer_init(l, &d->endpoint_timer, on_endpoint_timer, d) ||
	       loop_timer_init(l, &d->rotate_timer, on_rotate_timer, d) ||
	       loop_timer_init(l, &d->apply_timer, on_apply_timer, d) ||
	       loop_timer_init(l, &d->apply_step_timer, daemon_apply_step, d) ||
	       loop_timer_init(l, &d->graveyard_timer, on_graveyard_timer, d);
}

static void destroy_timers(struct daemon *d)
{
	loop_timer_destroy(&d->module_timer);
	loop_timer_destroy(&d->reconnect_timer);
	loop_timer_destroy(&d->save_timer);
	loop_timer_destroy(&d->endpoint_timer);
	loop_timer_destroy(&d->rotate_timer);
	loop_timer_destroy(&d->apply_timer);
	loop_timer_destroy(&d->apply_step_timer);
	loop_timer_destroy(&d->graveyard_timer);
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
	/* A rotation that did not finish: which key the server has is settled
	 * by the first map-stream answer (daemon_settle_rotation). */
	r = state_load_key(d->cfg.state_dir, "node.key.new", d->new_nkey, err, errlen);
	if (r < 0)
		return -1;
	d->pending_nkey = r == 0 && d->have_nkey;
	if (d->pending_nkey)
		log_info("an unfinished node key rotation: the control server will tell which key it has");
	if (state_load_prefs(d->cfg.state_dir, &d->prefs, err, errlen) < 0)
		return -1;
	r = state_load_netmap(d->cfg.state_dir, &d->netmap, err, errlen);
	if (r < 0) {
		/* Only a cache: start without it rather than not at all. */
		log_warn("%s (ignored)", err);
		d->netmap = NULL;
	}
	/* The disk is a trust boundary too: the same checks as the stream's. */
	if (d->netmap)
		daemon_check_netmap(d, d->netmap, NULL, true);
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
	d->endpoint_timer.fd = d->rotate_timer.fd = d->apply_timer.fd = -1;
	d->graveyard_timer.fd = d->apply_step_timer.fd = -1;
	prefs_init(&d->trial_prefs);
	if (load_state(d, err, errlen))
		goto fail;
	if (init_timers(d)) {
		snprintf(err, errlen, "cannot create timers");
		goto fail;
	}
	if (api_open(&d->api, l, cfg->socket_path, cfg->socket_gid, daemon_on_api, d, err, errlen))
		goto fail;
	log_info("listening on %s", cfg->socket_path);
	loop_timer_arm(&d->endpoint_timer, cfg->endpoint_interval_ms);
	loop_timer_arm(&d->rotate_timer, ROTATE_CHECK_MS);
	daemon_try_module(d);
	*dp = d;
	return 0;
fail:
	d->cfg.keep_interface = true;
	daemon_stop(d);
	return -1;
}

static void reconfigure_gid(struct daemon *d, gid_t gid)
{
	d->cfg.socket_gid = gid;
	if (d->api)
		api_set_gid(d->api, gid);
}

static void reconfigure_fwmark(struct daemon *d, uint32_t fwmark)
{
	struct kern_config kc;

	if (fwmark == d->cfg.kern.fwmark)
		return;
	d->cfg.kern.fwmark = fwmark;
	if (!d->kern)
		return;
	daemon_kern_cfg(d, &kc);
	if (kern_reconfigure(d->kern, &kc))
		log_warn("could not change the fwmark");
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
	d->cfg.status_cache_ms = cfg->status_cache_ms;
	if (d->ctl)
		ctl_set_stream_idle_ms(d->ctl, cfg->stream_idle_ms);
	reconfigure_gid(d, cfg->socket_gid);
	d->cfg.operator_uid = cfg->operator_uid;
	reconfigure_fwmark(d, cfg->kern.fwmark);
	log_info("configuration reloaded");
	daemon_check_rotation(d);
}

/* Answers what is still waiting: the daemon goes away. */
static void fail_pending(struct daemon *d)
{
	if (d->pending_up)
		daemon_finish_up(d, daemon_reply_error("%s", "meshwgd is shutting down"));
	if (d->pending_rotate)
		api_reply(d->pending_rotate, daemon_reply_error("%s", "meshwgd is shutting down"));
	d->pending_rotate = NULL;
}

static void close_kern(struct daemon *d)
{
	if (!d->kern)
		return;
	if (!d->cfg.keep_interface)
		daemon_kern_down(d);
	kern_close(d->kern);
}

void daemon_stop(struct daemon *d)
{
	if (!d)
		return;
	fail_pending(d);
	if (d->api)
		api_close(d->api);
	d->api = NULL;
	ctl_close(d->ctl);
	d->ctl = NULL;
	ctl_close(d->trial_ctl);
	ctl_close(d->dead_ctl);
	prefs_free(&d->trial_prefs);
	if (d->save_timer.fd >= 0 && loop_timer_armed(&d->save_timer))
		daemon_save_netmap_now(d);
	close_kern(d);
	destroy_timers(d);
	cJSON_Delete(d->netmap);
	cJSON_Delete(d->refused);
	cJSON_Delete(d->endpoints_sent);
	cJSON_Delete(d->kview);
	prefs_free(&d->prefs);
	free(d->evs);
	sodium_memzero(d->mkey, 32);
	sodium_memzero(d->nkey, 32);
	sodium_memzero(d->new_nkey, 32);
	free(d);
}
