/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Output of `meshwg wg show`, on stdout. */
#ifndef MESHWG_SHOW_H
#define MESHWG_SHOW_H

#include <stdbool.h>

#include "containers.h"

/* wg's human layout; sorts dev's peers by latest handshake first. */
void show_pretty(struct mw_device *dev);
/* `dump': wg's tab-separated columns plus meshwg's per-peer counters. */
void show_dump(const struct mw_device *dev, bool with_interface);
/* One field (see show_valid_field), tab-separated like wg. */
void show_field(const struct mw_device *dev, const char *param, bool with_interface);
bool show_valid_field(const char *param);

#endif
