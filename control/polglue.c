// SPDX-License-Identifier: MIT
#include "polglue.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void mwg_pnode_release(struct mwg_pnode *p)
{
	free(p->tags);
	free(p->routes);
	memset(p, 0, sizeof(*p));
}

int mwg_pnode_fill(struct mwg_pnode *p, const struct mwg_node *n)
{
	size_t nt = (size_t)cJSON_GetArraySize(n->tags);
	size_t nr = (size_t)cJSON_GetArraySize(n->routes_approved);
	const cJSON *it;

	memset(p, 0, sizeof(*p));
	p->tags = calloc(nt + 1, sizeof(char *));
	p->routes = calloc(nr + 1, sizeof(struct policy_prefix));
	if (!p->tags || !p->routes) {
		mwg_pnode_release(p);
		return -1;
	}
	p->pn.id = (uint64_t)n->id;
	p->pn.user = n->user[0] ? n->user : NULL;
	cJSON_ArrayForEach(it, n->tags)
		if (cJSON_IsString(it))
			p->tags[p->pn.n_tags++] = it->valuestring;
	p->pn.tags = p->tags;
	p->pn.has_ipv4 = n->ipv4[0] && inet_pton(AF_INET, n->ipv4, p->pn.ipv4) == 1;
	p->pn.has_ipv6 = n->ipv6[0] && inet_pton(AF_INET6, n->ipv6, p->pn.ipv6) == 1;
	cJSON_ArrayForEach(it, n->routes_approved) {
		if (!cJSON_IsString(it))
			continue;
		if (!strcmp(it->valuestring, "0.0.0.0/0") || !strcmp(it->valuestring, "::/0")) {
			p->pn.exit_node = true;
			continue;
		}
		if (!policy_prefix_parse(it->valuestring, &p->routes[p->pn.n_routes]))
			p->pn.n_routes++;
	}
	p->pn.routes = p->routes;
	return 0;
}

struct policy *mwg_policy_parse_text(const char *text, size_t len, const char *name,
				     struct mwg_err *e)
{
	struct policy_error perr;
	struct policy *p;
	char msg[600];

	memset(&perr, 0, sizeof(perr));
	p = policy_parse(text, len, name, &perr);
	if (!p) {
		policy_error_format(&perr, msg, sizeof(msg));
		mwg_fail(e, 400, "%.250s", msg);
	}
	return p;
}

int mwg_policy_run_tests(const struct policy *p, const struct mwg_node *nodes, size_t n,
			 struct mwg_err *e)
{
	struct policy_error perr;
	struct mwg_pnode *pn;
	struct policy_node *arr;
	size_t i, k = 0;
	char msg[600];
	int r = 0;

	memset(&perr, 0, sizeof(perr));
	pn = calloc(n + 1, sizeof(*pn));
	arr = calloc(n + 1, sizeof(*arr));
	if (!pn || !arr) {
		free(pn);
		free(arr);
		return mwg_fail(e, 500, "out of memory");
	}
	for (i = 0; i < n && !r; i++) {
		if (nodes[i].pending || !nodes[i].ipv4[0])
			continue;
		r = mwg_pnode_fill(&pn[k], &nodes[i]);
		if (!r)
			arr[k] = pn[k].pn, k++;
	}
	if (r) {
		r = mwg_fail(e, 500, "out of memory");
	} else if (policy_check(p, arr, k, &perr) < 0) {
		policy_error_format(&perr, msg, sizeof(msg));
		r = mwg_fail(e, 400, "%.250s", msg);
	}
	for (i = 0; i < k; i++)
		mwg_pnode_release(&pn[i]);
	free(pn);
	free(arr);
	return r;
}

static bool has(const cJSON *a, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

cJSON *mwg_policy_auto_routes(const struct policy *p, const struct mwg_node *n)
{
	struct mwg_pnode pn;
	const cJSON *it;
	cJSON *out = NULL;

	if (!p || mwg_pnode_fill(&pn, n))
		return NULL;
	cJSON_ArrayForEach(it, n->routes_advertised) {
		struct policy_prefix pr;
		bool ok, exit;

		if (!cJSON_IsString(it) || has(n->routes_approved, it->valuestring))
			continue;
		exit = !strcmp(it->valuestring, "0.0.0.0/0") || !strcmp(it->valuestring, "::/0");
		if (exit)
			ok = policy_exit_auto_approved(p, &pn.pn);
		else
			ok = !policy_prefix_parse(it->valuestring, &pr) &&
			     policy_route_auto_approved(p, &pn.pn, &pr);
		if (!ok)
			continue;
		if (!out && !(out = cJSON_Duplicate(n->routes_approved, 1)))
			break;
		cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
	}
	mwg_pnode_release(&pn);
	return out;
}

int mwg_policy_tags_allowed(const char *text, const char *user, const cJSON *tags,
			    struct mwg_err *e)
{
	struct policy_error perr;
	struct policy_node owner;
	struct policy *p;
	const cJSON *t;
	char msg[600];
	int r = 0;

	memset(&perr, 0, sizeof(perr));
	p = policy_parse(text, strlen(text), "policy", &perr);
	if (!p) {
		policy_error_format(&perr, msg, sizeof(msg));
		return mwg_fail(e, 500, "the policy in force does not parse: %.250s", msg);
	}
	memset(&owner, 0, sizeof(owner));
	owner.user = user;
	cJSON_ArrayForEach(t, tags) {
		if (!cJSON_IsString(t) || !policy_tag_owner(p, t->valuestring, &owner)) {
			r = mwg_fail(e, 403, "user %s%s may not use %s (tagOwners)", user,
				     strchr(user, '@') ? "" : "@",
				     cJSON_IsString(t) ? t->valuestring : "?");
			break;
		}
	}
	policy_free(p);
	return r;
}
