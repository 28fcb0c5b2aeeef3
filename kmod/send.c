// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit path. Packets from ndo_start_xmit are staged per peer; when the
 * peer has a usable session they get nonces, go to the device-wide encrypt
 * ring (any CPU) and, in the same order, onto the peer's tx queue, from
 * which one worker per peer sends them once encrypted. Handshake messages
 * are sent from their own workqueue.
 */
#include "queueing.h"
#include "timers.h"
#include "device.h"
#include "peer.h"
#include "socket.h"
#include "messages.h"
#include "cookie.h"
#include "agent.h"

#include <linux/uio.h>
#include <linux/inetdevice.h>
#include <linux/socket.h>
#include <net/ip_tunnels.h>
#include <net/udp.h>
#include <net/sock.h>

static void send_handshake_initiation(struct mwg_peer *peer)
{
	struct message_handshake_initiation packet;

	if (!mwg_birthdate_has_expired(atomic64_read(&peer->last_sent_handshake),
				       REKEY_TIMEOUT))
		return; /* Sent one recently enough. */
	if (READ_ONCE(peer->is_dead))
		return;

	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	net_dbg_ratelimited("%s: Sending handshake initiation to peer %llu\n",
			    peer->device->dev->name, peer->internal_id);

	if (mwg_noise_handshake_create_initiation(&packet, &peer->handshake)) {
		mwg_cookie_add_mac_to_packet(&packet, sizeof(packet), peer);
		mwg_timers_any_authenticated_packet_traversal(peer);
		mwg_timers_any_authenticated_packet_sent(peer);
		atomic64_set(&peer->last_sent_handshake,
			     ktime_get_coarse_boottime_ns());
		atomic64_inc(&peer->handshake_attempts);
		mwg_socket_send_buffer_to_peer(peer, &packet, sizeof(packet),
					       HANDSHAKE_DSCP);
		mwg_timers_handshake_initiated(peer);
	}
	memzero_explicit(&packet, sizeof(packet));
}

void mwg_packet_handshake_send_worker(struct work_struct *work)
{
	struct mwg_peer *peer = container_of(work, struct mwg_peer,
					     transmit_handshake_work);

	send_handshake_initiation(peer);
	mwg_peer_put(peer);
}

void mwg_packet_send_queued_handshake_initiation(struct mwg_peer *peer,
						 bool is_retry)
{
	if (!is_retry)
		peer->timer_handshake_attempts = 0;

	rcu_read_lock_bh();
	/*
	 * Checked here too, not only in the worker, so that a flood of
	 * packets does not mean a flood of work items.
	 */
	if (!mwg_birthdate_has_expired(atomic64_read(&peer->last_sent_handshake),
				       REKEY_TIMEOUT) ||
	    unlikely(READ_ONCE(peer->is_dead)))
		goto out;

	mwg_peer_get(peer);
	/* The work item owns the reference, unless it was already queued. */
	if (!queue_work(peer->device->handshake_send_wq,
			&peer->transmit_handshake_work))
		mwg_peer_put(peer);
out:
	rcu_read_unlock_bh();
}

void mwg_packet_send_handshake_response(struct mwg_peer *peer)
{
	struct message_handshake_response packet;

	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	net_dbg_ratelimited("%s: Sending handshake response to peer %llu\n",
			    peer->device->dev->name, peer->internal_id);

	if (mwg_noise_handshake_create_response(&packet, &peer->handshake)) {
		mwg_cookie_add_mac_to_packet(&packet, sizeof(packet), peer);
		if (mwg_noise_handshake_begin_session(&peer->handshake,
						      &peer->keypairs)) {
			mwg_timers_session_derived(peer);
			mwg_timers_any_authenticated_packet_traversal(peer);
			mwg_timers_any_authenticated_packet_sent(peer);
			atomic64_set(&peer->last_sent_handshake,
				     ktime_get_coarse_boottime_ns());
			mwg_socket_send_buffer_to_peer(peer, &packet,
						       sizeof(packet),
						       HANDSHAKE_DSCP);
		}
	}
	memzero_explicit(&packet, sizeof(packet));
}

void mwg_packet_send_handshake_cookie(struct mwg_device *wg,
				      struct sk_buff *initiating_skb,
				      __le32 sender_index)
{
	struct message_handshake_cookie packet;

	net_dbg_ratelimited("%s: Sending cookie response for denied handshake message\n",
			    wg->dev->name);
	mwg_cookie_message_create(&packet, initiating_skb, sender_index,
				  &wg->cookie_checker);
	mwg_socket_send_buffer_as_reply_to_skb(wg, initiating_skb, &packet,
					       sizeof(packet));
}

