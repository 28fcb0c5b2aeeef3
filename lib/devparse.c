// SPDX-License-Identifier: GPL-2.0 OR MIT
/* GET_DEVICE reply parsing and reassembly; see devparse.h. */

#include <errno.h>
#include <string.h>
#include <linux/time_types.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "devparse.h"

static bool key_is_zero_bytes(const uint8_t key[KEY_LEN])
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < KEY_LEN; ++i)
		acc |= key[i];
	return !acc;
}

static bool get_u64(const struct nlattr *a, uint64_t *out)
{
	if (nla_len(a) != sizeof(uint64_t))
		return false;
	*out = nla_get_u64((struct nlattr *)a);
	return true;
}

static bool get_u32(const struct nlattr *a, uint32_t *out)
{
	if (nla_len(a) != sizeof(uint32_t))
		return false;
	*out = nla_get_u32((struct nlattr *)a);
	return true;
}

static bool get_u16(const struct nlattr *a, uint16_t *out)
{
	if (nla_len(a) != sizeof(uint16_t))
		return false;
	*out = nla_get_u16((struct nlattr *)a);
	return true;
}

static bool get_key(const struct nlattr *a, uint8_t key[KEY_LEN])
{
	if (nla_len(a) != KEY_LEN)
		return false;
	memcpy(key, nla_data(a), KEY_LEN);
	return true;
}

static int parse_allowedip(const struct nlattr *nest, struct mw_peer *peer)
{
	struct nlattr *tb[MESHWG_ALLOWEDIP_A_MAX + 1];
	struct mw_allowedip *ip;
	uint16_t family;
	int len;

	if (nla_parse_nested(tb, MESHWG_ALLOWEDIP_A_MAX, (struct nlattr *)nest, NULL))
		return -EINVAL;
	if (!tb[MESHWG_ALLOWEDIP_A_FAMILY] || !tb[MESHWG_ALLOWEDIP_A_IPADDR] ||
	    !tb[MESHWG_ALLOWEDIP_A_CIDR_MASK] || !get_u16(tb[MESHWG_ALLOWEDIP_A_FAMILY], &family) ||
	    nla_len(tb[MESHWG_ALLOWEDIP_A_CIDR_MASK]) != 1)
		return -EINVAL;
	len = nla_len(tb[MESHWG_ALLOWEDIP_A_IPADDR]);
	if (!((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)))
		return -EINVAL;
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return -ENOMEM;
	ip->family = family;
	memcpy(family == AF_INET ? (void *)&ip->ip4 : (void *)&ip->ip6,
	       nla_data(tb[MESHWG_ALLOWEDIP_A_IPADDR]), (size_t)len);
	ip->cidr = nla_get_u8(tb[MESHWG_ALLOWEDIP_A_CIDR_MASK]);
	if (ip->cidr > (family == AF_INET ? 32 : 128)) {
		free(ip);
		return -EINVAL;
	}
	peer_append_allowedip(peer, ip);
	return 0;
}

struct mw_peer *devparse_peer(const struct nlattr *peer_nest, int *error)
{
	struct nlattr *tb[MESHWG_PEER_A_MAX + 1], *a;
	struct mw_peer *peer;
	int rem, ret = -EINVAL;

