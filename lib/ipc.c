// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Generic netlink with meshwg.ko; see ipc.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "devparse.h"
#include "ipc.h"
#include "nlerr.h"
#include "setmsg.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct ipc *ipc = arg;

	(void)nla;
	ipc->error = nlerr_from_cb(e, ipc->extack, sizeof(ipc->extack));
	return NL_STOP;
}

/* A dump's NLMSG_DONE may carry an error of its own. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct ipc *ipc = arg;
	char extack[sizeof(ipc->extack)];
	int err = nlerr_parse_done(nlmsg_hdr(msg), extack, sizeof(extack));

	if (err < 0) {
		ipc->error = err == -EBADMSG ? -EIO : err;
		memcpy(ipc->extack, extack, sizeof(extack));
	}
	return NL_STOP;
}

int ipc_open(struct ipc *ipc)
{
	return ipc_open_family(ipc, MESHWG_GENL_NAME);
}

int ipc_open_family(struct ipc *ipc, const char *family)
{
	char err[256];
	int ret = ipc_open_quiet(ipc, family, err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s\n", err);
	return ret;
}

int ipc_open_quiet(struct ipc *ipc, const char *family, char *err, size_t errlen)
{
	int one = 1, ret;

	memset(ipc, 0, sizeof(*ipc));
	ipc->cb = nl_cb_alloc(NL_CB_DEFAULT);
	ipc->sk = nl_socket_alloc_cb(ipc->cb);
	if (!ipc->cb || !ipc->sk) {
		snprintf(err, errlen, "Unable to allocate netlink socket: Out of memory");
		ipc_close(ipc);
		return -ENOMEM;
	}
	nl_cb_err(ipc->cb, NL_CB_CUSTOM, error_cb, ipc);
	nl_cb_set(ipc->cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, ipc);
	ret = genl_connect(ipc->sk);
	if (ret < 0) {
		snprintf(err, errlen, "Unable to open generic netlink socket: %s", nl_geterror(ret));
		ipc_close(ipc);
		return -ENOTCONN;
	}
	nl_socket_enable_msg_peek(ipc->sk);
	/*
	 * Extended acks carry the kernel's reason for a refusal; capped acks
	 * do not echo our (possibly large) request back. Kernels without
	 * either still work, with bare errno messages.
	 */
	(void)setsockopt(nl_socket_get_fd(ipc->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl_socket_get_fd(ipc->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	ipc->family = genl_ctrl_resolve(ipc->sk, family);
	if (ipc->family < 0) {
		if (ipc->family == -NLE_OBJ_NOTFOUND && !strcmp(family, MESHWG_GENL_NAME))
			snprintf(err, errlen, "meshwg kernel module not loaded (try: modprobe meshwg)");
		else
			snprintf(err, errlen, "Unable to resolve generic netlink family %s: %s", family,
				 nl_geterror(ipc->family));
		ipc_close(ipc);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

void ipc_close(struct ipc *ipc)
{
	if (ipc->sk)
		nl_socket_free(ipc->sk);
	if (ipc->cb)
		nl_cb_put(ipc->cb);
	ipc->sk = NULL;
	ipc->cb = NULL;
}

void ipc_perror(const struct ipc *ipc, const char *what, int ret)
{
	if (ipc->extack[0])
		fprintf(stderr, "%s: %s: %s\n", what, strerror(-ret), ipc->extack);
	else
		fprintf(stderr, "%s: %s\n", what, strerror(-ret));
}

/* Maps the outcome of nl_recvmsgs / nl_wait_for_ack to a negative errno. */
static int finish(struct ipc *ipc, int nlret)
{
	if (ipc->error)
		return ipc->error;
	if (nlret < 0) {
		switch (-nlret) {
		case NLE_NOMEM:
			return -ENOMEM;
		case NLE_PERM:
			return -EPERM;
		case NLE_NODEV:
			return -ENODEV;
		case NLE_OBJ_NOTFOUND:
			return -ENOENT;
		case NLE_INVAL:
			return -EINVAL;
		case NLE_OPNOTSUPP:
			return -EOPNOTSUPP;
		case NLE_MSGSIZE:
			return -EMSGSIZE;
		case NLE_DUMP_INTR:
			return -EINTR;
		default:
			return -EIO;
		}
	}
	return 0;
}

static void reset_error(struct ipc *ipc)
{
	ipc->error = 0;
	ipc->extack[0] = '\0';
}

struct dump_ctx {
	ipc_dump_fn fn;
	void *arg;
	int error;
};

/*
 * After fn's first error the rest of the dump is still read (and skipped),
 * up to its NLMSG_DONE, so that the socket is clean for the next request.
 */
static int dump_cb(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;

	if (!ctx->error)
		ctx->error = ctx->fn(nlmsg_hdr(msg), ctx->arg);
	return ctx->error ? NL_SKIP : NL_OK;
}

int ipc_dump(struct ipc *ipc, uint8_t cmd, int ifname_attr, const char *ifname, ipc_dump_fn fn,
	     void *arg)
{
	struct dump_ctx ctx = { .fn = fn, .arg = arg };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int ret;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	msg = nlmsg_alloc();
	cb = nl_cb_clone(ipc->cb);
	if (!msg || !cb) {
		ret = -ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, NLM_F_DUMP, cmd,
			 MESHWG_GENL_VERSION) ||
	    nla_put_string(msg, ifname_attr, ifname)) {
		ret = -ENOMEM;
		goto out;
	}
	reset_error(ipc);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, &ctx);
	ret = nl_send_auto(ipc->sk, msg);
	if (ret >= 0)
		ret = nl_recvmsgs(ipc->sk, cb);
	ret = finish(ipc, ret < 0 ? ret : 0);
	if (!ret)
		ret = ctx.error;
out:
	nlmsg_free(msg);
	if (cb)
		nl_cb_put(cb);
	return ret;
}

static int device_msg(struct nlmsghdr *nlh, void *arg)
{
	return devparse_msg(arg, nlh);
}

static int get_device_once(struct ipc *ipc, const char *ifname, struct mw_device **out)
{
	struct mw_device *dev;
	int ret;

	*out = NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ret = ipc_dump(ipc, MESHWG_CMD_GET_DEVICE, MESHWG_DEVICE_A_IFNAME, ifname, device_msg,
		       dev);
	if (ret) {
		free_device(dev);
		return ret;
	}
	if (!dev->name[0])
		snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	*out = dev;
	return 0;
}

int ipc_get_device(struct ipc *ipc, const char *ifname, struct mw_device **out)
{
	int ret, tries = 0;

	/* The device changed during the dump (NLM_F_DUMP_INTR): read it again. */
	do
		ret = get_device_once(ipc, ifname, out);
	while (ret == -EINTR && ++tries < 1000);
	return ret;
}

int ipc_set_device(struct ipc *ipc, const char *ifname, const struct mw_device *dev)
{
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;
	struct nl_msg *msg;
	int ret;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	setmsg_start(&cur, dev);
	while (!setmsg_done(&cur)) {
		ret = setmsg_plan(dev, ifname, &cur, SETMSG_LIMIT, &chunk);
		if (ret)
			return ret;
		msg = nlmsg_alloc_size(SETMSG_LIMIT);
		if (!msg)
			return -ENOMEM;
		if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, 0,
				 MESHWG_CMD_SET_DEVICE, MESHWG_GENL_VERSION)) {
			nlmsg_free(msg);
			return -ENOMEM;
		}
		ret = setmsg_build(dev, ifname, &chunk, msg);
		if (!ret && nlmsg_hdr(msg)->nlmsg_len != chunk.size)
			ret = -EMSGSIZE; /* the plan and the message disagree: a bug */
		if (ret) {
			nlmsg_free(msg);
			return ret;
		}
		ret = ipc_request(ipc, msg);
		nlmsg_free(msg);
		if (ret)
			return ret;
		cur = chunk.to;
	}
	return 0;
}

