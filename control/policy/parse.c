// SPDX-License-Identifier: MIT
/* Policy file: HuJSON tree -> struct policy, with every check that does not
 * need the node set. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hujson.h"
#include "policy_int.h"

/* Largest policy file accepted. */
#define _POSIX_C_SOURCE 200809L

struct pctx {
	struct policy *p;
	struct policy_error *err;
};

#define BIT(k) (1u << (k))
#define SRC_KINDS (BIT(AL_ANY) | BIT(AL_USER) | BIT(AL_GROUP) | BIT(AL_TAG) | \
		   BIT(AL_HOST) | BIT(AL_PREFIX) | BIT(AL_MEMBER) | \
		   BIT(AL_TAGGED))
#define DST_KINDS (SRC_KINDS | BIT(AL_SELF) | BIT(AL_INTERNET))
#define OWNER_KINDS (BIT(AL_USER) | BIT(AL_GROUP) | BIT(AL_TAG))
#define TEST_KINDS (BIT(AL_USER) | BIT(AL_TAG) | BIT(AL_HOST) | BIT(AL_PREFIX))
#define TEST_SRC_KINDS (TEST_KINDS | BIT(AL_GROUP) | BIT(AL_MEMBER) | \
			BIT(AL_TAGGED))

static int verr(struct pctx *c, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int verr(struct pctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	snprintf(c->err->file, sizeof(c->err->file), "%s", c->p->file);
	c->err->line = line;
	c->err->col = col;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct pctx *c, const struct hj_value *v)
{
	return verr(c, v ? v->line : 0, v ? v->col : 0, "out of memory");
}

static int want_type(struct pctx *c, const struct hj_value *v,
		     enum hj_type t, const char *what)
{
	if (v->type == t)
		return 0;
	return verr(c, v->line, v->col, "%s must be %s, not %s", what,
		    hj_type_name(t), hj_type_name(v->type));
}

static void *xcalloc(size_t n, size_t sz)
{
	return calloc(n ? n : 1, sz);
}

static struct group *find_group(const struct policy *p, const char *name,
				size_t *idx)
{
	for (size_t i = 0; i < p->n_groups; i++)
		if (!strcmp(p->groups[i].name, name)) {
			if (idx)
				*idx = i;
			return &p->groups[i];
		}
	return NULL;
}

static struct host *find_host(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_hosts; i++)
		if (!strcmp(p->hosts[i].name, name))
			return &p->hosts[i];
	return NULL;
}

static const char *kind_what(unsigned int allowed)
{
	if (allowed == OWNER_KINDS)
		return "a user, group or tag";
	if (allowed == TEST_KINDS)
		return "a user, tag, host or IP address";
	if (allowed == TEST_SRC_KINDS)
		return "a user, group, tag, autogroup:member, autogroup:tagged, host or IP address";
	return "allowed";
}

static bool valid_name(const char *s, bool allow_dot)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		      (allow_dot && ch == '.')))
			return false;
	}
	return true;
}

