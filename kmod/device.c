// SPDX-License-Identifier: GPL-2.0
/* The meshwg net_device: link ops, xmit, lifetime. */
#include "queueing.h"
#include "socket.h"
#include "timers.h"
#include "device.h"
#include "ratelimiter.h"
#include "peer.h"
#include "messages.h"
#include "agent.h"
#include "compat.h"

#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <linux/inet.h>
#include <linux/netdevice.h>
#include <linux/inetdevice.h>
#include <linux/netlink.h>
#include <linux/if_arp.h>
#include <linux/icmp.h>
#include <linux/suspend.h>
#include <linux/random.h>
#include <net/dst_metadata.h>
#include <net/icmp.h>
#include <net/rtnetlink.h>
#include <net/ip_tunnels.h>
#include <net/addrconf.h>
#include <net/net_namespace.h>

static LIST_HEAD(device_list);

static int mwg_open(struct net_device *dev)
{
	struct in_device *dev_v4 = __in_dev_get_rtnl(dev);
	struct inet6_dev *dev_v6 = __in6_dev_get(dev);
	struct mwg_device *wg = netdev_priv(dev);
	struct mwg_peer *peer;
	int ret;

	if (dev_v4) {
		/* No redirects: the other peers are not on a shared link. */
		IN_DEV_CONF_SET(dev_v4, SEND_REDIRECTS, false);
		IPV4_DEVCONF_ALL(dev_net(dev), SEND_REDIRECTS) = false;
	}
	if (dev_v6)
		dev_v6->cnf.addr_gen_mode = IN6_ADDR_GEN_MODE_NONE;

	mutex_lock(&wg->device_update_lock);
	ret = mwg_socket_init(wg, wg->incoming_port);
	if (ret < 0)
		goto out;
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		mwg_packet_send_staged_packets(peer);
		if (peer->persistent_keepalive_interval)
			mwg_packet_send_keepalive(peer);
	}
out:
	mutex_unlock(&wg->device_update_lock);
	return ret;
}

static int mwg_stop(struct net_device *dev)
{
	struct mwg_device *wg = netdev_priv(dev);
	struct mwg_peer *peer;
	struct sk_buff *skb;

	mutex_lock(&wg->device_update_lock);
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		mwg_packet_purge_staged_packets(peer);
		mwg_timers_stop(peer);
		mwg_noise_handshake_clear(&peer->handshake);
		mwg_noise_keypairs_clear(&peer->keypairs);
		mwg_noise_reset_last_sent_handshake(&peer->last_sent_handshake);
	}
	mutex_unlock(&wg->device_update_lock);
	while ((skb = ptr_ring_consume(&wg->handshake_queue.ring)) != NULL) {
		kfree_skb(skb);
		atomic_dec(&wg->handshake_queue_len);
	}
	mwg_socket_reinit(wg, NULL, NULL);
	return 0;
}

static void icmp_unreachable(struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else if (skb->protocol == htons(ETH_P_IPV6))
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH,
				0);
}

static netdev_tx_t mwg_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct mwg_device *wg = netdev_priv(dev);
	struct sk_buff_head packets;
	struct mwg_peer *peer;
	struct sk_buff *next;
	sa_family_t family;
	bool no_endpoint;
	u32 mtu;
	int ret;

	if (unlikely(!mwg_check_packet_protocol(skb))) {
		ret = -EPROTONOSUPPORT;
		net_dbg_ratelimited("%s: Invalid IP packet\n", dev->name);
		goto err;
	}

	peer = mwg_allowedips_lookup_dst(&wg->peer_allowedips, skb);
	if (unlikely(!peer)) {
		ret = -ENOKEY;
		net_dbg_ratelimited("%s: No peer has allowed IPs matching the destination\n",
				    dev->name);
		goto err_icmp;
	}

	family = READ_ONCE(peer->endpoint.addr.sa_family);
	no_endpoint = family != AF_INET && family != AF_INET6 &&
		      !READ_ONCE(peer->endpoint.relay_id);

	/* Outbound flows open the way for their return traffic. */
	mwg_filter_transmit(wg, peer, skb);

	mtu = skb_valid_dst(skb) ? dst_mtu(skb_dst(skb)) : dev->mtu;

	__skb_queue_head_init(&packets);
	if (!skb_is_gso(skb)) {
		skb_mark_not_on_list(skb);
	} else {
		struct sk_buff *segs = skb_gso_segment(skb, 0);

		if (IS_ERR(segs)) {
			ret = PTR_ERR(segs);
			goto err_peer;
		}
		dev_kfree_skb(skb);
		skb = segs;
	}

	skb_list_walk_safe(skb, skb, next) {
		skb_mark_not_on_list(skb);

		skb = skb_share_check(skb, GFP_ATOMIC);
		if (unlikely(!skb))
			continue;

		/* The inner route means nothing once encapsulated. */
		skb_dst_drop(skb);
		/* Waiting for an endpoint must not hold socket memory. */
		if (unlikely(no_endpoint))
			skb_orphan(skb);

		PACKET_CB(skb)->mtu = mtu;

		__skb_queue_tail(&packets, skb);
	}

	spin_lock_bh(&peer->staged_packet_queue.lock);
	/* Newest packets win; the oldest go when the stage is full. */
	skb_queue_splice_tail(&packets, &peer->staged_packet_queue);
	while (skb_queue_len(&peer->staged_packet_queue) > MAX_STAGED_PACKETS) {
		dev_kfree_skb(__skb_dequeue(&peer->staged_packet_queue));
		DEV_STATS_INC(dev, tx_dropped);
	}
	spin_unlock_bh(&peer->staged_packet_queue.lock);

	if (unlikely(no_endpoint))
		/* Kept staged until the agent gives the peer an endpoint. */
		mwg_agent_event_wants_endpoint(peer);
	else
		mwg_packet_send_staged_packets(peer);

	mwg_peer_put(peer);
	return NETDEV_TX_OK;

