// SPDX-License-Identifier: MIT
#include "tailnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "netmap.h"
#include "polglue.h"

struct cnode {
	struct cnode *next;	/* hash chain */
	struct mwg_node n;
	char *peer_json;
	uint64_t peer_hash;
	bool eligible;
	struct mwg_stream *streams;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* ---- node cache ---- */

static struct cnode *cfind(const struct mwg_tailnet *tn, int64_t id)
{
	struct cnode *c = tn->buckets[(uint64_t)id % tn->nbuckets];

	for (; c; c = c->next)
		if (c->n.id == id)
			return c;
	return NULL;
}

static void cgrow(struct mwg_tailnet *tn)
{
	size_t n = tn->nbuckets * 2, i;
	struct cnode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < tn->nbuckets; i++) {
		struct cnode *c = tn->buckets[i], *nx;

		for (; c; c = nx) {
			nx = c->next;
			c->next = b[(uint64_t)c->n.id % n];
			b[(uint64_t)c->n.id % n] = c;
		}
	}
	free(tn->buckets);
	tn->buckets = b;
	tn->nbuckets = n;
}

static int cset_peer(struct mwg_tailnet *tn, struct cnode *c)
{
	cJSON *j = mwg_netmap_peer(&c->n, tn->cfg);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	if (!s)
		return -1;
	free(c->peer_json);
	c->peer_json = s;
	c->peer_hash = fnv(s);
	c->eligible = mwg_node_eligible(&c->n, mwg_now());
	return 0;
}

/* Takes ownership of *n (cleared on success). */
static struct cnode *cput(struct mwg_tailnet *tn, struct mwg_node *n)
{
	struct cnode *c = cfind(tn, n->id);

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->n = *n;
		if (cset_peer(tn, c)) {
			free(c);
			return NULL;
		}
		if (tn->count + 1 > tn->nbuckets)
			cgrow(tn);
		c->next = tn->buckets[(uint64_t)c->n.id % tn->nbuckets];
		tn->buckets[(uint64_t)c->n.id % tn->nbuckets] = c;
		tn->count++;
	} else {
		struct mwg_node old = c->n;

		c->n = *n;
		if (cset_peer(tn, c)) {
			c->n = old;
			return NULL;
		}
		mwg_node_clear(&old);
	}
	memset(n, 0, sizeof(*n));
	return c;
}

static void cremove(struct mwg_tailnet *tn, int64_t id)
{
	struct cnode **pp = &tn->buckets[(uint64_t)id % tn->nbuckets], *c;

	for (; (c = *pp); pp = &c->next) {
		if (c->n.id == id) {
			*pp = c->next;
			mwg_node_clear(&c->n);
			free(c->peer_json);
			free(c);
			tn->count--;
			return;
		}
	}
}

#define FOREACH_CNODE(tn, c) \
	for (size_t _b = 0; _b < (tn)->nbuckets; _b++) \
		for (struct cnode *c = (tn)->buckets[_b]; c; c = c->next)

/* ---- policy ---- */

static struct policy_compiled *compile_all(struct mwg_tailnet *tn, const struct policy *p)
{
	struct mwg_pnode *pn = calloc(tn->count + 1, sizeof(*pn));
	struct policy_node *arr = calloc(tn->count + 1, sizeof(*arr));
	struct policy_compiled *pc = NULL;
	struct policy_error perr;
	size_t k = 0, i;
	int bad = 0;

	if (!pn || !arr)
		goto out;
	FOREACH_CNODE(tn, c) {
		if (!c->eligible)
			continue;
		if (mwg_pnode_fill(&pn[k], &c->n)) {
			bad = 1;
			break;
		}
		arr[k] = pn[k].pn;
		k++;
	}
	if (!bad)
		pc = policy_compile(p, arr, k, &perr);
	if (!pc)
		fprintf(stderr, "meshwg-control: policy compile failed: %s\n", bad ? "out of memory" : perr.msg);
out:
	for (i = 0; pn && i < k; i++)
		mwg_pnode_release(&pn[i]);
	free(pn);
	free(arr);
	return pc;
}

static int load_policy(struct mwg_tailnet *tn, struct policy **pol, struct mwg_err *e)
{
	char *text = NULL;
	struct policy_error perr;
	char msg[600];

	*pol = NULL;
	if (mwg_store_policy_get(tn->store, &text, NULL, e))
		return -1;
	if (!text)
		return 0;
	*pol = policy_parse(text, strlen(text), "policy(db)", &perr);
	free(text);
	if (!*pol) {
		policy_error_format(&perr, msg, sizeof(msg));
		return mwg_fail(e, 500, "stored policy does not parse: %.200s", msg);
	}
	return 0;
}

/* Sorted ids node id may see, under policy pc (or all eligible when pc is
 * NULL). */
