// SPDX-License-Identifier: GPL-2.0
/*
 * Receive path. UDP datagrams on the device's port are sorted: handshake
 * messages go to the handshake ring (processed on any CPU, under a cookie
 * regime when the ring gets long), data messages to the device-wide decrypt
 * ring and, in arrival order, the peer's rx queue, which the peer's NAPI
 * poll drains in order into GRO. Anything else is the agent's business
 * (STUN, disco) or garbage.
 */
#include "queueing.h"
#include "device.h"
#include "peer.h"
#include "timers.h"
#include "messages.h"
#include "cookie.h"
#include "socket.h"
#include "agent.h"
#include "ratelimiter.h"

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/ip_tunnels.h>

/* Must be called with bh disabled: it runs from NAPI or the kex worker. */
static void update_rx_stats(struct mwg_peer *peer, size_t len)
{
	dev_sw_netstats_rx_add(peer->device->dev, len);
	atomic64_add(len, &peer->rx_bytes);
	atomic64_inc(&peer->rx_packets);
}

#define SKB_TYPE_LE32(skb) (((struct message_header *)(skb)->data)->type)

/*
 * Strips the UDP header of a datagram from the socket, leaving skb->data at
 * the payload and the outer headers in place for the endpoint. Returns the
 * WireGuard header length (made linear), 0 if the payload is not a
 * WireGuard message, or -EINVAL if the datagram is malformed.
 */
static int prepare_skb_header(struct sk_buff *skb)
{
	size_t data_offset, data_len, header_len;
	struct udphdr *udp;

	if (unlikely(!mwg_check_packet_protocol(skb) ||
		     skb_transport_header(skb) < skb->head ||
		     (skb_transport_header(skb) + sizeof(struct udphdr)) >
			     skb_tail_pointer(skb)))
		return -EINVAL;
	udp = udp_hdr(skb);
	data_offset = (u8 *)udp - skb->data;
	if (unlikely(data_offset > U16_MAX ||
		     data_offset + sizeof(struct udphdr) > skb->len))
		return -EINVAL;
	data_len = ntohs(udp->len);
	if (unlikely(data_len < sizeof(struct udphdr) ||
		     data_len > skb->len - data_offset))
		return -EINVAL;
	data_len -= sizeof(struct udphdr);
	data_offset = (u8 *)udp + sizeof(struct udphdr) - skb->data;
	if (unlikely(pskb_trim(skb, data_len + data_offset) < 0))
		return -EINVAL;
	/* Enough linear bytes to classify: a STUN header is the longest. */
	if (unlikely(!pskb_may_pull(skb, data_offset + min_t(size_t, data_len,
							     20))))
		return -EINVAL;
	skb_pull(skb, data_offset);
	if (unlikely(skb->len != data_len))
		return -EINVAL;
	header_len = mwg_message_header_len(skb->data, skb->len);
	if (!header_len)
		return 0;
	__skb_push(skb, data_offset);
	if (unlikely(!pskb_may_pull(skb, data_offset + header_len)))
		return -EINVAL;
	__skb_pull(skb, data_offset);
	return header_len;
}

static void receive_handshake_packet(struct mwg_device *wg,
				     struct sk_buff *skb)
{
	enum cookie_mac_state mac_state;
	struct mwg_peer *peer = NULL;
	/* Sticky for a second after the queue was last long. */
	static u64 last_under_load;
	bool packet_needs_cookie;
	bool under_load;

