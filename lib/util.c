// SPDX-License-Identifier: MIT
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

int mwg_fail(struct mwg_err *e, int status, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

char *mwg_b64_encode(const uint8_t *in, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (!s)
		return NULL;
	sodium_bin2base64(s, n, in, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int mwg_b64_decode(const char *in, uint8_t **out, size_t *outlen)
{
	size_t inlen = strlen(in), cap = inlen / 4 * 3 + 3;
	uint8_t *b = malloc(cap ? cap : 1);

	if (!b)
		return -1;
	if (sodium_base642bin(b, cap, in, inlen, NULL, outlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int64_t mwg_now(void)
{
	return (int64_t)time(NULL);
}

uint64_t mwg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mwg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

void mwg_time_format(char *out, size_t outlen, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(out, outlen, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t mwg_duration_parse(const char *s)
{
	char *end;
	long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0 || v > MWG_DURATION_MAX)
		return -1;
	if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (!strcmp(end, "d"))
		v *= 86400;
	else if (strcmp(end, "") && strcmp(end, "s"))
		return -1;
	return v > MWG_DURATION_MAX ? -1 : v;
}

char *mwg_read_file(const char *path, size_t max, size_t *len, struct mwg_err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		mwg_fail(e, 400, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		mwg_fail(e, 500, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		mwg_fail(e, 400, "%s: read error", path);
		goto fail;
	}
	if (n > max) {
		mwg_fail(e, 400, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

int mwg_buf_append(struct mwg_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int mwg_buf_printf(struct mwg_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	r = mwg_buf_append(b, s, (size_t)n);
	free(s);
	return r;
}

void mwg_buf_free(struct mwg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int mwg_sanitize_hostname(const char *in, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (!in || !*in)
		return -1;
	for (i = 0; in[i] && o + 1 < outlen && o < 63; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)in[i]);

		if (isalnum(c))
			out[o++] = (char)c;
		else if ((c == '-' || c == '.' || c == '_' || c == ' ') && o > 0 &&
			 out[o - 1] != '-')
			out[o++] = '-';
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	return o ? 0 : -1;
}
