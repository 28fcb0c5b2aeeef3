/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The pure half of meshwgd's kernel side: the netmap's peers turned into the
 * set of WireGuard peers the interface should have, the set it has (what
 * meshwgd last programmed, or what it read back from the kernel), and the
 * difference between them as SET_DEVICE peer lists. No I/O here.
 */
#ifndef MESHWGD_KERN_PEERS_H
#define MESHWGD_KERN_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "containers.h"
#include "prefix.h"

struct kpeer {
	uint8_t key[KEY_LEN];
	bool has_endpoint;
	union mw_endpoint endpoint;
	uint16_t keepalive;		/* seconds; desired is always 0 */
	bool has_psk;			/* a preshared key is set; desired: none */
	struct kprefix *ips;		/* sorted, no duplicates */
	size_t n_ips;
	struct kpeer *hnext;		/* hash chain */
	bool mark;			/* scratch, for the diff */
};

/* Peers hashed by public key; owns its peers. */
struct kpeers {
	struct kpeer **tab;
	size_t size;			/* buckets, a power of two */
	size_t count;
};

int kpeers_init(struct kpeers *s, size_t hint);
void kpeers_free(struct kpeers *s);
/* Moves every peer of src into dst (freeing dst's old ones); src is left empty. */
void kpeers_move(struct kpeers *dst, struct kpeers *src);
struct kpeer *kpeers_find(const struct kpeers *s, const uint8_t key[KEY_LEN]);
/* Takes ownership of p: 0, -EEXIST (p not taken) or -ENOMEM (p not taken). */
int kpeers_insert(struct kpeers *s, struct kpeer *p);
void kpeer_free(struct kpeer *p);
/* Takes the peer with key out of s (the caller owns it), NULL when absent. */
struct kpeer *kpeers_unlink(struct kpeers *s, const uint8_t key[KEY_LEN]);
/* Calls fn for every peer, in no particular order. */
#define kpeers_for_each(s, i, p) \
	for ((i) = 0; (i) < (s)->size; (i)++) \
		for ((p) = (s)->tab[(i)]; (p); (p) = (p)->hnext)

/* Applies SET_DEVICE peer operations to s as the kernel would (the model the
 * bookkeeping and the tests use): REMOVE_ME, UPDATE_ONLY, REPLACE_ALLOWEDIPS,
 * endpoints, keepalive, preshared keys; a prefix added to one peer leaves any
 * other. 0 or -ENOMEM (s is then partly changed). */
int kpeers_apply_ops(struct kpeers *s, const struct mw_device *ops);
/* "1.2.3.4:41641" or "[2001:db8::1]:41641", nonzero port. 0 or -EINVAL. */
int kendpoint_parse(union mw_endpoint *ep, const char *text);
/* "ip:port" / "[ip]:port" (fmt_sockaddr), "" for none. */
void kendpoint_format(const union mw_endpoint *ep, char *buf, size_t len);
bool kendpoint_equal(const union mw_endpoint *a, const union mw_endpoint *b);

/*
 * Where NAT traversal will later choose: the endpoint meshwgd programs for a
 * netmap peer. Today the first of peer.endpoints that parses. 0 when one was
 * found, -ENOENT when none (the peer is programmed without an endpoint).
 */
int choose_endpoint(const cJSON *peer, union mw_endpoint *ep);

/*
 * The desired peer set of a netmap (docs/protocol.md FULL shape): one peer
 * per netmap.peers entry, public key = node_key, allowed IPs = allowed_ips
 * with accept_routes, else addresses; endpoint from choose_endpoint(); no
 * keepalive. Any malformed field fails the whole netmap with -EINVAL and a
 * message naming it (out is then empty).
 */
int kpeers_from_netmap(struct kpeers *out, const cJSON *netmap, bool accept_routes,
		       char *err, size_t errlen);
struct kids;
/* The same, filling ids (struct kids below) with the netmap's peer ids as it
 * goes; ids is left not valid when an id is missing or repeats. */
int kpeers_from_netmap_ids(struct kpeers *out, struct kids *ids, const cJSON *netmap,
			   bool accept_routes, char *err, size_t errlen);
