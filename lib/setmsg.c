// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Splitting SET_DEVICE into messages that fit; see setmsg.h. */

#include <errno.h>
#include <string.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "setmsg.h"

static size_t attr(size_t payload)
{
	return (size_t)nla_total_size((int)payload);
}

size_t setmsg_header_size(void)
{
	return NLMSG_HDRLEN + GENL_HDRLEN;
}

size_t setmsg_allowedip_size(const struct mw_allowedip *ip)
{
	return attr(0) + attr(2) + attr(ip->family == AF_INET6 ? 16 : 4) + attr(1);
}

static size_t endpoint_len(const struct mw_peer *peer)
{
	return peer->endpoint.addr.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
							    sizeof(struct sockaddr_in);
}

static uint32_t peer_nl_flags(const struct mw_peer *peer, bool continuing)
{
	uint32_t flags = 0;

	if (peer->flags & PEER_UPDATE_ONLY)
		flags |= MESHWG_PEER_F_UPDATE_ONLY;
	if (continuing)
		return flags;
	if (peer->flags & PEER_REMOVE_ME)
		flags |= MESHWG_PEER_F_REMOVE_ME;
	if (peer->flags & PEER_REPLACE_ALLOWEDIPS)
		flags |= MESHWG_PEER_F_REPLACE_ALLOWEDIPS;
	return flags;
}

/* The peer's nest with everything but its allowed IPs. */
static size_t peer_head_size(const struct mw_peer *peer, bool continuing)
{
	size_t size = attr(0) + attr(KEY_LEN);

	if (peer_nl_flags(peer, continuing))
		size += attr(4);
	if (continuing || (peer->flags & PEER_REMOVE_ME))
		return size;
	if (peer->flags & PEER_HAS_PRESHARED_KEY)
		size += attr(KEY_LEN);
	if (peer->flags & PEER_HAS_RELAY)
		size += attr(4);
	else if (peer->flags & PEER_HAS_ENDPOINT)
		size += attr(endpoint_len(peer));
	if (peer->flags & PEER_HAS_KEEPALIVE)
		size += attr(2);
	return size;
}

static size_t device_size(const struct mw_device *dev, const char *ifname, bool first)
{
	size_t size = setmsg_header_size() + attr(strlen(ifname) + 1);

	if (!first)
		return size;
	if (dev->flags & DEV_HAS_PRIVATE_KEY)
		size += attr(KEY_LEN);
	if (dev->flags & DEV_HAS_LISTEN_PORT)
		size += attr(2);
	if (dev->flags & DEV_HAS_FWMARK)
		size += attr(4);
	if (dev->flags & DEV_REPLACE_PEERS)
		size += attr(4);
	return size;
}

static const struct mw_allowedip *first_ip(const struct mw_peer *peer)
{
	return (peer->flags & PEER_REMOVE_ME) ? NULL : peer->first_allowedip;
}

void setmsg_start(struct setmsg_cursor *cur, const struct mw_device *dev)
{
	cur->peer = dev->first_peer;
	cur->ip = cur->peer ? first_ip(cur->peer) : NULL;
	cur->continuing = false;
	cur->first = true;
}

int setmsg_plan(const struct mw_device *dev, const char *ifname, const struct setmsg_cursor *from,
		size_t limit, struct setmsg_chunk *chunk)
{
	struct setmsg_cursor cur = *from;
	size_t size = device_size(dev, ifname, cur.first);

	memset(chunk, 0, sizeof(*chunk));
	chunk->from = *from;
	if (size > limit)
		return -EMSGSIZE;
	if (cur.peer)
		size += attr(0); /* MESHWG_DEVICE_A_PEERS */
	while (cur.peer) {
		size_t head = peer_head_size(cur.peer, cur.continuing);
		bool ips_open = false;

		if (size + head > limit)
			break;
		size += head;
		chunk->peers++;
		while (cur.ip) {
			size_t need = setmsg_allowedip_size(cur.ip) + (ips_open ? 0 : attr(0));

			if (size + need > limit)
				break;
			size += need;
			ips_open = true;
			chunk->ips++;
			cur.ip = cur.ip->next;
		}
		if (cur.ip) {
			/* This peer continues in the next message. */
			cur.continuing = true;
			break;
		}
		cur.peer = cur.peer->next;
		cur.ip = cur.peer ? first_ip(cur.peer) : NULL;
		cur.continuing = false;
	}
	if (chunk->peers == 0 && from->peer)
		return -EMSGSIZE;
	if (chunk->peers == 1 && chunk->ips == 0 && from->continuing)
		return -EMSGSIZE; /* no progress possible */
	/* An empty PEERS nest is still sent when only device attributes fit. */
	cur.first = false;
	chunk->to = cur;
	chunk->size = size;
	return 0;
}

