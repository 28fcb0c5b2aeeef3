// SPDX-License-Identifier: MIT
/* reg_tags: registers a node advertising tags (the /v1/register "tags"
 * member), for integration.sh. mwgc has no option for it.
 *
 *   reg_tags URL MACHINEKEYFILE NODEKEYFILE HOSTNAME TAGS [AUTHKEY]
 *
 * TAGS is comma-separated ("" sends "tags": []). Prints the reply on stdout,
 * or "HTTP <status>: <message>" on stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "client/mwgc_client.h"

int main(int argc, char **argv)
{
	struct mwg_err e = { 0 };
	uint8_t mk[32], nk[32];
	cJSON *extra, *tags, *reply = NULL;
	char *copy, *tok, *save = NULL, *s;
	struct mwgc c;
	int r;

	if (argc < 6 || argc > 7) {
		fputs("usage: reg_tags URL MACHINEKEYFILE NODEKEYFILE HOSTNAME TAGS [AUTHKEY]\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (mwgc_key_load(argv[2], mk, &e) || mwgc_key_load(argv[3], nk, &e)) {
		fprintf(stderr, "HTTP %d: %s\n", e.status, e.msg);
		return 1;
	}
	if (mwgc_init(&c, argv[1], mk, nk)) {
		fputs("reg_tags: init failed\n", stderr);
		return 1;
	}
	extra = cJSON_CreateObject();
	tags = cJSON_AddArrayToObject(extra, "tags");
	copy = strdup(argv[5]);
	if (!extra || !tags || !copy) {
		fputs("reg_tags: out of memory\n", stderr);
		free(copy);
		cJSON_Delete(extra);
		mwgc_destroy(&c);
		return 1;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(tags, cJSON_CreateString(tok));
	free(copy);
	r = mwgc_register(&c, argc == 7 ? argv[6] : NULL, argv[4], extra, &reply, &e);
	cJSON_Delete(extra);
	mwgc_destroy(&c);
	if (r) {
		fprintf(stderr, "HTTP %d: %s\n", e.status, e.msg);
		return 1;
	}
	s = cJSON_PrintUnformatted(reply);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(reply);
	return 0;
}
