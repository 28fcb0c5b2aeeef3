// SPDX-License-Identifier: GPL-2.0
/*
 * udptool: one UDP datagram out from a chosen source, or datagrams in,
 * printed with their source.
 *
 *   udptool send --to IP:PORT --hex HEX [--from IP:PORT] [--count N]
 *   udptool recv --on IP:PORT [--count N] [--timeout SEC]
 *
 * send sends the datagram N times (default 1), as fast as it can.
 * recv prints "from=IP:PORT len=N hex=..." per datagram and exits 0 once N
 * datagrams arrived, 1 on timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockaddr.h"

static void usage(void)
{
	fputs("usage: udptool send --to IP:PORT --hex HEX [--from IP:PORT] [--count N]\n"
	      "       udptool recv --on IP:PORT [--count N] [--timeout SEC]\n", stderr);
}

static int hex2bin(const char *hex, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return 0;
}

static int do_send(const char *from, const char *to, const char *hex,
		   unsigned long count)
{
	static uint8_t buf[65536];
	struct sockaddr_storage src, dst;
	socklen_t slen, dlen;
	size_t len;
	int fd, one = 1;

	if (!to || !hex || parse_sockaddr(to, &dst, &dlen) || hex2bin(hex, buf, sizeof(buf), &len)) {
		usage();
		return 2;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udptool: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (from && (parse_sockaddr(from, &src, &slen) || bind(fd, (struct sockaddr *)&src, slen))) {
		perror("udptool: bind");
		close(fd);
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		/* A full queue is not an error for a flood: keep going. */
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst, dlen) < 0 &&
		    (count == 1 || (errno != ENOBUFS && errno != EAGAIN))) {
			perror("udptool: sendto");
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int do_recv(const char *on, unsigned long count, int timeout)
{
	static uint8_t buf[65536];
	struct sockaddr_storage addr, from;
	socklen_t alen;
	int fd;

	if (!on || parse_sockaddr(on, &addr, &alen)) {
		usage();
		return 2;
	}
	fd = socket(addr.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, alen)) {
		perror("udptool: bind");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	for (unsigned long got = 0; got < count;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		socklen_t flen = sizeof(from);
		char fs[80];
		ssize_t n;
		int r = poll(&p, 1, timeout * 1000);

		if (r == 0) {
			fprintf(stderr, "udptool: timeout after %d s (%lu of %lu)\n", timeout, got, count);
			close(fd);
			return 1;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("udptool: poll");
			close(fd);
			return 1;
		}
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			perror("udptool: recvfrom");
			close(fd);
			return 1;
		}
		format_sockaddr(&from, fs, sizeof(fs));
		printf("from=%s len=%zd hex=", fs, n);
		for (ssize_t i = 0; i < n; i++)
			printf("%02x", buf[i]);
		printf("\n");
		fflush(stdout);
		got++;
	}
	close(fd);
	return 0;
}

int main(int argc, char *argv[])
{
	const char *from = NULL, *to = NULL, *hex = NULL, *on = NULL;
	unsigned long count = 1;
	int timeout = 10;

	if (argc < 2) {
		usage();
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		if (!strcmp(argv[i], "--from"))
			from = argv[++i];
		else if (!strcmp(argv[i], "--to"))
			to = argv[++i];
		else if (!strcmp(argv[i], "--hex"))
			hex = argv[++i];
		else if (!strcmp(argv[i], "--on"))
			on = argv[++i];
		else if (!strcmp(argv[i], "--count"))
			count = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atoi(argv[++i]);
		else {
			usage();
			return 2;
		}
	}
	if (!strcmp(argv[1], "send"))
		return do_send(from, to, hex, count);
	if (!strcmp(argv[1], "recv"))
		return do_recv(on, count, timeout);
	usage();
	return 2;
}