struct ifentry {
	int ifindex;
	char name[IFNAMSIZ];
};

static int ifentry_cmp(const void *a, const void *b)
{
	const struct ifentry *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

int ipc_list_devices(char **names, size_t *count)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	struct ifentry *entries = NULL;
	size_t n = 0, cap = 0, i, off = 0;
	char *out;
	int ret = 0;

	*names = NULL;
	*count = 0;
	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		ret = -ENOTCONN;
		goto out;
	}
	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache) < 0) {
		ret = -EIO;
		goto out;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *type = rtnl_link_get_type(link), *name = rtnl_link_get_name(link);

		if (!type || strcmp(type, "meshwg") || !name)
			continue;
		if (n == cap) {
			struct ifentry *ne = realloc(entries, (cap ? cap * 2 : 8) * sizeof(*ne));

			if (!ne) {
				ret = -ENOMEM;
				goto out;
			}
			entries = ne;
			cap = cap ? cap * 2 : 8;
		}
		entries[n].ifindex = rtnl_link_get_ifindex(link);
		snprintf(entries[n].name, IFNAMSIZ, "%s", name);
		n++;
	}
	if (n)
		qsort(entries, n, sizeof(*entries), ifentry_cmp);
	out = calloc(n ? n : 1, IFNAMSIZ);
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; ++i) {
		size_t l = strlen(entries[i].name) + 1;

		memcpy(out + off, entries[i].name, l);
		off += l;
	}
	*names = out;
	*count = n;
