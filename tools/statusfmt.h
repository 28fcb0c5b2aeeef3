/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What `meshwg status', `meshwg ip' and `meshwg whois' print, computed from
 * the STATUS object meshwgd sends (docs/agent.md). Pure functions: no I/O
 * but the FILE they are given, the current time passed in.
 */
#ifndef MESHWG_STATUSFMT_H
#define MESHWG_STATUSFMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <cjson/cJSON.h>

/* "0 B", "1023 B", "1.5 KiB", "12.0 MiB", ... */
void sf_bytes(uint64_t n, char *buf, size_t len);
/* "-" for then == 0, else "12s ago", "5m ago", "3h ago", "2d ago". */
void sf_ago(time_t now, time_t then, char *buf, size_t len);

/*
 * The one-line explanation of a backend state other than Running (e.g.
 * NoModule: "meshwg kernel module not loaded (run: modprobe meshwg)"),
 * or NULL when Running.
 */
const char *sf_state_text(const cJSON *status, char *buf, size_t len);

/*
 * `meshwg status': the state line when not Running, then one line for this
 * node and one per peer (IP, DNS name, user or tags, connection, last
 * handshake, rx, tx, ACL drops), then the filter rules with their hits, and
 * a note when the control server is unreachable. 0, or -EINVAL (message
 * in err) when status is not a STATUS object.
 */
int sf_status(FILE *f, const cJSON *status, time_t now, char *err, size_t errlen);

/*
 * `meshwg ip': the addresses (without prefix length) of this node, or of
 * the peer named by hostname, DNS name (with or without the final dot) or
 * one of its addresses; family 0, AF_INET or AF_INET6. One per line.
 * 0, or -ENOENT (no such node / no address of that family) with err set.
 */
int sf_ip(FILE *f, const cJSON *status, int family, const char *who, char *err, size_t errlen);

/* `meshwg whois': the node (peer or this one) with address ip. 0, -EINVAL
 * (not an IP address) or -ENOENT ("no node has IP X"), err set. */
int sf_whois(FILE *f, const cJSON *status, const char *ip, char *err, size_t errlen);

#endif
