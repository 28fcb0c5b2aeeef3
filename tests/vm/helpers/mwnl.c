// SPDX-License-Identifier: GPL-2.0
/*
 * mwnl: speaks the meshwg generic-netlink family directly (libnl-genl),
 * independently of tools/meshwg, for the VM suites.
 *
 *   mwnl counters IFACE
 *       prints the device counters ("rx_invalid N", "rx_ratelimited N",
 *       "agent_rx N", "agent_rx_drops N", "agent_tx N", "relay_tx_drops N")
 *       and one line per peer:
 *       "peer B64 rx_packets N tx_packets N drops_no_key N drops_replay N
 *        drops_allowedips N drops_invalid N handshake_attempts N drops_acl N"
 *   mwnl bad KIND IFACE
 *       sends one malformed request and exits 0 if the kernel refused it
 *       (printing the error), 1 if it was accepted. KIND: key-length,
 *       family, cidr, ifindex, oversized-datagram, bad-flags, reserved (a
 *       listen-port change with a nonzero genl header reserved field).
 *       Requests that could be half-applied also carry a valid new peer
 *       before the bad part, so "nothing changed" is meaningful.
 *   mwnl perm IFACE
 *       tries every command of the family on IFACE and joins every
 *       multicast group, printing one line per step: "NAME ok" or
 *       "NAME ERRNO-NAME" (e.g. "send-datagram EPERM"). The steps:
 *       get-device, set-device (no change), listen-port (0: a new random
 *       port), fwmark (0), send-datagram (4 bytes to 127.0.0.1:9),
 *       inject-datagram (a cookie reply for no handshake: dropped),
 *       get-filter, set-filter (an empty ruleset), clear-filter,
 *       group-agent, group-events. Exits 0 unless a request cannot be built.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/meshwg.h>

static struct nl_sock *sk;
static int family;

static void usage(void)
{
	fputs("usage: mwnl counters IFACE\n"
	      "       mwnl bad key-length|family|cidr|ifindex|oversized-datagram|bad-flags|reserved IFACE\n"
	      "       mwnl perm IFACE\n",
	      stderr);
}

static int open_family(void)
{
	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "mwnl: cannot open a generic netlink socket\n");
		return -1;
	}
	/* Short acks (no echo of a 64 KiB request) and buffers sized by peeking. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 }, sizeof(int));
	nl_socket_enable_msg_peek(sk);
	family = genl_ctrl_resolve(sk, MESHWG_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "mwnl: genl family '%s' not found (meshwg.ko not loaded?)\n",
			MESHWG_GENL_NAME);
		return -1;
	}
	return 0;
}

static const char *const dev_counter_names[] = {
	[MESHWG_DEVICE_A_RX_INVALID] = "rx_invalid",
	[MESHWG_DEVICE_A_RX_RATELIMITED] = "rx_ratelimited",
	[MESHWG_DEVICE_A_AGENT_RX] = "agent_rx",
	[MESHWG_DEVICE_A_AGENT_RX_DROPS] = "agent_rx_drops",
	[MESHWG_DEVICE_A_AGENT_TX] = "agent_tx",
	[MESHWG_DEVICE_A_RELAY_TX_DROPS] = "relay_tx_drops",
};

static const char *const peer_counter_names[] = {
	[MESHWG_PEER_A_RX_PACKETS] = "rx_packets",
	[MESHWG_PEER_A_TX_PACKETS] = "tx_packets",
	[MESHWG_PEER_A_DROPS_NO_KEY] = "drops_no_key",
	[MESHWG_PEER_A_DROPS_REPLAY] = "drops_replay",
	[MESHWG_PEER_A_DROPS_ALLOWEDIPS] = "drops_allowedips",
	[MESHWG_PEER_A_DROPS_INVALID] = "drops_invalid",
	[MESHWG_PEER_A_HANDSHAKE_ATTEMPTS] = "handshake_attempts",
	[MESHWG_PEER_A_DROPS_ACL] = "drops_acl",
};

static int printed_device;

static int counters_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MESHWG_DEVICE_A_MAX + 1], *peer;
	int rem;

	(void)arg;
	if (nla_parse(tb, MESHWG_DEVICE_A_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
		      NULL))
		return NL_SKIP;
	if (!printed_device) {
		for (int a = MESHWG_DEVICE_A_RX_INVALID; a <= MESHWG_DEVICE_A_RELAY_TX_DROPS; a++)
			if (tb[a] && nla_len(tb[a]) == 8)
				printf("%s %llu\n", dev_counter_names[a],
				       (unsigned long long)nla_get_u64(tb[a]));
		printed_device = 1;
	}
	if (!tb[MESHWG_DEVICE_A_PEERS])
		return NL_OK;
	nla_for_each_nested(peer, tb[MESHWG_DEVICE_A_PEERS], rem) {
		struct nlattr *pb[MESHWG_PEER_A_MAX + 1];
		char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
		int any = 0;

		if (nla_parse_nested(pb, MESHWG_PEER_A_MAX, peer, NULL) ||
		    !pb[MESHWG_PEER_A_PUBLIC_KEY] || nla_len(pb[MESHWG_PEER_A_PUBLIC_KEY]) != 32)
			continue;
		for (int a = MESHWG_PEER_A_RX_PACKETS; a <= MESHWG_PEER_A_DROPS_ACL; a++)
			any |= pb[a] != NULL;
		if (!any) /* continuation of a peer split across messages */
			continue;
		sodium_bin2base64(b64, sizeof(b64), nla_data(pb[MESHWG_PEER_A_PUBLIC_KEY]), 32,
				  sodium_base64_VARIANT_ORIGINAL);
		printf("peer %s", b64);
		for (int a = MESHWG_PEER_A_RX_PACKETS; a <= MESHWG_PEER_A_DROPS_ACL; a++)
			if (pb[a] && nla_len(pb[a]) == 8)
				printf(" %s %llu", peer_counter_names[a],
				       (unsigned long long)nla_get_u64(pb[a]));
		printf("\n");
	}
	return NL_OK;
}

