// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd's rtnetlink half (libnl-route-3): the meshwg link itself, its
 * addresses and the routes through it. See kern_int.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "kern_int.h"
#include "nlerr.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/*
 * The routing protocol number that marks meshwgd's routes (`ip route` shows
 * "proto 109"): only routes through our link with this mark are ever removed.
 */
#define KERN_RTPROT 109

static int rt_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct kern *k = arg;

	(void)nla;
	k->rt_error = nlerr_from_cb(e, k->rt_extack, sizeof(k->rt_extack));
	return NL_STOP;
}

int klink_open(struct kern *k)
{
	struct nl_cb *cb;
	int one = 1;

	k->rt = nl_socket_alloc();
	if (!k->rt)
		return -ENOMEM;
	if (nl_connect(k->rt, NETLINK_ROUTE) < 0) {
		nl_socket_free(k->rt);
		k->rt = NULL;
		return -ENOTCONN;
	}
	(void)setsockopt(nl_socket_get_fd(k->rt), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl_socket_get_fd(k->rt), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	cb = nl_socket_get_cb(k->rt);
	if (cb) {
		nl_cb_err(cb, NL_CB_CUSTOM, rt_err_cb, k);
		nl_cb_put(cb);
	}
	return 0;
}

void klink_close(struct kern *k)
{
	if (k->rt)
		nl_socket_free(k->rt);
	k->rt = NULL;
}

static void rt_begin(struct kern *k)
{
	k->rt_error = 0;
	k->rt_extack[0] = '\0';
}

/* The outcome of a libnl-route call as -errno, with "what: reason[: extack]" in err. */
static int rt_end(struct kern *k, int nlret, const char *what, char *err, size_t errlen)
{
	int ret = k->rt_error;

	if (!ret && nlret < 0) {
		switch (-nlret) {
		case NLE_NOMEM:
			ret = -ENOMEM;
			break;
		case NLE_PERM:
			ret = -EPERM;
			break;
		case NLE_EXIST:
			ret = -EEXIST;
			break;
		case NLE_NODEV:
		case NLE_OBJ_NOTFOUND:
			ret = -ENODEV;
			break;
		case NLE_INVAL:
			ret = -EINVAL;
			break;
		case NLE_OPNOTSUPP:
			ret = -EOPNOTSUPP;
			break;
		default:
			ret = -EIO;
		}
	}
	if (ret && err) {
		if (k->rt_extack[0])
			snprintf(err, errlen, "%s: %s: %s", what, strerror(-ret), k->rt_extack);
		else if (k->rt_error || nlret >= 0)
			snprintf(err, errlen, "%s: %s", what, strerror(-ret));
		else
			snprintf(err, errlen, "%s: %s", what, nl_geterror(nlret));
	}
	return ret;
}

int klink_find(struct kern *k, int *ifindex, char *err, size_t errlen)
{
	struct rtnl_link *link = NULL;
	const char *type;
	int ret;

	*ifindex = 0;
	rt_begin(k);
	ret = rtnl_link_get_kernel(k->rt, 0, k->cfg.ifname, &link);
	if (k->rt_error == -ENODEV || (!k->rt_error && (ret == -NLE_OBJ_NOTFOUND || ret == -NLE_NODEV)))
		return 0;
	ret = rt_end(k, ret, "cannot look up the interface", err, errlen);
	if (ret)
		return ret;
	type = rtnl_link_get_type(link);
	if (!type || strcmp(type, "meshwg")) {
		snprintf(err, errlen, "interface %s exists and is not a meshwg link (it is %s)",
			 k->cfg.ifname, type ? type : "a device without a kind");
		rtnl_link_put(link);
		return -EEXIST;
	}
	*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 1;
}

int klink_create(struct kern *k, char *err, size_t errlen)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int ret;

	if (!link) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rtnl_link_set_name(link, k->cfg.ifname);
	ret = rtnl_link_set_type(link, "meshwg");
	if (ret >= 0) {
		rt_begin(k);
		ret = rtnl_link_add(k->rt, link, NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_link_put(link);
	return rt_end(k, ret, "cannot create the meshwg interface", err, errlen);
}

int klink_set_up(struct kern *k, char *err, size_t errlen)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *change = rtnl_link_alloc();
	int ret = -NLE_NOMEM;

	if (orig && change) {
		rtnl_link_set_ifindex(orig, k->ifindex);
		rtnl_link_set_name(orig, k->cfg.ifname);
		rtnl_link_set_flags(change, IFF_UP);
		rt_begin(k);
		ret = rtnl_link_change(k->rt, orig, change, 0);
	}
	if (orig)
		rtnl_link_put(orig);
	if (change)
		rtnl_link_put(change);
	return rt_end(k, ret, "cannot bring the interface up", err, errlen);
}

int klink_delete(struct kern *k)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int ret;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, k->cfg.ifname);
	rt_begin(k);
	ret = rtnl_link_delete(k->rt, link);
	rtnl_link_put(link);
	ret = rt_end(k, ret, "delete", NULL, 0);
	return ret == -ENODEV ? 0 : ret;
}

