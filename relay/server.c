// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwg-derper's server (server.h): one thread, one epoll loop, non-blocking
 * sockets.  A connection goes TLS handshake (when serving HTTPS) -> HTTP
 * request -> either a response and close, or `Upgrade: DERP` -> ServerKey ->
 * ClientInfo -> a registered DERP client.  Nothing ever blocks on a client:
 * packets for a client wait in its bounded queues (oldest dropped when full)
 * and are written when its socket takes them.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <sodium.h>

#include "../lib/hex.h"
#include "http.h"
#include "stun.h"

#define RBUF_MIN (16 * 1024)
#define WBUF_CAP (96 * 1024)
#define WBUF_FILL (32 * 1024)	/* stop adding packets past this */
#define CTL_MAX (16 * 1024)	/* control frames waiting for the socket */
#define READ_BUDGET (256 * 1024) /* bytes per plain connection per event */
#define TICK_MS 1000
#define KEEPALIVE_JITTER_MS 5000
#define PEER_GONE_BURST 3	/* PeerGone(NotHere): 3 at once, 1 per s */

enum kind { KIND_LISTENER, KIND_CONN, KIND_SIGNAL, KIND_STUN };
enum state { ST_TLS, ST_HTTP, ST_DERP_WAIT_INFO, ST_DERP };
enum io { IO_AGAIN = -1, IO_ERR = -2 };

struct pkt {
	uint8_t src[DERP_KEY_LEN];
	uint32_t len;
	uint8_t data[];
};

struct pktq {
	struct pkt **ring;
	unsigned int head, count;
};

struct keyent;

struct conn {
	enum kind kind;
	int fd;
	SSL *ssl;
	enum state state;
	bool closing;		/* close once the output is written */
	bool dead;		/* unregistered; freed at the end of the batch */
	bool dirty;		/* on the flush list */
	bool want_out;		/* EPOLLOUT registered */
	bool read_off;		/* EPOLLIN not registered (EOF, or paused) */
	bool paused;		/* over its rate: not read until resume_at */
	bool charged;		/* the frame at rpos is paid for */
	bool write_failed;	/* queued packets count as write_error */
	char addr[INET6_ADDRSTRLEN + 8];
	bool loopback;

	uint8_t *rbuf;
	size_t rpos, rlen, rcap;
	uint32_t skip;		/* payload bytes of a skipped frame to drop */

	uint8_t *wbuf;
	size_t wpos, wlen, wcap;
	uint8_t *ctl;		/* control frames waiting for wbuf */
	size_t ctl_len, ctl_cap;
	bool pong_pending;
	uint8_t pong[DERP_PING_LEN];
	struct pktq q, dq;	/* other packets, disco packets */

	uint8_t key[DERP_KEY_LEN];
	struct keyent *ke;
	struct conn *ke_next;
	uint64_t active_seq;
	bool preferred;
	struct keyent **watching;	/* senders whose PeerGone we want */
	size_t nwatching, capwatching;
	struct keyent *last_src;
	double pg_tokens;
	int64_t pg_last;
	double rl_tokens;	/* --rate-config bucket, bytes */
	int64_t rl_last, resume_at;
	struct conn *paused_next;

	int64_t deadline;	/* handshake: close if not DERP by then */
	int64_t last_read, last_write, next_keepalive;

	struct conn *prev, *next;
	struct conn *dirty_next, *dead_next;
};

struct keyent {
	uint8_t key[DERP_KEY_LEN];
	struct keyent *hnext;
	struct conn *conns;	/* every connection with this key */
	unsigned int nconns;
	struct conn *active;	/* the one that gets packets */
	struct conn **watchers;	/* clients that got packets from this key */
	size_t nwatchers, capwatchers;
};

struct listener {
	enum kind kind;
	int fd;
};

static struct metrics {
	uint64_t accepts, accept_errors, refused_max_conns;
	uint64_t http_requests, http_bad;
	uint64_t handshake_timeouts, idle_timeouts, write_timeouts;
	uint64_t bad_client_info, bad_frames, clients_total;
	uint64_t packets_recv, bytes_recv, packets_sent, bytes_sent;
	uint64_t drop_unknown_dest, drop_queue_head, drop_gone, drop_write;
	uint64_t bytes_dropped;
	uint64_t peer_gone_not_here, peer_gone_disconnected, ctl_overflow;
	uint64_t pings, pongs_dropped, keepalives, unknown_frames;
	uint64_t dup_conns_total, rate_limited;
	uint64_t stun_packets, stun_responses, stun_bad;
	unsigned int conns, clients, home_clients, keys, dup_keys;
} M;

static struct server {
	const struct server_config *cfg;
	int ep;
	int64_t now;
	struct conn *conns;
	struct conn *dirty, *dead, *paused;
	struct keyent **buckets;
	size_t nbuckets, nkeys;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	uint64_t seq;
	int64_t last_accept_log;
} S;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("meshwg-derper: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- keys ---- */

static size_t key_bucket(const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, DERP_KEY_LEN, S.hash_key);
	memcpy(&v, h, sizeof(v));
	return v & (S.nbuckets - 1);
}

static struct keyent *key_find(const uint8_t *key)
{
	struct keyent *e;

	if (!S.nbuckets)
		return NULL;
	for (e = S.buckets[key_bucket(key)]; e; e = e->hnext)
		if (!memcmp(e->key, key, DERP_KEY_LEN))
			return e;
	return NULL;
}

static int key_grow(void)
{
	size_t old = S.nbuckets, n = old ? old * 2 : 256;
	struct keyent **nb = calloc(n, sizeof(*nb)), **ob = S.buckets;

	if (!nb)
		return -1;
	S.buckets = nb;
	S.nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		for (struct keyent *e = ob[i], *next; e; e = next) {
			size_t b = key_bucket(e->key);

			next = e->hnext;
			e->hnext = nb[b];
			nb[b] = e;
		}
	}
	free(ob);
	return 0;
}

static struct keyent *key_add(const uint8_t *key)
{
	struct keyent *e;
	size_t b;

	if (S.nkeys >= S.nbuckets && key_grow() && !S.nbuckets)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->key, key, DERP_KEY_LEN);
	b = key_bucket(key);
	e->hnext = S.buckets[b];
	S.buckets[b] = e;
	S.nkeys++;
	return e;
}

