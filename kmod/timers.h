/* SPDX-License-Identifier: GPL-2.0 */
/* The five per-peer timers of the WireGuard state machine. */
#ifndef _MWG_TIMERS_H
#define _MWG_TIMERS_H

#include <linux/ktime.h>

struct mwg_peer;

void mwg_timers_init(struct mwg_peer *peer);
void mwg_timers_stop(struct mwg_peer *peer);
void mwg_timers_data_sent(struct mwg_peer *peer);
void mwg_timers_data_received(struct mwg_peer *peer);
void mwg_timers_any_authenticated_packet_sent(struct mwg_peer *peer);
void mwg_timers_any_authenticated_packet_received(struct mwg_peer *peer);
void mwg_timers_handshake_initiated(struct mwg_peer *peer);
void mwg_timers_handshake_complete(struct mwg_peer *peer);
void mwg_timers_session_derived(struct mwg_peer *peer);
void mwg_timers_any_authenticated_packet_traversal(struct mwg_peer *peer);

static inline bool mwg_birthdate_has_expired(u64 birthday_nanoseconds,
					     u64 expiration_seconds)
{
	return (s64)(birthday_nanoseconds + expiration_seconds * NSEC_PER_SEC)
		<= (s64)ktime_get_coarse_boottime_ns();
}

#endif /* _MWG_TIMERS_H */
