/* SPDX-License-Identifier: GPL-2.0 */
/* The device's UDP sockets (v4 and v6, one port) and endpoint handling. */
#ifndef _MWG_SOCKET_H
#define _MWG_SOCKET_H

#include <linux/netdevice.h>
#include <linux/udp.h>
#include <linux/if_vlan.h>
#include <linux/if_ether.h>

struct mwg_device;
struct mwg_peer;
struct mwg_endpoint;

int mwg_socket_init(struct mwg_device *wg, u16 port);
void mwg_socket_reinit(struct mwg_device *wg, struct sock *new4,
		       struct sock *new6);

int mwg_socket_send_buffer_to_peer(struct mwg_peer *peer, void *data,
				   size_t len, u8 ds);
int mwg_socket_send_skb_to_peer(struct mwg_peer *peer, struct sk_buff *skb,
				u8 ds);
int mwg_socket_send_buffer_as_reply_to_skb(struct mwg_device *wg,
					   struct sk_buff *in_skb,
					   void *out_buffer, size_t len);
/* Sends one datagram from the device's socket to addr (agent channel). */
int mwg_socket_send_buffer_to_addr(struct mwg_device *wg,
				   const struct sockaddr *addr,
				   const void *data, size_t len);

int mwg_socket_endpoint_from_skb(struct mwg_endpoint *endpoint,
				 const struct sk_buff *skb);
void mwg_socket_set_peer_endpoint(struct mwg_peer *peer,
				  const struct mwg_endpoint *endpoint);
void mwg_socket_set_peer_endpoint_from_packet(struct mwg_peer *peer,
					      const struct mwg_endpoint *endpoint);
void mwg_socket_set_peer_endpoint_from_skb(struct mwg_peer *peer,
					   const struct sk_buff *skb);
void mwg_socket_clear_peer_endpoint_src(struct mwg_peer *peer);

#endif /* _MWG_SOCKET_H */
