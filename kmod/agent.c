// SPDX-License-Identifier: GPL-2.0
/*
 * The agent channel (see uapi/linux/meshwg.h and docs/netlink.md).
 *
 * Kernel to agent, all on multicast groups that need CAP_NET_ADMIN to join:
 *   DATAGRAM        STUN or disco datagram that arrived on the device port
 *   RELAY_DATAGRAM  WireGuard datagram for a peer whose endpoint is a relay
 *   EVENT           handshake complete, endpoint changed, wants endpoint
 * Agent to kernel:
 *   SEND_DATAGRAM   any datagram, sent from the device's socket (which is in
 *                   the creating netns: CAP_NET_ADMIN is needed there)
 *   INJECT_DATAGRAM a WireGuard datagram received over a relay (acts on the
 *                   device in its current netns only)
 *
 * Nothing here may grow without bound: notifications are built with
 * GFP_ATOMIC (they come from softirq), skipped when nobody listens, paced by
 * token buckets (DATAGRAM per source address, so that one remote host cannot
 * crowd out the others' STUN and disco replies; RELAY_DATAGRAM per device),
 * capped in size, and every drop is counted.
 */
#include "agent.h"
#include "device.h"
#include "peer.h"
#include "socket.h"
#include "queueing.h"
#include "netlink.h"
#include "messages.h"
#include "ratelimiter.h"

#include <uapi/linux/meshwg.h>
#include <linux/ktime.h>
#include <linux/siphash.h>
#include <net/net_namespace.h>
#include <net/genetlink.h>

#define STUN_MAGIC_COOKIE 0x2112A442
#define STUN_HEADER_LEN 20
static const u8 disco_magic[] = { 'T', 'S', 0xf0, 0x9f, 0x92, 0xac };

/* Minimum time between two WANTS_ENDPOINT events for one peer. */
#define WANTS_ENDPOINT_INTERVAL HZ

void mwg_bucket_init(struct mwg_bucket *b)
{
	spin_lock_init(&b->lock);
	b->last_ns = ktime_get_coarse_boottime_ns();
	b->tokens = U64_MAX;	/* full, whatever the burst */
}

bool mwg_bucket_take(struct mwg_bucket *b, unsigned int rate,
		     unsigned int burst)
{
	u64 now = ktime_get_coarse_boottime_ns();
	bool ok;

	spin_lock_bh(&b->lock);
	ok = mwg_token_bucket_take(&b->tokens, &b->last_ns, now, rate, burst);
	spin_unlock_bh(&b->lock);
	return ok;
}

static int classify(const struct sk_buff *skb)
{
	if (skb->len >= STUN_HEADER_LEN && !(skb->data[0] & 0xc0) &&
	    get_unaligned_be32(skb->data + 4) == STUN_MAGIC_COOKIE)
		return MESHWG_DATAGRAM_STUN;
	if (skb->len >= sizeof(disco_magic) &&
	    !memcmp(skb->data, disco_magic, sizeof(disco_magic)))
		return MESHWG_DATAGRAM_DISCO;
	return 0;
}

static int put_sockaddr(struct sk_buff *msg, int attr,
			const struct mwg_endpoint *endpoint)
{
	if (endpoint->addr.sa_family == AF_INET)
		return nla_put(msg, attr, sizeof(endpoint->addr4),
			       &endpoint->addr4);
	if (endpoint->addr.sa_family == AF_INET6)
		return nla_put(msg, attr, sizeof(endpoint->addr6),
			       &endpoint->addr6);
	return 0;
}

static bool has_listeners(struct mwg_device *wg, unsigned int group)
{
	return genl_has_listeners(&mwg_genl_family, dev_net(wg->dev), group);
}

static void multicast(struct mwg_device *wg, struct sk_buff *msg,
		      unsigned int group)
{
	genlmsg_multicast_netns(&mwg_genl_family, dev_net(wg->dev), msg, 0,
				group, GFP_ATOMIC);
}

