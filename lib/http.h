/* SPDX-License-Identifier: MIT */
/*
 * The coordination protocol's HTTP over libcurl: the parts the blocking
 * client (control/client/mwgc_client.c, curl_easy_perform) and meshwgd's
 * control connection (agent/ctl.c, curl_multi on its event loop) share.
 * Each keeps its own timeouts, headers and size caps (the agent's are in
 * agent/ctl.h).
 */
#ifndef MWG_HTTP_H
#define MWG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "util.h"

/* An easy handle for base + path (refused when longer than MWG_HTTP_URL_MAX
 * - 1), its body to on_data(arg) and its header lines to on_header(arg),
 * no signals. NULL when curl cannot make one or the URL does not fit. */
#define MWG_HTTP_URL_MAX 512
CURL *mwg_http_handle(const char *base, const char *path, curl_write_callback on_data,
		      curl_write_callback on_header, void *arg);

/* A header line as libcurl hands it over (len bytes, not NUL-terminated):
 * -1 when it is not a Date header, else its time in Unix seconds, 0 when
 * unreadable. */
int64_t mwg_http_date(const char *line, size_t len);

/* Appends a chunk of the body to b unless b would then hold more than max
 * bytes. 0, or -1 (over the cap, out of memory): the curl write callback
 * then returns 0 and the transfer fails. */
int mwg_http_append(struct mwg_buf *b, size_t max, const void *p, size_t len);

/*
 * The first complete line of b ('\n'-terminated), searched from *scanned
 * on (the bytes before it were looked at before: a message of megabytes
 * arrives in many chunks). Returns the line, NUL-terminated in place of
 * its '\n', and its length in *len; NULL when no line is complete yet
 * (*scanned is then b->len). The caller uses the line, then removes it
 * with mwg_http_line_drop.
 */
char *mwg_http_line(struct mwg_buf *b, size_t *scanned, size_t *len);
/* Removes the line of length len (and its '\n') from the front of b. */
void mwg_http_line_drop(struct mwg_buf *b, size_t *scanned, size_t len);

#endif
