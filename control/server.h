/* SPDX-License-Identifier: MIT */
/* meshwg-control serve: the HTTP(S) server (libmicrohttpd). */
#ifndef MWG_SERVER_H
#define MWG_SERVER_H

#include "config.h"
#include "../lib/util.h"

/* Loads the policy file (if configured) into the database, starts serving,
 * and returns when SIGINT/SIGTERM arrives. 0 on clean exit. */
int mwg_serve(const struct mwg_config *cfg, struct mwg_err *e);

#endif
