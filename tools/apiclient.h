/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The CLI's side of meshwgd's local API: one connection per request, one
 * JSON object + "\n" sent, JSON lines read back until the one with
 * "final": true (docs/agent.md).
 */
#ifndef MESHWG_APICLIENT_H
#define MESHWG_APICLIENT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define APICLIENT_DEFAULT_SOCKET "/run/meshwg/meshwgd.sock"
#define APICLIENT_NOT_RUNNING "meshwgd is not running (start it: systemctl start meshwgd)"

/* From `meshwg --socket PATH'; NULL: $MESHWG_SOCKET, else the default. */
extern const char *apiclient_socket;
const char *apiclient_path(void);

/* Called for each line before the final one (it is not consumed). */
typedef void (*apiclient_progress_cb)(const cJSON *line, void *arg);

/*
 * Sends req to the daemon at path and waits for the final line, at most
 * timeout_ms (< 0: forever). Returns 0 and the final object in *final (the
 * caller frees it; its "ok" may be false), or -errno with a message in err:
 * -ENOENT/-ECONNREFUSED "meshwgd is not running ...", -EACCES, -ETIMEDOUT,
 * -EPROTO for a reply that is not JSON or ends without a final line.
 */
int apiclient_call(const char *path, const cJSON *req, int timeout_ms,
		   apiclient_progress_cb cb, void *arg, cJSON **final, char *err, size_t errlen);

/* How long status/ip/whois and down/logout/rotate-key wait for meshwgd
 * (the latter may wait on the control server); $MESHWG_TIMEOUT (seconds)
 * overrides both. */
#define APICLIENT_QUERY_TIMEOUT_MS 15000
#define APICLIENT_ACTION_TIMEOUT_MS 90000

/*
 * apiclient_call() of {"cmd": cmd} on apiclient_path(), waiting at most
 * timeout_ms (or $MESHWG_TIMEOUT seconds), reporting failures (transport,
 * timeout or "ok": false) on stderr as "meshwg: <error>". Returns the final
 * object when ok, else NULL.
 */
cJSON *apiclient_simple(const char *cmd, int timeout_ms);

#endif