static int put_peer_head(struct nl_msg *msg, const struct mw_peer *peer, bool continuing)
{
	uint32_t flags = peer_nl_flags(peer, continuing);

	if (nla_put(msg, MESHWG_PEER_A_PUBLIC_KEY, KEY_LEN, peer->public_key))
		return -EMSGSIZE;
	if (flags && nla_put_u32(msg, MESHWG_PEER_A_FLAGS, flags))
		return -EMSGSIZE;
	if (continuing || (peer->flags & PEER_REMOVE_ME))
		return 0;
	if ((peer->flags & PEER_HAS_PRESHARED_KEY) &&
	    nla_put(msg, MESHWG_PEER_A_PRESHARED_KEY, KEY_LEN, peer->preshared_key))
		return -EMSGSIZE;
	if (peer->flags & PEER_HAS_RELAY) {
		if (nla_put_u32(msg, MESHWG_PEER_A_RELAY_ID, peer->relay_id))
			return -EMSGSIZE;
	} else if ((peer->flags & PEER_HAS_ENDPOINT) &&
		   nla_put(msg, MESHWG_PEER_A_ENDPOINT, (int)endpoint_len(peer), &peer->endpoint)) {
		return -EMSGSIZE;
	}
	if ((peer->flags & PEER_HAS_KEEPALIVE) &&
	    nla_put_u16(msg, MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			peer->persistent_keepalive_interval))
		return -EMSGSIZE;
	return 0;
}

static int put_allowedip(struct nl_msg *msg, const struct mw_allowedip *ip)
{
	struct nlattr *nest = nla_nest_start(msg, 0);

	if (!nest || nla_put_u16(msg, MESHWG_ALLOWEDIP_A_FAMILY, ip->family) ||
	    nla_put(msg, MESHWG_ALLOWEDIP_A_IPADDR, ip->family == AF_INET6 ? 16 : 4,
		    ip->family == AF_INET6 ? (const void *)&ip->ip6 : (const void *)&ip->ip4) ||
	    nla_put_u8(msg, MESHWG_ALLOWEDIP_A_CIDR_MASK, ip->cidr))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int setmsg_build(const struct mw_device *dev, const char *ifname, const struct setmsg_chunk *chunk,
		 struct nl_msg *msg)
{
	struct setmsg_cursor cur = chunk->from;
	struct nlattr *peers, *peer_nest, *ips;
	size_t npeers = 0, nips = 0;

	if (nla_put_string(msg, MESHWG_DEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	if (cur.first) {
		if ((dev->flags & DEV_HAS_PRIVATE_KEY) &&
		    nla_put(msg, MESHWG_DEVICE_A_PRIVATE_KEY, KEY_LEN, dev->private_key))
			return -EMSGSIZE;
		if ((dev->flags & DEV_HAS_LISTEN_PORT) &&
		    nla_put_u16(msg, MESHWG_DEVICE_A_LISTEN_PORT, dev->listen_port))
			return -EMSGSIZE;
		if ((dev->flags & DEV_HAS_FWMARK) && nla_put_u32(msg, MESHWG_DEVICE_A_FWMARK, dev->fwmark))
			return -EMSGSIZE;
		if ((dev->flags & DEV_REPLACE_PEERS) &&
		    nla_put_u32(msg, MESHWG_DEVICE_A_FLAGS, MESHWG_DEVICE_F_REPLACE_PEERS))
			return -EMSGSIZE;
	}
	if (!cur.peer)
		return 0;
	peers = nla_nest_start(msg, MESHWG_DEVICE_A_PEERS);
	if (!peers)
		return -EMSGSIZE;
	while (npeers < chunk->peers && cur.peer) {
		peer_nest = nla_nest_start(msg, 0);
		if (!peer_nest || put_peer_head(msg, cur.peer, cur.continuing))
			return -EMSGSIZE;
		npeers++;
		ips = NULL;
		while (cur.ip && nips < chunk->ips) {
			if (!ips) {
				ips = nla_nest_start(msg, MESHWG_PEER_A_ALLOWEDIPS);
				if (!ips)
					return -EMSGSIZE;
			}
			if (put_allowedip(msg, cur.ip))
				return -EMSGSIZE;
			nips++;
			cur.ip = cur.ip->next;
		}
		if (ips)
			nla_nest_end(msg, ips);
		nla_nest_end(msg, peer_nest);
		if (cur.ip)
			break; /* continues in the next message */
		cur.peer = cur.peer->next;
		cur.ip = cur.peer ? first_ip(cur.peer) : NULL;
		cur.continuing = false;
	}
	nla_nest_end(msg, peers);
	return 0;
}