static int counters(const char *ifname)
{
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
				 MESHWG_CMD_GET_DEVICE, MESHWG_GENL_VERSION) ||
	    nla_put_string(msg, MESHWG_DEVICE_A_IFNAME, ifname)) {
		nlmsg_free(msg);
		return 1;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, counters_cb, NULL);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	if (err < 0) {
		fprintf(stderr, "mwnl: dump of %s failed: %s\n", ifname, nl_geterror(err));
		return 1;
	}
	return 0;
}

static struct nlattr *nest(struct nl_msg *msg, int type)
{
	struct nlattr *n = nla_nest_start(msg, type);

	if (n)
		n->nla_type |= NLA_F_NESTED;
	return n;
}

/* A valid new peer with one allowed IP (10.99.99.99/32). */
static int put_good_peer(struct nl_msg *msg)
{
	unsigned char key[32];
	struct nlattr *p, *ips, *ip;
	struct in_addr a = { htonl(0x0a636363) };

	randombytes_buf(key, sizeof(key));
	p = nest(msg, 0);
	if (!p || nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, 32, key))
		return -1;
	ips = nest(msg, MESHWG_PEER_A_ALLOWEDIPS);
	ip = ips ? nest(msg, 0) : NULL;
	if (!ip || nla_put_u16(msg, MESHWG_ALLOWEDIP_A_FAMILY, AF_INET) ||
	    nla_put(msg, MESHWG_ALLOWEDIP_A_IPADDR, 4, &a) ||
	    nla_put_u8(msg, MESHWG_ALLOWEDIP_A_CIDR_MASK, 32))
		return -1;
	nla_nest_end(msg, ip);
	nla_nest_end(msg, ips);
	nla_nest_end(msg, p);
	return 0;
}

/* A new peer with one allowed IP of the given family / length / mask. */
static int put_bad_ip_peer(struct nl_msg *msg, uint16_t fam, int addrlen, uint8_t cidr)
{
	unsigned char key[32], addr[16] = { 10, 98 };
	struct nlattr *p, *ips, *ip;

	randombytes_buf(key, sizeof(key));
	p = nest(msg, 0);
	if (!p || nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, 32, key))
		return -1;
	ips = nest(msg, MESHWG_PEER_A_ALLOWEDIPS);
	ip = ips ? nest(msg, 0) : NULL;
	if (!ip || nla_put_u16(msg, MESHWG_ALLOWEDIP_A_FAMILY, fam) ||
	    nla_put(msg, MESHWG_ALLOWEDIP_A_IPADDR, addrlen, addr) ||
	    nla_put_u8(msg, MESHWG_ALLOWEDIP_A_CIDR_MASK, cidr))
		return -1;
	nla_nest_end(msg, ip);
	nla_nest_end(msg, ips);
	nla_nest_end(msg, p);
	return 0;
}

