// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Deltas applied by the peers they name (agent/kern_peers.c: kids,
 * kdelta_from_msg, kpeers_diff_some, kpeers_merge), checked against the full
 * path (kpeers_from_netmap + kpeers_diff + kpeers_move) on random sequences
 * of FULL and DELTA messages: the same operations must be sent, the same peer
 * set recorded, and that set must be what the kernel (kpeers_apply_ops) has.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kern_peers.h"

/* ---- netmap text ---- */

static void key_text(char *out, unsigned n)
{
	snprintf(out, 80, "nodekey:%08x%056x", n, 0x77);
}

static void pfx_text(unsigned i, char *buf)
{
	if (i < 16)
		sprintf(buf, "10.9.%u.0/24", i);
	else
		sprintf(buf, "fd00:9::%x/128", i);
}

static void ep_text(int i, char *buf)
{
	if (i < 3)
		sprintf(buf, "192.0.2.%d:41641", i + 1);
	else
		sprintf(buf, "[2001:db8::%d]:41641", i);
}

/* ---- the model netmap: peers by id ---- */

#define NIDS 24
#define NPFX 24
#define NEPS 6

struct mpeer {
	bool present;
	unsigned key;		/* key number, unique among present peers */
	uint32_t ips;		/* bit i: prefix i (each prefix one peer at most) */
	int ep;			/* -1: none */
};

struct model {
	struct mpeer p[NIDS];
	unsigned next_key;
	bool filter;		/* which of two filters: only matters as "it changed" */
};

