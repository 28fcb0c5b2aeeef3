/* SPDX-License-Identifier: MIT */
/*
 * mwgc: a client library for the meshwg coordination protocol
 * (docs/protocol.md). It holds a machine key and a node key, seals every
 * request to the server key, opens the sealed replies and map-stream
 * messages. Blocking, libcurl based; one struct mwgc per node, not shared
 * between threads.
 */
#ifndef MWGC_CLIENT_H
#define MWGC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "../../lib/seal.h"
#include "../../lib/util.h"

struct mwgc {
	char url[256];
	uint8_t mpriv[32], mpub[32];
	uint8_t npriv[32], npub[32];
	uint8_t spub[32];
	bool have_server_key;
	int64_t last_seq;	/* newest netmap "seq" accepted (-1: none yet) */
	char mkey[MWG_KEY_TEXT_MAX], nkey[MWG_KEY_TEXT_MAX];
	struct mwg_nonce_gen gen;
	int64_t last_date;	/* the last reply's HTTP Date, Unix seconds (0: none) */
	bool insecure_tls;	/* accept any certificate (tests) */
	long timeout_s;		/* per request; 0 = none (streams) */
};

/* The clock a client's nonces start from (CLOCK_REALTIME, mwg_now_ns);
 * read by mwgc_init. Tests set a wrong one to play a node whose clock is
 * off. */
extern uint64_t (*mwgc_clock_ns)(void);

/* Sets up c; keys are copied. 0 or -1. */
int mwgc_init(struct mwgc *c, const char *url, const uint8_t machine_priv[32],
	      const uint8_t node_priv[32]);
void mwgc_destroy(struct mwgc *c);

/* Reads/writes "privkey:<hex>" key files; genkey makes a fresh one. */
int mwgc_key_load(const char *path, uint8_t key[32], struct mwg_err *e);
void mwgc_genkey(uint8_t key[32]);

/* GET /v1/key. Done automatically by the calls below when needed. Refuses
 * a server of another protocol version (MWG_PROTOCOL_VERSION). */
int mwgc_fetch_server_key(struct mwgc *c, struct mwg_err *e);

/*
 * One request and its reply (or the messages of its map stream): the
 * request's nonce, which every reply must echo as "req", and the newest
 * reply nonce seen, which the next message must exceed. What makes a stale
 * or replayed reply (or one made for another request) fail in mwgc_open().
 */
struct mwgc_exchange {
	uint8_t req[MWG_NONCE_LEN];
	uint64_t last_ts, last_ctr;
};

/* The sealed envelope for payload (caller owns the text); x (may be NULL)
 * is set up for opening its replies. */
char *mwgc_seal_request(struct mwgc *c, const cJSON *payload, struct mwgc_exchange *x);

/* The payload of a request: extra (may be NULL) with this node's node_key. */
cJSON *mwgc_payload(const struct mwgc *c, const cJSON *extra);
/* The /v1/register payloads (docs/protocol.md) of mwgc_register and
 * mwgc_rotate, proofs included; the server key must be known. NULL when out
 * of memory. For clients that send them themselves (meshwgd's ctl.c). */
cJSON *mwgc_register_payload(struct mwgc *c, const char *auth_key, const char *hostname,
			     const cJSON *extra);
cJSON *mwgc_rotate_payload(struct mwgc *c, const uint8_t new_node_priv[32],
			   const char *hostname);
/* Makes node_priv c's node key (after a rotation the server accepted). */
void mwgc_set_node_key(struct mwgc *c, const uint8_t node_priv[32]);
/* Opens a sealed reply or stream line from the server to the request of x:
 * the JSON inside (without "req"), or NULL with e set (502) when it is not a
 * sealed envelope from the server key, not JSON, not labelled a reply, not
 * an answer to x's request, not newer than x's last message, or carries a
 * netmap "seq" older than one this client already accepted. */
cJSON *mwgc_open(struct mwgc *c, const char *text, struct mwgc_exchange *x, struct mwg_err *e);