/* ---- addresses ---- */

static int from_nl_addr(struct kprefix *p, struct nl_addr *a, unsigned cidr)
{
	unsigned len;

	memset(p, 0, sizeof(*p));
	if (!a)
		return -EINVAL;
	p->family = (uint16_t)nl_addr_get_family(a);
	len = nl_addr_get_len(a);
	if (!((p->family == AF_INET && len == 4) || (p->family == AF_INET6 && len == 16)))
		return -EINVAL;
	memcpy(p->addr, nl_addr_get_binary_addr(a), len);
	p->cidr = (uint8_t)cidr;
	return 0;
}

static struct nl_addr *to_nl_addr(const struct kprefix *p)
{
	struct nl_addr *a = nl_addr_build(p->family, p->addr, p->family == AF_INET ? 4 : 16);

	if (a)
		nl_addr_set_prefixlen(a, p->cidr);
	return a;
}

/* An address on our link that meshwgd put there, now or in an earlier run. */
static bool addr_is_ours(const struct kern *k, const struct kprefix *p)
{
	struct kprefix t;
	size_t i;

	for (i = 0; i < k->n_addrs; i++)
		if (!kprefix_cmp(&k->addrs[i], p))
			return true;
	if (k->cfg.tailnet_v4[0] && !kprefix_parse(&t, k->cfg.tailnet_v4) && kprefix_covers(&t, p))
		return true;
	if (k->cfg.tailnet_v6[0] && !kprefix_parse(&t, k->cfg.tailnet_v6) && kprefix_covers(&t, p))
		return true;
	return false;
}

static void keep_first(int *first, char *err, size_t errlen, int ret, const char *msg)
{
	if (ret && !*first) {
		*first = ret;
		snprintf(err, errlen, "%s", msg);
	}
}

