/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * meshwgd's kernel side: the meshwg link (rtnl: create, addresses, routes),
 * the device and its peers (generic netlink, programmed by difference), the
 * packet filter, and the module's event group.
 */
#ifndef MESHWGD_KERN_H
#define MESHWGD_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <cjson/cJSON.h>

#include "loop.h"

struct kern_config {
	char ifname[IFNAMSIZ];      /* default "meshwg0" */
	uint16_t listen_port;       /* 0 = kernel picks */
	uint32_t fwmark;
	bool accept_routes;         /* install peers' approved subnet routes (allowed-ips + routes) */
	char tailnet_v4[64], tailnet_v6[64]; /* routed to the interface: "100.64.0.0/10", "fd7a:115c:a1e0::/48" */
};
struct kern;
/* Opens generic netlink (family "meshwg") + rtnl. Fails with err "meshwg kernel module not
 * loaded (run: modprobe meshwg)" when the family does not resolve: returns -ENOENT then. */
int kern_open(struct kern **k, const struct kern_config *cfg, struct loop *l, char *err, size_t errlen);
void kern_close(struct kern *k);          /* closes sockets, never deletes the link */
int kern_reconfigure(struct kern *k, const struct kern_config *cfg); /* SIGHUP / prefs change */
/* Creates the link if absent (adopts an existing one: reads its peers so the next apply is
 * a diff, not a rewrite), sets private key + listen port + fwmark, brings it up. */
int kern_up(struct kern *k, const uint8_t private_key[32], char *err, size_t errlen);
int kern_set_private_key(struct kern *k, const uint8_t private_key[32]);  /* rotation */
uint16_t kern_listen_port(struct kern *k); /* the port actually bound */
int kern_ifindex(struct kern *k);
/* Makes the interface match the netmap (docs/protocol.md FULL shape: self, peers,
 * packet_filter): addresses of self, routes, peers BY DIFFERENCE against what it last
 * programmed (only changed peers are sent, batched), filter only when it changed (upload
 * the new filter BEFORE adding peers, remove peers BEFORE relaxing... see H2 brief). */
struct kern_apply_stats {
	unsigned added, removed, changed, unchanged, messages;
	unsigned built;		/* desired peer entries made from the netmap / the delta */
	bool filter_changed;
	bool delta;		/* kern_apply_delta applied the delta on its own */
	unsigned route_msgs;	/* routes the kernel listed for the route sync (0: no sync) */
	uint64_t usec;
};
int kern_apply(struct kern *k, const cJSON *netmap, struct kern_apply_stats *st, char *err, size_t errlen);
/* The same for one DELTA message (docs/protocol.md) when netmap is the netmap
 * after it (mwgc_netmap_apply): only the peers the delta names are built and
 * compared (unchanged/added/... count only those), the filter only when the
 * delta has packet_filter, addresses and routes only when it has self (routes
 * also when it names peers and accept_routes is on). Whenever the delta cannot
 * stand on its own (no full apply since kern_up / kern_reconfigure / a failed
 * apply, an id it does not know, a key twice, anything malformed), this is
 * kern_apply(k, netmap, ...) and st->delta is false. */
int kern_apply_delta(struct kern *k, const cJSON *netmap, const cJSON *delta,
		     struct kern_apply_stats *st, char *err, size_t errlen);
/*
 * The same in steps, so that a loop stays responsive while thousands of
 * peers are programmed: kern_apply_start parses everything (a malformed
 * netmap changes nothing), syncs the addresses and sends at most max_peers
 * peer operations (0: all); then each kern_apply_continue sends at most
 * max_peers more, until the filter and the routes are done. Both return 1
 * while there is more to do (st: the stats so far), else kern_apply's
 * result. Between steps the bookkeeping matches what was sent, kern_status
 * may be called, and the ordering rules hold (narrowing before a new filter,
 * widening after it, routes last). kern_apply_start with delta NULL is
 * kern_apply, with a delta kern_apply_delta; it cancels an apply in
 * progress, as do kern_apply_cancel, kern_up, kern_down and kern_close (the
 * next delta is then applied in full). st->usec counts the steps' time only.
 */
int kern_apply_start(struct kern *k, const cJSON *netmap, const cJSON *delta, size_t max_peers,
		     struct kern_apply_stats *st, char *err, size_t errlen);
int kern_apply_continue(struct kern *k, size_t max_peers, struct kern_apply_stats *st, char *err,
			size_t errlen);
void kern_apply_cancel(struct kern *k);
int kern_down(struct kern *k);             /* deletes the link, forgets programmed state */
/* Events (group "events"): the loop calls back into kern; kern calls cb. */
enum kern_event_type { KERN_EV_HANDSHAKE = 1, KERN_EV_ENDPOINT = 2, KERN_EV_WANTS_ENDPOINT = 3, KERN_EV_ACL_DENY = 4 };
struct kern_event { enum kern_event_type type; uint8_t public_key[32]; char endpoint[64]; /* "ip:port" or "" */ };
typedef void (*kern_event_cb)(const struct kern_event *ev, void *arg);
void kern_set_event_cb(struct kern *k, kern_event_cb cb, void *arg);
/* Kernel view for `status`: {"interface", "listen_port", "public_key",
 *  "peers": {"<base64 pubkey>": {"endpoint": "ip:port"|null, "last_handshake": unix_s,
 *            "rx_bytes", "tx_bytes", "acl_drops"}},
 *  "filter": null | <fl_to_json() object of the installed ruleset, with per-rule hit counters>} */
cJSON *kern_status(struct kern *k);

#endif
