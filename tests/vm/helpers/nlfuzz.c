// SPDX-License-Identifier: GPL-2.0
/*
 * nlfuzz: a seeded, time-bounded fuzzer for meshwg.ko's generic-netlink
 * family and its UDP port, run inside the VM (tests/vm/suites/fuzz.sh).
 *
 *   nlfuzz netlink SEED SECONDS IFNAME...
 *       sends random and mutated requests for every command (including the
 *       notification-only ones) built from the uAPI's attribute tables:
 *       right and wrong lengths, nested peers with nested allowed IPs,
 *       filter rules with prefixes and port ranges, unknown attributes,
 *       truncated and bit-flipped messages.  Most requests name one of the
 *       IFNAMEs (by name or ifindex) and are mostly well-formed, with keys
 *       drawn from a pool of eight, so that they reach deep code and later
 *       requests find the peers, keys and rulesets earlier ones installed.
 *   nlfuzz udp SEED SECONDS HOST:PORT
 *       sends random datagrams at a WireGuard port: each message type's
 *       size with random contents, STUN- and disco-shaped ones, and random
 *       sizes up to 1500 bytes.
 *
 * Prints what it sent and how the kernel answered ("sent N ok N
 * errors N (EINVAL N ...)") and exits 0; it exits 1 only if it cannot run
 * at all (no family, no socket).  What it checks is that the kernel
 * survives: the suite then deletes the interfaces, unloads the module and
 * the harness scans the kernel log (and, on the debug kernel, KASAN and
 * kmemleak).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/meshwg.h>

#include "sockaddr.h"

#define BUF_SIZE 65536

static uint64_t rng_state;

/* xorshift64*: reproducible from the seed, nothing more is needed. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static int chance(unsigned int percent)
{
	return below(100) < percent;
}

static void fill(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = (uint8_t)rnd();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A message under construction: attributes appended, nests closed. */
struct msg {
	uint8_t buf[BUF_SIZE];
	size_t len;
	size_t nest[8];
	int depth;
};

static int room(struct msg *m, size_t n)
{
	return m->len + NLA_ALIGN(NLA_HDRLEN + n) <= sizeof(m->buf) - 64;
}

static void put(struct msg *m, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a;

	if (!room(m, n))
		return;
	a = (struct nlattr *)(m->buf + m->len);
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	if (n)
		memcpy(m->buf + m->len + NLA_HDRLEN, data, n);
	memset(m->buf + m->len + NLA_HDRLEN + n, 0, NLA_ALIGN(n) - n);
	m->len += NLA_ALIGN(NLA_HDRLEN + n);
}

static void put_u8(struct msg *m, uint16_t t, uint8_t v) { put(m, t, &v, 1); }
static void put_u16(struct msg *m, uint16_t t, uint16_t v) { put(m, t, &v, 2); }
static void put_u32(struct msg *m, uint16_t t, uint32_t v) { put(m, t, &v, 4); }
static void put_u64(struct msg *m, uint16_t t, uint64_t v) { put(m, t, &v, 8); }

static int nest_start(struct msg *m, uint16_t type)
{
	if (m->depth >= 8 || !room(m, 0))
		return -1;
	m->nest[m->depth++] = m->len;
	put(m, type | (chance(90) ? NLA_F_NESTED : 0), NULL, 0);
	return 0;
}

static void nest_end(struct msg *m)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->nest[--m->depth]);
	size_t n = m->len - m->nest[m->depth];

	a->nla_len = n > 0xffff ? 0xffff : (uint16_t)n;
}

/* A value for an attribute of nominal length n: usually right, sometimes not. */
static void put_blob(struct msg *m, uint16_t type, size_t n)
{
	uint8_t v[256];
	size_t len = n;

	if (chance(10))
		len = below(sizeof(v));
	else if (chance(5))
		len = n ? n - 1 : 1;
	fill(v, len);
	put(m, type, v, len);
}

static const char *const *ifnames;
static int nifnames;
static unsigned int ifindices[16];

static void put_device_ref(struct msg *m, uint16_t ifindex_attr, uint16_t ifname_attr)
{
	int i = (int)below((uint32_t)nifnames);

	if (chance(3))
		return;		/* no device at all */
	if (chance(50)) {
		put_u32(m, ifindex_attr, chance(95) ? ifindices[i] : (uint32_t)rnd());
	} else if (chance(95)) {
		put(m, ifname_attr, ifnames[i], strlen(ifnames[i]) + 1);
	} else {
		put_blob(m, ifname_attr, IFNAMSIZ);	/* not terminated, too long */
	}
	if (chance(5))
		put_u32(m, ifindex_attr, ifindices[below((uint32_t)nifnames)]);
}

