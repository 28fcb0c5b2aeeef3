/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Inside struct kern: shared by kern.c, kern_link.c and kern_events.c. */
#ifndef MESHWGD_KERN_INT_H
#define MESHWGD_KERN_INT_H

#include <stdarg.h>

#include "ipc.h"
#include "kern.h"
#include "kern_peers.h"
#include "log.h"

struct nl_sock;
struct kjob;

struct kern {
	struct kern_config cfg;
	struct loop *loop;
	struct ipc ipc;			/* requests to the meshwg family */
	struct ipc ev;			/* the "events" group; ev.sk NULL when not joined */
	struct nl_sock *rt;		/* rtnetlink */
	int rt_error;			/* last rtnl error (negative errno), 0 if none */
	char rt_extack[256];
	int ifindex;			/* 0: no link (before kern_up, after kern_down) */
	uint16_t listen_port;		/* as read back from the kernel */
	struct kpeers peers;		/* what the interface has, as far as we know */
	struct kids ids;		/* netmap peer ids of the last full apply, for deltas */
	bool filter_known;		/* filter_json is what is installed */
	char *filter_json;		/* installed ruleset (netmap text), NULL: none */
	struct kprefix *addrs;		/* interface addresses we installed */
	size_t n_addrs;
	kern_event_cb cb;
	void *cb_arg;
	struct kjob *job;		/* an apply in progress (kern_apply_start), or NULL */
};

/* rtnetlink half (kern_link.c) */
int klink_open(struct kern *k);
void klink_close(struct kern *k);
/* Finds cfg.ifname: 1 and its ifindex when it is a meshwg link, 0 when absent,
 * -EEXIST when another kind of link has the name. */
int klink_find(struct kern *k, int *ifindex, char *err, size_t errlen);
int klink_create(struct kern *k, char *err, size_t errlen);
int klink_set_up(struct kern *k, char *err, size_t errlen);
int klink_delete(struct kern *k);
/* Makes the addresses of the link exactly want (of those meshwgd owns). */
int klink_sync_addrs(struct kern *k, const struct kprefix *want, size_t n, char *err, size_t errlen);
/* Makes meshwgd's routes through the link exactly want. *dumped: the route
 * messages the kernel sent for the dump of what is there (filtered by the
 * kernel since 4.20: ours only). */
int klink_sync_routes(struct kern *k, const struct kprefix *want, size_t n, unsigned *dumped,
		      char *err, size_t errlen);

/* events (kern_events.c) */
int kevents_open(struct kern *k, char *err, size_t errlen);
void kevents_close(struct kern *k);


#endif
