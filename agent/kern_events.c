// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The module's "events" multicast group (docs/netlink.md): a separate,
 * non-blocking generic netlink socket in the daemon's loop; every
 * MESHWG_CMD_EVENT of our interface becomes a struct kern_event for the
 * callback set with kern_set_event_cb().
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "kern_int.h"

static int event_msg_cb(struct nl_msg *msg, void *arg)
{
	struct kern *k = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[MESHWG_AGENT_A_MAX + 1];
	struct kern_event ev;
	uint32_t type;

	if (gnlh->cmd != MESHWG_CMD_EVENT ||
	    nla_parse(tb, MESHWG_AGENT_A_MAX, genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0),
		      NULL) < 0)
		return NL_OK;
	if (!tb[MESHWG_AGENT_A_IFINDEX] || !tb[MESHWG_AGENT_A_EVENT] ||
	    !tb[MESHWG_AGENT_A_PUBLIC_KEY] || nla_len(tb[MESHWG_AGENT_A_PUBLIC_KEY]) != KEY_LEN ||
	    nla_len(tb[MESHWG_AGENT_A_IFINDEX]) != 4 || nla_len(tb[MESHWG_AGENT_A_EVENT]) != 4)
		return NL_OK;
	if (!k->ifindex || (int)nla_get_u32(tb[MESHWG_AGENT_A_IFINDEX]) != k->ifindex)
		return NL_OK;
	type = nla_get_u32(tb[MESHWG_AGENT_A_EVENT]);
	if (type < KERN_EV_HANDSHAKE || type > KERN_EV_ACL_DENY)
		return NL_OK;
	memset(&ev, 0, sizeof(ev));
	ev.type = (enum kern_event_type)type;
	memcpy(ev.public_key, nla_data(tb[MESHWG_AGENT_A_PUBLIC_KEY]), KEY_LEN);
	if (tb[MESHWG_AGENT_A_ADDR]) {
		union mw_endpoint ep;
		size_t len = (size_t)nla_len(tb[MESHWG_AGENT_A_ADDR]);

		memset(&ep, 0, sizeof(ep));
		if (len <= sizeof(ep)) {
			memcpy(&ep, nla_data(tb[MESHWG_AGENT_A_ADDR]), len);
			kendpoint_format(&ep, ev.endpoint, sizeof(ev.endpoint));
		}
	}
	if (k->cb)
		k->cb(&ev, k->cb_arg);
	return NL_OK;
}

static void events_readable(int fd, uint32_t events, void *arg)
{
	struct kern *k = arg;
	int ret, overruns = 0;

	(void)fd;
	(void)events;
	for (;;) {
		ret = nl_recvmsgs_default(k->ev.sk);
		if (ret >= 0)
			continue;
		if (ret == -NLE_AGAIN)
			return;
		if (ret == -NLE_NOMEM && ++overruns <= 8) {
			/* ENOBUFS: the socket overran; some events are lost, carry on */
			log_warn("kernel events overran the socket buffer; some were lost");
			continue;
		}
		log_error("reading kernel events: %s", nl_geterror(ret));
		return;
	}
}

int kevents_open(struct kern *k, char *err, size_t errlen)
{
	int ret;

	if (!k->loop)
		return 0;
	ret = ipc_open_quiet(&k->ev, MESHWG_GENL_NAME, err, errlen);
	if (ret)
		return ret;
	ret = ipc_join_group(&k->ev, MESHWG_MCGRP_EVENTS);
	if (ret) {
		snprintf(err, errlen, "cannot join the meshwg \"events\" group: %s", strerror(-ret));
		goto fail;
	}
	nl_socket_disable_seq_check(k->ev.sk);
	nl_cb_set(k->ev.cb, NL_CB_VALID, NL_CB_CUSTOM, event_msg_cb, k);
	(void)nl_socket_set_buffer_size(k->ev.sk, 1 << 20, 0);
	if (nl_socket_set_nonblocking(k->ev.sk) < 0) {
		ret = -EIO;
		snprintf(err, errlen, "cannot make the events socket non-blocking");
		goto fail;
	}
	ret = loop_add(k->loop, nl_socket_get_fd(k->ev.sk), EPOLLIN, events_readable, k);
	if (ret) {
		snprintf(err, errlen, "cannot watch the events socket: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	ipc_close(&k->ev);
	return ret;
}

void kevents_close(struct kern *k)
{
	if (!k->ev.sk)
		return;
	if (k->loop)
		loop_del(k->loop, nl_socket_get_fd(k->ev.sk));
	ipc_close(&k->ev);
}
