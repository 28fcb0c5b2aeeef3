// SPDX-License-Identifier: MIT
/* HuJSON parser with positions. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hujson.h"
#include "../../lib/hex.h"

struct hj_parser {
	const char *s;
	size_t len, pos;
	int line, col;
	struct policy_error *err;
};

static int perr(struct hj_parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct hj_parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	p->err->line = line;
	p->err->col = col;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int peek(const struct hj_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void advance(struct hj_parser *p)
{
	if (p->pos >= p->len)
		return;
	if (p->s[p->pos] == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->pos++;
}

/* Skips whitespace and comments. */
static int skip_ws(struct hj_parser *p)
{
	for (;;) {
		int c = peek(p);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			advance(p);
		} else if (c == '/' && p->pos + 1 < p->len &&
			   p->s[p->pos + 1] == '/') {
			while (peek(p) != -1 && peek(p) != '\n')
				advance(p);
		} else if (c == '/' && p->pos + 1 < p->len &&
			   p->s[p->pos + 1] == '*') {
			int line = p->line, col = p->col;

			advance(p);
			advance(p);
			for (;;) {
				if (peek(p) == -1)
					return perr(p, line, col,
						    "unterminated comment");
				if (peek(p) == '*' && p->pos + 1 < p->len &&
				    p->s[p->pos + 1] == '/') {
					advance(p);
					advance(p);
					break;
				}
				advance(p);
			}
		} else if (c == '/') {
			return perr(p, p->line, p->col, "unexpected '/'");
		} else {
			return 0;
		}
	}
}