static void key_del(struct keyent *e)
{
	struct keyent **pp = &S.buckets[key_bucket(e->key)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	S.nkeys--;
	free(e->watchers);
	free(e);
}

/* ---- output ---- */

static void mark_dirty(struct conn *c)
{
	if (c->dirty || c->dead)
		return;
	c->dirty = true;
	c->dirty_next = S.dirty;
	S.dirty = c;
}

static bool ctl_append(struct conn *c, const void *p, size_t n)
{
	if (c->ctl_len + n > CTL_MAX) {
		M.ctl_overflow++;
		return false;
	}
	if (c->ctl_len + n > c->ctl_cap) {
		size_t cap = c->ctl_cap ? c->ctl_cap : 256;
		uint8_t *nc;

		while (cap < c->ctl_len + n)
			cap *= 2;
		if (cap > CTL_MAX)
			cap = CTL_MAX;
		nc = realloc(c->ctl, cap);
		if (!nc) {
			M.ctl_overflow++;
			return false;
		}
		c->ctl = nc;
		c->ctl_cap = cap;
	}
	memcpy(c->ctl + c->ctl_len, p, n);
	c->ctl_len += n;
	mark_dirty(c);
	return true;
}

/* Frees what a closing connection still had queued: dropped packets. */
static void pktq_free(struct pktq *q, bool write_failed)
{
	unsigned int depth = S.cfg->queue_depth;

	for (; q->count; q->count--) {
		struct pkt *p = q->ring[q->head];

		if (write_failed)
			M.drop_write++;
		else
			M.drop_gone++;
		M.bytes_dropped += p->len;
		free(p);
		q->head = (q->head + 1) % depth;
	}
	free(q->ring);
	q->ring = NULL;
	q->head = 0;
}

static struct pkt *pktq_pop(struct pktq *q)
{
	struct pkt *p;

	if (!q->count)
		return NULL;
	p = q->ring[q->head];
	q->head = (q->head + 1) % S.cfg->queue_depth;
	q->count--;
	return p;
}

static const struct pkt *pktq_peek(const struct pktq *q)
{
	return q->count ? q->ring[q->head] : NULL;
}

/* Moves control frames, then packets (disco first), into the write buffer. */
static bool fill_wbuf(struct conn *c)
{
	size_t want;

	if (!c->ctl_len && !c->pong_pending && !c->q.count && !c->dq.count)
		return false;
	/* Control frames alone (handshakes, keepalives) need little. */
	want = c->q.count || c->dq.count ? WBUF_CAP :
	       c->ctl_len + DERP_PING_SIZE;
	if (want > c->wcap) {
		uint8_t *nb = realloc(c->wbuf, want);

		if (!nb)
			return false;
		c->wbuf = nb;
		c->wcap = want;
	}
	c->wpos = c->wlen = 0;
	if (c->ctl_len)
		memcpy(c->wbuf, c->ctl, c->ctl_len);
	c->wlen = c->ctl_len;
	c->ctl_len = 0;
	if (c->pong_pending) {
		c->wlen += derp_put_ping(c->wbuf + c->wlen, DERP_FRAME_PONG,
					 c->pong);
		c->pong_pending = false;
	}
	while (c->wlen < WBUF_FILL) {
		struct pktq *q = c->dq.count ? &c->dq : &c->q;
		const struct pkt *p = pktq_peek(q);
		struct pkt *pp;

		if (!p || c->wlen + DERP_PACKET_HDR_SIZE + p->len > c->wcap)
			break;
		pp = pktq_pop(q);
		c->wlen += derp_put_packet_header(c->wbuf + c->wlen,
						  DERP_FRAME_RECV_PACKET,
						  pp->src, pp->len);
		memcpy(c->wbuf + c->wlen, pp->data, pp->len);
		c->wlen += pp->len;
		M.packets_sent++;
		M.bytes_sent += pp->len;
		free(pp);
	}
	if (c->wlen)
		c->last_write = S.now;
	return c->wlen > 0;
}

static void set_events(struct conn *c, bool want_out, bool read_off)
{
	struct epoll_event ev = {
		.events = (read_off ? 0 : EPOLLIN) | (want_out ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if ((c->want_out == want_out && c->read_off == read_off) || c->dead)
		return;
	c->want_out = want_out;
	c->read_off = read_off;
	epoll_ctl(S.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void set_want_out(struct conn *c, bool on)
{
	set_events(c, on, c->read_off);
}

static ssize_t io_read(struct conn *c, void *buf, size_t n)
{
	ssize_t r;

	if (!c->ssl) {
		r = read(c->fd, buf, n);
		if (r >= 0)
			return r;
		return errno == EAGAIN || errno == EINTR ? IO_AGAIN : IO_ERR;
	}
	ERR_clear_error();
	r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ:
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		set_want_out(c, true);
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return IO_ERR;
	}
}

static ssize_t io_write(struct conn *c, const void *buf, size_t n)
{
	ssize_t r;

	if (!c->ssl) {
		r = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		return errno == EAGAIN || errno == EINTR ? IO_AGAIN : IO_ERR;
	}
	ERR_clear_error();
	r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return IO_AGAIN;
	default:
		return IO_ERR;
	}
}

static void conn_kill(struct conn *c);

static void conn_flush(struct conn *c)
{
	if (c->dead || c->state == ST_TLS)
		return;
	for (;;) {
		ssize_t n;

		if (c->wpos == c->wlen && !fill_wbuf(c))
			break;
		n = io_write(c, c->wbuf + c->wpos, c->wlen - c->wpos);
		if (n > 0) {
			c->wpos += n;
			c->last_write = S.now;
			continue;
		}
		if (n == IO_AGAIN) {
			set_want_out(c, true);
			return;
		}
		c->write_failed = true;
		conn_kill(c);
		return;
	}
	set_want_out(c, false);
	if (c->closing)
		conn_kill(c);
}

/* ---- DERP clients ---- */

static void watch_remove(struct keyent *e, struct conn *c)
{
	for (size_t i = 0; i < e->nwatchers; i++) {
		if (e->watchers[i] == c) {
			e->watchers[i] = e->watchers[--e->nwatchers];
			return;
		}
	}
}

static void watching_remove(struct conn *c, struct keyent *e)
{
	for (size_t i = 0; i < c->nwatching; i++) {
		if (c->watching[i] == e) {
			c->watching[i] = c->watching[--c->nwatching];
			break;
		}
	}
	if (c->last_src == e)
		c->last_src = NULL;
}

static bool grow(void *pp, size_t *cap, size_t n, size_t elem)
{
	void **p = pp;
	size_t ncap;
	void *np;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 4;
	np = reallocarray(*p, ncap, elem);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

/* dst got a packet from src: tell dst when src leaves (PeerGone). */
static void watch(struct conn *dst, struct keyent *src)
{
	if (dst->last_src == src)
		return;
	for (size_t i = 0; i < dst->nwatching; i++) {
		if (dst->watching[i] == src) {
			dst->last_src = src;
			return;
		}
	}
	if (!grow(&dst->watching, &dst->capwatching, dst->nwatching,
		  sizeof(*dst->watching)) ||
	    !grow(&src->watchers, &src->capwatchers, src->nwatchers,
		  sizeof(*src->watchers)))
		return;
	dst->watching[dst->nwatching++] = src;
	src->watchers[src->nwatchers++] = dst;
	dst->last_src = src;
}

static void send_peer_gone(struct conn *c, const uint8_t *key, uint8_t reason)
{
	uint8_t f[DERP_PEER_GONE_SIZE];

	derp_put_peer_gone(f, key, reason);
	if (ctl_append(c, f, sizeof(f))) {
		if (reason == DERP_PEER_GONE_NOT_HERE)
			M.peer_gone_not_here++;
		else
			M.peer_gone_disconnected++;
	}
}

static void client_unregister(struct conn *c)
{
	struct keyent *e = c->ke;
	struct conn **pp;

	for (size_t i = 0; i < c->nwatching; i++)
		watch_remove(c->watching[i], c);
	free(c->watching);
	c->watching = NULL;
	c->nwatching = c->capwatching = 0;
	if (!e)
		return;
	for (pp = &e->conns; *pp != c; pp = &(*pp)->ke_next)
		;
	*pp = c->ke_next;
	c->ke = NULL;
	M.clients--;
	if (c->preferred)
		M.home_clients--;
	if (e->nconns-- == 2)
		M.dup_keys--;
	if (e->nconns) {
		if (e->active == c) {
			struct conn *best = e->conns;

			for (struct conn *o = e->conns; o; o = o->ke_next)
				if (o->active_seq > best->active_seq)
					best = o;
			e->active = best;
		}
		return;
	}
	/* The key left this server: tell those it sent to. */
	for (size_t i = 0; i < e->nwatchers; i++) {
		struct conn *w = e->watchers[i];

		watching_remove(w, e);
		send_peer_gone(w, e->key, DERP_PEER_GONE_DISCONNECTED);
	}
	M.keys--;
	key_del(e);
}

static bool client_register(struct conn *c)
{
	struct keyent *e = key_find(c->key);

	if (!e) {
		e = key_add(c->key);
		if (!e)
			return false;
		M.keys++;
	}
	c->ke = e;
	c->ke_next = e->conns;
	e->conns = c;
	if (++e->nconns == 2)
		M.dup_keys++;
	if (e->nconns > 1)
		M.dup_conns_total++;
	e->active = c;		/* the newest connection is active */
	c->active_seq = ++S.seq;
	M.clients++;
	M.clients_total++;
	return true;
}

static void client_note_activity(struct conn *c)
{
	struct keyent *e = c->ke;

	/* Duplicate keys: the last one to send is the active one. */
	if (e->nconns > 1 && e->active != c) {
		e->active = c;
		c->active_seq = ++S.seq;
	}
}

static bool peer_gone_allowed(struct conn *c)
{
	c->pg_tokens += (double)(S.now - c->pg_last) / 1000.0;
	c->pg_last = S.now;
	if (c->pg_tokens > PEER_GONE_BURST)
		c->pg_tokens = PEER_GONE_BURST;
	if (c->pg_tokens < 1)
		return false;
	c->pg_tokens -= 1;
	return true;
}

static void handle_send(struct conn *c, const uint8_t *dst_key,
			const uint8_t *data, size_t len)
{
	struct keyent *e = key_find(dst_key);
	struct conn *dst = e ? e->active : NULL;
	bool disco = derp_looks_like_disco(data, len);
	unsigned int depth = S.cfg->queue_depth;
	struct pktq *q;
	struct pkt *p;

	M.packets_recv++;
	M.bytes_recv += len;
	if (!dst) {
		M.drop_unknown_dest++;
		M.bytes_dropped += len;
		/* As Tailscale: only disco gets an answer, rate-limited. */
		if (disco && peer_gone_allowed(c))
			send_peer_gone(c, dst_key, DERP_PEER_GONE_NOT_HERE);
		return;
	}
	q = disco ? &dst->dq : &dst->q;
	if (!q->ring) {
		q->ring = calloc(depth, sizeof(*q->ring));
		if (!q->ring)
			goto nomem;
	}
	p = malloc(sizeof(*p) + len);
	if (!p)
		goto nomem;
	memcpy(p->src, c->key, DERP_KEY_LEN);
	p->len = (uint32_t)len;
	memcpy(p->data, data, len);
	if (q->count == depth && dst != c && !dst->want_out) {
		/*
		 * Full, and its socket was not known to be full: give it what
		 * it takes before dropping (a burst read from one sender can
		 * hold more than a queue's worth for one destination).
		 */
		conn_flush(dst);
		if (dst->dead) {
			M.drop_gone++;
			M.bytes_dropped += len;
			free(p);
			return;
		}
	}
	if (q->count == depth) {
		struct pkt *old = pktq_pop(q);

		M.drop_queue_head++;
		M.bytes_dropped += old->len;
		free(old);
	}
	q->ring[(q->head + q->count) % depth] = p;
	q->count++;
	watch(dst, c->ke);
	mark_dirty(dst);
	return;
nomem:
	M.drop_queue_head++;
	M.bytes_dropped += len;
}

/* Appends to [*p, end) what fits whole; never moves *p past end. */
static void put_text(char **p, char *end, const char *text)
{
	size_t n = strlen(text);

	if (n < (size_t)(end - *p)) {
		memcpy(*p, text, n + 1);
		*p += n;
	}
}

static void put_json_u(char **p, char *end, const char *name, uint64_t v,
		       bool last)
{
	char item[128];

	snprintf(item, sizeof(item), "\"%s\":%" PRIu64 "%s", name, v,
		 last ? "" : ",");
	put_text(p, end, item);
}

/* The ClientInfo frame: open the box, register, answer ServerInfo. */
static int handle_client_info(struct conn *c, const struct derp_frame *f)
{
	const uint8_t *key, *box;
	unsigned char *msg;
	size_t box_len, msg_len;
	uint8_t out[DERP_HDR_LEN + DERP_NONCE_LEN + crypto_box_MACBYTES + 32];
	static const char info[] = "{\"version\":2}";
	cJSON *json;
	bool ok;

	if (!derp_get_client_info(f, &key, &box, &box_len))
		return -1;
	msg_len = box_len - DERP_NONCE_LEN - crypto_box_MACBYTES;
	msg = malloc(msg_len + 1);
	if (!msg)
		return -1;
	if (crypto_box_open_easy(msg, box + DERP_NONCE_LEN,
				 box_len - DERP_NONCE_LEN, box, key,
				 S.cfg->private_key)) {
		free(msg);
		return -1;
	}
	msg[msg_len] = '\0';
	json = cJSON_ParseWithLength((const char *)msg, msg_len);
	ok = cJSON_IsObject(json);
	if (ok) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(json,
								  "version");

		ok = !v || cJSON_IsNumber(v);
	}
	cJSON_Delete(json);
	free(msg);
	if (!ok)
		return -1;

	/* ServerInfo: nonce + box(JSON) sealed to the client. */
	randombytes_buf(out + DERP_HDR_LEN, DERP_NONCE_LEN);
	if (crypto_box_easy(out + DERP_HDR_LEN + DERP_NONCE_LEN,
			    (const unsigned char *)info, sizeof(info) - 1,
			    out + DERP_HDR_LEN, key, S.cfg->private_key))
		return -1;
	derp_put_header(out, DERP_FRAME_SERVER_INFO, DERP_NONCE_LEN +
			crypto_box_MACBYTES + sizeof(info) - 1);
	memcpy(c->key, key, DERP_KEY_LEN);
	if (!client_register(c))
		return -1;
	c->state = ST_DERP;
	c->next_keepalive = S.now + DERP_KEEPALIVE_SEC * 1000 +
			    randombytes_uniform(KEEPALIVE_JITTER_MS);
	c->pg_tokens = PEER_GONE_BURST;
	c->pg_last = S.now;
	c->rl_tokens = (double)S.cfg->rate_burst;
	c->rl_last = S.now;

	ctl_append(c, out, DERP_HDR_LEN + DERP_NONCE_LEN +
		   crypto_box_MACBYTES + sizeof(info) - 1);
	return 0;
}

/* Whether the server needs a frame's payload whole, or skips it unread. */
static bool frame_wanted(uint8_t type)
{
	switch (type) {
	case DERP_FRAME_SEND_PACKET:
	case DERP_FRAME_NOTE_PREFERRED:
	case DERP_FRAME_PING:
	case DERP_FRAME_FORWARD_PACKET:
	case DERP_FRAME_WATCH_CONNS:
	case DERP_FRAME_CLOSE_PEER:
		return true;
	default:
		return false;
	}
}

/* One frame from a registered client; -1 closes the connection. */
static int handle_frame(struct conn *c, const struct derp_frame *f)
{
	const uint8_t *key, *data;
	size_t len;
	bool pref;

	switch (f->type) {
	case DERP_FRAME_SEND_PACKET:
		if (!derp_get_packet(f, &key, &data, &len))
			return -1;
		handle_send(c, key, data, len);
		return 0;
	case DERP_FRAME_NOTE_PREFERRED:
		if (!derp_get_note_preferred(f, &pref))
			return -1;
		if (pref != c->preferred) {
			c->preferred = pref;
			if (pref)
				M.home_clients++;
			else
				M.home_clients--;
		}
		return 0;
	case DERP_FRAME_PING:
		if (!derp_get_ping(f, &data))
			return -1;
		M.pings++;
		if (c->pong_pending) {
			M.pongs_dropped++;	/* pinging too fast */
			return 0;
		}
		memcpy(c->pong, data, DERP_PING_LEN);
		c->pong_pending = true;
		mark_dirty(c);
		return 0;
	default:
		/* Mesh frames need the mesh key, which no client has yet. */
		return -1;
	}
}

/* ---- HTTP ---- */

static void respond(struct conn *c, int status, const char *reason,
		    const char *headers, const char *type, const char *body,
		    bool head)
{
	char buf[CTL_MAX], clen[40] = "";
	size_t blen = body ? strlen(body) : 0;
	int n;

	if (status != 204)	/* a 204 has no Content-Length (RFC 9110) */
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", blen);
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\n%s%s%s%s%s"
		     "Connection: close\r\n\r\n%s",
		     status, reason, headers ? headers : "",
		     type ? "Content-Type: " : "", type ? type : "",
		     type ? "\r\n" : "", clen, head || !body ? "" : body);
	if (n > 0 && (size_t)n < sizeof(buf))
		ctl_append(c, buf, n);
	c->closing = true;
}

static bool challenge_ok(const struct http_value *v)
{
	if (!v->p || v->len > 64)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		char ch = v->p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == '_' || ch == ':'))
			return false;
	}
	return true;
}

