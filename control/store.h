/* SPDX-License-Identifier: MIT */
/*
 * The storage interface of meshwg-control: the data model (users, nodes,
 * pre-auth keys, API keys, policy, change log) over either SQL driver. Every
 * call is one transaction: it commits whole or changes nothing. Calls are
 * serialized on one connection (thread safe).
 */
#ifndef MWG_STORE_H
#define MWG_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "config.h"
#include "db.h"
#include "ipalloc.h"
#include "../lib/util.h"

struct mwg_node {
	int64_t id;
	int64_t user_id;	/* 0 while pending */
	char user[64];
	char machine_key[MWG_KEY_TEXT_MAX], node_key[MWG_KEY_TEXT_MAX];
	char disco_key[MWG_KEY_TEXT_MAX];
	char hostname[64];
	char given_name[MWG_KEY_TEXT_MAX];	/* the machine key while pending */
	char ipv4[16], ipv6[48];
	cJSON *tags;		/* array of "tag:x" */
	cJSON *endpoints;	/* array of "ip:port" */
	cJSON *hostinfo;	/* object */
	cJSON *routes_advertised, *routes_approved;	/* arrays of prefixes */
	int home_derp;
	bool ephemeral, pending, online;
	int64_t created, last_seen, expiry;	/* expiry 0 = never */
	int64_t version;
};

void mwg_node_clear(struct mwg_node *n);
void mwg_nodes_free(struct mwg_node *n, size_t count);
bool mwg_node_expired(const struct mwg_node *n, int64_t now);

struct mwg_change {
	int64_t seq, node_id;
	char kind[16];		/* "node", "node_deleted", "policy", "user" */
};

struct mwg_store {
	struct mwg_db *db;
	const struct mwg_config *cfg;
	pthread_mutex_t lock;
	struct mwg_ipalloc *alloc4, *alloc6;
	int64_t alloc_seen_id;	/* highest node id whose addresses are marked */
};

int mwg_store_open(const struct mwg_config *cfg, struct mwg_store **out, struct mwg_err *e);
void mwg_store_close(struct mwg_store *s);

/* The server's static Curve25519 key pair, created on first use and shared
 * by every server on the same database. */
int mwg_store_server_key(struct mwg_store *s, uint8_t priv[32], uint8_t pub[32], struct mwg_err *e);

/* Users. */
int mwg_store_user_create(struct mwg_store *s, const char *name, int64_t *id, struct mwg_err *e);
cJSON *mwg_store_user_list(struct mwg_store *s, struct mwg_err *e);
int mwg_store_user_delete(struct mwg_store *s, const char *name, struct mwg_err *e);
int mwg_store_user_names(struct mwg_store *s, char ***names, size_t *n, struct mwg_err *e);

/* Pre-auth keys. The key text is returned once (malloc'd); only its hash is
 * stored. expiration: seconds from now (0 = default 1h). */
char *mwg_store_preauthkey_create(struct mwg_store *s, const char *user, bool reusable,
				  bool ephemeral, int64_t expiration, const cJSON *tags,
				  struct mwg_err *e);
cJSON *mwg_store_preauthkey_list(struct mwg_store *s, const char *user, struct mwg_err *e);
int mwg_store_preauthkey_expire(struct mwg_store *s, const char *id_or_prefix, struct mwg_err *e);

/* Admin API keys. */
char *mwg_store_apikey_create(struct mwg_store *s, int64_t expiration, struct mwg_err *e);
cJSON *mwg_store_apikey_list(struct mwg_store *s, struct mwg_err *e);
int mwg_store_apikey_expire(struct mwg_store *s, const char *id_or_prefix, struct mwg_err *e);
int mwg_store_apikey_check(struct mwg_store *s, const char *key, struct mwg_err *e);

/* Nodes. */
int mwg_store_node_get(struct mwg_store *s, int64_t id, struct mwg_node *n, struct mwg_err *e);
int mwg_store_node_by_machine(struct mwg_store *s, const char *mkey, struct mwg_node *n,
			      struct mwg_err *e);
