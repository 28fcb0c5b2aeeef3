// SPDX-License-Identifier: MIT
/* The policy's "tests": evaluated on identities, with the node set used
 * for addresses (docs/policy.md, "tests"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

struct tctx {
	const struct policy *p;
	const struct policy_node *nodes;
	size_t n_nodes;
};

static size_t node_addrs(const struct policy_node *n,
			 struct policy_prefix out[2])
{
	size_t k = 0;

	if (n->has_ipv4)
		prefix_host(&out[k++], 4, n->ipv4);
	if (n->has_ipv6)
		prefix_host(&out[k++], 6, n->ipv6);
	return k;
}

/* Is node n one of the nodes a test subject stands for? */
static bool subject_node(const struct tctx *c, const struct alias *s,
			 const struct policy_node *n)
{
	struct policy_prefix a[2];
	size_t k;

	switch (s->kind) {
	case AL_USER:
	case AL_TAG:
		return alias_identity_match(c->p, s, n);
	default:
		k = node_addrs(n, a);
		for (size_t i = 0; i < k; i++)
			if (prefix_contains(&s->prefix, &a[i]))
				return true;
		return false;
	}
}

static bool subject_in_prefix(const struct tctx *c, const struct alias *s,
			      const struct policy_prefix *pfx)
{
	if (s->kind == AL_HOST || s->kind == AL_PREFIX)
		return prefix_contains(pfx, &s->prefix);
	for (size_t i = 0; i < c->n_nodes; i++) {
		struct policy_prefix a[2];
		size_t k;

		if (!subject_node(c, s, &c->nodes[i]))
			continue;
		k = node_addrs(&c->nodes[i], a);
		for (size_t j = 0; j < k; j++)
			if (prefix_contains(pfx, &a[j]))
				return true;
	}
	return false;
}

/* The user a subject stands for, for autogroup:self; NULL if none. */
static const char *subject_user(const struct tctx *c, const struct alias *s)
{
	if (s->kind == AL_USER)
		return s->name;
	if (s->kind == AL_TAG)
		return NULL;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!node_is_tagged(&c->nodes[i]) && c->nodes[i].user &&
		    subject_node(c, s, &c->nodes[i]))
			return c->nodes[i].user;
	return NULL;
}

static bool alias_matches(const struct tctx *c, const struct alias *a,
			  const struct alias *s)
{
	size_t n;
	const struct policy_prefix *in;

	switch (a->kind) {
	case AL_ANY:
		return true;
	case AL_HOST:
	case AL_PREFIX:
		return subject_in_prefix(c, s, &a->prefix);
	case AL_INTERNET:
		in = internet_prefixes(&n);
		for (size_t i = 0; i < n; i++)
			if ((s->kind == AL_HOST || s->kind == AL_PREFIX) &&
			    prefix_contains(&in[i], &s->prefix))
				return true;
		return false;
	case AL_SELF:
		return false;	/* needs both ends, see test_one */
	default:
		break;
	}
	/* identity aliases */
	if (s->kind == AL_USER) {
		struct policy_node v = { .user = s->name };

		return alias_identity_match(c->p, a, &v);
	}
	if (s->kind == AL_TAG) {
		const char *tags[1] = { s->name };
		struct policy_node v = { .tags = tags, .n_tags = 1 };

		return alias_identity_match(c->p, a, &v);
	}
	for (size_t i = 0; i < c->n_nodes; i++)
		if (subject_node(c, s, &c->nodes[i]) &&
		    alias_identity_match(c->p, a, &c->nodes[i]))
			return true;
	return false;
}

static bool proto_matches(const struct rule *r, uint8_t proto)
{
	if (!r->n_protos)
		return proto == 6 || proto == 17 || proto == 1 || proto == 58;
	for (size_t i = 0; i < r->n_protos; i++)
		if (r->protos[i] == proto)
			return true;
	return false;
}

/* Index of the first rule matching src -> dst:port/proto, or -1. */
static long first_match(const struct tctx *c, const struct alias *src,
			const struct test_dst *dst, uint8_t proto)
{
	const struct policy *p = c->p;

	for (size_t ri = 0; ri < p->n_rules; ri++) {
		const struct rule *r = &p->rules[ri];
		bool src_ok = false;

		if (!proto_matches(r, proto))
			continue;
		for (size_t i = 0; i < r->n_src && !src_ok; i++)
			src_ok = alias_matches(c, &r->src[i], src);
		if (!src_ok)
			continue;
		for (size_t k = 0; k < r->n_dst; k++) {
			const struct dst_entry *e = &r->dst[k];
			bool port_ok = false, hit;

			for (size_t j = 0; j < e->n_ports && !port_ok; j++)
				port_ok = dst->port >= e->ports[j].first &&
					  dst->port <= e->ports[j].last;
			if (!port_ok)
				continue;
			if (e->alias.kind == AL_SELF) {
				const char *su = subject_user(c, src);
				const char *du = subject_user(c, &dst->alias);

				hit = su && du && !strcmp(su, du);
			} else {
				hit = alias_matches(c, &e->alias, &dst->alias);
			}
			if (hit)
				return (long)ri;
		}
	}
	return -1;
}

static int check_dst(const struct tctx *c, const struct policy_test *t,
		     const struct test_dst *d, bool want_accept,
		     struct policy_error *err)
{
	long ri = first_match(c, &t->src, d, t->proto);
	bool accepted = ri >= 0 &&
			c->p->rules[ri].action == POLICY_ACCEPT;

	if (accepted == want_accept)
		return 0;
	if (ri < 0)
		return set_err(err, c->p->file, d->alias.line, d->alias.col,
			       "test failed: %s -> %s:%u matches no acl, so it is denied (expected accept)",
			       t->src.text, d->alias.text, d->port);
	return set_err(err, c->p->file, d->alias.line, d->alias.col,
		       "test failed: %s -> %s:%u is %s by the acl at %d:%d (expected %s)",
		       t->src.text, d->alias.text, d->port,
		       accepted ? "accepted" : "denied",
		       c->p->rules[ri].line, c->p->rules[ri].col,
		       want_accept ? "accept" : "deny");
}

int policy_check(const struct policy *p, const struct policy_node *nodes,
		 size_t n_nodes, struct policy_error *err)
{
	struct tctx c = { p, nodes, n_nodes };

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", p->file);
	for (size_t i = 0; i < p->n_tests; i++) {
		const struct policy_test *t = &p->tests[i];

		for (size_t k = 0; k < t->n_accept; k++)
			if (check_dst(&c, t, &t->accept[k], true, err) < 0)
				return -1;
		for (size_t k = 0; k < t->n_deny; k++)
			if (check_dst(&c, t, &t->deny[k], false, err) < 0)
				return -1;
	}
	return 0;
}
