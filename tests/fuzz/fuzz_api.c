// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: meshwgd's local API request parser (agent/api.c
 * api_parse_request), on what any local client in the API group writes to
 * the socket. The bytes are framed as the server reads them: the request is
 * everything up to the first "\n" (or to the end, as at EOF), and a request
 * over API_MAX_REQUEST is never parsed. Checks: no memory error or leak; a
 * refusal has a message; an accepted request is a JSON object with a
 * non-empty "cmd" string that prints and parses back to the same text; a
 * "hostname" in it is either refused by mwg_sanitize_hostname or becomes a
 * DNS label (a-z, 0-9, "-", 1-63 bytes, no "-" at either end, no "--").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "util.h"

static void check_label(const char *in)
{
	char out[64];
	size_t n;

	if (mwg_sanitize_hostname(in, out, sizeof(out)))
		return;
	n = strlen(out);
	if (!n || n > 63 || out[0] == '-' || out[n - 1] == '-' || strstr(out, "--"))
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') ||
		      (out[i] >= '0' && out[i] <= '9') || out[i] == '-'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	const char *why = NULL;
	const cJSON *cmd, *host;
	char *a, *b;
	cJSON *req, *back;

	if (len > API_MAX_REQUEST)
		return 0;
	req = api_parse_request((const char *)data, len, &why);
	if (!req) {
		if (!why || !*why)
			abort();
		return 0;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	if (!cJSON_IsObject(req) || !cJSON_IsString(cmd) || !cmd->valuestring[0])
		abort();
	host = cJSON_GetObjectItem(req, "hostname");
	if (cJSON_IsString(host))
		check_label(host->valuestring);
	a = cJSON_PrintUnformatted(req);
	back = a ? cJSON_Parse(a) : NULL;
	b = back ? cJSON_PrintUnformatted(back) : NULL;
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	cJSON_Delete(back);
	cJSON_Delete(req);
	return 0;
}