err_peer:
	mwg_peer_put(peer);
err_icmp:
	icmp_unreachable(skb);
err:
	DEV_STATS_INC(dev, tx_errors);
	kfree_skb(skb);
	return ret;
}

static const struct net_device_ops netdev_ops = {
	.ndo_open		= mwg_open,
	.ndo_stop		= mwg_stop,
	.ndo_start_xmit		= mwg_xmit,
	.ndo_get_stats64	= dev_get_tstats64
};

static void mwg_destruct(struct net_device *dev)
{
	struct mwg_device *wg = netdev_priv(dev);

	rtnl_lock();
	list_del(&wg->device_list);
	rtnl_unlock();
	mutex_lock(&wg->device_update_lock);
	rcu_assign_pointer(wg->creating_net, NULL);
	wg->incoming_port = 0;
	mwg_socket_reinit(wg, NULL, NULL);
	/* Peers first: they reference the tables and workqueues below. */
	mwg_peer_remove_all(wg);
	rcu_barrier(); /* Peer RCU frees refer to the index table. */
	destroy_workqueue(wg->handshake_receive_wq);
	destroy_workqueue(wg->handshake_send_wq);
	destroy_workqueue(wg->packet_crypt_wq);
	mwg_packet_queue_free(&wg->handshake_queue, true);
	mwg_packet_queue_free(&wg->decrypt_queue, false);
	mwg_packet_queue_free(&wg->encrypt_queue, false);
	rcu_barrier();
	mwg_filter_dev_uninit(&wg->acl);
	mwg_ratelimiter_uninit();
	memzero_explicit(&wg->static_identity, sizeof(wg->static_identity));
	mwg_index_hashtable_free(wg->index_hashtable);
	mwg_pubkey_hashtable_free(wg->peer_hashtable);
	mutex_unlock(&wg->device_update_lock);

	pr_debug("%s: Interface destroyed\n", dev->name);
	/* needs_free_netdev is not set: the net_device is ours to free. */
	free_netdev(dev);
}

static const struct device_type device_type = { .name = KBUILD_MODNAME };

static void mwg_setup(struct net_device *dev)
{
	struct mwg_device *wg = netdev_priv(dev);
	enum { MWG_NETDEV_FEATURES = NETIF_F_HW_CSUM | NETIF_F_RXCSUM |
				     NETIF_F_SG | NETIF_F_GSO |
				     NETIF_F_GSO_SOFTWARE | NETIF_F_HIGHDMA };
	/* IPv6 outer header: the worst case. */
	const int overhead = MESSAGE_MINIMUM_LENGTH + sizeof(struct udphdr) +
			     max(sizeof(struct ipv6hdr), sizeof(struct iphdr));

	dev->netdev_ops = &netdev_ops;
	dev->header_ops = &ip_tunnel_header_ops;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = DATA_PACKET_HEAD_ROOM;
	dev->needed_tailroom = noise_encrypted_len(MESSAGE_PADDING_MULTIPLE);
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	mwg_compat_set_lltx(dev);
	dev->features |= MWG_NETDEV_FEATURES;
	dev->hw_features |= MWG_NETDEV_FEATURES;
	dev->hw_enc_features |= MWG_NETDEV_FEATURES;
	dev->mtu = ETH_DATA_LEN - overhead;
	dev->max_mtu = round_down(INT_MAX, MESSAGE_PADDING_MULTIPLE) - overhead;
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;

	SET_NETDEV_DEVTYPE(dev, &device_type);

	/* We need to keep the dst around in case of icmp replies. */
	netif_keep_dst(dev);

	memset(wg, 0, sizeof(*wg));
	wg->dev = dev;
}