static cJSON *peer_json(const struct model *m, unsigned id)
{
	const struct mpeer *mp = &m->p[id];
	cJSON *p = cJSON_CreateObject(), *a;
	char buf[80];
	unsigned b;

	key_text(buf, mp->key);
	cJSON_AddNumberToObject(p, "id", id);
	cJSON_AddStringToObject(p, "node_key", buf);
	a = cJSON_AddArrayToObject(p, "addresses");
	for (b = 0; b < NPFX; b++) {
		if (mp->ips & (1u << b)) {
			pfx_text(b, buf);
			cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		}
	}
	cJSON_AddArrayToObject(p, "allowed_ips");
	a = cJSON_AddArrayToObject(p, "endpoints");
	if (mp->ep >= 0) {
		ep_text(mp->ep, buf);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
	return p;
}

static cJSON *model_netmap(const struct model *m)
{
	cJSON *nm = cJSON_CreateObject(), *arr;
	unsigned i;

	cJSON_AddStringToObject(nm, "type", "full");
	arr = cJSON_AddArrayToObject(nm, "peers");
	for (i = 0; i < NIDS; i++)
		if (m->p[i].present)
			cJSON_AddItemToArray(arr, peer_json(m, i));
	cJSON_AddNullToObject(nm, "packet_filter");
	return nm;
}

static uint32_t owned(const struct model *m)
{
	uint32_t o = 0;
	unsigned i;

	for (i = 0; i < NIDS; i++)
		if (m->p[i].present)
			o |= m->p[i].ips;
	return o;
}

/* Free prefixes, each taken with probability 1/4. */
static uint32_t some_free(const struct model *m)
{
	uint32_t o = owned(m), r = 0;
	unsigned b;

	for (b = 0; b < NPFX; b++)
		if (!(o & (1u << b)) && rand() % 4 == 0)
			r |= 1u << b;
	return r;
}

static void random_model(struct model *m)
{
	unsigned i;

	for (i = 0; i < NIDS; i++) {
		m->p[i].present = rand() % 10 < 6;
		m->p[i].key = m->next_key++;
		m->p[i].ips = 0;
		m->p[i].ep = rand() % (NEPS + 1) - 1;
	}
	for (i = 0; i < NIDS; i++)
		if (m->p[i].present)
			m->p[i].ips = some_free(m);
}

/*
 * A random delta: the model changes, and the message says how (only the
 * parts that changed; changed peers whole). Each peer is named at most once.
 */
static cJSON *random_delta(struct model *m, bool *filter_changed)
{
	cJSON *d = cJSON_CreateObject(), *added = NULL, *changed = NULL, *removed = NULL;
	unsigned i, n = 0;

	cJSON_AddStringToObject(d, "type", "delta");
	for (i = 0; i < NIDS; i++) {
		struct mpeer *mp = &m->p[i];
		int r = rand() % 100;

		if (r >= 15)
			continue;
		n++;
		if (!mp->present) {
			mp->present = true;
			mp->key = m->next_key++;
			mp->ips = 0;
			mp->ips = some_free(m);
			mp->ep = rand() % (NEPS + 1) - 1;
			if (!added)
				added = cJSON_AddArrayToObject(d, "peers_added");
			cJSON_AddItemToArray(added, peer_json(m, i));
			continue;
		}
		if (r < 4) {
			mp->present = false;
			if (!removed)
				removed = cJSON_AddArrayToObject(d, "peers_removed");
			cJSON_AddItemToArray(removed, cJSON_CreateNumber(i));
			continue;
		}
		switch (rand() % 5) {
		case 0:
			mp->key = m->next_key++;	/* key rotation */
			break;
		case 1:
			mp->ep = rand() % (NEPS + 1) - 1;
			break;
		case 2:				/* gives up some, takes some */
			mp->ips &= (uint32_t)rand();
			mp->ips |= some_free(m);
			break;
		case 3:				/* "online" changes: nothing of ours */
			break;
		default:
			mp->key = m->next_key++;
			mp->ep = rand() % (NEPS + 1) - 1;
			mp->ips = some_free(m);
			break;
		}
		if (!changed)
			changed = cJSON_AddArrayToObject(d, "peers_changed");
		cJSON_AddItemToArray(changed, peer_json(m, i));
	}
	*filter_changed = rand() % 4 == 0;
	if (*filter_changed || !n) {
		m->filter = !m->filter;
		*filter_changed = true;
		cJSON_AddNullToObject(d, "packet_filter");
	}
	return d;
}

/* ---- operations, in a comparable form ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per peer operation, sorted ("" when none). Caller frees. */
static char *ops_text(const struct mw_device *dev)
{
	const struct mw_peer *mp;
	const struct mw_allowedip *ip;
	char **lines = NULL, *out;
	size_t n = 0, len = 1, i;

	for_each_peer(dev, mp) {
		char line[2048], buf[80];
		int o;

		o = snprintf(line, sizeof(line), "%02x%02x%02x%02x f=%x",
			     mp->public_key[0], mp->public_key[1], mp->public_key[2],
			     mp->public_key[3], (unsigned)mp->flags);
		if (mp->flags & PEER_HAS_ENDPOINT) {
			kendpoint_format(&mp->endpoint, buf, sizeof(buf));
			o += snprintf(line + o, sizeof(line) - (size_t)o, " ep=%s", buf);
		}
		for_each_allowedip(mp, ip) {
			struct kprefix k = { .family = ip->family, .cidr = ip->cidr };

			memcpy(k.addr, ip->family == AF_INET ? (const void *)&ip->ip4 :
			       (const void *)&ip->ip6, ip->family == AF_INET ? 4 : 16);
			kprefix_format(&k, buf, sizeof(buf));
			o += snprintf(line + o, sizeof(line) - (size_t)o, " %s", buf);
		}
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		assert_non_null(lines);
		lines[n] = strdup(line);
		assert_non_null(lines[n]);
		len += strlen(line) + 1;
		n++;
	}
	qsort(lines, n, sizeof(*lines), str_cmp);
	out = calloc(1, len);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

/* The peer set as text (sorted), for equality. */
static char *set_text(const struct kpeers *s)
{
	struct mw_device dev = { 0 };
	struct kpeer *p;
	char *t;
	size_t i, j;

	kpeers_for_each(s, i, p) {
		struct mw_peer *mp = calloc(1, sizeof(*mp));

		assert_non_null(mp);
		memcpy(mp->public_key, p->key, KEY_LEN);
		mp->flags = (p->has_endpoint ? PEER_HAS_ENDPOINT : 0) |
			    (p->has_psk ? PEER_HAS_PRESHARED_KEY : 0);
		mp->persistent_keepalive_interval = p->keepalive;
		mp->endpoint = p->endpoint;
		for (j = 0; j < p->n_ips; j++) {
			struct mw_allowedip *ip = calloc(1, sizeof(*ip));

			assert_non_null(ip);
			ip->family = p->ips[j].family;
			ip->cidr = p->ips[j].cidr;
			memcpy(p->ips[j].family == AF_INET ? (void *)&ip->ip4 : (void *)&ip->ip6,
			       p->ips[j].addr, p->ips[j].family == AF_INET ? 4 : 16);
			peer_append_allowedip(mp, ip);
		}
		device_append_peer(&dev, mp);
	}
	t = ops_text(&dev);
	{
		struct mw_peer *mp, *next;

		for (mp = dev.first_peer; mp; mp = next) {
			struct mw_allowedip *ip, *in;

			next = mp->next;
			for (ip = mp->first_allowedip; ip; ip = in) {
				in = ip->next;
				free(ip);
			}
			free(mp);
		}
	}
	return t;
}

/* ---- kern_apply's peer phases, as kern.c runs them ---- */

struct side {
	struct kpeers have;	/* the bookkeeping */
	struct kpeers kernel;	/* what the kernel would have (kpeers_apply_ops) */
	char *sent[2];		/* ops of the narrowing phase, of the rest */
	unsigned built, changed, added, removed;
};

static void side_free(struct side *s)
{
	kpeers_free(&s->have);
	kpeers_free(&s->kernel);
	free(s->sent[0]);
	free(s->sent[1]);
	memset(s, 0, sizeof(*s));
}

/* want: all peers (dl NULL) or the delta's; split: the filter changes. */
static void run_phases(struct side *s, struct kpeers *want, const struct kdelta *dl, bool split)
{
	struct kdiff d;
	int phase;

	free(s->sent[0]);
	free(s->sent[1]);
	s->sent[0] = s->sent[1] = NULL;
	for (phase = split ? 0 : 1; phase < 2; phase++) {
		bool pre = phase == 0;

		if (dl)
			assert_int_equal(kpeers_diff_some(&s->have, want, dl->gone, dl->n_gone,
							  pre, &d), 0);
		else
			assert_int_equal(kpeers_diff(&s->have, want, pre, &d), 0);
		if (phase == (split ? 0 : 1)) {
			s->added = d.added;
			s->removed = d.removed;
			s->changed = d.changed;
		}
		s->sent[phase] = ops_text(pre ? d.pre : d.post);
		assert_int_equal(kpeers_apply_ops(&s->kernel, pre ? d.pre : d.post), 0);
		if (pre)
			assert_int_equal(kpeers_apply_ops(&s->have, d.pre), 0);
		else if (dl)
			assert_int_equal(kpeers_merge(&s->have, want, dl->gone, dl->n_gone), 0);
		else
			kpeers_move(&s->have, want);
		kdiff_free(&d);
	}
	if (!split)
		s->sent[0] = strdup("");
}

static void full_apply(struct side *s, const cJSON *nm, bool split)
{
	struct kpeers want;
	char err[256] = "";

	assert_int_equal(kpeers_from_netmap(&want, nm, false, err, sizeof(err)), 0);
	s->built = (unsigned)want.count;
	run_phases(s, &want, NULL, split);
	kpeers_free(&want);
}

/* mwgc_netmap_apply's job, done plainly: upsert by id, remove by id. */
static void netmap_apply_delta(cJSON *nm, const cJSON *delta)
{
	cJSON *peers = cJSON_GetObjectItem(nm, "peers");
	const cJSON *j;
	static const char *const named[2] = { "peers_added", "peers_changed" };
	int n;

	cJSON_ArrayForEach(j, cJSON_GetObjectItem(delta, "peers_removed")) {
		int i = 0;
		cJSON *p;

		cJSON_ArrayForEach(p, peers) {
			if (cJSON_GetObjectItem(p, "id")->valuedouble == j->valuedouble) {
				cJSON_DeleteItemFromArray(peers, i);
				break;
			}
			i++;
		}
	}
	for (n = 0; n < 2; n++) {
		cJSON_ArrayForEach(j, cJSON_GetObjectItem(delta, named[n])) {
			double id = cJSON_GetObjectItem(j, "id")->valuedouble;
			int i = 0;
			cJSON *p;

			cJSON_ArrayForEach(p, peers) {
				if (cJSON_GetObjectItem(p, "id")->valuedouble == id)
					break;
				i++;
			}
			if (p)
				cJSON_ReplaceItemInArray(peers, i, cJSON_Duplicate(j, 1));
			else
				cJSON_AddItemToArray(peers, cJSON_Duplicate(j, 1));
		}
	}
}

static void assert_same(const struct side *full, const struct side *delta)
{
	char *a, *b;

	assert_string_equal(full->sent[0], delta->sent[0]);
	assert_string_equal(full->sent[1], delta->sent[1]);
	assert_int_equal(full->added, delta->added);
	assert_int_equal(full->removed, delta->removed);
	assert_int_equal(full->changed, delta->changed);
	a = set_text(&full->have);
	b = set_text(&delta->have);
	assert_string_equal(a, b);
	free(b);
	b = set_text(&delta->kernel);	/* the bookkeeping is the kernel's truth */
	assert_string_equal(a, b);
	free(b);
	free(a);
}

/* ---- tests ---- */

static void test_random_deltas_match_full(void **state)
{
	struct side full = { 0 }, inc = { 0 };
	struct kids ids = { 0 };
	struct model m = { 0 };
	cJSON *nm = NULL;
	unsigned step, deltas = 0, key_changes_seen = 0;

	(void)state;
	srand(7061122);
	for (step = 0; step < 4000; step++) {
		if (step % 200 == 0) {
			/* a FULL (first message, reconnect): both sides apply it whole */
			random_model(&m);
			cJSON_Delete(nm);
			nm = model_netmap(&m);
			full_apply(&full, nm, step % 400 == 0);
			full_apply(&inc, nm, step % 400 == 0);
			if (step % 400) {
				assert_int_equal(kids_from_netmap(&ids, nm), 0);
			} else {	/* kern_apply's way: the ids as the peers are built */
				struct kpeers x;
				char err[200];

				assert_int_equal(kpeers_from_netmap_ids(&x, &ids, nm, false, err,
									sizeof(err)), 0);
				assert_int_equal(x.count, ids.count);
				kpeers_free(&x);
			}
			assert_true(ids.valid);
			assert_same(&full, &inc);
			continue;
		}
		{
			struct kdelta dl;
			bool split;
			cJSON *d = random_delta(&m, &split);
			unsigned named = (unsigned)(cJSON_GetArraySize(cJSON_GetObjectItem(d, "peers_added")) +
					  cJSON_GetArraySize(cJSON_GetObjectItem(d, "peers_changed")));
			cJSON *want_nm = model_netmap(&m);
			char *a, *b;

			netmap_apply_delta(nm, d);
			/* the netmap after the delta is the model's (same peers, same order
			 * not required: compare the peer sets) */
			a = cJSON_PrintUnformatted(cJSON_GetObjectItem(want_nm, "peers"));
			b = cJSON_PrintUnformatted(cJSON_GetObjectItem(nm, "peers"));
			assert_int_equal(strlen(a), strlen(b));
			free(a);
			free(b);
			full_apply(&full, nm, split);

			assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), 0);
			assert_int_equal(dl.built, named);	/* only what it names */
			key_changes_seen += dl.n_gone > 0;
			inc.built = dl.built;
			run_phases(&inc, &dl.want, &dl, split);
			kdelta_free(&dl);
			assert_same(&full, &inc);
			assert_int_equal(ids.count, (size_t)cJSON_GetArraySize(
						cJSON_GetObjectItem(nm, "peers")));
			deltas++;
			cJSON_Delete(want_nm);
			cJSON_Delete(d);
		}
	}
	assert_true(deltas > 3000);
	assert_true(key_changes_seen > 100);
	cJSON_Delete(nm);
	kids_free(&ids);
	side_free(&full);
	side_free(&inc);
}

