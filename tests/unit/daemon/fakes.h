/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Test doubles of the kernel side (kern.h) and the local API (api.h) for
 * test_daemon: the real daemon.c, ctl.c and state.c run against a real
 * meshwg-control, while the "kernel" records what it was told and the
 * "API" hands requests straight to the daemon's handler.
 */
#ifndef DAEMON_TEST_FAKES_H
#define DAEMON_TEST_FAKES_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "api.h"
#include "kern.h"

struct fake_kern_state {
	bool no_module;		/* kern_open fails with -ENOENT */
	bool open, up;
	uint8_t private_key[32];
	cJSON *applied;		/* last netmap the "kernel" took */
	unsigned applies, ups, downs, key_sets;
	unsigned status_calls;	/* kern_status: device dumps */
	int apply_fail;		/* kern_apply_start refuses with this (-errno) and changes nothing */
	unsigned apply_steps;	/* kern_apply_continue calls an apply takes (0: none) */
	cJSON *pending;		/* the netmap of an apply in progress */
	unsigned steps_left, steps;	/* of the apply in progress; steps taken in all */
	void (*on_step)(void);	/* called by each step that leaves more to do */
	unsigned refusals;	/* how many times it did */
	int64_t handshake;	/* last_handshake of every peer in kern_status */
	kern_event_cb event_cb;	/* what the daemon gave kern_set_event_cb */
	void *event_arg;
};
extern struct fake_kern_state fk;

struct api_req {
	cJSON *progress;	/* array of progress objects */
	cJSON *final;		/* the final reply, once given */
	bool done;
	struct api_cred cred;	/* what api_req_cred returns */
};

/* The credentials of the next fake_api_request (zero: root). */
extern struct api_cred fake_api_cred;

/* Sends one request to the daemon; the reply arrives in r (maybe later). */
void fake_api_request(struct api_req *r, const char *json);
void fake_api_req_free(struct api_req *r);
/* Called when a final reply arrives (test hook; may be NULL). */
extern void (*fake_api_on_final)(void);

#endif
