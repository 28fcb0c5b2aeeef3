// SPDX-License-Identifier: GPL-2.0
/*
 * Per-peer timers (WireGuard paper, section 6):
 *
 * retransmit_handshake: no response to an initiation within REKEY_TIMEOUT
 *   (plus jitter): send another, up to MAX_TIMER_HANDSHAKES times.
 * send_keepalive: we received data and sent nothing back for
 *   KEEPALIVE_TIMEOUT: send an empty data message.
 * new_handshake: we sent data and got nothing back for KEEPALIVE_TIMEOUT +
 *   REKEY_TIMEOUT: the session may be dead, start a new handshake.
 * zero_key_material: no new session for 3 * REJECT_AFTER_TIME: forget
 *   every key.
 * persistent_keepalive: an empty data message every N seconds of
 *   otherwise idle link, for NAT mappings.
 */
#include "timers.h"
#include "device.h"
#include "peer.h"
#include "queueing.h"
#include "socket.h"
#include "agent.h"

static void mod_peer_timer(struct mwg_peer *peer, struct timer_list *timer,
			   unsigned long expires)
{
	rcu_read_lock_bh();
	if (likely(netif_running(peer->device->dev) &&
		   !READ_ONCE(peer->is_dead)))
		mod_timer(timer, expires);
	rcu_read_unlock_bh();
}

static unsigned long jitter(void)
{
	return get_random_u32_below(REKEY_TIMEOUT_JITTER_MAX_JIFFIES);
}

static void expired_retransmit_handshake(struct timer_list *timer)
{
	struct mwg_peer *peer = from_timer(peer, timer,
					   timer_retransmit_handshake);

	if (peer->timer_handshake_attempts > MAX_TIMER_HANDSHAKES) {
		pr_debug("%s: Handshake for peer %llu did not complete after %u attempts, giving up\n",
			 peer->device->dev->name, peer->internal_id,
			 peer->timer_handshake_attempts);
		del_timer(&peer->timer_send_keepalive);
		/* Nothing queued should wait for a handshake that won't come. */
		mwg_packet_purge_staged_packets(peer);
		/* Unless a session comes along, forget the keys for good. */
		if (!timer_pending(&peer->timer_zero_key_material))
			mod_peer_timer(peer, &peer->timer_zero_key_material,
				       jiffies + REJECT_AFTER_TIME * 3 * HZ);
		return;
	}
	++peer->timer_handshake_attempts;
	pr_debug("%s: Handshake for peer %llu did not complete after %llu seconds, retrying (try %u)\n",
		 peer->device->dev->name, peer->internal_id, REKEY_TIMEOUT,
		 peer->timer_handshake_attempts + 1);
	/* The source address may be what's wrong; pick a fresh one. */
	mwg_socket_clear_peer_endpoint_src(peer);
	mwg_packet_send_queued_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct timer_list *timer)
{
	struct mwg_peer *peer = from_timer(peer, timer, timer_send_keepalive);

	mwg_packet_send_keepalive(peer);
	if (peer->timer_need_another_keepalive) {
		peer->timer_need_another_keepalive = false;
		mod_peer_timer(peer, &peer->timer_send_keepalive,
			       jiffies + KEEPALIVE_TIMEOUT * HZ);
	}
}

static void expired_new_handshake(struct timer_list *timer)
{
	struct mwg_peer *peer = from_timer(peer, timer, timer_new_handshake);

	pr_debug("%s: Retrying handshake with peer %llu: sent data, heard nothing back\n",
		 peer->device->dev->name, peer->internal_id);
	mwg_socket_clear_peer_endpoint_src(peer);
	mwg_packet_send_queued_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct timer_list *timer)
{
	struct mwg_peer *peer = from_timer(peer, timer,
					   timer_zero_key_material);

	rcu_read_lock_bh();
	if (!READ_ONCE(peer->is_dead)) {
		mwg_peer_get(peer);
		/* The work item owns the reference from here. */
		if (!queue_work(peer->device->handshake_send_wq,
				&peer->clear_peer_work))
			mwg_peer_put(peer);
	}
	rcu_read_unlock_bh();
}