static void put_sockaddr(struct msg *m, uint16_t type)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	switch (below(6)) {
	case 0:
		s4.sin_port = htons((uint16_t)(1 + below(65535)));
		s4.sin_addr.s_addr = htonl(0x7f000001);
		put(m, type, &s4, sizeof(s4));
		break;
	case 1:
		s4.sin_port = (uint16_t)rnd();
		s4.sin_addr.s_addr = (uint32_t)rnd();
		put(m, type, &s4, sizeof(s4));
		break;
	case 2:
		s6.sin6_port = (uint16_t)rnd();
		fill(&s6.sin6_addr, 16);
		s6.sin6_scope_id = chance(20) ? (uint32_t)rnd() : 0;
		put(m, type, &s6, sizeof(s6));
		break;
	case 3:
		s6.sin6_port = htons(51820);
		s6.sin6_addr.s6_addr[15] = 1;
		put(m, type, &s6, sizeof(s6));
		break;
	default:
		put_blob(m, type, 1 + below(40));	/* wrong family or length */
		break;
	}
}

static uint8_t keys[8][MESHWG_KEY_LEN];

static void put_key(struct msg *m, uint16_t type)
{
	if (chance(85))
		put(m, type, keys[below(8)], MESHWG_KEY_LEN);
	else if (chance(50))
		put(m, type, (uint8_t[MESHWG_KEY_LEN]){ 0 }, MESHWG_KEY_LEN);
	else
		put_blob(m, type, MESHWG_KEY_LEN);
}

static void put_allowedip(struct msg *m)
{
	uint16_t family = chance(50) ? AF_INET : AF_INET6;
	uint8_t addr[16];
	int n;

	if (nest_start(m, 0))
		return;
	n = (int)below(5);
	if (n != 0 || chance(90))
		put_u16(m, MESHWG_ALLOWEDIP_A_FAMILY, chance(95) ? family : (uint16_t)rnd());
	if (n != 1 || chance(90)) {
		fill(addr, sizeof(addr));
		if (chance(30))
			memset(addr + 2, 0, sizeof(addr) - 2);
		put(m, MESHWG_ALLOWEDIP_A_IPADDR, addr,
		    chance(90) ? (family == AF_INET ? 4 : 16) : below(17));
	}
	if (n != 2 || chance(90))
		put_u8(m, MESHWG_ALLOWEDIP_A_CIDR_MASK,
		       (uint8_t)(chance(90) ? below(family == AF_INET ? 33 : 129) : rnd()));
	if (chance(15))
		put_u32(m, MESHWG_ALLOWEDIP_A_FLAGS, chance(70) ? MESHWG_ALLOWEDIP_F_REMOVE_ME :
			(uint32_t)rnd());
	if (chance(3))
		put_blob(m, (uint16_t)(MESHWG_ALLOWEDIP_A_MAX + 1 + below(4)), 4);
	nest_end(m);
}

static void put_peer(struct msg *m)
{
	if (nest_start(m, 0))
		return;
	if (chance(95))
		put_key(m, MESHWG_PEER_A_PUBLIC_KEY);
	if (chance(15))
		put_key(m, MESHWG_PEER_A_PRESHARED_KEY);
	if (chance(25))
		put_u32(m, MESHWG_PEER_A_FLAGS, chance(80) ?
			(uint32_t)below(__MESHWG_PEER_F_ALL + 1) : (uint32_t)rnd());
	if (chance(30))
		put_sockaddr(m, MESHWG_PEER_A_ENDPOINT);
	if (chance(15))
		put_u16(m, MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL, (uint16_t)below(30));
	if (chance(10))
		put_u32(m, MESHWG_PEER_A_PROTOCOL_VERSION, chance(70) ? 1 : (uint32_t)rnd());
	if (chance(10))
		put_u32(m, MESHWG_PEER_A_RELAY_ID, (uint32_t)below(4));
	if (chance(5))	/* get-only attributes in a set request */
		put_u64(m, (uint16_t)(MESHWG_PEER_A_LAST_HANDSHAKE_TIME + below(12)), rnd());
	if (chance(60) && !nest_start(m, MESHWG_PEER_A_ALLOWEDIPS)) {
		int n = (int)below(chance(10) ? 300 : 6);

		while (n--)
			put_allowedip(m);
		nest_end(m);
	}
	nest_end(m);
}