/* Parses alias text s (a substring of value v) into *a. */
static int parse_alias(struct pctx *c, const char *s,
		       const struct hj_value *v, unsigned int allowed,
		       const char *where, struct alias *a)
{
	struct policy *p = c->p;

	memset(a, 0, sizeof(*a));
	a->line = v->line;
	a->col = v->col;
	if (!*s)
		return verr(c, v->line, v->col, "empty alias in %s", where);
	if (!strcmp(s, "*")) {
		a->kind = AL_ANY;
	} else if (!strncmp(s, "autogroup:", 10)) {
		if (!strcmp(s + 10, "member"))
			a->kind = AL_MEMBER;
		else if (!strcmp(s + 10, "tagged"))
			a->kind = AL_TAGGED;
		else if (!strcmp(s + 10, "self"))
			a->kind = AL_SELF;
		else if (!strcmp(s + 10, "internet"))
			a->kind = AL_INTERNET;
		else
			return verr(c, v->line, v->col,
				    "unknown autogroup \"%s\"", s);
	} else if (!strncmp(s, "group:", 6)) {
		a->kind = AL_GROUP;
		if (!find_group(p, s, &a->ref))
			return verr(c, v->line, v->col,
				    "unknown group \"%s\"", s);
	} else if (!strncmp(s, "tag:", 4)) {
		a->kind = AL_TAG;
		if (!policy_tag_defined(p, s))
			return verr(c, v->line, v->col,
				    "tag \"%s\" has no entry in tagOwners", s);
	} else if (strchr(s, '@')) {
		size_t n = strlen(s);

		a->kind = AL_USER;
		if (s[n - 1] == '@')
			n--;
		if (n == 0 || s[0] == '@')
			return verr(c, v->line, v->col,
				    "bad user \"%s\" (write users as name@)", s);
		a->name = strndup(s, n);
		if (!a->name)
			return oom(c, v);
	} else if (policy_prefix_parse(s, &a->prefix) == 0) {
		a->kind = AL_PREFIX;
	} else {
		struct host *h = find_host(p, s);

		if (!h) {
			if (strchr(s, '/') || strchr(s, ':') ||
			    (s[0] >= '0' && s[0] <= '9'))
				return verr(c, v->line, v->col,
					    "bad IP address or CIDR \"%s\"", s);
			return verr(c, v->line, v->col,
				    "unknown host \"%s\" (users are written name@)",
				    s);
		}
		a->kind = AL_HOST;
		a->prefix = h->prefix;
	}
	if (!(allowed & BIT(a->kind))) {
		verr(c, v->line, v->col, "\"%s\" is not %s in %s", s,
		     kind_what(allowed), where);
		free(a->name);
		a->name = NULL;
		return -1;
	}
	a->text = strdup(s);
	if (!a->text || (a->kind != AL_USER && !(a->name = strdup(s)))) {
		free(a->text);
		free(a->name);
		a->text = a->name = NULL;
		return oom(c, v);
	}
	return 0;
}

static void alias_free(struct alias *a)
{
	free(a->text);
	free(a->name);
}

/* An array of alias strings. */
static int parse_alias_list(struct pctx *c, const struct hj_value *v,
			    unsigned int allowed, const char *where,
			    bool nonempty, struct alias **out, size_t *n_out)
{
	struct alias *list;

	if (want_type(c, v, HJ_ARRAY, where) < 0)
		return -1;
	if (nonempty && !v->n_items)
		return verr(c, v->line, v->col, "%s must not be empty", where);
	list = xcalloc(v->n_items, sizeof(*list));
	if (!list)
		return oom(c, v);
	for (size_t i = 0; i < v->n_items; i++) {
		const struct hj_value *it = &v->items[i];

		if (want_type(c, it, HJ_STRING, "an alias") < 0 ||
		    parse_alias(c, it->str, it, allowed, where, &list[i]) < 0) {
			for (size_t j = 0; j < i; j++)
				alias_free(&list[j]);
			free(list);
			return -1;
		}
	}
	*out = list;
	*n_out = v->n_items;
	return 0;
}

static void alias_list_free(struct alias *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		alias_free(&l[i]);
	free(l);
}

/* ---- groups, hosts, tagOwners ---- */