static int mwg_newlink(struct net *src_net, struct net_device *dev,
		       struct nlattr *tb[], struct nlattr *data[],
		       struct netlink_ext_ack *extack)
{
	struct mwg_device *wg = netdev_priv(dev);
	int ret = -ENOMEM;

	rcu_assign_pointer(wg->creating_net, src_net);
	init_rwsem(&wg->static_identity.lock);
	mutex_init(&wg->socket_update_lock);
	mutex_init(&wg->device_update_lock);
	mwg_allowedips_init(&wg->peer_allowedips);
	mwg_cookie_checker_init(&wg->cookie_checker, wg);
	INIT_LIST_HEAD(&wg->peer_list);
	wg->device_update_gen = 1;
	mwg_bucket_init(&wg->relay_bucket);

	wg->peer_hashtable = mwg_pubkey_hashtable_alloc();
	if (!wg->peer_hashtable)
		return ret;

	wg->index_hashtable = mwg_index_hashtable_alloc();
	if (!wg->index_hashtable)
		goto err_free_peer_hashtable;

	wg->handshake_receive_wq = alloc_workqueue("mwg-kex-%s",
			WQ_CPU_INTENSIVE | WQ_FREEZABLE, 0, dev->name);
	if (!wg->handshake_receive_wq)
		goto err_free_index_hashtable;

	wg->handshake_send_wq = alloc_workqueue("mwg-kex-%s",
			WQ_UNBOUND | WQ_FREEZABLE, 0, dev->name);
	if (!wg->handshake_send_wq)
		goto err_destroy_handshake_receive;

	wg->packet_crypt_wq = alloc_workqueue("mwg-crypt-%s",
			WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM, 0, dev->name);
	if (!wg->packet_crypt_wq)
		goto err_destroy_handshake_send;

	ret = mwg_packet_queue_init(&wg->encrypt_queue,
				    mwg_packet_encrypt_worker,
				    MAX_QUEUED_PACKETS);
	if (ret < 0)
		goto err_destroy_packet_crypt;

	ret = mwg_packet_queue_init(&wg->decrypt_queue,
				    mwg_packet_decrypt_worker,
				    MAX_QUEUED_PACKETS);
	if (ret < 0)
		goto err_free_encrypt_queue;

	ret = mwg_packet_queue_init(&wg->handshake_queue,
				    mwg_packet_handshake_receive_worker,
				    MAX_QUEUED_INCOMING_HANDSHAKES);
	if (ret < 0)
		goto err_free_decrypt_queue;

	ret = mwg_ratelimiter_init();
	if (ret < 0)
		goto err_free_handshake_queue;

	ret = mwg_filter_dev_init(&wg->acl);
	if (ret < 0)
		goto err_uninit_ratelimiter;

	ret = register_netdevice(dev);
	if (ret < 0)
		goto err_uninit_filter;

	list_add(&wg->device_list, &device_list);

	/* From here on, mwg_destruct() cleans up. */
	dev->priv_destructor = mwg_destruct;

	pr_debug("%s: Interface created\n", dev->name);
	return ret;

err_uninit_filter:
	mwg_filter_dev_uninit(&wg->acl);
err_uninit_ratelimiter:
	mwg_ratelimiter_uninit();
err_free_handshake_queue:
	mwg_packet_queue_free(&wg->handshake_queue, false);
err_free_decrypt_queue:
	mwg_packet_queue_free(&wg->decrypt_queue, false);
err_free_encrypt_queue:
	mwg_packet_queue_free(&wg->encrypt_queue, false);
err_destroy_packet_crypt:
	destroy_workqueue(wg->packet_crypt_wq);
err_destroy_handshake_send:
	destroy_workqueue(wg->handshake_send_wq);
err_destroy_handshake_receive:
	destroy_workqueue(wg->handshake_receive_wq);
err_free_index_hashtable:
	mwg_index_hashtable_free(wg->index_hashtable);
err_free_peer_hashtable:
	mwg_pubkey_hashtable_free(wg->peer_hashtable);
	return ret;
}

static struct rtnl_link_ops link_ops __read_mostly = {
	.kind			= KBUILD_MODNAME,
	.priv_size		= sizeof(struct mwg_device),
	.setup			= mwg_setup,
	.newlink		= mwg_newlink,
};

