// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's node key rotation: automatic before the key expires, or asked
 * for with `meshwg rotate-key`. See daemon_int.h. */

#include "daemon_int.h"

#include <string.h>
#include <sodium.h>

#include "../control/util.h"
#include "log.h"

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

static void rotation_failed(struct daemon *d, const char *error)
{
	log_error("node key rotation failed: %s", error);
	if (d->pending_rotate)
		api_reply(d->pending_rotate, daemon_reply_error("node key rotation failed: %s", error));
	d->pending_rotate = NULL;
	loop_timer_arm(&d->rotate_timer, ROTATE_RETRY_MS);
	sodium_memzero(d->new_nkey, 32);
}

static void on_rotated(const struct ctl_result *r, void *arg)
{
	struct daemon *d = arg;
	char err[300];

	d->rotating = false;
	if (r->error[0]) {
		rotation_failed(d, r->error);
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

void daemon_start_rotation(struct daemon *d)
{
	if (d->rotating || !d->ctl)
		return;
	randombytes_buf(d->new_nkey, 32);
	if (ctl_rotate(d->ctl, d->new_nkey, daemon_hostname(d), on_rotated, d)) {
		log_error("cannot start the node key rotation: out of memory");
		return;
	}
	d->rotating = true;
}
