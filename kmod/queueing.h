/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet queueing: the device-wide crypto rings served by one worker per
 * CPU, and the per-peer ordered queues that put packets back in order once
 * their crypto is done.
 */
#ifndef _MWG_QUEUEING_H
#define _MWG_QUEUEING_H

#include "peer.h"
#include <linux/types.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip_tunnels.h>

struct mwg_device;
struct mwg_peer;
struct multicore_worker;
struct mwg_crypt_queue;
struct mwg_prev_queue;
struct sk_buff;

/* queueing.c APIs: */
int mwg_packet_queue_init(struct mwg_crypt_queue *queue, work_func_t function,
			  unsigned int len);
void mwg_packet_queue_free(struct mwg_crypt_queue *queue, bool purge);
struct mwg_multicore_worker __percpu *
mwg_packet_percpu_multicore_worker_alloc(work_func_t function, void *ptr);

/* receive.c APIs: */
void mwg_packet_receive(struct mwg_device *wg, struct sk_buff *skb);
void mwg_packet_handshake_receive_worker(struct work_struct *work);
/* NAPI poll function: */
int mwg_packet_rx_poll(struct napi_struct *napi, int budget);
/* Workqueue worker: */
void mwg_packet_decrypt_worker(struct work_struct *work);

/* send.c APIs: */
void mwg_packet_send_queued_handshake_initiation(struct mwg_peer *peer,
						 bool is_retry);
void mwg_packet_send_handshake_response(struct mwg_peer *peer);
void mwg_packet_send_handshake_cookie(struct mwg_device *wg,
				      struct sk_buff *initiating_skb,
				      __le32 sender_index);
void mwg_packet_send_keepalive(struct mwg_peer *peer);
void mwg_packet_purge_staged_packets(struct mwg_peer *peer);
void mwg_packet_send_staged_packets(struct mwg_peer *peer);
/* Workqueue workers: */
void mwg_packet_handshake_send_worker(struct work_struct *work);
void mwg_packet_tx_worker(struct work_struct *work);
void mwg_packet_encrypt_worker(struct work_struct *work);

enum packet_state {
	PACKET_STATE_UNCRYPTED,
	PACKET_STATE_CRYPTED,
	PACKET_STATE_DEAD
};

struct packet_cb {
	u64 nonce;
	struct noise_keypair *keypair;
	atomic_t state;
	u32 mtu;
	u32 relay_id;	/* nonzero: arrived over this relay (INJECT_DATAGRAM) */
	/*
	 * Injected: keyed hash of relay_id and the sender key the relay named
	 * (if any), what binds its cookie and keys its handshake ratelimit.
	 */
	u64 relay_sender;
	u8 ds;
};

#define PACKET_CB(skb) ((struct packet_cb *)((skb)->cb))
#define PACKET_PEER(skb) (PACKET_CB(skb)->keypair->entry.peer)

/* Returns the inner protocol if the packet is IPv4/IPv6 and well formed. */
static inline __be16 mwg_examine_packet_protocol(struct sk_buff *skb)
{
	if (skb_network_header(skb) >= skb->head &&
	    (skb_network_header(skb) + sizeof(struct iphdr)) <=
		    skb_tail_pointer(skb) &&
	    ip_hdr(skb)->version == 4)
		return htons(ETH_P_IP);
	if (skb_network_header(skb) >= skb->head &&
	    (skb_network_header(skb) + sizeof(struct ipv6hdr)) <=
		    skb_tail_pointer(skb) &&
	    ipv6_hdr(skb)->version == 6)
		return htons(ETH_P_IPV6);
	return 0;
}

static inline bool mwg_check_packet_protocol(struct sk_buff *skb)
{
	__be16 real_protocol = mwg_examine_packet_protocol(skb);

	return real_protocol && skb->protocol == real_protocol;
}

/* Scrubs an skb that crosses between the tunnel and the outer world. */
static inline void mwg_reset_packet(struct sk_buff *skb, bool encapsulating)
{
	u8 l4_hash = skb->l4_hash;
	u8 sw_hash = skb->sw_hash;
	u32 hash = skb->hash;

	skb_scrub_packet(skb, true);
	memset(&skb->headers, 0, sizeof(skb->headers));
	if (encapsulating) {
		skb->l4_hash = l4_hash;
		skb->sw_hash = sw_hash;
		skb->hash = hash;
	}
	skb->queue_mapping = 0;
	skb->nohdr = 0;
	skb->peeked = 0;
	skb->mac_len = 0;
	skb->dev = NULL;
#ifdef CONFIG_NET_SCHED
	skb->tc_index = 0;
#endif
	skb_reset_redirect(skb);
	skb->hdr_len = skb_headroom(skb);
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_reset_transport_header(skb);
	skb_probe_transport_header(skb);
	skb_reset_inner_headers(skb);
}