bool mwg_agent_receive(struct mwg_device *wg, struct sk_buff *skb)
{
	struct mwg_endpoint source;
	struct sk_buff *msg;
	struct nlattr *nla;
	void *hdr;
	int kind;

	kind = classify(skb);
	if (!kind) {
		atomic64_inc(&wg->rx_invalid);
		goto drop;
	}
	if (skb->len > MWG_AGENT_MAX_RX_PAYLOAD ||
	    !has_listeners(wg, MWG_MCGRP_AGENT) ||
	    mwg_socket_endpoint_from_skb(&source, skb) ||
	    !mwg_ratelimiter_allow_source(skb, wg, MWG_RATELIMIT_AGENT,
					  READ_ONCE(mwg_agent_rx_rate),
					  READ_ONCE(mwg_agent_rx_burst)))
		goto drop_counted;

	msg = genlmsg_new(nla_total_size(skb->len) + 128, GFP_ATOMIC);
	if (!msg)
		goto drop_counted;
	hdr = genlmsg_put(msg, 0, 0, &mwg_genl_family, 0, MESHWG_CMD_DATAGRAM);
	if (!hdr)
		goto nomem;
	if (nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, wg->dev->ifindex) ||
	    put_sockaddr(msg, MESHWG_AGENT_A_ADDR, &source) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_KIND, kind))
		goto nomem;
	nla = nla_reserve(msg, MESHWG_AGENT_A_PAYLOAD, skb->len);
	if (!nla || skb_copy_bits(skb, 0, nla_data(nla), skb->len))
		goto nomem;
	genlmsg_end(msg, hdr);
	multicast(wg, msg, MWG_MCGRP_AGENT);
	atomic64_inc(&wg->agent_rx);
	consume_skb(skb);
	return true;

nomem:
	nlmsg_free(msg);
drop_counted:
	atomic64_inc(&wg->agent_rx_drops);
drop:
	kfree_skb(skb);
	return false;
}

/* Builds a RELAY_DATAGRAM with room for len payload bytes at *payload. */
static struct sk_buff *relay_msg(struct mwg_device *wg, struct mwg_peer *peer,
				 u32 relay_id, size_t len, void **payload)
{
	struct sk_buff *msg;
	struct nlattr *nla;
	void *hdr;

	if (len > MESHWG_MAX_DATAGRAM || !has_listeners(wg, MWG_MCGRP_AGENT) ||
	    !mwg_bucket_take(&wg->relay_bucket, READ_ONCE(mwg_relay_rate),
			     READ_ONCE(mwg_relay_burst)))
		return NULL;
	msg = genlmsg_new(nla_total_size(len) + 128, GFP_ATOMIC);
	if (!msg)
		return NULL;
	hdr = genlmsg_put(msg, 0, 0, &mwg_genl_family, 0,
			  MESHWG_CMD_RELAY_DATAGRAM);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, relay_id))
		goto err;
	/* No peer for cookie replies: the sender is not authenticated yet. */
	if (peer && nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
			    peer->handshake.remote_static))
		goto err;
	nla = nla_reserve(msg, MESHWG_AGENT_A_PAYLOAD, len);
	if (!nla)
		goto err;
	*payload = nla_data(nla);
	genlmsg_end(msg, hdr);
	return msg;
err:
	nlmsg_free(msg);
	return NULL;
}

int mwg_agent_relay_send(struct mwg_device *wg, struct mwg_peer *peer,
			 u32 relay_id, const void *data, size_t len)
{
	struct sk_buff *msg;
	void *payload;

	msg = relay_msg(wg, peer, relay_id, len, &payload);
	if (!msg) {
		atomic64_inc(&wg->relay_tx_drops);
		return -ENOBUFS;
	}
	memcpy(payload, data, len);
	multicast(wg, msg, MWG_MCGRP_AGENT);
	return 0;
}

