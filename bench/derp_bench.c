// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * derp_bench: packets through a DERP server on loopback.  Two clients (a
 * sender thread, a receiver thread) log in with relay/derp_frame.c, the
 * codec a DERP client links, and the sender writes SendPacket frames as
 * fast as the server takes them for SEC seconds; optionally IDLE more
 * clients are connected first.  Prints what was sent and received.
 *
 * usage: derp_bench PORT SECONDS SIZE IDLE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "derp_frame.h"

struct client {
	int fd;
	uint8_t priv[32], pub[32], server[32];
	uint8_t buf[256 * 1024];
	size_t len;
};

static atomic_bool stop;

static void die(const char *what)
{
	fprintf(stderr, "derp_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0 && atomic_load(&stop))
			return;		/* shut down at the end */
		if (w <= 0)
			die("write");
		p = (const uint8_t *)p + w;
		n -= w;
	}
}

/* Reads until buf holds one whole frame; returns it (consumed by caller). */
static int read_frame(struct client *c, struct derp_frame *f, size_t *used)
{
	for (;;) {
		enum derp_parse r = derp_frame_parse(c->buf, c->len, f, used);
		ssize_t n;

		if (r == DERP_PARSE_OK)
			return 0;
		if (r == DERP_PARSE_TOO_BIG)
			return -1;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -1;
		c->len += n;
	}
}

static void consume(struct client *c, size_t used)
{
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
}

static void login(struct client *c, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	static const char req[] = "GET /derp HTTP/1.1\r\nHost: bench\r\n"
				  "Upgrade: DERP\r\nConnection: Upgrade\r\n\r\n";
	static const char info[] = "{\"version\":2,\"CanAckPings\":true}";
	uint8_t box[DERP_NONCE_LEN + crypto_box_MACBYTES + sizeof(info)];
	uint8_t frame[DERP_HDR_LEN + DERP_KEY_LEN + sizeof(box)];
	const uint8_t *key, *sbox;
	uint8_t plain[256];
	struct derp_frame f;
	size_t used, blen;
	char *end;
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	crypto_box_keypair(c->pub, c->priv);
	write_all(c->fd, req, sizeof(req) - 1);
	c->len = 0;
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len,
				 sizeof(c->buf) - c->len - 1);

		if (n <= 0)
			die("read 101");
		c->len += n;
		c->buf[c->len] = '\0';
		end = strstr((char *)c->buf, "\r\n\r\n");
		if (end)
			break;
	}
	if (strncmp((char *)c->buf, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "derp_bench: no 101\n");
		exit(1);
	}
	consume(c, (uint8_t *)end + 4 - c->buf);
	if (read_frame(c, &f, &used) || !derp_get_server_key(&f, &key))
		die("server key");
	memcpy(c->server, key, 32);
	consume(c, used);
	randombytes_buf(box, DERP_NONCE_LEN);
	if (crypto_box_easy(box + DERP_NONCE_LEN, (const uint8_t *)info,
			    sizeof(info) - 1, box, c->server, c->priv))
		die("seal");
	write_all(c->fd, frame, derp_put_client_info(frame, c->pub, box,
						      sizeof(box) - 1));
	if (read_frame(c, &f, &used) || !derp_get_server_info(&f, &sbox, &blen) ||
	    blen - DERP_NONCE_LEN - crypto_box_MACBYTES > sizeof(plain) ||
	    crypto_box_open_easy(plain, sbox + DERP_NONCE_LEN,
				 blen - DERP_NONCE_LEN, sbox, c->server,
				 c->priv))
		die("server info");
	consume(c, used);
}

static struct client sender, receiver;
static size_t size;
static atomic_ulong sent, received, received_bytes;

static void *send_loop(void *arg)
{
	enum { BATCH = 32 };
	uint8_t *buf = malloc(BATCH * (DERP_PACKET_HDR_SIZE + size));
	size_t n = 0;

	(void)arg;
	if (!buf)
		die("malloc");
	for (int i = 0; i < BATCH; i++) {
		n += derp_put_packet_header(buf + n, DERP_FRAME_SEND_PACKET,
					    receiver.pub, size);
		memset(buf + n, i, size);
		n += size;
	}
	while (!atomic_load(&stop)) {
		write_all(sender.fd, buf, n);
		atomic_fetch_add(&sent, BATCH);
	}
	free(buf);
	return NULL;
}

static void *recv_loop(void *arg)
{
	struct client *c = &receiver;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct derp_frame f;
		size_t used, off = 0;
		ssize_t r;

		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			break;
		c->len += r;
		while (derp_frame_parse(c->buf + off, c->len - off, &f,
					&used) == DERP_PARSE_OK) {
			if (f.type == DERP_FRAME_RECV_PACKET) {
				atomic_fetch_add(&received, 1);
				atomic_fetch_add(&received_bytes,
						 f.len - DERP_KEY_LEN);
			}
			off += used;
		}
		consume(c, off);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t ts, tr;
	struct client *idle;
	int port, secs, nidle;
	double el;

	if (argc != 5) {
		fprintf(stderr, "usage: derp_bench PORT SECONDS SIZE IDLE\n");
		return 2;
	}
	port = atoi(argv[1]);
	secs = atoi(argv[2]);
	size = strtoul(argv[3], NULL, 10);
	nidle = atoi(argv[4]);
	if (sodium_init() < 0 || size > DERP_MAX_PACKET || secs < 1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	idle = calloc(nidle ? nidle : 1, sizeof(*idle));
	if (!idle)
		die("calloc");
	for (int i = 0; i < nidle; i++)
		login(&idle[i], port);
	login(&receiver, port);
	login(&sender, port);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&tr, NULL, recv_loop, NULL);
	pthread_create(&ts, NULL, send_loop, NULL);
	sleep(secs);
	atomic_store(&stop, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	shutdown(sender.fd, SHUT_RDWR);
	shutdown(receiver.fd, SHUT_RDWR);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("size %zu idle %d: sent %lu received %lu packets in %.1f s: %.0f packets/s, %.0f Mb/s received (%.1f%% dropped)\n",
	       size, nidle, atomic_load(&sent), atomic_load(&received), el,
	       atomic_load(&received) / el,
	       atomic_load(&received_bytes) * 8 / el / 1e6,
	       atomic_load(&sent) ? 100.0 * (1 - (double)atomic_load(&received) /
					      atomic_load(&sent)) : 0);
	for (int i = 0; i < nidle; i++)
		close(idle[i].fd);
	free(idle);
	close(sender.fd);
	close(receiver.fd);
	return 0;
}