static inline int mwg_cpumask_choose_online(int *stored_cpu, unsigned int id)
{
	unsigned int cpu = *stored_cpu, cpu_index, i;

	if (unlikely(cpu >= nr_cpu_ids ||
		     !cpumask_test_cpu(cpu, cpu_online_mask))) {
		cpu_index = id % cpumask_weight(cpu_online_mask);
		cpu = cpumask_first(cpu_online_mask);
		for (i = 0; i < cpu_index; ++i)
			cpu = cpumask_next(cpu, cpu_online_mask);
		*stored_cpu = cpu;
	}
	return cpu;
}

/*
 * Round-robins over online CPUs. Not atomic: a race just means two packets
 * pick the same CPU, which costs nothing in correctness.
 */
static inline int mwg_cpumask_next_online(int *last_cpu)
{
	int cpu = cpumask_next(READ_ONCE(*last_cpu), cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*last_cpu, cpu);
	return cpu;
}

void mwg_prev_queue_init(struct mwg_prev_queue *queue);
/* Multi producer */
bool mwg_prev_queue_enqueue(struct mwg_prev_queue *queue, struct sk_buff *skb);
/* Single consumer */
struct sk_buff *mwg_prev_queue_dequeue(struct mwg_prev_queue *queue);

/* Single consumer */
static inline struct sk_buff *mwg_prev_queue_peek(struct mwg_prev_queue *queue)
{
	if (queue->peeked)
		return queue->peeked;
	queue->peeked = mwg_prev_queue_dequeue(queue);
	return queue->peeked;
}

/* Single consumer */
static inline void mwg_prev_queue_drop_peeked(struct mwg_prev_queue *queue)
{
	queue->peeked = NULL;
}

static inline int mwg_queue_enqueue_per_device_and_peer(
	struct mwg_crypt_queue *device_queue,
	struct mwg_prev_queue *peer_queue, struct sk_buff *skb,
	struct workqueue_struct *wq)
{
	int cpu;

	atomic_set_release(&PACKET_CB(skb)->state, PACKET_STATE_UNCRYPTED);
	/*
	 * Peer queue first: that is where ordering is kept. If it is full,
	 * nothing was enqueued anywhere and the caller drops the packet.
	 */
	if (unlikely(!mwg_prev_queue_enqueue(peer_queue, skb)))
		return -ENOSPC;

	/*
	 * Then the device queue. If that one is full the packet stays in the
	 * peer queue and is marked dead by the caller, so the in-order
	 * consumer frees it when it gets to it.
	 */
	cpu = mwg_cpumask_next_online(&device_queue->last_cpu);
	if (unlikely(ptr_ring_produce_bh(&device_queue->ring, skb)))
		return -EPIPE;
	queue_work_on(cpu, wq, &per_cpu_ptr(device_queue->worker, cpu)->work);
	return 0;
}

static inline void mwg_queue_enqueue_per_peer_tx(struct sk_buff *skb,
						 enum packet_state state)
{
	/*
	 * Take a reference first: once the state is released the tx worker
	 * may free the skb, and with it the keypair reference the peer
	 * pointer comes from.
	 */
	struct mwg_peer *peer = mwg_peer_get(PACKET_PEER(skb));

	atomic_set_release(&PACKET_CB(skb)->state, state);
	queue_work_on(mwg_cpumask_choose_online(&peer->serial_work_cpu,
						peer->internal_id),
		      peer->device->packet_crypt_wq,
		      &peer->transmit_packet_work);
	mwg_peer_put(peer);
}

static inline void mwg_queue_enqueue_per_peer_rx(struct sk_buff *skb,
						 enum packet_state state)
{
	/* As above, the peer must outlive the state release. */
	struct mwg_peer *peer = mwg_peer_get(PACKET_PEER(skb));

	atomic_set_release(&PACKET_CB(skb)->state, state);
	napi_schedule(&peer->napi);
	mwg_peer_put(peer);
}

#endif /* _MWG_QUEUEING_H */
