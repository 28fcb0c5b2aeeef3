// SPDX-License-Identifier: GPL-2.0
/*
 * The device's UDP sockets. One IPv4 and one IPv6 socket share the listen
 * port; both live in the netns that created the device, even if the device
 * moves. Peers have a sticky source address (the local address their last
 * packet was sent to) that is kept until routing says otherwise.
 */
#include "device.h"
#include "peer.h"
#include "socket.h"
#include "queueing.h"
#include "messages.h"
#include "agent.h"

#include <linux/ctype.h>
#include <linux/net.h>
#include <linux/if_vlan.h>
#include <linux/if_ether.h>
#include <linux/inetdevice.h>
#include <net/udp_tunnel.h>
#include <net/ipv6.h>
#include <net/ipv6_stubs.h>
#include <net/addrconf.h>
#include <net/route.h>
#include <net/ip6_route.h>

static int send4(struct mwg_device *wg, struct sk_buff *skb,
		 struct mwg_endpoint *endpoint, u8 ds,
		 struct dst_cache *cache)
{
	struct flowi4 fl = {
		.saddr = endpoint->src4.s_addr,
		.daddr = endpoint->addr4.sin_addr.s_addr,
		.fl4_dport = endpoint->addr4.sin_port,
		.flowi4_mark = wg->fwmark,
		.flowi4_proto = IPPROTO_UDP
	};
	struct rtable *rt = NULL;
	struct sock *sock;
	int ret = 0;

	skb_mark_not_on_list(skb);
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;

	rcu_read_lock_bh();
	sock = rcu_dereference_bh(wg->sock4);
	if (unlikely(!sock)) {
		ret = -ENONET;
		goto err;
	}
	fl.fl4_sport = inet_sk(sock)->inet_sport;

	if (cache)
		rt = dst_cache_get_ip4(cache, &fl.saddr);

	if (!rt) {
		security_sk_classify_flow(sock, flowi4_to_flowi_common(&fl));
		/* The sticky source went away: forget it. */
		if (unlikely(fl.saddr &&
			     !inet_confirm_addr(sock_net(sock), NULL, 0,
						fl.saddr, RT_SCOPE_HOST))) {
			endpoint->src4.s_addr = 0;
			endpoint->src_if4 = 0;
			fl.saddr = 0;
			if (cache)
				dst_cache_reset(cache);
		}
		rt = ip_route_output_flow(sock_net(sock), &fl, sock);
		/* Or routing no longer sends it out the interface it came in. */
		if (unlikely(endpoint->src_if4 &&
			     ((IS_ERR(rt) && PTR_ERR(rt) == -EINVAL) ||
			      (!IS_ERR(rt) &&
			       rt->dst.dev->ifindex != endpoint->src_if4)))) {
			endpoint->src4.s_addr = 0;
			endpoint->src_if4 = 0;
			fl.saddr = 0;
			if (cache)
				dst_cache_reset(cache);
			if (!IS_ERR(rt))
				ip_rt_put(rt);
			rt = ip_route_output_flow(sock_net(sock), &fl, sock);
		}
		if (IS_ERR(rt)) {
			ret = PTR_ERR(rt);
			net_dbg_ratelimited("%s: No route to %pISpfsc, error %d\n",
					    wg->dev->name, &endpoint->addr, ret);
			goto err;
		}
		if (cache)
			dst_cache_set_ip4(cache, &rt->dst, fl.saddr);
	}

	skb->ignore_df = 1;
	udp_tunnel_xmit_skb(rt, sock, skb, fl.saddr, fl.daddr, ds,
			    ip4_dst_hoplimit(&rt->dst), 0, fl.fl4_sport,
			    fl.fl4_dport, false, false);
	goto out;

err:
	kfree_skb(skb);
out:
	rcu_read_unlock_bh();
	return ret;
}