static void build_set_device(struct msg *m)
{
	put_device_ref(m, MESHWG_DEVICE_A_IFINDEX, MESHWG_DEVICE_A_IFNAME);
	if (chance(20))
		put_key(m, MESHWG_DEVICE_A_PRIVATE_KEY);
	if (chance(5))
		put_key(m, MESHWG_DEVICE_A_PUBLIC_KEY);
	if (chance(15))
		put_u32(m, MESHWG_DEVICE_A_FLAGS, chance(80) ?
			(uint32_t)below(__MESHWG_DEVICE_F_ALL + 1) : (uint32_t)rnd());
	if (chance(10))
		put_u16(m, MESHWG_DEVICE_A_LISTEN_PORT, chance(50) ? 0 : (uint16_t)(20000 + below(100)));
	if (chance(10))
		put_u32(m, MESHWG_DEVICE_A_FWMARK, (uint32_t)rnd());
	if (chance(70) && !nest_start(m, MESHWG_DEVICE_A_PEERS)) {
		int n = (int)below(chance(10) ? 40 : 4);

		while (n--)
			put_peer(m);
		nest_end(m);
	}
}

static void put_prefix(struct msg *m, uint16_t type, int with_ports)
{
	struct meshwg_filter_dst d;

	memset(&d, 0, sizeof(d));
	d.prefix.family = chance(50) ? AF_INET : AF_INET6;
	if (chance(3))
		d.prefix.family = (uint16_t)rnd();
	d.prefix.cidr = (uint8_t)(chance(90) ? below(d.prefix.family == AF_INET ? 33 : 129) : rnd());
	fill(d.prefix.addr, 16);
	if (chance(90)) {	/* host bits zero, as required */
		unsigned int bits = d.prefix.family == AF_INET ? 32 : 128, i;

		for (i = d.prefix.cidr; i < bits && i < 128; i++)
			d.prefix.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		if (d.prefix.family == AF_INET)
			memset(d.prefix.addr + 4, 0, 12);
	}
	if (chance(3))
		d.prefix.pad = 1;
	d.first_port = (uint16_t)rnd();
	d.last_port = chance(90) ? (uint16_t)(d.first_port + below(1000)) : (uint16_t)rnd();
	if (chance(30)) {
		d.first_port = 0;
		d.last_port = 65535;
	}
	if (chance(5))
		put_blob(m, type, with_ports ? sizeof(d) : sizeof(d.prefix));
	else
		put(m, type, &d, with_ports ? sizeof(d) : sizeof(d.prefix));
}

static void put_rule(struct msg *m)
{
	int n;

	if (nest_start(m, MESHWG_FILTER_A_RULE))
		return;
	if (chance(95))
		put_u8(m, MESHWG_RULE_A_ACTION, (uint8_t)(chance(95) ? 1 + below(2) : rnd()));
	if (chance(30))
		put_u32(m, MESHWG_RULE_A_FLAGS, chance(90) ?
			(uint32_t)below(__MESHWG_RULE_F_ALL + 1) : (uint32_t)rnd());
	if (chance(40)) {
		uint8_t protos[8];
		size_t k = below(sizeof(protos) + 1);

		fill(protos, k);
		if (chance(50) && k)
			protos[0] = 6;
		put(m, MESHWG_RULE_A_PROTOS, protos, k);
	}
	for (n = (int)below(chance(5) ? 600 : 5); n > 0; n--)
		put_prefix(m, MESHWG_RULE_A_SRC, 0);
	for (n = (int)below(chance(5) ? 600 : 5); n > 0; n--)
		put_prefix(m, MESHWG_RULE_A_DST, 1);
	if (chance(3))
		put_u64(m, MESHWG_RULE_A_PACKETS, rnd());
	nest_end(m);
}

static void build_set_filter(struct msg *m)
{
	int n;

	put_device_ref(m, MESHWG_FILTER_A_IFINDEX, MESHWG_FILTER_A_IFNAME);
	if (chance(80))
		put_u64(m, MESHWG_FILTER_A_VERSION, rnd());
	for (n = (int)below(chance(5) ? 200 : 8); n > 0; n--)
		put_rule(m);
}

