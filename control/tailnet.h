/* SPDX-License-Identifier: MIT */
/*
 * The server's live view of the tailnet: a cache of every node, the
 * compiled policy, and the open map streams. Changes arrive through the
 * store's change log (written by this server or any other one on the same
 * database); each is applied incrementally: only the nodes that can see a
 * changed node, or whose peer set or filter it changes, get a delta.
 */
#ifndef MWG_TAILNET_H
#define MWG_TAILNET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "policy/policy.h"
#include "../lib/seal.h"
#include "store.h"

struct mwg_tailnet;
struct cnode;

/* Most bytes queued for one map stream before it is ended. */
#define MWG_STREAM_QUEUE_MAX (32u << 20)

struct mwg_stream {
	struct mwg_tailnet *tn;
	int64_t node_id;
	uint8_t k[32];		/* crypto_box_beforenm(machine key, server key) */
	uint8_t req[MWG_NONCE_LEN];	/* the nonce of the request that opened it */
	uint64_t self_hash, filter_hash;
	struct mwg_stream *next;	/* in its node's list */
	pthread_mutex_t lock;	/* protects what follows */
	struct mwg_buf q;
	size_t qoff;
	bool suspended, ending, gone;
	int refs;
	/* Pending delta of the current change batch (tailnet lock): peer
	 * operations by id, and whether self / the filter need a look. */
	struct mwg_pend *pend;
	size_t pend_cap, pend_used;
	bool pend_self, pend_filter, pending;
	struct mwg_stream *pend_next;
	void *conn;		/* the HTTP connection (NULL in tests) */
	uint64_t messages;	/* enqueued so far */
};

struct mwg_tailnet {
	const struct mwg_config *cfg;
	struct mwg_store *store;
	const uint8_t *server_priv;	/* 32 bytes, owned by caller */
	struct mwg_nonce_gen gen;
	pthread_mutex_t lock;
	pthread_mutex_t sync_lock;	/* one change-log reader at a time */
	pthread_cond_t cond;
	bool kicked, stop;
	pthread_t thread;
	bool running;
	struct cnode **buckets;
	size_t nbuckets, count;
	struct policy *pol;
	struct policy_compiled *pc;
	int64_t seq;
	int64_t last_expiry_scan, last_gc, last_keepalive;
	size_t nstreams;
	size_t queued;		/* bytes queued on all streams (atomic) */
	bool closing;		/* no new streams (shutdown) */
	struct mwg_stream *pending;	/* streams with a pending delta */
	/* Called (without locks) when a suspended stream has data. */
	void (*resume)(void *conn);
};

int mwg_tailnet_new(const struct mwg_config *cfg, struct mwg_store *st,
		    const uint8_t server_priv[32], struct mwg_tailnet **out, struct mwg_err *e);
void mwg_tailnet_free(struct mwg_tailnet *tn);
int mwg_tailnet_start(struct mwg_tailnet *tn);
void mwg_tailnet_stop(struct mwg_tailnet *tn);
/* Wake the watcher: something was written. */
void mwg_tailnet_kick(struct mwg_tailnet *tn);
/* Apply every pending change now (the watcher does this in a loop). */
int mwg_tailnet_sync(struct mwg_tailnet *tn, struct mwg_err *e);
/* Send keepalives to every stream. */
void mwg_tailnet_keepalive(struct mwg_tailnet *tn);

/* The whole netmap of a node as JSON text (malloc'd). */
char *mwg_tailnet_full_map(struct mwg_tailnet *tn, int64_t node_id, struct mwg_err *e);

/* Opens a map stream for node_id (whose machine key is mkey) asked for by
 * the request with nonce req (echoed in every message); its first message
 * is the whole netmap. Marks the node online. */
struct mwg_stream *mwg_tailnet_stream_open(struct mwg_tailnet *tn, int64_t node_id,
					   const uint8_t mkey[32], const uint8_t req[MWG_NONCE_LEN],
					   void *conn, struct mwg_err *e);
/* The HTTP side is done with the stream (connection closed). */
void mwg_tailnet_stream_close(struct mwg_stream *s);
/* Copies queued bytes. Returns bytes (>0), 0 = nothing now (suspend), -1 = end. */
ssize_t mwg_stream_read(struct mwg_stream *s, char *buf, size_t max);
/* Pops one whole queued line (tests, malloc'd), NULL if none. */
char *mwg_stream_pop_line(struct mwg_stream *s);

/* Sends GOODBYE(reason) to every stream and ends it; returns how many
 * streams are still open (they close as their connections finish). */
size_t mwg_tailnet_end_all(struct mwg_tailnet *tn, const char *reason);
size_t mwg_tailnet_nstreams(struct mwg_tailnet *tn);
/* Counters for /health. */
cJSON *mwg_tailnet_stats(struct mwg_tailnet *tn);

#endif