/*
 * Clock re-sync. A server refuses a request whose nonce time is more than
 * its auth_max_skew (300 s) off its own clock (401 "stale or future
 * timestamp ...") or older than its start (401 "nonce from before the
 * server started"): a node booted with a wrong clock would be refused
 * forever. mwgc_clock_refusal() tells such a refusal; mwgc_clock_resync()
 * then takes the time of the server's HTTP Date header (Unix seconds; 0
 * when there was none) as the time of the nonces from now on (offset_ns
 * of the nonce generator, kept for later requests) and restarts the
 * nonces with a new counter, even backwards. Date is not authenticated:
 * a forged one can only make our own requests fail, which whoever can
 * forge it can do anyway; the server's replay check does not depend on
 * it. Returns the new offset in seconds.
 */
bool mwgc_clock_refusal(long status, const char *error);
int64_t mwgc_clock_resync(struct mwgc *c, int64_t server_date);

/* POSTs body to path; returns the HTTP status (or -1) and the body. */
long mwgc_post_raw(struct mwgc *c, const char *path, const char *body, char **reply,
		   struct mwg_err *e);

/* Seals payload, POSTs it to path, opens the reply. On HTTP errors returns -1
 * with e->status the HTTP status and e->msg the server's "error". A clock
 * refusal is retried once after mwgc_clock_resync(). */
int mwgc_call(struct mwgc *c, const char *path, const cJSON *payload, cJSON **reply,
	      struct mwg_err *e);

/* Registers the node key (with auth_key, or pending approval when NULL).
 * extra (may be NULL) adds fields (disco_key, hostinfo). */
int mwgc_register(struct mwgc *c, const char *auth_key, const char *hostname,
		  const cJSON *extra, cJSON **reply, struct mwg_err *e);
/* Rotates to new_node_priv, proving both keys. On success c uses the new key. */
int mwgc_rotate(struct mwgc *c, const uint8_t new_node_priv[32], const char *hostname,
		cJSON **reply, struct mwg_err *e);
/* One whole netmap. extra may carry endpoints/home_derp/hostinfo/disco_key. */
int mwgc_map(struct mwgc *c, const cJSON *extra, cJSON **netmap, struct mwg_err *e);

/* Long-poll map stream: calls cb for every message (full, delta, keepalive,
 * goodbye) until cb returns non-zero, the server ends the stream, or an
 * error. Returns 0 when cb stopped it or the server ended it. */
typedef int (*mwgc_msg_cb)(const cJSON *msg, void *arg);
int mwgc_stream(struct mwgc *c, const cJSON *extra, mwgc_msg_cb cb, void *arg,
		struct mwg_err *e);

/* Endpoint / home DERP / hostinfo / advertised routes update. */
int mwgc_update(struct mwgc *c, const cJSON *fields, struct mwg_err *e);
int mwgc_logout(struct mwgc *c, struct mwg_err *e);

/* The most peers a netmap may hold (docs/protocol.md, "Limits"): a FULL
 * with more, or a DELTA that would make more, is refused as a whole. */
#define MWGC_MAX_PEERS 65536

/* Applies a map-stream message to a netmap (full replaces it; delta edits
 * self, peers and packet_filter; peers are matched by "id", a finite
 * number; entries without one are never matched). *netmap may start NULL.
 * 0, or -1 with e set and *netmap unchanged: more than max_peers peers
 * (413), "peers" not an array (400), out of memory (500). Cost
 * O((n + m) log(n + m)) for n peers and m delta entries. */
int mwgc_netmap_merge(cJSON **netmap, const cJSON *msg, size_t max_peers, struct mwg_err *e);
/* mwgc_netmap_merge with MWGC_MAX_PEERS and no message. */
int mwgc_netmap_apply(cJSON **netmap, const cJSON *msg);
/* Comparisons and search steps mwgc_netmap_merge made so far (tests count
 * them to prove the merge is not quadratic, without timing it). */
extern unsigned long long mwgc_merge_steps;

#endif