static void build_agent(struct msg *m)
{
	uint8_t payload[1500];
	size_t len = below(sizeof(payload));

	put_device_ref(m, MESHWG_AGENT_A_IFINDEX, MESHWG_AGENT_A_IFNAME);
	if (chance(80))
		put_sockaddr(m, MESHWG_AGENT_A_ADDR);
	if (chance(50))
		put_u32(m, MESHWG_AGENT_A_RELAY_ID, (uint32_t)below(5));
	if (chance(20))
		put_key(m, MESHWG_AGENT_A_PUBLIC_KEY);
	if (chance(90)) {
		fill(payload, len);
		if (len >= 4 && chance(40)) {	/* a WireGuard message type */
			payload[0] = (uint8_t)(1 + below(4));
			payload[1] = payload[2] = payload[3] = 0;
		}
		put(m, MESHWG_AGENT_A_PAYLOAD, payload, len);
	}
	if (chance(10))
		put_u32(m, (uint16_t)(MESHWG_AGENT_A_KIND + below(10)), (uint32_t)rnd());
}

static void build(struct msg *m, int family, uint8_t *cmd_out, uint16_t *flags_out)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf;
	struct genlmsghdr *g = (struct genlmsghdr *)NLMSG_DATA(nlh);
	/* Mostly the commands that do something; sometimes any number. */
	static const uint8_t requests[] = {
		MESHWG_CMD_SET_DEVICE, MESHWG_CMD_SET_DEVICE, MESHWG_CMD_SET_DEVICE,
		MESHWG_CMD_SET_FILTER, MESHWG_CMD_SET_FILTER, MESHWG_CMD_GET_DEVICE,
		MESHWG_CMD_GET_FILTER, MESHWG_CMD_CLEAR_FILTER, MESHWG_CMD_SEND_DATAGRAM,
		MESHWG_CMD_INJECT_DATAGRAM, MESHWG_CMD_INJECT_DATAGRAM,
	};
	uint8_t cmd = chance(92) ? requests[below(sizeof(requests))] :
				   (uint8_t)below(__MESHWG_CMD_MAX + 2);
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;

	if (cmd == MESHWG_CMD_GET_DEVICE || cmd == MESHWG_CMD_GET_FILTER || chance(5))
		flags |= chance(90) ? NLM_F_DUMP : 0;
	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
	m->depth = 0;
	g->cmd = cmd;
	g->version = (uint8_t)(chance(95) ? MESHWG_GENL_VERSION : rnd());
	if (chance(3))
		g->reserved = (uint16_t)rnd();

	switch (cmd) {
	case MESHWG_CMD_GET_DEVICE:
		put_device_ref(m, MESHWG_DEVICE_A_IFINDEX, MESHWG_DEVICE_A_IFNAME);
		break;
	case MESHWG_CMD_SET_DEVICE:
		build_set_device(m);
		break;
	case MESHWG_CMD_SET_FILTER:
		build_set_filter(m);
		break;
	case MESHWG_CMD_GET_FILTER:
	case MESHWG_CMD_CLEAR_FILTER:
		put_device_ref(m, MESHWG_FILTER_A_IFINDEX, MESHWG_FILTER_A_IFNAME);
		break;
	default:	/* the agent commands and the notification-only ones */
		build_agent(m);
		break;
	}
	if (chance(3))	/* an attribute type the family does not know */
		put_blob(m, (uint16_t)(20 + below(200)), 8);

	nlh->nlmsg_len = (uint32_t)m->len;
	nlh->nlmsg_type = (uint16_t)family;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = (uint32_t)rnd();

	/* Byte-level mutations of the finished message. */
	if (chance(8)) {
		int k = 1 + (int)below(4);

		while (k--) {
			size_t at = NLMSG_HDRLEN + below((uint32_t)(m->len - NLMSG_HDRLEN));

			m->buf[at] ^= (uint8_t)(1u << below(8));
		}
	}
	if (chance(4) && m->len > NLMSG_HDRLEN + GENL_HDRLEN + 1) {
		m->len = NLMSG_HDRLEN + GENL_HDRLEN +
			 below((uint32_t)(m->len - NLMSG_HDRLEN - GENL_HDRLEN));
		nlh->nlmsg_len = (uint32_t)m->len;
	}
	*cmd_out = cmd;
	*flags_out = flags;
}

/* Reads until the ack (or the end of a dump); returns the error or 0. */
static int drain(int fd, uint32_t seq)
{
	static uint8_t rbuf[BUF_SIZE * 4];

	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0 && errno == ENOBUFS)
			continue;	/* notifications overran the buffer */
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		left = (size_t)n;
		for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
		}
	}
}