static int parse_groups(struct pctx *c, const struct hj_value *v)
{
	struct policy *p = c->p;

	if (want_type(c, v, HJ_OBJECT, "groups") < 0)
		return -1;
	p->groups = xcalloc(v->n_items, sizeof(*p->groups));
	if (!p->groups)
		return oom(c, v);
	for (size_t i = 0; i < v->n_items; i++) {
		const struct hj_value *g = &v->items[i];
		struct group *dst = &p->groups[p->n_groups];

		if (strncmp(g->key, "group:", 6) || !valid_name(g->key + 6, true))
			return verr(c, g->key_line, g->key_col,
				    "bad group name \"%s\" (expected group:name)",
				    g->key);
		if (want_type(c, g, HJ_ARRAY, "a group") < 0)
			return -1;
		dst->name = strdup(g->key);
		dst->members = xcalloc(g->n_items, sizeof(*dst->members));
		p->n_groups++;
		if (!dst->name || !dst->members)
			return oom(c, g);
		for (size_t j = 0; j < g->n_items; j++) {
			const struct hj_value *m = &g->items[j];
			if (want_type(c, m, HJ_STRING, "a group member") < 0)
				return -1;
			if (!strncmp(m->str, "group:", 6))
				return verr(c, m->line, m->col,
					    "groups cannot contain groups (\"%s\")",
					    m->str);
			if (!strchr(m->str, '@') ||
			    !strncmp(m->str, "tag:", 4) ||
			    !strncmp(m->str, "autogroup:", 10))
				return verr(c, m->line, m->col,
					    "group members must be users written name@, not \"%s\"",
					    m->str);
			if (parse_alias(c, m->str, m, BIT(AL_USER), "a group",
					&dst->members[dst->n_members]) < 0)
				return -1;
			dst->n_members++;
		}
	}
	return 0;
}

static int parse_hosts(struct pctx *c, const struct hj_value *v)
{
	struct policy *p = c->p;
	struct policy_prefix tmp;

	if (want_type(c, v, HJ_OBJECT, "hosts") < 0)
		return -1;
	p->hosts = xcalloc(v->n_items, sizeof(*p->hosts));
	if (!p->hosts)
		return oom(c, v);
	for (size_t i = 0; i < v->n_items; i++) {
		const struct hj_value *h = &v->items[i];
		struct host *dst = &p->hosts[i];

		if (!valid_name(h->key, true) ||
		    policy_prefix_parse(h->key, &tmp) == 0 ||
		    (h->key[0] >= '0' && h->key[0] <= '9' &&
		     strspn(h->key, "0123456789.") == strlen(h->key)))
			return verr(c, h->key_line, h->key_col,
				    "bad host name \"%s\"", h->key);
		if (want_type(c, h, HJ_STRING, "a host") < 0)
			return -1;
		if (policy_prefix_parse(h->str, &dst->prefix) < 0)
			return verr(c, h->line, h->col,
				    "bad IP address or CIDR \"%s\"", h->str);
		dst->name = strdup(h->key);
		if (!dst->name)
			return oom(c, h);
		p->n_hosts++;
	}
	return 0;
}

static int parse_tag_owners(struct pctx *c, const struct hj_value *v)
{
	struct policy *p = c->p;

	if (want_type(c, v, HJ_OBJECT, "tagOwners") < 0)
		return -1;
	p->tag_owners = xcalloc(v->n_items, sizeof(*p->tag_owners));
	if (!p->tag_owners)
		return oom(c, v);
	/* names first: tags may own tags, in any order */
	for (size_t i = 0; i < v->n_items; i++) {
		const struct hj_value *t = &v->items[i];

		if (strncmp(t->key, "tag:", 4) || !valid_name(t->key + 4, false))
			return verr(c, t->key_line, t->key_col,
				    "bad tag name \"%s\" (expected tag:name)",
				    t->key);
		p->tag_owners[i].tag = strdup(t->key);
		if (!p->tag_owners[i].tag)
			return oom(c, t);
		p->n_tag_owners++;
	}
	for (size_t i = 0; i < v->n_items; i++) {
		struct tag_owner *o = &p->tag_owners[i];

		if (parse_alias_list(c, &v->items[i], OWNER_KINDS, "tagOwners",
				     false, &o->owners, &o->n_owners) < 0)
			return -1;
	}
	return 0;
}

/* ---- acls ---- */

struct proto_name {
	const char *name;
	uint8_t num[2];
	int n;
};

