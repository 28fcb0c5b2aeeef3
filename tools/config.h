/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Parsing of wg(8)-style values, `set` arguments and configuration files.
 * Every function that can fail writes a one-line reason into err and leaves
 * its output untouched (or frees what it allocated).
 */
#ifndef MESHWG_CONFIG_H
#define MESHWG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containers.h"

#define ERR_LEN 512

bool parse_key(uint8_t key[KEY_LEN], const char *value, char *err, size_t errlen);
bool parse_port(uint16_t *port, const char *value, char *err, size_t errlen);
bool parse_fwmark(uint32_t *fwmark, const char *value, char *err, size_t errlen);
bool parse_keepalive(uint16_t *interval, const char *value, char *err, size_t errlen);
/* "ip", "ip/cidr" (IPv4 or IPv6). */
bool parse_allowedip(struct mw_allowedip *ip, const char *value, char *err, size_t errlen);
/* Comma-separated allowed IPs appended to peer; "" adds nothing. */
bool parse_allowedips(struct mw_peer *peer, const char *value, char *err, size_t errlen);
/* "a.b.c.d:port", "[v6]:port", "host:port" (resolved once) or "relay:N". */
bool parse_endpoint(struct mw_peer *peer, const char *value, char *err, size_t errlen);
/* Reads a key file; an empty file yields the all-zero key ("remove"). */
bool read_keyfile(uint8_t key[KEY_LEN], const char *path, char *err, size_t errlen);

/*
 * Parses a whole configuration file's text. name is used in messages
 * ("name:LINE: reason"). With replace (setconf), the device gets
 * DEV_REPLACE_PEERS. Returns NULL with err filled on any error.
 */
struct mw_device *config_parse(const char *text, size_t len, const char *name, bool replace,
			       char *err, size_t errlen);
/* Reads a file (or "-" for stdin) and parses it. */
struct mw_device *config_read_file(const char *path, bool replace, char *err, size_t errlen);

/* Parses the arguments of `set <iface> ...` (argv without the iface). */
struct mw_device *config_parse_args(int argc, char *argv[], char *err, size_t errlen);

/*
 * syncconf: appends to want a removal for every peer of have that want lacks.
 * 0, or -1 when out of memory (want keeps the removals added so far).
 */
int config_add_removals(struct mw_device *want, const struct mw_device *have);

#endif
