/* SPDX-License-Identifier: MIT */
/*
 * meshwg-control policy engine: HuJSON policy parser and per-node compiler.
 * The language and the compiled filter format are documented in
 * docs/policy.md.
 *
 * Life cycle:
 *
 *   struct policy_error err;
 *   struct policy *p = policy_load("/etc/meshwg/policy.hujson", &err);
 *   if (!p || policy_check(p, nodes, n, &err) < 0)
 *           report "file:line:col: msg" (policy_error_format) and keep the
 *           old policy;
 *   struct policy_compiled *pc = policy_compile(p, nodes, n, &err);
 *   policy_node_filter(pc, id, &filter); policy_node_peers(pc, id, ...);
 *   on a node change: policy_compiled_update_node(pc, &node, &delta), then
 *   recompute the filters/peers of the ids listed in the delta;
 *   policy_compiled_free(pc); policy_free(p);
 *
 * Ownership: every pointer returned by a function here is owned by the
 * caller and released with the matching *_free function named next to it.
 * Inputs (struct policy_node and what it points to) are only borrowed for the
 * duration of the call; the engine copies what it keeps. A struct
 * policy_compiled refers to its struct policy, which must outlive it.
 * Nothing here has global state; distinct objects may be used from distinct
 * threads, one object is not safe for concurrent mutation.
 */
#ifndef MESHWG_CONTROL_POLICY_H
#define MESHWG_CONTROL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define POLICY_ERR_FILE_MAX 256
#define POLICY_ERR_MSG_MAX 256
/* The largest policy text (HTTP body, CLI file, policy_file). */
#define POLICY_MAX_FILE (16u << 20)

/* Where and why a policy was refused. line and col are 1-based (col counts
 * bytes); both are 0 when the error has no position (e.g. out of memory,
 * file not readable). */
struct policy_error {
	char file[POLICY_ERR_FILE_MAX];
	int line, col;
	char msg[POLICY_ERR_MSG_MAX];
};

/* Writes "file:line:col: msg" (or "file: msg" without position) into buf,
 * always NUL-terminated when len > 0. Returns what snprintf returns. */
int policy_error_format(const struct policy_error *err, char *buf, size_t len);

/* An IPv4 or IPv6 prefix; host bits beyond `bits` are always zero. */
struct policy_prefix {
	uint8_t family;		/* 4 or 6 */
	uint8_t bits;		/* 0..32 or 0..128 */
	uint8_t addr[16];	/* network byte order; IPv4 uses addr[0..3] */
};

/* Parses "1.2.3.4", "1.2.3.0/24", "fd7a::1", "fd7a::/48". A bare address is
 * a /32 or /128. Refuses host bits set beyond the mask. 0 or -1. */
int policy_prefix_parse(const char *s, struct policy_prefix *out);
/* Formats as "addr/bits" into buf (at least 50 bytes). Returns buf. */
char *policy_prefix_format(const struct policy_prefix *p, char *buf, size_t len);

/*
 * A node as the compiler sees it (input only, borrowed).
 * user: the owner's user name as written without the trailing '@' (e.g.
 * "alice" for the policy alias "alice@"); NULL allowed for tagged nodes.
 * tags: "tag:name" strings. A node with n_tags > 0 is *tagged*: for ACL
 * purposes it belongs to its tags and not to its user.
 * routes: the node's *approved* subnet routes. exit_node: approved exit node.
 */
struct policy_node {
	uint64_t id;
	const char *user;
	const char *const *tags;
	size_t n_tags;
	bool has_ipv4;
	uint8_t ipv4[4];
	bool has_ipv6;
	uint8_t ipv6[16];
	const struct policy_prefix *routes;
	size_t n_routes;
	bool exit_node;
};

/* ---- Parsing and checking ---------------------------------------------- */

struct policy;

/* Parses and validates a HuJSON policy held in text[0..len). filename is
 * only used in error messages. Returns NULL and fills *err on any error
 * (syntax, unknown key, unknown group/tag/host, bad CIDR/port/proto, tag
 * without tagOwners, ...). The result is freed with policy_free(). */
struct policy *policy_parse(const char *text, size_t len, const char *filename,
			    struct policy_error *err);
/* Reads the file at path and calls policy_parse(). Same contract. */
struct policy *policy_load(const char *path, struct policy_error *err);
void policy_free(struct policy *p);

/* Runs the policy's "tests" section against the policy and the given node
 * set (see docs/policy.md, "tests"): a user/group/tag/autogroup src stands
 * for each of its nodes (none: the test fails), a test without proto checks
 * TCP, UDP, ICMP and ICMPv6. Returns 0 when all pass, -1 with *err pointing
 * at the first failing assertion. */
int policy_check(const struct policy *p, const struct policy_node *nodes,
		 size_t n_nodes, struct policy_error *err);
/* The number of entries in the policy's "tests" section. */
size_t policy_test_count(const struct policy *p);

/* Optional stricter check for the server: every user referenced by the
 * policy (in groups, tagOwners, acls, autoApprovers, tests) must be one of
 * users[] (names without '@'). 0, or -1 with *err at the first unknown one. */
