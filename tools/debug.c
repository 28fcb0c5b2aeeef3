// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg debug`: the kernel's agent channel from the command line. */

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netlink/genl/genl.h>

#include "agentfmt.h"
#include "apiclient.h"
#include "config.h"
#include "hex.h"
#include "key.h"
#include "format.h"
#include "ipc.h"
#include "subcommands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg debug <verb> [<args>]\n"
		"\n"
		"Talks to the agent channel of meshwg.ko, for tests and debugging.\n"
		"\n"
		"  listen [<interface>] [--count N] [--timeout SEC]\n"
		"      Subscribes to the `agent' and `events' multicast groups and prints one\n"
		"      line per notification (of <interface> only, if given), flushing each:\n"
		"        datagram iface=IF from=IP:PORT kind=stun|disco len=N hex=PAYLOAD\n"
		"        relay iface=IF relay=ID peer=KEY len=N hex=PAYLOAD\n"
		"        event iface=IF handshake-complete peer=KEY\n"
		"        event iface=IF endpoint-changed peer=KEY endpoint=IP:PORT|relay:ID\n"
		"        event iface=IF wants-endpoint peer=KEY\n"
		"        event iface=IF acl-deny peer=KEY proto=N src=IP[:PORT] dst=IP[:PORT]\n"
		"              rule=INDEX|default\n"
		"      IPv6 addresses are written [addr]:port. Prints `listening' on stderr\n"
		"      once subscribed. Exits 0 after N lines (--count) or when SEC seconds\n"
		"      have passed (--timeout); exits 1 if the timeout ends a --count early.\n"
		"\n"
		"  send <interface> <ip:port> <hex-payload|@file>\n"
		"      Sends the payload as one UDP datagram from the interface's own socket.\n"
		"\n"
		"  inject <interface> <relay-id> <hex-payload|@file>\n"
		"      Feeds the payload into the interface's receive path as a WireGuard\n"
		"      datagram that arrived over relay <relay-id>.\n"
		"\n"
		"  relay <interface> <relay-id> <listen ip:port> <remote ip:port>\n"
		"      A tiny userspace relay: every relayed datagram the interface emits for\n"
		"      <relay-id> is sent over UDP to <remote>; every UDP datagram received on\n"
		"      <listen> is injected into the interface as coming from <relay-id>. Two\n"
		"      such loops, each pointing at the other, act like a DERP relay between\n"
		"      two peers. Prints `relay ready ...' on stdout once running; stops on\n"
		"      SIGINT or SIGTERM.\n"
		"\n"
		"  rotate-key\n"
		"      Asks meshwgd (over its local API, see `meshwg --socket') to rotate the\n"
		"      node key now, as it does before the key expires; prints the new key.\n"
		"      Needs root, the operator (meshwg up --operator) or meshwgd's group.\n"
		"\n"
		"Payloads of up to %u bytes are hex strings or @file (raw bytes of file).\n",
		MESHWG_MAX_DATAGRAM);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int lookup_iface(const char *name, uint32_t *ifindex)
{
	if (strlen(name) >= IFNAMSIZ || !(*ifindex = if_nametoindex(name))) {
		fprintf(stderr, "Unable to access interface %s: No such device\n", name);
		return -1;
	}
	return 0;
}

