/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The control connection: the coordination protocol (docs/protocol.md) on
 * libcurl's multi interface, driven by meshwgd's loop (no thread, nothing
 * blocks). Requests are sealed with the machine key by the mwgc library
 * (control/client) and sent ONE AFTER ANOTHER, sealed when they start, so
 * the server always sees growing nonces; the map stream holds that slot
 * only until the server has accepted it (its HTTP status arrived).
 *
 * A request the server refuses for its nonce's time (401 "stale or future
 * timestamp", "nonce from before the server started": this node's clock is
 * off) is sent once more after the clock is re-synced from the reply's
 * Date header (mwgc_clock_resync: the offset stays for later requests,
 * nonces start again with a new counter).
 *
 * Every operation completes exactly once through its callback (unless
 * ctl_close() comes first). Callbacks may start new operations and close
 * the stream, but must not call ctl_close().
 */
#ifndef MESHWGD_CTL_H
#define MESHWGD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "loop.h"

struct ctl;

/* The most a reply (register, rotate, update, logout), and one map-stream
 * line (a sealed FULL: about 800 bytes a peer), may hold; more ends the
 * request (the stream reconnects). cJSON needs tens of times the text. */
#define CTL_MAX_REPLY (1u << 20)
#define CTL_MAX_LINE (32u << 20)

struct ctl_result {
	long status;		/* HTTP status; 0 = no reply (connection failed, timeout) */
	const char *error;	/* "" on success, else the server's "error" or the transport error */
	const cJSON *reply;	/* the opened reply on success; valid during the callback */
};

typedef void (*ctl_done_cb)(const struct ctl_result *r, void *arg);
/* One opened map-stream message (full, delta, keepalive, goodbye). */
typedef void (*ctl_msg_cb)(const cJSON *msg, void *arg);

/* url may end in "#mkey:<hex>", the server key to trust. Otherwise the key
 * is pinned on first use in pin_dir/server.pin (pin_dir NULL: not kept),
 * and from then on a server presenting another key is refused. */
int ctl_open(struct ctl **c, struct loop *l, const char *url, const char *pin_dir,
	     const uint8_t machine_priv[32], const uint8_t node_priv[32], char *err, size_t errlen);
/* Cancels everything without calling back. */
void ctl_close(struct ctl *c);
const char *ctl_url(const struct ctl *c);
/* The address the last reply came from ("" before any): routes never cover it. */
const char *ctl_server_ip(const struct ctl *c);
/* "nodekey:<hex>" of the node key in use. */
const char *ctl_node_key(const struct ctl *c);
void ctl_set_node_key(struct ctl *c, const uint8_t node_priv[32]);
/* A map stream that gets no data for this long is dead and ends with an
 * error (default 70 s: two keepalives of 30 s + 10 s). */
void ctl_set_stream_idle_ms(struct ctl *c, uint64_t ms);
/* Per-request timeout for everything but the stream (default 60 s). */
void ctl_set_timeout_s(struct ctl *c, long s);

/* POST /v1/register. auth_key may be NULL (then: pending approval unless
 * the machine is known); extra (may be NULL) adds fields such as hostinfo. */
int ctl_register(struct ctl *c, const char *auth_key, const char *hostname, const cJSON *extra,
		 ctl_done_cb cb, void *arg);
/* Signed rotation to new_priv (proofs of both keys); on success the ctl
 * uses the new key before cb runs. */
int ctl_rotate(struct ctl *c, const uint8_t new_priv[32], const char *hostname, ctl_done_cb cb,
	       void *arg);
int ctl_update(struct ctl *c, const cJSON *fields, ctl_done_cb cb, void *arg);
int ctl_logout(struct ctl *c, ctl_done_cb cb, void *arg);
/* Opens the map stream (one at a time): msg_cb for every message, end_cb
 * once when it ends for any reason other than ctl_stream_close(). */
int ctl_stream_open(struct ctl *c, const cJSON *extra, ctl_msg_cb msg_cb, ctl_done_cb end_cb,
		    void *arg);
void ctl_stream_close(struct ctl *c);
bool ctl_stream_open_p(const struct ctl *c);
/* True once the server accepted the stream (HTTP 200). */
bool ctl_stream_connected(const struct ctl *c);

/* Reconnect delay for the attempt-th consecutive failure (0-based):
 * exponential from base_ms, capped at max_ms, with "equal jitter" (the
 * result is in [d/2, d] for the capped delay d, picked by rnd). */
uint64_t ctl_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms, uint32_t rnd);

#endif
