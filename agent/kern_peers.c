// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Netmap peers to WireGuard peers, and the difference of two peer sets; see kern_peers.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "key.h"
#include "format.h"
#include "kern_peers.h"

/* ---- the hash set ---- */

static size_t key_hash(const uint8_t key[KEY_LEN])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

int kpeers_init(struct kpeers *s, size_t hint)
{
	size_t size = 64;

	while (size < hint && size < ((size_t)1 << 24))
		size <<= 1;
	s->tab = calloc(size, sizeof(*s->tab));
	s->size = s->tab ? size : 0;
	s->count = 0;
	return s->tab ? 0 : -ENOMEM;
}

void kpeer_free(struct kpeer *p)
{
	if (!p)
		return;
	free(p->ips);
	free(p);
}

void kpeers_free(struct kpeers *s)
{
	struct kpeer *p, *next;
	size_t i;

	for (i = 0; i < s->size; i++) {
		for (p = s->tab[i]; p; p = next) {
			next = p->hnext;
			kpeer_free(p);
		}
	}
	free(s->tab);
	s->tab = NULL;
	s->size = 0;
	s->count = 0;
}

void kpeers_move(struct kpeers *dst, struct kpeers *src)
{
	kpeers_free(dst);
	*dst = *src;
	src->tab = NULL;
	src->size = 0;
	src->count = 0;
}

struct kpeer *kpeers_find(const struct kpeers *s, const uint8_t key[KEY_LEN])
{
	struct kpeer *p;

	if (!s->size)
		return NULL;
	for (p = s->tab[key_hash(key) & (s->size - 1)]; p; p = p->hnext)
		if (!memcmp(p->key, key, KEY_LEN))
			return p;
	return NULL;
}

