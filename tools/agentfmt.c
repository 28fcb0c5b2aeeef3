// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Text form of agent-channel notifications; see agentfmt.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "agentfmt.h"
#include "hex.h"
#include "key.h"
#include "format.h"

static const char *kind_name(uint32_t kind, char buf[32])
{
	if (kind == MESHWG_DATAGRAM_STUN)
		return "stun";
	if (kind == MESHWG_DATAGRAM_DISCO)
		return "disco";
	snprintf(buf, 32, "unknown(%u)", kind);
	return buf;
}

static bool get_sockaddr(const struct nlattr *a, union mw_endpoint *ep)
{
	const struct sockaddr *sa = nla_data(a);
	int len = nla_len(a);

	memset(ep, 0, sizeof(*ep));
	if (len >= (int)sizeof(struct sockaddr_in) && sa->sa_family == AF_INET)
		memcpy(&ep->addr4, sa, sizeof(ep->addr4));
	else if (len >= (int)sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)
		memcpy(&ep->addr6, sa, sizeof(ep->addr6));
	else
		return false;
	return true;
}

/* "addr" or "addr:port" ("[v6]:port") of one side of a denied packet. */
static void acl_side(char buf[FMT_ADDR_LEN], uint16_t family, const void *addr, uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	if (!port)
		snprintf(buf, FMT_ADDR_LEN, "%s", ip);
	else if (family == AF_INET6)
		snprintf(buf, FMT_ADDR_LEN, "[%s]:%u", ip, port);
	else
		snprintf(buf, FMT_ADDR_LEN, "%s:%u", ip, port);
}

static bool acl_tuple(struct nlattr *tb[], char src[FMT_ADDR_LEN], char dst[FMT_ADDR_LEN],
		      char rule[16])
{
	uint16_t family, sport = 0, dport = 0;
	int alen;
	uint32_t r;

	if (!tb[MESHWG_AGENT_A_ACL_FAMILY] || nla_len(tb[MESHWG_AGENT_A_ACL_FAMILY]) != 2 ||
	    !tb[MESHWG_AGENT_A_ACL_SRC] || !tb[MESHWG_AGENT_A_ACL_DST] ||
	    !tb[MESHWG_AGENT_A_ACL_PROTO] || nla_len(tb[MESHWG_AGENT_A_ACL_PROTO]) != 1 ||
	    !tb[MESHWG_AGENT_A_ACL_RULE] || nla_len(tb[MESHWG_AGENT_A_ACL_RULE]) != 4)
		return false;
	family = nla_get_u16(tb[MESHWG_AGENT_A_ACL_FAMILY]);
	alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
	if (alen < 0 || nla_len(tb[MESHWG_AGENT_A_ACL_SRC]) != alen ||
	    nla_len(tb[MESHWG_AGENT_A_ACL_DST]) != alen)
		return false;
	if (tb[MESHWG_AGENT_A_ACL_SPORT]) {
		if (nla_len(tb[MESHWG_AGENT_A_ACL_SPORT]) != 2)
			return false;
		sport = nla_get_u16(tb[MESHWG_AGENT_A_ACL_SPORT]);
	}
	if (tb[MESHWG_AGENT_A_ACL_DPORT]) {
		if (nla_len(tb[MESHWG_AGENT_A_ACL_DPORT]) != 2)
			return false;
		dport = nla_get_u16(tb[MESHWG_AGENT_A_ACL_DPORT]);
	}
	acl_side(src, family, nla_data(tb[MESHWG_AGENT_A_ACL_SRC]), sport);
	acl_side(dst, family, nla_data(tb[MESHWG_AGENT_A_ACL_DST]), dport);
	r = nla_get_u32(tb[MESHWG_AGENT_A_ACL_RULE]);
	if (r == MESHWG_FILTER_NO_RULE)
		snprintf(rule, 16, "default");
	else
		snprintf(rule, 16, "%u", r);
	return true;
}