static int fuzz_netlink(uint32_t secs)
{
	static struct msg m;
	struct nl_sock *sk = nl_socket_alloc();
	unsigned long sent = 0, ok = 0, errs[256] = { 0 }, other = 0;
	struct timeval tv = { .tv_sec = 5 };
	double end = now() + secs;
	int family, fd, i;

	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "nlfuzz: no generic netlink socket\n");
		return 1;
	}
	family = genl_ctrl_resolve(sk, MESHWG_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "nlfuzz: family %s not found\n", MESHWG_GENL_NAME);
		return 1;
	}
	fd = nl_socket_get_fd(sk);
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 }, sizeof(int));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &(int){ 1 }, sizeof(int));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4 << 20 }, sizeof(int));
	/*
	 * Events arrive on the same socket as the acks (the agent group is
	 * left out: the UDP spray would fill the buffer with it).
	 */
	i = genl_ctrl_resolve_grp(sk, MESHWG_GENL_NAME, MESHWG_MCGRP_EVENTS);
	if (i >= 0)
		nl_socket_add_membership(sk, i);
	for (i = 0; i < 8; i++)
		fill(keys[i], MESHWG_KEY_LEN);

	while (now() < end) {
		uint8_t cmd;
		uint16_t flags;
		int err;

		build(&m, family, &cmd, &flags);
		if (send(fd, m.buf, m.len, 0) < 0) {
			other++;
			continue;
		}
		sent++;
		err = drain(fd, ((struct nlmsghdr *)m.buf)->nlmsg_seq);
		if (err == 0)
			ok++;
		else if (err < 0 && -err < 256)
			errs[-err]++;
		else
			other++;
	}
	printf("nlfuzz netlink: sent %lu ok %lu errors %lu", sent, ok, sent - ok - other);
	for (i = 1; i < 256; i++)
		if (errs[i])
			printf(" %s %lu", strerrorname_np(i) ?: "?", errs[i]);
	printf(" other %lu\n", other);
	nl_socket_free(sk);
	return 0;
}

static int fuzz_udp(uint32_t secs, const char *target)
{
	static const uint16_t sizes[] = { 148, 92, 64, 32, 48, 20, 1, 4, 16 };
	struct sockaddr_storage ss;
	socklen_t slen;
	uint8_t b[1500];
	unsigned long sent = 0;
	double end = now() + secs;
	int fd;

	if (parse_sockaddr(target, &ss, &slen)) {
		fprintf(stderr, "nlfuzz: bad address '%s'\n", target);
		return 1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("nlfuzz: socket");
		return 1;
	}
	while (now() < end) {
		size_t len;

		switch (below(4)) {
		case 0:		/* a WireGuard message type at a plausible size */
			len = sizes[below(sizeof(sizes) / sizeof(sizes[0]))] + (chance(20) ? below(64) : 0);
			fill(b, len);
			b[0] = (uint8_t)(1 + below(4));
			b[1] = b[2] = b[3] = 0;
			break;
		case 1:		/* STUN-shaped */
			len = 20 + below(200);
			fill(b, len);
			b[0] &= 0x3f;
			b[4] = 0x21; b[5] = 0x12; b[6] = 0xa4; b[7] = 0x42;
			break;
		case 2:		/* disco-shaped */
			len = 6 + below(300);
			fill(b, len);
			memcpy(b, "TS\xf0\x9f\x92\xac", 6);
			break;
		default:
			len = below(sizeof(b));
			fill(b, len);
			break;
		}
		if (sendto(fd, b, len, 0, (struct sockaddr *)&ss, slen) >= 0)
			sent++;
	}
	printf("nlfuzz udp: sent %lu datagrams to %s\n", sent, target);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long seed, secs;
	int i;

	if (argc < 5 || (strcmp(argv[1], "netlink") && strcmp(argv[1], "udp"))) {
		fputs("usage: nlfuzz netlink SEED SECONDS IFNAME...\n"
		      "       nlfuzz udp SEED SECONDS HOST:PORT\n", stderr);
		return 2;
	}
	seed = strtoul(argv[2], NULL, 0);
	secs = strtoul(argv[3], NULL, 0);
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (!strcmp(argv[1], "udp"))
		return fuzz_udp((uint32_t)secs, argv[4]);
	ifnames = (const char *const *)argv + 4;
	nifnames = argc - 4 > 16 ? 16 : argc - 4;
	for (i = 0; i < nifnames; i++) {
		ifindices[i] = if_nametoindex(ifnames[i]);
		if (!ifindices[i]) {
			fprintf(stderr, "nlfuzz: no interface '%s'\n", ifnames[i]);
			return 1;
		}
	}
	return fuzz_netlink((uint32_t)secs);
}
