/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* meshwg-derper's server: one epoll loop, HTTP(S), DERP clients. */
#ifndef MESHWG_RELAY_SERVER_H
#define MESHWG_RELAY_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "derp_frame.h"

struct server_config {
	const char *listen;		/* "ADDR:PORT", ":PORT", "[V6]:PORT" */
	SSL_CTX *tls;			/* NULL: plain HTTP */
	uint8_t private_key[32];
	uint8_t public_key[32];
	unsigned int max_conns;
	unsigned int handshake_timeout;	/* s: accept to ClientInfo */
	unsigned int idle_timeout;	/* s without a byte from a client; 0 off */
	unsigned int write_timeout;	/* s of no progress on pending output */
	unsigned int queue_depth;	/* packets per client queue */
	unsigned int stun_port;		/* UDP, on -a's address; 0: no STUN */
	bool stun_only;			/* no TCP listener (no key needed) */
	uint64_t rate_bytes_per_sec;	/* per-client read limit; 0 off */
	uint64_t rate_burst;		/* its bucket, >= 64 KiB + 32 */
};

/* Runs until SIGINT/SIGTERM; returns the exit status. */
int server_run(const struct server_config *cfg);

#endif