char *agentfmt_line(struct nlmsghdr *nlh, uint32_t *ifindex, int *error)
{
	struct nlattr *tb[MESHWG_AGENT_A_MAX + 1];
	char ifname[IF_NAMESIZE], addr[FMT_ADDR_LEN], peer[KEY_B64_LEN], kbuf[32];
	char *hex = NULL, *line = NULL;
	union mw_endpoint ep;
	uint8_t cmd;
	size_t plen = 0;
	int n = -1;

	*error = -EINVAL;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return NULL;
	cmd = ((struct genlmsghdr *)nlmsg_data(nlh))->cmd;
	if (genlmsg_parse(nlh, 0, tb, MESHWG_AGENT_A_MAX, NULL))
		return NULL;
	if (!tb[MESHWG_AGENT_A_IFINDEX] || nla_len(tb[MESHWG_AGENT_A_IFINDEX]) != 4)
		return NULL;
	*ifindex = nla_get_u32(tb[MESHWG_AGENT_A_IFINDEX]);
	if (!if_indextoname(*ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", *ifindex);
	if (tb[MESHWG_AGENT_A_PUBLIC_KEY]) {
		if (nla_len(tb[MESHWG_AGENT_A_PUBLIC_KEY]) != KEY_LEN)
			return NULL;
		key_to_base64(peer, nla_data(tb[MESHWG_AGENT_A_PUBLIC_KEY]));
	} else {
		snprintf(peer, sizeof(peer), "(none)");
	}
	if (tb[MESHWG_AGENT_A_PAYLOAD]) {
		plen = (size_t)nla_len(tb[MESHWG_AGENT_A_PAYLOAD]);
		hex = malloc(2 * plen + 1);
		if (!hex) {
			*error = -ENOMEM;
			return NULL;
		}
		hex_encode(hex, nla_data(tb[MESHWG_AGENT_A_PAYLOAD]), plen);
	}
	switch (cmd) {
	case MESHWG_CMD_DATAGRAM:
		if (!tb[MESHWG_AGENT_A_ADDR] || !get_sockaddr(tb[MESHWG_AGENT_A_ADDR], &ep) || !hex ||
		    !tb[MESHWG_AGENT_A_KIND] || nla_len(tb[MESHWG_AGENT_A_KIND]) != 4)
			break;
		n = asprintf(&line, "datagram iface=%s from=%s kind=%s len=%zu hex=%s", ifname,
			     fmt_sockaddr(addr, &ep.addr),
			     kind_name(nla_get_u32(tb[MESHWG_AGENT_A_KIND]), kbuf), plen, hex);
		break;
	case MESHWG_CMD_RELAY_DATAGRAM:
		if (!tb[MESHWG_AGENT_A_RELAY_ID] || nla_len(tb[MESHWG_AGENT_A_RELAY_ID]) != 4 || !hex)
			break;
		n = asprintf(&line, "relay iface=%s relay=%u peer=%s len=%zu hex=%s", ifname,
			     nla_get_u32(tb[MESHWG_AGENT_A_RELAY_ID]), peer, plen, hex);
		break;
	case MESHWG_CMD_EVENT: {
		uint32_t event;

		if (!tb[MESHWG_AGENT_A_EVENT] || nla_len(tb[MESHWG_AGENT_A_EVENT]) != 4)
			break;
		event = nla_get_u32(tb[MESHWG_AGENT_A_EVENT]);
		if (event == MESHWG_EVENT_HANDSHAKE_COMPLETE) {
			n = asprintf(&line, "event iface=%s handshake-complete peer=%s", ifname, peer);
		} else if (event == MESHWG_EVENT_WANTS_ENDPOINT) {
			n = asprintf(&line, "event iface=%s wants-endpoint peer=%s", ifname, peer);
		} else if (event == MESHWG_EVENT_ENDPOINT_CHANGED) {
			const char *where = "(none)";

			if (tb[MESHWG_AGENT_A_RELAY_ID] && nla_len(tb[MESHWG_AGENT_A_RELAY_ID]) == 4 &&
			    nla_get_u32(tb[MESHWG_AGENT_A_RELAY_ID])) {
				snprintf(addr, sizeof(addr), "relay:%u",
					 nla_get_u32(tb[MESHWG_AGENT_A_RELAY_ID]));
				where = addr;
			} else if (tb[MESHWG_AGENT_A_ADDR] && get_sockaddr(tb[MESHWG_AGENT_A_ADDR], &ep)) {
				where = fmt_sockaddr(addr, &ep.addr);
			}
			n = asprintf(&line, "event iface=%s endpoint-changed peer=%s endpoint=%s", ifname,
				     peer, where);
		} else if (event == MESHWG_EVENT_ACL_DENY) {
			char src[FMT_ADDR_LEN], dst[FMT_ADDR_LEN], rule[16];

			if (!acl_tuple(tb, src, dst, rule))
				break;
			n = asprintf(&line, "event iface=%s acl-deny peer=%s proto=%u src=%s dst=%s rule=%s",
				     ifname, peer, nla_get_u8(tb[MESHWG_AGENT_A_ACL_PROTO]), src, dst, rule);
		} else {
			n = asprintf(&line, "event iface=%s unknown(%u) peer=%s", ifname, event, peer);
		}
		break;
	}
	default:
		*error = -EOPNOTSUPP;
		break;
	}
	free(hex);
	if (n < 0)
		return NULL;
	*error = 0;
	return line;
}