out:
	free(entries);
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return ret;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(bool *)arg = true;
	return NL_STOP;
}

int ipc_request(struct ipc *ipc, struct nl_msg *msg)
{
	struct nl_cb *cb;
	bool acked = false;
	int ret;

	reset_error(ipc);
	cb = nl_cb_clone(ipc->cb);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &acked);
	ret = nl_send_auto(ipc->sk, msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return finish(ipc, ret);
	}
	/* A request may be answered by messages before its ack: read up to it. */
	do {
		ret = nl_recvmsgs(ipc->sk, cb);
	} while (ret >= 0 && !acked && !ipc->error);
	nl_cb_put(cb);
	return finish(ipc, ret);
}

static size_t sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int ipc_send_datagram(struct ipc *ipc, uint32_t ifindex, const struct sockaddr *dst,
		      const uint8_t *payload, size_t len)
{
	struct nl_msg *msg;
	int ret;

	if (len > MESHWG_MAX_DATAGRAM)
		return -EMSGSIZE;
	msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + 256 + len);
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, 0,
			 MESHWG_CMD_SEND_DATAGRAM, MESHWG_GENL_VERSION) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, ifindex) ||
	    nla_put(msg, MESHWG_AGENT_A_ADDR, (int)sockaddr_len(dst), dst) ||
	    nla_put(msg, MESHWG_AGENT_A_PAYLOAD, (int)len, payload)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = ipc_request(ipc, msg);
	nlmsg_free(msg);
	return ret;
}

int ipc_inject_datagram(struct ipc *ipc, uint32_t ifindex, uint32_t relay_id,
			const uint8_t *payload, size_t len)
{
	struct nl_msg *msg;
	int ret;

	if (len > MESHWG_MAX_DATAGRAM)
		return -EMSGSIZE;
	msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + 256 + len);
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, 0,
			 MESHWG_CMD_INJECT_DATAGRAM, MESHWG_GENL_VERSION) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, ifindex) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_RELAY_ID, relay_id) ||
	    nla_put(msg, MESHWG_AGENT_A_PAYLOAD, (int)len, payload)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = ipc_request(ipc, msg);
	nlmsg_free(msg);
	return ret;
}

int ipc_join_group(struct ipc *ipc, const char *group)
{
	int id = genl_ctrl_resolve_grp(ipc->sk, MESHWG_GENL_NAME, group);

	if (id < 0) {
		fprintf(stderr, "Unable to resolve multicast group %s: %s\n", group, nl_geterror(id));
		return -ENOENT;
	}
	if (nl_socket_add_membership(ipc->sk, id) < 0) {
		fprintf(stderr, "Unable to join multicast group %s\n", group);
		return -EIO;
	}
	return 0;
}