int policy_check_users(const struct policy *p, const char *const *users,
		       size_t n_users, struct policy_error *err);

/* true if tag ("tag:x") is defined in tagOwners. */
bool policy_tag_defined(const struct policy *p, const char *tag);
/* true if node `owner` (its user when untagged, its tags when tagged) is
 * allowed by tagOwners to put `tag` on a node. */
bool policy_tag_owner(const struct policy *p, const char *tag,
		      const struct policy_node *owner);

/* autoApprovers: true if `node` may have `route` approved automatically,
 * i.e. some autoApprovers.routes prefix contains route (equal or wider)
 * and lists an alias matching the node (user/group for untagged nodes,
 * tags for tagged nodes). */
bool policy_route_auto_approved(const struct policy *p,
				const struct policy_node *node,
				const struct policy_prefix *route);
/* true if autoApprovers.exitNode lists an alias matching node. */
bool policy_exit_auto_approved(const struct policy *p,
			       const struct policy_node *node);

/* ---- Compilation ------------------------------------------------------- */

enum policy_action {
	POLICY_ACCEPT = 1,
	POLICY_DENY = 2,
};

struct policy_filter_dst {
	struct policy_prefix prefix;
	uint16_t first_port, last_port;	/* 0-65535 = any */
};

struct policy_filter_rule {
	enum policy_action action;
	struct policy_prefix *src;	/* sorted, merged */
	size_t n_src;
	struct policy_filter_dst *dst;
	size_t n_dst;
	uint8_t *protos;	/* IP protocol numbers; n_protos == 0 means
				 * TCP, UDP, ICMP and ICMPv6 */
	size_t n_protos;
};

/* One node's packet filter: rules in policy order, first match wins, no
 * match = drop. */
struct policy_filter {
	struct policy_filter_rule *rules;
	size_t n_rules;
};

void policy_filter_free(struct policy_filter *f);

/* Resolved aliases of a policy over a node set. */
struct policy_compiled;

/* Resolves the policy's aliases once against nodes[] (ids must be unique).
 * Returns NULL with *err filled on duplicate ids or out of memory.
 * Freed with policy_compiled_free(); p must outlive the result. */
struct policy_compiled *policy_compile(const struct policy *p,
				       const struct policy_node *nodes,
				       size_t n_nodes,
				       struct policy_error *err);
void policy_compiled_free(struct policy_compiled *pc);

/* Number of nodes currently known to pc. */
size_t policy_compiled_node_count(const struct policy_compiled *pc);

/* The packet filter of node `id`: the rules whose destinations hit its
 * addresses, its approved routes, or (approved exit node) internet space,
 * each reduced to those destinations. *out is freed with
 * policy_filter_free(). 0, -ENOENT (unknown id), -ENOMEM. */
int policy_node_filter(const struct policy_compiled *pc, uint64_t id,
		       struct policy_filter **out);

/* The ids of the nodes `id` may see (symmetric; never itself), ascending.
 * *ids is malloc'ed (free() it; NULL when *n == 0).
 * 0, -ENOENT, -ENOMEM. */
int policy_node_peers(const struct policy_compiled *pc, uint64_t id,
		      uint64_t **ids, size_t *n);

/* true if node a may see node b (same relation as policy_node_peers). */
bool policy_nodes_visible(const struct policy_compiled *pc, uint64_t a,
			  uint64_t b);

/* What a node change may have changed elsewhere. Both lists ascending and
 * include the changed node itself (unless removed). peers_changed: nodes
 * whose peer set changed (exact). filters_changed: nodes whose filter may
 * have changed (a superset; compare with policy_filter_hash to be sure).
 * Release the arrays with policy_delta_free(). */
struct policy_delta {
	uint64_t *peers_changed;
	size_t n_peers_changed;
	uint64_t *filters_changed;
	size_t n_filters_changed;
};
void policy_delta_free(struct policy_delta *d);

/* Adds node (or replaces the node with the same id) and fills *delta
 * (may be NULL). On error (-ENOMEM) pc is unchanged. */
int policy_compiled_update_node(struct policy_compiled *pc,
				const struct policy_node *node,
				struct policy_delta *delta);
/* Removes node id. 0, -ENOENT, -ENOMEM (pc unchanged on error). */
int policy_compiled_remove_node(struct policy_compiled *pc, uint64_t id,
				struct policy_delta *delta);

/* ---- Serialization ----------------------------------------------------- */

/* The filter as JSON (format in docs/policy.md, "Compiled filter"): an array
 * of rule objects. Returned tree owned by the caller (cJSON_Delete), NULL on
 * out of memory. */
cJSON *policy_filter_to_json(const struct policy_filter *f);

/* Stable 64-bit hash of a filter's content (same content, same hash, on
 * every run and machine), and exact equality. */
uint64_t policy_filter_hash(const struct policy_filter *f);
bool policy_filter_equal(const struct policy_filter *a,
			 const struct policy_filter *b);

#endif /* MESHWG_CONTROL_POLICY_H */