static int parse_addr(const char *s, union mw_endpoint *ep)
{
	struct mw_peer tmp = { 0 };
	char err[ERR_LEN];

	if (!parse_endpoint(&tmp, s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (!(tmp.flags & PEER_HAS_ENDPOINT)) {
		fprintf(stderr, "Invalid address `%s': expected ip:port\n", s);
		return -1;
	}
	*ep = tmp.endpoint;
	return 0;
}

static int parse_relay_id(const char *s, uint32_t *id)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno || *end || !v || v > UINT32_MAX) {
		fprintf(stderr, "Invalid relay id `%s': must be 1-4294967295\n", s);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

/* Hex string or @file; *out is malloc'd. */
static int read_payload(const char *arg, uint8_t **out, size_t *len)
{
	uint8_t *buf = malloc(MESHWG_MAX_DATAGRAM + 1);
	long n;

	if (!buf) {
		fprintf(stderr, "Out of memory\n");
		return -1;
	}
	if (arg[0] == '@') {
		FILE *f = fopen(arg + 1, "rb");
		size_t got;

		if (!f) {
			fprintf(stderr, "Unable to open payload file `%s': %s\n", arg + 1, strerror(errno));
			free(buf);
			return -1;
		}
		got = fread(buf, 1, MESHWG_MAX_DATAGRAM + 1, f);
		if (ferror(f) || got > MESHWG_MAX_DATAGRAM) {
			fprintf(stderr, "Unable to read payload file `%s': %s\n", arg + 1,
				ferror(f) ? "read error" : "larger than the largest datagram");
			fclose(f);
			free(buf);
			return -1;
		}
		fclose(f);
		n = (long)got;
	} else {
		n = hex_decode(buf, MESHWG_MAX_DATAGRAM, arg);
		if (n < 0) {
			fprintf(stderr, "Invalid payload: expected an even-length hex string of at most %u bytes, or @file\n",
				MESHWG_MAX_DATAGRAM);
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct listen_ctx {
	uint32_t ifindex;	/* 0 = all */
	unsigned long count, limit;
	int error;
};

static int listen_cb(struct nl_msg *msg, void *arg)
{
	struct listen_ctx *ctx = arg;
	uint32_t ifindex = 0;
	int err;
	char *line = agentfmt_line(nlmsg_hdr(msg), &ifindex, &err);

	if (!line) {
		if (err == -ENOMEM) {
			ctx->error = err;
			return NL_STOP;
		}
		return NL_SKIP;
	}
	if (!ctx->ifindex || ctx->ifindex == ifindex) {
		if (!ctx->limit || ctx->count < ctx->limit) {
			printf("%s\n", line);
			fflush(stdout);
			ctx->count++;
		}
	}
	free(line);
	return NL_OK;
}

static int listen_main(int argc, char *argv[])
{
	struct listen_ctx ctx = { 0 };
	double timeout = -1, deadline = 0;
	const char *ifname = NULL;
	struct ipc ipc;
	struct nl_cb *cb;
	int i, ret = 0;

	for (i = 1; i < argc; ++i) {
		char *end;

		if ((!strcmp(argv[i], "--count") || !strcmp(argv[i], "--timeout")) && i + 1 < argc) {
			const char *opt = argv[i++];

			errno = 0;
			if (!strcmp(opt, "--count")) {
				ctx.limit = strtoul(argv[i], &end, 10);
				if (argv[i][0] < '0' || argv[i][0] > '9' || errno || *end || !ctx.limit) {
					fprintf(stderr, "Invalid --count `%s': must be a positive number\n",
						argv[i]);
					return 1;
				}
			} else {
				timeout = strtod(argv[i], &end);
				if (argv[i][0] < '0' || argv[i][0] > '9' || errno || *end || timeout <= 0) {
					fprintf(stderr, "Invalid --timeout `%s': must be a positive number of seconds\n",
						argv[i]);
					return 1;
				}
			}
		} else if (argv[i][0] != '-' && !ifname) {
			ifname = argv[i];
		} else {
			fprintf(stderr, "Invalid argument: %s\n", argv[i]);
			usage(stderr);
			return 1;
		}
	}
	if (ifname && lookup_iface(ifname, &ctx.ifindex))
		return 1;
	if (ipc_open(&ipc))
		return 1;
	if (ipc_join_group(&ipc, MESHWG_MCGRP_AGENT) || ipc_join_group(&ipc, MESHWG_MCGRP_EVENTS)) {
		ipc_close(&ipc);
		return 1;
	}
	nl_socket_disable_seq_check(ipc.sk);
	if (nl_socket_set_buffer_size(ipc.sk, 4 << 20, 0) < 0)
		fprintf(stderr, "debug listen: could not enlarge the receive buffer\n");
	cb = nl_cb_clone(ipc.cb);
	if (!cb) {
		fprintf(stderr, "Out of memory\n");
		ipc_close(&ipc);
		return 1;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, listen_cb, &ctx);
	install_signals();
	fprintf(stderr, "listening\n");
	if (timeout > 0)
		deadline = now_seconds() + timeout;
	while (!stop_requested && (!ctx.limit || ctx.count < ctx.limit)) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(ipc.sk), .events = POLLIN };
		int wait_ms = -1, n;

		if (timeout > 0) {
			double left = deadline - now_seconds();

			if (left <= 0)
				break;
			wait_ms = (int)(left * 1000) + 1;
		}
		n = poll(&pfd, 1, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			ret = 1;
			break;
		}
		if (!n)
			continue;
		n = nl_recvmsgs(ipc.sk, cb);
		if (ctx.error) {
			fprintf(stderr, "debug listen: %s\n", strerror(-ctx.error));
			ret = 1;
			break;
		}
		if (n == -NLE_NOMEM)
			fprintf(stderr, "debug listen: notifications lost (receive buffer overrun)\n");
		else if (n < 0 && n != -NLE_AGAIN && n != -NLE_INTR)
			fprintf(stderr, "debug listen: %s\n", nl_geterror(n));
	}
	if (!ret && ctx.limit && ctx.count < ctx.limit) {
		fprintf(stderr, "debug listen: %s after %lu of %lu notifications\n",
			stop_requested ? "interrupted" : "timed out", ctx.count, ctx.limit);
		ret = 1;
	}
	nl_cb_put(cb);
	ipc_close(&ipc);
	return ret;
}

static int send_inject_main(int argc, char *argv[], bool inject)
{
	union mw_endpoint ep;
	uint32_t ifindex, relay_id = 0;
	uint8_t *payload;
	size_t len;
	struct ipc ipc;
	int ret;

	if (argc != 4) {
		usage(stderr);
		return 1;
	}
	if (lookup_iface(argv[1], &ifindex))
		return 1;
	if (inject ? parse_relay_id(argv[2], &relay_id) : parse_addr(argv[2], &ep))
		return 1;
	if (read_payload(argv[3], &payload, &len))
		return 1;
	if (ipc_open(&ipc)) {
		free(payload);
		return 1;
	}
	if (inject)
		ret = ipc_inject_datagram(&ipc, ifindex, relay_id, payload, len);
	else
		ret = ipc_send_datagram(&ipc, ifindex, &ep.addr, payload, len);
	if (ret)
		ipc_perror(&ipc, inject ? "Unable to inject datagram" : "Unable to send datagram", ret);
	ipc_close(&ipc);
	free(payload);
	return ret ? 1 : 0;
}

struct relay_ctx {
	uint32_t ifindex, relay_id;
	int udp;
	union mw_endpoint remote;
	unsigned long forwarded, send_errors;
};

static int relay_cb(struct nl_msg *msg, void *arg)
{
	struct relay_ctx *ctx = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[MESHWG_AGENT_A_MAX + 1];
	socklen_t alen;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
	    ((struct genlmsghdr *)nlmsg_data(nlh))->cmd != MESHWG_CMD_RELAY_DATAGRAM)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, MESHWG_AGENT_A_MAX, NULL) || !tb[MESHWG_AGENT_A_IFINDEX] ||
	    !tb[MESHWG_AGENT_A_RELAY_ID] || !tb[MESHWG_AGENT_A_PAYLOAD] ||
	    nla_len(tb[MESHWG_AGENT_A_IFINDEX]) != 4 || nla_len(tb[MESHWG_AGENT_A_RELAY_ID]) != 4)
		return NL_SKIP;
	if (nla_get_u32(tb[MESHWG_AGENT_A_IFINDEX]) != ctx->ifindex ||
	    nla_get_u32(tb[MESHWG_AGENT_A_RELAY_ID]) != ctx->relay_id)
		return NL_SKIP;
	alen = ctx->remote.addr.sa_family == AF_INET6 ? sizeof(ctx->remote.addr6) :
							 sizeof(ctx->remote.addr4);
	if (sendto(ctx->udp, nla_data(tb[MESHWG_AGENT_A_PAYLOAD]),
		   (size_t)nla_len(tb[MESHWG_AGENT_A_PAYLOAD]), 0, &ctx->remote.addr, alen) < 0) {
		if (!ctx->send_errors++)
			perror("debug relay: sendto");
	} else {
		ctx->forwarded++;
	}
	return NL_OK;
}

