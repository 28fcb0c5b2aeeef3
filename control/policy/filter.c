// SPDX-License-Identifier: MIT
/* Per-node packet filter: construction, JSON, hash, equality. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compile_int.h"

struct dvec {
	struct policy_filter_dst *v;
	size_t n, cap;
};

static int dvec_push(struct dvec *d, const struct policy_prefix *pfx,
		     const struct port_range *ports, size_t n_ports)
{
	if (d->n + n_ports > d->cap) {
		size_t cap = d->cap ? d->cap : 8;
		struct policy_filter_dst *nv;

		while (cap < d->n + n_ports)
			cap *= 2;
		nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = cap;
	}
	for (size_t i = 0; i < n_ports; i++) {
		d->v[d->n].prefix = *pfx;
		d->v[d->n].first_port = ports[i].first;
		d->v[d->n].last_port = ports[i].last;
		d->n++;
	}
	return 0;
}

static int push_list(struct dvec *d, const struct policy_prefix *l, size_t n,
		     const struct dst_entry *e)
{
	for (size_t i = 0; i < n; i++)
		if (dvec_push(d, &l[i], e->ports, e->n_ports) < 0)
			return -ENOMEM;
	return 0;
}

/* The destinations of entry e that concern node n. */
static int entry_dsts(const struct policy_compiled *pc,
		      const struct dst_entry *e, const struct cnode *n,
		      struct dvec *d)
{
	static const struct policy_prefix all[2] = { { .family = 4 },
						     { .family = 6 } };
	const struct policy_prefix *in;
	size_t n_in;

	switch (e->alias.kind) {
	case AL_SELF:
		return 0;
	case AL_ANY:
		return push_list(d, all, 2, e);
	case AL_INTERNET:
		if (!n->exit_node)
			return 0;
		in = internet_prefixes(&n_in);
		return push_list(d, in, n_in, e);
	case AL_HOST:
	case AL_PREFIX:
		if (!pc_dst_hits(e, n, pc->p, pc))
			return 0;
		return push_list(d, &e->alias.prefix, 1, e);
	default:
		if (!pc_identity(pc, &e->alias, n))
			return 0;
		return push_list(d, n->addr, n->n_addr, e);
	}
}

static int add_rule(struct policy_filter *f, size_t *cap,
		    const struct rule *r, const struct policy_prefix *src,
		    size_t n_src, struct dvec *d)
{
	struct policy_filter_rule *fr;

	if (f->n_rules == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct policy_filter_rule *nr =
			realloc(f->rules, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		f->rules = nr;
		*cap = ncap;
	}
	fr = &f->rules[f->n_rules];
	memset(fr, 0, sizeof(*fr));
	fr->action = r->action;
	fr->src = malloc(n_src * sizeof(*src));
	fr->protos = malloc(r->n_protos ? r->n_protos : 1);
	if (!fr->src || !fr->protos) {
		free(fr->src);
		free(fr->protos);
		return -ENOMEM;
	}
	memcpy(fr->src, src, n_src * sizeof(*src));
	fr->n_src = n_src;
	if (r->n_protos)
		memcpy(fr->protos, r->protos, r->n_protos);
	fr->n_protos = r->n_protos;
	fr->dst = d->v;
	fr->n_dst = d->n;
	memset(d, 0, sizeof(*d));
	f->n_rules++;
	return 0;
}

/* Sources of an autogroup:self destination on node n: the addresses of
 * the nodes of n's user (mine[0..n_mine)) that match the rule's src. */
static int self_src(const struct policy_compiled *pc, const struct crule *cr,
		    const size_t *mine, size_t n_mine,
		    struct policy_prefix **out, size_t *n_out)
{
	struct policy_prefix *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n_mine; i++) {
		const struct cnode *m = &pc->nodes[mine[i]];

		if (!bt(cr->src, mine[i]))
			continue;
		if (!v && !(v = malloc(2 * n_mine * sizeof(*v))))
			return -ENOMEM;
		for (size_t a = 0; a < m->n_addr; a++)
			v[k++] = m->addr[a];
	}
	*out = v;
	*n_out = prefix_normalize(v, k);
	return 0;
}

int policy_node_filter(const struct policy_compiled *pc, uint64_t id,
		       struct policy_filter **out)
{
	const struct policy *p = pc->p;
	size_t slot = pc_slot(pc, id), cap = 0;
	struct policy_filter *f;
	struct dvec d = { 0 };
	const struct cnode *n;
	size_t *mine = NULL, n_mine = 0;

	*out = NULL;
	if (slot == SIZE_MAX)
		return -ENOENT;
	n = &pc->nodes[slot];
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (n->uidx != NO_USER &&
	    pc_user_slots(pc, n->uidx, &mine, &n_mine) < 0) {
		free(f);
		return -ENOMEM;
	}
	for (size_t ri = 0; ri < p->n_rules; ri++) {
		const struct rule *r = &p->rules[ri];
		const struct crule *cr = &pc->rules[ri];

		if (bt(cr->dst, slot) && cr->n_src_pfx) {
			for (size_t k = 0; k < r->n_dst; k++)
				if (entry_dsts(pc, &r->dst[k], n, &d) < 0)
					goto oom;
			if (d.n && add_rule(f, &cap, r, cr->src_pfx,
					    cr->n_src_pfx, &d) < 0)
				goto oom;
		}
		if (cr->has_self && n->uidx != NO_USER) {
			struct policy_prefix *src;
			size_t n_src;

			if (self_src(pc, cr, mine, n_mine, &src, &n_src) < 0)
				goto oom;
			for (size_t k = 0; k < r->n_dst && n_src; k++) {
				if (r->dst[k].alias.kind != AL_SELF)
					continue;
				if (push_list(&d, n->addr, n->n_addr,
					      &r->dst[k]) < 0) {
					free(src);
					goto oom;
				}
			}
			if (d.n && add_rule(f, &cap, r, src, n_src, &d) < 0) {
				free(src);
				goto oom;
			}
			free(src);
		}
		d.n = 0;
	}
	free(d.v);
	free(mine);
	*out = f;
	return 0;
oom:
	free(d.v);
	free(mine);
	policy_filter_free(f);
	return -ENOMEM;
}