static const struct proto_name proto_names[] = {
	{ "tcp", { 6 }, 1 },
	{ "udp", { 17 }, 1 },
	{ "icmp", { 1, 58 }, 2 },
	{ "icmpv4", { 1 }, 1 },
	{ "icmpv6", { 58 }, 1 },
	{ "ipv6-icmp", { 58 }, 1 },
	{ "sctp", { 132 }, 1 },
	{ "igmp", { 2 }, 1 },
	{ "ipip", { 4 }, 1 },
	{ "gre", { 47 }, 1 },
	{ "esp", { 50 }, 1 },
	{ "ah", { 51 }, 1 },
};

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 6)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* One proto value (string or number) appended to protos[]. */
static int parse_one_proto(struct pctx *c, const struct hj_value *v,
			   uint8_t *protos, size_t *n)
{
	unsigned long num;

	if (v->type == HJ_NUMBER) {
		if (!v->integer || v->number < 0 || v->number > 255)
			return verr(c, v->line, v->col,
				    "bad protocol number (0-255)");
		protos[(*n)++] = (uint8_t)v->number;
		return 0;
	}
	if (v->type != HJ_STRING)
		return verr(c, v->line, v->col,
			    "proto must be a name, a number or a list of them");
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]);
	     i++) {
		if (strcasecmp(v->str, proto_names[i].name))
			continue;
		for (int j = 0; j < proto_names[i].n; j++)
			protos[(*n)++] = proto_names[i].num[j];
		return 0;
	}
	if (parse_uint(v->str, 255, &num) == 0) {
		protos[(*n)++] = (uint8_t)num;
		return 0;
	}
	return verr(c, v->line, v->col, "unknown protocol \"%s\"", v->str);
}

static int cmp_u8(const void *a, const void *b)
{
	return *(const uint8_t *)a - *(const uint8_t *)b;
}

static int parse_protos(struct pctx *c, const struct hj_value *v,
			uint8_t **out, size_t *n_out)
{
	size_t cnt = v->type == HJ_ARRAY ? v->n_items : 1;
	uint8_t *protos = xcalloc(cnt * 2, 1);
	size_t n = 0, k = 0;

	if (!protos)
		return oom(c, v);
	if (v->type == HJ_ARRAY) {
		if (!v->n_items) {
			free(protos);
			return verr(c, v->line, v->col,
				    "proto list must not be empty");
		}
		for (size_t i = 0; i < v->n_items; i++)
			if (parse_one_proto(c, &v->items[i], protos, &n) < 0)
				goto fail;
	} else if (parse_one_proto(c, v, protos, &n) < 0) {
		goto fail;
	}
	qsort(protos, n, 1, cmp_u8);
	for (size_t i = 0; i < n; i++)
		if (!k || protos[k - 1] != protos[i])
			protos[k++] = protos[i];
	*out = protos;
	*n_out = k;
	return 0;
fail:
	free(protos);
	return -1;
}

static bool proto_has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

static int parse_ports(struct pctx *c, const struct hj_value *v,
		       const char *s, struct dst_entry *d)
{
	size_t cnt = 1;
	char *copy, *save = NULL, *tok;

	if (!strcmp(s, "*")) {
		d->ports = malloc(sizeof(*d->ports));
		if (!d->ports)
			return oom(c, v);
		d->ports[0] = (struct port_range){ 0, 65535 };
		d->n_ports = 1;
		return 0;
	}
	for (const char *q = s; *q; q++)
		cnt += *q == ',';
	d->ports = xcalloc(cnt, sizeof(*d->ports));
	copy = strdup(s);
	if (!d->ports || !copy) {
		free(copy);
		return oom(c, v);
	}
	if (!*s || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
		goto bad;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		unsigned long lo, hi;

		if (dash)
			*dash = '\0';
		if (parse_uint(tok, 65535, &lo) < 0)
			goto bad;
		hi = lo;
		if (dash && parse_uint(dash + 1, 65535, &hi) < 0)
			goto bad;
		if (hi < lo)
			goto bad;
		d->ports[d->n_ports++] = (struct port_range){ (uint16_t)lo,
							      (uint16_t)hi };
	}
	free(copy);
	return 0;
bad:
	free(copy);
	return verr(c, v->line, v->col,
		    "bad ports \"%s\" (expected *, 22, 80-90 or 22,80,443)",
		    s);
}