static int relay_main(int argc, char *argv[])
{
	struct relay_ctx ctx = { .udp = -1 };
	union mw_endpoint local;
	struct ipc notify = { 0 }, req = { 0 };
	unsigned long injected = 0, inject_errors = 0;
	char a1[FMT_ADDR_LEN], a2[FMT_ADDR_LEN];
	uint8_t *buf = NULL;
	struct nl_cb *cb = NULL;
	int ret = 1;

	if (argc != 5) {
		usage(stderr);
		return 1;
	}
	if (lookup_iface(argv[1], &ctx.ifindex) || parse_relay_id(argv[2], &ctx.relay_id) ||
	    parse_addr(argv[3], &local) || parse_addr(argv[4], &ctx.remote))
		return 1;
	buf = malloc(65536);
	if (!buf) {
		fprintf(stderr, "Out of memory\n");
		return 1;
	}
	ctx.udp = socket(local.addr.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctx.udp < 0 ||
	    bind(ctx.udp, &local.addr,
		 local.addr.sa_family == AF_INET6 ? sizeof(local.addr6) : sizeof(local.addr4)) < 0) {
		fprintf(stderr, "Unable to bind %s: %s\n", argv[3], strerror(errno));
		goto out;
	}
	if (ipc_open(&notify) || ipc_open(&req))
		goto out;
	if (ipc_join_group(&notify, MESHWG_MCGRP_AGENT))
		goto out;
	nl_socket_disable_seq_check(notify.sk);
	if (nl_socket_set_buffer_size(notify.sk, 4 << 20, 0) < 0)
		fprintf(stderr, "debug relay: could not enlarge the receive buffer\n");
	cb = nl_cb_clone(notify.cb);
	if (!cb) {
		fprintf(stderr, "Out of memory\n");
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, relay_cb, &ctx);
	install_signals();
	printf("relay ready iface=%s relay=%u listen=%s remote=%s\n", argv[1], ctx.relay_id,
	       fmt_sockaddr(a1, &local.addr), fmt_sockaddr(a2, &ctx.remote.addr));
	fflush(stdout);
	while (!stop_requested) {
		struct pollfd pfd[2] = {
			{ .fd = nl_socket_get_fd(notify.sk), .events = POLLIN },
			{ .fd = ctx.udp, .events = POLLIN },
		};
		int n = poll(pfd, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			n = nl_recvmsgs(notify.sk, cb);
			if (n == -NLE_NOMEM)
				fprintf(stderr, "debug relay: relayed datagrams lost (receive buffer overrun)\n");
		}
		if (pfd[1].revents & POLLIN) {
			ssize_t len = recv(ctx.udp, buf, 65536, 0);

			if (len < 0) {
				if (errno != EINTR && errno != EAGAIN)
					perror("debug relay: recv");
				continue;
			}
			n = ipc_inject_datagram(&req, ctx.ifindex, ctx.relay_id, buf, (size_t)len);
			if (n) {
				if (!inject_errors++)
					ipc_perror(&req, "debug relay: Unable to inject datagram", n);
			} else {
				injected++;
			}
		}
	}
	fprintf(stderr, "debug relay: %lu datagrams to remote (%lu errors), %lu injected (%lu errors)\n",
		ctx.forwarded, ctx.send_errors, injected, inject_errors);
	ret = 0;
out:
	if (cb)
		nl_cb_put(cb);
	ipc_close(&notify);
	ipc_close(&req);
	if (ctx.udp >= 0)
		close(ctx.udp);
	free(buf);
	return ret;
}