int mwg_agent_relay_send_skb(struct mwg_device *wg, struct mwg_peer *peer,
			     u32 relay_id, struct sk_buff *skb)
{
	struct sk_buff *msg;
	void *payload;

	msg = relay_msg(wg, peer, relay_id, skb->len, &payload);
	if (!msg || skb_copy_bits(skb, 0, payload, skb->len)) {
		if (msg)
			nlmsg_free(msg);
		atomic64_inc(&wg->relay_tx_drops);
		kfree_skb(skb);
		return -ENOBUFS;
	}
	multicast(wg, msg, MWG_MCGRP_AGENT);
	consume_skb(skb);
	return 0;
}

static void send_event(struct mwg_peer *peer, u32 event)
{
	struct mwg_device *wg = peer->device;
	struct mwg_endpoint endpoint;
	struct sk_buff *msg;
	void *hdr;

	if (!has_listeners(wg, MWG_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mwg_genl_family, 0, MESHWG_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_EVENT, event) ||
	    nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
		    peer->handshake.remote_static))
		goto err;
	if (event == MESHWG_EVENT_ENDPOINT_CHANGED) {
		read_lock_bh(&peer->endpoint_lock);
		endpoint = peer->endpoint;
		read_unlock_bh(&peer->endpoint_lock);
		if (endpoint.relay_id ?
		    nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, endpoint.relay_id) :
		    put_sockaddr(msg, MESHWG_AGENT_A_ADDR, &endpoint))
			goto err;
	}
	genlmsg_end(msg, hdr);
	multicast(wg, msg, MWG_MCGRP_EVENTS);
	return;
err:
	nlmsg_free(msg);
}

void mwg_agent_event_handshake_complete(struct mwg_peer *peer)
{
	send_event(peer, MESHWG_EVENT_HANDSHAKE_COMPLETE);
}

void mwg_agent_event_endpoint_changed(struct mwg_peer *peer)
{
	send_event(peer, MESHWG_EVENT_ENDPOINT_CHANGED);
}

void mwg_agent_event_wants_endpoint(struct mwg_peer *peer)
{
	unsigned long last = READ_ONCE(peer->last_wants_endpoint);

	if (time_before(jiffies, last + WANTS_ENDPOINT_INTERVAL))
		return;
	/* One winner per interval among concurrent senders. */
	if (cmpxchg(&peer->last_wants_endpoint, last, jiffies) != last)
		return;
	send_event(peer, MESHWG_EVENT_WANTS_ENDPOINT);
}

/* A destination: a sockaddr_in or sockaddr_in6 with a port. */
static int check_sockaddr(const struct nlattr *attr,
			  struct netlink_ext_ack *extack)
{
	const struct sockaddr *addr = nla_data(attr);
	int ret = mwg_netlink_validate_sockaddr(attr, extack);

	if (ret)
		return ret;
	if (addr->sa_family == AF_INET ?
	    !((const struct sockaddr_in *)addr)->sin_port :
	    !((const struct sockaddr_in6 *)addr)->sin6_port) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "address has port 0");
		return -EINVAL;
	}
	return 0;
}

int mwg_agent_send_datagram(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct mwg_device *wg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHWG_AGENT_A_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, MESHWG_AGENT_A_PAYLOAD))
		return -EINVAL;
	ret = check_sockaddr(attrs[MESHWG_AGENT_A_ADDR], info->extack);
	if (ret)
		return ret;
	wg = mwg_netlink_lookup_device(genl_info_net(info),
				       attrs[MESHWG_AGENT_A_IFINDEX],
				       attrs[MESHWG_AGENT_A_IFNAME],
				       info->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	/* The datagram leaves from a socket of the creating netns. */
	if (!mwg_device_creating_net_capable(wg, skb)) {
		NL_SET_ERR_MSG(info->extack, "SEND_DATAGRAM needs CAP_NET_ADMIN in the interface's creating netns");
		dev_put(wg->dev);
		return -EPERM;
	}

	ret = mwg_socket_send_buffer_to_addr(wg,
			nla_data(attrs[MESHWG_AGENT_A_ADDR]),
			nla_data(attrs[MESHWG_AGENT_A_PAYLOAD]),
			nla_len(attrs[MESHWG_AGENT_A_PAYLOAD]));
	if (ret == -ENONET) {
		NL_SET_ERR_MSG(info->extack, "interface is down: it has no socket");
		ret = -ENETDOWN;
	} else if (ret) {
		NL_SET_ERR_MSG(info->extack, "sending failed (no route?)");
	} else {
		atomic64_inc(&wg->agent_tx);
	}
	dev_put(wg->dev);
	return ret;
}