static cJSON *numbered_netmap(unsigned n)
{
	cJSON *nm = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(nm, "peers");
	unsigned i;

	for (i = 0; i < n; i++) {
		char buf[80];
		cJSON *p = cJSON_CreateObject(), *a;

		key_text(buf, i);
		cJSON_AddNumberToObject(p, "id", i + 1000);
		cJSON_AddStringToObject(p, "node_key", buf);
		a = cJSON_AddArrayToObject(p, "addresses");
		snprintf(buf, sizeof(buf), "100.%u.%u.%u/32", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		a = cJSON_AddArrayToObject(p, "endpoints");
		cJSON_AddItemToArray(a, cJSON_CreateString("192.0.2.1:41641"));
		cJSON_AddItemToArray(arr, p);
	}
	return nm;
}

/* At 10,000 peers, a delta naming one peer builds one entry and sends one op. */
static void test_one_peer_delta_at_10000(void **state)
{
	struct side s = { 0 };
	struct kids ids = { 0 };
	struct kdelta dl;
	cJSON *nm = numbered_netmap(10000), *d, *p;
	char *before, *after, line[200];

	(void)state;
	full_apply(&s, nm, false);
	assert_int_equal(s.built, 10000);
	assert_int_equal(kids_from_netmap(&ids, nm), 0);
	assert_int_equal(ids.count, 10000);

	/* endpoint change of id 1500 */
	d = cJSON_Parse("{\"type\":\"delta\",\"peers_changed\":[]}");
	p = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(nm, "peers"), 500), 1);
	cJSON_ReplaceItemInObject(p, "endpoints", cJSON_Parse("[\"198.51.100.9:7\"]"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(d, "peers_changed"), p);
	assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), 0);
	assert_int_equal(dl.built, 1);
	assert_int_equal(dl.n_gone, 0);
	run_phases(&s, &dl.want, &dl, false);
	assert_int_equal(s.changed, 1);
	assert_int_equal(s.added + s.removed, 0);
	snprintf(line, sizeof(line), "000001f4 f=%x ep=198.51.100.9:7\n",
		 PEER_HAS_PUBLIC_KEY | PEER_UPDATE_ONLY | PEER_HAS_ENDPOINT);
	assert_string_equal(s.sent[1], line);
	kdelta_free(&dl);
	cJSON_Delete(d);

	/* key rotation of id 1501: one removal, one addition, two entries never built */
	before = set_text(&s.have);
	d = cJSON_Parse("{\"type\":\"delta\",\"peers_changed\":[]}");
	p = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(nm, "peers"), 501), 1);
	cJSON_ReplaceItemInObject(p, "node_key", cJSON_CreateString(
		"nodekey:ffffffff00000000000000000000000000000000000000000000000000000077"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(d, "peers_changed"), p);
	assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), 0);
	assert_int_equal(dl.built, 1);
	assert_int_equal(dl.n_gone, 1);
	run_phases(&s, &dl.want, &dl, false);
	assert_int_equal(s.removed, 1);
	assert_int_equal(s.added, 1);
	assert_int_equal(s.changed, 0);
	assert_int_equal(s.have.count, 10000);
	assert_int_equal(ids.count, 10000);
	assert_non_null(kids_find_id(&ids, 1501));
	assert_int_equal(kids_find_id(&ids, 1501)->key[0], 0xff);
	after = set_text(&s.have);
	assert_string_not_equal(before, after);
	free(before);
	free(after);
	kdelta_free(&dl);
	cJSON_Delete(d);

	/* removal of id 1000 */
	d = cJSON_Parse("{\"type\":\"delta\",\"peers_removed\":[1000]}");
	assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), 0);
	assert_int_equal(dl.built, 0);
	run_phases(&s, &dl.want, &dl, false);
	assert_int_equal(s.removed, 1);
	snprintf(line, sizeof(line), "00000000 f=%x\n", PEER_HAS_PUBLIC_KEY | PEER_REMOVE_ME);
	assert_string_equal(s.sent[1], line);
	assert_int_equal(s.have.count, 9999);
	assert_int_equal(s.kernel.count, 9999);
	kdelta_free(&dl);
	cJSON_Delete(d);

	kids_free(&ids);
	side_free(&s);
	cJSON_Delete(nm);
}

