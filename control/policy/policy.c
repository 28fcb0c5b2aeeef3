// SPDX-License-Identifier: MIT
/* Errors, identity matching, tag ownership and autoApprovers. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

int set_err(struct policy_error *err, const char *file, int line, int col,
	    const char *fmt, ...)
{
	va_list ap;

	snprintf(err->file, sizeof(err->file), "%s", file ? file : "policy");
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int policy_error_format(const struct policy_error *err, char *buf, size_t len)
{
	if (err->line > 0)
		return snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line,
				err->col, err->msg);
	return snprintf(buf, len, "%s: %s", err->file, err->msg);
}

bool node_is_tagged(const struct policy_node *n)
{
	return n->n_tags > 0;
}

bool node_has_tag(const struct policy_node *n, const char *tag)
{
	for (size_t i = 0; i < n->n_tags; i++)
		if (n->tags[i] && !strcmp(n->tags[i], tag))
			return true;
	return false;
}

bool group_has_user(const struct policy *p, size_t group, const char *user)
{
	const struct group *g = &p->groups[group];

	if (!user)
		return false;
	for (size_t i = 0; i < g->n_members; i++)
		if (!strcmp(g->members[i].name, user))
			return true;
	return false;
}

bool alias_identity_match(const struct policy *p, const struct alias *a,
			  const struct policy_node *n)
{
	bool tagged = node_is_tagged(n);

	switch (a->kind) {
	case AL_USER:
		return !tagged && n->user && !strcmp(n->user, a->name);
	case AL_GROUP:
		return !tagged && group_has_user(p, a->ref, n->user);
	case AL_TAG:
		return tagged && node_has_tag(n, a->name);
	case AL_MEMBER:
		return !tagged;
	case AL_TAGGED:
		return tagged;
	default:
		return false;
	}
}

bool policy_tag_defined(const struct policy *p, const char *tag)
{
	for (size_t i = 0; i < p->n_tag_owners; i++)
		if (!strcmp(p->tag_owners[i].tag, tag))
			return true;
	return false;
}

static bool any_identity_match(const struct policy *p, const struct alias *l,
			       size_t n, const struct policy_node *node)
{
	for (size_t i = 0; i < n; i++)
		if (alias_identity_match(p, &l[i], node))
			return true;
	return false;
}

bool policy_tag_owner(const struct policy *p, const char *tag,
		      const struct policy_node *owner)
{
	for (size_t i = 0; i < p->n_tag_owners; i++) {
		const struct tag_owner *o = &p->tag_owners[i];

		if (!strcmp(o->tag, tag))
			return any_identity_match(p, o->owners, o->n_owners,
						  owner);
	}
	return false;
}

bool policy_route_auto_approved(const struct policy *p,
				const struct policy_node *node,
				const struct policy_prefix *route)
{
	for (size_t i = 0; i < p->n_route_approvers; i++) {
		const struct route_approver *ra = &p->route_approvers[i];

		if (prefix_contains(&ra->prefix, route) &&
		    any_identity_match(p, ra->approvers, ra->n_approvers, node))
			return true;
	}
	return false;
}

bool policy_exit_auto_approved(const struct policy *p,
			       const struct policy_node *node)
{
	return any_identity_match(p, p->exit_approvers, p->n_exit_approvers,
				  node);
}

static const struct alias *first_unknown_user(const struct alias *l, size_t n,
					      const char *const *users,
					      size_t n_users)
{
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		if (l[i].kind != AL_USER)
			continue;
		for (size_t j = 0; j < n_users && !found; j++)
			found = users[j] && !strcmp(users[j], l[i].name);
		if (!found)
			return &l[i];
	}
	return NULL;
}

int policy_check_users(const struct policy *p, const char *const *users,
		       size_t n_users, struct policy_error *err)
{
	const struct alias *a;

#define CHECK(list, n)                                                       \
	do {                                                                 \
		a = first_unknown_user((list), (n), users, n_users);         \
		if (a)                                                       \
			return set_err(err, p->file, a->line, a->col,        \
				       "unknown user \"%s\"", a->text);      \
	} while (0)

	for (size_t i = 0; i < p->n_groups; i++)
		CHECK(p->groups[i].members, p->groups[i].n_members);
	for (size_t i = 0; i < p->n_tag_owners; i++)
		CHECK(p->tag_owners[i].owners, p->tag_owners[i].n_owners);
	for (size_t i = 0; i < p->n_rules; i++) {
		CHECK(p->rules[i].src, p->rules[i].n_src);
		for (size_t j = 0; j < p->rules[i].n_dst; j++)
			CHECK(&p->rules[i].dst[j].alias, 1);
	}
	for (size_t i = 0; i < p->n_route_approvers; i++)
		CHECK(p->route_approvers[i].approvers,
		      p->route_approvers[i].n_approvers);
	CHECK(p->exit_approvers, p->n_exit_approvers);
	for (size_t i = 0; i < p->n_tests; i++) {
		CHECK(&p->tests[i].src, 1);
		for (size_t j = 0; j < p->tests[i].n_accept; j++)
			CHECK(&p->tests[i].accept[j].alias, 1);
		for (size_t j = 0; j < p->tests[i].n_deny; j++)
			CHECK(&p->tests[i].deny[j].alias, 1);
	}
#undef CHECK
	return 0;
}