static void serve_vars(struct conn *c, bool head)
{
	char body[4096], *p = body, *end = body + sizeof(body);

	put_text(&p, end, "{");
	put_json_u(&p, end, "connections", M.conns, false);
	put_json_u(&p, end, "accepts", M.accepts, false);
	put_json_u(&p, end, "accept_errors", M.accept_errors, false);
	put_json_u(&p, end, "refused_max_conns", M.refused_max_conns, false);
	put_json_u(&p, end, "clients", M.clients, false);
	put_json_u(&p, end, "clients_total", M.clients_total, false);
	put_json_u(&p, end, "home_clients", M.home_clients, false);
	put_json_u(&p, end, "client_keys", M.keys, false);
	put_json_u(&p, end, "dup_client_keys", M.dup_keys, false);
	put_json_u(&p, end, "dup_client_conns_total", M.dup_conns_total,
		   false);
	put_json_u(&p, end, "packets_received", M.packets_recv, false);
	put_json_u(&p, end, "bytes_received", M.bytes_recv, false);
	put_json_u(&p, end, "packets_sent", M.packets_sent, false);
	put_json_u(&p, end, "bytes_sent", M.bytes_sent, false);
	put_json_u(&p, end, "packets_dropped", M.drop_unknown_dest +
		   M.drop_queue_head + M.drop_gone + M.drop_write, false);
	put_json_u(&p, end, "bytes_dropped", M.bytes_dropped, false);
	put_text(&p, end, "\"packets_dropped_reason\":{");
	put_json_u(&p, end, "unknown_dest", M.drop_unknown_dest, false);
	put_json_u(&p, end, "queue_head", M.drop_queue_head, false);
	put_json_u(&p, end, "gone_disconnected", M.drop_gone, false);
	put_json_u(&p, end, "write_error", M.drop_write, true);
	put_text(&p, end, "},");
	put_json_u(&p, end, "peer_gone_not_here_sent", M.peer_gone_not_here,
		   false);
	put_json_u(&p, end, "peer_gone_disconnected_sent",
		   M.peer_gone_disconnected, false);
	put_json_u(&p, end, "control_frames_dropped", M.ctl_overflow, false);
	put_json_u(&p, end, "pings_received", M.pings, false);
	put_json_u(&p, end, "pongs_dropped", M.pongs_dropped, false);
	put_json_u(&p, end, "keepalives_sent", M.keepalives, false);
	put_json_u(&p, end, "unknown_frames", M.unknown_frames, false);
	put_json_u(&p, end, "rate_limited_pauses", M.rate_limited, false);
	put_json_u(&p, end, "http_requests", M.http_requests, false);
	put_json_u(&p, end, "http_bad_requests", M.http_bad, false);
	put_json_u(&p, end, "handshake_timeouts", M.handshake_timeouts, false);
	put_json_u(&p, end, "idle_timeouts", M.idle_timeouts, false);
	put_json_u(&p, end, "write_timeouts", M.write_timeouts, false);
	put_json_u(&p, end, "bad_client_info", M.bad_client_info, false);
	put_json_u(&p, end, "bad_frames", M.bad_frames, false);
	put_json_u(&p, end, "stun_packets", M.stun_packets, false);
	put_json_u(&p, end, "stun_responses", M.stun_responses, false);
	put_json_u(&p, end, "stun_bad_requests", M.stun_bad, true);
	put_text(&p, end, "}\n");
	respond(c, 200, "OK", NULL, "application/json", body, head);
}