int klink_sync_addrs(struct kern *k, const struct kprefix *want, size_t n, char *err, size_t errlen)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	bool *present = calloc(n + 1, sizeof(*present));
	struct kprefix *copy = malloc((n + 1) * sizeof(*copy));
	char msg[512], what[128], text[64];
	int first = 0, ret;
	size_t i;

	if (!present || !copy) {
		free(present);
		free(copy);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rt_begin(k);
	ret = rtnl_addr_alloc_cache(k->rt, &cache);
	ret = rt_end(k, ret, "cannot list interface addresses", err, errlen);
	if (ret) {
		free(present);
		free(copy);
		return ret;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;
		struct kprefix p;
		bool found = false;

		if (rtnl_addr_get_ifindex(a) != k->ifindex ||
		    from_nl_addr(&p, rtnl_addr_get_local(a), (unsigned)rtnl_addr_get_prefixlen(a)))
			continue;
		for (i = 0; i < n; i++) {
			if (!kprefix_cmp(&want[i], &p)) {
				present[i] = found = true;
				break;
			}
		}
		if (found || !addr_is_ours(k, &p))
			continue;
		rt_begin(k);
		kprefix_format(&p, text, sizeof(text));
		snprintf(what, sizeof(what), "cannot remove address %s", text);
		ret = rt_end(k, rtnl_addr_delete(k->rt, a, 0), what, msg, sizeof(msg));
		keep_first(&first, err, errlen, ret, msg);
		if (!ret)
			log_info("removed address %s from %s", text, k->cfg.ifname);
	}
	for (i = 0; i < n; i++) {
		struct rtnl_addr *a;
		struct nl_addr *local;

		if (present[i])
			continue;
		a = rtnl_addr_alloc();
		local = to_nl_addr(&want[i]);
		ret = -NLE_NOMEM;
		if (a && local) {
			rtnl_addr_set_ifindex(a, k->ifindex);
			rtnl_addr_set_family(a, want[i].family);
			ret = rtnl_addr_set_local(a, local);
			rtnl_addr_set_prefixlen(a, want[i].cidr);
			/* Routes come from klink_sync_routes only, never from an address. */
			rtnl_addr_set_flags(a, IFA_F_NOPREFIXROUTE |
					    (want[i].family == AF_INET6 ? IFA_F_NODAD : 0));
			rt_begin(k);
			if (ret >= 0)
				ret = rtnl_addr_add(k->rt, a, 0);
		}
		kprefix_format(&want[i], text, sizeof(text));
		snprintf(what, sizeof(what), "cannot add address %s", text);
		ret = rt_end(k, ret, what, msg, sizeof(msg));
		if (ret == -EEXIST)
			ret = 0;
		keep_first(&first, err, errlen, ret, msg);
		if (local)
			nl_addr_put(local);
		if (a)
			rtnl_addr_put(a);
	}
	if (n)
		memcpy(copy, want, n * sizeof(*copy));
	free(k->addrs);
	k->addrs = copy;
	k->n_addrs = n;
	free(present);
	nl_cache_free(cache);
	return first;
}

/* ---- routes ---- */

static struct rtnl_route *route_build(const struct kern *k, const struct kprefix *p)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = to_nl_addr(p);

	if (!r || !nh || !dst)
		goto fail;
	rtnl_route_set_family(r, (uint8_t)p->family);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, KERN_RTPROT);
	rtnl_route_set_scope(r, RT_SCOPE_LINK);
	rtnl_route_set_type(r, RTN_UNICAST);
	if (rtnl_route_set_dst(r, dst) < 0)
		goto fail;
	nl_addr_put(dst);
	rtnl_route_nh_set_ifindex(nh, k->ifindex);
	rtnl_route_add_nexthop(r, nh);
	return r;
fail:
	if (dst)
		nl_addr_put(dst);
	if (nh)
		rtnl_route_nh_free(nh);
	if (r)
		rtnl_route_put(r);
	return NULL;
}

static bool route_is_ours(const struct kern *k, struct rtnl_route *r)
{
	struct rtnl_nexthop *nh;

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_protocol(r) != KERN_RTPROT ||
	    rtnl_route_get_nnexthops(r) != 1)
		return false;
	nh = rtnl_route_nexthop_n(r, 0);
	return nh && rtnl_route_nh_get_ifindex(nh) == k->ifindex;
}

/* Our routes as one dump reports them (route_dump_cb). */
struct route_dump {
	struct kern *k;
	struct rtnl_route **ours;
	size_t n, cap;
	unsigned msgs;		/* route messages received, ours or not */
	bool nomem;
};

static int route_dump_cb(struct nl_msg *msg, void *arg)
{
	struct route_dump *d = arg;
	struct rtnl_route *r = NULL;

	d->msgs++;
	if (rtnl_route_parse(nlmsg_hdr(msg), &r) < 0 || !r)
		return NL_OK;	/* not a route we could have made */
	if (!route_is_ours(d->k, r)) {
		rtnl_route_put(r);
		return NL_OK;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct rtnl_route **v = realloc(d->ours, cap * sizeof(*v));

		if (!v) {
			rtnl_route_put(r);
			d->nomem = true;
			return NL_OK;
		}
		d->ours = v;
		d->cap = cap;
	}
	d->ours[d->n++] = r;
	return NL_OK;
}

/*
 * Dumps the routes of the main table through our link with our protocol
 * mark: since Linux 4.20, with NETLINK_GET_STRICT_CHK, the kernel filters
 * by rtm_table/RTA_TABLE, rtm_protocol and RTA_OIF, so a host with a full
 * BGP table (in any table) does not send us a million routes per sync.
 * Older kernels ignore the filter; route_is_ours filters again. Strict
 * checking is on for this request only (libnl's other dumps on the socket
 * send headers it would refuse).
 */
