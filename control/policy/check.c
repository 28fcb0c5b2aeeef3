// SPDX-License-Identifier: MIT
/* The policy's "tests": a src stands for each node it names (a host or IP
 * for its address); destinations are matched on identities, with the node
 * set used for addresses (docs/policy.md, "tests"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
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

/* What a test is evaluated for: one node (each node a test's src resolves
 * to), or an alias standing for itself (a host or IP src, a destination). */
struct subj {
	const struct policy_node *node;
	const struct alias *a;
};

/* Is node n one of the nodes subject s stands for? */
static bool subject_node(const struct tctx *c, const struct subj *s,
			 const struct policy_node *n)
{
	struct policy_prefix a[2];
	size_t k;

	if (s->node)
		return s->node == n;
	switch (s->a->kind) {
	case AL_USER:
	case AL_TAG:
		return alias_identity_match(c->p, s->a, n);
	default:
		k = node_addrs(n, a);
		for (size_t i = 0; i < k; i++)
			if (prefix_contains(&s->a->prefix, &a[i]))
				return true;
		return false;
	}
}

static bool node_in_prefix(const struct policy_node *n,
			   const struct policy_prefix *pfx)
{
	struct policy_prefix a[2];
	size_t k = node_addrs(n, a);

	for (size_t j = 0; j < k; j++)
		if (prefix_contains(pfx, &a[j]))
			return true;
	return false;
}

static bool subject_in_prefix(const struct tctx *c, const struct subj *s,
			      const struct policy_prefix *pfx)
{
	if (s->node)
		return node_in_prefix(s->node, pfx);
	if (s->a->kind == AL_HOST || s->a->kind == AL_PREFIX)
		return prefix_contains(pfx, &s->a->prefix);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (subject_node(c, s, &c->nodes[i]) &&
		    node_in_prefix(&c->nodes[i], pfx))
			return true;
	return false;
}

/* The user a subject stands for, for autogroup:self; NULL if none. */
static const char *subject_user(const struct tctx *c, const struct subj *s)
{
	if (s->node)
		return node_is_tagged(s->node) ? NULL : s->node->user;
	if (s->a->kind == AL_USER)
		return s->a->name;
	if (s->a->kind == AL_TAG)
		return NULL;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!node_is_tagged(&c->nodes[i]) && c->nodes[i].user &&
		    subject_node(c, s, &c->nodes[i]))
			return c->nodes[i].user;
	return NULL;
}

static bool alias_matches(const struct tctx *c, const struct alias *a,
			  const struct subj *s)
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
		if (s->node || (s->a->kind != AL_HOST &&
				s->a->kind != AL_PREFIX))
			return false;
		in = internet_prefixes(&n);
		for (size_t i = 0; i < n; i++)
			if (prefix_contains(&in[i], &s->a->prefix))
				return true;
		return false;
	case AL_SELF:
		return false;	/* needs both ends, see first_match */
	default:
		break;
	}
	/* identity aliases */
	if (s->node)
		return alias_identity_match(c->p, a, s->node);
	if (s->a->kind == AL_USER) {
		struct policy_node v = { .user = s->a->name };

		return alias_identity_match(c->p, a, &v);
	}
	if (s->a->kind == AL_TAG) {
		const char *tags[1] = { s->a->name };
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
static long first_match(const struct tctx *c, const struct subj *src,
			const struct test_dst *dst, uint8_t proto)
{
	const struct policy *p = c->p;
	const struct subj d = { .a = &dst->alias };

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
				const char *du = subject_user(c, &d);

				hit = su && du && !strcmp(su, du);
			} else {
				hit = alias_matches(c, &e->alias, &d);
			}
			if (hit)
				return (long)ri;
		}
	}
	return -1;
}

static const char *proto_name(uint8_t proto, char buf[8])
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "ipv6-icmp";
	case 132:
		return "sctp";
	default:
		snprintf(buf, 8, "%u", proto);
		return buf;
	}
}