static const char home_page[] =
	"<html><body>\n<h1>meshwg-derper</h1>\n"
	"<p>This is a DERP relay server (Tailscale's relay protocol), part of "
	"meshwg.</p>\n</body></html>\n";

static int handle_http(struct conn *c)
{
	struct http_request req;
	struct http_value *path = &req.path;
	size_t used;
	bool get, head;
	enum http_parse r;

	r = http_parse_request((const char *)c->rbuf + c->rpos,
			       c->rlen - c->rpos, &req, &used);
	if (r == HTTP_PARSE_MORE)
		return 0;
	if (r == HTTP_PARSE_BAD) {
		M.http_bad++;
		c->rpos = c->rlen;
		respond(c, 400, "Bad Request", NULL, "text/plain",
			"bad request\n", false);
		return 0;
	}
	M.http_requests++;
	get = http_value_is(&req.method, "GET");
	head = http_value_is(&req.method, "HEAD");
	if (http_value_is(path, "/derp/probe") ||
	    http_value_is(path, "/derp/latency-check")) {
		c->rpos = c->rlen;
		if (get || head)
			respond(c, 200, "OK",
				"Access-Control-Allow-Origin: *\r\n", NULL,
				NULL, head);
		else
			respond(c, 405, "Method Not Allowed", NULL,
				"text/plain", "bogus probe method\n", false);
		return 0;
	}
	if (http_value_is(path, "/derp")) {
		char hex[2 * DERP_KEY_LEN + 1], hdr[256];
		uint8_t sk[DERP_SERVER_KEY_SIZE];
		int n;

		if (!http_value_is(&req.upgrade, "derp")) {
			c->rpos = c->rlen;
			respond(c, 426, "Upgrade Required", NULL, "text/plain",
				"DERP requires connection upgrade\n", false);
			return 0;
		}
		c->rpos += used;	/* what follows is DERP */
		if (!(req.fast_start.p && req.fast_start.len == 1 &&
		      req.fast_start.p[0] == '1')) {
			hex_encode(hex, S.cfg->public_key, DERP_KEY_LEN);
			n = snprintf(hdr, sizeof(hdr),
				     "HTTP/1.1 101 Switching Protocols\r\n"
				     "Upgrade: DERP\r\nConnection: Upgrade\r\n"
				     "Derp-Version: %d\r\n"
				     "Derp-Public-Key: %s\r\n\r\n",
				     DERP_PROTOCOL_VERSION, hex);
			ctl_append(c, hdr, n);
		}
		derp_put_server_key(sk, S.cfg->public_key);
		ctl_append(c, sk, sizeof(sk));
		c->state = ST_DERP_WAIT_INFO;
		c->deadline = S.now + S.cfg->handshake_timeout * 1000LL;
		return 0;
	}
	c->rpos = c->rlen;	/* one request per connection */
	if (http_value_is(path, "/generate_204")) {
		char hdr[256] = "Cache-Control: no-cache, no-store, "
				"must-revalidate, no-transform, max-age=0\r\n";

		if (challenge_ok(&req.challenge)) {
			size_t l = strlen(hdr);

			snprintf(hdr + l, sizeof(hdr) - l,
				 "X-Tailscale-Response: response %.*s\r\n",
				 (int)req.challenge.len, req.challenge.p);
		}
		respond(c, 204, "No Content", hdr, NULL, NULL, true);
	} else if (!get && !head) {
		respond(c, 405, "Method Not Allowed", NULL, "text/plain",
			"method not allowed\n", false);
	} else if (http_value_is(path, "/")) {
		respond(c, 200, "OK", NULL, "text/html; charset=utf-8",
			home_page, head);
	} else if (http_value_is(path, "/robots.txt")) {
		respond(c, 200, "OK", NULL, "text/plain",
			"User-agent: *\nDisallow: /\n", head);
	} else if (http_value_is(path, "/debug/vars")) {
		if (c->loopback)
			serve_vars(c, head);
		else
			respond(c, 403, "Forbidden", NULL, "text/plain",
				"debug pages are for loopback only\n", false);
	} else {
		respond(c, 404, "Not Found", NULL, "text/plain",
			"404 page not found\n", false);
	}
	return 0;
}

