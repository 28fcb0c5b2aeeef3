// SPDX-License-Identifier: MIT
#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "netmap.h"
#include "polglue.h"

static const char *sarg(const cJSON *args, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A flag: true/false (JSON, or "true"/"false"/"1"/"0" text from the CLI),
 * absent = false; anything else is refused rather than read as false. */
static int barg(const cJSON *args, const char *name, bool *out, struct mwg_err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
	const char *t = cJSON_GetStringValue(v);

	*out = false;
	if (!v)
		return 0;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (t && (!strcmp(t, "true") || !strcmp(t, "1") || !strcmp(t, "false") || !strcmp(t, "0"))) {
		*out = !strcmp(t, "true") || !strcmp(t, "1");
		return 0;
	}
	return mwg_fail(e, 400, "%s: want true or false", name);
}

static int id_arg(const cJSON *args, int64_t *id, struct mwg_err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "id");
	char *end;

	if (cJSON_IsNumber(v) && v->valuedouble >= 1) {
		*id = (int64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && *v->valuestring) {
		errno = 0;
		*id = strtoll(v->valuestring, &end, 10);
		if (!*end && !errno && *id >= 1)
			return 0;
	}
	return mwg_fail(e, 400, "a node id (positive integer) is required");
}

/* "a,b" or ["a","b"] -> array (caller owns). */
static cJSON *list_arg(const cJSON *args, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
	cJSON *a;

	if (cJSON_IsArray(v))
		return cJSON_Duplicate(v, 1);
	a = cJSON_CreateArray();
	if (a && cJSON_IsString(v) && *v->valuestring) {
		char *copy = strdup(v->valuestring), *tok, *save = NULL;

		for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
		     tok = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(a, cJSON_CreateString(tok));
		free(copy);
	}
	return a;
}

static cJSON *ok_obj(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

/* With a policy in force, tags must be defined in its tagOwners. */
static int tags_known(struct mwg_store *st, const cJSON *tags, struct mwg_err *e)
{
	char *text = NULL;
	struct policy *p;
	struct policy_error perr;
	const cJSON *t;
	int r = 0;

	if (!cJSON_GetArraySize(tags))
		return 0;
	if (mwg_store_policy_get(st, &text, NULL, e))
		return -1;
	if (!text)
		return 0;
	p = policy_parse(text, strlen(text), "policy", &perr);
	free(text);
	if (!p)
		return 0;
	cJSON_ArrayForEach(t, tags)
		if (!policy_tag_defined(p, t->valuestring)) {
			r = mwg_fail(e, 400, "%s is not defined in the policy's tagOwners",
				     t->valuestring);
			break;
		}
	policy_free(p);
	return r;
}

/* Every user the policy names must exist (a typo would silently match
 * nobody): "file:line:col: unknown user". */
static int policy_users_known(struct mwg_store *st, const struct policy *p, struct mwg_err *e)
{
	struct policy_error perr;
	char **names = NULL, msg[600];
	size_t n = 0, i;
	int r = 0;

	if (mwg_store_user_names(st, &names, &n, e))
		return -1;
	memset(&perr, 0, sizeof(perr));
	if (policy_check_users(p, (const char *const *)names, n, &perr) < 0) {
		policy_error_format(&perr, msg, sizeof(msg));
		r = mwg_fail(e, 400, "%.250s", msg);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* Parse, then users (a typo is reported as such), then the tests against
 * the nodes. */
static int policy_validate_text(struct mwg_store *st, const cJSON *args, struct mwg_err *e)
{
	const char *text = sarg(args, "text"), *name = sarg(args, "name");
	struct mwg_node *nodes = NULL;
	size_t n = 0;
	struct policy *p;
	int r;

	if (!text)
		return mwg_fail(e, 400, "policy text is required");
	p = mwg_policy_parse_text(text, strlen(text), name ? name : "policy", e);
	if (!p)
		return -1;
	r = policy_users_known(st, p, e);
	if (!r)
		r = mwg_store_node_list(st, &nodes, &n, e);
	if (!r) {
		r = mwg_policy_run_tests(p, nodes, n, e);
		mwg_nodes_free(nodes, n);
	}
	policy_free(p);
	return r;
}

bool mwg_admin_readonly(const char *op)
{
	return !strcmp(op, "users.list") || !strcmp(op, "nodes.list") ||
	       !strcmp(op, "nodes.routes") || !strcmp(op, "preauthkeys.list") ||
	       !strcmp(op, "policy.get") || !strcmp(op, "policy.check") ||
	       !strcmp(op, "apikeys.list");
}

int mwg_admin_exec(struct mwg_store *st, const struct mwg_config *cfg, const char *op,
		   const cJSON *args, cJSON **out, struct mwg_err *e)
{
	int64_t id;

	*out = NULL;
	if (!strcmp(op, "users.create")) {
		int64_t uid;

		if (mwg_store_user_create(st, sarg(args, "name"), &uid, e))
			return -1;
		*out = cJSON_CreateObject();
		cJSON_AddNumberToObject(*out, "id", (double)uid);
		cJSON_AddStringToObject(*out, "name", sarg(args, "name"));
	} else if (!strcmp(op, "users.list")) {
		*out = mwg_store_user_list(st, e);
	} else if (!strcmp(op, "users.delete")) {
		if (!sarg(args, "name"))
			return mwg_fail(e, 400, "a user name is required");
		if (mwg_store_user_delete(st, sarg(args, "name"), e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "nodes.list")) {
		struct mwg_node *nodes;
		size_t n, i;
		const char *user = sarg(args, "user");

		if (mwg_store_node_list(st, &nodes, &n, e))
			return -1;
		*out = cJSON_CreateArray();
		for (i = 0; *out && i < n; i++)
			if (!user || !strcmp(user, nodes[i].user))
				cJSON_AddItemToArray(*out, mwg_node_to_json(&nodes[i], cfg->base_domain));
		mwg_nodes_free(nodes, n);
	} else if (!strcmp(op, "nodes.approve")) {
		struct mwg_node n;

		if (id_arg(args, &id, e) || mwg_store_node_approve(st, id, sarg(args, "user"), e) ||
		    mwg_store_node_get(st, id, &n, e))
			return -1;
		/* the machine key, so the admin can check it is the right machine */
		*out = mwg_node_to_json(&n, cfg->base_domain);
		mwg_node_clear(&n);
	} else if (!strcmp(op, "nodes.expire")) {
		if (id_arg(args, &id, e) || mwg_store_node_expire(st, id, e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "nodes.rename")) {
		if (id_arg(args, &id, e) || mwg_store_node_rename(st, id, sarg(args, "name"), e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "nodes.tag")) {
		cJSON *tags = list_arg(args, "tags");
		int r;

		if (id_arg(args, &id, e)) {
			cJSON_Delete(tags);
			return -1;
		}
		r = !tags ? mwg_fail(e, 500, "out of memory") : mwg_tags_validate(tags, e);
		if (!r)
			r = tags_known(st, tags, e);
		if (!r)
			r = mwg_store_node_set_tags(st, id, tags, e);
		cJSON_Delete(tags);
		if (r)
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "nodes.delete")) {
		if (id_arg(args, &id, e) || mwg_store_node_delete(st, id, e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "nodes.routes")) {
		struct mwg_node *nodes;
		size_t n, i;
		bool one = cJSON_GetObjectItemCaseSensitive(args, "id") != NULL;

		if (one && id_arg(args, &id, e))
			return -1;
		if (mwg_store_node_list(st, &nodes, &n, e))
			return -1;
		*out = cJSON_CreateArray();
		for (i = 0; *out && i < n; i++) {
			cJSON *o;

			if (one ? nodes[i].id != id : !cJSON_GetArraySize(nodes[i].routes_advertised))
				continue;
			o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "id", (double)nodes[i].id);
			cJSON_AddStringToObject(o, "name", nodes[i].given_name);
			cJSON_AddItemToObject(o, "advertised", cJSON_Duplicate(nodes[i].routes_advertised, 1));
			cJSON_AddItemToObject(o, "approved", cJSON_Duplicate(nodes[i].routes_approved, 1));
			cJSON_AddBoolToObject(o, "exit_node", mwg_node_is_exit(&nodes[i]));
			cJSON_AddItemToArray(*out, o);
		}
		mwg_nodes_free(nodes, n);
		if (one && *out && !cJSON_GetArraySize(*out)) {
			cJSON_Delete(*out);
			*out = NULL;
			return mwg_fail(e, 404, "no node %lld", (long long)id);
		}
	} else if (!strcmp(op, "nodes.approve-routes")) {
		cJSON *routes = list_arg(args, "routes");
		int r;

		if (id_arg(args, &id, e)) {
			cJSON_Delete(routes);
			return -1;
		}
		r = routes ? mwg_store_node_set_approved_routes(st, id, routes, e)
			   : mwg_fail(e, 500, "out of memory");
		cJSON_Delete(routes);
		if (r)
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "preauthkeys.create")) {
		cJSON *tags = list_arg(args, "tags");
		const char *exp = sarg(args, "expiration");
		int64_t secs = exp ? mwg_duration_parse(exp) : 3600;
		char *key = NULL;
		bool reusable, ephemeral;

		if (barg(args, "reusable", &reusable, e) || barg(args, "ephemeral", &ephemeral, e))
			;
		else if (!sarg(args, "user"))
			mwg_fail(e, 400, "--user is required");
		else if (secs <= 0)
			mwg_fail(e, 400, "expiration: want a duration like 30m, 24h, 90d");
		else if (!tags)
			mwg_fail(e, 500, "out of memory");
		else if (!mwg_tags_validate(tags, e) && !tags_known(st, tags, e))
			key = mwg_store_preauthkey_create(st, sarg(args, "user"), reusable, ephemeral,
							  secs, tags, e);
		cJSON_Delete(tags);
		if (!key)
			return -1;
		*out = cJSON_CreateObject();
		cJSON_AddStringToObject(*out, "key", key);
		cJSON_AddStringToObject(*out, "user", sarg(args, "user"));
		cJSON_AddBoolToObject(*out, "reusable", reusable);
		cJSON_AddBoolToObject(*out, "ephemeral", ephemeral);
		free(key);
	} else if (!strcmp(op, "preauthkeys.list")) {
		*out = mwg_store_preauthkey_list(st, sarg(args, "user"), e);
	} else if (!strcmp(op, "preauthkeys.expire")) {
		if (mwg_store_preauthkey_expire(st, sarg(args, "id"), e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "policy.get")) {
		char *text;
		int64_t upd = 0;

		if (mwg_store_policy_get(st, &text, &upd, e))
			return -1;
		*out = cJSON_CreateObject();
		if (text)
			cJSON_AddStringToObject(*out, "policy", text);
		else
			cJSON_AddNullToObject(*out, "policy");
		free(text);
	} else if (!strcmp(op, "policy.check")) {
		if (policy_validate_text(st, args, e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "policy.set")) {
		if (policy_validate_text(st, args, e) || mwg_store_policy_set(st, sarg(args, "text"), e))
			return -1;
		*out = ok_obj();
	} else if (!strcmp(op, "apikeys.create")) {
		const char *exp = sarg(args, "expiration");
		int64_t secs = exp ? mwg_duration_parse(exp) : 90 * 86400;
		char *key;

		if (secs <= 0)
			return mwg_fail(e, 400, "expiration: want a duration like 30m, 24h, 90d");
		key = mwg_store_apikey_create(st, secs, e);
		if (!key)
			return -1;
		*out = cJSON_CreateObject();
		cJSON_AddStringToObject(*out, "key", key);
		free(key);
	} else if (!strcmp(op, "apikeys.list")) {
		*out = mwg_store_apikey_list(st, e);
	} else if (!strcmp(op, "apikeys.expire")) {
		if (mwg_store_apikey_expire(st, sarg(args, "id"), e))
			return -1;
		*out = ok_obj();
	} else {
		return mwg_fail(e, 404, "unknown operation \"%s\"", op);
	}
	if (!*out)
		return e && e->status ? -1 : mwg_fail(e, 500, "out of memory");
	return 0;
}