/* `meshwg debug rotate-key': {"cmd":"rotate-key"} to meshwgd. */
static int rotate_key_main(int argc)
{
	const cJSON *st, *self, *key;
	cJSON *final;

	if (argc != 1) {
		usage(stderr);
		return 1;
	}
	final = apiclient_simple("rotate-key", APICLIENT_ACTION_TIMEOUT_MS);
	if (!final)
		return 1;
	st = cJSON_GetObjectItemCaseSensitive(final, "status");
	self = cJSON_GetObjectItemCaseSensitive(st, "self");
	key = cJSON_GetObjectItemCaseSensitive(self, "node_key");
	if (!cJSON_IsString(key))
		key = cJSON_GetObjectItemCaseSensitive(final, "node_key");
	if (cJSON_IsString(key))
		printf("node key rotated: %s\n", key->valuestring);
	else
		printf("node key rotated\n");
	cJSON_Delete(final);
	return 0;
}

int debug_main(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (is_help(argv[1]) || (argc > 2 && is_help(argv[2]))) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "listen"))
		return listen_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "send"))
		return send_inject_main(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "inject"))
		return send_inject_main(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "relay"))
		return relay_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rotate-key"))
		return rotate_key_main(argc - 1);
	fprintf(stderr, "Invalid debug verb: `%s'\n", argv[1]);
	usage(stderr);
	return 1;
}