static int send6(struct mwg_device *wg, struct sk_buff *skb,
		 struct mwg_endpoint *endpoint, u8 ds,
		 struct dst_cache *cache)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct flowi6 fl = {
		.saddr = endpoint->src6,
		.daddr = endpoint->addr6.sin6_addr,
		.fl6_dport = endpoint->addr6.sin6_port,
		.flowi6_mark = wg->fwmark,
		.flowi6_oif = endpoint->addr6.sin6_scope_id,
		/*
		 * No flow label (sin6_flowinfo is left out), as upstream: the
		 * lookup and the packets carry none.
		 */
		.flowi6_proto = IPPROTO_UDP
	};
	struct dst_entry *dst = NULL;
	struct sock *sock;
	int ret = 0;

	skb_mark_not_on_list(skb);
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;

	rcu_read_lock_bh();
	sock = rcu_dereference_bh(wg->sock6);
	if (unlikely(!sock)) {
		ret = -ENONET;
		goto err;
	}
	fl.fl6_sport = inet_sk(sock)->inet_sport;

	if (cache)
		dst = dst_cache_get_ip6(cache, &fl.saddr);

	if (!dst) {
		security_sk_classify_flow(sock, flowi6_to_flowi_common(&fl));
		if (unlikely(!ipv6_addr_any(&fl.saddr) &&
			     !ipv6_chk_addr(sock_net(sock), &fl.saddr, NULL, 0))) {
			endpoint->src6 = fl.saddr = in6addr_any;
			if (cache)
				dst_cache_reset(cache);
		}
		dst = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sock), sock, &fl,
						      NULL);
		if (IS_ERR(dst)) {
			ret = PTR_ERR(dst);
			net_dbg_ratelimited("%s: No route to %pISpfsc, error %d\n",
					    wg->dev->name, &endpoint->addr, ret);
			goto err;
		}
		if (cache)
			dst_cache_set_ip6(cache, dst, &fl.saddr);
	}

	skb->ignore_df = 1;
	udp_tunnel6_xmit_skb(dst, sock, skb, skb->dev, &fl.saddr, &fl.daddr, ds,
			     ip6_dst_hoplimit(dst), 0, fl.fl6_sport,
			     fl.fl6_dport, false);
	goto out;

err:
	kfree_skb(skb);
out:
	rcu_read_unlock_bh();
	return ret;
#else
	kfree_skb(skb);
	return -EAFNOSUPPORT;
#endif
}

int mwg_socket_send_skb_to_peer(struct mwg_peer *peer, struct sk_buff *skb,
				u8 ds)
{
	size_t skb_len = skb->len;
	int ret = -EAFNOSUPPORT;
	u32 relay_id;

	read_lock_bh(&peer->endpoint_lock);
	relay_id = peer->endpoint.relay_id;
	if (relay_id)
		ret = mwg_agent_relay_send_skb(peer->device, peer, relay_id,
					       skb);
	else if (peer->endpoint.addr.sa_family == AF_INET)
		ret = send4(peer->device, skb, &peer->endpoint, ds,
			    &peer->endpoint_cache);
	else if (peer->endpoint.addr.sa_family == AF_INET6)
		ret = send6(peer->device, skb, &peer->endpoint, ds,
			    &peer->endpoint_cache);
	else
		dev_kfree_skb(skb);
	if (likely(!ret)) {
		atomic64_add(skb_len, &peer->tx_bytes);
		atomic64_inc(&peer->tx_packets);
	}
	read_unlock_bh(&peer->endpoint_lock);

	return ret;
}

static struct sk_buff *skb_from_buffer(const void *buffer, size_t len)
{
	struct sk_buff *skb = alloc_skb(len + SKB_HEADER_LEN, GFP_ATOMIC);

	if (unlikely(!skb))
		return NULL;
	skb_reserve(skb, SKB_HEADER_LEN);
	skb_set_inner_network_header(skb, 0);
	skb_put_data(skb, buffer, len);
	return skb;
}

int mwg_socket_send_buffer_to_peer(struct mwg_peer *peer, void *buffer,
				   size_t len, u8 ds)
{
	struct sk_buff *skb = skb_from_buffer(buffer, len);

	if (unlikely(!skb))
		return -ENOMEM;
	return mwg_socket_send_skb_to_peer(peer, skb, ds);
}

int mwg_socket_send_buffer_as_reply_to_skb(struct mwg_device *wg,
					   struct sk_buff *in_skb, void *buffer,
					   size_t len)
{
	struct mwg_endpoint endpoint;
	struct sk_buff *skb;
	int ret;

	if (unlikely(!in_skb))
		return -EINVAL;
	ret = mwg_socket_endpoint_from_skb(&endpoint, in_skb);
	if (unlikely(ret < 0))
		return ret;
	if (endpoint.relay_id)
		return mwg_agent_relay_send(wg, NULL, endpoint.relay_id, buffer,
					    len);

	skb = skb_from_buffer(buffer, len);
	if (unlikely(!skb))
		return -ENOMEM;
	if (endpoint.addr.sa_family == AF_INET)
		ret = send4(wg, skb, &endpoint, 0, NULL);
	else if (endpoint.addr.sa_family == AF_INET6)
		ret = send6(wg, skb, &endpoint, 0, NULL);
	/* No other possibilities if the endpoint is valid, which it is. */
	return ret;
}

