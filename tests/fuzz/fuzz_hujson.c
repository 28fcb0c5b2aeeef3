// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: control/policy/hujson.c, the HuJSON reader of every
 * policy (HTTP body, CLI file, policy_file). Whatever the bytes: no memory
 * error, no leak, positions inside the text. When the text parses, it is
 * printed as plain JSON, and that JSON must parse again (with hj_parse and
 * with cJSON) to a tree that prints the same: parse -> print -> parse is a
 * fixed point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "hujson.h"

struct out {
	char *s;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (!o->s)
			abort();
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char b[8];

		if (ch == '"' || ch == '\\') {
			b[0] = '\\';
			b[1] = (char)ch;
			put(o, b, 2);
		} else if (ch < 0x20) {
			snprintf(b, sizeof(b), "\\u%04x", ch);
			put(o, b, 6);
		} else {
			put(o, (const char *)&ch, 1);
		}
	}
	put(o, "\"", 1);
}

static void print(struct out *o, const struct hj_value *v, int depth)
{
	char b[64];

	if (depth > HJ_MAX_DEPTH + 1)
		abort();	/* deeper than the parser allows */
	switch (v->type) {
	case HJ_NULL:
		put(o, "null", 4);
		break;
	case HJ_BOOL:
		put(o, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
		break;
	case HJ_NUMBER:
		/* %.17g reads back as the same double */
		put(o, b, (size_t)snprintf(b, sizeof(b), "%.17g", v->number));
		break;
	case HJ_STRING:
		if (!v->str)
			abort();
		put_str(o, v->str);
		break;
	case HJ_ARRAY:
	case HJ_OBJECT:
		put(o, v->type == HJ_ARRAY ? "[" : "{", 1);
		for (size_t i = 0; i < v->n_items; i++) {
			if (i)
				put(o, ",", 1);
			if (v->type == HJ_OBJECT) {
				if (!v->items[i].key)
					abort();
				put_str(o, v->items[i].key);
				put(o, ":", 1);
			}
			print(o, &v->items[i], depth + 1);
		}
		put(o, v->type == HJ_ARRAY ? "]" : "}", 1);
		break;
	default:
		abort();
	}
}

/* Every value's position lies inside the text. */
static void check_pos(const struct hj_value *v, int lines)
{
	if (v->line < 1 || v->line > lines || v->col < 1)
		abort();
	for (size_t i = 0; i < v->n_items; i++)
		check_pos(&v->items[i], lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct hj_value a, b;
	struct out o1 = { 0 }, o2 = { 0 };
	cJSON *cj;
	int lines = 1;

	memset(&err, 0, sizeof(err));
	if (hj_parse((const char *)data, size, &a, &err) < 0) {
		if (!err.msg[0] || err.line < 0 || err.col < 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	check_pos(&a, lines);
	print(&o1, &a, 0);
	hj_free(&a);

	if (hj_parse(o1.s, o1.len, &b, &err) < 0) {
		fprintf(stderr, "printed JSON does not parse: %d:%d %s\n%s\n",
			err.line, err.col, err.msg, o1.s);
		abort();
	}
	print(&o2, &b, 0);
	hj_free(&b);
	if (strcmp(o1.s, o2.s)) {
		fprintf(stderr, "not a fixed point:\n%s\n%s\n", o1.s, o2.s);
		abort();
	}
	/* plain JSON is JSON for cJSON too */
	cj = cJSON_ParseWithLength(o1.s, o1.len);
	if (!cj) {
		fprintf(stderr, "cJSON refuses the printed JSON:\n%s\n", o1.s);
		abort();
	}
	cJSON_Delete(cj);
	free(o1.s);
	free(o2.s);
	return 0;
}
