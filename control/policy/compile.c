// SPDX-License-Identifier: MIT
/* Resolution of a policy's aliases over a node set into bitsets, and the
 * incremental update of one node. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_int.h"

/* ---- users ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t user_find(const struct policy_compiled *pc, const char *name)
{
	if (!pc->user_hash_cap)
		return NO_USER;
	size_t mask = pc->user_hash_cap - 1;

	for (size_t i = str_hash(name) & mask;; i = (i + 1) & mask) {
		size_t u = pc->user_hash[i];

		if (u == SIZE_MAX)
			return NO_USER;
		if (!strcmp(pc->users[u].name, name))
			return u;
	}
}

static void user_hash_put(size_t *tab, size_t cap, const char *name, size_t u)
{
	size_t mask = cap - 1;
	size_t i = str_hash(name) & mask;

	while (tab[i] != SIZE_MAX)
		i = (i + 1) & mask;
	tab[i] = u;
}

/* Finds or adds user name; NO_USER on out of memory. Adding a user never
 * changes the meaning of pc. */
static size_t user_get(struct policy_compiled *pc, const char *name)
{
	const struct policy *p = pc->p;
	size_t u = user_find(pc, name);
	struct cuser *cu;

	if (u != NO_USER)
		return u;
	if ((pc->n_users + 1) * 2 > pc->user_hash_cap) {
		size_t cap = pc->user_hash_cap ? pc->user_hash_cap * 2 : 64;
		size_t *tab = malloc(cap * sizeof(*tab));

		if (!tab)
			return NO_USER;
		for (size_t i = 0; i < cap; i++)
			tab[i] = SIZE_MAX;
		for (size_t i = 0; i < pc->n_users; i++)
			user_hash_put(tab, cap, pc->users[i].name, i);
		free(pc->user_hash);
		pc->user_hash = tab;
		pc->user_hash_cap = cap;
	}
	if (pc->n_users == pc->cap_users) {
		size_t cap = pc->cap_users ? pc->cap_users * 2 : 16;
		struct cuser *nu = realloc(pc->users, cap * sizeof(*nu));

		if (!nu)
			return NO_USER;
		pc->users = nu;
		pc->cap_users = cap;
	}
	cu = &pc->users[pc->n_users];
	cu->name = strdup(name);
	cu->groups = calloc(pc->gwords ? pc->gwords : 1, sizeof(uint64_t));
	cu->nodes = calloc(pc->words, sizeof(uint64_t));
	if (!cu->name || !cu->groups || !cu->nodes) {
		free(cu->name);
		free(cu->groups);
		free(cu->nodes);
		return NO_USER;
	}
	for (size_t g = 0; g < p->n_groups; g++)
		if (group_has_user(p, g, name))
			bset(cu->groups, g);
	u = pc->n_users++;
	user_hash_put(pc->user_hash, pc->user_hash_cap, name, u);
	return u;
}

/* ---- nodes ---- */

static void cnode_free(struct cnode *n)
{
	free(n->user);
	for (size_t i = 0; i < n->n_tags; i++)
		free(n->tags[i]);
	free(n->tags);
	free(n->routes);
	memset(n, 0, sizeof(*n));
}

/* Deep copy of an input node (uidx not set). */
static int cnode_copy(struct cnode *dst, const struct policy_node *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->id = src->id;
	dst->exit_node = src->exit_node;
	dst->uidx = NO_USER;
	if (src->has_ipv4)
		prefix_host(&dst->addr[dst->n_addr++], 4, src->ipv4);
	if (src->has_ipv6)
		prefix_host(&dst->addr[dst->n_addr++], 6, src->ipv6);
	if (src->user && !(dst->user = strdup(src->user)))
		goto oom;
	if (src->n_tags) {
		dst->tags = calloc(src->n_tags, sizeof(char *));
		if (!dst->tags)
			goto oom;
		for (size_t i = 0; i < src->n_tags; i++) {
			if (!src->tags[i])
				continue;
			dst->tags[dst->n_tags] = strdup(src->tags[i]);
			if (!dst->tags[dst->n_tags])
				goto oom;
			dst->n_tags++;
		}
	}
	if (src->n_routes) {
		dst->routes = malloc(src->n_routes * sizeof(*dst->routes));
		if (!dst->routes)
			goto oom;
		memcpy(dst->routes, src->routes,
		       src->n_routes * sizeof(*dst->routes));
		dst->n_routes = src->n_routes;
	}
	dst->live = true;
	return 0;
oom:
	cnode_free(dst);
	return -ENOMEM;
}

