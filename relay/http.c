// SPDX-License-Identifier: GPL-2.0 OR MIT
/* HTTP request head parser (http.h). */
#include "http.h"

#include <string.h>
#include <strings.h>

int http_value_is(const struct http_value *v, const char *s)
{
	size_t n = strlen(s);

	return v->p && v->len == n && !strncasecmp(v->p, s, n);
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One header line [p, e): "Name: value" with optional blanks around value. */
static int header(const char *p, const char *e, struct http_request *req)
{
	const char *colon = memchr(p, ':', e - p);
	struct http_value name, *dst = NULL;

	if (!colon || colon == p)
		return -1;
	for (const char *q = p; q < colon; q++)
		if (!is_tchar(*q))
			return -1;
	name.p = p;
	name.len = colon - p;
	if (http_value_is(&name, "Upgrade"))
		dst = &req->upgrade;
	else if (http_value_is(&name, "Derp-Fast-Start"))
		dst = &req->fast_start;
	else if (http_value_is(&name, "X-Tailscale-Challenge"))
		dst = &req->challenge;
	p = colon + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (const char *q = p; q < e; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return -1;
	if (dst && !dst->p) {
		dst->p = p;
		dst->len = e - p;
	}
	return 0;
}

enum http_parse http_parse_request(const char *buf, size_t len,
				   struct http_request *req, size_t *used)
{
	const char *end = NULL, *p, *sp1, *sp2, *eol;
	size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;

	memset(req, 0, sizeof(*req));
	*used = 0;
	for (size_t i = 3; i < scan; i++) {
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4)) {
			end = buf + i + 1;
			break;
		}
	}
	if (!end)
		return len >= HTTP_MAX_HEAD ? HTTP_PARSE_BAD : HTTP_PARSE_MORE;

	/* Request line: METHOD SP target SP HTTP/1.x */
	eol = memchr(buf, '\r', end - buf);
	if (eol[1] != '\n')
		return HTTP_PARSE_BAD;
	sp1 = memchr(buf, ' ', eol - buf);
	if (!sp1 || sp1 == buf)
		return HTTP_PARSE_BAD;
	sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1);
	if (!sp2 || sp2 == sp1 + 1 || sp1[1] != '/')
		return HTTP_PARSE_BAD;
	if (eol - sp2 - 1 != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) &&
				   memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return HTTP_PARSE_BAD;
	for (p = buf; p < sp1; p++)
		if (!is_tchar(*p))
			return HTTP_PARSE_BAD;
	for (p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return HTTP_PARSE_BAD;
	req->method.p = buf;
	req->method.len = sp1 - buf;
	req->path.p = sp1 + 1;
	p = memchr(sp1 + 1, '?', sp2 - sp1 - 1);
	req->path.len = (p ? p : sp2) - (sp1 + 1);

	for (p = eol + 2; p < end - 2; p = eol + 2) {
		eol = memchr(p, '\r', end - p);
		if (eol[1] != '\n' || eol == p)
			return HTTP_PARSE_BAD;
		if (*p == ' ' || *p == '\t')
			return HTTP_PARSE_BAD;	/* obsolete line folding */
		if (header(p, eol, req))
			return HTTP_PARSE_BAD;
	}
	*used = end - buf;
	return HTTP_PARSE_OK;
}