/* What a delta cannot do on its own: -EAGAIN, and the ids are forgotten. */
static void test_inconsistent_falls_back(void **state)
{
	static const char *const bad[] = {
		"{\"peers_removed\":[77]}",				/* unknown id */
		"{\"peers_removed\":[1.5]}",				/* not an id */
		"{\"peers_removed\":\"1000\"}",				/* not an array */
		"{\"peers_changed\":[{\"id\":1001,\"node_key\":"	/* key of id 1000 */
		"\"nodekey:0000000000000000000000000000000000000000000000000000000000000077\"}]}",
		"{\"peers_changed\":[{\"id\":1001,\"node_key\":"	/* same id twice */
		"\"nodekey:0000000100000000000000000000000000000000000000000000000000000077\"}],"
		"\"peers_added\":[{\"id\":1001,\"node_key\":"
		"\"nodekey:0000000100000000000000000000000000000000000000000000000000000077\"}]}",
		"{\"peers_added\":[{\"id\":5,\"node_key\":\"nodekey:00\"}]}",	/* bad key */
		"{\"peers_added\":[{\"node_key\":"				/* no id */
		"\"nodekey:0000000900000000000000000000000000000000000000000000000000000077\"}]}",
		"[]",
	};
	cJSON *nm = numbered_netmap(3);
	struct kids ids = { 0 };
	struct kdelta dl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *d = cJSON_Parse(bad[i]);

		assert_non_null(d);
		assert_int_equal(kids_from_netmap(&ids, nm), 0);
		assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), -EAGAIN);
		assert_false(ids.valid);
		assert_int_equal(ids.count, 0);
		assert_null(dl.gone);
		assert_int_equal(dl.want.count, 0);
		/* and without a full apply since, every delta is refused */
		assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), -EAGAIN);
		cJSON_Delete(d);
	}
	/* a key moving from one id to another in the same delta is fine: no removal */
	{
		cJSON *d = cJSON_Parse("{\"peers_removed\":[1000],\"peers_added\":[{\"id\":9,"
				       "\"node_key\":\"nodekey:0000000000000000000000000000000000"
				       "000000000000000000000000000077\"}]}");

		assert_int_equal(kids_from_netmap(&ids, nm), 0);
		assert_int_equal(kdelta_from_msg(&dl, &ids, d, false), 0);
		assert_int_equal(dl.n_gone, 0);
		assert_int_equal(dl.want.count, 1);
		assert_null(kids_find_id(&ids, 1000));
		assert_non_null(kids_find_id(&ids, 9));
		kdelta_free(&dl);
		cJSON_Delete(d);
	}
	/* a netmap whose ids repeat gives no ids: every delta goes full */
	{
		cJSON *dup = numbered_netmap(2);

		cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(dup, "peers"), 1),
					  "id", cJSON_CreateNumber(1000));
		struct kpeers x;
		char err[200];

		assert_int_equal(kids_from_netmap(&ids, dup), -EINVAL);
		assert_false(ids.valid);
		assert_int_equal(kpeers_from_netmap_ids(&x, &ids, nm, false, err, sizeof(err)), 0);
		assert_true(ids.valid);
		assert_int_equal(ids.count, 3);
		kpeers_free(&x);
		assert_int_equal(kpeers_from_netmap_ids(&x, &ids, dup, false, err, sizeof(err)), 0);
		assert_int_equal(x.count, 2);	/* the peers are fine, */
		assert_false(ids.valid);	/* the ids are not */
		kpeers_free(&x);
		cJSON_Delete(dup);
	}
	kids_free(&ids);
	cJSON_Delete(nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_deltas_match_full),
		cmocka_unit_test(test_one_peer_delta_at_10000),
		cmocka_unit_test(test_inconsistent_falls_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