bool pc_identity(const struct policy_compiled *pc, const struct alias *a,
		 const struct cnode *n)
{
	bool tagged = n->n_tags > 0;

	switch (a->kind) {
	case AL_USER:
		return n->uidx != NO_USER &&
		       !strcmp(pc->users[n->uidx].name, a->name);
	case AL_GROUP:
		return n->uidx != NO_USER && bt(pc->users[n->uidx].groups,
						a->ref);
	case AL_TAG:
		for (size_t i = 0; i < n->n_tags; i++)
			if (!strcmp(n->tags[i], a->name))
				return true;
		return false;
	case AL_MEMBER:
		return !tagged;
	case AL_TAGGED:
		return tagged;
	default:
		return false;
	}
}

static bool overlaps_internet(const struct policy_prefix *pfx)
{
	size_t n;
	const struct policy_prefix *in = internet_prefixes(&n);

	for (size_t i = 0; i < n; i++)
		if (prefix_overlaps(&in[i], pfx))
			return true;
	return false;
}

bool pc_dst_hits(const struct dst_entry *e, const struct cnode *n,
		 const struct policy *p, const struct policy_compiled *pc)
{
	(void)p;
	switch (e->alias.kind) {
	case AL_ANY:
		return true;
	case AL_HOST:
	case AL_PREFIX:
		for (size_t i = 0; i < n->n_addr; i++)
			if (prefix_contains(&e->alias.prefix, &n->addr[i]))
				return true;
		for (size_t i = 0; i < n->n_routes; i++)
			if (prefix_overlaps(&e->alias.prefix, &n->routes[i]))
				return true;
		return n->exit_node && overlaps_internet(&e->alias.prefix);
	case AL_INTERNET:
		return n->exit_node;
	case AL_SELF:
		return false;
	default:
		return pc_identity(pc, &e->alias, n);
	}
}

struct rflags {
	bool src_id, src, src_vis, dst;
};

static struct rflags eval_rule(const struct policy_compiled *pc,
			       const struct rule *r, const struct cnode *n)
{
	struct rflags f = { 0 };

	if (!n || !n->live)
		return f;
	for (size_t i = 0; i < r->n_src; i++) {
		const struct alias *a = &r->src[i];

		switch (a->kind) {
		case AL_ANY:
			f.src = f.src_vis = true;
			break;
		case AL_HOST:
		case AL_PREFIX:
			for (size_t k = 0; k < n->n_addr; k++)
				if (prefix_contains(&a->prefix, &n->addr[k]))
					f.src = f.src_vis = true;
			for (size_t k = 0; k < n->n_routes; k++)
				if (prefix_overlaps(&a->prefix, &n->routes[k]))
					f.src_vis = true;
			break;
		default:
			if (pc_identity(pc, a, n))
				f.src_id = f.src = f.src_vis = true;
			break;
		}
	}
	for (size_t i = 0; i < r->n_dst && !f.dst; i++)
		f.dst = pc_dst_hits(&r->dst[i], n, pc->p, pc);
	return f;
}

static void apply_flags(struct crule *cr, size_t slot, struct rflags f)
{
	if (f.src_id)
		bset(cr->src_id, slot);
	else
		bclr(cr->src_id, slot);
	if (f.src)
		bset(cr->src, slot);
	else
		bclr(cr->src, slot);
	if (f.src_vis)
		bset(cr->src_vis, slot);
	else
		bclr(cr->src_vis, slot);
	if (f.dst)
		bset(cr->dst, slot);
	else
		bclr(cr->dst, slot);
}

/* Builds the normalized src prefixes of rule ri from its static prefixes
 * and the addresses of nodes in src_id; slot `skip` is ignored and the
 * addresses of `extra` (if non-NULL) added. */