	if (SKB_TYPE_LE32(skb) == cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE)) {
		net_dbg_ratelimited("%s: Receiving cookie response\n",
					wg->dev->name);
		mwg_cookie_message_consume(
			(struct message_handshake_cookie *)skb->data, wg);
		return;
	}

	under_load = atomic_read(&wg->handshake_queue_len) >=
		     MAX_QUEUED_INCOMING_HANDSHAKES / 8;
	if (under_load) {
		WRITE_ONCE(last_under_load, ktime_get_coarse_boottime_ns());
	} else if (READ_ONCE(last_under_load)) {
		under_load = !mwg_birthdate_has_expired(READ_ONCE(last_under_load),
							1);
		if (!under_load)
			WRITE_ONCE(last_under_load, 0);
	}
	mac_state = mwg_cookie_validate_packet(&wg->cookie_checker, skb,
					       under_load);
	if ((under_load && mac_state == VALID_MAC_WITH_COOKIE) ||
	    (!under_load && mac_state == VALID_MAC_BUT_NO_COOKIE)) {
		packet_needs_cookie = false;
	} else if (under_load && mac_state == VALID_MAC_BUT_NO_COOKIE) {
		packet_needs_cookie = true;
	} else {
		if (mac_state == VALID_MAC_WITH_COOKIE_BUT_RATELIMITED)
			atomic64_inc(&wg->rx_ratelimited);
		else
			atomic64_inc(&wg->rx_invalid);
		net_dbg_ratelimited("%s: Invalid MAC of handshake, dropping packet\n",
					wg->dev->name);
		return;
	}

	switch (SKB_TYPE_LE32(skb)) {
	case cpu_to_le32(MESSAGE_HANDSHAKE_INITIATION): {
		struct message_handshake_initiation *message =
			(struct message_handshake_initiation *)skb->data;

		if (packet_needs_cookie) {
			mwg_packet_send_handshake_cookie(wg, skb,
							 message->sender_index);
			return;
		}
		peer = mwg_noise_handshake_consume_initiation(message, wg);
		if (unlikely(!peer)) {
			atomic64_inc(&wg->rx_invalid);
			net_dbg_ratelimited("%s: Invalid handshake initiation\n",
						wg->dev->name);
			return;
		}
		mwg_socket_set_peer_endpoint_from_skb(peer, skb);
		net_dbg_ratelimited("%s: Receiving handshake initiation from peer %llu\n",
				    wg->dev->name, peer->internal_id);
		mwg_packet_send_handshake_response(peer);
		break;
	}
	case cpu_to_le32(MESSAGE_HANDSHAKE_RESPONSE): {
		struct message_handshake_response *message =
			(struct message_handshake_response *)skb->data;

		if (packet_needs_cookie) {
			mwg_packet_send_handshake_cookie(wg, skb,
							 message->sender_index);
			return;
		}
		peer = mwg_noise_handshake_consume_response(message, wg);
		if (unlikely(!peer)) {
			atomic64_inc(&wg->rx_invalid);
			net_dbg_ratelimited("%s: Invalid handshake response\n",
						wg->dev->name);
			return;
		}
		mwg_socket_set_peer_endpoint_from_skb(peer, skb);
		net_dbg_ratelimited("%s: Receiving handshake response from peer %llu\n",
				    wg->dev->name, peer->internal_id);
		if (mwg_noise_handshake_begin_session(&peer->handshake,
						      &peer->keypairs)) {
			mwg_timers_session_derived(peer);
			mwg_timers_handshake_complete(peer);
			/*
			 * Sends what is staged, or else a keepalive, so the
			 * responder learns right away the session works.
			 */
			mwg_packet_send_keepalive(peer);
		}
		break;
	}
	}

	if (unlikely(!peer))
		return;

	local_bh_disable();
	update_rx_stats(peer, skb->len);
	local_bh_enable();

	mwg_timers_any_authenticated_packet_received(peer);
	mwg_timers_any_authenticated_packet_traversal(peer);
	mwg_peer_put(peer);
}