static int parse_dst(struct pctx *c, const struct hj_value *v,
		     struct dst_entry *d)
{
	const char *colon;
	char *alias;
	int r;

	if (want_type(c, v, HJ_STRING, "a destination") < 0)
		return -1;
	colon = strrchr(v->str, ':');
	if (!colon)
		return verr(c, v->line, v->col,
			    "destination \"%s\" has no port (write alias:ports)",
			    v->str);
	alias = strndup(v->str, (size_t)(colon - v->str));
	if (!alias)
		return oom(c, v);
	r = parse_alias(c, alias, v, DST_KINDS, "dst", &d->alias);
	free(alias);
	if (r < 0)
		return -1;
	return parse_ports(c, v, colon + 1, d);
}

static void rule_free(struct rule *r)
{
	alias_list_free(r->src, r->n_src);
	for (size_t i = 0; i < r->n_dst; i++) {
		alias_free(&r->dst[i].alias);
		free(r->dst[i].ports);
	}
	free(r->dst);
	free(r->protos);
}

static const struct hj_value *member(const struct hj_value *obj,
				     const char *key)
{
	for (size_t i = 0; i < obj->n_items; i++)
		if (!strcmp(obj->items[i].key, key))
			return &obj->items[i];
	return NULL;
}

static int check_keys(struct pctx *c, const struct hj_value *obj,
		      const char *const *keys, const char *where)
{
	for (size_t i = 0; i < obj->n_items; i++) {
		const struct hj_value *m = &obj->items[i];
		bool ok = false;

		for (size_t k = 0; keys[k]; k++)
			ok |= !strcmp(m->key, keys[k]);
		if (!ok)
			return verr(c, m->key_line, m->key_col,
				    "unknown key \"%s\" in %s", m->key, where);
	}
	return 0;
}

/*
 * autogroup:self means "the same user's nodes": with a source that is no
 * user ("*", a tag, autogroup:tagged) Tailscale and Headscale refuse the
 * rule, so a policy brought from them must not mean something else here.
 */
static int self_sources(struct pctx *c, const struct rule *r)
{
	bool self = false;

	for (size_t i = 0; i < r->n_dst; i++)
		self |= r->dst[i].alias.kind == AL_SELF;
	for (size_t i = 0; self && i < r->n_src; i++) {
		const struct alias *a = &r->src[i];

		if (a->kind == AL_ANY || a->kind == AL_TAG || a->kind == AL_TAGGED)
			return verr(c, a->line, a->col,
				    "\"%s\" with autogroup:self in dst: autogroup:self needs "
				    "users, groups or autogroup:member as src (as in Tailscale)",
				    a->text);
	}
	return 0;
}

static int parse_rule(struct pctx *c, const struct hj_value *v,
		      struct rule *r)
{
	static const char *const keys[] = { "action", "src", "dst", "proto",
					    NULL };
	const struct hj_value *action, *src, *dst, *proto;