int mwg_socket_send_buffer_to_addr(struct mwg_device *wg,
				   const struct sockaddr *addr,
				   const void *data, size_t len)
{
	struct mwg_endpoint endpoint = { 0 };
	struct sk_buff *skb;

	if (addr->sa_family == AF_INET)
		endpoint.addr4 = *(const struct sockaddr_in *)addr;
	else if (addr->sa_family == AF_INET6)
		endpoint.addr6 = *(const struct sockaddr_in6 *)addr;
	else
		return -EAFNOSUPPORT;

	skb = skb_from_buffer(data, len);
	if (unlikely(!skb))
		return -ENOMEM;
	if (addr->sa_family == AF_INET)
		return send4(wg, skb, &endpoint, 0, NULL);
	return send6(wg, skb, &endpoint, 0, NULL);
}

int mwg_socket_endpoint_from_skb(struct mwg_endpoint *endpoint,
				 const struct sk_buff *skb)
{
	memset(endpoint, 0, sizeof(*endpoint));
	if (PACKET_CB(skb)->relay_id) {
		endpoint->relay_id = PACKET_CB(skb)->relay_id;
	} else if (skb->protocol == htons(ETH_P_IP)) {
		endpoint->addr4.sin_family = AF_INET;
		endpoint->addr4.sin_port = udp_hdr(skb)->source;
		endpoint->addr4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		endpoint->src4.s_addr = ip_hdr(skb)->daddr;
		endpoint->src_if4 = skb->skb_iif;
	} else if (IS_ENABLED(CONFIG_IPV6) &&
		   skb->protocol == htons(ETH_P_IPV6)) {
		endpoint->addr6.sin6_family = AF_INET6;
		endpoint->addr6.sin6_port = udp_hdr(skb)->source;
		endpoint->addr6.sin6_addr = ipv6_hdr(skb)->saddr;
		endpoint->addr6.sin6_scope_id = ipv6_iface_scope_id(
			&ipv6_hdr(skb)->saddr, skb->skb_iif);
		endpoint->src6 = ipv6_hdr(skb)->daddr;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Same remote (address, port, scope or relay)? */
static bool endpoint_eq_remote(const struct mwg_endpoint *a,
			       const struct mwg_endpoint *b)
{
	if (a->relay_id || b->relay_id)
		return a->relay_id == b->relay_id;
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       ipv6_addr_equal(&a->addr6.sin6_addr,
				       &b->addr6.sin6_addr) &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id;
	return true;
}

static bool endpoint_eq(const struct mwg_endpoint *a,
			const struct mwg_endpoint *b)
{
	if (!endpoint_eq_remote(a, b))
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->src4.s_addr == b->src4.s_addr &&
		       a->src_if4 == b->src_if4;
	if (a->addr.sa_family == AF_INET6)
		return ipv6_addr_equal(&a->src6, &b->src6);
	return true;
}

/*
 * A relayed packet never pulls a peer off a direct path: the relay is the
 * fallback, and the direct path is what disco found.
 */
static bool keeps_direct_path(const struct mwg_peer *peer,
			      const struct mwg_endpoint *endpoint,
			      bool from_packet)
{
	return from_packet && endpoint->relay_id &&
	       READ_ONCE(peer->endpoint.addr.sa_family);
}

/* Returns true if the remote part changed. */
static bool set_peer_endpoint(struct mwg_peer *peer,
			      const struct mwg_endpoint *endpoint,
			      bool from_packet)
{
	bool remote_changed = false;

	/*
	 * Cheap unlocked checks first: the common cases are "no change" and,
	 * for every packet a relay delivers while a direct path is set,
	 * "keep the direct path"; neither may cost the write lock. A writer
	 * racing with them is caught by the checks under the lock.
	 */
	if (endpoint_eq(endpoint, &peer->endpoint) ||
	    keeps_direct_path(peer, endpoint, from_packet))
		return false;
	write_lock_bh(&peer->endpoint_lock);
	if (keeps_direct_path(peer, endpoint, from_packet))
		goto out;
	remote_changed = !endpoint_eq_remote(endpoint, &peer->endpoint);
	peer->endpoint = *endpoint;
	dst_cache_reset(&peer->endpoint_cache);
out:
	write_unlock_bh(&peer->endpoint_lock);
	return remote_changed;
}

void mwg_socket_set_peer_endpoint(struct mwg_peer *peer,
				  const struct mwg_endpoint *endpoint)
{
	set_peer_endpoint(peer, endpoint, false);
}

/* Roaming: the source of an authenticated packet becomes the endpoint. */
void mwg_socket_set_peer_endpoint_from_packet(struct mwg_peer *peer,
					      const struct mwg_endpoint *endpoint)
{
	if (set_peer_endpoint(peer, endpoint, true))
		mwg_agent_event_endpoint_changed(peer);
}

void mwg_socket_set_peer_endpoint_from_skb(struct mwg_peer *peer,
					   const struct sk_buff *skb)
{
	struct mwg_endpoint endpoint;

	if (!mwg_socket_endpoint_from_skb(&endpoint, skb))
		mwg_socket_set_peer_endpoint_from_packet(peer, &endpoint);
}

void mwg_socket_clear_peer_endpoint_src(struct mwg_peer *peer)
{
	write_lock_bh(&peer->endpoint_lock);
	memset(&peer->endpoint.src6, 0, sizeof(peer->endpoint.src6));
	dst_cache_reset_now(&peer->endpoint_cache);
	write_unlock_bh(&peer->endpoint_lock);
}

static int mwg_receive(struct sock *sk, struct sk_buff *skb)
{
	struct mwg_device *wg;

	if (unlikely(!sk))
		goto err;
	wg = sk->sk_user_data;
	if (unlikely(!wg))
		goto err;
	skb_mark_not_on_list(skb);
	PACKET_CB(skb)->relay_id = 0;
	mwg_packet_receive(wg, skb);
	return 0;

err:
	kfree_skb(skb);
	return 0;
}

static void sock_free(struct sock *sock)
{
	if (unlikely(!sock))
		return;
	sk_clear_memalloc(sock);
	udp_tunnel_sock_release(sock->sk_socket);
}

static void set_sock_opts(struct socket *sock)
{
	sock->sk->sk_allocation = GFP_ATOMIC;
	sock->sk->sk_sndbuf = INT_MAX;
	sk_set_memalloc(sock->sk);
}

int mwg_socket_init(struct mwg_device *wg, u16 port)
{
	struct udp_tunnel_sock_cfg cfg = {
		.sk_user_data = wg,
		.encap_type = 1,
		.encap_rcv = mwg_receive
	};
	struct socket *new4 = NULL, *new6 = NULL;
	struct udp_port_cfg port4 = {
		.family = AF_INET,
		.local_ip.s_addr = htonl(INADDR_ANY),
		.local_udp_port = htons(port),
		.use_udp_checksums = true
	};
#if IS_ENABLED(CONFIG_IPV6)
	int retries = 0;
	struct udp_port_cfg port6 = {
		.family = AF_INET6,
		.local_ip6 = IN6ADDR_ANY_INIT,
		.use_udp6_tx_checksums = true,
		.use_udp6_rx_checksums = true,
		.ipv6_v6only = true
	};
#endif
	struct net *net;
	int ret;

	rcu_read_lock();
	net = rcu_dereference(wg->creating_net);
	net = net ? maybe_get_net(net) : NULL;
	rcu_read_unlock();
	if (unlikely(!net))
		return -ENONET;

#if IS_ENABLED(CONFIG_IPV6)
retry:
#endif

	ret = udp_sock_create(net, &port4, &new4);
	if (ret < 0) {
		pr_err("%s: Could not create IPv4 socket\n", wg->dev->name);
		goto out;
	}
	set_sock_opts(new4);
	setup_udp_tunnel_sock(net, new4, &cfg);

#if IS_ENABLED(CONFIG_IPV6)
	if (ipv6_mod_enabled()) {
		port6.local_udp_port = inet_sk(new4->sk)->inet_sport;
		ret = udp_sock_create(net, &port6, &new6);
		if (ret < 0) {
			udp_tunnel_sock_release(new4);
			/* A random v4 port may be taken in v6; try another. */
			if (ret == -EADDRINUSE && !port && retries++ < 100)
				goto retry;
			pr_err("%s: Could not create IPv6 socket\n",
			       wg->dev->name);
			goto out;
		}
		set_sock_opts(new6);
		setup_udp_tunnel_sock(net, new6, &cfg);
	}
#endif

	mwg_socket_reinit(wg, new4->sk, new6 ? new6->sk : NULL);
	ret = 0;
out:
	put_net(net);
	return ret;
}

void mwg_socket_reinit(struct mwg_device *wg, struct sock *new4,
		       struct sock *new6)
{
	struct sock *old4, *old6;

	mutex_lock(&wg->socket_update_lock);
	old4 = rcu_dereference_protected(wg->sock4,
				lockdep_is_held(&wg->socket_update_lock));
	old6 = rcu_dereference_protected(wg->sock6,
				lockdep_is_held(&wg->socket_update_lock));
	rcu_assign_pointer(wg->sock4, new4);
	rcu_assign_pointer(wg->sock6, new6);
	if (new4)
		wg->incoming_port = ntohs(inet_sk(new4)->inet_sport);
	mutex_unlock(&wg->socket_update_lock);
	synchronize_net();
	sock_free(old4);
	sock_free(old6);
}
