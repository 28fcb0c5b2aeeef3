/* SPDX-License-Identifier: GPL-2.0 */
/* The "meshwg" generic netlink family. */
#ifndef _MWG_NETLINK_H
#define _MWG_NETLINK_H

#include <net/genetlink.h>

extern struct genl_family mwg_genl_family;

enum mwg_mcgrp {
	MWG_MCGRP_AGENT,
	MWG_MCGRP_EVENTS,
};

struct mwg_device;
/*
 * The meshwg device named by exactly one of ifindex/ifname in net, with a
 * reference on its net_device (dev_put(wg->dev) when done), or ERR_PTR.
 */
struct mwg_device *mwg_netlink_lookup_device(struct net *net,
					     const struct nlattr *ifindex,
					     const struct nlattr *ifname,
					     struct netlink_ext_ack *extack);

/* 0 if attr holds a whole sockaddr_in or sockaddr_in6, else -EINVAL. */
int mwg_netlink_validate_sockaddr(const struct nlattr *attr,
				  struct netlink_ext_ack *extack);

int mwg_genetlink_init(void);
void mwg_genetlink_uninit(void);

#endif /* _MWG_NETLINK_H */