/* ---- input ---- */

/*
 * --rate-config: a token bucket per client over the frame lengths it
 * sends (as derper: frames counted up to 64 KiB + 32).  A client that goes
 * into debt is not read until the debt is paid back; TCP then slows it.
 */
static void rate_charge(struct conn *c, uint32_t flen)
{
	uint64_t rate = S.cfg->rate_bytes_per_sec;
	uint32_t cap = DERP_MAX_PACKET + DERP_KEY_LEN;

	if (!rate)
		return;
	c->rl_tokens += (double)(S.now - c->rl_last) * rate / 1000.0;
	c->rl_last = S.now;
	if (c->rl_tokens > (double)S.cfg->rate_burst)
		c->rl_tokens = (double)S.cfg->rate_burst;
	c->rl_tokens -= flen < cap ? flen : cap;
	if (c->rl_tokens >= 0)
		return;
	M.rate_limited++;
	c->paused = true;
	c->resume_at = S.now + (int64_t)(-c->rl_tokens * 1000.0 / rate) + 1;
	set_events(c, c->want_out, true);
	c->paused_next = S.paused;
	S.paused = c;
}

static int process_input(struct conn *c);

/* Resumes the paused clients whose time has come; returns the next one. */
static int64_t rate_resume(void)
{
	int64_t next = INT64_MAX;

	for (struct conn **pp = &S.paused, *c; (c = *pp);) {
		if (c->resume_at > S.now) {
			if (c->resume_at < next)
				next = c->resume_at;
			pp = &c->paused_next;
			continue;
		}
		*pp = c->paused_next;
		c->paused = false;
		set_events(c, c->want_out, false);
		if (process_input(c))	/* what was read before the pause */
			conn_kill(c);
	}
	return next;
}