/* Starts a new handshake before the current session gets old. */
static void keep_key_fresh(struct mwg_peer *peer)
{
	struct noise_keypair *keypair;
	bool send;

	rcu_read_lock_bh();
	keypair = rcu_dereference_bh(peer->keypairs.current_keypair);
	send = keypair && READ_ONCE(keypair->sending.is_valid) &&
	       (atomic64_read(&keypair->sending_counter) > REKEY_AFTER_MESSAGES ||
		(keypair->i_am_the_initiator &&
		 mwg_birthdate_has_expired(keypair->sending.birthdate,
					   REKEY_AFTER_TIME)));
	rcu_read_unlock_bh();

	if (unlikely(send))
		mwg_packet_send_queued_handshake_initiation(peer, false);
}

/* Bytes of zero padding to add so the length is a multiple of 16 (<= mtu). */
static unsigned int calculate_skb_padding(struct sk_buff *skb)
{
	unsigned int padded_size, last_unit = skb->len;

	if (unlikely(!PACKET_CB(skb)->mtu))
		return ALIGN(last_unit, MESSAGE_PADDING_MULTIPLE) - last_unit;

	/* GSO segments: only the last one is shorter than the mtu. */
	if (unlikely(last_unit > PACKET_CB(skb)->mtu))
		last_unit %= PACKET_CB(skb)->mtu;

	padded_size = min(PACKET_CB(skb)->mtu,
			  ALIGN(last_unit, MESSAGE_PADDING_MULTIPLE));
	return padded_size - last_unit;
}

static bool encrypt_packet(struct sk_buff *skb, struct noise_keypair *keypair)
{
	unsigned int padding_len, plaintext_len, trailer_len;
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct message_data *header;
	struct sk_buff *trailer;
	int num_frags;

	/*
	 * Hash the inner flow now: the hash stays with the skb, so fq, RPS and
	 * queue selection below us see the inner flows, not one per peer.
	 */
	skb_get_hash(skb);

	/* Finish a partial checksum before anything is appended. */
	if (unlikely(skb->ip_summed == CHECKSUM_PARTIAL &&
		     skb_checksum_help(skb)))
		return false;

	padding_len = calculate_skb_padding(skb);
	trailer_len = padding_len + noise_encrypted_len(0);
	plaintext_len = skb->len + padding_len;

	/* Room at the end for the padding and the tag... */
	num_frags = skb_cow_data(skb, trailer_len, &trailer);
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		return false;
	memset(skb_tail_pointer(trailer), 0, padding_len);

	/* ...and at the front for our header and the outer IP/UDP. */
	if (unlikely(skb_cow_head(skb, DATA_PACKET_HEAD_ROOM) < 0))
		return false;

	skb_set_inner_network_header(skb, 0);
	header = (struct message_data *)skb_push(skb, sizeof(*header));
	header->header.type = cpu_to_le32(MESSAGE_DATA);
	header->key_idx = keypair->remote_index;
	header->counter = cpu_to_le64(PACKET_CB(skb)->nonce);
	pskb_put(skb, trailer, trailer_len);

	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, sizeof(*header),
			 noise_encrypted_len(plaintext_len)) <= 0)
		return false;
	return chacha20poly1305_encrypt_sg_inplace(sg, plaintext_len, NULL, 0,
						   PACKET_CB(skb)->nonce,
						   keypair->sending.key);
}

void mwg_packet_send_keepalive(struct mwg_peer *peer)
{
	struct sk_buff *skb;

	if (skb_queue_empty_lockless(&peer->staged_packet_queue)) {
		skb = alloc_skb(DATA_PACKET_HEAD_ROOM + MESSAGE_MINIMUM_LENGTH,
				GFP_ATOMIC);
		if (unlikely(!skb))
			return;
		skb_reserve(skb, DATA_PACKET_HEAD_ROOM);
		skb->dev = peer->device->dev;
		PACKET_CB(skb)->mtu = skb->dev->mtu;
		skb_queue_tail(&peer->staged_packet_queue, skb);
		net_dbg_ratelimited("%s: Sending keepalive packet to peer %llu\n",
				    peer->device->dev->name, peer->internal_id);
	}
	/* Anything staged already proves liveness just as well. */
	mwg_packet_send_staged_packets(peer);
}

static void packet_create_data_done(struct mwg_peer *peer,
				    struct sk_buff *first)
{
	struct sk_buff *skb, *next;
	bool is_keepalive, data_sent = false;

	mwg_timers_any_authenticated_packet_traversal(peer);
	mwg_timers_any_authenticated_packet_sent(peer);
	skb_list_walk_safe(first, skb, next) {
		is_keepalive = skb->len == message_data_len(0);
		if (likely(!mwg_socket_send_skb_to_peer(peer, skb,
							PACKET_CB(skb)->ds) &&
			   !is_keepalive))
			data_sent = true;
	}

	if (likely(data_sent))
		mwg_timers_data_sent(peer);

	keep_key_fresh(peer);
}