	if (nla_parse_nested(tb, MESHWG_PEER_A_MAX, (struct nlattr *)peer_nest, NULL))
		goto fail_noalloc;
	peer = calloc(1, sizeof(*peer));
	if (!peer) {
		ret = -ENOMEM;
		goto fail_noalloc;
	}
	if (!tb[MESHWG_PEER_A_PUBLIC_KEY] || !get_key(tb[MESHWG_PEER_A_PUBLIC_KEY], peer->public_key))
		goto fail;
	peer->flags |= PEER_HAS_PUBLIC_KEY;
	if ((a = tb[MESHWG_PEER_A_PRESHARED_KEY])) {
		if (!get_key(a, peer->preshared_key))
			goto fail;
		if (!key_is_zero_bytes(peer->preshared_key))
			peer->flags |= PEER_HAS_PRESHARED_KEY;
	}
	if ((a = tb[MESHWG_PEER_A_ENDPOINT])) {
		const struct sockaddr *sa = nla_data(a);
		int len = nla_len(a);

		if (len >= (int)sizeof(struct sockaddr_in) && sa->sa_family == AF_INET)
			memcpy(&peer->endpoint.addr4, sa, sizeof(struct sockaddr_in));
		else if (len >= (int)sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)
			memcpy(&peer->endpoint.addr6, sa, sizeof(struct sockaddr_in6));
		else
			goto fail;
		peer->flags |= PEER_HAS_ENDPOINT;
	}
	if ((a = tb[MESHWG_PEER_A_RELAY_ID])) {
		if (!get_u32(a, &peer->relay_id))
			goto fail;
		if (peer->relay_id)
			peer->flags |= PEER_HAS_RELAY;
	}
	if ((a = tb[MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
		if (!get_u16(a, &peer->persistent_keepalive_interval))
			goto fail;
		peer->flags |= PEER_HAS_KEEPALIVE;
	}
	if ((a = tb[MESHWG_PEER_A_LAST_HANDSHAKE_TIME])) {
		struct __kernel_timespec ts;

		if (nla_len(a) != sizeof(ts))
			goto fail;
		memcpy(&ts, nla_data(a), sizeof(ts));
		peer->last_handshake_time.tv_sec = (time_t)ts.tv_sec;
		peer->last_handshake_time.tv_nsec = (long)ts.tv_nsec;
	}
	if ((a = tb[MESHWG_PEER_A_RX_BYTES]) && !get_u64(a, &peer->rx_bytes))
		goto fail;
	if ((a = tb[MESHWG_PEER_A_TX_BYTES]) && !get_u64(a, &peer->tx_bytes))
		goto fail;
	if (tb[MESHWG_PEER_A_RX_PACKETS] || tb[MESHWG_PEER_A_TX_PACKETS]) {
		if ((a = tb[MESHWG_PEER_A_RX_PACKETS]) && !get_u64(a, &peer->rx_packets))
			goto fail;
		if ((a = tb[MESHWG_PEER_A_TX_PACKETS]) && !get_u64(a, &peer->tx_packets))
			goto fail;
		peer->flags |= PEER_HAS_PACKETS;
	}
	if (tb[MESHWG_PEER_A_DROPS_NO_KEY] || tb[MESHWG_PEER_A_DROPS_REPLAY] ||
	    tb[MESHWG_PEER_A_DROPS_ALLOWEDIPS] || tb[MESHWG_PEER_A_DROPS_INVALID] ||
	    tb[MESHWG_PEER_A_DROPS_ACL]) {
		if ((a = tb[MESHWG_PEER_A_DROPS_NO_KEY]) && !get_u64(a, &peer->drops_no_key))
			goto fail;
		if ((a = tb[MESHWG_PEER_A_DROPS_REPLAY]) && !get_u64(a, &peer->drops_replay))
			goto fail;
		if ((a = tb[MESHWG_PEER_A_DROPS_ALLOWEDIPS]) && !get_u64(a, &peer->drops_allowedips))
			goto fail;
		if ((a = tb[MESHWG_PEER_A_DROPS_INVALID]) && !get_u64(a, &peer->drops_invalid))
			goto fail;
		if ((a = tb[MESHWG_PEER_A_DROPS_ACL]) && !get_u64(a, &peer->drops_acl))
			goto fail;
		peer->flags |= PEER_HAS_DROPS;
	}
	if ((a = tb[MESHWG_PEER_A_HANDSHAKE_ATTEMPTS])) {
		if (!get_u64(a, &peer->handshake_attempts))
			goto fail;
		peer->flags |= PEER_HAS_ATTEMPTS;
	}
	if ((a = tb[MESHWG_PEER_A_ALLOWEDIPS])) {
		struct nlattr *ipattr;

		nla_for_each_nested(ipattr, a, rem) {
			ret = parse_allowedip(ipattr, peer);
			if (ret)
				goto fail;
		}
		ret = -EINVAL;
	}
	return peer;
fail:
	free_peer(peer);
fail_noalloc:
	if (error)
		*error = ret;
	return NULL;
}

void devparse_add_peer(struct mw_device *dev, struct mw_peer *frag)
{
	struct mw_peer *last = dev->last_peer;

	if (!last || memcmp(last->public_key, frag->public_key, KEY_LEN)) {
		device_append_peer(dev, frag);
		return;
	}
	if (frag->first_allowedip) {
		if (last->last_allowedip)
			last->last_allowedip->next = frag->first_allowedip;
		else
			last->first_allowedip = frag->first_allowedip;
		last->last_allowedip = frag->last_allowedip;
		frag->first_allowedip = frag->last_allowedip = NULL;
	}
	free_peer(frag);
}

int devparse_msg(struct mw_device *dev, struct nlmsghdr *nlh)
{
	struct nlattr *tb[MESHWG_DEVICE_A_MAX + 1], *a, *peer_nest;
	int rem, ret;

	if (genlmsg_parse(nlh, 0, tb, MESHWG_DEVICE_A_MAX, NULL))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_IFINDEX]) && !get_u32(a, &dev->ifindex))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_IFNAME])) {
		if (nla_len(a) < 1 || nla_len(a) > IFNAMSIZ)
			return -EINVAL;
		nla_strlcpy(dev->name, a, sizeof(dev->name));
	}
	if ((a = tb[MESHWG_DEVICE_A_PRIVATE_KEY])) {
		if (!get_key(a, dev->private_key))
			return -EINVAL;
		if (!key_is_zero_bytes(dev->private_key))
			dev->flags |= DEV_HAS_PRIVATE_KEY;
	}
	if ((a = tb[MESHWG_DEVICE_A_PUBLIC_KEY])) {
		if (!get_key(a, dev->public_key))
			return -EINVAL;
		if (!key_is_zero_bytes(dev->public_key))
			dev->flags |= DEV_HAS_PUBLIC_KEY;
	}
	if ((a = tb[MESHWG_DEVICE_A_LISTEN_PORT])) {
		if (!get_u16(a, &dev->listen_port))
			return -EINVAL;
		dev->flags |= DEV_HAS_LISTEN_PORT;
	}
	if ((a = tb[MESHWG_DEVICE_A_FWMARK])) {
		if (!get_u32(a, &dev->fwmark))
			return -EINVAL;
		dev->flags |= DEV_HAS_FWMARK;
	}
	if ((a = tb[MESHWG_DEVICE_A_RX_INVALID]) && !get_u64(a, &dev->rx_invalid))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_RX_RATELIMITED]) && !get_u64(a, &dev->rx_ratelimited))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_AGENT_RX]) && !get_u64(a, &dev->agent_rx))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_AGENT_RX_DROPS]) && !get_u64(a, &dev->agent_rx_drops))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_AGENT_TX]) && !get_u64(a, &dev->agent_tx))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_RELAY_TX_DROPS]) && !get_u64(a, &dev->relay_tx_drops))
		return -EINVAL;
	if ((a = tb[MESHWG_DEVICE_A_PEERS])) {
		nla_for_each_nested(peer_nest, a, rem) {
			struct mw_peer *peer = devparse_peer(peer_nest, &ret);

			if (!peer)
				return ret;
			devparse_add_peer(dev, peer);
		}
	}
	return 0;
}