/* Frames in rbuf[rpos..rlen); -1 closes the connection. */
static int process_derp(struct conn *c)
{
	while (!c->dead && !c->closing) {
		size_t avail = c->rlen - c->rpos, used;
		const uint8_t *p = c->rbuf + c->rpos;
		struct derp_frame f;
		uint32_t flen;

		if (c->skip) {
			size_t n = avail < c->skip ? avail : c->skip;

			c->rpos += n;
			c->skip -= (uint32_t)n;
			if (c->skip)
				return 0;
			continue;
		}
		if (avail < DERP_HDR_LEN)
			return 0;
		flen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 8 | p[4];
		if (c->state == ST_DERP_WAIT_INFO &&
		    p[0] != DERP_FRAME_CLIENT_INFO) {
			M.bad_client_info++;
			return -1;
		}
		if (flen > derp_frame_max_len(p[0])) {
			M.bad_frames++;
			return -1;
		}
		if (c->state == ST_DERP) {
			if (c->paused)
				return 0;
			if (!c->charged) {	/* once, however it arrives */
				rate_charge(c, flen);
				client_note_activity(c);
				c->charged = true;
			}
			if (!frame_wanted(p[0])) {
				M.unknown_frames += p[0] != DERP_FRAME_PONG &&
						    p[0] != DERP_FRAME_KEEP_ALIVE;
				c->rpos += DERP_HDR_LEN;
				c->skip = flen;
				c->charged = false;
				continue;
			}
		}
		if (derp_frame_parse(p, avail, &f, &used) != DERP_PARSE_OK) {
			size_t need = DERP_HDR_LEN + (size_t)flen;

			/*
			 * Grow with what arrives, not with what the header
			 * claims: a header alone must not reserve 256 KiB.
			 */
			if (need > c->rcap && avail >= c->rcap / 2) {
				uint8_t *nb;

				if (need > 2 * c->rcap)
					need = 2 * c->rcap;

				if (c->rpos) {
					memmove(c->rbuf, p, avail);
					c->rlen = avail;
					c->rpos = 0;
				}
				nb = realloc(c->rbuf, need);
				if (!nb)
					return -1;
				c->rbuf = nb;
				c->rcap = need;
			}
			return 0;
		}
		c->rpos += used;
		c->charged = false;
		if (c->state == ST_DERP_WAIT_INFO) {
			if (handle_client_info(c, &f)) {
				M.bad_client_info++;
				return -1;
			}
		} else if (handle_frame(c, &f)) {
			M.bad_frames++;
			return -1;
		}
	}
	return 0;
}

static int process_input(struct conn *c)
{
	if (c->state == ST_HTTP) {
		if (handle_http(c))
			return -1;
	}
	if (c->state == ST_DERP_WAIT_INFO || c->state == ST_DERP)
		return process_derp(c);
	return 0;
}

static void conn_readable(struct conn *c)
{
	size_t budget = READ_BUDGET;

	while (!c->dead) {
		ssize_t n;

		if (c->rpos == c->rlen) {
			c->rpos = c->rlen = 0;
		} else if (c->rpos && c->rcap - c->rlen < RBUF_MIN / 4) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		if (!c->rbuf) {
			c->rbuf = malloc(RBUF_MIN);
			if (!c->rbuf) {
				conn_kill(c);
				return;
			}
			c->rcap = RBUF_MIN;
		}
		if (c->rlen == c->rcap) {
			/* An HTTP head that does not fit: refuse it. */
			M.http_bad++;
			conn_kill(c);
			return;
		}
		if (c->closing) {
			/* Discard what comes after a final response. */
			n = io_read(c, c->rbuf, c->rcap);
		} else {
			n = io_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		}
		if (n == IO_AGAIN)
			return;
		if (n == 0 && c->closing) {
			/*
			 * A client that half-closed after its request still
			 * gets the response: stop reading, write, then close.
			 */
			set_events(c, c->want_out, true);
			conn_flush(c);
			return;
		}
		if (n <= 0) {
			conn_kill(c);
			return;
		}
		if (c->closing)
			goto budget;
		c->rlen += n;
		c->last_read = S.now;
		if (process_input(c)) {
			conn_kill(c);
			return;
		}
		if (c->paused)
			return;
budget:
		if (!c->ssl) {
			if ((size_t)n >= budget)
				return;		/* level-triggered: back later */
			budget -= n;
		}
	}
}