static void queued_expired_zero_key_material(struct work_struct *work)
{
	struct mwg_peer *peer = container_of(work, struct mwg_peer,
					     clear_peer_work);

	pr_debug("%s: Zeroing out keys for peer %llu after %llu seconds without a new session\n",
		 peer->device->dev->name, peer->internal_id,
		 REJECT_AFTER_TIME * 3);
	mwg_noise_handshake_clear(&peer->handshake);
	mwg_noise_keypairs_clear(&peer->keypairs);
	mwg_peer_put(peer);
}

static void expired_send_persistent_keepalive(struct timer_list *timer)
{
	struct mwg_peer *peer = from_timer(peer, timer,
					   timer_persistent_keepalive);

	if (likely(peer->persistent_keepalive_interval))
		mwg_packet_send_keepalive(peer);
}

/* A data packet (not a keepalive) went out. */
void mwg_timers_data_sent(struct mwg_peer *peer)
{
	if (!timer_pending(&peer->timer_new_handshake))
		mod_peer_timer(peer, &peer->timer_new_handshake,
			       jiffies + (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * HZ +
			       jitter());
}

/* A data packet (not a keepalive) came in. */
void mwg_timers_data_received(struct mwg_peer *peer)
{
	if (likely(netif_running(peer->device->dev))) {
		if (!timer_pending(&peer->timer_send_keepalive))
			mod_peer_timer(peer, &peer->timer_send_keepalive,
				       jiffies + KEEPALIVE_TIMEOUT * HZ);
		else
			peer->timer_need_another_keepalive = true;
	}
}

/* Any authenticated packet (handshake, data or keepalive) went out. */
void mwg_timers_any_authenticated_packet_sent(struct mwg_peer *peer)
{
	del_timer(&peer->timer_send_keepalive);
}

/* Any authenticated packet came in. */
void mwg_timers_any_authenticated_packet_received(struct mwg_peer *peer)
{
	del_timer(&peer->timer_new_handshake);
}

/* We sent an initiation. */
void mwg_timers_handshake_initiated(struct mwg_peer *peer)
{
	mod_peer_timer(peer, &peer->timer_retransmit_handshake,
		       jiffies + REKEY_TIMEOUT * HZ + jitter());
}

/*
 * A handshake completed: the initiator got the response, or the responder
 * got the first data message with the new keys.
 */
void mwg_timers_handshake_complete(struct mwg_peer *peer)
{
	del_timer(&peer->timer_retransmit_handshake);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	ktime_get_real_ts64(&peer->walltime_last_handshake);
	mwg_agent_event_handshake_complete(peer);
}

/* A session was derived (either side). */
void mwg_timers_session_derived(struct mwg_peer *peer)
{
	mod_peer_timer(peer, &peer->timer_zero_key_material,
		       jiffies + REJECT_AFTER_TIME * 3 * HZ);
}

/* Any authenticated packet went in or out. */
void mwg_timers_any_authenticated_packet_traversal(struct mwg_peer *peer)
{
	u16 interval = READ_ONCE(peer->persistent_keepalive_interval);

	if (interval)
		mod_peer_timer(peer, &peer->timer_persistent_keepalive,
			       jiffies + interval * HZ);
}

void mwg_timers_init(struct mwg_peer *peer)
{
	timer_setup(&peer->timer_retransmit_handshake,
		    expired_retransmit_handshake, 0);
	timer_setup(&peer->timer_send_keepalive, expired_send_keepalive, 0);
	timer_setup(&peer->timer_new_handshake, expired_new_handshake, 0);
	timer_setup(&peer->timer_zero_key_material,
		    expired_zero_key_material, 0);
	timer_setup(&peer->timer_persistent_keepalive,
		    expired_send_persistent_keepalive, 0);
	INIT_WORK(&peer->clear_peer_work, queued_expired_zero_key_material);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	peer->timer_need_another_keepalive = false;
}

void mwg_timers_stop(struct mwg_peer *peer)
{
	timer_delete_sync(&peer->timer_retransmit_handshake);
	timer_delete_sync(&peer->timer_send_keepalive);
	timer_delete_sync(&peer->timer_new_handshake);
	timer_delete_sync(&peer->timer_zero_key_material);
	timer_delete_sync(&peer->timer_persistent_keepalive);
	flush_work(&peer->clear_peer_work);
}