void mwg_packet_handshake_receive_worker(struct work_struct *work)
{
	struct mwg_crypt_queue *queue = container_of(work,
			struct mwg_multicore_worker, work)->ptr;
	struct mwg_device *wg = container_of(queue, struct mwg_device,
					     handshake_queue);
	struct sk_buff *skb;

	while ((skb = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		receive_handshake_packet(wg, skb);
		dev_kfree_skb(skb);
		atomic_dec(&wg->handshake_queue_len);
		if (need_resched())
			cond_resched();
	}
}

/* Starts a handshake if the session we receive on is getting old. */
static void keep_key_fresh(struct mwg_peer *peer)
{
	struct noise_keypair *keypair;
	bool send;

	if (peer->sent_lastminute_handshake)
		return;

	rcu_read_lock_bh();
	keypair = rcu_dereference_bh(peer->keypairs.current_keypair);
	send = keypair && READ_ONCE(keypair->sending.is_valid) &&
	       keypair->i_am_the_initiator &&
	       mwg_birthdate_has_expired(keypair->sending.birthdate,
			REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT);
	rcu_read_unlock_bh();

	if (unlikely(send)) {
		peer->sent_lastminute_handshake = true;
		mwg_packet_send_queued_handshake_initiation(peer, false);
	}
}

static bool decrypt_packet(struct sk_buff *skb, struct noise_keypair *keypair)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct sk_buff *trailer;
	unsigned int offset;
	int num_frags;

	if (unlikely(!keypair))
		return false;

	if (unlikely(!READ_ONCE(keypair->receiving.is_valid) ||
		     mwg_birthdate_has_expired(keypair->receiving.birthdate,
					       REJECT_AFTER_TIME) ||
		     READ_ONCE(keypair->receiving_counter.counter) >=
			     REJECT_AFTER_MESSAGES)) {
		WRITE_ONCE(keypair->receiving.is_valid, false);
		atomic64_inc(&keypair->entry.peer->drops_no_key);
		return false;
	}

	PACKET_CB(skb)->nonce =
		le64_to_cpu(((struct message_data *)skb->data)->counter);

	/*
	 * Keep the outer headers inside the area skb_cow_data() preserves:
	 * the endpoint is read from them after decryption.
	 */
	offset = -skb_network_offset(skb);
	skb_push(skb, offset);
	num_frags = skb_cow_data(skb, 0, &trailer);
	offset += sizeof(struct message_data);
	skb_pull(skb, offset);
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		goto invalid;

	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, 0, skb->len) <= 0)
		goto invalid;

	if (!chacha20poly1305_decrypt_sg_inplace(sg, skb->len, NULL, 0,
						 PACKET_CB(skb)->nonce,
						 keypair->receiving.key))
		goto invalid;

	/* Drop the tag, again keeping the outer headers. */
	skb_push(skb, offset);
	if (pskb_trim(skb, skb->len - noise_encrypted_len(0)))
		goto invalid;
	skb_pull(skb, offset);
	return true;

invalid:
	atomic64_inc(&keypair->entry.peer->drops_invalid);
	return false;
}

static void packet_consume_data_done(struct mwg_peer *peer,
				     struct sk_buff *skb,
				     struct mwg_endpoint *endpoint)
{
	struct net_device *dev = peer->device->dev;
	unsigned int len, len_before_trim;
	struct mwg_peer *routed_peer;

	mwg_socket_set_peer_endpoint_from_packet(peer, endpoint);

	if (unlikely(mwg_noise_received_with_keypair(&peer->keypairs,
						     PACKET_CB(skb)->keypair))) {
		mwg_timers_handshake_complete(peer);
		mwg_packet_send_staged_packets(peer);
	}

	keep_key_fresh(peer);

	mwg_timers_any_authenticated_packet_received(peer);
	mwg_timers_any_authenticated_packet_traversal(peer);

	/* Zero length after decryption: a keepalive. */
	if (unlikely(!skb->len)) {
		update_rx_stats(peer, message_data_len(0));
		net_dbg_ratelimited("%s: Receiving keepalive packet from peer %llu\n",
				    dev->name, peer->internal_id);
		goto packet_processed;
	}

	mwg_timers_data_received(peer);

	if (unlikely(skb_network_header(skb) < skb->head))
		goto dishonest_packet_size;
	if (unlikely(!(pskb_network_may_pull(skb, sizeof(struct iphdr)) &&
		       (ip_hdr(skb)->version == 4 ||
			(ip_hdr(skb)->version == 6 &&
			 pskb_network_may_pull(skb, sizeof(struct ipv6hdr)))))))
		goto dishonest_packet_type;

	skb->dev = dev;
	/*
	 * The Poly1305 tag covered every byte: no checksum inside needs
	 * checking again.
	 */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	skb->protocol = ip_tunnel_parse_protocol(skb);
	if (skb->protocol == htons(ETH_P_IP)) {
		len = ntohs(ip_hdr(skb)->tot_len);
		if (unlikely(len < sizeof(struct iphdr)))
			goto dishonest_packet_size;
		INET_ECN_decapsulate(skb, PACKET_CB(skb)->ds, ip_hdr(skb)->tos);
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		len = ntohs(ipv6_hdr(skb)->payload_len) +
		      sizeof(struct ipv6hdr);
		INET_ECN_decapsulate(skb, PACKET_CB(skb)->ds,
				     ipv6_get_dsfield(ipv6_hdr(skb)));
	} else {
		goto dishonest_packet_type;
	}

	if (unlikely(len > skb->len))
		goto dishonest_packet_size;
	len_before_trim = skb->len;
	if (unlikely(pskb_trim(skb, len)))
		goto packet_processed;