static int route_dump(struct kern *k, struct route_dump *d, char *err, size_t errlen)
{
	struct rtmsg rtm = {
		.rtm_family = AF_UNSPEC,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = KERN_RTPROT,
	};
	int fd = nl_socket_get_fd(k->rt), on = 1, off = 0, ret;
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	struct nl_cb *sock_cb = nl_socket_get_cb(k->rt);
	struct nl_cb *cb = sock_cb ? nl_cb_clone(sock_cb) : NULL;

	if (sock_cb)
		nl_cb_put(sock_cb);
	if (!msg || !cb || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, RTA_TABLE, RT_TABLE_MAIN) < 0 ||
	    nla_put_u32(msg, RTA_OIF, (uint32_t)k->ifindex) < 0) {
		ret = -NLE_NOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_dump_cb, d);
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	rt_begin(k);
	ret = nl_send_auto(k->rt, msg);
	if (ret >= 0)
		ret = nl_recvmsgs(k->rt, cb);
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &off, sizeof(off));
	if (ret >= 0 && d->nomem)
		ret = -NLE_NOMEM;
out:
	nlmsg_free(msg);
	if (cb)
		nl_cb_put(cb);
	return rt_end(k, ret < 0 ? ret : 0, "cannot list routes", err, errlen);
}

int klink_sync_routes(struct kern *k, const struct kprefix *want, size_t n, unsigned *dumped,
		      char *err, size_t errlen)
{
	struct route_dump d = { .k = k };
	bool *present = calloc(n + 1, sizeof(*present));
	char msg[512], what[128], text[64];
	int first = 0, ret;
	size_t i, j;

	if (!present) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = route_dump(k, &d, err, errlen);
	*dumped = d.msgs;
	if (ret)
		goto out;
	for (j = 0; j < d.n; j++) {
		struct rtnl_route *r = d.ours[j];
		struct nl_addr *dst = rtnl_route_get_dst(r);
		struct kprefix p;
		bool found = false;

		if (from_nl_addr(&p, dst, dst ? nl_addr_get_prefixlen(dst) : 0))
			continue;
		for (i = 0; i < n; i++) {
			if (!kprefix_cmp(&want[i], &p)) {
				present[i] = found = true;
				break;
			}
		}
		if (found)
			continue;
		kprefix_format(&p, text, sizeof(text));
		snprintf(what, sizeof(what), "cannot remove route %s", text);
		rt_begin(k);
		ret = rt_end(k, rtnl_route_delete(k->rt, r, 0), what, msg, sizeof(msg));
		if (ret == -ESRCH || ret == -ENOENT)
			ret = 0;
		keep_first(&first, err, errlen, ret, msg);
		if (!ret)
			log_info("removed route %s dev %s", text, k->cfg.ifname);
	}
	for (i = 0; i < n; i++) {
		struct rtnl_route *r;

		if (present[i])
			continue;
		r = route_build(k, &want[i]);
		kprefix_format(&want[i], text, sizeof(text));
		snprintf(what, sizeof(what), "cannot add route %s dev %s", text, k->cfg.ifname);
		rt_begin(k);
		/*
		 * Never NLM_F_REPLACE: an approved subnet route equal to a route
		 * this machine already has (its own LAN, say) must not take it
		 * over, or the node could cut itself off from its peers' endpoints.
		 */
		ret = rt_end(k, r ? rtnl_route_add(k->rt, r, NLM_F_EXCL) : -NLE_NOMEM, what, msg,
			     sizeof(msg));
		if (ret == -EEXIST) {
			log_warn("not routing %s through %s: the machine already has a route for it",
				 text, k->cfg.ifname);
			ret = 0;
		}
		keep_first(&first, err, errlen, ret, msg);
		if (r)
			rtnl_route_put(r);
	}
	ret = first;
out:
	for (j = 0; j < d.n; j++)
		rtnl_route_put(d.ours[j]);
	free(d.ours);
	free(present);
	return ret;
}
