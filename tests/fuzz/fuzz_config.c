// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: configuration files. The first byte picks the reader:
 *   0: meshwg-control's configuration (control/config.c mwg_config_parse);
 *      refused: a message, and the configuration is exactly the defaults;
 *      accepted: it summarizes (mwg_config_to_json);
 *   1: meshwgd's prefs.json (agent/state.c prefs_from_json, what `meshwg
 *      up` stored); refused: a message and the prefs untouched; accepted:
 *      prefs_to_json reads back to the same prefs.
 * Always: no memory error, no undefined behaviour, no leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "state.h"

static char *print(const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	if (!s)
		abort();
	return s;
}

static void control_config(const char *text)
{
	struct mwg_config c, d;
	struct mwg_err e = { 0 };
	cJSON *j;
	char *a, *b;

	if (mwg_config_parse(&c, text, "fuzz.json", &e)) {
		if (!e.msg[0])
			abort();
		mwg_config_defaults(&d);
		a = print(j = mwg_config_to_json(&c));
		cJSON_Delete(j);
		b = print(j = mwg_config_to_json(&d));
		cJSON_Delete(j);
		if (strcmp(a, b)) {
			fprintf(stderr, "refused, yet not the defaults:\n%s\n%s\n", a, b);
			abort();
		}
		free(a);
		free(b);
		mwg_config_free(&d);
	} else {
		j = mwg_config_to_json(&c);
		if (!j)
			abort();
		cJSON_Delete(j);
	}
	mwg_config_free(&c);
}

static void prefs(const char *text)
{
	struct prefs p, q;
	char err[300] = "", *a, *b;
	cJSON *j = cJSON_Parse(text), *o;

	prefs_init(&p);
	prefs_init(&q);
	a = print(o = prefs_to_json(&p));
	cJSON_Delete(o);
	if (prefs_from_json(&p, j, err, sizeof(err))) {
		if (!err[0])
			abort();
		b = print(o = prefs_to_json(&p));
		cJSON_Delete(o);
		if (strcmp(a, b))
			abort();	/* touched on error */
		free(b);
	} else {
		free(a);
		o = prefs_to_json(&p);
		if (!o || prefs_from_json(&q, o, err, sizeof(err))) {
			fprintf(stderr, "prefs do not read back: %s\n", err);
			abort();
		}
		a = print(o);
		cJSON_Delete(o);
		b = print(o = prefs_to_json(&q));
		cJSON_Delete(o);
		if (strcmp(a, b))
			abort();
		free(b);
	}
	free(a);
	cJSON_Delete(j);
	prefs_free(&p);
	prefs_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 2)
		prefs(text);
	else
		control_config(text);
	free(text);
	return 0;
}
