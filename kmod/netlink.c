// SPDX-License-Identifier: GPL-2.0
/*
 * The "meshwg" generic netlink family: device and peer configuration
 * (GET_DEVICE dump, SET_DEVICE), the agent datagram commands, and the two
 * multicast groups. docs/netlink.md is the reference for clients.
 */
#include "netlink.h"
#include "device.h"
#include "peer.h"
#include "socket.h"
#include "queueing.h"
#include "messages.h"
#include "agent.h"
#include "compat.h"
#include "filter.h"

#include <uapi/linux/meshwg.h>
#include <linux/if.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <crypto/algapi.h>
#include <crypto/curve25519.h>

static const struct nla_policy device_get_policy[MESHWG_DEVICE_A_IFNAME + 1] = {
	[MESHWG_DEVICE_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_DEVICE_A_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

/* Attributes not listed (the counters, PUBLIC_KEY) are get-only: refused. */
static const struct nla_policy device_set_policy[MESHWG_DEVICE_A_MAX + 1] = {
	[MESHWG_DEVICE_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_DEVICE_A_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[MESHWG_DEVICE_A_PRIVATE_KEY]	= NLA_POLICY_EXACT_LEN(MESHWG_KEY_LEN),
	[MESHWG_DEVICE_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __MESHWG_DEVICE_F_ALL),
	[MESHWG_DEVICE_A_LISTEN_PORT]	= { .type = NLA_U16 },
	[MESHWG_DEVICE_A_FWMARK]	= { .type = NLA_U32 },
	[MESHWG_DEVICE_A_PEERS]		= { .type = NLA_NESTED },
};

static const struct nla_policy peer_policy[MESHWG_PEER_A_MAX + 1] = {
	[MESHWG_PEER_A_PUBLIC_KEY]	= NLA_POLICY_EXACT_LEN(MESHWG_KEY_LEN),
	[MESHWG_PEER_A_PRESHARED_KEY]	= NLA_POLICY_EXACT_LEN(MESHWG_KEY_LEN),
	[MESHWG_PEER_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __MESHWG_PEER_F_ALL),
	[MESHWG_PEER_A_ENDPOINT]	= NLA_POLICY_MIN_LEN(sizeof(struct sockaddr_in)),
	[MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { .type = NLA_U16 },
	[MESHWG_PEER_A_ALLOWEDIPS]	= { .type = NLA_NESTED },
	[MESHWG_PEER_A_PROTOCOL_VERSION] = NLA_POLICY_RANGE(NLA_U32, 1, 1),
	[MESHWG_PEER_A_RELAY_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy allowedip_policy[MESHWG_ALLOWEDIP_A_MAX + 1] = {
	[MESHWG_ALLOWEDIP_A_FAMILY]	= { .type = NLA_U16 },
	[MESHWG_ALLOWEDIP_A_IPADDR]	= NLA_POLICY_MIN_LEN(sizeof(struct in_addr)),
	[MESHWG_ALLOWEDIP_A_CIDR_MASK]	= { .type = NLA_U8 },
	[MESHWG_ALLOWEDIP_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, __MESHWG_ALLOWEDIP_F_ALL),
};

static const struct nla_policy send_datagram_policy[MESHWG_AGENT_A_MAX + 1] = {
	[MESHWG_AGENT_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_AGENT_A_IFNAME]		= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[MESHWG_AGENT_A_ADDR]		= NLA_POLICY_MIN_LEN(sizeof(struct sockaddr_in)),
	[MESHWG_AGENT_A_PAYLOAD]	= { .type = NLA_BINARY, .len = MESHWG_MAX_DATAGRAM },
};

static const struct nla_policy inject_datagram_policy[MESHWG_AGENT_A_MAX + 1] = {
	[MESHWG_AGENT_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_AGENT_A_IFNAME]		= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[MESHWG_AGENT_A_RELAY_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
	[MESHWG_AGENT_A_PAYLOAD]	= { .type = NLA_BINARY, .len = MESHWG_MAX_DATAGRAM },
	[MESHWG_AGENT_A_PUBLIC_KEY]	= NLA_POLICY_EXACT_LEN(MESHWG_KEY_LEN),
};

struct mwg_device *mwg_netlink_lookup_device(struct net *net,
					     const struct nlattr *ifindex,
					     const struct nlattr *ifname,
					     struct netlink_ext_ack *extack)
{
	struct net_device *dev = NULL;

	if (!ifindex == !ifname) {
		NL_SET_ERR_MSG(extack, "exactly one of IFINDEX and IFNAME is required");
		return ERR_PTR(-EINVAL);
	}
	if (ifindex)
		dev = dev_get_by_index(net, nla_get_u32(ifindex));
	else
		dev = dev_get_by_name(net, nla_data(ifname));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ? ifindex : ifname,
				    "no such interface");
		return ERR_PTR(-ENODEV);
	}
	if (!mwg_is_device(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ? ifindex : ifname,
				    "not a meshwg interface");
		dev_put(dev);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return netdev_priv(dev);
}

/* GET_DEVICE */

/*
 * Dump state kept between messages. next_peer (with a reference) is the
 * peer to emit next; if partial, its attributes were already sent and only
 * its public key and the allowed IPs from cursor on remain.
 */
struct dump_ctx {
	struct mwg_device *wg;
	struct mwg_peer *next_peer;
	struct allowedips_cursor cursor;
	bool partial;
	bool finished;
};

#define DUMP_CTX(cb) ((struct dump_ctx *)(cb)->ctx)

static int put_u64(struct sk_buff *skb, int attr, int pad, atomic64_t *v)
{
	return nla_put_u64_64bit(skb, attr, atomic64_read(v), pad);
}

static int put_allowedip(void *ctx, const u8 ip[16], u8 cidr, int family)
{
	struct sk_buff *skb = ctx;
	struct nlattr *nest = nla_nest_start(skb, 0);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u8(skb, MESHWG_ALLOWEDIP_A_CIDR_MASK, cidr) ||
	    nla_put_u16(skb, MESHWG_ALLOWEDIP_A_FAMILY, family) ||
	    nla_put(skb, MESHWG_ALLOWEDIP_A_IPADDR,
		    family == AF_INET6 ? sizeof(struct in6_addr) :
					 sizeof(struct in_addr), ip)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_peer_attrs(struct sk_buff *skb, struct mwg_peer *peer)
{
	struct __kernel_timespec last_handshake = {
		.tv_sec = peer->walltime_last_handshake.tv_sec,
		.tv_nsec = peer->walltime_last_handshake.tv_nsec
	};
	struct mwg_endpoint endpoint;
	int fail;

	down_read(&peer->handshake.lock);
	fail = nla_put(skb, MESHWG_PEER_A_PRESHARED_KEY, NOISE_SYMMETRIC_KEY_LEN,
		       peer->handshake.preshared_key);
	up_read(&peer->handshake.lock);
	if (fail)
		return -EMSGSIZE;

	if (nla_put(skb, MESHWG_PEER_A_LAST_HANDSHAKE_TIME,
		    sizeof(last_handshake), &last_handshake) ||
	    nla_put_u16(skb, MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			peer->persistent_keepalive_interval) ||
	    put_u64(skb, MESHWG_PEER_A_TX_BYTES, MESHWG_PEER_A_PAD,
		    &peer->tx_bytes) ||
	    put_u64(skb, MESHWG_PEER_A_RX_BYTES, MESHWG_PEER_A_PAD,
		    &peer->rx_bytes) ||
	    put_u64(skb, MESHWG_PEER_A_TX_PACKETS, MESHWG_PEER_A_PAD,
		    &peer->tx_packets) ||
	    put_u64(skb, MESHWG_PEER_A_RX_PACKETS, MESHWG_PEER_A_PAD,
		    &peer->rx_packets) ||
	    put_u64(skb, MESHWG_PEER_A_DROPS_NO_KEY, MESHWG_PEER_A_PAD,
		    &peer->drops_no_key) ||
	    put_u64(skb, MESHWG_PEER_A_DROPS_REPLAY, MESHWG_PEER_A_PAD,
		    &peer->drops_replay) ||
	    put_u64(skb, MESHWG_PEER_A_DROPS_ALLOWEDIPS, MESHWG_PEER_A_PAD,
		    &peer->drops_allowedips) ||
	    put_u64(skb, MESHWG_PEER_A_DROPS_INVALID, MESHWG_PEER_A_PAD,
		    &peer->drops_invalid) ||
	    put_u64(skb, MESHWG_PEER_A_HANDSHAKE_ATTEMPTS, MESHWG_PEER_A_PAD,
		    &peer->handshake_attempts) ||
	    put_u64(skb, MESHWG_PEER_A_DROPS_ACL, MESHWG_PEER_A_PAD,
		    &peer->drops_acl) ||
	    nla_put_u32(skb, MESHWG_PEER_A_PROTOCOL_VERSION, 1))
		return -EMSGSIZE;

	read_lock_bh(&peer->endpoint_lock);
	endpoint = peer->endpoint;
	read_unlock_bh(&peer->endpoint_lock);
	if (endpoint.relay_id)
		fail = nla_put_u32(skb, MESHWG_PEER_A_RELAY_ID, endpoint.relay_id);
	else if (endpoint.addr.sa_family == AF_INET)
		fail = nla_put(skb, MESHWG_PEER_A_ENDPOINT,
			       sizeof(endpoint.addr4), &endpoint.addr4);
	else if (endpoint.addr.sa_family == AF_INET6)
		fail = nla_put(skb, MESHWG_PEER_A_ENDPOINT,
			       sizeof(endpoint.addr6), &endpoint.addr6);
	return fail ? -EMSGSIZE : 0;
}

/* Emits (the rest of) one peer. -EMSGSIZE: continue it in the next message. */
static int get_peer(struct mwg_peer *peer, struct sk_buff *skb,
		    struct dump_ctx *ctx)
{
	struct nlattr *peer_nest, *allowedips_nest;
	int ret;

	peer_nest = nla_nest_start(skb, 0);
	if (!peer_nest)
		return -EMSGSIZE;
	if (nla_put(skb, MESHWG_PEER_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
		    peer->handshake.remote_static))
		goto cancel;
	if (!ctx->partial && put_peer_attrs(skb, peer))
		goto cancel;

	if (!list_empty(&peer->allowedips_list)) {
		allowedips_nest = nla_nest_start(skb, MESHWG_PEER_A_ALLOWEDIPS);
		if (!allowedips_nest)
			goto cancel;
		ret = mwg_allowedips_walk_by_peer(&peer->device->peer_allowedips,
						  &ctx->cursor, peer,
						  put_allowedip, skb,
						  &peer->device->device_update_lock);
		nla_nest_end(skb, allowedips_nest);
		if (ret == -EMSGSIZE) {
			nla_nest_end(skb, peer_nest);
			ctx->partial = true;
			return -EMSGSIZE;
		}
		/*
		 * -ESTALE: the table changed under the dump; the dump is
		 * flagged NLM_F_DUMP_INTR through device_update_gen.
		 */
	}
	nla_nest_end(skb, peer_nest);
	ctx->partial = false;
	memset(&ctx->cursor, 0, sizeof(ctx->cursor));
	return 0;

cancel:
	nla_nest_cancel(skb, peer_nest);
	return -EMSGSIZE;
}

static int get_device_attrs(struct sk_buff *skb, struct mwg_device *wg)
{
	int fail = 0;

	if (nla_put_u32(skb, MESHWG_DEVICE_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_string(skb, MESHWG_DEVICE_A_IFNAME, wg->dev->name) ||
	    nla_put_u16(skb, MESHWG_DEVICE_A_LISTEN_PORT, wg->incoming_port) ||
	    nla_put_u32(skb, MESHWG_DEVICE_A_FWMARK, wg->fwmark) ||
	    put_u64(skb, MESHWG_DEVICE_A_RX_INVALID, MESHWG_DEVICE_A_PAD,
		    &wg->rx_invalid) ||
	    put_u64(skb, MESHWG_DEVICE_A_RX_RATELIMITED, MESHWG_DEVICE_A_PAD,
		    &wg->rx_ratelimited) ||
	    put_u64(skb, MESHWG_DEVICE_A_AGENT_RX, MESHWG_DEVICE_A_PAD,
		    &wg->agent_rx) ||
	    put_u64(skb, MESHWG_DEVICE_A_AGENT_RX_DROPS, MESHWG_DEVICE_A_PAD,
		    &wg->agent_rx_drops) ||
	    put_u64(skb, MESHWG_DEVICE_A_AGENT_TX, MESHWG_DEVICE_A_PAD,
		    &wg->agent_tx) ||
	    put_u64(skb, MESHWG_DEVICE_A_RELAY_TX_DROPS, MESHWG_DEVICE_A_PAD,
		    &wg->relay_tx_drops))
		return -EMSGSIZE;

	down_read(&wg->static_identity.lock);
	if (wg->static_identity.has_identity)
		fail = nla_put(skb, MESHWG_DEVICE_A_PRIVATE_KEY,
			       NOISE_PUBLIC_KEY_LEN,
			       wg->static_identity.static_private) ||
		       nla_put(skb, MESHWG_DEVICE_A_PUBLIC_KEY,
			       NOISE_PUBLIC_KEY_LEN,
			       wg->static_identity.static_public);
	up_read(&wg->static_identity.lock);
	return fail ? -EMSGSIZE : 0;
}

static int mwg_get_device_start(struct netlink_callback *cb)
{
	struct nlattr *tb[MESHWG_DEVICE_A_IFNAME + 1];
	struct mwg_device *wg;
	int ret;

	ret = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, MESHWG_DEVICE_A_IFNAME,
			  device_get_policy, cb->extack);
	if (ret < 0)
		return ret;
	wg = mwg_netlink_lookup_device(sock_net(cb->skb->sk),
				       tb[MESHWG_DEVICE_A_IFINDEX],
				       tb[MESHWG_DEVICE_A_IFNAME], cb->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	BUILD_BUG_ON(sizeof(struct dump_ctx) > sizeof(cb->ctx));
	memset(DUMP_CTX(cb), 0, sizeof(struct dump_ctx));
	DUMP_CTX(cb)->wg = wg;
	return 0;
}

static int mwg_get_device_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dump_ctx *ctx = DUMP_CTX(cb);
	struct mwg_device *wg = ctx->wg;
	struct mwg_peer *peer, *resume = NULL;
	struct nlattr *peers_nest;
	bool first, done = true;
	int ret = 0;
	void *hdr;

	if (!wg || ctx->finished)
		return 0;

	rtnl_lock();
	mutex_lock(&wg->device_update_lock);
	cb->seq = wg->device_update_gen;
	first = !ctx->next_peer && !ctx->partial;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &mwg_genl_family, NLM_F_MULTI,
			  MESHWG_CMD_GET_DEVICE);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto out;
	}
	genl_dump_check_consistent(cb, hdr);

	if (first && !ctx->finished) {
		/* Device attributes go in the first message only. */
		ret = get_device_attrs(skb, wg);
		if (ret)
			goto out_cancel;
	} else if (nla_put_u32(skb, MESHWG_DEVICE_A_IFINDEX, wg->dev->ifindex)) {
		ret = -EMSGSIZE;
		goto out_cancel;
	}

	peers_nest = nla_nest_start(skb, MESHWG_DEVICE_A_PEERS);
	if (!peers_nest) {
		ret = -EMSGSIZE;
		goto out_cancel;
	}

	/*
	 * The cursor peer was removed since the last message: stop here.
	 * device_update_gen changed, so userspace sees NLM_F_DUMP_INTR.
	 */
	if (ctx->next_peer && (list_empty(&ctx->next_peer->peer_list) ||
			       READ_ONCE(ctx->next_peer->is_dead)))
		goto peers_done;

	peer = ctx->next_peer ?: list_first_entry(&wg->peer_list,
						   struct mwg_peer, peer_list);
	list_for_each_entry_from(peer, &wg->peer_list, peer_list) {
		if (get_peer(peer, skb, ctx)) {
			done = false;
			resume = peer;
			break;
		}
	}
peers_done:
	nla_nest_end(skb, peers_nest);
	genlmsg_end(skb, hdr);

	if (resume != ctx->next_peer) {
		if (resume)
			mwg_peer_get(resume);
		mwg_peer_put(ctx->next_peer);
		ctx->next_peer = resume;
	}
	if (done) {
		ctx->finished = true;
		ctx->partial = false;
	}
	mutex_unlock(&wg->device_update_lock);
	rtnl_unlock();
	return skb->len;

out_cancel:
	genlmsg_cancel(skb, hdr);
out:
	mutex_unlock(&wg->device_update_lock);
	rtnl_unlock();
	/* Nothing fit in an empty message: give up rather than loop. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret;
}

static int mwg_get_device_done(struct netlink_callback *cb)
{
	struct dump_ctx *ctx = DUMP_CTX(cb);

	if (ctx->wg) {
		mwg_peer_put(ctx->next_peer);
		dev_put(ctx->wg->dev);
	}
	memset(ctx, 0, sizeof(*ctx));
	return 0;
}

/* SET_DEVICE */

int mwg_netlink_validate_sockaddr(const struct nlattr *attr,
				  struct netlink_ext_ack *extack)
{
	const struct sockaddr *addr = nla_data(attr);

	if ((nla_len(attr) == sizeof(struct sockaddr_in) &&
	     addr->sa_family == AF_INET) ||
	    (nla_len(attr) == sizeof(struct sockaddr_in6) &&
	     addr->sa_family == AF_INET6))
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "address must be a sockaddr_in (AF_INET) or sockaddr_in6 (AF_INET6)");
	return -EINVAL;
}

static int validate_allowedip(const struct nlattr *attr,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHWG_ALLOWEDIP_A_MAX + 1];
	u16 family;
	u8 cidr;
	int ret;

	ret = nla_parse_nested(tb, MESHWG_ALLOWEDIP_A_MAX, attr,
			       allowedip_policy, extack);
	if (ret < 0)
		return ret;
	if (!tb[MESHWG_ALLOWEDIP_A_FAMILY] || !tb[MESHWG_ALLOWEDIP_A_IPADDR] ||
	    !tb[MESHWG_ALLOWEDIP_A_CIDR_MASK]) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "allowed IP needs FAMILY, IPADDR and CIDR_MASK");
		return -EINVAL;
	}
	family = nla_get_u16(tb[MESHWG_ALLOWEDIP_A_FAMILY]);
	cidr = nla_get_u8(tb[MESHWG_ALLOWEDIP_A_CIDR_MASK]);
	if (family == AF_INET) {
		if (nla_len(tb[MESHWG_ALLOWEDIP_A_IPADDR]) != sizeof(struct in_addr))
			goto bad_len;
		if (cidr > 32)
			goto bad_cidr;
	} else if (family == AF_INET6) {
		if (nla_len(tb[MESHWG_ALLOWEDIP_A_IPADDR]) != sizeof(struct in6_addr))
			goto bad_len;
		if (cidr > 128)
			goto bad_cidr;
	} else {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHWG_ALLOWEDIP_A_FAMILY],
				    "family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	return 0;
bad_len:
	NL_SET_ERR_MSG_ATTR(extack, tb[MESHWG_ALLOWEDIP_A_IPADDR],
			    "address length does not match the family");
	return -EINVAL;
bad_cidr:
	NL_SET_ERR_MSG_ATTR(extack, tb[MESHWG_ALLOWEDIP_A_CIDR_MASK],
			    "prefix length too long for the family");
	return -EINVAL;
}

static int validate_peer(const struct nlattr *attr,
			 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHWG_PEER_A_MAX + 1], *ip;
	int ret, rem;

	ret = nla_parse_nested(tb, MESHWG_PEER_A_MAX, attr, peer_policy,
			       extack);
	if (ret < 0)
		return ret;
	if (!tb[MESHWG_PEER_A_PUBLIC_KEY]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "peer without PUBLIC_KEY");
		return -EINVAL;
	}
	/*
	 * A public key of low order is accepted, as upstream does (wg(8)
	 * configurations carry such peers): its static-static DH is zero, so
	 * no handshake with it is ever sent or accepted (noise.c).
	 */
	if (tb[MESHWG_PEER_A_ENDPOINT] && tb[MESHWG_PEER_A_RELAY_ID]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHWG_PEER_A_RELAY_ID],
				    "ENDPOINT and RELAY_ID are exclusive");
		return -EINVAL;
	}
	if (tb[MESHWG_PEER_A_ENDPOINT]) {
		ret = mwg_netlink_validate_sockaddr(tb[MESHWG_PEER_A_ENDPOINT], extack);
		if (ret)
			return ret;
	}
	if (tb[MESHWG_PEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip, tb[MESHWG_PEER_A_ALLOWEDIPS], rem) {
			ret = validate_allowedip(ip, extack);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int set_allowedip(struct mwg_peer *peer, struct nlattr *attr)
{
	struct nlattr *tb[MESHWG_ALLOWEDIP_A_MAX + 1];
	struct mwg_device *wg = peer->device;
	u32 flags = 0;
	u16 family;
	u8 cidr;
	int ret;

	/* Already validated. */
	ret = nla_parse_nested(tb, MESHWG_ALLOWEDIP_A_MAX, attr,
			       allowedip_policy, NULL);
	if (ret < 0)
		return ret;
	family = nla_get_u16(tb[MESHWG_ALLOWEDIP_A_FAMILY]);
	cidr = nla_get_u8(tb[MESHWG_ALLOWEDIP_A_CIDR_MASK]);
	if (tb[MESHWG_ALLOWEDIP_A_FLAGS])
		flags = nla_get_u32(tb[MESHWG_ALLOWEDIP_A_FLAGS]);

	if (family == AF_INET) {
		const struct in_addr *ip = nla_data(tb[MESHWG_ALLOWEDIP_A_IPADDR]);

		if (flags & MESHWG_ALLOWEDIP_F_REMOVE_ME)
			return mwg_allowedips_remove_v4(&wg->peer_allowedips, ip,
							cidr, peer,
							&wg->device_update_lock);
		return mwg_allowedips_insert_v4(&wg->peer_allowedips, ip, cidr,
						peer, &wg->device_update_lock);
	}
	if (flags & MESHWG_ALLOWEDIP_F_REMOVE_ME)
		return mwg_allowedips_remove_v6(&wg->peer_allowedips,
				nla_data(tb[MESHWG_ALLOWEDIP_A_IPADDR]), cidr,
				peer, &wg->device_update_lock);
	return mwg_allowedips_insert_v6(&wg->peer_allowedips,
			nla_data(tb[MESHWG_ALLOWEDIP_A_IPADDR]), cidr, peer,
			&wg->device_update_lock);
}

/*
 * Peers removed by REMOVE_ME go on dead and are freed by the caller once the
 * whole request is applied.
 */
static int set_peer(struct mwg_device *wg, struct nlattr *attr,
		    struct list_head *dead, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHWG_PEER_A_MAX + 1], *ip;
	u8 *public_key, *preshared_key = NULL;
	struct mwg_peer *peer = NULL;
	u32 flags = 0;
	int ret, rem;

	ret = nla_parse_nested(tb, MESHWG_PEER_A_MAX, attr, peer_policy, NULL);
	if (ret < 0)
		return ret;
	public_key = nla_data(tb[MESHWG_PEER_A_PUBLIC_KEY]);
	if (tb[MESHWG_PEER_A_PRESHARED_KEY])
		preshared_key = nla_data(tb[MESHWG_PEER_A_PRESHARED_KEY]);
	if (tb[MESHWG_PEER_A_FLAGS])
		flags = nla_get_u32(tb[MESHWG_PEER_A_FLAGS]);

	peer = mwg_pubkey_hashtable_lookup(wg->peer_hashtable, public_key);
	if (!peer) {
		if (flags & (MESHWG_PEER_F_REMOVE_ME | MESHWG_PEER_F_UPDATE_ONLY))
			goto out;
		/* A new peer has no allowed IPs to replace. */
		flags &= ~MESHWG_PEER_F_REPLACE_ALLOWEDIPS;

		down_read(&wg->static_identity.lock);
		if (wg->static_identity.has_identity &&
		    !memcmp(public_key, wg->static_identity.static_public,
			    NOISE_PUBLIC_KEY_LEN)) {
			/*
			 * Our own key: ignored, so that one config can be
			 * pushed to every node of a mesh.
			 */
			up_read(&wg->static_identity.lock);
			goto out;
		}
		up_read(&wg->static_identity.lock);

		peer = mwg_peer_create(wg, public_key, preshared_key);
		if (IS_ERR(peer)) {
			ret = PTR_ERR(peer);
			peer = NULL;
			if (ret == -E2BIG)
				NL_SET_ERR_MSG_ATTR(extack, attr, "too many peers");
			else
				NL_SET_ERR_MSG_ATTR(extack, attr,
						    "could not allocate peer");
			goto out;
		}
		/* As though looked up: the list holds its own reference. */
		mwg_peer_get(peer);
	}

	if (flags & MESHWG_PEER_F_REMOVE_ME) {
		mwg_peer_remove_deferred(peer, dead);
		goto out;
	}

	if (preshared_key) {
		down_write(&peer->handshake.lock);
		memcpy(&peer->handshake.preshared_key, preshared_key,
		       NOISE_SYMMETRIC_KEY_LEN);
		up_write(&peer->handshake.lock);
	}

	if (tb[MESHWG_PEER_A_ENDPOINT]) {
		struct mwg_endpoint endpoint = { 0 };
		const struct sockaddr *addr =
			nla_data(tb[MESHWG_PEER_A_ENDPOINT]);

		if (addr->sa_family == AF_INET)
			endpoint.addr4 = *(const struct sockaddr_in *)addr;
		else
			endpoint.addr6 = *(const struct sockaddr_in6 *)addr;
		mwg_socket_set_peer_endpoint(peer, &endpoint);
	} else if (tb[MESHWG_PEER_A_RELAY_ID]) {
		struct mwg_endpoint endpoint = {
			.relay_id = nla_get_u32(tb[MESHWG_PEER_A_RELAY_ID])
		};

		mwg_socket_set_peer_endpoint(peer, &endpoint);
	}

	if (flags & MESHWG_PEER_F_REPLACE_ALLOWEDIPS)
		mwg_allowedips_remove_by_peer(&wg->peer_allowedips, peer,
					      &wg->device_update_lock);

	if (tb[MESHWG_PEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip, tb[MESHWG_PEER_A_ALLOWEDIPS], rem) {
			ret = set_allowedip(peer, ip);
			if (ret < 0) {
				NL_SET_ERR_MSG_ATTR(extack, ip,
						    "could not apply allowed IP");
				goto out;
			}
		}
	}

	if (tb[MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
		const u16 interval = nla_get_u16(
			tb[MESHWG_PEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
		const bool send_keepalive =
			!peer->persistent_keepalive_interval && interval &&
			netif_running(wg->dev);

		WRITE_ONCE(peer->persistent_keepalive_interval, interval);
		if (send_keepalive)
			mwg_packet_send_keepalive(peer);
	}

	if (netif_running(wg->dev))
		mwg_packet_send_staged_packets(peer);

out:
	mwg_peer_put(peer);
	if (tb[MESHWG_PEER_A_PRESHARED_KEY])
		memzero_explicit(nla_data(tb[MESHWG_PEER_A_PRESHARED_KEY]),
				 nla_len(tb[MESHWG_PEER_A_PRESHARED_KEY]));
	return ret;
}

static int set_port(struct mwg_device *wg, u16 port)
{
	struct mwg_peer *peer;

	if (wg->incoming_port == port)
		return 0;
	if (!netif_running(wg->dev)) {
		wg->incoming_port = port;
		goto clear_src;
	}
	{
		int ret = mwg_socket_init(wg, port);

		if (ret)
			return ret;
	}
clear_src:
	list_for_each_entry(peer, &wg->peer_list, peer_list)
		mwg_socket_clear_peer_endpoint_src(peer);
	return 0;
}

static void set_private_key(struct mwg_device *wg, const u8 *private_key)
{
	u8 public_key[NOISE_PUBLIC_KEY_LEN], clamped[NOISE_PUBLIC_KEY_LEN];
	struct mwg_peer *peer, *temp;
	bool unchanged, send_staged;

	/*
	 * The stored key is clamped: compare a clamped copy, or a client that
	 * pushes the same unclamped key again (a setconf or syncconf, keys
	 * from a generic random source) would recompute every peer's static
	 * DH and throw away every session each time.
	 */
	memcpy(clamped, private_key, sizeof(clamped));
	curve25519_clamp_secret(clamped);
	unchanged = !crypto_memneq(wg->static_identity.static_private, clamped,
				   sizeof(clamped));
	memzero_explicit(clamped, sizeof(clamped));
	if (unchanged)
		return;

	/* A peer with our new public key would be ourselves: remove it. */
	if (curve25519_generate_public(public_key, private_key)) {
		peer = mwg_pubkey_hashtable_lookup(wg->peer_hashtable,
						   public_key);
		if (peer) {
			mwg_peer_put(peer);
			mwg_peer_remove(peer);
		}
	}

	down_write(&wg->static_identity.lock);
	send_staged = !wg->static_identity.has_identity &&
		      netif_running(wg->dev);
	mwg_noise_set_static_identity_private_key(&wg->static_identity,
						  private_key);
	send_staged = send_staged && wg->static_identity.has_identity;
	/*
	 * Sessions of the old key stop sending, and the next packet to a peer
	 * starts a handshake at once (the expiry resets the last-sent time).
	 * No initiation is sent for them from here: the peer may not know the
	 * new key yet, and one sent now would hold the next back for
	 * REKEY_TIMEOUT. What waited for a first key (packets, persistent
	 * keepalives of an interface that is up) goes now.
	 */
	list_for_each_entry_safe(peer, temp, &wg->peer_list, peer_list) {
		mwg_noise_precompute_static_static(peer);
		mwg_noise_expire_current_peer_keypairs(peer);
		if (send_staged)
			mwg_packet_send_staged_packets(peer);
	}
	mwg_cookie_checker_precompute_device_keys(&wg->cookie_checker);
	up_write(&wg->static_identity.lock);
	memzero_explicit(public_key, sizeof(public_key));
}

static int mwg_set_device(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct netlink_ext_ack *extack = info->extack;
	LIST_HEAD(dead_peers);
	struct mwg_device *wg;
	struct mwg_peer *peer;
	struct nlattr *attr;
	u32 flags = 0;
	int ret, rem;

	wg = mwg_netlink_lookup_device(genl_info_net(info),
				       attrs[MESHWG_DEVICE_A_IFINDEX],
				       attrs[MESHWG_DEVICE_A_IFNAME], extack);
	if (IS_ERR(wg)) {
		ret = PTR_ERR(wg);
		goto out_nodev;
	}

	/* Validate everything before changing anything. */
	if (attrs[MESHWG_DEVICE_A_FLAGS])
		flags = nla_get_u32(attrs[MESHWG_DEVICE_A_FLAGS]);
	if (attrs[MESHWG_DEVICE_A_PEERS]) {
		nla_for_each_nested(attr, attrs[MESHWG_DEVICE_A_PEERS], rem) {
			ret = validate_peer(attr, extack);
			if (ret)
				goto out_put;
		}
	}
	/* Both act in the netns of the sockets. */
	if ((attrs[MESHWG_DEVICE_A_LISTEN_PORT] || attrs[MESHWG_DEVICE_A_FWMARK]) &&
	    !mwg_device_creating_net_capable(wg, skb)) {
		NL_SET_ERR_MSG(extack, "LISTEN_PORT and FWMARK need CAP_NET_ADMIN in the interface's creating netns");
		ret = -EPERM;
		goto out_put;
	}

	rtnl_lock();
	mutex_lock(&wg->device_update_lock);

	/* The one device-level step that can fail: first. */
	if (attrs[MESHWG_DEVICE_A_LISTEN_PORT]) {
		ret = set_port(wg, nla_get_u16(attrs[MESHWG_DEVICE_A_LISTEN_PORT]));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[MESHWG_DEVICE_A_LISTEN_PORT],
					    "could not bind the listen port");
			goto out;
		}
	}

	++wg->device_update_gen;

	if (attrs[MESHWG_DEVICE_A_FWMARK]) {
		wg->fwmark = nla_get_u32(attrs[MESHWG_DEVICE_A_FWMARK]);
		list_for_each_entry(peer, &wg->peer_list, peer_list)
			mwg_socket_clear_peer_endpoint_src(peer);
	}

	if (flags & MESHWG_DEVICE_F_REPLACE_PEERS)
		mwg_peer_remove_all(wg);

	if (attrs[MESHWG_DEVICE_A_PRIVATE_KEY])
		set_private_key(wg, nla_data(attrs[MESHWG_DEVICE_A_PRIVATE_KEY]));

	ret = 0;
	if (attrs[MESHWG_DEVICE_A_PEERS]) {
		nla_for_each_nested(attr, attrs[MESHWG_DEVICE_A_PEERS], rem) {
			ret = set_peer(wg, attr, &dead_peers, extack);
			if (ret < 0)
				break;
		}
	}
	/* One grace period for every peer this request removed. */
	mwg_peer_remove_dead(wg, &dead_peers);

out:
	mutex_unlock(&wg->device_update_lock);
	rtnl_unlock();
out_put:
	dev_put(wg->dev);
out_nodev:
	if (attrs[MESHWG_DEVICE_A_PRIVATE_KEY])
		memzero_explicit(nla_data(attrs[MESHWG_DEVICE_A_PRIVATE_KEY]),
				 nla_len(attrs[MESHWG_DEVICE_A_PRIVATE_KEY]));
	return ret;
}

static const struct genl_ops genl_ops[] = {
	{
		.cmd = MESHWG_CMD_GET_DEVICE,
		.start = mwg_get_device_start,
		.dumpit = mwg_get_device_dump,
		.done = mwg_get_device_done,
		.policy = device_get_policy,
		.maxattr = MESHWG_DEVICE_A_IFNAME,
		/* Admin only: the reply carries the private key. */
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_SET_DEVICE,
		.doit = mwg_set_device,
		.policy = device_set_policy,
		.maxattr = MESHWG_DEVICE_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_SEND_DATAGRAM,
		.doit = mwg_agent_send_datagram,
		.policy = send_datagram_policy,
		.maxattr = MESHWG_AGENT_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_INJECT_DATAGRAM,
		.doit = mwg_agent_inject_datagram,
		.policy = inject_datagram_policy,
		.maxattr = MESHWG_AGENT_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_SET_FILTER,
		.doit = mwg_filter_nl_set,
		.policy = mwg_filter_set_policy,
		.maxattr = MESHWG_FILTER_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_GET_FILTER,
		.start = mwg_filter_nl_dump_start,
		.dumpit = mwg_filter_nl_dump,
		.done = mwg_filter_nl_dump_done,
		.policy = mwg_filter_get_policy,
		.maxattr = MESHWG_FILTER_A_IFNAME,
		.flags = GENL_UNS_ADMIN_PERM
	}, {
		.cmd = MESHWG_CMD_CLEAR_FILTER,
		.doit = mwg_filter_nl_clear,
		.policy = mwg_filter_get_policy,
		.maxattr = MESHWG_FILTER_A_IFNAME,
		.flags = GENL_UNS_ADMIN_PERM
	}
};

static const struct genl_multicast_group genl_mcgrps[] = {
	[MWG_MCGRP_AGENT] = { .name = MESHWG_MCGRP_AGENT, MWG_MCGRP_ADMIN_ONLY },
	[MWG_MCGRP_EVENTS] = { .name = MESHWG_MCGRP_EVENTS, MWG_MCGRP_ADMIN_ONLY },
};

struct genl_family mwg_genl_family __ro_after_init = {
	.ops = genl_ops,
	.n_ops = ARRAY_SIZE(genl_ops),
	.mcgrps = genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(genl_mcgrps),
	.name = MESHWG_GENL_NAME,
	.version = MESHWG_GENL_VERSION,
	.module = THIS_MODULE,
	.netnsok = true
};

int __init mwg_genetlink_init(void)
{
	return genl_register_family(&mwg_genl_family);
}

void __exit mwg_genetlink_uninit(void)
{
	genl_unregister_family(&mwg_genl_family);
}