void mwg_packet_tx_worker(struct work_struct *work)
{
	struct mwg_peer *peer = container_of(work, struct mwg_peer,
					     transmit_packet_work);
	struct noise_keypair *keypair;
	enum packet_state state;
	struct sk_buff *first;

	while ((first = mwg_prev_queue_peek(&peer->tx_queue)) != NULL &&
	       (state = atomic_read_acquire(&PACKET_CB(first)->state)) !=
		       PACKET_STATE_UNCRYPTED) {
		mwg_prev_queue_drop_peeked(&peer->tx_queue);
		keypair = PACKET_CB(first)->keypair;

		if (likely(state == PACKET_STATE_CRYPTED))
			packet_create_data_done(peer, first);
		else
			kfree_skb_list(first);

		/* Each list held one keypair and one peer reference. */
		mwg_noise_keypair_put(keypair, false);
		mwg_peer_put(peer);
		if (need_resched())
			cond_resched();
	}
}

void mwg_packet_encrypt_worker(struct work_struct *work)
{
	struct mwg_crypt_queue *queue = container_of(work,
			struct mwg_multicore_worker, work)->ptr;
	struct sk_buff *first, *skb, *next;

	while ((first = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		enum packet_state state = PACKET_STATE_CRYPTED;

		skb_list_walk_safe(first, skb, next) {
			if (likely(encrypt_packet(skb,
					PACKET_CB(first)->keypair))) {
				mwg_reset_packet(skb, true);
			} else {
				state = PACKET_STATE_DEAD;
				break;
			}
		}
		mwg_queue_enqueue_per_peer_tx(first, state);
		if (need_resched())
			cond_resched();
	}
}

static void packet_create_data(struct mwg_peer *peer, struct sk_buff *first)
{
	struct mwg_device *wg = peer->device;
	int ret = -EINVAL;

	rcu_read_lock_bh();
	if (unlikely(READ_ONCE(peer->is_dead)))
		goto err;

	ret = mwg_queue_enqueue_per_device_and_peer(&wg->encrypt_queue,
						    &peer->tx_queue, first,
						    wg->packet_crypt_wq);
	if (unlikely(ret == -EPIPE))
		mwg_queue_enqueue_per_peer_tx(first, PACKET_STATE_DEAD);
err:
	rcu_read_unlock_bh();
	if (likely(!ret || ret == -EPIPE))
		return;
	mwg_noise_keypair_put(PACKET_CB(first)->keypair, false);
	mwg_peer_put(peer);
	kfree_skb_list(first);
}

void mwg_packet_purge_staged_packets(struct mwg_peer *peer)
{
	spin_lock_bh(&peer->staged_packet_queue.lock);
	DEV_STATS_ADD(peer->device->dev, tx_dropped,
		      peer->staged_packet_queue.qlen);
	__skb_queue_purge(&peer->staged_packet_queue);
	spin_unlock_bh(&peer->staged_packet_queue.lock);
}

void mwg_packet_send_staged_packets(struct mwg_peer *peer)
{
	struct noise_keypair *keypair;
	struct sk_buff_head packets;
	struct sk_buff *skb;

	/* Take everything staged so far. */
	__skb_queue_head_init(&packets);
	spin_lock_bh(&peer->staged_packet_queue.lock);
	skb_queue_splice_init(&peer->staged_packet_queue, &packets);
	spin_unlock_bh(&peer->staged_packet_queue.lock);
	if (unlikely(skb_queue_empty(&packets)))
		return;

	rcu_read_lock_bh();
	keypair = mwg_noise_keypair_get(
		rcu_dereference_bh(peer->keypairs.current_keypair));
	rcu_read_unlock_bh();
	if (unlikely(!keypair))
		goto out_nokey;
	if (unlikely(!READ_ONCE(keypair->sending.is_valid)))
		goto out_nokey;
	if (unlikely(mwg_birthdate_has_expired(keypair->sending.birthdate,
					       REJECT_AFTER_TIME)))
		goto out_invalid;

	skb_queue_walk(&packets, skb) {
		/* ECN bits of the inner header carry over to the outer one. */
		PACKET_CB(skb)->ds = ip_tunnel_ecn_encap(0, ip_hdr(skb), skb);
		PACKET_CB(skb)->nonce =
			atomic64_inc_return(&keypair->sending_counter) - 1;
		if (unlikely(PACKET_CB(skb)->nonce >= REJECT_AFTER_MESSAGES))
			goto out_invalid;
	}

	/* The list goes on as one unit, holding one keypair reference. */
	packets.prev->next = NULL;
	mwg_peer_get(keypair->entry.peer);
	PACKET_CB(packets.next)->keypair = keypair;
	packet_create_data(peer, packets.next);
	return;

out_invalid:
	WRITE_ONCE(keypair->sending.is_valid, false);
out_nokey:
	mwg_noise_keypair_put(keypair, false);

	/* Waiting for a handshake must not hold the senders' socket memory. */
	skb_queue_walk(&packets, skb)
		skb_orphan(skb);
	/* Back in front of anything staged meanwhile, in order. */
	spin_lock_bh(&peer->staged_packet_queue.lock);
	skb_queue_splice(&packets, &peer->staged_packet_queue);
	spin_unlock_bh(&peer->staged_packet_queue.lock);

	/* No usable session: ask for one. */
	mwg_packet_send_queued_handshake_initiation(peer, false);
}
