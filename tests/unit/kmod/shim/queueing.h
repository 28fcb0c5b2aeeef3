/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test stand-in for kmod/queueing.h: the fields of the skb control block
 * that the protocol core (cookie.c) reads, with the same names.
 */
#ifndef SHIM_QUEUEING_H
#define SHIM_QUEUEING_H
#include "kernel.h"

struct packet_cb {
	u32 relay_id;
	u64 relay_sender;
};

#define PACKET_CB(skb) ((struct packet_cb *)((skb)->cb))
#endif