bool mwg_is_device(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &link_ops;
}

bool mwg_device_creating_net_capable(struct mwg_device *wg,
				     const struct sk_buff *skb)
{
	struct net *net;
	bool ok;

	rcu_read_lock();
	net = maybe_get_net(rcu_dereference(wg->creating_net));
	rcu_read_unlock();
	if (!net)
		return false;
	ok = netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN);
	put_net(net);
	return ok;
}

/*
 * The sockets live in the netns that created the device. When that netns
 * goes away, close them; the device (maybe elsewhere) stays, without a port.
 */
static void mwg_netns_pre_exit(struct net *net)
{
	struct mwg_device *wg;
	struct mwg_peer *peer;

	rtnl_lock();
	list_for_each_entry(wg, &device_list, device_list) {
		if (rcu_access_pointer(wg->creating_net) == net) {
			pr_debug("%s: Creating namespace exiting\n",
				 wg->dev->name);
			netif_carrier_off(wg->dev);
			mutex_lock(&wg->device_update_lock);
			rcu_assign_pointer(wg->creating_net, NULL);
			mwg_socket_reinit(wg, NULL, NULL);
			list_for_each_entry(peer, &wg->peer_list, peer_list)
				mwg_socket_clear_peer_endpoint_src(peer);
			mutex_unlock(&wg->device_update_lock);
		}
	}
	rtnl_unlock();
}

static struct pernet_operations pernet_ops = {
	.pre_exit = mwg_netns_pre_exit
};

/*
 * Keys must not outlive a suspend or a hibernation image, and a cloned VM
 * must not go on with the same keys and nonce counters. Every peer of every
 * device forgets its sessions (and, but for a VM fork, its handshake in
 * progress); the next packet starts a new handshake at once.
 */
static void wipe_all_sessions(bool handshakes)
{
	struct mwg_device *wg;
	struct mwg_peer *peer;

	rtnl_lock();
	list_for_each_entry(wg, &device_list, device_list) {
		mutex_lock(&wg->device_update_lock);
		list_for_each_entry(peer, &wg->peer_list, peer_list) {
			if (handshakes) {
				del_timer(&peer->timer_zero_key_material);
				mwg_noise_handshake_clear(&peer->handshake);
			}
			mwg_noise_keypairs_clear(&peer->keypairs);
			mwg_noise_reset_last_sent_handshake(&peer->last_sent_handshake);
		}
		mutex_unlock(&wg->device_update_lock);
	}
	rtnl_unlock();
}

static int mwg_pm_notification(struct notifier_block *nb,
			       unsigned long action, void *data)
{
	/* Where suspending is routine (autosleep), it is no reason to rekey. */
	if (IS_ENABLED(CONFIG_PM_AUTOSLEEP) ||
	    IS_ENABLED(CONFIG_PM_USERSPACE_AUTOSLEEP))
		return NOTIFY_DONE;
	if (action != PM_HIBERNATION_PREPARE && action != PM_SUSPEND_PREPARE)
		return NOTIFY_DONE;
	wipe_all_sessions(true);
	/* The keypairs are freed after a grace period: before the image. */
	rcu_barrier();
	return NOTIFY_DONE;
}

static struct notifier_block pm_notifier = {
	.notifier_call = mwg_pm_notification
};

static int mwg_vm_notification(struct notifier_block *nb,
			       unsigned long action, void *data)
{
	wipe_all_sessions(false);
	return NOTIFY_DONE;
}

static struct notifier_block vm_notifier = {
	.notifier_call = mwg_vm_notification
};

int __init mwg_device_init(void)
{
	int ret;

	ret = register_pm_notifier(&pm_notifier);
	if (ret)
		return ret;

	/* A no-op stub without CONFIG_VMGENID, on every supported kernel. */
	ret = register_random_vmfork_notifier(&vm_notifier);
	if (ret)
		goto error_pm;

	ret = register_pernet_device(&pernet_ops);
	if (ret)
		goto error_vm;

	ret = rtnl_link_register(&link_ops);
	if (ret)
		goto error_pernet;

	return 0;

error_pernet:
	unregister_pernet_device(&pernet_ops);
error_vm:
	unregister_random_vmfork_notifier(&vm_notifier);
error_pm:
	unregister_pm_notifier(&pm_notifier);
	return ret;
}

void mwg_device_uninit(void)
{
	rtnl_link_unregister(&link_ops);
	unregister_pernet_device(&pernet_ops);
	unregister_random_vmfork_notifier(&vm_notifier);
	unregister_pm_notifier(&pm_notifier);
	rcu_barrier();
}
