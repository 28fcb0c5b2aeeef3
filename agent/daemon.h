/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * meshwgd's core: the node's state machine and the glue between the
 * control connection (ctl.h), the kernel (kern.h), the state directory
 * (state.h) and the local API (api.h).
 *
 *   NoModule      the meshwg module is not loaded; retried every 2 s
 *   NeedsLogin    no node key / key expired / logged out: `meshwg up`
 *   NeedsApproval registered without an auth key; an admin must approve
 *   Starting      connecting / waiting for the first netmap
 *   Running       the map stream is up and the interface matches the netmap
 *   Stopped       `meshwg down`: no interface, no stream
 *
 * Control-server trouble never tears the interface down: the peers and the
 * filter stay as last programmed while the stream reconnects.
 */
#ifndef MESHWGD_DAEMON_H
#define MESHWGD_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "kern.h"
#include "loop.h"

struct daemon_config {
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	gid_t socket_gid;		/* may change meshwgd; (gid_t)-1: none */
	uid_t operator_uid;		/* may change meshwgd; (uid_t)-1: none */
	struct kern_config kern;	/* accept_routes comes from the prefs */
	bool keep_interface;		/* on shutdown */
	uint64_t backoff_max_ms;	/* map-stream reconnect backoff cap */
	uint64_t rotate_before_s;	/* rotate the node key this long before it expires */
	uint64_t stream_idle_ms;	/* no data on the stream for this long: reconnect */
	uint64_t endpoint_interval_ms;	/* endpoint re-check period */
	uint64_t save_delay_ms;		/* netmap.json write debounce */
	uint64_t status_cache_ms;	/* `status` reuses the kernel's view this long */
};

/* Defaults for every member. */
void daemon_config_defaults(struct daemon_config *c);

struct daemon;

/* Loads the state directory, opens the local API and the kernel, and, if
 * the node was running, brings the mesh back from the saved netmap and
 * connects to the control server. */
int daemon_start(struct daemon **d, struct loop *l, const struct daemon_config *cfg, char *err,
		 size_t errlen);
/* SIGHUP: takes what can change live (backoff, rotation margin, stream
 * idle time, socket group, operator, keep_interface, fwmark); logs what
 * needs a restart. */
void daemon_reconfigure(struct daemon *d, const struct daemon_config *cfg);
/* Clean shutdown: saves the netmap, deletes the interface unless
 * keep_interface, closes everything, frees d. */
void daemon_stop(struct daemon *d);

/* The status object of the local API (docs/agent.md). */
cJSON *daemon_status(struct daemon *d);

/* connection: "direct" (handshake within 180 s), "offline" (the server says
 * so and no recent handshake), else "idle". */
const char *daemon_connection(bool online, int64_t last_handshake, int64_t now);

/* Parses RFC 3339 "2027-05-21T02:10:43Z" to unix seconds; -1 if bad. */
int64_t daemon_parse_time(const char *s);

#endif