int mwg_store_node_list(struct mwg_store *s, struct mwg_node **nodes, size_t *count,
			struct mwg_err *e);

struct mwg_register_req {
	const char *machine_key, *node_key, *disco_key, *hostname;
	const char *old_node_key;	/* rotation (proof already checked) */
	const char *auth_key;	/* NULL: pending unless known */
	const cJSON *hostinfo;
	/* Advertised tags (docs/protocol.md, /v1/register "tags"), NULL or []
	 * for none: checked against tagOwners inside the registration's
	 * transaction, so a refusal changes nothing. */
	const cJSON *tags;
};
/* Hostinfo objects are limited to this many bytes of JSON text. */
#define MWG_HOSTINFO_MAX 4096
/* Registers or re-registers; fills *n with the result (n->pending tells). */
int mwg_store_register(struct mwg_store *s, const struct mwg_register_req *r,
		       struct mwg_node *n, struct mwg_err *e);
int mwg_store_node_approve(struct mwg_store *s, int64_t id, const char *user, struct mwg_err *e);
int mwg_store_node_expire(struct mwg_store *s, int64_t id, struct mwg_err *e);
int mwg_store_node_rename(struct mwg_store *s, int64_t id, const char *name, struct mwg_err *e);
int mwg_store_node_set_tags(struct mwg_store *s, int64_t id, const cJSON *tags, struct mwg_err *e);
int mwg_store_node_delete(struct mwg_store *s, int64_t id, struct mwg_err *e);
int mwg_store_node_set_approved_routes(struct mwg_store *s, int64_t id, const cJSON *routes,
				       struct mwg_err *e);
/* Node-reported state; NULL/negative fields are left as they are. */
int mwg_store_node_update(struct mwg_store *s, int64_t id, const cJSON *endpoints,
			  int home_derp, const char *disco_key, const cJSON *hostinfo,
			  const cJSON *routes_advertised, struct mwg_err *e);
int mwg_store_node_set_online(struct mwg_store *s, int64_t id, bool online, struct mwg_err *e);
int mwg_store_node_logout(struct mwg_store *s, int64_t id, struct mwg_err *e);
/* Refreshes last_seen of nodes with open streams (no change is logged), so
 * that nodes left "online" by a crashed server still age out. */
int mwg_store_touch(struct mwg_store *s, const int64_t *ids, size_t n, struct mwg_err *e);
/* Deletes ephemeral nodes offline for longer than timeout (or marked online
 * but not touched for timeout + stale); returns count. */
int mwg_store_ephemeral_gc(struct mwg_store *s, int64_t timeout, int64_t stale, struct mwg_err *e);

/* Deletes registrations pending for longer than max_age seconds since their
 * last registration attempt; returns count. */
int mwg_store_pending_gc(struct mwg_store *s, int64_t max_age, struct mwg_err *e);

/* Policy text (NULL *text when none). */
int mwg_store_policy_get(struct mwg_store *s, char **text, int64_t *updated, struct mwg_err *e);
int mwg_store_policy_set(struct mwg_store *s, const char *text, struct mwg_err *e);

/* Records (ts, ctr) as the newest nonce of machine mkey if it is newer than
 * the stored one; 401 otherwise (replay check shared by all servers). */
int mwg_store_nonce_advance(struct mwg_store *s, const char *mkey, uint64_t ts, uint64_t ctr,
			    struct mwg_err *e);

/* Change log. */
int mwg_store_change_head(struct mwg_store *s, int64_t *seq, struct mwg_err *e);
int mwg_store_changes_since(struct mwg_store *s, int64_t seq, struct mwg_change **out,
			    size_t *n, struct mwg_err *e);

cJSON *mwg_node_to_json(const struct mwg_node *n, const char *base_domain);
/* Checks a list of route prefixes (array of strings); 0 or -1 with e set. */
int mwg_routes_validate(const cJSON *routes, struct mwg_err *e);
/* Checks "tag:name" tags. */
int mwg_tags_validate(const cJSON *tags, struct mwg_err *e);

#endif
