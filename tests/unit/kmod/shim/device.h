/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test stand-in for kmod/device.h: only the fields of struct mwg_device that
 * the protocol core touches, with the same names.
 */
#ifndef SHIM_DEVICE_H
#define SHIM_DEVICE_H
#include "kernel.h"
#include "noise.h"
#include "cookie.h"
#include "allowedips.h"
#include "peerlookup.h"

struct mwg_device {
	struct net_device *dev;
	struct noise_static_identity static_identity;
	struct cookie_checker cookie_checker;
	struct pubkey_hashtable *peer_hashtable;
	struct index_hashtable *index_hashtable;
	struct allowedips peer_allowedips;
	struct mutex device_update_lock;
};
#endif
