// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The kernel's ACL ruleset over netlink: get, set as a whole, clear
 * (docs/filter.md). */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netlink/genl/genl.h>

#include "filter.h"

static int filter_msg(struct nlmsghdr *nlh, void *arg)
{
	return fl_parse_msg(arg, nlh);
}

int filter_get(struct ipc *ipc, const char *ifname, struct fl_ruleset *rs)
{
	int ret;

	memset(rs, 0, sizeof(*rs));
	ret = ipc_dump(ipc, MESHWG_CMD_GET_FILTER, MESHWG_FILTER_A_IFNAME, ifname, filter_msg, rs);
	if (ret)
		fl_free(rs);
	return ret;
}

int filter_set(struct ipc *ipc, const char *ifname, const struct fl_ruleset *rs)
{
	size_t size = fl_rules_size(rs) + 1024;
	struct nl_msg *msg;
	int ret, cur = 0;
	socklen_t len = sizeof(cur);

	if (size > INT32_MAX / 2)
		return -E2BIG;
	msg = nlmsg_alloc_size(size);
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, 0,
			 MESHWG_CMD_SET_FILTER, MESHWG_GENL_VERSION) ||
	    nla_put_string(msg, MESHWG_FILTER_A_IFNAME, ifname) ||
	    nla_put_u64(msg, MESHWG_FILTER_A_VERSION, rs->version) ||
	    fl_put_rules(msg, rs)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	/* The whole ruleset is one message: make room for it to be sent. */
	if (!getsockopt(nl_socket_get_fd(ipc->sk), SOL_SOCKET, SO_SNDBUF, &cur, &len) &&
	    (size_t)cur / 2 < size + 4096) {
		int want = (int)(size + 4096);

		if (setsockopt(nl_socket_get_fd(ipc->sk), SOL_SOCKET, SO_SNDBUFFORCE, &want,
			       sizeof(want)))
			(void)setsockopt(nl_socket_get_fd(ipc->sk), SOL_SOCKET, SO_SNDBUF, &want,
					 sizeof(want));
	}
	ret = ipc_request(ipc, msg);
	nlmsg_free(msg);
	return ret;
}

int filter_clear(struct ipc *ipc, const char *ifname)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ipc->family, 0, 0,
			 MESHWG_CMD_CLEAR_FILTER, MESHWG_GENL_VERSION) ||
	    nla_put_string(msg, MESHWG_FILTER_A_IFNAME, ifname)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = ipc_request(ipc, msg);
	nlmsg_free(msg);
	return ret;
}
