/* SPDX-License-Identifier: MIT */
/* meshwg-control configuration: a JSON file, every field optional. */
#ifndef MWG_CONFIG_H
#define MWG_CONFIG_H

#include <stdint.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "../lib/util.h"
#include "ipalloc.h"

enum mwg_db_type { MWG_DB_SQLITE, MWG_DB_POSTGRES };

struct mwg_config {
	char listen_addr[64];	/* IP literal */
	uint16_t listen_port;
	char server_url[256];
	char tls_cert[256], tls_key[256];
	bool insecure_http;	/* allow plain HTTP on non-loopback */
	char base_domain[128];
	bool magic_dns;
	cJSON *nameservers;	/* array of strings (owned) */
	cJSON *search_domains;	/* array of strings (owned) */
	struct kprefix v4, v6;
	enum mwg_db_type db_type;
	char db_path[256];	/* sqlite */
	char db_dsn[512];	/* postgres connection string */
	char policy_file[256];
	cJSON *derp_map;	/* {"regions":[...]} (owned) */
	int64_t node_key_expiry;	/* seconds, 0 = never */
	int64_t ephemeral_timeout;	/* seconds */
	int64_t pending_expiry;	/* seconds an unapproved registration is kept */
	int max_pending;	/* pending registrations at most */
	int64_t keepalive_interval;	/* seconds */
	int64_t auth_max_skew;	/* seconds a request timestamp may be off */
	bool shared_replay_check;	/* keep the replay record in the database too */
	int max_connections;
	int max_connections_per_ip;
	int64_t request_timeout;	/* seconds a request may take to arrive */
	int threads;
	int change_poll_ms;
	size_t max_body;
	size_t max_queued_bytes;	/* queued for all map streams together */
};

/* Fills c with defaults. */
void mwg_config_defaults(struct mwg_config *c);
/* Parses JSON text into c (on top of defaults). On error, c is left with
 * defaults only and e holds "name:line:col: message". */
int mwg_config_parse(struct mwg_config *c, const char *text, const char *name,
		     struct mwg_err *e);
int mwg_config_load(struct mwg_config *c, const char *path, struct mwg_err *e);
void mwg_config_free(struct mwg_config *c);
/* Writes a summary of the effective configuration (configtest). */
cJSON *mwg_config_to_json(const struct mwg_config *c);

/* line:col of byte offset off in text, 1-based. */
void mwg_text_position(const char *text, size_t off, int *line, int *col);

#endif
