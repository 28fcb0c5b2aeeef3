// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: configuration files. The first byte picks the reader:
 *   0: meshwg-control's configuration (control/config.c mwg_config_parse);
 *      refused: a message, and the configuration is exactly the defaults;
 *      accepted: it summarizes (mwg_config_to_json);
 *   1: meshwgd's prefs.json (agent/state.c prefs_from_json, what `meshwg
 *      up` stored); refused: a message and the prefs untouched; accepted:
 *      prefs_to_json reads back to the same prefs;
 *   2: meshwgd's configuration file (agent/conf.c conf_apply); refused: a
 *      message naming the file; accepted: every string NUL-terminated in
 *      its field, every duration at most MWG_DURATION_MAX.
 * Always: no memory error, no undefined behaviour, no leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
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

static void agent_conf(const char *text)
{
	struct meshwgd_opts o;
	char err[600] = "";
	const struct daemon_config *dc = &o.dc;

	memset(&o, 0, sizeof(o));
	if (conf_apply(&o, text, "fuzz.json", err, sizeof(err))) {
		if (strncmp(err, "fuzz.json: ", 11))
			abort();
		return;
	}
	if (strnlen(dc->state_dir, sizeof(dc->state_dir)) == sizeof(dc->state_dir) ||
	    strnlen(dc->socket_path, sizeof(dc->socket_path)) == sizeof(dc->socket_path) ||
	    strnlen(o.socket_group, sizeof(o.socket_group)) == sizeof(o.socket_group) ||
	    strnlen(dc->kern.ifname, sizeof(dc->kern.ifname)) == sizeof(dc->kern.ifname))
		abort();
	if (dc->backoff_max_ms > (uint64_t)MWG_DURATION_MAX * 1000 ||
	    dc->stream_idle_ms > (uint64_t)MWG_DURATION_MAX * 1000 ||
	    dc->endpoint_interval_ms > (uint64_t)MWG_DURATION_MAX * 1000 ||
	    dc->rotate_before_s > (uint64_t)MWG_DURATION_MAX)
		abort();
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
	switch (data[0] % 3) {
	case 0:
		control_config(text);
		break;
	case 1:
		prefs(text);
		break;
	default:
		agent_conf(text);
		break;
	}
	free(text);
	return 0;
}