static void tls_handshake(struct conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_accept(c->ssl);
	if (r == 1) {
		c->state = ST_HTTP;
		set_want_out(c, false);
		conn_readable(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		set_want_out(c, false);
		break;
	case SSL_ERROR_WANT_WRITE:
		set_want_out(c, true);
		break;
	default:
		conn_kill(c);
	}
}

/* ---- connections ---- */

static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->paused) {
		struct conn **pp = &S.paused;

		while (*pp != c)
			pp = &(*pp)->paused_next;
		*pp = c->paused_next;
	}
	if (c->state == ST_DERP)
		client_unregister(c);
	else
		free(c->watching);
	epoll_ctl(S.ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	pktq_free(&c->q, c->write_failed);
	pktq_free(&c->dq, c->write_failed);
	if (c->prev)
		c->prev->next = c->next;
	else
		S.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	M.conns--;
	c->dead_next = S.dead;
	S.dead = c;
}

static void conn_free(struct conn *c)
{
	free(c->rbuf);
	free(c->wbuf);
	free(c->ctl);
	free(c);
}

static void set_sockopts(int fd)
{
	int one = 1, idle = 600;
	unsigned int user_timeout = 15000;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		   sizeof(user_timeout));
}

static void accept_conns(struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int fd;

		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED) {
				/*
				 * Out of descriptors (main.c keeps --max-conns
				 * under the limit, but other files count too):
				 * say so once a minute, not once a wakeup.
				 */
				M.accept_errors++;
				if (S.now - S.last_accept_log >= 60000) {
					logf_("accept: %s", strerror(errno));
					S.last_accept_log = S.now;
				}
			}
			return;
		}
		M.accepts++;
		if (M.conns >= S.cfg->max_conns) {
			M.refused_max_conns++;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = KIND_CONN;
		c->fd = fd;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, c->addr,
				  sizeof(c->addr));
			c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			const struct in6_addr *a = &s6->sin6_addr;

			inet_ntop(AF_INET6, a, c->addr, sizeof(c->addr));
			c->loopback = IN6_IS_ADDR_LOOPBACK(a) ||
				      (IN6_IS_ADDR_V4MAPPED(a) &&
				       a->s6_addr[12] == 127);
		}
		set_sockopts(fd);
		c->state = S.cfg->tls ? ST_TLS : ST_HTTP;
		if (S.cfg->tls) {
			c->ssl = SSL_new(S.cfg->tls);
			if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
				SSL_free(c->ssl);
				close(fd);
				free(c);
				continue;
			}
		}
		c->deadline = S.now + S.cfg->handshake_timeout * 1000LL;
		c->last_read = c->last_write = S.now;
		ev.data.ptr = c;
		if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &ev)) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		c->next = S.conns;
		if (S.conns)
			S.conns->prev = c;
		S.conns = c;
		M.conns++;
	}
}

static void tick(void)
{
	size_t freed = 0;

	for (struct conn *c = S.conns, *next; c; c = next) {
		next = c->next;
		if (c->state != ST_DERP) {
			if (S.now >= c->deadline && !c->closing) {
				M.handshake_timeouts++;
				conn_kill(c);
				continue;
			}
		} else {
			if (S.now >= c->next_keepalive) {
				uint8_t f[DERP_HDR_LEN];

				derp_put_empty(f, DERP_FRAME_KEEP_ALIVE);
				if (ctl_append(c, f, sizeof(f)))
					M.keepalives++;
				c->next_keepalive = S.now +
					DERP_KEEPALIVE_SEC * 1000 +
					randombytes_uniform(KEEPALIVE_JITTER_MS);
			}
			if (S.cfg->idle_timeout && S.now - c->last_read >=
			    S.cfg->idle_timeout * 1000LL) {
				M.idle_timeouts++;
				conn_kill(c);
				continue;
			}
		}
		if (c->wpos < c->wlen &&
		    S.now - c->last_write >= S.cfg->write_timeout * 1000LL) {
			M.write_timeouts++;
			c->write_failed = true;
			conn_kill(c);
			continue;
		}
		/* Idle connections keep no buffers. */
		if (c->rpos == c->rlen && c->rbuf &&
		    S.now - c->last_read >= TICK_MS) {
			freed += c->rcap;
			free(c->rbuf);
			c->rbuf = NULL;
			c->rpos = c->rlen = c->rcap = 0;
		}
		if (c->wpos == c->wlen && c->wbuf && !c->dirty) {
			freed += c->wcap;
			free(c->wbuf);
			c->wbuf = NULL;
			c->wpos = c->wlen = c->wcap = 0;
		}
		if (!c->ctl_len && c->ctl && !c->dirty) {
			freed += c->ctl_cap;
			free(c->ctl);
			c->ctl = NULL;
			c->ctl_cap = 0;
		}
	}
	/* Give the idle buffers' pages back, not just to the heap. */
	if (freed >= 1024 * 1024)
		malloc_trim(0);
}

static void flush_dirty(void)
{
	while (S.dirty) {
		struct conn *c = S.dirty;

		S.dirty = c->dirty_next;
		c->dirty = false;
		if (!c->dead)
			conn_flush(c);
	}
}

static void reap(void)
{
	while (S.dead) {
		struct conn *c = S.dead;

		S.dead = c->dead_next;
		conn_free(c);
	}
}

static int listen_ai(const struct addrinfo *ai, bool dual)
{
	int fd, one = 1, zero = 0;

	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dual)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) ||
	    (ai->ai_socktype == SOCK_STREAM && listen(fd, 1024))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * ":443" (every address: IPv6 dual-stack, or IPv4 where IPv6 is off),
 * "1.2.3.4:443", "[::1]:443", "host:443"; TCP, or UDP on the same address
 * with the port stun_port.
 */
