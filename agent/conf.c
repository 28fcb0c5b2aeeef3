// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's configuration file (conf.h). */
#include "conf.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "log.h"

static int duration_ms(const cJSON *it, uint64_t *out, const char *name, char *err, size_t errlen)
{
	int64_t s = -1;

	/* bounded before converting: an out-of-range double is undefined */
	if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= MWG_DURATION_MAX) {
		*out = (uint64_t)(it->valuedouble * 1000.0);
		return 0;
	}
	if (cJSON_IsString(it))
		s = mwg_duration_parse(it->valuestring);
	if (s < 0) {
		snprintf(err, errlen, "\"%s\": want seconds or a duration like \"30s\"", name);
		return -1;
	}
	*out = (uint64_t)s * 1000;
	return 0;
}

static int set_str(char *dst, size_t dstlen, const cJSON *it, const char *name, char *err,
		   size_t errlen)
{
	if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= dstlen) {
		snprintf(err, errlen, "\"%s\": want a non-empty string shorter than %zu bytes", name,
			 dstlen);
		return -1;
	}
	snprintf(dst, dstlen, "%s", it->valuestring);
	return 0;
}

int conf_apply(struct meshwgd_opts *o, const char *text, const char *path, char *err,
	       size_t errlen)
{
	char why[300] = "";
	const cJSON *it;
	cJSON *j;
	uint64_t ms;

	j = cJSON_Parse(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		snprintf(err, errlen, "%s: not a JSON object", path);
		return -1;
	}
	cJSON_ArrayForEach(it, j) {
		const char *k = it->string;
		struct daemon_config *dc = &o->dc;
		int r = 0;

		if (!strcmp(k, "state_dir"))
			r = set_str(dc->state_dir, sizeof(dc->state_dir), it, k, why, sizeof(why));
		else if (!strcmp(k, "socket"))
			r = set_str(dc->socket_path, sizeof(dc->socket_path), it, k, why, sizeof(why));
		else if (!strcmp(k, "socket_group"))
			r = set_str(o->socket_group, sizeof(o->socket_group), it, k, why, sizeof(why));
		else if (!strcmp(k, "operator"))
			r = set_str(o->operator_user, sizeof(o->operator_user), it, k, why, sizeof(why));
		else if (!strcmp(k, "interface"))
			r = set_str(dc->kern.ifname, sizeof(dc->kern.ifname), it, k, why, sizeof(why));
		else if (!strcmp(k, "tailnet_v4"))
			r = set_str(dc->kern.tailnet_v4, sizeof(dc->kern.tailnet_v4), it, k, why, sizeof(why));
		else if (!strcmp(k, "tailnet_v6"))
			r = set_str(dc->kern.tailnet_v6, sizeof(dc->kern.tailnet_v6), it, k, why, sizeof(why));
		else if (!strcmp(k, "port")) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 65535 ||
			    it->valuedouble != (int)it->valuedouble)
				r = snprintf(why, sizeof(why), "\"port\": want 0..65535");
			else
				dc->kern.listen_port = (uint16_t)it->valueint;
		} else if (!strcmp(k, "fwmark")) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 4294967295.0)
				r = snprintf(why, sizeof(why), "\"fwmark\": want a 32-bit number");
			else
				dc->kern.fwmark = (uint32_t)it->valuedouble;
		} else if (!strcmp(k, "keep_interface")) {
			if (!cJSON_IsBool(it))
				r = snprintf(why, sizeof(why), "\"keep_interface\": want true or false");
			else
				dc->keep_interface = cJSON_IsTrue(it);
		} else if (!strcmp(k, "log_level")) {
			o->log_level = log_level_parse(cJSON_GetStringValue(it));
			if (o->log_level < 0)
				r = snprintf(why, sizeof(why), "\"log_level\": want debug, info, warn or error");
		} else if (!strcmp(k, "backoff_max")) {
			r = duration_ms(it, &ms, k, why, sizeof(why));
			if (!r && ms < 100)
				r = snprintf(why, sizeof(why), "\"backoff_max\": at least 0.1 s");
			dc->backoff_max_ms = ms;
		} else if (!strcmp(k, "rotate_before")) {
			r = duration_ms(it, &ms, k, why, sizeof(why));
			dc->rotate_before_s = ms / 1000;
		} else if (!strcmp(k, "stream_timeout")) {
			r = duration_ms(it, &ms, k, why, sizeof(why));
			if (!r && ms < 1000)
				r = snprintf(why, sizeof(why), "\"stream_timeout\": at least 1 s");
			dc->stream_idle_ms = ms;
		} else if (!strcmp(k, "endpoint_interval")) {
			r = duration_ms(it, &ms, k, why, sizeof(why));
			if (!r && ms < 1000)
				r = snprintf(why, sizeof(why), "\"endpoint_interval\": at least 1 s");
			dc->endpoint_interval_ms = ms;
		} else {
			r = snprintf(why, sizeof(why), "unknown member \"%s\"", k);
		}
		if (r) {
			snprintf(err, errlen, "%s: %s", path, why);
			cJSON_Delete(j);
			return -1;
		}
	}
	cJSON_Delete(j);
	return 0;
}