/* One netmap peer (peers[index] in messages), as kpeers_from_netmap makes it. */
int kpeer_from_json(const cJSON *jp, size_t index, bool accept_routes, struct kpeer **out,
		    char *err, size_t errlen);
/* The peer set a device read from the kernel has. 0 or -ENOMEM. */
int kpeers_from_device(struct kpeers *out, const struct mw_device *dev);

/*
 * The difference from have to want, as SET_DEVICE peer lists.
 *
 * split == false: everything in post, in the order removals, changes,
 * additions (pre stays empty).
 * split == true (the packet filter changes between the two): pre holds what
 * only narrows the interface (removed peers, and changed peers cut down to
 * the allowed IPs they keep), post what widens it (changed peers in full,
 * new peers).
 *
 * want is updated for the bookkeeping: a wanted peer without an endpoint
 * keeps the one it has (WireGuard cannot unset an endpoint; the kernel may
 * also have learnt one by roaming). Counts are of peers. 0 or -ENOMEM.
 */
struct kdiff {
	struct mw_device *pre, *post;	/* never NULL after a successful diff */
	unsigned added, removed, changed, unchanged;
};
int kpeers_diff(const struct kpeers *have, struct kpeers *want, bool split, struct kdiff *d);
/*
 * The same difference when want holds only some peers (those a delta
 * names): the other peers of have are left alone, and the n_gone keys of
 * gone are removed (those have has and want does not).
 */
int kpeers_diff_some(const struct kpeers *have, struct kpeers *want,
		     const uint8_t (*gone)[KEY_LEN], size_t n_gone, bool split, struct kdiff *d);
void kdiff_free(struct kdiff *d);
/* kpeers_move for a partial want: the peers of src replace those of dst with
 * their key, the keys of gone leave dst; src is left empty. 0 or -ENOMEM (dst
 * is then short of a peer). */
int kpeers_merge(struct kpeers *dst, struct kpeers *src, const uint8_t (*gone)[KEY_LEN],
		 size_t n_gone);

/*
 * Deltas (docs/protocol.md DELTA) name peers by netmap id; what leaves or
 * changes its key must be found by the key it had. kids maps the ids of the
 * last netmap applied to keys, both ways (a key at most once).
 */
struct kid {
	int64_t id;
	uint8_t key[KEY_LEN];
	struct kid *id_next, *key_next;
};
struct kids {
	struct kid **by_id, **by_key;
	size_t size, count;
	bool valid;		/* the map is the netmap's: deltas may be applied */
};
/* The ids of netmap.peers: 0, -EINVAL (an id missing or twice, a bad key: ids
 * is then empty and not valid) or -ENOMEM. */
int kids_from_netmap(struct kids *ids, const cJSON *netmap);
void kids_free(struct kids *ids);	/* also: not valid */
struct kid *kids_find_id(const struct kids *ids, int64_t id);
struct kid *kids_find_key(const struct kids *ids, const uint8_t key[KEY_LEN]);
int kids_add(struct kids *ids, int64_t id, const uint8_t key[KEY_LEN]); /* -EEXIST, -ENOMEM */
void kids_del(struct kids *ids, struct kid *e);

/*
 * The peers a delta message names: want holds the desired entries of
 * peers_added and peers_changed (built: how many were made), gone the keys
 * that leave (peers_removed, and old keys of peers whose key changed), and
 * ids is updated to the netmap after the delta. 0; -EAGAIN when the delta
 * cannot be applied on its own (ids not valid, an unknown or repeated id, a
 * key twice, anything malformed): the caller applies the whole netmap, ids
 * are then emptied; -ENOMEM likewise.
 */
struct kdelta {
	struct kpeers want;
	uint8_t (*gone)[KEY_LEN];
	size_t n_gone;
	unsigned built;
};
int kdelta_from_msg(struct kdelta *dl, struct kids *ids, const cJSON *delta, bool accept_routes);
void kdelta_free(struct kdelta *dl);
static inline bool kdiff_empty(const struct mw_device *dev)
{
	return !dev || !dev->first_peer;
}

#endif
