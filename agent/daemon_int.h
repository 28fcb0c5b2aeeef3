/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Inside struct daemon: shared by daemon.c (life), daemon_kern.c (kernel
 * glue), daemon_stream.c (map stream, endpoints), daemon_rotate.c (node key
 * rotation), daemon_api.c (local API handlers) and daemon_status.c (STATUS).
 */
#ifndef MESHWGD_DAEMON_INT_H
#define MESHWGD_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "api.h"
#include "ctl.h"
#include "daemon.h"
#include "kern.h"
#include "loop.h"
#include "prefix.h"
#include "state.h"

/* At most this many entries in d->refused (status health). */
#define DAEMON_MAX_REFUSED 64

enum backend_state { ST_NOMODULE, ST_NEEDS_LOGIN, ST_NEEDS_APPROVAL, ST_STARTING, ST_RUNNING,
		     ST_STOPPED };

/* What the kernel's events told about one peer (d->evs, sorted by key). */
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
	struct loop_timer module_timer, reconnect_timer, save_timer, endpoint_timer, rotate_timer,
		apply_timer, graveyard_timer;
	/* An apply in steps (kern_apply_start): the next one runs from the
	 * loop (apply_step_timer), so requests and events are served between. */
	struct loop_timer apply_step_timer;
	bool applying;
	bool applying_delta;
	/* `up --login-server` to a new server: registered there first (trial),
	 * switched to only when that succeeded; dead_ctl is closed later (a ctl
	 * may not be closed from its own callback). */
	struct ctl *trial_ctl, *dead_ctl;
	struct prefs trial_prefs;
	cJSON *refused;		/* what netmap_check (or the merge) refused since the last FULL */
	char apply_error[300];	/* the kernel refused d->netmap: "" when it did not */
	unsigned apply_attempt;
	cJSON *endpoints_sent;
	struct api_req *pending_up;
	struct api_req *pending_rotate;
	bool rotating;
	uint64_t last_rotation_ms;	/* last automatic one, monotonic; 0 = never */
	uint8_t new_nkey[32];	/* the rotation's new key, also in node.key.new */
	bool pending_nkey;	/* node.key.new holds new_nkey: was it rotated? unknown */
	bool pending_auth_key;	/* the running `up` carried an auth key */
	struct peer_ev *evs;
	size_t nevs, capevs;
	/* kern_status() as `status` last read it (NULL: none), and when
	 * (monotonic ms): reused for cfg.status_cache_ms, dropped whenever the
	 * interface changes (apply, up, down, new key). */
	cJSON *kview;
	uint64_t kview_ms;
};

/* life (daemon.c) */
const char *daemon_state_name(enum backend_state st);
/* Sets the state and its message (NULL: none), logging a change. */
void daemon_set_state(struct daemon *d, enum backend_state st, const char *msg);
/* Writes netmap.json after save_delay_ms (debounced). */
void daemon_schedule_save(struct daemon *d);
void daemon_save_netmap_now(struct daemon *d);
/* The hostname to register with: the prefs' or the system's. */
const char *daemon_hostname(struct daemon *d);

/* kernel glue (daemon_kern.c) */
/* The configured tailnet prefixes (tailnet_v4, tailnet_v6) that parse. */
size_t daemon_tailnet(const struct daemon *d, struct kprefix out[2]);
/* The kernel configuration: cfg.kern with the prefs' accept_routes. */
void daemon_kern_cfg(struct daemon *d, struct kern_config *kc);
/* Opens the kernel side and resumes; ST_NOMODULE and a retry when it fails. */
void daemon_try_module(struct daemon *d);
/* Creates the interface with the node key; 0 when it is up. */
int daemon_bring_up(struct daemon *d);
/* Deletes the interface if it is up. */
void daemon_kern_down(struct daemon *d);
/* The interface changed: the next `status` reads the kernel again. */
void daemon_kview_drop(struct daemon *d);
/*
 * Checks a netmap message (a FULL, a DELTA, or the saved netmap) with
 * netmap_check.h before anything acts on it: what it refuses is removed
 * from msg, logged and kept for `status` (d->refused: a FULL starts afresh).
 * before is the netmap msg applies to (NULL for a FULL).
 */
void daemon_check_netmap(struct daemon *d, cJSON *msg, const cJSON *before, bool full);
/* Programs the interface from d->netmap: all of it, or (delta != NULL) the
 * peers that map-stream message names, in steps of APPLY_STEP_PEERS peers
 * (one per turn of the loop). An apply in progress is cancelled and d->netmap
 * applied in full. When the kernel took it: netmap.json is saved, a
 * connected node becomes Running and the pending `up` gets its reply; when
 * it refused: d->apply_error says why (shown by `status`), the netmap is not
 * saved, the state goes back to Starting and a full apply is retried with
 * backoff. Returns 0 (took it), 1 (in progress) or -1 (refused, or no
 * interface). */
int daemon_apply_netmap(struct daemon *d, const cJSON *delta);
/* Stops an apply in progress (the interface keeps what was sent). */
void daemon_apply_cancel(struct daemon *d);
void daemon_apply_step(void *arg);	/* apply_step_timer */
/* What the kernel's events told about the peer with key, NULL if nothing. */
const struct peer_ev *daemon_peer_ev(const struct daemon *d, const uint8_t key[32]);

/* map stream and endpoints (daemon_stream.c) */
/* Brings the node towards Running from the stored state. */
void daemon_resume(struct daemon *d);
/* Closes c from the loop, outside any of its callbacks. */
void daemon_bury_ctl(struct daemon *d, struct ctl *c);
/* true when url names the server want names (trailing slashes aside). */
bool daemon_same_server(const char *url, const char *want);
/* Makes d->ctl talk to prefs.login_server. */
int daemon_ensure_ctl(struct daemon *d, char *err, size_t errlen);
void daemon_connect_stream(struct daemon *d);
/* Reconnects the stream after the next backoff delay. */
void daemon_reconnect_later(struct daemon *d);
/* A 401/403 that means the node key is gone (expired, replaced, node
 * deleted): NeedsLogin. Any other refusal is retried with backoff. */
bool daemon_refusal_is_final(long status, const char *error);
/* Sends the node's endpoints to the server when they changed. */
void daemon_check_endpoints(struct daemon *d);

/* node key rotation (daemon_rotate.c) */
/* Rotates when the node key is about to expire. */
void daemon_check_rotation(struct daemon *d);
void daemon_start_rotation(struct daemon *d);
/* The map stream's answer settles a rotation whose outcome is unknown
 * (node.key.new left by a crash, a lost reply): accepted says the current
 * key works (the pending one goes); a "node key does not match" refusal
 * makes the pending key current. Returns true when the key changed. */
bool daemon_settle_rotation(struct daemon *d, bool accepted);

/* local API (daemon_api.c) */
void daemon_on_api(struct api_req *req, const cJSON *j, void *arg);
/* {"ok": false, "error": fmt with a}. */
cJSON *daemon_reply_error(const char *fmt, const char *a);
/* {"ok": true, "status": ...}. */
cJSON *daemon_reply_status(struct daemon *d);
/* Answers the pending `up` with reply (or drops reply if there is none). */
void daemon_finish_up(struct daemon *d, cJSON *reply);

#endif
