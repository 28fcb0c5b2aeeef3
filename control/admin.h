/* SPDX-License-Identifier: MIT */
/* Admin operations, shared by the CLI (on the database) and the admin HTTP
 * API. Each takes JSON arguments and returns a JSON result. */
#ifndef MWG_ADMIN_H
#define MWG_ADMIN_H

#include <cjson/cJSON.h>
#include "config.h"
#include "store.h"

/* op: "users.create", "nodes.approve", ... (see docs/protocol.md, "Admin
 * API"). args may be NULL. Returns 0 and *out (caller owns), or -1 with e. */
int mwg_admin_exec(struct mwg_store *st, const struct mwg_config *cfg, const char *op,
		   const cJSON *args, cJSON **out, struct mwg_err *e);
/* true if op only reads. */
bool mwg_admin_readonly(const char *op);

#endif