static int grow(struct kpeers *s)
{
	struct kpeer **tab, *p, *next;
	size_t size = s->size * 2, i;

	tab = calloc(size, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (i = 0; i < s->size; i++) {
		for (p = s->tab[i]; p; p = next) {
			size_t b = key_hash(p->key) & (size - 1);

			next = p->hnext;
			p->hnext = tab[b];
			tab[b] = p;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->size = size;
	return 0;
}

int kpeers_insert(struct kpeers *s, struct kpeer *p)
{
	size_t b;

	if (!s->size && kpeers_init(s, 0))
		return -ENOMEM;
	if (kpeers_find(s, p->key))
		return -EEXIST;
	if (s->count >= s->size && grow(s))
		return -ENOMEM;
	b = key_hash(p->key) & (s->size - 1);
	p->hnext = s->tab[b];
	s->tab[b] = p;
	s->count++;
	return 0;
}

/* ---- text forms ---- */

int kendpoint_parse(union mw_endpoint *ep, const char *text)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *hs;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(ep, 0, sizeof(*ep));
	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hs = text + 1;
		hlen = (size_t)(close - hs);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hs = text;
		hlen = (size_t)(colon - text);
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !port || port > 65535)
		return -EINVAL;
	if (text[0] != '[' && inet_pton(AF_INET, host, &ep->addr4.sin_addr) == 1) {
		ep->addr4.sin_family = AF_INET;
		ep->addr4.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (text[0] == '[' && inet_pton(AF_INET6, host, &ep->addr6.sin6_addr) == 1) {
		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	memset(ep, 0, sizeof(*ep));
	return -EINVAL;
}

void kendpoint_format(const union mw_endpoint *ep, char *buf, size_t len)
{
	char text[FMT_ADDR_LEN];

	if (ep->addr.sa_family == AF_INET || ep->addr.sa_family == AF_INET6)
		snprintf(buf, len, "%s", fmt_sockaddr(text, &ep->addr));
	else if (len)
		buf[0] = '\0';
}

bool kendpoint_equal(const union mw_endpoint *a, const union mw_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id &&
		       !memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, 16);
	return true;
}

/* ---- netmap to peers ---- */

int choose_endpoint(const cJSON *peer, union mw_endpoint *ep)
{
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(peer, "endpoints"), *e;

	/*
	 * NAT traversal (disco pings, DERP fallback) will pick the best path
	 * here; for now any directly reachable address will do, the first one.
	 */
	cJSON_ArrayForEach(e, eps) {
		if (cJSON_IsString(e) && !kendpoint_parse(ep, e->valuestring))
			return 0;
	}
	memset(ep, 0, sizeof(*ep));
	return -ENOENT;
}

static int prefix_sort_cmp(const void *a, const void *b)
{
	return kprefix_cmp(a, b);
}

/* Sorts and removes duplicates. */
static void normalize_ips(struct kpeer *p)
{
	size_t i, n = 0;

	if (!p->n_ips)
		return;
	qsort(p->ips, p->n_ips, sizeof(*p->ips), prefix_sort_cmp);
	for (i = 0; i < p->n_ips; i++)
		if (!n || kprefix_cmp(&p->ips[n - 1], &p->ips[i]))
			p->ips[n++] = p->ips[i];
	p->n_ips = n;
}

int kpeer_from_json(const cJSON *jp, size_t index, bool accept_routes, struct kpeer **out,
		    char *err, size_t errlen)
{
	const char *field = accept_routes ? "allowed_ips" : "addresses";
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(jp, "node_key");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(jp, field), *ip;
	struct kpeer *p;
	size_t n = 0;

	if (!cJSON_IsObject(jp)) {
		snprintf(err, errlen, "netmap peers[%zu] is not an object", index);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (!cJSON_IsString(key) || mwg_key_parse(key->valuestring, "nodekey:", p->key)) {
		snprintf(err, errlen, "netmap peers[%zu].node_key is not a nodekey:<64 hex>", index);
		goto inval;
	}
	if (ips && !cJSON_IsNull(ips) && !cJSON_IsArray(ips)) {
		snprintf(err, errlen, "netmap peers[%zu].%s is not an array", index, field);
		goto inval;
	}
	n = (size_t)cJSON_GetArraySize(ips);
	if (n) {
		p->ips = calloc(n, sizeof(*p->ips));
		if (!p->ips) {
			kpeer_free(p);
			return -ENOMEM;
		}
	}
	cJSON_ArrayForEach(ip, ips) {
		if (!cJSON_IsString(ip) || kprefix_parse(&p->ips[p->n_ips], ip->valuestring)) {
			snprintf(err, errlen, "netmap peers[%zu].%s[%zu] is not a prefix", index, field,
				 p->n_ips);
			goto inval;
		}
		p->n_ips++;
	}
	normalize_ips(p);
	p->has_endpoint = !choose_endpoint(jp, &p->endpoint);
	*out = p;
	return 0;
inval:
	kpeer_free(p);
	return -EINVAL;
}

static int peer_id(const cJSON *j, int64_t *id);
static int kids_resize(struct kids *ids, size_t size);

struct owned {
	struct kprefix p;
	const struct kpeer *peer;
};

static int owned_cmp(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;

	return kprefix_cmp(&x->p, &y->p);
}

/*
 * Every prefix in at most one peer: WireGuard gives a prefix to one peer
 * (the one programmed last), so a set with a prefix twice could not be
 * what the kernel holds. netmap_check gives such a prefix to one peer
 * before this; a set that still has one is refused (-EINVAL).
 */
static int one_owner(const struct kpeers *s, char *err, size_t errlen)
{
	struct owned *v;
	struct kpeer *p;
	size_t n = 0, b, i;
	int ret = 0;

	kpeers_for_each(s, b, p)
		n += p->n_ips;
	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = 0;
	kpeers_for_each(s, b, p)
		for (i = 0; i < p->n_ips; i++)
			v[n++] = (struct owned){ .p = p->ips[i], .peer = p };
	qsort(v, n, sizeof(*v), owned_cmp);
	for (i = 1; i < n && !ret; i++) {
		if (!kprefix_cmp(&v[i].p, &v[i - 1].p)) {
			char t[INET6_ADDRSTRLEN + 8];

			kprefix_format(&v[i].p, t, sizeof(t));
			snprintf(err, errlen, "netmap: two peers have allowed IP %s", t);
			ret = -EINVAL;
		}
	}
	free(v);
	return ret;
}

int kpeers_from_netmap(struct kpeers *out, const cJSON *netmap, bool accept_routes,
		       char *err, size_t errlen)
{
	return kpeers_from_netmap_ids(out, NULL, netmap, accept_routes, err, errlen);
}

int kpeers_from_netmap_ids(struct kpeers *out, struct kids *ids, const cJSON *netmap,
			   bool accept_routes, char *err, size_t errlen)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(netmap, "peers"), *jp;
	size_t i = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(netmap)) {
		snprintf(err, errlen, "netmap is not a JSON object");
		return -EINVAL;
	}
	if (peers && !cJSON_IsNull(peers) && !cJSON_IsArray(peers)) {
		snprintf(err, errlen, "netmap peers is not an array");
		return -EINVAL;
	}
	ret = kpeers_init(out, (size_t)cJSON_GetArraySize(peers));
	if (ret) {
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	if (ids) {
		kids_free(ids);
		ids->valid = !kids_resize(ids, out->size);
	}
	cJSON_ArrayForEach(jp, peers) {
		struct kpeer *p;

		ret = kpeer_from_json(jp, i, accept_routes, &p, err, errlen);
		if (!ret && ids && ids->valid) {
			int64_t id;

			/* no usable ids: deltas are applied in full */
			if (peer_id(cJSON_GetObjectItemCaseSensitive(jp, "id"), &id) ||
			    kids_add(ids, id, p->key))
				kids_free(ids);
		}
		if (!ret) {
			ret = kpeers_insert(out, p);
			if (ret == -EEXIST)
				snprintf(err, errlen, "netmap peers[%zu].node_key appears twice", i);
			if (ret)
				kpeer_free(p);
			if (ret == -EEXIST)
				ret = -EINVAL;
		}
		if (ret) {
			if (ret == -ENOMEM)
				snprintf(err, errlen, "out of memory");
			kpeers_free(out);
			if (ids)
				kids_free(ids);
			return ret;
		}
		i++;
	}
	ret = one_owner(out, err, errlen);
	if (ret) {
		kpeers_free(out);
		if (ids)
			kids_free(ids);
	}
	return ret;
}

int kpeers_from_device(struct kpeers *out, const struct mw_device *dev)
{
	const struct mw_peer *mp;
	const struct mw_allowedip *ip;
	size_t n = 0;

	for_each_peer(dev, mp)
		n++;
	if (kpeers_init(out, n))
		return -ENOMEM;
	for_each_peer(dev, mp) {
		struct kpeer *p = calloc(1, sizeof(*p));

		if (!p)
			goto nomem;
		memcpy(p->key, mp->public_key, KEY_LEN);
		if ((mp->flags & PEER_HAS_ENDPOINT) && !(mp->flags & PEER_HAS_RELAY)) {
			p->has_endpoint = true;
			p->endpoint = mp->endpoint;
		}
		p->keepalive = mp->persistent_keepalive_interval;
		p->has_psk = !!(mp->flags & PEER_HAS_PRESHARED_KEY);
		n = 0;
		for_each_allowedip(mp, ip)
			n++;
		if (n) {
			p->ips = calloc(n, sizeof(*p->ips));
			if (!p->ips) {
				kpeer_free(p);
				goto nomem;
			}
		}
		for_each_allowedip(mp, ip) {
			struct kprefix *k = &p->ips[p->n_ips++];

			k->family = ip->family;
			k->cidr = ip->cidr;
			if (ip->family == AF_INET)
				memcpy(k->addr, &ip->ip4, 4);
			else
				memcpy(k->addr, &ip->ip6, 16);
		}
		normalize_ips(p);
		if (kpeers_insert(out, p)) {
			/* a duplicate key cannot come from the kernel; keep the first */
			kpeer_free(p);
			if (!kpeers_find(out, mp->public_key))
				goto nomem;
		}
	}
	return 0;
nomem:
	kpeers_free(out);
	return -ENOMEM;
}

/* ---- the difference ---- */

static struct mw_peer *op_new(struct mw_device *dev, const uint8_t key[KEY_LEN], uint32_t flags)
{
	struct mw_peer *mp = calloc(1, sizeof(*mp));

	if (!mp)
		return NULL;
	memcpy(mp->public_key, key, KEY_LEN);
	mp->flags = PEER_HAS_PUBLIC_KEY | flags;
	device_append_peer(dev, mp);
	return mp;
}

static int op_add_ip(struct mw_peer *mp, const struct kprefix *k)
{
	struct mw_allowedip *ip = calloc(1, sizeof(*ip));

	if (!ip)
		return -ENOMEM;
	ip->family = k->family;
	ip->cidr = k->cidr;
	if (k->family == AF_INET)
		memcpy(&ip->ip4, k->addr, 4);
	else
		memcpy(&ip->ip6, k->addr, 16);
	peer_append_allowedip(mp, ip);
	return 0;
}

static bool ips_equal(const struct kpeer *a, const struct kpeer *b)
{
	size_t i;

	if (a->n_ips != b->n_ips)
		return false;
	for (i = 0; i < a->n_ips; i++)
		if (kprefix_cmp(&a->ips[i], &b->ips[i]))
			return false;
	return true;
}

/* Both sorted: is every prefix of have also in want? */
static bool ips_subset(const struct kpeer *have, const struct kpeer *want)
{
	size_t i = 0, j = 0;

	while (i < have->n_ips) {
		int c;

		if (j == want->n_ips)
			return false;
		c = kprefix_cmp(&have->ips[i], &want->ips[j]);
		if (c < 0)
			return false;
		if (!c)
			i++;
		j++;
	}
	return true;
}

/* A changed peer cut down to the prefixes it keeps (have ∩ want), never created. */
static int op_shrink(struct mw_device *dev, const struct kpeer *have, const struct kpeer *want)
{
	struct mw_peer *mp = op_new(dev, want->key, PEER_UPDATE_ONLY | PEER_REPLACE_ALLOWEDIPS);
	size_t i = 0, j = 0;

	if (!mp)
		return -ENOMEM;
	while (i < have->n_ips && j < want->n_ips) {
		int c = kprefix_cmp(&have->ips[i], &want->ips[j]);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (op_add_ip(mp, &want->ips[j]))
				return -ENOMEM;
			i++;
			j++;
		}
	}
	return 0;
}

/* want in full: a new peer, or a changed one whose allowed IPs differ. */
static int op_full(struct mw_device *dev, const struct kpeer *want, const struct kpeer *have)
{
	struct mw_peer *mp = op_new(dev, want->key, PEER_REPLACE_ALLOWEDIPS);
	size_t i;

	if (!mp)
		return -ENOMEM;
	if (want->has_endpoint) {
		mp->flags |= PEER_HAS_ENDPOINT;
		mp->endpoint = want->endpoint;
	}
	if (have && have->keepalive) {
		mp->flags |= PEER_HAS_KEEPALIVE;
		mp->persistent_keepalive_interval = 0;
	}
	if (have && have->has_psk)
		mp->flags |= PEER_HAS_PRESHARED_KEY; /* all zero: none */
	for (i = 0; i < want->n_ips; i++)
		if (op_add_ip(mp, &want->ips[i]))
			return -ENOMEM;
	return 0;
}

/* Same allowed IPs, another endpoint / keepalive / psk: update it, never create it. */
static int op_update(struct mw_device *dev, const struct kpeer *want, const struct kpeer *have)
{
	struct mw_peer *mp = op_new(dev, want->key, PEER_UPDATE_ONLY);

	if (!mp)
		return -ENOMEM;
	if (want->has_endpoint && !(have->has_endpoint &&
				    kendpoint_equal(&have->endpoint, &want->endpoint))) {
		mp->flags |= PEER_HAS_ENDPOINT;
		mp->endpoint = want->endpoint;
	}
	if (have->keepalive)
		mp->flags |= PEER_HAS_KEEPALIVE;
	if (have->has_psk)
		mp->flags |= PEER_HAS_PRESHARED_KEY;
	return 0;
}

static bool attrs_equal(const struct kpeer *have, const struct kpeer *want)
{
	if (have->keepalive != want->keepalive || have->has_psk != want->has_psk)
		return false;
	if (!want->has_endpoint)
		return true;
	return have->has_endpoint && kendpoint_equal(&have->endpoint, &want->endpoint);
}

void kdiff_free(struct kdiff *d)
{
	free_device(d->pre);
	free_device(d->post);
	d->pre = d->post = NULL;
}

/*
 * The one difference: gone == NULL, every peer of have missing from want
 * goes (want is the whole desired set); else want holds only some peers and
 * exactly the n_gone keys of gone go (those have has).
 */
static int diff(const struct kpeers *have, struct kpeers *want, const uint8_t (*gone)[KEY_LEN],
		size_t n_gone, bool split, struct kdiff *d)
{
	struct mw_device *changes = NULL, *adds = NULL;
	struct kpeer *h, *w;
	size_t i;
	int ret = -ENOMEM;

	memset(d, 0, sizeof(*d));
	d->pre = calloc(1, sizeof(*d->pre));
	d->post = calloc(1, sizeof(*d->post));
	changes = calloc(1, sizeof(*changes));
	adds = calloc(1, sizeof(*adds));
	if (!d->pre || !d->post || !changes || !adds)
		goto out;

	/* Removals: in have, not in want. Always first (they only narrow). */
	if (!gone) {
		kpeers_for_each(have, i, h) {
			if (kpeers_find(want, h->key))
				continue;
			if (!op_new(split ? d->pre : d->post, h->key, PEER_REMOVE_ME))
				goto out;
			d->removed++;
		}
	}
	for (i = 0; gone && i < n_gone; i++) {
		if (!kpeers_find(have, gone[i]) || kpeers_find(want, gone[i]))
			continue;
		if (!op_new(split ? d->pre : d->post, gone[i], PEER_REMOVE_ME))
			goto out;
		d->removed++;
	}
	kpeers_for_each(want, i, w) {
		h = kpeers_find(have, w->key);
		if (!h) {
			if (op_full(adds, w, NULL))
				goto out;
			d->added++;
			continue;
		}
		if (!ips_equal(h, w)) {
			if (split && !ips_subset(h, w) && op_shrink(d->pre, h, w))
				goto out;
			if (op_full(changes, w, h))
				goto out;
			d->changed++;
		} else if (!attrs_equal(h, w)) {
			if (op_update(changes, w, h))
				goto out;
			d->changed++;
		} else {
			d->unchanged++;
		}
		/* WireGuard cannot unset an endpoint: the one we gave stays. */
		if (!w->has_endpoint && h->has_endpoint) {
			w->has_endpoint = true;
			w->endpoint = h->endpoint;
		}
	}
	/* post: changes, then additions (after the removals already there) */
	if (changes->first_peer) {
		if (d->post->last_peer)
			d->post->last_peer->next = changes->first_peer;
		else
			d->post->first_peer = changes->first_peer;
		d->post->last_peer = changes->last_peer;
		changes->first_peer = changes->last_peer = NULL;
	}
	if (adds->first_peer) {
		if (d->post->last_peer)
			d->post->last_peer->next = adds->first_peer;
		else
			d->post->first_peer = adds->first_peer;
		d->post->last_peer = adds->last_peer;
		adds->first_peer = adds->last_peer = NULL;
	}
	ret = 0;
out:
	free_device(changes);
	free_device(adds);
	if (ret)
		kdiff_free(d);
	return ret;
}

int kpeers_diff(const struct kpeers *have, struct kpeers *want, bool split, struct kdiff *d)
{
	return diff(have, want, NULL, 0, split, d);
}

int kpeers_diff_some(const struct kpeers *have, struct kpeers *want,
		     const uint8_t (*gone)[KEY_LEN], size_t n_gone, bool split, struct kdiff *d)
{
	static const uint8_t none[1][KEY_LEN];

	return diff(have, want, gone ? gone : none, gone ? n_gone : 0, split, d);
}

/* ---- the kernel's semantics, for bookkeeping and tests ---- */

struct kpeer *kpeers_unlink(struct kpeers *s, const uint8_t key[KEY_LEN])
{
	struct kpeer **pp, *p;

	if (!s->size)
		return NULL;
	for (pp = &s->tab[key_hash(key) & (s->size - 1)]; (p = *pp); pp = &p->hnext) {
		if (!memcmp(p->key, key, KEY_LEN)) {
			*pp = p->hnext;
			p->hnext = NULL;
			s->count--;
			return p;
		}
	}
	return NULL;
}

static bool has_ip(const struct kpeer *p, const struct kprefix *k)
{
	size_t i;

	for (i = 0; i < p->n_ips; i++)
		if (!kprefix_cmp(&p->ips[i], k))
			return true;
	return false;
}

static void drop_ip(struct kpeer *p, const struct kprefix *k)
{
	size_t i;

	for (i = 0; i < p->n_ips; i++) {
		if (!kprefix_cmp(&p->ips[i], k)) {
			memmove(&p->ips[i], &p->ips[i + 1], (p->n_ips - i - 1) * sizeof(*p->ips));
			p->n_ips--;
			return;
		}
	}
}

static int apply_one(struct kpeers *s, const struct mw_peer *mp)
{
	const struct mw_allowedip *ip;
	struct kprefix *ips;
	struct kpeer *p, *o, old = { 0 };
	size_t n = 0, i;

	if (mp->flags & PEER_REMOVE_ME) {
		kpeer_free(kpeers_unlink(s, mp->public_key));
		return 0;
	}
	p = kpeers_find(s, mp->public_key);
	if (!p) {
		if (mp->flags & PEER_UPDATE_ONLY)
			return 0;
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		memcpy(p->key, mp->public_key, KEY_LEN);
		if (kpeers_insert(s, p)) {
			kpeer_free(p);
			return -ENOMEM;
		}
	}
	for_each_allowedip(mp, ip)
		n++;
	ips = malloc((p->n_ips + n + 1) * sizeof(*ips));
	if (!ips)
		return -ENOMEM;
	/* the old prefixes, to know which of the new ones come from elsewhere */
	old.ips = p->ips;
	old.n_ips = p->n_ips;
	if (!(mp->flags & PEER_REPLACE_ALLOWEDIPS))
		memcpy(ips, p->ips, p->n_ips * sizeof(*ips));
	else
		p->n_ips = 0;
	p->ips = ips;
	if ((mp->flags & PEER_HAS_ENDPOINT) && !(mp->flags & PEER_HAS_RELAY)) {
		p->has_endpoint = true;
		p->endpoint = mp->endpoint;
	}
	if (mp->flags & PEER_HAS_KEEPALIVE)
		p->keepalive = mp->persistent_keepalive_interval;
	if (mp->flags & PEER_HAS_PRESHARED_KEY)
		p->has_psk = !key_is_zero(mp->preshared_key);
	for_each_allowedip(mp, ip) {
		struct kprefix k = { .family = ip->family, .cidr = ip->cidr };

		if (ip->family == AF_INET)
			memcpy(k.addr, &ip->ip4, 4);
		else
			memcpy(k.addr, &ip->ip6, 16);
		if (has_ip(p, &k))
			continue;
		/* a prefix belongs to one peer: adding it moves it */
		if (!has_ip(&old, &k))
			kpeers_for_each(s, i, o)
				if (o != p)
					drop_ip(o, &k);
		p->ips[p->n_ips++] = k;
	}
	free(old.ips);
	normalize_ips(p);
	return 0;
}

int kpeers_apply_ops(struct kpeers *s, const struct mw_device *ops)
{
	const struct mw_peer *mp;
	int ret;

	for_each_peer(ops, mp) {
		ret = apply_one(s, mp);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- deltas: netmap peer ids, and the peers a delta names ---- */

static size_t id_hash(int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 29));
}

void kids_free(struct kids *ids)
{
	struct kid *e, *next;
	size_t i;

	for (i = 0; i < ids->size; i++) {
		for (e = ids->by_id[i]; e; e = next) {
			next = e->id_next;
			free(e);
		}
	}
	free(ids->by_id);
	free(ids->by_key);
	memset(ids, 0, sizeof(*ids));
}

static int kids_resize(struct kids *ids, size_t size)
{
	struct kid **by_id = calloc(size, sizeof(*by_id)), **by_key = calloc(size, sizeof(*by_key));
	struct kid *e, *next;
	size_t i;

	if (!by_id || !by_key) {
		free(by_id);
		free(by_key);
		return -ENOMEM;
	}
	for (i = 0; i < ids->size; i++) {
		for (e = ids->by_id[i]; e; e = next) {
			size_t b = id_hash(e->id) & (size - 1);

			next = e->id_next;
			e->id_next = by_id[b];
			by_id[b] = e;
			b = key_hash(e->key) & (size - 1);
			e->key_next = by_key[b];
			by_key[b] = e;
		}
	}
	free(ids->by_id);
	free(ids->by_key);
	ids->by_id = by_id;
	ids->by_key = by_key;
	ids->size = size;
	return 0;
}

struct kid *kids_find_id(const struct kids *ids, int64_t id)
{
	struct kid *e;

	if (!ids->size)
		return NULL;
	for (e = ids->by_id[id_hash(id) & (ids->size - 1)]; e; e = e->id_next)
		if (e->id == id)
			return e;
	return NULL;
}

struct kid *kids_find_key(const struct kids *ids, const uint8_t key[KEY_LEN])
{
	struct kid *e;

	if (!ids->size)
		return NULL;
	for (e = ids->by_key[key_hash(key) & (ids->size - 1)]; e; e = e->key_next)
		if (!memcmp(e->key, key, KEY_LEN))
			return e;
	return NULL;
}

int kids_add(struct kids *ids, int64_t id, const uint8_t key[KEY_LEN])
{
	struct kid *e;
	size_t b;

	if (kids_find_id(ids, id) || kids_find_key(ids, key))
		return -EEXIST;
	if (ids->count >= ids->size && kids_resize(ids, ids->size ? ids->size * 2 : 64))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = id;
	memcpy(e->key, key, KEY_LEN);
	b = id_hash(id) & (ids->size - 1);
	e->id_next = ids->by_id[b];
	ids->by_id[b] = e;
	b = key_hash(key) & (ids->size - 1);
	e->key_next = ids->by_key[b];
	ids->by_key[b] = e;
	ids->count++;
	return 0;
}

void kids_del(struct kids *ids, struct kid *e)
{
	struct kid **pp;

	for (pp = &ids->by_id[id_hash(e->id) & (ids->size - 1)]; *pp; pp = &(*pp)->id_next) {
		if (*pp == e) {
			*pp = e->id_next;
			break;
		}
	}
	for (pp = &ids->by_key[key_hash(e->key) & (ids->size - 1)]; *pp; pp = &(*pp)->key_next) {
		if (*pp == e) {
			*pp = e->key_next;
			break;
		}
	}
	ids->count--;
	free(e);
}

/* A netmap peer id: a JSON integer. */
static int peer_id(const cJSON *j, int64_t *id)
{
	double v;

	if (!cJSON_IsNumber(j))
		return -EINVAL;
	v = j->valuedouble;
	if (v != v || v < -9007199254740992.0 || v > 9007199254740992.0 || v != (double)(int64_t)v)
		return -EINVAL;
	*id = (int64_t)v;
	return 0;
}

int kids_from_netmap(struct kids *ids, const cJSON *netmap)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(netmap, "peers"), *jp;
	size_t size = 64;
	int ret = 0;

	kids_free(ids);
	while (size < (size_t)cJSON_GetArraySize(peers) && size < ((size_t)1 << 24))
		size <<= 1;
	if (kids_resize(ids, size))
		return -ENOMEM;
	cJSON_ArrayForEach(jp, peers) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(jp, "node_key");
		uint8_t k[KEY_LEN];
		int64_t id;

		if (peer_id(cJSON_GetObjectItemCaseSensitive(jp, "id"), &id) ||
		    !cJSON_IsString(key) || mwg_key_parse(key->valuestring, "nodekey:", k)) {
			ret = -EINVAL;
			break;
		}
		ret = kids_add(ids, id, k);
		if (ret == -EEXIST)
			ret = -EINVAL;
		if (ret)
			break;
	}
	if (ret)
		kids_free(ids);
	else
		ids->valid = true;
	return ret;
}

