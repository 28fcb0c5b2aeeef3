/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Generic netlink conversation with meshwg.ko (libnl-genl-3). */
#ifndef MESHWG_IPC_H
#define MESHWG_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <netlink/netlink.h>

#include "containers.h"

struct ipc {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	int error;		/* last kernel error, negative errno, 0 if none */
	char extack[512];	/* the kernel's extack message for it, "" if none */
};

/*
 * Opens a socket and resolves the family. On failure prints the reason
 * (including "meshwg kernel module not loaded (try: modprobe meshwg)") and
 * returns a negative errno.
 */
int ipc_open(struct ipc *ipc);
void ipc_close(struct ipc *ipc);
/* ipc_open for any generic netlink family (tests use "nlctrl"). */
int ipc_open_family(struct ipc *ipc, const char *family);
/* The same, with the reason written to err instead of stderr (meshwgd). */
int ipc_open_quiet(struct ipc *ipc, const char *family, char *err, size_t errlen);
/* Sends msg and waits for its ack: 0, or the kernel's error with ipc->extack. */
int ipc_request(struct ipc *ipc, struct nl_msg *msg);

/*
 * One message of a dump's reply, for ipc_dump: 0 to go on, or a negative
 * errno that is the dump's result (fn is not called again; the rest of the
 * reply is read and dropped).
 */
typedef int (*ipc_dump_fn)(struct nlmsghdr *nlh, void *arg);
/*
 * Dumps command cmd of the family for the interface ifname (the request's
 * only attribute, ifname_attr) and hands each message of the reply to fn.
 * Returns 0, the kernel's error (with ipc->extack), fn's error, -EINTR when
 * the kernel marked the dump interrupted (the object changed during it: the
 * caller starts over), or another negative errno.
 */
int ipc_dump(struct ipc *ipc, uint8_t cmd, int ifname_attr, const char *ifname, ipc_dump_fn fn,
	     void *arg);

/* Prints "<what>: <strerror>[: <extack>]" for a failed call. */
void ipc_perror(const struct ipc *ipc, const char *what, int ret);

int ipc_get_device(struct ipc *ipc, const char *ifname, struct mw_device **dev);
int ipc_set_device(struct ipc *ipc, const char *ifname, const struct mw_device *dev);
/* meshwg interface names, sorted by ifindex, in one allocation of NUL-separated names. */
int ipc_list_devices(char **names, size_t *count);

int ipc_send_datagram(struct ipc *ipc, uint32_t ifindex, const struct sockaddr *dst,
		      const uint8_t *payload, size_t len);
int ipc_inject_datagram(struct ipc *ipc, uint32_t ifindex, uint32_t relay_id,
			const uint8_t *payload, size_t len);
/* Joins a multicast group of the family by name. */
int ipc_join_group(struct ipc *ipc, const char *group);

#endif