	/* Crypto-routing, the other way: is peer allowed this source? */
	routed_peer = mwg_allowedips_lookup_src(&peer->device->peer_allowedips,
						skb);
	mwg_peer_put(routed_peer); /* Only the pointer is compared. */
	if (unlikely(routed_peer != peer))
		goto dishonest_packet_peer;

	/* The node's ACL: dropped packets are counted there. */
	if (unlikely(!mwg_filter_receive(peer->device, peer, skb)))
		goto packet_processed;

	napi_gro_receive(&peer->napi, skb);
	update_rx_stats(peer, message_data_len(len_before_trim));
	return;

dishonest_packet_peer:
	net_dbg_ratelimited("%s: Packet has unallowed src IP from peer %llu\n",
			    dev->name, peer->internal_id);
	atomic64_inc(&peer->drops_allowedips);
	DEV_STATS_INC(dev, rx_errors);
	DEV_STATS_INC(dev, rx_frame_errors);
	goto packet_processed;
dishonest_packet_type:
	net_dbg_ratelimited("%s: Packet is neither ipv4 nor ipv6 from peer %llu\n",
			    dev->name, peer->internal_id);
	atomic64_inc(&peer->drops_invalid);
	DEV_STATS_INC(dev, rx_errors);
	DEV_STATS_INC(dev, rx_frame_errors);
	goto packet_processed;
dishonest_packet_size:
	net_dbg_ratelimited("%s: Packet has incorrect size from peer %llu\n",
			    dev->name, peer->internal_id);
	atomic64_inc(&peer->drops_invalid);
	DEV_STATS_INC(dev, rx_errors);
	DEV_STATS_INC(dev, rx_length_errors);
	goto packet_processed;
packet_processed:
	dev_kfree_skb(skb);
}

int mwg_packet_rx_poll(struct napi_struct *napi, int budget)
{
	struct mwg_peer *peer = container_of(napi, struct mwg_peer, napi);
	struct noise_keypair *keypair;
	struct mwg_endpoint endpoint;
	enum packet_state state;
	struct sk_buff *skb;
	int work_done = 0;
	bool free;

	if (unlikely(budget <= 0))
		return 0;

	while ((skb = mwg_prev_queue_peek(&peer->rx_queue)) != NULL &&
	       (state = atomic_read_acquire(&PACKET_CB(skb)->state)) !=
		       PACKET_STATE_UNCRYPTED) {
		mwg_prev_queue_drop_peeked(&peer->rx_queue);
		keypair = PACKET_CB(skb)->keypair;
		free = true;

		if (unlikely(state != PACKET_STATE_CRYPTED))
			goto next;

		if (unlikely(!mwg_noise_counter_validate(&keypair->receiving_counter,
							 PACKET_CB(skb)->nonce))) {
			net_dbg_ratelimited("%s: Packet has invalid nonce %llu (max %llu)\n",
					    peer->device->dev->name,
					    PACKET_CB(skb)->nonce,
					    keypair->receiving_counter.counter);
			atomic64_inc(&peer->drops_replay);
			goto next;
		}

		if (unlikely(mwg_socket_endpoint_from_skb(&endpoint, skb)))
			goto next;

		mwg_reset_packet(skb, false);
		packet_consume_data_done(peer, skb, &endpoint);
		free = false;

next:
		mwg_noise_keypair_put(keypair, false);
		mwg_peer_put(peer);
		if (unlikely(free))
			dev_kfree_skb(skb);

		if (++work_done >= budget)
			break;
	}

	if (work_done < budget)
		napi_complete_done(napi, work_done);

	return work_done;
}