static int peers_of(struct mwg_tailnet *tn, struct policy_compiled *pc, int64_t id,
		    uint64_t **ids, size_t *n)
{
	size_t k = 0;

	*ids = NULL;
	*n = 0;
	if (pc) {
		int r = policy_node_peers(pc, (uint64_t)id, ids, n);

		return r == -ENOENT ? 0 : r;
	}
	*ids = malloc((tn->count + 1) * sizeof(uint64_t));
	if (!*ids)
		return -1;
	FOREACH_CNODE(tn, c)
		if (c->eligible && c->n.id != id)
			(*ids)[k++] = (uint64_t)c->n.id;
	/* sort */
	for (size_t i = 1; i < k; i++) {
		uint64_t v = (*ids)[i];
		size_t j = i;

		if ((*ids)[j - 1] <= v)
			continue;
		/* binary insertion keeps this fast for mostly sorted input */
		{
			size_t lo = 0, hi = i;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if ((*ids)[mid] < v)
					lo = mid + 1;
				else
					hi = mid;
			}
			memmove(&(*ids)[lo + 1], &(*ids)[lo], (i - lo) * sizeof(uint64_t));
			(*ids)[lo] = v;
		}
	}
	*n = k;
	return 0;
}

static bool has_id(const uint64_t *ids, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Filter JSON text and hash for node id. */
static char *filter_of(struct mwg_tailnet *tn, struct policy_compiled *pc, int64_t id,
		       uint64_t *hash)
{
	struct policy_filter *f = NULL;
	cJSON *j;
	char *s;

	if (!pc || policy_node_filter(pc, (uint64_t)id, &f)) {
		*hash = 0;
		return strdup("null");
	}
	j = policy_filter_to_json(f);
	*hash = policy_filter_hash(f) | 1;
	policy_filter_free(f);
	s = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	(void)tn;
	return s;
}

/* ---- streams ---- */

static void stream_unref(struct mwg_stream *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	mwg_buf_free(&s->q);
	pthread_mutex_destroy(&s->lock);
	sodium_memzero(s->k, sizeof(s->k));
	free(s);
}

/* Queues one sealed message; ending closes the stream after it. */
static void stream_send(struct mwg_stream *s, const char *plain, bool ending)
{
	char *text = mwg_reply_text(plain, s->req);
	char *line = text ? mwg_seal_line(s->k, &s->tn->gen, text, strlen(text)) : NULL;
	bool resume = false;

	free(text);
	pthread_mutex_lock(&s->lock);
	if (line && !s->gone && !s->ending) {
		size_t len = strlen(line);

		/* A client that does not read is cut off (after what is queued)
		 * instead of growing the queue without bound; it reconnects and
		 * gets a whole netmap. So is any stream while all of them
		 * together hold max_queued_bytes. */
		if (s->q.len - s->qoff + len > MWG_STREAM_QUEUE_MAX ||
		    __atomic_load_n(&s->tn->queued, __ATOMIC_RELAXED) + len >
		    s->tn->cfg->max_queued_bytes) {
			s->ending = true;
		} else if (mwg_buf_append(&s->q, line, len) == 0) {
			__atomic_add_fetch(&s->tn->queued, len, __ATOMIC_RELAXED);
			s->messages++;
		}
	}
	if (ending)
		s->ending = true;
	if (s->suspended && !s->gone) {
		s->suspended = false;
		resume = s->conn != NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(line);
	if (resume && s->tn->resume)
		s->tn->resume(s->conn);
}

ssize_t mwg_stream_read(struct mwg_stream *s, char *buf, size_t max)
{
	ssize_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->q.len > s->qoff) {
		size_t avail = s->q.len - s->qoff;

		n = (ssize_t)(avail < max ? avail : max);
		memcpy(buf, s->q.data + s->qoff, (size_t)n);
		s->qoff += (size_t)n;
		__atomic_sub_fetch(&s->tn->queued, (size_t)n, __ATOMIC_RELAXED);
		if (s->qoff == s->q.len) {
			s->q.len = s->qoff = 0;
			/* idle streams should not keep a big full map's buffer */
			if (s->q.cap > 16 * 1024)
				mwg_buf_free(&s->q);
		}
	} else if (s->ending) {
		n = -1;
	} else {
		s->suspended = true;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

char *mwg_stream_pop_line(struct mwg_stream *s)
{
	char *line = NULL, *nl;

	pthread_mutex_lock(&s->lock);
	if (s->q.len > s->qoff && (nl = memchr(s->q.data + s->qoff, '\n', s->q.len - s->qoff))) {
		size_t n = (size_t)(nl - (s->q.data + s->qoff));

		line = strndup(s->q.data + s->qoff, n);
		s->qoff += n + 1;
		__atomic_sub_fetch(&s->tn->queued, n + 1, __ATOMIC_RELAXED);
		if (s->qoff == s->q.len)
			s->q.len = s->qoff = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return line;
}

static void end_streams(struct mwg_tailnet *tn, struct cnode *c, const char *reason)
{
	char msg[160];
	struct mwg_stream *s;

	snprintf(msg, sizeof(msg), "{\"type\":\"goodbye\",\"reason\":\"%s\"}", reason);
	for (s = c->streams; s; s = s->next)
		stream_send(s, msg, true);
	(void)tn;
}

/* Self object JSON for c. */
static char *self_json(struct mwg_tailnet *tn, struct cnode *c)
{
	cJSON *j = mwg_netmap_self(&c->n, tn->cfg);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

static void deliver(struct mwg_tailnet *tn, struct mwg_stream *s, struct mwg_delta *d)
{
	char *m = mwg_delta_render(d, tn->seq);

	if (m)
		stream_send(s, m, false);
	free(m);
}

/* Adds a filter update to d if s's filter changed (JSON only built then). */
static void filter_check(struct mwg_tailnet *tn, struct mwg_stream *s, struct mwg_delta *d)
{
	struct policy_filter *f = NULL;
	uint64_t h = 0;
	char *js = NULL;

	if (tn->pc && !policy_node_filter(tn->pc, (uint64_t)s->node_id, &f))
		h = policy_filter_hash(f) | 1;
	if (h != s->filter_hash) {
		if (f) {
			cJSON *j = policy_filter_to_json(f);

			js = j ? cJSON_PrintUnformatted(j) : NULL;
			cJSON_Delete(j);
		} else {
			js = strdup("null");
		}
		if (js) {
			s->filter_hash = h;
			free(d->filter);
			d->filter = js;
		}
	}
	policy_filter_free(f);
}

/* ---- pending deltas: one message per stream per change batch ---- */

enum { OP_NONE, OP_ADD, OP_CHANGE, OP_REMOVE };

struct mwg_pend {
	uint64_t id;		/* 0 = empty slot */
	int op;
};

static void pend_mark(struct mwg_tailnet *tn, struct mwg_stream *s)
{
	if (s->pending)
		return;
	s->pending = true;
	s->pend_next = tn->pending;
	tn->pending = s;
}

static struct mwg_pend *pend_slot(struct mwg_pend *t, size_t cap, uint64_t id)
{
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ull) & (cap - 1);

	while (t[i].id && t[i].id != id)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

/* Merges op for peer id into s's pending delta. */
static void pend_peer(struct mwg_tailnet *tn, struct mwg_stream *s, uint64_t id, int op)
{
	struct mwg_pend *e;

	if ((s->pend_used + 1) * 2 > s->pend_cap) {
		size_t cap = s->pend_cap ? s->pend_cap * 2 : 16, i;
		struct mwg_pend *t = calloc(cap, sizeof(*t));

		if (!t)
			return;
		for (i = 0; i < s->pend_cap; i++)
			if (s->pend[i].id)
				*pend_slot(t, cap, s->pend[i].id) = s->pend[i];
		free(s->pend);
		s->pend = t;
		s->pend_cap = cap;
	}
	e = pend_slot(s->pend, s->pend_cap, id);
	if (!e->id) {
		e->id = id;
		e->op = op;
		s->pend_used++;
	} else if (e->op == OP_ADD && op == OP_REMOVE) {
		e->op = OP_NONE;	/* never seen by the client */
	} else if (e->op == OP_ADD && op == OP_CHANGE) {
		/* still an add, with the newest content */
	} else if (e->op == OP_REMOVE && op != OP_REMOVE) {
		e->op = OP_CHANGE;	/* client has an old copy: replace it */
	} else if (e->op == OP_NONE && op == OP_CHANGE) {
		/* added and removed in this batch, then changed: stays gone */
	} else {
		e->op = op;
	}
	pend_mark(tn, s);
}

static void pend_filter(struct mwg_tailnet *tn, struct mwg_stream *s)
{
	s->pend_filter = true;
	pend_mark(tn, s);
}

static void pend_self(struct mwg_tailnet *tn, struct mwg_stream *s)
{
	s->pend_self = true;
	pend_mark(tn, s);
}

static void pend_clear(struct mwg_stream *s)
{
	free(s->pend);
	s->pend = NULL;
	s->pend_cap = s->pend_used = 0;
	s->pend_self = s->pend_filter = s->pending = false;
	s->pend_next = NULL;
}

static void pend_unlink(struct mwg_tailnet *tn, struct mwg_stream *s)
{
	struct mwg_stream **pp;

	if (!s->pending)
		return;
	for (pp = &tn->pending; *pp; pp = &(*pp)->pend_next) {
		if (*pp == s) {
			*pp = s->pend_next;
			break;
		}
	}
	pend_clear(s);
}

/* Renders and queues every pending delta (end of a change batch). */
static void flush(struct mwg_tailnet *tn)
{
	struct mwg_stream *s, *next;

	for (s = tn->pending; s; s = next) {
		struct cnode *self = s->node_id > 0 ? cfind(tn, s->node_id) : NULL;
		struct mwg_delta d;
		size_t i;

		next = s->pend_next;
		mwg_delta_init(&d);
		if (s->pend_self && self) {
			char *js = self_json(tn, self);
			uint64_t h = fnv(js);

			if (js && h != s->self_hash) {
				s->self_hash = h;
				d.self = js;
			} else {
				free(js);
			}
		}
		for (i = 0; i < s->pend_cap; i++) {
			struct mwg_pend *e = &s->pend[i];
			struct cnode *p;

			if (!e->id || e->op == OP_NONE)
				continue;
			if (e->op == OP_REMOVE) {
				mwg_delta_remove_peer(&d, e->id);
				continue;
			}
			p = cfind(tn, (int64_t)e->id);
			if (!p)
				continue;
			if (e->op == OP_ADD)
				mwg_delta_add_peer(&d, p->peer_json);
			else
				mwg_delta_change_peer(&d, p->peer_json);
		}
		if (s->pend_filter && self)
			filter_check(tn, s, &d);
		deliver(tn, s, &d);
		mwg_delta_free(&d);
		pend_clear(s);
	}
	tn->pending = NULL;
}

/* ---- applying changes ---- */

/* One node changed (or vanished). */
static int apply_node(struct mwg_tailnet *tn, int64_t id)
{
	struct mwg_node fresh;
	struct mwg_err e = { 0 };
	struct cnode *c = cfind(tn, id);
	struct policy_delta pd = { 0 };
	uint64_t *old_peers = NULL, *viewers = NULL;
	size_t n_old = 0, n_view = 0, i;
	bool deleted = false, old_el = c && c->eligible, new_el, changed;
	uint64_t old_hash = c ? c->peer_hash : 0;
	int r;

	r = mwg_store_node_get(tn->store, id, &fresh, &e);
	if (r && e.status == 404)
		deleted = true;
	else if (r)
		return -1;
	new_el = !deleted && mwg_node_eligible(&fresh, mwg_now());
	if (c && c->streams && old_el)
		peers_of(tn, tn->pc, id, &old_peers, &n_old);

	if (tn->pc) {
		if (new_el) {
			struct mwg_pnode pn;

			if (!mwg_pnode_fill(&pn, &fresh)) {
				policy_compiled_update_node(tn->pc, &pn.pn, &pd);
				mwg_pnode_release(&pn);
			}
		} else if (old_el) {
			policy_compiled_remove_node(tn->pc, (uint64_t)id, &pd);
		}
	}
	if (deleted) {
		if (c) {
			struct mwg_stream *s;

			end_streams(tn, c, "node deleted");
			/* streams stay referenced until their connection closes */
			for (s = c->streams; s; s = s->next)
				s->node_id = -s->node_id;
			c->streams = NULL;
			cremove(tn, id);
			c = NULL;
		}
	} else {
		struct mwg_stream *keep = c ? c->streams : NULL;

		c = cput(tn, &fresh);
		if (!c) {
			mwg_node_clear(&fresh);
			free(old_peers);
			policy_delta_free(&pd);
			return -1;
		}
		c->streams = keep;
	}
	changed = c ? c->peer_hash != old_hash : false;

	/* Who sees the node now. */
	if (new_el)
		peers_of(tn, tn->pc, id, &viewers, &n_view);

	if (tn->pc) {
		for (i = 0; i < n_view; i++) {
			struct cnode *v = cfind(tn, (int64_t)viewers[i]);
			bool added = has_id(pd.peers_changed, pd.n_peers_changed, viewers[i]);
			bool fch = has_id(pd.filters_changed, pd.n_filters_changed, viewers[i]);
			struct mwg_stream *s;

			if (!v || !v->streams || (!added && !changed && !fch))
				continue;
			for (s = v->streams; s; s = s->next) {
				if (added || changed)
					pend_peer(tn, s, (uint64_t)id, added ? OP_ADD : OP_CHANGE);
				if (fch)
					pend_filter(tn, s);
			}
		}
		for (i = 0; i < pd.n_peers_changed; i++) {
			struct cnode *v = cfind(tn, (int64_t)pd.peers_changed[i]);
			struct mwg_stream *s;

			if (!v || v->n.id == id || !v->streams ||
			    has_id(viewers, n_view, pd.peers_changed[i]))
				continue;
			for (s = v->streams; s; s = s->next) {
				pend_peer(tn, s, (uint64_t)id, OP_REMOVE);
				pend_filter(tn, s);
			}
		}
		for (i = 0; i < pd.n_filters_changed; i++) {
			struct cnode *v = cfind(tn, (int64_t)pd.filters_changed[i]);
			struct mwg_stream *s;

			if (!v || v->n.id == id || !v->streams)
				continue;
			for (s = v->streams; s; s = s->next)
				pend_filter(tn, s);
		}
	} else if (old_el || new_el) {
		FOREACH_CNODE(tn, v) {
			struct mwg_stream *s;

			if (v->n.id == id || !v->streams || !v->eligible)
				continue;
			if (old_el == new_el && !changed)
				break;
			for (s = v->streams; s; s = s->next)
				pend_peer(tn, s, (uint64_t)id,
					  !old_el ? OP_ADD : !new_el ? OP_REMOVE : OP_CHANGE);
		}
	}

	/* The node's own streams. */
	if (c && c->streams) {
		if (!new_el) {
			end_streams(tn, c, c->n.pending ? "pending approval" : "node key expired");
		} else {
			uint64_t *added = NULL, *removed = NULL;
			size_t na = 0, nr = 0;
			struct mwg_stream *s;

			mwg_ids_diff(old_peers, n_old, viewers, n_view, &added, &na, &removed, &nr);
			for (s = c->streams; s; s = s->next) {
				pend_self(tn, s);
				pend_filter(tn, s);
				for (i = 0; i < na; i++)
					pend_peer(tn, s, added[i], OP_ADD);
				for (i = 0; i < nr; i++)
					pend_peer(tn, s, removed[i], OP_REMOVE);
			}
			free(added);
			free(removed);
		}
	}
	free(old_peers);
	free(viewers);
	policy_delta_free(&pd);

	/* autoApprovers: approve what the policy allows (a new change follows). */
	if (c && tn->pol && new_el) {
		cJSON *routes = mwg_policy_auto_routes(tn->pol, &c->n);

		if (routes) {
			mwg_store_node_set_approved_routes(tn->store, id, routes, NULL);
			cJSON_Delete(routes);
			tn->kicked = true;
		}
	}
	return 0;
}

static int apply_policy(struct mwg_tailnet *tn, struct mwg_err *e)
{
	struct policy *np = NULL;
	struct policy_compiled *npc = NULL;

	if (load_policy(tn, &np, e)) {
		fprintf(stderr, "meshwg-control: %s; keeping the old policy\n", e->msg);
		return -1;
	}
	if (np && !(npc = compile_all(tn, np))) {
		policy_free(np);
		return mwg_fail(e, 500, "policy compile failed; keeping the old policy");
	}
	FOREACH_CNODE(tn, v) {
		uint64_t *o = NULL, *nw = NULL, *added = NULL, *removed = NULL;
		size_t no = 0, nn = 0, na = 0, nr = 0, i;
		struct mwg_stream *s;

		if (!v->streams)
			continue;
		peers_of(tn, tn->pc, v->n.id, &o, &no);
		peers_of(tn, npc, v->n.id, &nw, &nn);
		mwg_ids_diff(o, no, nw, nn, &added, &na, &removed, &nr);
		for (s = v->streams; s; s = s->next) {
			for (i = 0; i < na; i++)
				pend_peer(tn, s, added[i], OP_ADD);
			for (i = 0; i < nr; i++)
				pend_peer(tn, s, removed[i], OP_REMOVE);
			pend_filter(tn, s);	/* compared at flush, under the new policy */
		}
		free(o);
		free(nw);
		free(added);
		free(removed);
	}
	policy_compiled_free(tn->pc);
	policy_free(tn->pol);
	tn->pc = npc;
	tn->pol = np;
	/* routes newly auto-approved by the new policy */
	if (np) {
		FOREACH_CNODE(tn, c) {
			cJSON *routes = c->eligible ? mwg_policy_auto_routes(np, &c->n) : NULL;

			if (routes) {
				mwg_store_node_set_approved_routes(tn->store, c->n.id, routes, NULL);
				cJSON_Delete(routes);
			}
		}
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int mwg_tailnet_sync(struct mwg_tailnet *tn, struct mwg_err *e)
{
	struct mwg_change *ch = NULL;
	size_t n = 0, i, k = 0;
	int64_t *ids;
	bool policy = false;

	pthread_mutex_lock(&tn->sync_lock);
	if (mwg_store_changes_since(tn->store, tn->seq, &ch, &n, e)) {
		pthread_mutex_unlock(&tn->sync_lock);
		return -1;
	}
	if (!n) {
		pthread_mutex_unlock(&tn->sync_lock);
		free(ch);
		return 0;
	}
	ids = calloc(n, sizeof(*ids));
	if (!ids) {
		pthread_mutex_unlock(&tn->sync_lock);
		free(ch);
		return mwg_fail(e, 500, "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(ch[i].kind, "policy"))
			policy = true;
		else if (!strcmp(ch[i].kind, "node") || !strcmp(ch[i].kind, "node_deleted"))
			ids[k++] = ch[i].node_id;
	}
	qsort(ids, k, sizeof(*ids), cmp_i64);
	pthread_mutex_lock(&tn->lock);
	tn->seq = ch[n - 1].seq;
	for (i = 0; i < k; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			apply_node(tn, ids[i]);
	if (policy)
		apply_policy(tn, e);
	flush(tn);
	pthread_mutex_unlock(&tn->lock);
	pthread_mutex_unlock(&tn->sync_lock);
	free(ids);
	free(ch);
	return 0;
}

void mwg_tailnet_keepalive(struct mwg_tailnet *tn)
{
	int64_t *ids;
	size_t k = 0;

	pthread_mutex_lock(&tn->lock);
	ids = malloc((tn->count + 1) * sizeof(*ids));
	FOREACH_CNODE(tn, c) {
		struct mwg_stream *s;

		for (s = c->streams; s; s = s->next)
			stream_send(s, "{\"type\":\"keepalive\"}", false);
		if (c->streams && ids)
			ids[k++] = c->n.id;
	}
	pthread_mutex_unlock(&tn->lock);
	if (ids && k)
		mwg_store_touch(tn->store, ids, k, NULL);
	free(ids);
}

/* Nodes whose key expired since the last look. */
static void expiry_scan(struct mwg_tailnet *tn)
{
	int64_t now = mwg_now(), *ids = NULL;
	size_t k = 0, cap = 0, i;

	pthread_mutex_lock(&tn->lock);
	FOREACH_CNODE(tn, c) {
		if (c->eligible && mwg_node_expired(&c->n, now)) {
			if (k == cap) {
				int64_t *x = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));

				if (!x)
					break;
				ids = x;
			}
			ids[k++] = c->n.id;
		}
	}
	for (i = 0; i < k; i++)
		apply_node(tn, ids[i]);
	flush(tn);
	pthread_mutex_unlock(&tn->lock);
	free(ids);
}

/* Ephemeral nodes are looked at twice per timeout, at most every 30 s. */
static int64_t gc_interval(const struct mwg_config *c)
{
	int64_t i = (c->ephemeral_timeout < c->pending_expiry ? c->ephemeral_timeout :
		     c->pending_expiry) / 2;

	return i < 1 ? 1 : i > 30 ? 30 : i;
}

static void *watcher(void *arg)
{
	struct mwg_tailnet *tn = arg;

	for (;;) {
		struct timespec ts;
		struct mwg_err e = { 0 };
		int64_t now;

		pthread_mutex_lock(&tn->lock);
		if (!tn->kicked && !tn->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += tn->cfg->change_poll_ms / 1000;
			ts.tv_nsec += (long)(tn->cfg->change_poll_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&tn->cond, &tn->lock, &ts);
		}
		tn->kicked = false;
		if (tn->stop) {
			pthread_mutex_unlock(&tn->lock);
			break;
		}
		pthread_mutex_unlock(&tn->lock);
		if (mwg_tailnet_sync(tn, &e))
			fprintf(stderr, "meshwg-control: change log: %s\n", e.msg);
		now = mwg_now();
		if (now - tn->last_expiry_scan >= 5) {
			tn->last_expiry_scan = now;
			expiry_scan(tn);
		}
		if (now - tn->last_gc >= gc_interval(tn->cfg)) {
			tn->last_gc = now;
			if (mwg_store_ephemeral_gc(tn->store, tn->cfg->ephemeral_timeout,
						   3 * tn->cfg->keepalive_interval + 60, &e) > 0)
				tn->kicked = true;
			if (mwg_store_pending_gc(tn->store, tn->cfg->pending_expiry, &e) > 0)
				tn->kicked = true;
		}
		if (now - tn->last_keepalive >= tn->cfg->keepalive_interval) {
			tn->last_keepalive = now;
			mwg_tailnet_keepalive(tn);
		}
	}
	return NULL;
}

void mwg_tailnet_kick(struct mwg_tailnet *tn)
{
	pthread_mutex_lock(&tn->lock);
	tn->kicked = true;
	pthread_cond_signal(&tn->cond);
	pthread_mutex_unlock(&tn->lock);
}

int mwg_tailnet_start(struct mwg_tailnet *tn)
{
	tn->last_keepalive = tn->last_gc = tn->last_expiry_scan = mwg_now();
	if (pthread_create(&tn->thread, NULL, watcher, tn))
		return -1;
	tn->running = true;
	return 0;
}

void mwg_tailnet_stop(struct mwg_tailnet *tn)
{
	if (!tn->running)
		return;
	pthread_mutex_lock(&tn->lock);
	tn->stop = true;
	pthread_cond_signal(&tn->cond);
	pthread_mutex_unlock(&tn->lock);
	pthread_join(tn->thread, NULL);
	tn->running = false;
}

int mwg_tailnet_new(const struct mwg_config *cfg, struct mwg_store *st,
		    const uint8_t server_priv[32], struct mwg_tailnet **out, struct mwg_err *e)
{
	struct mwg_tailnet *tn = calloc(1, sizeof(*tn));
	struct mwg_node *nodes = NULL;
	size_t n = 0, i;

	if (!tn)
		return mwg_fail(e, 500, "out of memory");
	tn->cfg = cfg;
	tn->store = st;
	tn->server_priv = server_priv;
	mwg_nonce_gen_init(&tn->gen);
	pthread_mutex_init(&tn->lock, NULL);
	pthread_mutex_init(&tn->sync_lock, NULL);
	pthread_cond_init(&tn->cond, NULL);
	tn->nbuckets = 1024;
	tn->buckets = calloc(tn->nbuckets, sizeof(*tn->buckets));
	if (!tn->buckets) {
		mwg_tailnet_free(tn);
		return mwg_fail(e, 500, "out of memory");
	}
	/* Position in the change log first, so nothing between is missed. */
	if (mwg_store_change_head(st, &tn->seq, e) || mwg_store_node_list(st, &nodes, &n, e)) {
		mwg_tailnet_free(tn);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!cput(tn, &nodes[i])) {
			mwg_nodes_free(nodes, n);
			mwg_tailnet_free(tn);
			return mwg_fail(e, 500, "out of memory");
		}
	}
	mwg_nodes_free(nodes, n);
	if (load_policy(tn, &tn->pol, e)) {
		mwg_tailnet_free(tn);
		return -1;
	}
	if (tn->pol && !(tn->pc = compile_all(tn, tn->pol))) {
		mwg_tailnet_free(tn);
		return mwg_fail(e, 500, "policy compile failed");
	}
	*out = tn;
	return 0;
}

void mwg_tailnet_free(struct mwg_tailnet *tn)
{
	size_t i;

	if (!tn)
		return;
	mwg_tailnet_stop(tn);
	for (i = 0; tn->buckets && i < tn->nbuckets; i++) {
		struct cnode *c = tn->buckets[i], *nx;

		for (; c; c = nx) {
			nx = c->next;
			mwg_node_clear(&c->n);
			free(c->peer_json);
			free(c);
		}
	}
	free(tn->buckets);
	policy_compiled_free(tn->pc);
	policy_free(tn->pol);
	pthread_mutex_destroy(&tn->lock);
	pthread_mutex_destroy(&tn->sync_lock);
	pthread_cond_destroy(&tn->cond);
	pthread_mutex_destroy(&tn->gen.lock);
	free(tn);
}

/* Whole netmap of c; sets the stream's hashes when s is given. */
static char *full_map(struct mwg_tailnet *tn, struct cnode *c, struct mwg_stream *s)
{
	struct mwg_buf b = { 0 };
	uint64_t *ids = NULL, fh;
	size_t n = 0, i, k = 0;
	char *self = self_json(tn, c), *filter = filter_of(tn, tn->pc, c->n.id, &fh), *derp, *dns;
	const struct mwg_node **peers;
	cJSON *dj;
	int r = 0;

	peers_of(tn, tn->pc, c->n.id, &ids, &n);
	peers = calloc(n + 1, sizeof(*peers));
	r |= mwg_buf_printf(&b, "{\"type\":\"full\",\"seq\":%lld,\"self\":%s,\"peers\":[",
			    (long long)tn->seq, self ? self : "null");
	for (i = 0; i < n; i++) {
		struct cnode *p = cfind(tn, (int64_t)ids[i]);

		if (!p)
			continue;
		if (k)
			r |= mwg_buf_append(&b, ",", 1);
		r |= mwg_buf_append(&b, p->peer_json, strlen(p->peer_json));
		if (peers)
			peers[k] = &p->n;
		k++;
	}
	derp = cJSON_PrintUnformatted(tn->cfg->derp_map);
	dj = mwg_netmap_dns(tn->cfg, &c->n, peers, peers ? k : 0);
	dns = dj ? cJSON_PrintUnformatted(dj) : NULL;
	cJSON_Delete(dj);
	r |= mwg_buf_printf(&b, "],\"packet_filter\":%s,\"derp_map\":%s,\"dns\":%s}",
			    filter ? filter : "null", derp ? derp : "null", dns ? dns : "null");
	if (s) {
		s->self_hash = fnv(self);
		s->filter_hash = fh;
	}
	free(self);
	free(filter);
	free(derp);
	free(dns);
	free(peers);
	free(ids);
	if (r || !self) {
		mwg_buf_free(&b);
		return NULL;
	}
	return b.data;
}

char *mwg_tailnet_full_map(struct mwg_tailnet *tn, int64_t node_id, struct mwg_err *e)
{
	struct cnode *c;
	char *m = NULL;

	pthread_mutex_lock(&tn->lock);
	c = cfind(tn, node_id);
	if (!c)
		mwg_fail(e, 404, "unknown node");
	else if (!c->eligible)
		mwg_fail(e, 403, c->n.pending ? "node is pending approval" : "node key expired");
	else if (!(m = full_map(tn, c, NULL)))
		mwg_fail(e, 500, "out of memory");
	pthread_mutex_unlock(&tn->lock);
	return m;
}

struct mwg_stream *mwg_tailnet_stream_open(struct mwg_tailnet *tn, int64_t node_id,
					   const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
					   void *conn, struct mwg_err *e)
{
	struct mwg_stream *s = calloc(1, sizeof(*s));
	struct cnode *c;
	char *m;

	if (!s) {
		mwg_fail(e, 500, "out of memory");
		return NULL;
	}
	s->tn = tn;
	s->node_id = node_id;
	s->conn = conn;
	memcpy(s->req, req, MWG_NONCE_LEN);
	s->refs = 2;	/* the tailnet's list and the HTTP side */
	pthread_mutex_init(&s->lock, NULL);
	if (crypto_box_beforenm(s->k, mkey, tn->server_priv)) {
		free(s);
		mwg_fail(e, 400, "bad machine key");
		return NULL;
	}
	pthread_mutex_lock(&tn->lock);
	if (tn->closing) {
		mwg_fail(e, 503, "server shutting down");
		goto fail;
	}
	c = cfind(tn, node_id);
	if (!c || !c->eligible) {
		mwg_fail(e, c ? 403 : 404, !c ? "unknown node" :
			 c->n.pending ? "node is pending approval" : "node key expired");
		goto fail;
	}
	m = full_map(tn, c, s);
	if (!m) {
		mwg_fail(e, 500, "out of memory");
		goto fail;
	}
	/* One stream per node: a new one replaces the old ones (each may hold
	 * MWG_STREAM_QUEUE_MAX; a client reconnecting has given up on them). */
	end_streams(tn, c, "replaced by a newer stream of this node");
	stream_send(s, m, false);
	free(m);
	s->next = c->streams;
	c->streams = s;
	tn->nstreams++;
	pthread_mutex_unlock(&tn->lock);
	if (!mwg_store_node_set_online(tn->store, node_id, true, NULL))
		mwg_tailnet_kick(tn);
	return s;
fail:
	pthread_mutex_unlock(&tn->lock);
	pthread_mutex_destroy(&s->lock);
	mwg_buf_free(&s->q);
	free(s);
	return NULL;
}

void mwg_tailnet_stream_close(struct mwg_stream *s)
{
	struct mwg_tailnet *tn = s->tn;
	struct cnode *c;
	bool last = false;
	int64_t id;

	pthread_mutex_lock(&s->lock);
	s->gone = true;
	/* nobody reads what is still queued: it leaves the global budget */
	__atomic_sub_fetch(&tn->queued, s->q.len - s->qoff, __ATOMIC_RELAXED);
	s->q.len = s->qoff = 0;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&tn->lock);
	pend_unlink(tn, s);
	id = s->node_id;
	c = id > 0 ? cfind(tn, id) : NULL;
	if (c) {
		struct mwg_stream **pp;

		for (pp = &c->streams; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
		last = c->streams == NULL;
	}
	tn->nstreams--;
	pthread_mutex_unlock(&tn->lock);
	stream_unref(s);	/* the tailnet's reference */
	if (last && id > 0 && !mwg_store_node_set_online(tn->store, id, false, NULL))
		mwg_tailnet_kick(tn);
	stream_unref(s);	/* the HTTP side's */
}

size_t mwg_tailnet_end_all(struct mwg_tailnet *tn, const char *reason)
{
	size_t n;

	pthread_mutex_lock(&tn->lock);
	tn->closing = true;
	FOREACH_CNODE(tn, c)
		end_streams(tn, c, reason);
	n = tn->nstreams;
	pthread_mutex_unlock(&tn->lock);
	return n;
}

size_t mwg_tailnet_nstreams(struct mwg_tailnet *tn)
{
	size_t n;

	pthread_mutex_lock(&tn->lock);
	n = tn->nstreams;
	pthread_mutex_unlock(&tn->lock);
	return n;
}

cJSON *mwg_tailnet_stats(struct mwg_tailnet *tn)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	pthread_mutex_lock(&tn->lock);
	cJSON_AddNumberToObject(o, "nodes", (double)tn->count);
	cJSON_AddNumberToObject(o, "streams", (double)tn->nstreams);
	cJSON_AddNumberToObject(o, "seq", (double)tn->seq);
	cJSON_AddBoolToObject(o, "policy", tn->pol != NULL);
	pthread_mutex_unlock(&tn->lock);
	return o;
}
