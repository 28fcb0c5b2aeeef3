// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kern_bench: the userspace cost of one netmap message at N peers (default
 * 10000), by hand (not a test): the full path (kpeers_from_netmap, the ids,
 * kpeers_diff, kpeers_move) against the delta path (kdelta_from_msg,
 * kpeers_diff_some, kpeers_merge) for a delta changing one peer's endpoint,
 * and mwgc_netmap_apply of that delta. No kernel involved.
 *   usage: kern_bench [PEERS [ROUNDS]]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern_peers.h"
#include "control/client/mwgc_client.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static cJSON *netmap(unsigned n)
{
	cJSON *nm = cJSON_CreateObject(), *arr;
	unsigned i;

	cJSON_AddStringToObject(nm, "type", "full");
	cJSON_AddNumberToObject(nm, "seq", 1);
	arr = cJSON_AddArrayToObject(nm, "peers");
	for (i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject(), *a;
		char buf[100];

		cJSON_AddNumberToObject(p, "id", i + 1);
		snprintf(buf, sizeof(buf), "nodekey:%08x%056x", i, 0x11);
		cJSON_AddStringToObject(p, "node_key", buf);
		a = cJSON_AddArrayToObject(p, "addresses");
		snprintf(buf, sizeof(buf), "100.%u.%u.%u/32", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		snprintf(buf, sizeof(buf), "fd7a:115c:a1e0::%x/128", i + 1);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		a = cJSON_AddArrayToObject(p, "endpoints");
		snprintf(buf, sizeof(buf), "198.51.%u.%u:41641", (i >> 8) & 255, i & 255);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		cJSON_AddItemToArray(arr, p);
	}
	cJSON_AddNullToObject(nm, "packet_filter");
	return nm;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 20, r;
	cJSON *nm = netmap(n), *held = NULL;
	struct kpeers have;
	struct kids ids = { 0 };
	double t, full = 0, delta = 0, client = 0;
	char err[256];

	if (!n || kpeers_from_netmap(&have, nm, false, err, sizeof(err)) ||
	    kids_from_netmap(&ids, nm) || mwgc_netmap_apply(&held, nm)) {
		fprintf(stderr, "kern_bench: setup failed\n");
		return 1;
	}
	for (r = 0; r < rounds; r++) {
		cJSON *d = cJSON_CreateObject(), *p;
		struct kpeers want;
		struct kdelta dl;
		struct kdiff df;
		char ep[64];

		unsigned who = (unsigned)(((unsigned long)r * 7919 + n / 2) % n);

		/* a delta: peer who (spread over the list) has a new endpoint */
		cJSON_AddStringToObject(d, "type", "delta");
		cJSON_AddNumberToObject(d, "seq", 2 + r);
		p = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(held, "peers"),
						       (int)who), 1);
		snprintf(ep, sizeof(ep), "203.0.113.%u:%u", r % 250 + 1, 1000 + r);
		cJSON_ReplaceItemInObject(p, "endpoints", cJSON_CreateStringArray(
			(const char *const[]){ ep }, 1));
		cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "peers_changed"), p);

		t = now_ms();
		if (mwgc_netmap_apply(&held, d))
			return 1;
		client += now_ms() - t;

		/* full: what kern_apply does in userspace */
		{
			struct kpeers copy;
			struct kids ids2 = { 0 };

			kpeers_from_netmap(&copy, held, false, err, sizeof(err)); /* "have" stand-in */
			t = now_ms();
			if (kpeers_from_netmap_ids(&want, &ids2, held, false, err, sizeof(err)))
				return 1;
			if (kpeers_diff(&copy, &want, false, &df))
				return 1;
			kpeers_move(&copy, &want);
			kdiff_free(&df);
			full += now_ms() - t;
			kids_free(&ids2);
			kpeers_free(&copy);
		}
		/* delta */
		t = now_ms();
		if (kdelta_from_msg(&dl, &ids, d, false) ||
		    kpeers_diff_some(&have, &dl.want, dl.gone, dl.n_gone, false, &df))
			return 1;
		if (df.changed != 1 || df.added || df.removed || dl.built != 1) {
			fprintf(stderr, "kern_bench: the delta did not change one peer\n");
			return 1;
		}
		kpeers_merge(&have, &dl.want, dl.gone, dl.n_gone);
		kdiff_free(&df);
		kdelta_free(&dl);
		delta += now_ms() - t;
		cJSON_Delete(d);
	}
	printf("%u peers, %u rounds, mean per message:\n", n, rounds);
	printf("  full  (from_netmap_ids + diff + move):  %8.3f ms\n", full / rounds);
	printf("  delta (kdelta + diff_some + merge):      %8.3f ms\n", delta / rounds);
	printf("  mwgc_netmap_apply of the delta:          %8.3f ms\n", client / rounds);
	kpeers_free(&have);
	kids_free(&ids);
	cJSON_Delete(nm);
	cJSON_Delete(held);
	return 0;
}
