/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test stand-in for kmod/peer.h: the fields of struct mwg_peer that the
 * protocol core touches, with the same names; get/put live in shim.c.
 */
#ifndef SHIM_PEER_H
#define SHIM_PEER_H
#include "device.h"

struct mwg_peer {
	struct mwg_device *device;
	struct noise_keypairs keypairs;
	struct noise_handshake handshake;
	atomic64_t last_sent_handshake;
	struct cookie latest_cookie;
	struct hlist_node pubkey_hash;
	struct kref refcount;
	struct list_head allowedips_list;
	u64 internal_id;
	bool is_dead;
};

struct mwg_peer *mwg_peer_get_maybe_zero(struct mwg_peer *peer);
void mwg_peer_put(struct mwg_peer *peer);
#endif
