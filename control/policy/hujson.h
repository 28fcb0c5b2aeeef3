/* SPDX-License-Identifier: MIT */
/*
 * Minimal HuJSON (JSON with // and block comments and trailing commas)
 * parser that keeps the line and column of every value and object key.
 * Internal to the policy engine.
 */
#ifndef MESHWG_POLICY_HUJSON_H
#define MESHWG_POLICY_HUJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define HJ_MAX_DEPTH 64

enum hj_type { HJ_NULL, HJ_BOOL, HJ_NUMBER, HJ_STRING, HJ_ARRAY, HJ_OBJECT };

struct hj_value {
	enum hj_type type;
	int line, col;		/* of the value's first byte */
	bool boolean;
	double number;
	bool integer;		/* number written without fraction/exponent */
	char *str;		/* HJ_STRING, NUL-terminated UTF-8, no NUL inside */
	struct hj_value *items;	/* HJ_ARRAY elements, HJ_OBJECT members */
	size_t n_items;
	char *key;		/* set on HJ_OBJECT members */
	int key_line, key_col;
};

/* Parses text[0..len). On success returns 0 and *root (free with
 * hj_free). On error returns -1 with err filled (err->file untouched). */
int hj_parse(const char *text, size_t len, struct hj_value *root,
	     struct policy_error *err);
void hj_free(struct hj_value *v);

const char *hj_type_name(enum hj_type t);

#endif