	r->line = v->line;
	r->col = v->col;
	if (want_type(c, v, HJ_OBJECT, "an acl") < 0 ||
	    check_keys(c, v, keys, "an acl") < 0)
		return -1;
	action = member(v, "action");
	src = member(v, "src");
	dst = member(v, "dst");
	proto = member(v, "proto");
	if (!action || !src || !dst)
		return verr(c, v->line, v->col,
			    "an acl needs \"action\", \"src\" and \"dst\"");
	if (want_type(c, action, HJ_STRING, "action") < 0)
		return -1;
	if (!strcmp(action->str, "accept"))
		r->action = POLICY_ACCEPT;
	else if (!strcmp(action->str, "deny"))
		r->action = POLICY_DENY;
	else
		return verr(c, action->line, action->col,
			    "action must be \"accept\" or \"deny\"");
	if (proto && parse_protos(c, proto, &r->protos, &r->n_protos) < 0)
		return -1;
	if (parse_alias_list(c, src, SRC_KINDS, "src", true, &r->src,
			     &r->n_src) < 0)
		return -1;
	if (want_type(c, dst, HJ_ARRAY, "dst") < 0)
		return -1;
	if (!dst->n_items)
		return verr(c, dst->line, dst->col, "dst must not be empty");
	r->dst = xcalloc(dst->n_items, sizeof(*r->dst));
	if (!r->dst)
		return oom(c, dst);
	for (size_t i = 0; i < dst->n_items; i++) {
		struct dst_entry *d = &r->dst[r->n_dst++];

		if (parse_dst(c, &dst->items[i], d) < 0)
			return -1;
		bool any_port = d->n_ports == 1 && d->ports[0].first == 0 &&
				d->ports[0].last == 65535;

		for (size_t k = 0; k < r->n_protos && !any_port; k++)
			if (!proto_has_ports(r->protos[k]))
				return verr(c, dst->items[i].line,
					    dst->items[i].col,
					    "ports need proto tcp, udp or sctp (protocol %u has no ports)",
					    r->protos[k]);
	}
	return self_sources(c, r);
}

static int parse_acls(struct pctx *c, const struct hj_value *v)
{
	struct policy *p = c->p;

	if (want_type(c, v, HJ_ARRAY, "acls") < 0)
		return -1;
	p->rules = xcalloc(v->n_items, sizeof(*p->rules));
	if (!p->rules)
		return oom(c, v);
	for (size_t i = 0; i < v->n_items; i++)
		if (parse_rule(c, &v->items[i], &p->rules[p->n_rules++]) < 0)
			return -1;
	return 0;
}

/* ---- autoApprovers ---- */

static int parse_auto_approvers(struct pctx *c, const struct hj_value *v)
{
	static const char *const keys[] = { "routes", "exitNode", NULL };
	struct policy *p = c->p;
	const struct hj_value *routes, *exit;

	if (want_type(c, v, HJ_OBJECT, "autoApprovers") < 0 ||
	    check_keys(c, v, keys, "autoApprovers") < 0)
		return -1;
	routes = member(v, "routes");
	exit = member(v, "exitNode");
	if (routes) {
		if (want_type(c, routes, HJ_OBJECT, "autoApprovers.routes") < 0)
			return -1;
		p->route_approvers = xcalloc(routes->n_items,
					     sizeof(*p->route_approvers));
		if (!p->route_approvers)
			return oom(c, routes);
		for (size_t i = 0; i < routes->n_items; i++) {
			const struct hj_value *r = &routes->items[i];
			struct route_approver *ra =
				&p->route_approvers[p->n_route_approvers];

			if (policy_prefix_parse(r->key, &ra->prefix) < 0)
				return verr(c, r->key_line, r->key_col,
					    "bad CIDR \"%s\"", r->key);
			if (parse_alias_list(c, r, OWNER_KINDS,
					     "autoApprovers.routes", false,
					     &ra->approvers,
					     &ra->n_approvers) < 0)
				return -1;
			p->n_route_approvers++;
		}
	}
	if (exit && parse_alias_list(c, exit, OWNER_KINDS,
				     "autoApprovers.exitNode", false,
				     &p->exit_approvers,
				     &p->n_exit_approvers) < 0)
		return -1;
	return 0;
}

/* ---- tests ---- */

static int parse_test_dsts(struct pctx *c, const struct hj_value *v,
			   struct test_dst **out, size_t *n_out)
{
	struct test_dst *list;

