/* SPDX-License-Identifier: MIT */
/* Glue between the store's nodes and the policy engine (control/policy). */
#ifndef MWG_POLGLUE_H
#define MWG_POLGLUE_H

#include "policy/policy.h"
#include "store.h"

/* A struct policy_node and the storage it points into. */
struct mwg_pnode {
	struct policy_node pn;
	const char **tags;
	struct policy_prefix *routes;
};

int mwg_pnode_fill(struct mwg_pnode *p, const struct mwg_node *n);
void mwg_pnode_release(struct mwg_pnode *p);

/* Parses policy text. Returns the policy or NULL with "file:line:col:
 * message" in e (status 400). */
struct policy *mwg_policy_parse_text(const char *text, size_t len, const char *name,
				     struct mwg_err *e);
/* Runs the policy's tests against the approved nodes of nodes[]: 0, or -1
 * with "file:line:col: test failed: ..." in e (400; 500 out of memory). */
int mwg_policy_run_tests(const struct policy *p, const struct mwg_node *nodes, size_t n,
			 struct mwg_err *e);

/* The routes of n (advertised, not yet approved) that the policy's
 * autoApprovers approve, merged with the approved ones; NULL if nothing new. */
cJSON *mwg_policy_auto_routes(const struct policy *p, const struct mwg_node *n);

/* 0 when tagOwners of the policy text let user (a store user name, e.g.
 * "alice") put every tag of tags (an array of "tag:x") on its nodes; else
 * 403 naming the first refused tag, or 500 if the policy does not parse. */
int mwg_policy_tags_allowed(const char *text, const char *user, const cJSON *tags,
			    struct mwg_err *e);

#endif