void mwg_packet_decrypt_worker(struct work_struct *work)
{
	struct mwg_crypt_queue *queue = container_of(work,
			struct mwg_multicore_worker, work)->ptr;
	struct sk_buff *skb;

	while ((skb = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		enum packet_state state =
			likely(decrypt_packet(skb, PACKET_CB(skb)->keypair)) ?
				PACKET_STATE_CRYPTED : PACKET_STATE_DEAD;
		mwg_queue_enqueue_per_peer_rx(skb, state);
		if (need_resched())
			cond_resched();
	}
}

static void packet_consume_data(struct mwg_device *wg, struct sk_buff *skb)
{
	__le32 idx = ((struct message_data *)skb->data)->key_idx;
	struct index_hashtable_entry *entry;
	struct mwg_peer *peer = NULL;
	int ret;

	rcu_read_lock_bh();
	entry = mwg_index_hashtable_lookup(wg->index_hashtable,
					   INDEX_HASHTABLE_KEYPAIR, idx, &peer);
	PACKET_CB(skb)->keypair = entry ?
		container_of(entry, struct noise_keypair, entry) : NULL;
	if (unlikely(!mwg_noise_keypair_get(PACKET_CB(skb)->keypair))) {
		if (peer)
			atomic64_inc(&peer->drops_no_key);
		else
			atomic64_inc(&wg->rx_invalid);
		goto err_keypair;
	}

	if (unlikely(READ_ONCE(peer->is_dead)))
		goto err;

	ret = mwg_queue_enqueue_per_device_and_peer(&wg->decrypt_queue,
						    &peer->rx_queue, skb,
						    wg->packet_crypt_wq);
	if (unlikely(ret == -EPIPE))
		mwg_queue_enqueue_per_peer_rx(skb, PACKET_STATE_DEAD);
	if (likely(!ret || ret == -EPIPE)) {
		rcu_read_unlock_bh();
		return;
	}
err:
	mwg_noise_keypair_put(PACKET_CB(skb)->keypair, false);
err_keypair:
	rcu_read_unlock_bh();
	mwg_peer_put(peer);
	dev_kfree_skb(skb);
}

/*
 * Entry for every datagram: from the UDP socket (relay_id 0 in the cb,
 * outer headers in place) or injected by the agent (relay_id set, skb->data
 * at the WireGuard message, skb->protocol 0).
 */
void mwg_packet_receive(struct mwg_device *wg, struct sk_buff *skb)
{
	bool injected = PACKET_CB(skb)->relay_id != 0;
	int header_len;

	if (injected) {
		header_len = mwg_message_header_len(skb->data, skb->len);
		if (header_len && unlikely(!pskb_may_pull(skb, header_len)))
			header_len = -EINVAL;
	} else {
		header_len = prepare_skb_header(skb);
	}
	if (unlikely(header_len < 0))
		goto err_invalid;
	if (!header_len) {
		/* Not WireGuard: STUN or disco for the agent, or garbage. */
		if (injected)
			goto err_invalid;
		mwg_agent_receive(wg, skb); /* Consumes and counts. */
		return;
	}

	switch (SKB_TYPE_LE32(skb)) {
	case cpu_to_le32(MESSAGE_HANDSHAKE_INITIATION):
	case cpu_to_le32(MESSAGE_HANDSHAKE_RESPONSE):
	case cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE): {
		int cpu, ret = -EBUSY;

		if (unlikely(!rng_is_initialized()))
			goto drop;
		if (atomic_read(&wg->handshake_queue_len) >
		    MAX_QUEUED_INCOMING_HANDSHAKES / 2) {
			/* Under a flood, don't fight over the producer lock. */
			if (spin_trylock_bh(&wg->handshake_queue.ring.producer_lock)) {
				ret = __ptr_ring_produce(&wg->handshake_queue.ring,
							 skb);
				spin_unlock_bh(&wg->handshake_queue.ring.producer_lock);
			}
		} else {
			ret = ptr_ring_produce_bh(&wg->handshake_queue.ring, skb);
		}
		if (ret) {
drop:
			net_dbg_ratelimited("%s: Dropping handshake packet\n",
						wg->dev->name);
			atomic64_inc(&wg->rx_ratelimited);
			goto err;
		}
		atomic_inc(&wg->handshake_queue_len);
		cpu = mwg_cpumask_next_online(&wg->handshake_queue.last_cpu);
		queue_work_on(cpu, wg->handshake_receive_wq,
			&per_cpu_ptr(wg->handshake_queue.worker, cpu)->work);
		break;
	}
	case cpu_to_le32(MESSAGE_DATA):
		PACKET_CB(skb)->ds = injected ? 0 :
			ip_tunnel_get_dsfield(ip_hdr(skb), skb);
		packet_consume_data(wg, skb);
		break;
	default:
		WARN(1, "Non-exhaustive parsing of packet header lead to unknown packet type!\n");
		goto err;
	}
	return;

err_invalid:
	atomic64_inc(&wg->rx_invalid);
err:
	dev_kfree_skb(skb);
}
