/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent channel: STUN/disco datagrams up to userspace, any datagram
 * out of the device's socket, relayed WireGuard datagrams both ways, and
 * events. Everything is rate limited per device and bounded in size.
 */
#ifndef _MWG_AGENT_H
#define _MWG_AGENT_H

#include <linux/types.h>
#include <net/genetlink.h>

struct mwg_device;
struct mwg_peer;
struct mwg_bucket;
struct sk_buff;

/* Largest STUN/disco payload passed up; bigger ones are dropped. */
#define MWG_AGENT_MAX_RX_PAYLOAD 2048

extern unsigned int mwg_agent_rx_rate, mwg_agent_rx_burst;
extern unsigned int mwg_relay_rate, mwg_relay_burst;
extern unsigned int mwg_inject_rate, mwg_inject_burst;

/* A struct mwg_bucket under its lock, over mwg_token_bucket_take(). */
void mwg_bucket_init(struct mwg_bucket *b);
bool mwg_bucket_take(struct mwg_bucket *b, unsigned int rate,
		     unsigned int burst);

/*
 * Called for a UDP payload that is not a WireGuard message. Consumes skb.
 * Returns true if it was delivered to the agent group.
 */
bool mwg_agent_receive(struct mwg_device *wg, struct sk_buff *skb);
/* Multicasts an outgoing WireGuard datagram for a relay peer. */
int mwg_agent_relay_send(struct mwg_device *wg, struct mwg_peer *peer,
			 u32 relay_id, const void *data, size_t len);
int mwg_agent_relay_send_skb(struct mwg_device *wg, struct mwg_peer *peer,
			     u32 relay_id, struct sk_buff *skb);

void mwg_agent_event_handshake_complete(struct mwg_peer *peer);
void mwg_agent_event_endpoint_changed(struct mwg_peer *peer);
void mwg_agent_event_wants_endpoint(struct mwg_peer *peer);

/* genl doit handlers. */
int mwg_agent_send_datagram(struct sk_buff *skb, struct genl_info *info);
int mwg_agent_inject_datagram(struct sk_buff *skb, struct genl_info *info);

#endif /* _MWG_AGENT_H */
