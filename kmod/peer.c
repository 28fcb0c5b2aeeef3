// SPDX-License-Identifier: GPL-2.0
/*
 * Peer lifetime. A peer is referenced by the device's peer list (the
 * initial reference), by in-flight packets and work items; removal first
 * unlinks it from every lookup structure ("dead"), waits for readers, then
 * drops the list reference. Memory goes after an RCU grace period.
 */
#include "peer.h"
#include "device.h"
#include "queueing.h"
#include "timers.h"
#include "peerlookup.h"
#include "noise.h"
#include "cookie.h"
#include "allowedips.h"

#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/list.h>

static struct kmem_cache *peer_cache;
static atomic64_t peer_counter = ATOMIC64_INIT(0);

struct mwg_peer *mwg_peer_create(struct mwg_device *wg,
				 const u8 public_key[NOISE_PUBLIC_KEY_LEN],
				 const u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	struct mwg_peer *peer;
	int ret = -ENOMEM;

	lockdep_assert_held(&wg->device_update_lock);

	if (wg->num_peers >= MAX_PEERS_PER_DEVICE)
		return ERR_PTR(-E2BIG);

	peer = kmem_cache_zalloc(peer_cache, GFP_KERNEL);
	if (unlikely(!peer))
		return ERR_PTR(ret);
	if (unlikely(dst_cache_init(&peer->endpoint_cache, GFP_KERNEL)))
		goto err;

	peer->device = wg;
	mwg_noise_handshake_init(&peer->handshake, &wg->static_identity,
				 public_key, preshared_key, peer);
	peer->internal_id = atomic64_inc_return(&peer_counter);
	peer->serial_work_cpu = nr_cpumask_bits;
	mwg_cookie_init(&peer->latest_cookie);
	mwg_timers_init(peer);
	mwg_cookie_checker_precompute_peer_keys(peer);
	spin_lock_init(&peer->keypairs.keypair_update_lock);
	INIT_WORK(&peer->transmit_handshake_work,
		  mwg_packet_handshake_send_worker);
	INIT_WORK(&peer->transmit_packet_work, mwg_packet_tx_worker);
	mwg_prev_queue_init(&peer->tx_queue);
	mwg_prev_queue_init(&peer->rx_queue);
	rwlock_init(&peer->endpoint_lock);
	kref_init(&peer->refcount);
	skb_queue_head_init(&peer->staged_packet_queue);
	mwg_noise_reset_last_sent_handshake(&peer->last_sent_handshake);
	peer->last_wants_endpoint = jiffies - 60 * HZ;
	set_bit(NAPI_STATE_NO_BUSY_POLL, &peer->napi.state);
	netif_napi_add(wg->dev, &peer->napi, mwg_packet_rx_poll);
	napi_enable(&peer->napi);
	list_add_tail(&peer->peer_list, &wg->peer_list);
	INIT_LIST_HEAD(&peer->allowedips_list);
	mwg_pubkey_hashtable_add(wg->peer_hashtable, peer);
	++wg->num_peers;
	return peer;

err:
	kmem_cache_free(peer_cache, peer);
	return ERR_PTR(ret);
}

struct mwg_peer *mwg_peer_get_maybe_zero(struct mwg_peer *peer)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "Taking peer reference without holding the RCU read lock");
	if (unlikely(!peer || !kref_get_unless_zero(&peer->refcount)))
		return NULL;
	return peer;
}

/* Unlinks the peer from everything that can hand out new references. */
static void peer_make_dead(struct mwg_peer *peer)
{
	list_del_init(&peer->peer_list);
	/* A request may remove and then add up to the limit. */
	--peer->device->num_peers;
	mwg_allowedips_remove_by_peer(&peer->device->peer_allowedips, peer,
				      &peer->device->device_update_lock);
	mwg_pubkey_hashtable_remove(peer->device->peer_hashtable, peer);
	/* Seen by the data and handshake paths from now on. */
	WRITE_ONCE(peer->is_dead, true);
	/* The caller runs synchronize_net() before peer_remove_after_dead(). */
}

/*
 * Second half of removal, for a list of dead peers (linked through
 * peer_list) after a grace period. Batched so that removing many peers
 * costs a few workqueue flushes, not a few per peer.
 */
