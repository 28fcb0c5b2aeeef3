/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * meshwgd's configuration file (default /etc/meshwg/meshwgd.json): one JSON
 * object, every member optional, unknown members are errors (meshwgd
 * --help lists them).
 */
#ifndef MESHWGD_CONF_H
#define MESHWGD_CONF_H

#include <stddef.h>

#include "daemon.h"

/* What the file (and then the command line) sets. */
struct meshwgd_opts {
	struct daemon_config dc;
	char socket_group[64];
	char operator_user[64];
	int log_level;
};

/* Applies the configuration text (path only names it in messages) on top
 * of o. 0, or -1 with "path: what is wrong" in err; o may then be partly
 * changed (callers start from defaults each time). */
int conf_apply(struct meshwgd_opts *o, const char *text, const char *path, char *err,
	       size_t errlen);

#endif
