/* SPDX-License-Identifier: MIT */
/* Shared helpers of the policy engine tests. */
#ifndef POLICY_TEST_HELPERS_H
#define POLICY_TEST_HELPERS_H

#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

static inline struct policy *parse_ok(const char *text)
{
	struct policy_error e;
	struct policy *p = policy_parse(text, strlen(text), "t.hujson", &e);

	if (!p) {
		char b[600];

		policy_error_format(&e, b, sizeof(b));
		fail_msg("unexpected parse error: %s", b);
	}
	return p;
}

/* Asserts the text is refused at line:col with a message containing
 * `what`. */
#define parse_fails(text, l, c, what) parse_fails_at(text, l, c, what, __LINE__)
static inline void parse_fails_at(const char *text, int line, int col,
				  const char *what, int at)
{
	struct policy_error e;
	struct policy *p = policy_parse(text, strlen(text), "t.hujson", &e);

	if (p) {
		policy_free(p);
		fail_msg("line %d: policy accepted, expected %d:%d %s", at,
			 line, col, what);
	}
	if (e.line != line || e.col != col || !strstr(e.msg, what) ||
	    strcmp(e.file, "t.hujson"))
		fail_msg("line %d: got %s:%d:%d: %s; expected %d:%d ...%s...",
			 at, e.file, e.line, e.col, e.msg, line, col, what);
}

struct tnode {
	struct policy_node n;
	const char *tags[4];
	struct policy_prefix routes[4];
};

/* Node id with user (NULL ok), up to one tag, IPv4 100.64.0.<id> (and
 * IPv6 fd7a:115c:a1e0::<id> when v6). */
static inline void mknode(struct tnode *t, uint64_t id, const char *user,
			  const char *tag, int v6)
{
	memset(t, 0, sizeof(*t));
	t->n.id = id;
	t->n.user = user;
	t->n.tags = (const char *const *)t->tags;
	if (tag)
		t->tags[t->n.n_tags++] = tag;
	t->n.has_ipv4 = true;
	t->n.ipv4[0] = 100;
	t->n.ipv4[1] = 64;
	t->n.ipv4[2] = (uint8_t)(id >> 8);
	t->n.ipv4[3] = (uint8_t)id;
	if (v6) {
		t->n.has_ipv6 = true;
		inet_pton(AF_INET6, "fd7a:115c:a1e0::", t->n.ipv6);
		t->n.ipv6[14] = (uint8_t)(id >> 8);
		t->n.ipv6[15] = (uint8_t)id;
	}
	t->n.routes = t->routes;
}

static inline void add_route(struct tnode *t, const char *cidr)
{
	assert_int_equal(policy_prefix_parse(cidr, &t->routes[t->n.n_routes]),
			 0);
	t->n.n_routes++;
}

static inline void append(char **buf, size_t *len, size_t *cap,
			  const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	*len += (size_t)n;
}

/* Text form of a filter: rules joined by " | ", each
 * "accept SRC,SRC -> DST:PORTS,DST:PORTS [proto N,N]". Caller frees. */
static inline char *filter_text(const struct policy_filter *f)
{
	size_t cap = 256, len = 0;
	char *buf = malloc(cap), p[64];

	assert_non_null(buf);
	buf[0] = '\0';
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct policy_filter_rule *r = &f->rules[i];

		append(&buf, &len, &cap, "%s%s ", i ? " | " : "",
		       r->action == POLICY_ACCEPT ? "accept" : "deny");
		for (size_t k = 0; k < r->n_src; k++)
			append(&buf, &len, &cap, "%s%s", k ? "," : "",
			       policy_prefix_format(&r->src[k], p, sizeof(p)));
		append(&buf, &len, &cap, " ->");
		for (size_t k = 0; k < r->n_dst; k++) {
			const struct policy_filter_dst *d = &r->dst[k];

			append(&buf, &len, &cap, "%s%s:", k ? "," : " ",
			       policy_prefix_format(&d->prefix, p, sizeof(p)));
			if (d->first_port == 0 && d->last_port == 65535)
				append(&buf, &len, &cap, "*");
			else if (d->first_port == d->last_port)
				append(&buf, &len, &cap, "%u", d->first_port);
			else
				append(&buf, &len, &cap, "%u-%u",
				       d->first_port, d->last_port);
		}
		for (size_t k = 0; k < r->n_protos; k++)
			append(&buf, &len, &cap, "%s%u",
			       k ? "," : " proto ", r->protos[k]);
	}
	return buf;
}

#define assert_filter(pc, id, expect) assert_filter_at(pc, id, expect, __LINE__)
static inline void assert_filter_at(const struct policy_compiled *pc,
				    uint64_t id, const char *expect, int at)
{
	struct policy_filter *f;
	char *s;

	assert_int_equal(policy_node_filter(pc, id, &f), 0);
	s = filter_text(f);
	if (strcmp(s, expect))
		fail_msg("line %d: node %llu filter:\n  got    [%s]\n  expect [%s]",
			 at, (unsigned long long)id, s, expect);
	free(s);
	policy_filter_free(f);
}

/* Peers as "1,2,3". */
#define assert_peers(pc, id, expect) assert_peers_at(pc, id, expect, __LINE__)
static inline void assert_peers_at(const struct policy_compiled *pc,
				   uint64_t id, const char *expect, int at)
{
	uint64_t *ids;
	size_t n, len = 0, cap = 64;
	char *s = malloc(cap);

	assert_non_null(s);
	s[0] = '\0';
	assert_int_equal(policy_node_peers(pc, id, &ids, &n), 0);
	for (size_t i = 0; i < n; i++) {
		append(&s, &len, &cap, "%s%llu", i ? "," : "",
		       (unsigned long long)ids[i]);
		/* the pairwise query agrees */
		if (!policy_nodes_visible(pc, id, ids[i]) ||
		    !policy_nodes_visible(pc, ids[i], id))
			fail_msg("line %d: visible(%llu,%llu) disagrees", at,
				 (unsigned long long)id,
				 (unsigned long long)ids[i]);
	}
	if (strcmp(s, expect))
		fail_msg("line %d: node %llu peers: got [%s] expect [%s]", at,
			 (unsigned long long)id, s, expect);
	free(ids);
	free(s);
}

static inline struct policy_compiled *compile_ok(const struct policy *p,
						 struct tnode *t, size_t n)
{
	struct policy_node *nodes = calloc(n ? n : 1, sizeof(*nodes));
	struct policy_error e;
	struct policy_compiled *pc;

	assert_non_null(nodes);
	for (size_t i = 0; i < n; i++)
		nodes[i] = t[i].n;
	pc = policy_compile(p, nodes, n, &e);
	free(nodes);
	if (!pc)
		fail_msg("compile: %s", e.msg);
	return pc;
}

#endif
