// SPDX-License-Identifier: MIT
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

CURL *mwg_http_handle(const char *base, const char *path, curl_write_callback on_data,
		      curl_write_callback on_header, void *arg)
{
	char url[MWG_HTTP_URL_MAX];
	int n = snprintf(url, sizeof(url), "%s%s", base, path);
	CURL *h;

	if (n < 0 || (size_t)n >= sizeof(url))
		return NULL;
	h = curl_easy_init();
	if (!h)
		return NULL;
	/* libcurl keeps a copy of the URL */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, arg);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, arg);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	return h;
}

int64_t mwg_http_date(const char *line, size_t len)
{
	char date[128];
	time_t t;

	if (len <= 5 || len >= sizeof(date) || strncasecmp(line, "date:", 5))
		return -1;
	memcpy(date, line + 5, len - 5);
	date[len - 5] = '\0';
	t = curl_getdate(date, NULL);
	return t > 0 ? (int64_t)t : 0;
}

int mwg_http_append(struct mwg_buf *b, size_t max, const void *p, size_t len)
{
	if (b->len + len > max || mwg_buf_append(b, p, len))
		return -1;
	return 0;
}

char *mwg_http_line(struct mwg_buf *b, size_t *scanned, size_t *len)
{
	char *nl;

	if (b->len <= *scanned ||
	    !(nl = memchr(b->data + *scanned, '\n', b->len - *scanned))) {
		*scanned = b->len;
		return NULL;
	}
	*nl = '\0';
	*len = (size_t)(nl - b->data);
	return b->data;
}

void mwg_http_line_drop(struct mwg_buf *b, size_t *scanned, size_t len)
{
	memmove(b->data, b->data + len + 1, b->len - len - 1);
	b->len -= len + 1;
	b->data[b->len] = '\0';
	*scanned = 0;
}