static int bad(const char *kind, const char *ifname)
{
	struct nl_msg *msg = nlmsg_alloc_size(70000 + 4096);
	unsigned int ifindex = if_nametoindex(ifname);
	int cmd = MESHWG_CMD_SET_DEVICE, err = -1;
	struct nlattr *peers;

	if (!msg)
		return 2;
	if (!ifindex) {
		fprintf(stderr, "mwnl: no interface %s\n", ifname);
		goto out;
	}
	if (!strcmp(kind, "oversized-datagram"))
		cmd = MESHWG_CMD_SEND_DATAGRAM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST | NLM_F_ACK,
			 cmd, MESHWG_GENL_VERSION))
		goto out;
	if (!strcmp(kind, "key-length")) {
		unsigned char key[31] = { 1 };

		err = nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, ifindex) ||
		      nla_put(msg, MESHWG_DEVICE_A_PRIVATE_KEY, sizeof(key), key);
	} else if (!strcmp(kind, "family") || !strcmp(kind, "cidr")) {
		err = nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, ifindex);
		peers = err ? NULL : nest(msg, MESHWG_DEVICE_A_PEERS);
		err = !peers || put_good_peer(msg) ||
		      (!strcmp(kind, "family") ? put_bad_ip_peer(msg, 99, 4, 32)
					       : put_bad_ip_peer(msg, AF_INET, 4, 33));
		if (!err)
			nla_nest_end(msg, peers);
	} else if (!strcmp(kind, "ifindex")) {
		err = nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, 0x7ffffff0) ||
		      nla_put_u16(msg, MESHWG_DEVICE_A_LISTEN_PORT, 4444);
	} else if (!strcmp(kind, "bad-flags")) {
		err = nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, ifindex) ||
		      nla_put_u32(msg, MESHWG_DEVICE_A_FLAGS, 0x80000000u) ||
		      nla_put_u16(msg, MESHWG_DEVICE_A_LISTEN_PORT, 4444);
		peers = err ? NULL : nest(msg, MESHWG_DEVICE_A_PEERS);
		err = !peers || put_good_peer(msg);
		if (!err)
			nla_nest_end(msg, peers);
	} else if (!strcmp(kind, "reserved")) {
		struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

		gh->reserved = 1;
		err = nla_put_u32(msg, MESHWG_DEVICE_A_IFINDEX, ifindex) ||
		      nla_put_u16(msg, MESHWG_DEVICE_A_LISTEN_PORT, 4444);
	} else if (!strcmp(kind, "oversized-datagram")) {
		static unsigned char payload[MESHWG_MAX_DATAGRAM + 1];
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
					  .sin_addr = { htonl(0x7f000001) } };

		err = nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, ifindex) ||
		      nla_put(msg, MESHWG_AGENT_A_ADDR, sizeof(to), &to) ||
		      nla_put(msg, MESHWG_AGENT_A_PAYLOAD, sizeof(payload), payload);
	} else {
		usage();
		nlmsg_free(msg);
		return 2;
	}
	if (err) {
		fprintf(stderr, "mwnl: cannot build the %s request\n", kind);
		err = 2;
		goto out;
	}
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	if (err < 0) {
		printf("refused: %s\n", nl_geterror(err));
		err = 0;
	} else {
		printf("ACCEPTED: the kernel took a malformed %s request\n", kind);
		err = 1;
	}
out:
	nlmsg_free(msg);
	return err < 0 ? 2 : err;
}

/* The kernel's answer to one request: 0 or a negative errno. */
static int perm_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

static int perm_ack_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(int *)arg = 0;
	return NL_STOP;
}

static int perm_valid_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int perm_finish_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(int *)arg = 0;
	return NL_STOP;
}

/* Sends msg (consumed) and prints "name ok" or "name ERRNO". */
static int perm_request(const char *name, struct nl_msg *msg)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int answer = 1, err;

	if (!cb) {
		nlmsg_free(msg);
		return -1;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, perm_err_cb, &answer);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, perm_ack_cb, &answer);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, perm_finish_cb, &answer);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, perm_valid_cb, NULL);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (err >= 0 && answer == 1)
		err = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (answer == 1) {
		fprintf(stderr, "mwnl: %s: %s\n", name, nl_geterror(err));
		return -1;
	}
	printf("%s %s\n", name, answer ? strerrorname_np(-answer) : "ok");
	return 0;
}

