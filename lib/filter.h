/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* The kernel's ACL ruleset over netlink (docs/filter.md), for `meshwg filter'
 * and meshwgd. */
#ifndef MESHWG_FILTER_H
#define MESHWG_FILTER_H

#include "filterfmt.h"
#include "ipc.h"

/* The installed ruleset of ifname with its counters (fl_free it). */
int filter_get(struct ipc *ipc, const char *ifname, struct fl_ruleset *rs);
/* Installs rs as a whole; on refusal, ipc->extack says why. */
int filter_set(struct ipc *ipc, const char *ifname, const struct fl_ruleset *rs);
int filter_clear(struct ipc *ipc, const char *ifname);

#endif
