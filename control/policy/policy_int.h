/* SPDX-License-Identifier: MIT */
/* Internal representation of a parsed policy. Not for use outside
 * control/policy/. */
#ifndef MESHWG_POLICY_INT_H
#define MESHWG_POLICY_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum alias_kind {
	AL_ANY,		/* "*" */
	AL_USER,	/* "alice@" */
	AL_GROUP,	/* "group:eng" */
	AL_TAG,		/* "tag:server" */
	AL_HOST,	/* a name from "hosts" */
	AL_PREFIX,	/* "10.0.0.0/8", "100.64.0.1" */
	AL_MEMBER,	/* autogroup:member */
	AL_TAGGED,	/* autogroup:tagged */
	AL_SELF,	/* autogroup:self (dst only) */
	AL_INTERNET,	/* autogroup:internet (dst only) */
};

struct alias {
	enum alias_kind kind;
	char *text;		/* as written (for messages) */
	char *name;		/* user name without '@', group/tag/host name */
	size_t ref;		/* AL_GROUP: index in groups[] */
	struct policy_prefix prefix;	/* AL_HOST, AL_PREFIX */
	int line, col;
};

struct port_range {
	uint16_t first, last;
};

struct dst_entry {
	struct alias alias;
	struct port_range *ports;
	size_t n_ports;
};

struct rule {
	enum policy_action action;
	struct alias *src;
	size_t n_src;
	struct dst_entry *dst;
	size_t n_dst;
	uint8_t *protos;
	size_t n_protos;
	int line, col;
};

struct group {
	char *name;		/* "group:eng" */
	struct alias *members;	/* AL_USER aliases */
	size_t n_members;
};

struct host {
	char *name;
	struct policy_prefix prefix;
};

struct tag_owner {
	char *tag;		/* "tag:server" */
	struct alias *owners;
	size_t n_owners;
};

struct route_approver {
	struct policy_prefix prefix;
	struct alias *approvers;
	size_t n_approvers;
};

struct test_dst {
	struct alias alias;
	uint16_t port;
};

struct policy_test {
	struct alias src;
	/* proto given: its numbers (icmp is two); none: 6, 17, 1, 58 */
	uint8_t protos[4];
	size_t n_protos;
	struct test_dst *accept;
	size_t n_accept;
	struct test_dst *deny;
	size_t n_deny;
	int line, col;
};

struct policy {
	char *file;
	struct group *groups;
	size_t n_groups;
	struct host *hosts;
	size_t n_hosts;
	struct tag_owner *tag_owners;
	size_t n_tag_owners;
	struct rule *rules;
	size_t n_rules;
	struct route_approver *route_approvers;
	size_t n_route_approvers;
	struct alias *exit_approvers;
	size_t n_exit_approvers;
	struct policy_test *tests;
	size_t n_tests;
};

/* error helpers (policy.c) */
int set_err(struct policy_error *err, const char *file, int line, int col,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* prefix helpers (prefix.c) */
bool prefix_contains(const struct policy_prefix *outer,
		     const struct policy_prefix *inner);
bool prefix_overlaps(const struct policy_prefix *a,
		     const struct policy_prefix *b);
int prefix_cmp(const struct policy_prefix *a, const struct policy_prefix *b);
void prefix_host(struct policy_prefix *out, int family, const uint8_t *addr);
/* Sorts, removes duplicates and covered prefixes, merges siblings. Returns
 * the new count (in place). */
size_t prefix_normalize(struct policy_prefix *p, size_t n);
/* autogroup:internet: the fixed list documented in docs/policy.md. */
const struct policy_prefix *internet_prefixes(size_t *n);

/* alias helpers (policy.c) */
bool group_has_user(const struct policy *p, size_t group,
		    const char *user);
bool node_is_tagged(const struct policy_node *n);
bool node_has_tag(const struct policy_node *n, const char *tag);
/* Identity match of a node against a user/group/tag/autogroup alias.
 * Address-based kinds (any, host, prefix, self, internet) return false. */
bool alias_identity_match(const struct policy *p, const struct alias *a,
			  const struct policy_node *n);

#endif