/*
 * Who sent an injected datagram, as far as the kernel can tell: the relay,
 * and the sender key the relay named (all zero if none). Keyed, so that a
 * sender cannot pick its way into another one's cookie or bucket.
 */
static u64 relay_sender(u32 relay_id, const struct nlattr *key)
{
	static siphash_key_t secret;
	struct {
		u8 key[NOISE_PUBLIC_KEY_LEN];
		u32 relay_id;
	} in = { .relay_id = relay_id };

	net_get_random_once(&secret, sizeof(secret));
	if (key)
		memcpy(in.key, nla_data(key), sizeof(in.key));
	return siphash(&in, sizeof(in), &secret);
}

int mwg_agent_inject_datagram(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct sk_buff *in;
	struct mwg_device *wg;
	u32 relay_id;
	size_t len;

	if (GENL_REQ_ATTR_CHECK(info, MESHWG_AGENT_A_RELAY_ID) ||
	    GENL_REQ_ATTR_CHECK(info, MESHWG_AGENT_A_PAYLOAD))
		return -EINVAL;
	len = nla_len(attrs[MESHWG_AGENT_A_PAYLOAD]);
	if (!mwg_message_header_len(nla_data(attrs[MESHWG_AGENT_A_PAYLOAD]),
				    len)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[MESHWG_AGENT_A_PAYLOAD],
				    "payload is not a WireGuard message");
		return -EINVAL;
	}
	wg = mwg_netlink_lookup_device(genl_info_net(info),
				       attrs[MESHWG_AGENT_A_IFINDEX],
				       attrs[MESHWG_AGENT_A_IFNAME],
				       info->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	if (!netif_running(wg->dev)) {
		NL_SET_ERR_MSG(info->extack, "interface is down");
		dev_put(wg->dev);
		return -ENETDOWN;
	}
	/* Like datagrams on the port: over its relay's budget, dropped. */
	relay_id = nla_get_u32(attrs[MESHWG_AGENT_A_RELAY_ID]);
	if (!mwg_ratelimiter_allow_key(relay_id, wg, MWG_RATELIMIT_INJECT,
				       READ_ONCE(mwg_inject_rate),
				       READ_ONCE(mwg_inject_burst))) {
		atomic64_inc(&wg->rx_ratelimited);
		dev_put(wg->dev);
		return 0;
	}

	in = alloc_skb(SKB_HEADER_LEN + len, GFP_KERNEL);
	if (!in) {
		dev_put(wg->dev);
		return -ENOMEM;
	}
	skb_reserve(in, SKB_HEADER_LEN);
	skb_put_data(in, nla_data(attrs[MESHWG_AGENT_A_PAYLOAD]), len);
	skb_reset_network_header(in);
	skb_reset_transport_header(in);
	in->protocol = 0;
	memset(in->cb, 0, sizeof(in->cb));
	PACKET_CB(in)->relay_id = relay_id;
	PACKET_CB(in)->relay_sender =
		relay_sender(relay_id, attrs[MESHWG_AGENT_A_PUBLIC_KEY]);

	/* The receive path expects softirq context. */
	local_bh_disable();
	mwg_packet_receive(wg, in);
	local_bh_enable();

	dev_put(wg->dev);
	return 0;
}
