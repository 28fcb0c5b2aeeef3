// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's node key rotation: automatic before the key expires, or asked
 * for with `meshwg rotate-key`. See daemon_int.h. */

#include "daemon_int.h"

#include <string.h>
#include <sodium.h>

#include "util.h"
#include "log.h"

#define PENDING_KEY "node.key.new"
#define ROTATE_RETRY_MS (600 * 1000)
#define ROTATE_MIN_INTERVAL_MS (600 * 1000)	/* between automatic rotations */

void daemon_check_rotation(struct daemon *d)
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
	if (d->last_rotation_ms && mwg_mono_ms() - d->last_rotation_ms < ROTATE_MIN_INTERVAL_MS)
		return;
	log_info("node key expires %s: rotating it", exp);
	d->last_rotation_ms = mwg_mono_ms();
	daemon_start_rotation(d);
}

/* The rotation is over one way or the other: node.key.new goes. */
static void forget_pending(struct daemon *d)
{
	char err[300];

	if (state_remove(d->cfg.state_dir, PENDING_KEY, err, sizeof(err)))
		log_error("%s", err);
	d->pending_nkey = false;
	sodium_memzero(d->new_nkey, 32);
}

/* unknown: the server may have rotated all the same (no reply, a gateway's
 * 5xx): node.key.new stays until the map stream tells which key it has. */
static void rotation_failed(struct daemon *d, const char *error, bool unknown)
{
	log_error("node key rotation failed: %s%s", error,
		  unknown ? " (the server may have the new key: the next connection tells)" : "");
	if (d->pending_rotate)
		api_reply(d->pending_rotate, daemon_reply_error("node key rotation failed: %s", error));
	d->pending_rotate = NULL;
	loop_timer_arm(&d->rotate_timer, ROTATE_RETRY_MS);
	if (!unknown)
		forget_pending(d);
}

/* new_nkey becomes the node key: interface, ctl, node.key, then node.key.new goes. */
static void commit_key(struct daemon *d)
{
	char err[300];

	if (d->kern_is_up && kern_set_private_key(d->kern, d->new_nkey))
		log_error("setting the new private key on %s failed", d->cfg.kern.ifname);
	daemon_kview_drop(d);
	memcpy(d->nkey, d->new_nkey, 32);
	if (d->ctl)
		ctl_set_node_key(d->ctl, d->nkey);
	if (state_save_key(d->cfg.state_dir, "node.key", d->nkey, err, sizeof(err))) {
		/* node.key.new still holds it: a restart settles it again. */
		log_error("saving the rotated node key: %s", err);
		return;
	}
	forget_pending(d);
}

bool daemon_settle_rotation(struct daemon *d, bool accepted)
{
	if (!d->pending_nkey || d->rotating)
		return false;
	if (accepted) {
		log_info("the server has the current node key: dropping the unconfirmed new one");
		forget_pending(d);
		return false;
	}
	log_info("the server has the rotated node key: using it");
	commit_key(d);
	return true;
}

static void on_rotated(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;

	d->rotating = false;
	if (r->error[0]) {
		rotation_failed(d, r->error, r->status == 0 || r->status >= 500);
		return;
	}
	/* The server has the new key (the ctl already uses it): the
	 * interface and the key file follow, then node.key.new goes. */
	commit_key(d);
	log_info("node key rotated: now %s", ctl_node_key(d->ctl));
	if (d->pending_rotate) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddTrueToObject(j, "ok");
		cJSON_AddStringToObject(j, "node_key", ctl_node_key(d->ctl));
		api_reply(d->pending_rotate, j);
		d->pending_rotate = NULL;
	}
}

void daemon_start_rotation(struct daemon *d)
{
	char err[300];

	/* An earlier rotation whose outcome is unknown is settled first. */
	if (d->rotating || !d->ctl || d->pending_nkey)
		return;
	randombytes_buf(d->new_nkey, 32);
	/* The new key is on disk before the server can know it: a crash or a
	 * full disk after the server's yes cannot lose the node. */
	if (state_save_key(d->cfg.state_dir, PENDING_KEY, d->new_nkey, err, sizeof(err))) {
		log_error("cannot start the node key rotation: %s", err);
		sodium_memzero(d->new_nkey, 32);
		loop_timer_arm(&d->rotate_timer, ROTATE_RETRY_MS);
		return;
	}
	d->pending_nkey = true;
	if (ctl_rotate(d->ctl, d->new_nkey, daemon_hostname(d), on_rotated, d)) {
		log_error("cannot start the node key rotation: out of memory");
		forget_pending(d);
		return;
	}
	d->rotating = true;
}
