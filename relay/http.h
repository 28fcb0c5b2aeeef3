/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* The little HTTP/1.x meshwg-derper needs: one request head at a time. */
#ifndef MESHWG_RELAY_HTTP_H
#define MESHWG_RELAY_HTTP_H

#include <stddef.h>

#define HTTP_MAX_HEAD 8192

/* Header values point into the parsed buffer (not NUL-terminated). */
struct http_value {
	const char *p;
	size_t len;
};

struct http_request {
	struct http_value method, path;		/* path without the query */
	struct http_value upgrade, fast_start, challenge;
};

enum http_parse {
	HTTP_PARSE_OK = 0,	/* *req filled, *used = head length */
	HTTP_PARSE_MORE = 1,	/* no blank line yet */
	HTTP_PARSE_BAD = -1,	/* malformed, or head over HTTP_MAX_HEAD */
};

/* Parses the request head at buf[0..len) (HTTP/1.0 or 1.1). */
enum http_parse http_parse_request(const char *buf, size_t len,
				   struct http_request *req, size_t *used);

/* Case-insensitive comparison of a value with a C string. */
int http_value_is(const struct http_value *v, const char *s);

#endif