static struct nl_msg *perm_msg(int cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
				MESHWG_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int perm_group(const char *name, const char *group)
{
	int id = genl_ctrl_resolve_grp(sk, MESHWG_GENL_NAME, group);

	if (id < 0) {
		fprintf(stderr, "mwnl: group %s: %s\n", group, nl_geterror(id));
		return -1;
	}
	if (setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &id,
		       sizeof(id)))
		printf("%s %s\n", name, strerrorname_np(errno));
	else
		printf("%s ok\n", name);
	return 0;
}

static int perm(const char *ifname)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr = { htonl(0x7f000001) } };
	unsigned char cookie[64] = { 3 }; /* WireGuard cookie reply (type 3) */
	const int ack = NLM_F_REQUEST | NLM_F_ACK, dump = NLM_F_REQUEST | NLM_F_DUMP;
	struct nl_msg *m;
	int bad = 0;

#define PERM(name, cmd, flags, attrs)					\
	do {								\
		m = perm_msg(cmd, flags);				\
		if (!m || (attrs) || perm_request(name, m))		\
			bad = 1;					\
	} while (0)
	PERM("get-device", MESHWG_CMD_GET_DEVICE, dump,
	     nla_put_string(m, MESHWG_DEVICE_A_IFNAME, ifname));
	PERM("set-device", MESHWG_CMD_SET_DEVICE, ack,
	     nla_put_string(m, MESHWG_DEVICE_A_IFNAME, ifname));
	PERM("listen-port", MESHWG_CMD_SET_DEVICE, ack,
	     nla_put_string(m, MESHWG_DEVICE_A_IFNAME, ifname) ||
	     nla_put_u16(m, MESHWG_DEVICE_A_LISTEN_PORT, 0));
	PERM("fwmark", MESHWG_CMD_SET_DEVICE, ack,
	     nla_put_string(m, MESHWG_DEVICE_A_IFNAME, ifname) ||
	     nla_put_u32(m, MESHWG_DEVICE_A_FWMARK, 0));
	PERM("send-datagram", MESHWG_CMD_SEND_DATAGRAM, ack,
	     nla_put_string(m, MESHWG_AGENT_A_IFNAME, ifname) ||
	     nla_put(m, MESHWG_AGENT_A_ADDR, sizeof(to), &to) ||
	     nla_put(m, MESHWG_AGENT_A_PAYLOAD, 4, "mwnl"));
	PERM("inject-datagram", MESHWG_CMD_INJECT_DATAGRAM, ack,
	     nla_put_string(m, MESHWG_AGENT_A_IFNAME, ifname) ||
	     nla_put_u32(m, MESHWG_AGENT_A_RELAY_ID, 1) ||
	     nla_put(m, MESHWG_AGENT_A_PAYLOAD, sizeof(cookie), cookie));
	PERM("get-filter", MESHWG_CMD_GET_FILTER, dump,
	     nla_put_string(m, MESHWG_FILTER_A_IFNAME, ifname));
	PERM("set-filter", MESHWG_CMD_SET_FILTER, ack,
	     nla_put_string(m, MESHWG_FILTER_A_IFNAME, ifname) ||
	     nla_put_u64(m, MESHWG_FILTER_A_VERSION, 1));
	PERM("clear-filter", MESHWG_CMD_CLEAR_FILTER, ack,
	     nla_put_string(m, MESHWG_FILTER_A_IFNAME, ifname));
#undef PERM
	if (perm_group("group-agent", MESHWG_MCGRP_AGENT) ||
	    perm_group("group-events", MESHWG_MCGRP_EVENTS))
		bad = 1;
	return bad ? 2 : 0;
}

int main(int argc, char *argv[])
{
	int ret;

	if (sodium_init() < 0)
		return 2;
	if (argc == 3 && !strcmp(argv[1], "counters")) {
		if (open_family())
			return 2;
		ret = counters(argv[2]);
	} else if (argc == 4 && !strcmp(argv[1], "bad")) {
		if (open_family())
			return 2;
		ret = bad(argv[2], argv[3]);
	} else if (argc == 3 && !strcmp(argv[1], "perm")) {
		if (open_family())
			return 2;
		ret = perm(argv[2]);
	} else {
		usage();
		return 2;
	}
	nl_socket_free(sk);
	return ret;
}
