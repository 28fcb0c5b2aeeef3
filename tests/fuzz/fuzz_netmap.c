// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the client's netmap and delta handling
 * (control/client/mwgc_netmap_apply), on map-stream messages as the control
 * server sends them. The input is JSON lines; each line that parses is
 * applied to the netmap in turn. Whatever the lines: no memory error, no
 * leak, and
 *   - after a "full" message the netmap is that message;
 *   - after a "delta", every peer it adds or changes (with a numeric "id")
 *     is in the netmap's peers as given, and every numeric id it removes
 *     without adding it back is gone;
 *   - the netmap prints and parses back to itself.
 * Member names are matched case-sensitively, as netmap_check does: a
 * "PEERS_ADDED" is not "peers_added" (merging it would pass peers the
 * check never saw).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/mwgc_client.h"

static const cJSON *peer_by_id(const cJSON *peers, double id)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, peers)
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "id")) &&
		    cJSON_GetObjectItemCaseSensitive(p, "id")->valuedouble == id)
			return p;
	return NULL;
}

static bool listed(const cJSON *msg, double id)
{
	const char *lists[] = { "peers_added", "peers_changed" };
	const cJSON *it;

	for (int l = 0; l < 2; l++)
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, lists[l]))
			if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(it, "id")) &&
			    cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble == id)
				return true;
	return false;
}

static int count_id(const cJSON *peers, double id)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, peers)
		n += cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "id")) &&
		     cJSON_GetObjectItemCaseSensitive(p, "id")->valuedouble == id;
	return n;
}

/* before: the netmap before msg was applied; nm: after. */
static void check_delta(const cJSON *before, const cJSON *nm, const cJSON *msg)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(nm, "peers");
	const char *lists[] = { "peers_added", "peers_changed" };
	const cJSON *it;

	if (!cJSON_IsArray(peers))
		return;
	for (int l = 0; l < 2; l++)
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, lists[l])) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

			if (cJSON_IsObject(it) && cJSON_IsNumber(id) &&
			    !peer_by_id(peers, id->valuedouble)) {
				fprintf(stderr, "delta peer %g missing\n", id->valuedouble);
				abort();
			}
		}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "peers_removed"))
		if (cJSON_IsNumber(it) && !listed(msg, it->valuedouble) &&
		    count_id(cJSON_GetObjectItemCaseSensitive(before, "peers"), it->valuedouble) <= 1 &&
		    peer_by_id(peers, it->valuedouble)) {
			fprintf(stderr, "removed peer %g still there\n", it->valuedouble);
			abort();
		}
}

static char *print(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	if (!s)
		abort();
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *nm = NULL;
	char *text = malloc(size + 1), *line, *save = NULL;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *msg = cJSON_Parse(line), *before, *back;
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
		char *a, *b;

		if (!cJSON_IsObject(msg)) {
			cJSON_Delete(msg);
			continue;
		}
		before = nm ? cJSON_Duplicate(nm, 1) : NULL;
		if (mwgc_netmap_apply(&nm, msg) == 0 && nm) {
			/* text, not cJSON_Compare: that one fails on duplicate keys */
			if (type && !strcmp(type, "full")) {
				a = print(nm);
				b = print(msg);
				if (strcmp(a, b))
					abort();
				free(a);
				free(b);
			}
			if (type && !strcmp(type, "delta"))
				check_delta(before, nm, msg);
			a = print(nm);
			back = cJSON_Parse(a);
			if (!back)
				abort();
			b = print(back);
			if (strcmp(a, b))
				abort();
			free(a);
			free(b);
			cJSON_Delete(back);
		}
		cJSON_Delete(before);
		cJSON_Delete(msg);
	}
	cJSON_Delete(nm);
	free(text);
	return 0;
}