	if (want_type(c, v, HJ_ARRAY, "a test's accept/deny") < 0)
		return -1;
	list = xcalloc(v->n_items, sizeof(*list));
	if (!list)
		return oom(c, v);
	*out = list;
	for (size_t i = 0; i < v->n_items; i++) {
		const struct hj_value *it = &v->items[i];
		const char *colon;
		unsigned long port;
		char *alias;
		int r;

		if (want_type(c, it, HJ_STRING, "a test destination") < 0)
			return -1;
		colon = strrchr(it->str, ':');
		if (!colon || parse_uint(colon + 1, 65535, &port) < 0)
			return verr(c, it->line, it->col,
				    "test destination \"%s\" needs one port (alias:22)",
				    it->str);
		alias = strndup(it->str, (size_t)(colon - it->str));
		if (!alias)
			return oom(c, it);
		r = parse_alias(c, alias, it, TEST_KINDS, "a test", &list[i].alias);
		free(alias);
		if (r < 0)
			return -1;
		(*n_out)++;
		list[i].port = (uint16_t)port;
		if (list[i].alias.kind == AL_PREFIX &&
		    list[i].alias.prefix.bits !=
			    (list[i].alias.prefix.family == 4 ? 32 : 128))
			return verr(c, it->line, it->col,
				    "a test destination must be a single address, not a CIDR");
	}
	return 0;
}

static int parse_test(struct pctx *c, const struct hj_value *v,
		      struct policy_test *t)
{
	static const char *const keys[] = { "src", "proto", "accept", "deny",
					    NULL };
	const struct hj_value *src, *proto, *acc, *deny;

	t->line = v->line;
	t->col = v->col;
	if (want_type(c, v, HJ_OBJECT, "a test") < 0 ||
	    check_keys(c, v, keys, "a test") < 0)
		return -1;
	src = member(v, "src");
	proto = member(v, "proto");
	acc = member(v, "accept");
	deny = member(v, "deny");
	if (!src)
		return verr(c, v->line, v->col, "a test needs \"src\"");
	if (want_type(c, src, HJ_STRING, "a test's src") < 0 ||
	    parse_alias(c, src->str, src, TEST_SRC_KINDS, "a test's src",
			&t->src) < 0)
		return -1;
	if (t->src.kind == AL_PREFIX &&
	    t->src.prefix.bits != (t->src.prefix.family == 4 ? 32 : 128))
		return verr(c, src->line, src->col,
			    "a test src must be a single address, not a CIDR");
	if (proto) {
		if (proto->type == HJ_ARRAY)
			return verr(c, proto->line, proto->col,
				    "a test's proto must be one protocol");
		if (parse_one_proto(c, proto, t->protos, &t->n_protos) < 0)
			return -1;
	} else {
		/* what a rule without proto matches, each checked */
		static const uint8_t dflt[] = { 6, 17, 1, 58 };

		memcpy(t->protos, dflt, sizeof(dflt));
		t->n_protos = sizeof(dflt);
	}
	if (acc && parse_test_dsts(c, acc, &t->accept, &t->n_accept) < 0)
		return -1;
	if (deny && parse_test_dsts(c, deny, &t->deny, &t->n_deny) < 0)
		return -1;
	return 0;
}

static int parse_tests(struct pctx *c, const struct hj_value *v)
{
	struct policy *p = c->p;

	if (want_type(c, v, HJ_ARRAY, "tests") < 0)
		return -1;
	p->tests = xcalloc(v->n_items, sizeof(*p->tests));
	if (!p->tests)
		return oom(c, v);
	for (size_t i = 0; i < v->n_items; i++)
		if (parse_test(c, &v->items[i], &p->tests[p->n_tests++]) < 0)
			return -1;
	return 0;
}

/* ---- top level ---- */

/* Every tag used in acls/tests/autoApprovers is defined (checked while
 * parsing aliases); tags referenced only as tagOwners keys are fine. */

