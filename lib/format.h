/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Text forms shared by show, showconf and debug. */
#ifndef MESHWG_FORMAT_H
#define MESHWG_FORMAT_H

#include <stddef.h>
#include <sys/socket.h>

#include "containers.h"

#define FMT_ADDR_LEN 96

/* "1.2.3.4:5", "[::1]:5" (with %scope when set). */
const char *fmt_sockaddr(char buf[FMT_ADDR_LEN], const struct sockaddr *sa);
/* fmt_sockaddr, "relay:N", or NULL when the peer has no endpoint. */
const char *fmt_endpoint(char buf[FMT_ADDR_LEN], const struct mw_peer *peer);
/* The address of an allowed IP, without the mask. */
const char *fmt_ip(char buf[FMT_ADDR_LEN], const struct mw_allowedip *ip);

#endif