/* " (100.64.0.2)" for a node subject, "" otherwise. */
static const char *subject_where(const struct subj *s, char *buf, size_t len)
{
	char a[64];
	struct policy_prefix pfx;

	buf[0] = '\0';
	if (!s->node)
		return buf;
	if (s->node->has_ipv4)
		prefix_host(&pfx, 4, s->node->ipv4);
	else if (s->node->has_ipv6)
		prefix_host(&pfx, 6, s->node->ipv6);
	else
		return buf;
	policy_prefix_format(&pfx, a, sizeof(a));
	*strchr(a, '/') = '\0';
	snprintf(buf, len, " (node %s)", a);
	return buf;
}

/* Every (subject, protocol) pair must have the expected outcome. */
static int check_dst(const struct tctx *c, const struct policy_test *t,
		     const struct subj *srcs, size_t n_srcs,
		     const struct test_dst *d, bool want_accept,
		     struct policy_error *err)
{
	for (size_t si = 0; si < n_srcs; si++) {
		for (size_t pi = 0; pi < t->n_protos; pi++) {
			long ri = first_match(c, &srcs[si], d, t->protos[pi]);
			bool accepted = ri >= 0 &&
					c->p->rules[ri].action == POLICY_ACCEPT;
			char where[80], pb[8];
			const char *pn = proto_name(t->protos[pi], pb);

			if (accepted == want_accept)
				continue;
			subject_where(&srcs[si], where, sizeof(where));
			if (ri < 0)
				return set_err(err, c->p->file, d->alias.line,
					       d->alias.col,
					       "test failed: %s%s -> %s:%u %s matches no acl, so it is denied (expected accept)",
					       t->src.text, where, d->alias.text,
					       d->port, pn);
			return set_err(err, c->p->file, d->alias.line,
				       d->alias.col,
				       "test failed: %s%s -> %s:%u %s is %s by the acl at %d:%d (expected %s)",
				       t->src.text, where, d->alias.text,
				       d->port, pn,
				       accepted ? "accepted" : "denied",
				       c->p->rules[ri].line, c->p->rules[ri].col,
				       want_accept ? "accept" : "deny");
		}
	}
	return 0;
}

/* A host or IP src stands for its address; any other src for each node it
 * names (none: the test fails, as in Tailscale and Headscale). */
static int test_sources(const struct tctx *c, const struct policy_test *t,
			struct subj **out, size_t *n_out,
			struct policy_error *err)
{
	struct subj *s;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (t->src.kind == AL_HOST || t->src.kind == AL_PREFIX) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return set_err(err, c->p->file, 0, 0, "out of memory");
		s->a = &t->src;
		*out = s;
		*n_out = 1;
		return 0;
	}
	s = calloc(c->n_nodes ? c->n_nodes : 1, sizeof(*s));
	if (!s)
		return set_err(err, c->p->file, 0, 0, "out of memory");
	for (size_t i = 0; i < c->n_nodes; i++)
		if (alias_identity_match(c->p, &t->src, &c->nodes[i]))
			s[n++].node = &c->nodes[i];
	if (!n) {
		free(s);
		return set_err(err, c->p->file, t->src.line, t->src.col,
			       "test failed: src %s resolves to no node%s",
			       t->src.text,
			       t->src.kind == AL_USER ?
			       " (unknown user, or a user without nodes)" : "");
	}
	*out = s;
	*n_out = n;
	return 0;
}

int policy_check(const struct policy *p, const struct policy_node *nodes,
		 size_t n_nodes, struct policy_error *err)
{
	struct tctx c = { p, nodes, n_nodes };

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", p->file);
	for (size_t i = 0; i < p->n_tests; i++) {
		const struct policy_test *t = &p->tests[i];
		struct subj *srcs;
		size_t n_srcs;
		int r = 0;

		if (test_sources(&c, t, &srcs, &n_srcs, err) < 0)
			return -1;
		for (size_t k = 0; k < t->n_accept && !r; k++)
			r = check_dst(&c, t, srcs, n_srcs, &t->accept[k], true,
				      err);
		for (size_t k = 0; k < t->n_deny && !r; k++)
			r = check_dst(&c, t, srcs, n_srcs, &t->deny[k], false,
				      err);
		free(srcs);
		if (r < 0)
			return -1;
	}
	return 0;
}

size_t policy_test_count(const struct policy *p)
{
	return p->n_tests;
}