static int listen_on(const char *spec, int socktype, int stun_port,
		     int ep, struct listener *l)
{
	char host[256], portbuf[16];
	const char *colon = strrchr(spec, ':'), *port;
	struct addrinfo hints = { .ai_socktype = socktype,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	int fd = -1, r;
	size_t hl;

	if (!colon || !colon[1]) {
		logf_("-a %s: want ADDR:PORT, :PORT or [V6]:PORT", spec);
		return -1;
	}
	port = colon + 1;
	if (socktype == SOCK_DGRAM) {
		snprintf(portbuf, sizeof(portbuf), "%d", stun_port);
		port = portbuf;
	}
	hl = colon - spec;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		memcpy(host, spec + 1, hl - 2);
		host[hl - 2] = '\0';
	} else if (hl < sizeof(host)) {
		memcpy(host, spec, hl);
		host[hl] = '\0';
	} else {
		logf_("-a: address too long");
		return -1;
	}
	for (int family = hl ? AF_UNSPEC : AF_INET6; fd < 0;
	     family = AF_INET) {
		hints.ai_family = family;
		r = getaddrinfo(hl ? host : NULL, port, &hints, &ai);
		if (r) {
			logf_("-a %s: %s", spec, gai_strerror(r));
			return -1;
		}
		fd = listen_ai(ai, !hl && family == AF_INET6);
		freeaddrinfo(ai);
		if (fd < 0 && (hl || family == AF_INET)) {
			logf_("listen on %s (%s port %s): %s", spec,
			      socktype == SOCK_DGRAM ? "UDP" : "TCP", port,
			      strerror(errno));
			return -1;
		}
	}
	l->kind = socktype == SOCK_DGRAM ? KIND_STUN : KIND_LISTENER;
	l->fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return -1;
	}
	return 0;
}

/* Answers the binding requests waiting on the STUN socket. */
static void stun_readable(struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		uint8_t buf[1500], txid[STUN_TXID_LEN], out[STUN_MAX_RESPONSE];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		enum stun_result r;
		ssize_t n;
		size_t olen;

		n = recvfrom(l->fd, buf, sizeof(buf), MSG_TRUNC,
			     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		M.stun_packets++;
		if ((size_t)n > sizeof(buf)) {
			M.stun_bad++;
			continue;
		}
		r = stun_parse_request(buf, n, txid);
		if (r != STUN_OK) {
			M.stun_bad++;
			continue;
		}
		olen = stun_response(out, txid, (struct sockaddr *)&ss);
		if (olen && sendto(l->fd, out, olen, MSG_DONTWAIT,
				   (struct sockaddr *)&ss, sl) == (ssize_t)olen)
			M.stun_responses++;
	}
}

int server_run(const struct server_config *cfg)
{
	struct listener lst = { .fd = -1 }, stun = { .fd = -1 };
	struct listener sig = { .kind = KIND_SIGNAL };
	struct epoll_event evs[64], ev = { .events = EPOLLIN };
	sigset_t mask;
	int64_t next_tick, next_resume = INT64_MAX;
	char hex[2 * DERP_KEY_LEN + 1];
	bool stop = false;

	memset(&S, 0, sizeof(S));
	S.cfg = cfg;
	randombytes_buf(S.hash_key, sizeof(S.hash_key));
	S.ep = epoll_create1(EPOLL_CLOEXEC);
	/* STUN first: once the TCP port accepts, STUN answers too. */
	if (S.ep < 0 || (cfg->stun_port &&
			 listen_on(cfg->listen, SOCK_DGRAM, cfg->stun_port,
				   S.ep, &stun)))
		return 1;
	if (!cfg->stun_only &&
	    listen_on(cfg->listen, SOCK_STREAM, 0, S.ep, &lst))
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ev.data.ptr = &sig;
	if (sig.fd < 0 || epoll_ctl(S.ep, EPOLL_CTL_ADD, sig.fd, &ev)) {
		logf_("signalfd: %s", strerror(errno));
		return 1;
	}
	hex_encode(hex, cfg->public_key, DERP_KEY_LEN);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";

		if (!getsockname(lst.fd >= 0 ? lst.fd : stun.fd,
				 (struct sockaddr *)&ss, &sl))
			getnameinfo((struct sockaddr *)&ss, sl, host,
				    sizeof(host), port, sizeof(port),
				    NI_NUMERICHOST | NI_NUMERICSERV);
		if (lst.fd >= 0)
			logf_("serving %s on [%s]:%s, public key %s",
			      cfg->tls ? "HTTPS" : "HTTP", host, port, hex);
		if (stun.fd >= 0)
			logf_("serving STUN on UDP [%s]:%u", host,
			      cfg->stun_port);
	}

	S.now = now_ms();
	next_tick = S.now + TICK_MS;
	while (!stop) {
		int64_t wake = next_tick < next_resume ? next_tick : next_resume;
		int n, timeout = (int)(wake - S.now);

		n = epoll_wait(S.ep, evs, 64, timeout < 0 ? 0 : timeout);
		if (n < 0 && errno != EINTR) {
			logf_("epoll_wait: %s", strerror(errno));
			break;
		}
		S.now = now_ms();
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;
			struct conn *c;

			if (*k == KIND_LISTENER) {
				accept_conns((struct listener *)k);
				continue;
			}
			if (*k == KIND_STUN) {
				stun_readable((struct listener *)k);
				continue;
			}
			if (*k == KIND_SIGNAL) {
				stop = true;
				continue;
			}
			c = (struct conn *)k;
			if (c->dead)
				continue;
			if (c->state == ST_TLS) {
				tls_handshake(c);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_readable(c);
			if (!c->dead && (evs[i].events & EPOLLOUT))
				mark_dirty(c);
			if (!c->dead && c->ssl)
				mark_dirty(c);	/* TLS may want the other way */
		}
		if (S.now >= next_tick) {
			tick();
			next_tick = S.now + TICK_MS;
		}
		next_resume = S.paused ? rate_resume() : INT64_MAX;
		flush_dirty();
		reap();
	}
	logf_("exiting");
	while (S.conns)
		conn_kill(S.conns);
	S.dirty = NULL;
	reap();
	free(S.buckets);
	close(sig.fd);
	if (lst.fd >= 0)
		close(lst.fd);
	if (stun.fd >= 0)
		close(stun.fd);
	close(S.ep);
	return 0;
}
