/* SPDX-License-Identifier: MIT */
/* Small helpers of meshwg-control, its client library and meshwgd: errors,
 * base64, time, files, buffers, hostnames. */
#ifndef MWG_UTIL_H
#define MWG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Keys as text, MWG_KEY_LEN: every message of the protocol carries them. */
#include "key.h"

/* An error to report: an HTTP status (4xx/5xx) and a human message. */
struct mwg_err {
	int status;
	char msg[256];
};

/* Sets e (if non-NULL) and returns -1, so callers can "return mwg_fail(...)". */
int mwg_fail(struct mwg_err *e, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Base64 (standard, padded) via libsodium. Returns malloc'd string. */
char *mwg_b64_encode(const uint8_t *in, size_t len);
/* Returns 0 and a malloc'd buffer in *out, or -1. */
int mwg_b64_decode(const char *in, uint8_t **out, size_t *outlen);

int64_t mwg_now(void);		/* unix seconds */
uint64_t mwg_now_ns(void);	/* unix nanoseconds */
uint64_t mwg_mono_ms(void);	/* monotonic milliseconds */

/* Formats unix seconds as RFC 3339 UTC; 0 gives "-". */
void mwg_time_format(char *out, size_t outlen, int64_t t);
/* Parses a duration like "90s", "15m", "24h", "180d", at most
 * MWG_DURATION_MAX. Returns seconds or -1. */
#define MWG_DURATION_MAX (100LL * 365 * 86400)
int64_t mwg_duration_parse(const char *s);

/* Reads a whole file (at most max bytes). Returns malloc'd NUL-terminated text. */
char *mwg_read_file(const char *path, size_t max, size_t *len, struct mwg_err *e);

/* Growable byte buffer. */
struct mwg_buf {
	char *data;
	size_t len, cap;
};
int mwg_buf_append(struct mwg_buf *b, const void *p, size_t n);
int mwg_buf_printf(struct mwg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mwg_buf_free(struct mwg_buf *b);

/* Checks a DNS label-ish hostname (lowercased copy in out). */
int mwg_sanitize_hostname(const char *in, char *out, size_t outlen);

#endif