void policy_filter_free(struct policy_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_rules; i++) {
		free(f->rules[i].src);
		free(f->rules[i].dst);
		free(f->rules[i].protos);
	}
	free(f->rules);
	free(f);
}

/* ---- JSON ---- */

static cJSON *prefix_json(const struct policy_prefix *p)
{
	char buf[64];

	return cJSON_CreateString(policy_prefix_format(p, buf, sizeof(buf)));
}

static bool add_item(cJSON *arr, cJSON *it)
{
	if (!it)
		return false;
	cJSON_AddItemToArray(arr, it);
	return true;
}

static cJSON *rule_json(const struct policy_filter_rule *r)
{
	cJSON *o = cJSON_CreateObject(), *src, *dst, *protos;

	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "action",
				     r->action == POLICY_ACCEPT ? "accept" :
								  "deny") ||
	    !(src = cJSON_AddArrayToObject(o, "src")) ||
	    !(dst = cJSON_AddArrayToObject(o, "dst")) ||
	    !(protos = cJSON_AddArrayToObject(o, "protos")))
		goto fail;
	for (size_t i = 0; i < r->n_src; i++)
		if (!add_item(src, prefix_json(&r->src[i])))
			goto fail;
	for (size_t i = 0; i < r->n_dst; i++) {
		cJSON *d = cJSON_CreateObject();

		if (!add_item(dst, d))
			goto fail;
		if (!cJSON_AddItemToObject(d, "prefix",
					   prefix_json(&r->dst[i].prefix)) ||
		    !cJSON_AddNumberToObject(d, "first_port",
					     r->dst[i].first_port) ||
		    !cJSON_AddNumberToObject(d, "last_port",
					     r->dst[i].last_port))
			goto fail;
	}
	for (size_t i = 0; i < r->n_protos; i++)
		if (!add_item(protos, cJSON_CreateNumber(r->protos[i])))
			goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

cJSON *policy_filter_to_json(const struct policy_filter *f)
{
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < f->n_rules; i++)
		if (!add_item(arr, rule_json(&f->rules[i]))) {
			cJSON_Delete(arr);
			return NULL;
		}
	return arr;
}

/* ---- hash and equality ---- */

static uint64_t mix(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return mix(h, b, 8);
}

static uint64_t mix_prefix(uint64_t h, const struct policy_prefix *p)
{
	h = mix(h, &p->family, 1);
	h = mix(h, &p->bits, 1);
	return mix(h, p->addr, 16);
}

uint64_t policy_filter_hash(const struct policy_filter *f)
{
	uint64_t h = 1469598103934665603ULL;

	h = mix_u64(h, f->n_rules);
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct policy_filter_rule *r = &f->rules[i];

		h = mix_u64(h, (uint64_t)r->action);
		h = mix_u64(h, r->n_src);
		for (size_t k = 0; k < r->n_src; k++)
			h = mix_prefix(h, &r->src[k]);
		h = mix_u64(h, r->n_dst);
		for (size_t k = 0; k < r->n_dst; k++) {
			h = mix_prefix(h, &r->dst[k].prefix);
			h = mix_u64(h, r->dst[k].first_port);
			h = mix_u64(h, r->dst[k].last_port);
		}
		h = mix_u64(h, r->n_protos);
		h = mix(h, r->protos, r->n_protos);
	}
	return h;
}

static bool prefix_eq(const struct policy_prefix *a,
		      const struct policy_prefix *b)
{
	return a->family == b->family && a->bits == b->bits &&
	       !memcmp(a->addr, b->addr, 16);
}

bool policy_filter_equal(const struct policy_filter *a,
			 const struct policy_filter *b)
{
	if (a->n_rules != b->n_rules)
		return false;
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct policy_filter_rule *x = &a->rules[i];
		const struct policy_filter_rule *y = &b->rules[i];

		if (x->action != y->action || x->n_src != y->n_src ||
		    x->n_dst != y->n_dst || x->n_protos != y->n_protos ||
		    (x->n_protos && memcmp(x->protos, y->protos, x->n_protos)))
			return false;
		for (size_t k = 0; k < x->n_src; k++)
			if (!prefix_eq(&x->src[k], &y->src[k]))
				return false;
		for (size_t k = 0; k < x->n_dst; k++)
			if (!prefix_eq(&x->dst[k].prefix, &y->dst[k].prefix) ||
			    x->dst[k].first_port != y->dst[k].first_port ||
			    x->dst[k].last_port != y->dst[k].last_port)
				return false;
	}
	return true;
}
