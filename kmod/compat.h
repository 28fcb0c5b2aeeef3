/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Portability between the kernels meshwg builds against (Debian 12's 6.1 and
 * bookworm-backports' 6.12). Only feature probes on what the headers define,
 * never version checks.
 */
#ifndef _MWG_COMPAT_H
#define _MWG_COMPAT_H

#include <linux/netdevice.h>
#include <net/genetlink.h>

/* skb_gso_segment() moved to its own header (probed in Kbuild). */
#ifdef MWG_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/* Lockless transmit: a feature bit on older kernels, a device flag later. */
static inline void mwg_compat_set_lltx(struct net_device *dev)
{
#ifdef NETIF_F_LLTX
	dev->features |= NETIF_F_LLTX;
#else
	dev->lltx = true;
#endif
}

/*
 * Multicast groups readable only with CAP_NET_ADMIN over the netns. The flag
 * came with 6.6 and stable updates (Debian 12's 6.1 has it). Kernels without
 * it have no bind-time hook for the family either (6.1's genl_family has no
 * mcast_bind), so there the groups would be readable by anyone: refuse to
 * build rather than hand STUN/disco payloads and events to every user.
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "meshwg needs GENL_MCAST_CAP_NET_ADMIN (Linux 6.6 or a stable kernel with it)"
#endif
#define MWG_MCGRP_ADMIN_ONLY .flags = GENL_MCAST_CAP_NET_ADMIN,

#endif /* _MWG_COMPAT_H */
