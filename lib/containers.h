/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * In-memory form of a meshwg device as read from or written to the kernel.
 * Every object is heap-allocated and owned by its parent; free_device()
 * releases a whole tree.
 */
#ifndef MESHWG_CONTAINERS_H
#define MESHWG_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <time.h>

#include <linux/meshwg.h>

#define KEY_LEN MESHWG_KEY_LEN

struct mw_allowedip {
	uint16_t family;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
	uint8_t cidr;
	struct mw_allowedip *next;
};

enum {
	PEER_HAS_PUBLIC_KEY = 1U << 0,
	PEER_HAS_PRESHARED_KEY = 1U << 1,
	PEER_HAS_KEEPALIVE = 1U << 2,
	PEER_HAS_ENDPOINT = 1U << 3,	/* endpoint.addr is valid */
	PEER_HAS_RELAY = 1U << 4,	/* relay_id is valid */
	PEER_REMOVE_ME = 1U << 5,
	PEER_REPLACE_ALLOWEDIPS = 1U << 6,
	PEER_UPDATE_ONLY = 1U << 7,
	/* get only: which counters the kernel reported */
	PEER_HAS_PACKETS = 1U << 8,
	PEER_HAS_DROPS = 1U << 9,
	PEER_HAS_ATTEMPTS = 1U << 10,
};

union mw_endpoint {
	struct sockaddr addr;
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct mw_peer {
	uint32_t flags;
	uint8_t public_key[KEY_LEN];
	uint8_t preshared_key[KEY_LEN];
	union mw_endpoint endpoint;
	uint32_t relay_id;
	struct timespec last_handshake_time;
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_packets, tx_packets;
	uint64_t drops_no_key, drops_replay, drops_allowedips, drops_invalid, drops_acl;
	uint64_t handshake_attempts;
	uint16_t persistent_keepalive_interval;
	struct mw_allowedip *first_allowedip, *last_allowedip;
	struct mw_peer *next;
};

enum {
	DEV_HAS_PRIVATE_KEY = 1U << 0,
	DEV_HAS_PUBLIC_KEY = 1U << 1,
	DEV_HAS_LISTEN_PORT = 1U << 2,
	DEV_HAS_FWMARK = 1U << 3,
	DEV_REPLACE_PEERS = 1U << 4,
};

struct mw_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	uint32_t flags;
	uint8_t public_key[KEY_LEN];
	uint8_t private_key[KEY_LEN];
	uint32_t fwmark;
	uint16_t listen_port;
	uint64_t rx_invalid, rx_ratelimited;
	uint64_t agent_rx, agent_rx_drops, agent_tx, relay_tx_drops;
	struct mw_peer *first_peer, *last_peer;
};

#define for_each_peer(__dev, __peer) \
	for ((__peer) = (__dev)->first_peer; (__peer); (__peer) = (__peer)->next)
#define for_each_allowedip(__peer, __ip) \
	for ((__ip) = (__peer)->first_allowedip; (__ip); (__ip) = (__ip)->next)

static inline void free_peer(struct mw_peer *peer)
{
	struct mw_allowedip *ip, *next;

	if (!peer)
		return;
	for (ip = peer->first_allowedip; ip; ip = next) {
		next = ip->next;
		free(ip);
	}
	free(peer);
}

static inline void free_device(struct mw_device *dev)
{
	struct mw_peer *peer, *next;

	if (!dev)
		return;
	for (peer = dev->first_peer; peer; peer = next) {
		next = peer->next;
		free_peer(peer);
	}
	free(dev);
}

static inline void device_append_peer(struct mw_device *dev, struct mw_peer *peer)
{
	peer->next = NULL;
	if (dev->last_peer)
		dev->last_peer->next = peer;
	else
		dev->first_peer = peer;
	dev->last_peer = peer;
}

static inline void peer_append_allowedip(struct mw_peer *peer, struct mw_allowedip *ip)
{
	ip->next = NULL;
	if (peer->last_allowedip)
		peer->last_allowedip->next = ip;
	else
		peer->first_allowedip = ip;
	peer->last_allowedip = ip;
}

#endif
