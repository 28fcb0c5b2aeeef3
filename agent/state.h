/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * meshwgd's state directory (default /var/lib/meshwg, mode 0700):
 *   machine.key   "privkey:<hex>", 0600   the machine key (never changes)
 *   node.key      "privkey:<hex>", 0600   the node (WireGuard) key (rotates)
 *   prefs.json    what `meshwg up` asked for (login_server, hostname,
 *                 advertise_tags, accept_routes, want_running, operator,
 *                 operator_uid)
 *   netmap.json   the last netmap, so a restart without the control server
 *                 brings the mesh back
 *   server.pin    "URL mkey:<hex>": the control server's key, pinned the
 *                 first time the agent talked to URL
 * Every file is written atomically (temporary file, fsync, rename, fsync of
 * the directory). A file that exists but does not parse is refused with a
 * message naming it; nothing is changed then.
 */
#ifndef MESHWGD_STATE_H
#define MESHWGD_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

struct prefs {
	char login_server[256];
	char hostname[64];
	cJSON *advertise_tags;	/* array of strings, owned; never NULL after prefs_init */
	bool accept_routes;
	bool want_running;
	/* `meshwg up --operator USER`: this local user may also change meshwgd
	 * (up, down, logout...). The CLI resolves the name; meshwgd checks the
	 * uid. operator_uid -1: none. */
	char operator_user[64];
	int64_t operator_uid;
};

void prefs_init(struct prefs *p);
void prefs_free(struct prefs *p);
/* Deep copy; 0 or -1 (out of memory). */
int prefs_copy(struct prefs *dst, const struct prefs *src);
cJSON *prefs_to_json(const struct prefs *p);
/* Parses and checks every member (unknown ones are errors). On error p is
 * untouched and err says what is wrong. */
int prefs_from_json(struct prefs *p, const cJSON *j, char *err, size_t errlen);
/* A uid as JSON: an integer from 0 to 2^32 - 2 ((uid_t)-1 is "none"). */
bool prefs_uid_valid(const cJSON *it);

/* Creates dir (and its parents) if needed, mode 0700; refuses a path that
 * is not a directory. */
int state_init(const char *dir, char *err, size_t errlen);
/* Writes data to dir/name atomically with mode. 0 or -1. */
int state_write_atomic(const char *dir, const char *name, const void *data, size_t len,
		       mode_t mode, char *err, size_t errlen);
/* 0 loaded, 1 absent, -1 unreadable or corrupt (err set). */
int state_load_key(const char *dir, const char *name, uint8_t key[32], char *err, size_t errlen);
int state_save_key(const char *dir, const char *name, const uint8_t key[32], char *err,
		   size_t errlen);
int state_remove(const char *dir, const char *name, char *err, size_t errlen);
/* The pinned server key of url: 0 loaded, 1 none (or pinned for another
 * URL), -1 unreadable or corrupt (err set). */
int state_load_pin(const char *dir, const char *url, uint8_t key[32], char *err, size_t errlen);
int state_save_pin(const char *dir, const char *url, const uint8_t key[32], char *err,
		   size_t errlen);
int state_load_prefs(const char *dir, struct prefs *p, char *err, size_t errlen);
int state_save_prefs(const char *dir, const struct prefs *p, char *err, size_t errlen);
/* The netmap must be an object with a "self" object and a "peers" array. */
int state_load_netmap(const char *dir, cJSON **netmap, char *err, size_t errlen);
int state_save_netmap(const char *dir, const cJSON *netmap, char *err, size_t errlen);

#endif
