// SPDX-License-Identifier: GPL-2.0
/*
 * wgflood: floods a WireGuard port with handshake initiations that carry a
 * valid MAC1 for the responder's public key, so that they are queued for
 * the (expensive) handshake path and push the device under load. Cookie
 * replies are counted, authenticated and decrypted; with
 * --mac2-after-cookie, later initiations carry a valid MAC2 made with that
 * cookie, which sends them on to the per-source ratelimiter.
 *
 *   wgflood --to IP:PORT --pubkey B64 [--count N] [--mac2-after-cookie]
 *
 * Prints "sent N", "cookies N", "bad-cookies N", "mac2 N"; exits 0 when all
 * datagrams were sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blake2s.h"
#include "sockaddr.h"

enum { INIT_LEN = 148, MAC1_OFF = 116, MAC2_OFF = 132, COOKIE_REPLY_LEN = 64 };

static uint8_t mac1_key[32], cookie_key[32];

static void usage(void)
{
	fputs("usage: wgflood --to IP:PORT --pubkey B64 [--count N] [--mac2-after-cookie]\n",
	      stderr);
}

int main(int argc, char *argv[])
{
	const char *to = NULL, *pub_b64 = NULL;
	unsigned long count = 10000, sent = 0, cookies = 0, bad = 0, with_mac2 = 0;
	int use_mac2 = 0, fd, ret = 1;
	uint8_t pub[32], cookie[16], (*mac1s)[16] = NULL;
	int have_cookie = 0;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	size_t publen;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strcmp(argv[i], "--pubkey") && i + 1 < argc)
			pub_b64 = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--mac2-after-cookie"))
			use_mac2 = 1;
		else {
			usage();
			return 2;
		}
	}
	if (!to || !pub_b64 || !count || count > 10000000) {
		usage();
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (sodium_base642bin(pub, sizeof(pub), pub_b64, strlen(pub_b64), NULL, &publen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) || publen != 32) {
		fprintf(stderr, "wgflood: bad public key\n");
		return 2;
	}
	if (parse_sockaddr(to, &dst, &dstlen)) {
		fprintf(stderr, "wgflood: bad address '%s'\n", to);
		return 2;
	}
	label_hash(mac1_key, "mac1----", pub);
	label_hash(cookie_key, "cookie--", pub);
	mac1s = calloc(count, sizeof(*mac1s));
	if (!mac1s)
		return 1;
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dstlen)) {
		perror("wgflood: socket");
		goto out;
	}
	for (sent = 0; sent < count; sent++) {
		uint8_t msg[INIT_LEN];
		uint8_t reply[256];
		ssize_t n;

		memset(msg, 0, sizeof(msg));
		put_le32(msg, 1);
		put_le32(msg + 4, (uint32_t)sent);
		randombytes_buf(msg + 8, MAC1_OFF - 8);
		blake2s(msg + MAC1_OFF, 16, mac1_key, 32, msg, MAC1_OFF);
		memcpy(mac1s[sent], msg + MAC1_OFF, 16);
		if (have_cookie) {
			blake2s(msg + MAC2_OFF, 16, cookie, 16, msg, MAC2_OFF);
			with_mac2++;
		}
		if (send(fd, msg, sizeof(msg), 0) < 0) {
			if (errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			perror("wgflood: send");
			goto out;
		}
		/* Drain cookie replies without blocking. */
		while ((n = recv(fd, reply, sizeof(reply), MSG_DONTWAIT)) > 0) {
			uint32_t idx;
			unsigned long long clen;

			if (n != COOKIE_REPLY_LEN || get_le32(reply) != 3)
				continue;
			idx = get_le32(reply + 4);
			if (idx > sent ||
			    crypto_aead_xchacha20poly1305_ietf_decrypt(
				    cookie, &clen, NULL, reply + 32, 32, mac1s[idx], 16, reply + 8,
				    cookie_key) || clen != 16) {
				bad++;
				continue;
			}
			cookies++;
			if (use_mac2)
				have_cookie = 1;
		}
	}
	/* Late replies. */
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t reply[256];
		ssize_t n;

		while (poll(&p, 1, 500) > 0 && (n = recv(fd, reply, sizeof(reply), 0)) > 0) {
			uint32_t idx;
			unsigned long long clen;
			uint8_t c[16];

			if (n != COOKIE_REPLY_LEN || get_le32(reply) != 3)
				continue;
			idx = get_le32(reply + 4);
			if (idx >= count ||
			    crypto_aead_xchacha20poly1305_ietf_decrypt(
				    c, &clen, NULL, reply + 32, 32, mac1s[idx], 16, reply + 8,
				    cookie_key) || clen != 16) {
				bad++;
				continue;
			}
			cookies++;
		}
	}
	ret = 0;
out:
	printf("sent %lu\ncookies %lu\nbad-cookies %lu\nmac2 %lu\n", sent, cookies, bad, with_mac2);
	free(mac1s);
	if (fd >= 0)
		close(fd);
	return ret;
}