static void peers_remove_after_dead(struct mwg_device *wg,
				    struct list_head *dead)
{
	struct mwg_peer *peer, *temp;

	list_for_each_entry(peer, dead, peer_list) {
		WARN_ON(!peer->is_dead);
		/* is_dead stops new keypairs; drop the ones that exist. */
		mwg_noise_keypairs_clear(&peer->keypairs);
		mwg_timers_stop(peer);
	}
	/*
	 * Packets already in the crypt rings still point at their peer
	 * through their keypair reference. Two flushes: the encrypt worker
	 * may hand off to the tx worker on the same workqueue.
	 */
	flush_workqueue(wg->packet_crypt_wq);
	flush_workqueue(wg->packet_crypt_wq);
	list_for_each_entry(peer, dead, peer_list) {
		napi_disable(&peer->napi);
		/* One grace period below, not one per peer. */
		__netif_napi_del(&peer->napi);
	}
	synchronize_net();
	/* transmit_handshake_work and friends must be idle. */
	flush_workqueue(wg->handshake_send_wq);
	list_for_each_entry_safe(peer, temp, dead, peer_list) {
		/* Dumps test list_empty() on a peer they hold. */
		list_del_init(&peer->peer_list);
		mwg_peer_put(peer);
	}
}

void mwg_peer_remove(struct mwg_peer *peer)
{
	LIST_HEAD(dead_peers);

	if (unlikely(!peer))
		return;
	mwg_peer_remove_deferred(peer, &dead_peers);
	mwg_peer_remove_dead(peer->device, &dead_peers);
}

/*
 * First half of removal: the peer can no longer be found, and it waits on
 * dead for mwg_peer_remove_dead(). Removing many peers in one request then
 * costs one grace period and a few flushes in all, not per peer.
 */
void mwg_peer_remove_deferred(struct mwg_peer *peer, struct list_head *dead)
{
	lockdep_assert_held(&peer->device->device_update_lock);

	peer_make_dead(peer);
	list_add_tail(&peer->peer_list, dead);
}

/* Second half, for every peer put on dead; dead is empty afterwards. */
void mwg_peer_remove_dead(struct mwg_device *wg, struct list_head *dead)
{
	lockdep_assert_held(&wg->device_update_lock);

	if (list_empty(dead))
		return;
	synchronize_net();
	peers_remove_after_dead(wg, dead);
}

void mwg_peer_remove_all(struct mwg_device *wg)
{
	struct mwg_peer *peer, *temp;
	LIST_HEAD(dead_peers);

	lockdep_assert_held(&wg->device_update_lock);

	/* One grace period for all of them. */
	mwg_allowedips_free(&wg->peer_allowedips, &wg->device_update_lock);
	list_for_each_entry_safe(peer, temp, &wg->peer_list, peer_list) {
		peer_make_dead(peer);
		list_add_tail(&peer->peer_list, &dead_peers);
	}
	mwg_peer_remove_dead(wg, &dead_peers);
}

static void rcu_release(struct rcu_head *rcu)
{
	struct mwg_peer *peer = container_of(rcu, struct mwg_peer, rcu);

	dst_cache_destroy(&peer->endpoint_cache);
	WARN_ON(mwg_prev_queue_peek(&peer->tx_queue) ||
		mwg_prev_queue_peek(&peer->rx_queue));
	/* Keys, cookies and handshake state go with the memory. */
	memzero_explicit(peer, sizeof(*peer));
	kmem_cache_free(peer_cache, peer);
}

static void kref_release(struct kref *refcount)
{
	struct mwg_peer *peer = container_of(refcount, struct mwg_peer,
					     refcount);

	/* Last reference: no one can find the handshake any more. */
	mwg_index_hashtable_remove(peer->device->index_hashtable,
				   &peer->handshake.entry);
	mwg_packet_purge_staged_packets(peer);
	call_rcu(&peer->rcu, rcu_release);
}

void mwg_peer_put(struct mwg_peer *peer)
{
	if (unlikely(!peer))
		return;
	kref_put(&peer->refcount, kref_release);
}

int __init mwg_peer_init(void)
{
	peer_cache = KMEM_CACHE(mwg_peer, 0);
	return peer_cache ? 0 : -ENOMEM;
}

void mwg_peer_uninit(void)
{
	rcu_barrier();
	kmem_cache_destroy(peer_cache);
}