void kdelta_free(struct kdelta *dl)
{
	kpeers_free(&dl->want);
	free(dl->gone);
	dl->gone = NULL;
	dl->n_gone = 0;
}

static int gone_add(struct kdelta *dl, const uint8_t key[KEY_LEN], size_t *cap)
{
	if (dl->n_gone == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		uint8_t (*g)[KEY_LEN] = realloc(dl->gone, n * sizeof(*g));

		if (!g)
			return -ENOMEM;
		dl->gone = g;
		*cap = n;
	}
	memcpy(dl->gone[dl->n_gone++], key, KEY_LEN);
	return 0;
}

/* Forgets the id (its key goes to gone unless a named peer takes it again). */
static int forget_id(struct kids *ids, struct kdelta *dl, int64_t id, size_t *cap)
{
	struct kid *e = kids_find_id(ids, id);
	int ret;

	if (!e)
		return 0;
	ret = gone_add(dl, e->key, cap);
	kids_del(ids, e);
	return ret;
}

int kdelta_from_msg(struct kdelta *dl, struct kids *ids, const cJSON *delta, bool accept_routes)
{
	static const char *const named[2] = { "peers_added", "peers_changed" };
	const cJSON *removed = cJSON_GetObjectItemCaseSensitive(delta, "peers_removed"), *j;
	size_t cap = 0, i, n, w;
	char err[200];
	int ret = -EAGAIN;

	memset(dl, 0, sizeof(*dl));
	if (!ids->valid || !cJSON_IsObject(delta)) {
		kids_free(ids);
		return -EAGAIN;
	}
	if (kpeers_init(&dl->want, 0))
		goto nomem;
	/* Everything the delta names leaves the map first, then comes back:
	 * a key that turns up twice is then caught by kids_add. */
	if (removed && !cJSON_IsNull(removed) && !cJSON_IsArray(removed))
		goto out;
	cJSON_ArrayForEach(j, removed) {
		int64_t id;

		if (peer_id(j, &id) || !kids_find_id(ids, id))
			goto out;	/* an id we never saw: the full path decides */
		if (forget_id(ids, dl, id, &cap))
			goto nomem;
	}
	for (n = 0; n < 2; n++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(delta, named[n]);

		if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr))
			goto out;
		cJSON_ArrayForEach(j, arr) {
			int64_t id;

			if (peer_id(cJSON_GetObjectItemCaseSensitive(j, "id"), &id))
				goto out;
			if (forget_id(ids, dl, id, &cap))
				goto nomem;
		}
	}
	for (n = 0, i = 0; n < 2; n++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(delta, named[n]);

		cJSON_ArrayForEach(j, arr) {
			struct kpeer *p;
			int64_t id = 0;

			if (kpeer_from_json(j, i++, accept_routes, &p, err, sizeof(err)))
				goto out;	/* malformed: the full path says what */
			dl->built++;
			peer_id(cJSON_GetObjectItemCaseSensitive(j, "id"), &id); /* checked above */
			ret = kids_add(ids, id, p->key);
			if (!ret)
				ret = kpeers_insert(&dl->want, p);
			if (ret) {
				kpeer_free(p);
				if (ret == -ENOMEM)
					goto nomem;
				ret = -EAGAIN;	/* an id or a key twice */
				goto out;
			}
		}
	}
	/* a key that went with one id and came back with another is no removal */
	for (i = 0, w = 0; i < dl->n_gone; i++)
		if (!kpeers_find(&dl->want, dl->gone[i]))
			memmove(dl->gone[w++], dl->gone[i], KEY_LEN);
	dl->n_gone = w;
	return 0;
nomem:
	ret = -ENOMEM;
out:
	kdelta_free(dl);
	kids_free(ids);		/* no longer the netmap's: the next apply is full */
	return ret;
}

int kpeers_merge(struct kpeers *dst, struct kpeers *src, const uint8_t (*gone)[KEY_LEN],
		 size_t n_gone)
{
	struct kpeer *p;
	size_t i;

	for (i = 0; i < n_gone; i++)
		kpeer_free(kpeers_unlink(dst, gone[i]));
	for (i = 0; i < src->size; i++) {
		while ((p = src->tab[i])) {
			src->tab[i] = p->hnext;
			src->count--;
			p->hnext = NULL;
			kpeer_free(kpeers_unlink(dst, p->key));
			if (kpeers_insert(dst, p)) {
				kpeer_free(p);
				return -ENOMEM;
			}
		}
	}
	return 0;
}
