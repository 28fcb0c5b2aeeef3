/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The local API: a UNIX stream socket on which `meshwg` (the CLI) sends
 * one JSON request per connection and reads back JSON lines: zero or more
 * progress lines, then one final line carrying "final": true and
 * "ok": true|false (with "error" on false). Runs on the daemon's loop.
 */
#ifndef MESHWGD_API_H
#define MESHWGD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "loop.h"

/* Largest request accepted (one JSON object plus "\n"). */
#define API_MAX_REQUEST (64 * 1024)
/* Connections at once; more are answered "meshwgd is busy" and closed. */
#define API_MAX_CONNS 64
/* A client must send its request, and take its final reply, within this. */
#define API_TIMEOUT_MS 10000

struct api;
struct api_req;

typedef void (*api_handler)(struct api_req *r, const cJSON *request, void *arg);

/* Who sent a request: SO_PEERCRED and SO_PEERGROUPS, read when the
 * connection is accepted. Numbers only: nothing is looked up by name
 * (NSS) in the loop. */
struct api_cred {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool in_group;	/* the API's group (api_open's gid) is its primary or
			 * one of its current supplementary groups */
};

/* Listens on path (mkdir -p of its directory, mode 0755), socket mode 0666:
 * any local user may connect and the handler decides per request from
 * api_req_cred(). A connection whose credentials cannot be read is refused
 * ("permission denied: ..."). gid ((gid_t)-1: none) only sets in_group. */
int api_open(struct api **a, struct loop *l, const char *path, gid_t gid,
	     api_handler h, void *arg, char *err, size_t errlen);
/* The credentials of r's client (valid until api_reply). */
const struct api_cred *api_req_cred(const struct api_req *r);
/* Overrides API_MAX_CONNS and API_TIMEOUT_MS (tests). */
void api_set_limits(struct api *a, unsigned max_conns, uint64_t timeout_ms);
/* Changes the group (SIGHUP) that in_group reports for connections
 * accepted from now on. */
void api_set_gid(struct api *a, gid_t gid);
/* Unlinks the socket; replies {"ok":false,"error":"meshwgd is shutting
 * down"} to pending requests. Those requests are freed with it: api_reply
 * must not be called on them afterwards. */
void api_close(struct api *a);
/* One request line (len bytes, without "\n", not NUL-terminated): the JSON
 * object with a non-empty "cmd" string (caller owns), or NULL with *why the
 * error to reply. The one parser of what a local client sends. */
cJSON *api_parse_request(const char *line, size_t len, const char **why);
/* A progress line (the request stays open); obj is NOT consumed. */
void api_progress(struct api_req *r, const cJSON *obj);
/* The final reply; consumes obj; the connection closes. Must be called
 * exactly once per request (also when the client went away: then it only
 * frees). */
void api_reply(struct api_req *r, cJSON *obj);

#endif