static int read_hex4(struct hj_parser *p, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_nibble(peek(p));

		if (h < 0)
			return perr(p, p->line, p->col,
				    "bad \\u escape: expected 4 hex digits");
		v = v << 4 | (unsigned int)h;
		advance(p);
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At the opening quote. The decoded string is never longer than the raw. */
static int parse_string(struct hj_parser *p, char **out)
{
	int line = p->line, col = p->col;
	size_t start, end, n = 0;
	char *buf;

	advance(p);
	start = p->pos;
	/* find the closing quote to size the buffer */
	for (end = start; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len)
		return perr(p, line, col, "unterminated string");
	buf = malloc(end - start + 1);
	if (!buf)
		return perr(p, line, col, "out of memory");
	for (;;) {
		int c = peek(p);

		if (c == '"') {
			advance(p);
			break;
		}
		if (c < 0x20) {
			free(buf);
			return perr(p, p->line, p->col,
				    "control character in string");
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			advance(p);
			continue;
		}
		int eline = p->line, ecol = p->col;
		unsigned int cp, lo;

		advance(p);
		c = peek(p);
		advance(p);
		switch (c) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u':
			if (read_hex4(p, &cp) < 0)
				goto fail;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (peek(p) != '\\' || p->pos + 1 >= p->len ||
				    p->s[p->pos + 1] != 'u') {
					perr(p, eline, ecol,
					     "unpaired UTF-16 surrogate");
					goto fail;
				}
				advance(p);
				advance(p);
				if (read_hex4(p, &lo) < 0)
					goto fail;
				if (lo < 0xdc00 || lo > 0xdfff) {
					perr(p, eline, ecol,
					     "unpaired UTF-16 surrogate");
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				perr(p, eline, ecol, "unpaired UTF-16 surrogate");
				goto fail;
			}
			if (cp == 0) {
				perr(p, eline, ecol, "NUL character in string");
				goto fail;
			}
			n += put_utf8(buf + n, cp);
			break;
		default:
			perr(p, eline, ecol, "bad escape in string");
			goto fail;
		}
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
fail:
	free(buf);
	return -1;
}

static int parse_value(struct hj_parser *p, struct hj_value *v, int depth);

static int parse_number(struct hj_parser *p, struct hj_value *v)
{
	size_t start = p->pos;
	char tmp[64];
	char *endp;

	v->integer = true;
	if (peek(p) == '-')
		advance(p);
	if (peek(p) == '0') {
		advance(p);
	} else if (peek(p) >= '1' && peek(p) <= '9') {
		while (peek(p) >= '0' && peek(p) <= '9')
			advance(p);
	} else {
		return perr(p, v->line, v->col, "bad number");
	}
	if (peek(p) == '.') {
		v->integer = false;
		advance(p);
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return perr(p, v->line, v->col, "bad number");
		while (peek(p) >= '0' && peek(p) <= '9')
			advance(p);
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		v->integer = false;
		advance(p);
		if (peek(p) == '+' || peek(p) == '-')
			advance(p);
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return perr(p, v->line, v->col, "bad number");
		while (peek(p) >= '0' && peek(p) <= '9')
			advance(p);
	}
	if (p->pos - start >= sizeof(tmp))
		return perr(p, v->line, v->col, "number too long");
	memcpy(tmp, p->s + start, p->pos - start);
	tmp[p->pos - start] = '\0';
	errno = 0;
	v->number = strtod(tmp, &endp);
	if (errno == ERANGE && !isfinite(v->number))
		return perr(p, v->line, v->col, "number out of range");
	v->type = HJ_NUMBER;
	return 0;
}

static int grow(struct hj_parser *p, struct hj_value **items, size_t n,
		size_t *cap, int line, int col)
{
	struct hj_value *tmp;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	tmp = realloc(*items, ncap * sizeof(*tmp));
	if (!tmp)
		return perr(p, line, col, "out of memory");
	*items = tmp;
	*cap = ncap;
	return 0;
}

static int parse_array(struct hj_parser *p, struct hj_value *v, int depth)
{
	size_t cap = 0;

	v->type = HJ_ARRAY;
	advance(p);
	for (;;) {
		if (skip_ws(p) < 0)
			return -1;
		if (peek(p) == ']') {
			advance(p);
			return 0;
		}
		if (grow(p, &v->items, v->n_items, &cap, p->line, p->col) < 0)
			return -1;
		struct hj_value *it = &v->items[v->n_items];

		memset(it, 0, sizeof(*it));
		v->n_items++;
		if (parse_value(p, it, depth + 1) < 0)
			return -1;
		if (skip_ws(p) < 0)
			return -1;
		if (peek(p) == ',') {
			advance(p);
			continue;
		}
		if (peek(p) == ']') {
			advance(p);
			return 0;
		}
		if (peek(p) == -1)
			return perr(p, v->line, v->col, "unterminated array");
		return perr(p, p->line, p->col, "expected ',' or ']'");
	}
}

static int parse_object(struct hj_parser *p, struct hj_value *v, int depth)
{
	size_t cap = 0;

	v->type = HJ_OBJECT;
	advance(p);
	for (;;) {
		if (skip_ws(p) < 0)
			return -1;
		if (peek(p) == '}') {
			advance(p);
			return 0;
		}
		if (peek(p) == -1)
			return perr(p, v->line, v->col, "unterminated object");
		if (peek(p) != '"')
			return perr(p, p->line, p->col,
				    "expected a string key or '}'");
		if (grow(p, &v->items, v->n_items, &cap, p->line, p->col) < 0)
			return -1;
		struct hj_value *it = &v->items[v->n_items];

		memset(it, 0, sizeof(*it));
		v->n_items++;
		it->key_line = p->line;
		it->key_col = p->col;
		if (parse_string(p, &it->key) < 0)
			return -1;
		for (size_t i = 0; i + 1 < v->n_items; i++)
			if (!strcmp(v->items[i].key, it->key))
				return perr(p, it->key_line, it->key_col,
					    "duplicate key \"%s\"", it->key);
		if (skip_ws(p) < 0)
			return -1;
		if (peek(p) != ':')
			return perr(p, p->line, p->col, "expected ':'");
		advance(p);
		if (skip_ws(p) < 0)
			return -1;
		if (parse_value(p, it, depth + 1) < 0)
			return -1;
		if (skip_ws(p) < 0)
			return -1;
		if (peek(p) == ',') {
			advance(p);
			continue;
		}
		if (peek(p) == '}') {
			advance(p);
			return 0;
		}
		if (peek(p) == -1)
			return perr(p, v->line, v->col, "unterminated object");
		return perr(p, p->line, p->col, "expected ',' or '}'");
	}
}

static int match_word(struct hj_parser *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		advance(p);
	return 1;
}

static int parse_value(struct hj_parser *p, struct hj_value *v, int depth)
{
	int c = peek(p);

	v->line = p->line;
	v->col = p->col;
	if (depth > HJ_MAX_DEPTH)
		return perr(p, p->line, p->col, "nesting deeper than %d",
			    HJ_MAX_DEPTH);
	switch (c) {
	case '{':
		return parse_object(p, v, depth);
	case '[':
		return parse_array(p, v, depth);
	case '"':
		v->type = HJ_STRING;
		return parse_string(p, &v->str);
	case -1:
		return perr(p, p->line, p->col, "unexpected end of input");
	default:
		break;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p, v);
	if (match_word(p, "true")) {
		v->type = HJ_BOOL;
		v->boolean = true;
		return 0;
	}
	if (match_word(p, "false")) {
		v->type = HJ_BOOL;
		return 0;
	}
	if (match_word(p, "null")) {
		v->type = HJ_NULL;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return perr(p, p->line, p->col, "unexpected character '%c'", c);
	return perr(p, p->line, p->col, "unexpected byte 0x%02x", c);
}

int hj_parse(const char *text, size_t len, struct hj_value *root,
	     struct policy_error *err)
{
	struct hj_parser p = { .s = text, .len = len, .line = 1, .col = 1,
			       .err = err };

	memset(root, 0, sizeof(*root));
	/* a UTF-8 byte order mark is tolerated */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		p.pos = 3;
	if (skip_ws(&p) < 0)
		goto fail;
	if (parse_value(&p, root, 0) < 0)
		goto fail;
	if (skip_ws(&p) < 0)
		goto fail;
	if (peek(&p) != -1) {
		perr(&p, p.line, p.col, "unexpected data after the document");
		goto fail;
	}
	return 0;
fail:
	hj_free(root);
	return -1;
}

void hj_free(struct hj_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_items; i++)
		hj_free(&v->items[i]);
	free(v->items);
	free(v->str);
	free(v->key);
	memset(v, 0, sizeof(*v));
}

const char *hj_type_name(enum hj_type t)
{
	switch (t) {
	case HJ_NULL: return "null";
	case HJ_BOOL: return "a boolean";
	case HJ_NUMBER: return "a number";
	case HJ_STRING: return "a string";
	case HJ_ARRAY: return "an array";
	case HJ_OBJECT: return "an object";
	}
	return "?";
}
