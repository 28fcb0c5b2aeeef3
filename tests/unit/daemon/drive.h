/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Driving meshwgd's event loop in the daemon tests: the loop, a hang guard
 * (DRIVE_GUARD_MS, defined before this header to change it), a 50 ms tick,
 * and requests through the fake local API (fakes.h). Waits are bounded by
 * the guard, never timed assertions. Included by one test file (static
 * helpers, inline so that a file using only the loop compiles cleanly).
 */
#ifndef DAEMON_TEST_DRIVE_H
#define DAEMON_TEST_DRIVE_H

#include <stdbool.h>

#include "fakes.h"
#include "loop.h"

#ifndef DRIVE_GUARD_MS
#define DRIVE_GUARD_MS 60000
#endif

static struct loop L;
static struct loop_timer guard, tick;
static bool guard_fired;

static inline void on_guard(void *arg)
{
	(void)arg;
	guard_fired = true;
	loop_quit(&L);
}

static inline void on_tick(void *arg)
{
	(void)arg;
	loop_quit(&L);
}

static inline void quit_loop(void)
{
	loop_quit(&L);
}

/* Runs the loop until pred() holds (checked at least every 50 ms). */
static inline void wait_for(bool (*pred)(void))
{
	loop_timer_arm(&guard, DRIVE_GUARD_MS);
	guard_fired = false;
	while (!pred() && !guard_fired) {
		loop_timer_arm(&tick, 50);
		L.stop = false;
		loop_run(&L);
	}
	loop_timer_disarm(&guard);
	assert_false(guard_fired);
}

static struct api_req *cur;

static inline bool cur_done(void)
{
	return cur->done;
}

/* Sends one request line through the fake API and waits for its final reply. */
static inline void request(struct api_req *r, const char *json)
{
	fake_api_request(r, json);
	cur = r;
	wait_for(cur_done);
	assert_non_null(r->final);
}

#endif
