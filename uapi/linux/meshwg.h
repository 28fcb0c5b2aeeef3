/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * meshwg generic netlink uAPI. The one definition shared by meshwg.ko and
 * every userspace program; documented in docs/netlink.md.
 *
 * The device/peer/allowed-ip part follows the shape of WireGuard's uAPI so
 * that wg(8) habits carry over, under our own family name "meshwg". On top of
 * it come per-peer counters, relay endpoints, the agent datagram channel
 * (STUN/disco in, any datagram out, relayed WireGuard datagrams both ways)
 * and an events multicast group.
 *
 * Commands:
 *
 * MESHWG_CMD_GET_DEVICE (dump, NLM_F_DUMP required)
 *   request:  MESHWG_DEVICE_A_IFINDEX or MESHWG_DEVICE_A_IFNAME
 *   replies:  one or more messages carrying MESHWG_DEVICE_A_* attributes; the
 *             peer list (and each peer's allowed-ips) is split over as many
 *             messages as needed. A peer that continues in the next message
 *             repeats only its MESHWG_PEER_A_PUBLIC_KEY.
 *
 * MESHWG_CMD_SET_DEVICE (do, CAP_NET_ADMIN)
 *   MESHWG_DEVICE_A_IFINDEX or _IFNAME, and any of _PRIVATE_KEY,
 *   _LISTEN_PORT, _FWMARK, _FLAGS, _PEERS. A message that fails validation
 *   changes nothing; the reason is returned through extack.
 *
 * MESHWG_CMD_SEND_DATAGRAM (do, CAP_NET_ADMIN, also in the creating netns)
 *   MESHWG_AGENT_A_IFINDEX, MESHWG_AGENT_A_ADDR (destination),
 *   MESHWG_AGENT_A_PAYLOAD: sends the payload as one UDP datagram from the
 *   device's own socket (same source port as WireGuard traffic).
 *
 * MESHWG_CMD_INJECT_DATAGRAM (do, CAP_NET_ADMIN)
 *   MESHWG_AGENT_A_IFINDEX, MESHWG_AGENT_A_RELAY_ID, MESHWG_AGENT_A_PAYLOAD,
 *   optionally MESHWG_AGENT_A_PUBLIC_KEY (the sender's key as the relay
 *   names it): a WireGuard datagram received over relay RELAY_ID enters the
 *   receive path as if it had arrived from that relay endpoint. Cookies and
 *   handshake rate limits are per (relay, named sender); datagrams over a
 *   relay's budget (module parameters inject_rate, inject_burst) are
 *   dropped and counted in RX_RATELIMITED.
 *
 * Notifications (never requests):
 *
 * MESHWG_CMD_DATAGRAM on group MESHWG_MCGRP_AGENT
 *   a non-WireGuard datagram (STUN or disco) arrived on the device's port:
 *   MESHWG_AGENT_A_IFINDEX, _ADDR (source), _KIND, _PAYLOAD.
 *
 * MESHWG_CMD_RELAY_DATAGRAM on group MESHWG_MCGRP_AGENT
 *   an encrypted WireGuard datagram for a peer whose endpoint is a relay:
 *   MESHWG_AGENT_A_IFINDEX, _RELAY_ID, _PUBLIC_KEY (the peer), _PAYLOAD.
 *
 * MESHWG_CMD_EVENT on group MESHWG_MCGRP_EVENTS
 *   MESHWG_AGENT_A_IFINDEX, _EVENT, _PUBLIC_KEY, and for endpoint changes
 *   the new _ADDR or _RELAY_ID.
 */

#ifndef _UAPI_LINUX_MESHWG_H
#define _UAPI_LINUX_MESHWG_H

#include <linux/types.h>

#define MESHWG_GENL_NAME "meshwg"
#define MESHWG_GENL_VERSION 1

#define MESHWG_MCGRP_AGENT "agent"
#define MESHWG_MCGRP_EVENTS "events"

#define MESHWG_KEY_LEN 32

/* Largest payload accepted by SEND_DATAGRAM / INJECT_DATAGRAM. */
#define MESHWG_MAX_DATAGRAM 65507

enum meshwg_cmd {
	MESHWG_CMD_GET_DEVICE,
	MESHWG_CMD_SET_DEVICE,
	MESHWG_CMD_SEND_DATAGRAM,
	MESHWG_CMD_INJECT_DATAGRAM,
	MESHWG_CMD_DATAGRAM,
	MESHWG_CMD_RELAY_DATAGRAM,
	MESHWG_CMD_EVENT,
	MESHWG_CMD_SET_FILTER,
	MESHWG_CMD_GET_FILTER,
	MESHWG_CMD_CLEAR_FILTER,
	__MESHWG_CMD_MAX
};
#define MESHWG_CMD_MAX (__MESHWG_CMD_MAX - 1)

enum meshwg_device_flag {
	MESHWG_DEVICE_F_REPLACE_PEERS = 1U << 0,
	__MESHWG_DEVICE_F_ALL = MESHWG_DEVICE_F_REPLACE_PEERS
};

enum meshwg_device_attribute {
	MESHWG_DEVICE_A_UNSPEC,
	MESHWG_DEVICE_A_IFINDEX,	/* NLA_U32 */
	MESHWG_DEVICE_A_IFNAME,		/* NLA_NUL_STRING, IFNAMSIZ - 1 */
	MESHWG_DEVICE_A_PRIVATE_KEY,	/* NLA_EXACT_LEN, MESHWG_KEY_LEN */
	MESHWG_DEVICE_A_PUBLIC_KEY,	/* NLA_EXACT_LEN, MESHWG_KEY_LEN */
	MESHWG_DEVICE_A_FLAGS,		/* NLA_U32, meshwg_device_flag */
	MESHWG_DEVICE_A_LISTEN_PORT,	/* NLA_U16, 0 = random */
	MESHWG_DEVICE_A_FWMARK,		/* NLA_U32 */
	MESHWG_DEVICE_A_PEERS,		/* NLA_NESTED, of NLA_NESTED peers */
	/* Device counters, get only (NLA_U64 each). */
	MESHWG_DEVICE_A_RX_INVALID,	/* datagrams dropped before a peer was known */
	MESHWG_DEVICE_A_RX_RATELIMITED,	/* handshakes refused by the ratelimiter,
					 * injected datagrams over budget */
	MESHWG_DEVICE_A_AGENT_RX,	/* datagrams delivered to MESHWG_MCGRP_AGENT */
	MESHWG_DEVICE_A_AGENT_RX_DROPS,	/* agent datagrams dropped (rate, no room) */
	MESHWG_DEVICE_A_AGENT_TX,	/* datagrams sent with SEND_DATAGRAM */
	MESHWG_DEVICE_A_RELAY_TX_DROPS,	/* relay datagrams dropped (rate, no room) */
	MESHWG_DEVICE_A_PAD,
	__MESHWG_DEVICE_A_LAST
};
#define MESHWG_DEVICE_A_MAX (__MESHWG_DEVICE_A_LAST - 1)

enum meshwg_peer_flag {
	MESHWG_PEER_F_REMOVE_ME = 1U << 0,
	MESHWG_PEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	MESHWG_PEER_F_UPDATE_ONLY = 1U << 2,
	__MESHWG_PEER_F_ALL = MESHWG_PEER_F_REMOVE_ME |
			      MESHWG_PEER_F_REPLACE_ALLOWEDIPS |
			      MESHWG_PEER_F_UPDATE_ONLY
};

enum meshwg_peer_attribute {
	MESHWG_PEER_A_UNSPEC,
	MESHWG_PEER_A_PUBLIC_KEY,		/* NLA_EXACT_LEN, MESHWG_KEY_LEN */
	MESHWG_PEER_A_PRESHARED_KEY,		/* NLA_EXACT_LEN, all zero = none */
	MESHWG_PEER_A_FLAGS,			/* NLA_U32, meshwg_peer_flag */
	MESHWG_PEER_A_ENDPOINT,			/* struct sockaddr_in or sockaddr_in6 */
	MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL, /* NLA_U16, seconds */
	MESHWG_PEER_A_LAST_HANDSHAKE_TIME,	/* struct __kernel_timespec, get only */
	MESHWG_PEER_A_RX_BYTES,			/* NLA_U64, get only */
	MESHWG_PEER_A_TX_BYTES,			/* NLA_U64, get only */
	MESHWG_PEER_A_ALLOWEDIPS,		/* NLA_NESTED, of NLA_NESTED ips */
	MESHWG_PEER_A_PROTOCOL_VERSION,		/* NLA_U32, 1 */
	MESHWG_PEER_A_RELAY_ID,			/* NLA_U32, nonzero: endpoint is a relay */
	MESHWG_PEER_A_RX_PACKETS,		/* NLA_U64, get only */
	MESHWG_PEER_A_TX_PACKETS,		/* NLA_U64, get only */
	MESHWG_PEER_A_DROPS_NO_KEY,		/* NLA_U64, get only */
	MESHWG_PEER_A_DROPS_REPLAY,		/* NLA_U64, get only */
	MESHWG_PEER_A_DROPS_ALLOWEDIPS,		/* NLA_U64, get only */
	MESHWG_PEER_A_DROPS_INVALID,		/* NLA_U64, get only */
	MESHWG_PEER_A_HANDSHAKE_ATTEMPTS,	/* NLA_U64, get only */
	MESHWG_PEER_A_DROPS_ACL,		/* NLA_U64, get only */
	MESHWG_PEER_A_PAD,
	__MESHWG_PEER_A_LAST
};
#define MESHWG_PEER_A_MAX (__MESHWG_PEER_A_LAST - 1)

enum meshwg_allowedip_flag {
	MESHWG_ALLOWEDIP_F_REMOVE_ME = 1U << 0,
	__MESHWG_ALLOWEDIP_F_ALL = MESHWG_ALLOWEDIP_F_REMOVE_ME
};

enum meshwg_allowedip_attribute {
	MESHWG_ALLOWEDIP_A_UNSPEC,
	MESHWG_ALLOWEDIP_A_FAMILY,	/* NLA_U16, AF_INET or AF_INET6 */
	MESHWG_ALLOWEDIP_A_IPADDR,	/* 4 or 16 bytes, matching the family */
	MESHWG_ALLOWEDIP_A_CIDR_MASK,	/* NLA_U8, <= 32 or <= 128 */
	MESHWG_ALLOWEDIP_A_FLAGS,	/* NLA_U32, meshwg_allowedip_flag */
	__MESHWG_ALLOWEDIP_A_LAST
};
#define MESHWG_ALLOWEDIP_A_MAX (__MESHWG_ALLOWEDIP_A_LAST - 1)

/* What a MESHWG_CMD_DATAGRAM notification carries. */
enum meshwg_datagram_kind {
	MESHWG_DATAGRAM_STUN = 1,	/* magic cookie 0x2112A442 at offset 4 */
	MESHWG_DATAGRAM_DISCO = 2,	/* starts with "TS\xf0\x9f\x92\xac" */
};

enum meshwg_event {
	MESHWG_EVENT_HANDSHAKE_COMPLETE = 1,	/* a new session with the peer */
	MESHWG_EVENT_ENDPOINT_CHANGED = 2,	/* the peer roamed (or left a relay) */
	MESHWG_EVENT_WANTS_ENDPOINT = 3,	/* traffic queued, peer has no endpoint */
	MESHWG_EVENT_ACL_DENY = 4,		/* the ACL dropped a packet (sampled) */
};

enum meshwg_agent_attribute {
	MESHWG_AGENT_A_UNSPEC,
	MESHWG_AGENT_A_IFINDEX,		/* NLA_U32 */
	MESHWG_AGENT_A_IFNAME,		/* NLA_NUL_STRING, alternative to IFINDEX */
	MESHWG_AGENT_A_ADDR,		/* struct sockaddr_in or sockaddr_in6 */
	MESHWG_AGENT_A_RELAY_ID,	/* NLA_U32, nonzero */
	MESHWG_AGENT_A_PAYLOAD,		/* NLA_BINARY, <= MESHWG_MAX_DATAGRAM */
	MESHWG_AGENT_A_PUBLIC_KEY,	/* NLA_EXACT_LEN, MESHWG_KEY_LEN */
	MESHWG_AGENT_A_KIND,		/* NLA_U32, meshwg_datagram_kind */
	MESHWG_AGENT_A_EVENT,		/* NLA_U32, meshwg_event */
	/* MESHWG_EVENT_ACL_DENY: the denied packet's 5-tuple and verdict. */
	MESHWG_AGENT_A_ACL_FAMILY,	/* NLA_U16, AF_INET or AF_INET6 */
	MESHWG_AGENT_A_ACL_SRC,		/* 4 or 16 bytes, network order */
	MESHWG_AGENT_A_ACL_DST,		/* 4 or 16 bytes, network order */
	MESHWG_AGENT_A_ACL_PROTO,	/* NLA_U8, IP protocol */
	MESHWG_AGENT_A_ACL_SPORT,	/* NLA_U16, host order, 0 if none */
	MESHWG_AGENT_A_ACL_DPORT,	/* NLA_U16, host order, 0 if none */
	MESHWG_AGENT_A_ACL_RULE,	/* NLA_U32, MESHWG_FILTER_NO_RULE: default deny */
	__MESHWG_AGENT_A_LAST
};
#define MESHWG_AGENT_A_MAX (__MESHWG_AGENT_A_LAST - 1)

/*
 * The ACL filter (docs/filter.md).
 *
 * MESHWG_CMD_SET_FILTER (do, CAP_NET_ADMIN)
 *   MESHWG_FILTER_A_IFINDEX or _IFNAME, _VERSION, and the rules in order as
 *   repeated top-level MESHWG_FILTER_A_RULE nests. A rule nest carrying
 *   MESHWG_RULE_F_CONTINUE adds its _SRC and _DST to the previous rule (so a
 *   rule of any size fits in 64 KiB attributes). Replaces the installed
 *   ruleset as a whole; a rejected ruleset changes nothing (extack says why).
 *   Zero rules is valid: it denies everything but return traffic.
 *
 * MESHWG_CMD_CLEAR_FILTER (do, CAP_NET_ADMIN)
 *   MESHWG_FILTER_A_IFINDEX or _IFNAME: removes the ruleset; everything
 *   the peers' allowed IPs admit passes again.
 *
 * MESHWG_CMD_GET_FILTER (dump, NLM_F_DUMP required, CAP_NET_ADMIN)
 *   request: MESHWG_FILTER_A_IFINDEX or _IFNAME. The first reply carries
 *   _IFINDEX, _INSTALLED, _VERSION (if installed), _DROPS, _MALFORMED,
 *   _FLOWS, _FLOW_EVICTIONS; the
 *   rules follow as in SET_FILTER (chunks of at most MESHWG_FILTER_CHUNK
 *   prefixes, later chunks with MESHWG_RULE_F_CONTINUE), each first chunk
 *   with _INDEX, _PACKETS and _BYTES.
 */

#define MESHWG_FILTER_NO_RULE 0xffffffffU
/* Largest number of _SRC plus _DST a dump puts in one rule nest. */
#define MESHWG_FILTER_CHUNK 256

enum meshwg_filter_action {
	MESHWG_FILTER_ACCEPT = 1,
	MESHWG_FILTER_DENY = 2,
};

enum meshwg_rule_flag {
	MESHWG_RULE_F_ANY_PROTO = 1U << 0,	/* every IP protocol; no _PROTOS */
	MESHWG_RULE_F_CONTINUE = 1U << 1,	/* more _SRC/_DST of the previous rule */
	__MESHWG_RULE_F_ALL = MESHWG_RULE_F_ANY_PROTO | MESHWG_RULE_F_CONTINUE
};

/* MESHWG_RULE_A_SRC: a prefix with its host bits zero. */
struct meshwg_filter_prefix {
	__u16 family;		/* AF_INET or AF_INET6 */
	__u8 cidr;		/* <= 32 or <= 128 */
	__u8 pad;		/* zero */
	__u8 addr[16];		/* network order; IPv4 in the first 4 bytes */
};

/* MESHWG_RULE_A_DST: a prefix and an inclusive destination port range. */
struct meshwg_filter_dst {
	struct meshwg_filter_prefix prefix;
	__u16 first_port;	/* host order */
	__u16 last_port;	/* host order, >= first_port */
};

enum meshwg_filter_attribute {
	MESHWG_FILTER_A_UNSPEC,
	MESHWG_FILTER_A_IFINDEX,	/* NLA_U32 */
	MESHWG_FILTER_A_IFNAME,		/* NLA_NUL_STRING, IFNAMSIZ - 1 */
	MESHWG_FILTER_A_VERSION,	/* NLA_U64, opaque to the kernel */
	MESHWG_FILTER_A_RULE,		/* NLA_NESTED meshwg_rule_attribute, repeated */
	MESHWG_FILTER_A_INSTALLED,	/* NLA_U8, get only: 1 if a ruleset is */
	MESHWG_FILTER_A_DROPS,		/* NLA_U64, get only: packets the ACL dropped */
	MESHWG_FILTER_A_MALFORMED,	/* NLA_U64, get only: of which malformed */
	MESHWG_FILTER_A_FLOWS,		/* NLA_U32, get only: live tracked flows */
	MESHWG_FILTER_A_FLOW_EVICTIONS,	/* NLA_U64, get only: live flows pushed out */
	MESHWG_FILTER_A_PAD,
	__MESHWG_FILTER_A_LAST
};
#define MESHWG_FILTER_A_MAX (__MESHWG_FILTER_A_LAST - 1)

enum meshwg_rule_attribute {
	MESHWG_RULE_A_UNSPEC,
	MESHWG_RULE_A_ACTION,		/* NLA_U8, meshwg_filter_action */
	MESHWG_RULE_A_FLAGS,		/* NLA_U32, meshwg_rule_flag */
	MESHWG_RULE_A_PROTOS,		/* NLA_BINARY, u8 protocol numbers, none = TCP, UDP, ICMP, ICMPv6 */
	MESHWG_RULE_A_SRC,		/* struct meshwg_filter_prefix, repeated */
	MESHWG_RULE_A_DST,		/* struct meshwg_filter_dst, repeated */
	MESHWG_RULE_A_INDEX,		/* NLA_U32, get only */
	MESHWG_RULE_A_PACKETS,		/* NLA_U64, get only */
	MESHWG_RULE_A_BYTES,		/* NLA_U64, get only */
	MESHWG_RULE_A_PAD,
	__MESHWG_RULE_A_LAST
};
#define MESHWG_RULE_A_MAX (__MESHWG_RULE_A_LAST - 1)

#endif /* _UAPI_LINUX_MESHWG_H */