struct policy *policy_parse(const char *text, size_t len, const char *filename,
			    struct policy_error *err)
{
	static const char *const keys[] = { "groups", "hosts", "tagOwners",
					    "acls", "autoApprovers", "tests",
					    NULL };
	struct hj_value root;
	struct pctx c = { .err = err };
	const struct hj_value *v;

	memset(err, 0, sizeof(*err));
	if (!filename)
		filename = "policy";
	if (!text) {
		text = "";
		len = 0;
	}
	snprintf(err->file, sizeof(err->file), "%s", filename);
	if (len > POLICY_MAX_FILE) {
		snprintf(err->msg, sizeof(err->msg),
			 "policy larger than %u bytes", POLICY_MAX_FILE);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		const char *z = memchr(text, '\0', len);
		int line = 1, col = 1;

		for (const char *q = text; q < z; q++, col++)
			if (*q == '\n') {
				line++;
				col = 0;
			}
		set_err(err, filename, line, col, "NUL byte in policy");
		return NULL;
	}
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p || !(c.p->file = strdup(filename))) {
		free(c.p);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	if (hj_parse(text, len, &root, err) < 0) {
		policy_free(c.p);
		return NULL;
	}
	if (want_type(&c, &root, HJ_OBJECT, "the policy") < 0 ||
	    check_keys(&c, &root, keys, "the policy") < 0)
		goto fail;
	if ((v = member(&root, "groups")) && parse_groups(&c, v) < 0)
		goto fail;
	if ((v = member(&root, "hosts")) && parse_hosts(&c, v) < 0)
		goto fail;
	if ((v = member(&root, "tagOwners")) && parse_tag_owners(&c, v) < 0)
		goto fail;
	if ((v = member(&root, "acls")) && parse_acls(&c, v) < 0)
		goto fail;
	if ((v = member(&root, "autoApprovers")) &&
	    parse_auto_approvers(&c, v) < 0)
		goto fail;
	if ((v = member(&root, "tests")) && parse_tests(&c, v) < 0)
		goto fail;
	hj_free(&root);
	return c.p;
fail:
	hj_free(&root);
	policy_free(c.p);
	return NULL;
}

struct policy *policy_load(const char *path, struct policy_error *err)
{
	struct policy *p = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s",
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg), "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > POLICY_MAX_FILE) {
		snprintf(err->msg, sizeof(err->msg),
			 "policy larger than %u bytes", POLICY_MAX_FILE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err->msg, sizeof(err->msg), "read: %s",
				 strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	p = policy_parse(buf, got, path, err);
out:
	free(buf);
	close(fd);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_groups; i++) {
		alias_list_free(p->groups[i].members, p->groups[i].n_members);
		free(p->groups[i].name);
	}
	free(p->groups);
	for (size_t i = 0; i < p->n_hosts; i++)
		free(p->hosts[i].name);
	free(p->hosts);
	for (size_t i = 0; i < p->n_tag_owners; i++) {
		free(p->tag_owners[i].tag);
		alias_list_free(p->tag_owners[i].owners,
				p->tag_owners[i].n_owners);
	}
	free(p->tag_owners);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_route_approvers; i++)
		alias_list_free(p->route_approvers[i].approvers,
				p->route_approvers[i].n_approvers);
	free(p->route_approvers);
	alias_list_free(p->exit_approvers, p->n_exit_approvers);
	for (size_t i = 0; i < p->n_tests; i++) {
		struct policy_test *t = &p->tests[i];

		alias_free(&t->src);
		for (size_t j = 0; j < t->n_accept; j++)
			alias_free(&t->accept[j].alias);
		for (size_t j = 0; j < t->n_deny; j++)
			alias_free(&t->deny[j].alias);
		free(t->accept);
		free(t->deny);
	}
	free(p->tests);
	free(p->file);
	free(p);
}
