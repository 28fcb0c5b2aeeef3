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

/* Multicast groups readable only with CAP_NET_ADMIN, when supported. */
#ifdef GENL_MCAST_CAP_NET_ADMIN
#define MWG_MCGRP_ADMIN_ONLY .flags = GENL_MCAST_CAP_NET_ADMIN,
#else
#define MWG_MCGRP_ADMIN_ONLY
#endif

#endif /* _MWG_COMPAT_H */