static int build_src(const struct policy_compiled *pc, size_t ri, size_t skip,
		     const struct cnode *extra, struct policy_prefix **out,
		     size_t *n_out)
{
	const struct crule *cr = &pc->rules[ri];
	size_t cap = cr->n_src_static + 2, n = 0;
	struct policy_prefix *v, *shrunk;

	for (size_t w = 0; w < pc->words; w++)
		cap += 2 * (size_t)__builtin_popcountll(cr->src_id[w]);
	v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, cr->src_static, cr->n_src_static * sizeof(*v));
	n = cr->n_src_static;
	for (size_t w = 0; w < pc->words; w++) {
		uint64_t bits = cr->src_id[w];

		while (bits) {
			size_t s = w * 64 + (size_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (s == skip)
				continue;
			for (size_t k = 0; k < pc->nodes[s].n_addr; k++)
				v[n++] = pc->nodes[s].addr[k];
		}
	}
	if (extra)
		for (size_t k = 0; k < extra->n_addr; k++)
			v[n++] = extra->addr[k];
	n = prefix_normalize(v, n);
	shrunk = realloc(v, (n ? n : 1) * sizeof(*v));
	*out = shrunk ? shrunk : v;
	*n_out = n;
	return 0;
}

/* ---- index ---- */

size_t pc_slot(const struct policy_compiled *pc, uint64_t id)
{
	size_t lo = 0, hi = pc->n_index;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc->index[mid].id == id)
			return pc->index[mid].slot;
		if (pc->index[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static size_t index_pos(const struct policy_compiled *pc, uint64_t id)
{
	size_t lo = 0, hi = pc->n_index;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc->index[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_idslot(const void *a, const void *b)
{
	const struct idslot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- capacity ---- */

static int grow_bits(uint64_t **b, size_t old_words, size_t words)
{
	uint64_t *nb = realloc(*b, words * sizeof(uint64_t));

	if (!nb)
		return -ENOMEM;
	memset(nb + old_words, 0, (words - old_words) * sizeof(uint64_t));
	*b = nb;
	return 0;
}

/* Makes room for at least `slots` slots. Never changes pc's meaning. */
static int reserve_slots(struct policy_compiled *pc, size_t slots)
{
	size_t cap = pc->cap_slots ? pc->cap_slots : 64, words;
	struct cnode *nn;

	if (slots <= pc->cap_slots)
		return 0;
	while (cap < slots)
		cap *= 2;
	words = cap / 64;
	nn = realloc(pc->nodes, cap * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	memset(nn + pc->cap_slots, 0, (cap - pc->cap_slots) * sizeof(*nn));
	pc->nodes = nn;
	for (size_t i = 0; i < pc->p->n_rules; i++) {
		struct crule *cr = &pc->rules[i];

		if (grow_bits(&cr->src_id, pc->words, words) ||
		    grow_bits(&cr->src, pc->words, words) ||
		    grow_bits(&cr->src_vis, pc->words, words) ||
		    grow_bits(&cr->dst, pc->words, words))
			return -ENOMEM;
	}
	for (size_t u = 0; u < pc->n_users; u++)
		if (grow_bits(&pc->users[u].nodes, pc->words, words))
			return -ENOMEM;
	/* every array has at least `words` words now */
	pc->words = words;
	pc->cap_slots = cap;
	return 0;
}

/* ---- compile ---- */

void policy_compiled_free(struct policy_compiled *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->n_slots; i++)
		cnode_free(&pc->nodes[i]);
	free(pc->nodes);
	if (pc->rules)
		for (size_t i = 0; i < pc->p->n_rules; i++) {
			struct crule *cr = &pc->rules[i];

			free(cr->src_id);
			free(cr->src);
			free(cr->src_vis);
			free(cr->dst);
			free(cr->src_static);
			free(cr->src_pfx);
		}
	free(pc->rules);
	for (size_t u = 0; u < pc->n_users; u++) {
		free(pc->users[u].name);
		free(pc->users[u].groups);
		free(pc->users[u].nodes);
	}
	free(pc->users);
	free(pc->user_hash);
	free(pc->free_slots);
	free(pc->index);
	free(pc);
}

static int init_rules(struct policy_compiled *pc)
{
	const struct policy *p = pc->p;

	pc->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*pc->rules));
	if (!pc->rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		struct crule *cr = &pc->rules[i];

		cr->src_id = calloc(pc->words, sizeof(uint64_t));
		cr->src = calloc(pc->words, sizeof(uint64_t));
		cr->src_vis = calloc(pc->words, sizeof(uint64_t));
		cr->dst = calloc(pc->words, sizeof(uint64_t));
		cr->src_static = calloc(2 * r->n_src + 1, sizeof(*cr->src_static));
		if (!cr->src_id || !cr->src || !cr->src_vis || !cr->dst ||
		    !cr->src_static)
			return -ENOMEM;
		for (size_t k = 0; k < r->n_src; k++) {
			const struct alias *a = &r->src[k];

			if (a->kind == AL_ANY) {
				struct policy_prefix *s =
					&cr->src_static[cr->n_src_static];

				memset(s, 0, 2 * sizeof(*s));
				s[0].family = 4;
				s[1].family = 6;
				cr->n_src_static += 2;
			} else if (a->kind == AL_HOST || a->kind == AL_PREFIX) {
				cr->src_static[cr->n_src_static++] = a->prefix;
			}
		}
		for (size_t k = 0; k < r->n_dst; k++)
			cr->has_self |= r->dst[k].alias.kind == AL_SELF;
	}
	return 0;
}

/* Sets uidx of a node (adding its user entry when needed). */
static int resolve_user(struct policy_compiled *pc, struct cnode *n)
{
	n->uidx = NO_USER;
	if (n->n_tags || !n->user)
		return 0;
	n->uidx = user_get(pc, n->user);
	return n->uidx == NO_USER ? -ENOMEM : 0;
}

struct policy_compiled *policy_compile(const struct policy *p,
				       const struct policy_node *nodes,
				       size_t n_nodes,
				       struct policy_error *err)
{
	struct policy_compiled *pc = calloc(1, sizeof(*pc));

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", p->file);
	if (!pc)
		goto oom;
	pc->p = p;
	pc->gwords = (p->n_groups + 63) / 64;
	pc->cap_slots = 64;
	while (pc->cap_slots < n_nodes)
		pc->cap_slots *= 2;
	pc->words = pc->cap_slots / 64;
	pc->nodes = calloc(pc->cap_slots, sizeof(*pc->nodes));
	pc->index = malloc((n_nodes ? n_nodes : 1) * sizeof(*pc->index));
	if (!pc->nodes || !pc->index || init_rules(pc) < 0)
		goto oom;
	for (size_t i = 0; i < n_nodes; i++) {
		pc->index[i].id = nodes[i].id;
		pc->index[i].slot = i;
	}
	qsort(pc->index, n_nodes, sizeof(*pc->index), cmp_idslot);
	pc->n_index = n_nodes;
	for (size_t i = 1; i < n_nodes; i++)
		if (pc->index[i].id == pc->index[i - 1].id) {
			set_err(err, p->file, 0, 0, "duplicate node id %llu",
				(unsigned long long)pc->index[i].id);
			policy_compiled_free(pc);
			return NULL;
		}
	for (size_t i = 0; i < n_nodes; i++) {
		if (cnode_copy(&pc->nodes[i], &nodes[i]) < 0)
			goto oom;
		pc->n_slots++;
		if (resolve_user(pc, &pc->nodes[i]) < 0)
			goto oom;
		if (pc->nodes[i].uidx != NO_USER)
			bset(pc->users[pc->nodes[i].uidx].nodes, i);
	}
	for (size_t ri = 0; ri < p->n_rules; ri++) {
		struct crule *cr = &pc->rules[ri];

		for (size_t s = 0; s < pc->n_slots; s++)
			apply_flags(cr, s, eval_rule(pc, &p->rules[ri],
						     &pc->nodes[s]));
		if (build_src(pc, ri, SIZE_MAX, NULL, &cr->src_pfx,
			      &cr->n_src_pfx) < 0)
			goto oom;
	}
	return pc;
oom:
	policy_compiled_free(pc);
	set_err(err, p->file, 0, 0, "out of memory");
	return NULL;
}

size_t policy_compiled_node_count(const struct policy_compiled *pc)
{
	return pc->n_index;
}

/* ---- visibility ---- */

int pc_user_slots(const struct policy_compiled *pc, size_t u, size_t **out,
		  size_t *n)
{
	const uint64_t *ub = pc->users[u].nodes;
	size_t cnt = 0, k = 0;
	size_t *v;

	for (size_t w = 0; w < pc->words; w++)
		cnt += (size_t)__builtin_popcountll(ub[w]);
	v = malloc((cnt ? cnt : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t w = 0; w < pc->words; w++) {
		uint64_t bits = ub[w];

		while (bits) {
			v[k++] = w * 64 + (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

/* Peers of slot, given the slots of its user's untagged nodes. */
static void peer_bits(const struct policy_compiled *pc, size_t slot,
		      uint64_t *out, const size_t *mine, size_t n_mine)
{
	const struct policy *p = pc->p;
	size_t u = pc->nodes[slot].uidx;

	memset(out, 0, pc->words * sizeof(uint64_t));
	for (size_t ri = 0; ri < p->n_rules; ri++) {
		const struct crule *cr = &pc->rules[ri];
		bool in_src = bt(cr->src_vis, slot);

		if (p->rules[ri].action != POLICY_ACCEPT)
			continue;
		if (in_src)
			for (size_t w = 0; w < pc->words; w++)
				out[w] |= cr->dst[w];
		if (bt(cr->dst, slot))
			for (size_t w = 0; w < pc->words; w++)
				out[w] |= cr->src_vis[w];
		if (!cr->has_self || u == NO_USER)
			continue;
		/* autogroup:self: same user's nodes, when either end is a
		 * source */
		for (size_t i = 0; i < n_mine; i++)
			if (in_src || bt(cr->src_vis, mine[i]))
				bset(out, mine[i]);
	}
	bclr(out, slot);
}

/* Peers of slot as a bitset of pc->words words. 0 or -ENOMEM. */
int pc_peer_bits(const struct policy_compiled *pc, size_t slot,
		 uint64_t *out)
{
	size_t u = pc->nodes[slot].uidx;
	size_t *mine = NULL, n_mine = 0;

	if (u != NO_USER && pc_user_slots(pc, u, &mine, &n_mine) < 0)
		return -ENOMEM;
	peer_bits(pc, slot, out, mine, n_mine);
	free(mine);
	return 0;
}

static int bits_to_ids(const struct policy_compiled *pc, const uint64_t *b,
		       uint64_t **ids, size_t *n)
{
	size_t cnt = 0, k = 0;
	uint64_t *v;

	for (size_t w = 0; w < pc->words; w++)
		cnt += (size_t)__builtin_popcountll(b[w]);
	*ids = NULL;
	*n = 0;
	if (!cnt)
		return 0;
	v = malloc(cnt * sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* walk the index to get ascending ids */
	for (size_t i = 0; i < pc->n_index; i++)
		if (bt(b, pc->index[i].slot))
			v[k++] = pc->index[i].id;
	*ids = v;
	*n = k;
	return 0;
}

int policy_node_peers(const struct policy_compiled *pc, uint64_t id,
		      uint64_t **ids, size_t *n)
{
	size_t slot = pc_slot(pc, id);
	uint64_t *b;
	int r;

	*ids = NULL;
	*n = 0;
	if (slot == SIZE_MAX)
		return -ENOENT;
	b = malloc(pc->words * sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = pc_peer_bits(pc, slot, b);
	if (r == 0)
		r = bits_to_ids(pc, b, ids, n);
	free(b);
	return r;
}

bool policy_nodes_visible(const struct policy_compiled *pc, uint64_t a,
			  uint64_t b)
{
	size_t sa = pc_slot(pc, a), sb = pc_slot(pc, b);
	const struct policy *p = pc->p;

	if (sa == SIZE_MAX || sb == SIZE_MAX || sa == sb)
		return false;
	size_t ua = pc->nodes[sa].uidx, ub = pc->nodes[sb].uidx;
	bool same_user = ua != NO_USER && ua == ub;

	for (size_t ri = 0; ri < p->n_rules; ri++) {
		const struct crule *cr = &pc->rules[ri];

		if (p->rules[ri].action != POLICY_ACCEPT)
			continue;
		if ((bt(cr->src_vis, sa) && bt(cr->dst, sb)) ||
		    (bt(cr->src_vis, sb) && bt(cr->dst, sa)))
			return true;
		if (cr->has_self && same_user &&
		    (bt(cr->src_vis, sa) || bt(cr->src_vis, sb)))
			return true;
	}
	return false;
}

/* ---- incremental update ---- */

void policy_delta_free(struct policy_delta *d)
{
	if (!d)
		return;
	free(d->peers_changed);
	free(d->filters_changed);
	memset(d, 0, sizeof(*d));
}

/* Nodes whose filter lists the addresses of slot (as a source). */
static void filter_dependents(const struct policy_compiled *pc, size_t slot,
			      uint64_t *out)
{
	const struct policy *p = pc->p;
	size_t u = pc->nodes[slot].uidx;

	for (size_t ri = 0; ri < p->n_rules; ri++) {
		const struct crule *cr = &pc->rules[ri];

		if (bt(cr->src_id, slot))
			for (size_t w = 0; w < pc->words; w++)
				out[w] |= cr->dst[w];
		if (cr->has_self && u != NO_USER && bt(cr->src, slot))
			for (size_t w = 0; w < pc->words; w++)
				out[w] |= pc->users[u].nodes[w];
	}
}

/*
 * Replaces slot's node by `nn` (NULL: removes it). Everything that can fail
 * is allocated before pc is touched.
 */
static int change_node(struct policy_compiled *pc, size_t slot,
		       struct cnode *nn, struct policy_delta *delta)
{
	const struct policy *p = pc->p;
	size_t nr = p->n_rules, words = pc->words;
	struct policy_prefix **new_src = calloc(nr ? nr : 1, sizeof(void *));
	size_t *new_n = calloc(nr ? nr : 1, sizeof(size_t));
	struct rflags *newf = calloc(nr ? nr : 1, sizeof(*newf));
	uint64_t *old_peers = calloc(words, sizeof(uint64_t));
	uint64_t *new_peers = calloc(words, sizeof(uint64_t));
	uint64_t *filt = calloc(words, sizeof(uint64_t));
	struct policy_delta d = { 0 };
	struct cnode *cur = &pc->nodes[slot];
	bool was_live = cur->live;
	size_t *mine = NULL, n_mine = 0;
	int ret = -ENOMEM;

	if (!new_src || !new_n || !newf || !old_peers || !new_peers || !filt)
		goto out;
	if (nn && resolve_user(pc, nn) < 0)
		goto out;
	for (size_t ri = 0; ri < nr; ri++) {
		newf[ri] = eval_rule(pc, &p->rules[ri], nn);
		if (newf[ri].src_id == (was_live && bt(pc->rules[ri].src_id, slot)) &&
		    !(newf[ri].src_id && was_live &&
		      memcmp(cur->addr, nn->addr, sizeof(cur->addr))))
			continue;
		if (build_src(pc, ri, slot, newf[ri].src_id ? nn : NULL,
			      &new_src[ri], &new_n[ri]) < 0)
			goto out;
	}
	d.peers_changed = malloc((pc->n_index + 1) * sizeof(uint64_t));
	d.filters_changed = malloc((pc->n_index + 1) * sizeof(uint64_t));
	if (!d.peers_changed || !d.filters_changed)
		goto out;
	if (!nn && pc->free_slots == NULL) {
		pc->free_slots = malloc(pc->cap_slots * sizeof(size_t));
		if (!pc->free_slots)
			goto out;
	}
	if (was_live && pc_peer_bits(pc, slot, old_peers) < 0)
		goto out;
	if (nn && nn->uidx != NO_USER) {
		size_t *tmp;

		/* the new node's user's nodes, itself included */
		if (pc_user_slots(pc, nn->uidx, &mine, &n_mine) < 0)
			goto out;
		tmp = realloc(mine, (n_mine + 1) * sizeof(*mine));
		if (!tmp)
			goto out;
		mine = tmp;
		if (!bt(pc->users[nn->uidx].nodes, slot))
			mine[n_mine++] = slot;
	}

	/* ---- commit: nothing below fails ---- */
	if (was_live) {
		filter_dependents(pc, slot, filt);
		if (cur->uidx != NO_USER)
			bclr(pc->users[cur->uidx].nodes, slot);
		cnode_free(cur);
	}
	if (nn) {
		*cur = *nn;
		if (cur->uidx != NO_USER)
			bset(pc->users[cur->uidx].nodes, slot);
	} else {
		pc->free_slots[pc->n_free++] = slot;
	}
	for (size_t ri = 0; ri < nr; ri++) {
		apply_flags(&pc->rules[ri], slot, newf[ri]);
		if (new_src[ri]) {
			free(pc->rules[ri].src_pfx);
			pc->rules[ri].src_pfx = new_src[ri];
			pc->rules[ri].n_src_pfx = new_n[ri];
			new_src[ri] = NULL;
		}
	}
	if (nn) {
		peer_bits(pc, slot, new_peers, mine, n_mine);
		filter_dependents(pc, slot, filt);
		bset(filt, slot);
	}
	for (size_t w = 0; w < words; w++)
		old_peers[w] ^= new_peers[w];
	if (nn)
		bset(old_peers, slot);
	else
		bclr(filt, slot);
	/* ids ascending, live nodes only */
	for (size_t i = 0; i < pc->n_index; i++) {
		size_t s = pc->index[i].slot;

		if (!pc->nodes[s].live)
			continue;
		if (bt(old_peers, s))
			d.peers_changed[d.n_peers_changed++] = pc->index[i].id;
		if (bt(filt, s))
			d.filters_changed[d.n_filters_changed++] =
				pc->index[i].id;
	}
	if (delta)
		*delta = d;
	else
		policy_delta_free(&d);
	memset(&d, 0, sizeof(d));
	ret = 0;
out:
	policy_delta_free(&d);
	free(mine);
	for (size_t ri = 0; new_src && ri < nr; ri++)
		free(new_src[ri]);
	free(new_src);
	free(new_n);
	free(newf);
	free(old_peers);
	free(new_peers);
	free(filt);
	return ret;
}

int policy_compiled_update_node(struct policy_compiled *pc,
				const struct policy_node *node,
				struct policy_delta *delta)
{
	size_t slot = pc_slot(pc, node->id);
	struct cnode nn;
	bool added = false, new_slot = false;
	int r;

	if (delta)
		memset(delta, 0, sizeof(*delta));
	if (slot == SIZE_MAX) {
		struct idslot *ni;
		size_t pos;

		slot = pc->n_free ? pc->free_slots[pc->n_free - 1] : pc->n_slots;
		if (reserve_slots(pc, slot + 1) < 0)
			return -ENOMEM;
		ni = realloc(pc->index, (pc->n_index + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		pc->index = ni;
		if (pc->n_free == 0 && pc->free_slots) {
			/* keep free_slots big enough for every slot */
			size_t *fs = realloc(pc->free_slots,
					     pc->cap_slots * sizeof(size_t));

			if (!fs)
				return -ENOMEM;
			pc->free_slots = fs;
		}
		if (cnode_copy(&nn, node) < 0)
			return -ENOMEM;
		/* the index entry goes in only once the change commits */
		pos = index_pos(pc, node->id);
		memmove(&pc->index[pos + 1], &pc->index[pos],
			(pc->n_index - pos) * sizeof(*pc->index));
		pc->index[pos] = (struct idslot){ node->id, slot };
		pc->n_index++;
		if (slot == pc->n_slots) {
			pc->n_slots++;
			new_slot = true;
		}
		added = true;
	} else if (cnode_copy(&nn, node) < 0) {
		return -ENOMEM;
	}
	r = change_node(pc, slot, &nn, delta);
	if (r < 0) {
		cnode_free(&nn);
		if (added) {
			size_t pos = index_pos(pc, node->id);

			memmove(&pc->index[pos], &pc->index[pos + 1],
				(pc->n_index - pos - 1) * sizeof(*pc->index));
			pc->n_index--;
			if (new_slot)
				pc->n_slots--;
		}
		return r;
	}
	if (added && pc->n_free && pc->free_slots[pc->n_free - 1] == slot)
		pc->n_free--;
	return 0;
}

int policy_compiled_remove_node(struct policy_compiled *pc, uint64_t id,
				struct policy_delta *delta)
{
	size_t slot = pc_slot(pc, id);
	size_t pos;
	int r;

	if (delta)
		memset(delta, 0, sizeof(*delta));
	if (slot == SIZE_MAX)
		return -ENOENT;
	r = change_node(pc, slot, NULL, delta);
	if (r < 0)
		return r;
	pos = index_pos(pc, id);
	memmove(&pc->index[pos], &pc->index[pos + 1],
		(pc->n_index - pos - 1) * sizeof(*pc->index));
	pc->n_index--;
	return 0;
}
