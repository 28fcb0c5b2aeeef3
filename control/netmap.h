/* SPDX-License-Identifier: MIT */
/* The pieces of a netmap (docs/protocol.md, "Netmap"), as JSON. */
#ifndef MWG_NETMAP_H
#define MWG_NETMAP_H

#include <stdint.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "config.h"
#include "store.h"
#include "../lib/util.h"

/* A node as its peers see it (same for every viewer). */
cJSON *mwg_netmap_peer(const struct mwg_node *n, const struct mwg_config *c);
/* A node as it sees itself. */
cJSON *mwg_netmap_self(const struct mwg_node *n, const struct mwg_config *c);
/* DNS configuration; records for self and the given peers (may be NULL). */
cJSON *mwg_netmap_dns(const struct mwg_config *c, const struct mwg_node *self,
		      const struct mwg_node *const *peers, size_t npeers);
/* true if the node is an approved exit node (0.0.0.0/0 or ::/0 approved). */
bool mwg_node_is_exit(const struct mwg_node *n);
/* May the node appear as a peer / hold a map stream at time now? */
bool mwg_node_eligible(const struct mwg_node *n, int64_t now);

/* Sorted-id-set difference: ids in b not in a go to *added, ids in a not in
 * b to *removed (both malloc'd, may be NULL when empty). 0 or -1 (ENOMEM). */
int mwg_ids_diff(const uint64_t *a, size_t na, const uint64_t *b, size_t nb,
		 uint64_t **added, size_t *nadded, uint64_t **removed, size_t *nremoved);

/* A delta being assembled for one stream. */
struct mwg_delta {
	struct mwg_buf added, changed;	/* comma-separated peer objects */
	struct mwg_buf removed;		/* comma-separated ids */
	char *self;			/* self object JSON, or NULL */
	char *filter;			/* packet filter JSON ("null" allowed), or NULL */
};

void mwg_delta_init(struct mwg_delta *d);
void mwg_delta_free(struct mwg_delta *d);
int mwg_delta_add_peer(struct mwg_delta *d, const char *peer_json);
int mwg_delta_change_peer(struct mwg_delta *d, const char *peer_json);
int mwg_delta_remove_peer(struct mwg_delta *d, uint64_t id);
bool mwg_delta_empty(const struct mwg_delta *d);
/* {"type":"delta","seq":N,...} only with the parts that are set; malloc'd. */
char *mwg_delta_render(const struct mwg_delta *d, int64_t seq);

#endif
