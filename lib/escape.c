// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Escaping text for terminals and logs (escape.h). */

#include "escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid; *cp is
 * its code point. */
static size_t utf8_len(const unsigned char *s, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* The escape of the sequence at s (len bytes) into esc, or "" to keep it. */
static size_t step(const unsigned char *s, char esc[8], size_t *len)
{
	unsigned cp;
	size_t n = utf8_len(s, &cp);

	esc[0] = '\0';
	if (!n) {
		*len = 1;
		return (size_t)snprintf(esc, 8, "\\x%02x", s[0]);
	}
	*len = n;
	if (cp < 0x20 || cp == 0x7f)
		return (size_t)snprintf(esc, 8, "\\x%02x", cp);
	if (cp >= 0x80 && cp <= 0x9f)
		return (size_t)snprintf(esc, 8, "\\u%04x", cp);
	return 0;
}

size_t esc_text(char *out, size_t outlen, const char *in)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0, len, n;
	char esc[8];

	if (!outlen)
		return 0;
	while (*s) {
		n = step(s, esc, &len);
		if (n) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, esc, n);
		} else {
			if (o + len >= outlen)
				break;
			memcpy(out + o, s, len);
			n = len;
		}
		o += n;
		s += len;
	}
	out[o] = '\0';
	return o;
}

int esc_needed(const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len;
	char esc[8];

	while (s && *s) {
		if (step(s, esc, &len))
			return 1;
		s += len;
	}
	return 0;
}

void esc_json_strings(cJSON *j)
{
	cJSON *c;

	if (cJSON_IsString(j) && j->valuestring && esc_needed(j->valuestring)) {
		/* At most 6 bytes of escape per input byte. */
		size_t cap = strlen(j->valuestring) * 6 + 1;
		char *t = malloc(cap);

		if (!t) {
			j->valuestring[0] = '\0';	/* never leave it raw */
			return;
		}
		esc_text(t, cap, j->valuestring);
		if (!cJSON_SetValuestring(j, t))
			j->valuestring[0] = '\0';
		free(t);
		return;
	}
	for (c = j ? j->child : NULL; c; c = c->next)
		esc_json_strings(c);
}
