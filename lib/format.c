// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Text forms of addresses and endpoints. */

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

const char *fmt_sockaddr(char buf[FMT_ADDR_LEN], const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN + IFNAMSIZ + 2], serv[8];
	socklen_t len;
	int ret;

	if (sa->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else {
		snprintf(buf, FMT_ADDR_LEN, "(unknown family %u)", sa->sa_family);
		return buf;
	}
	ret = getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			  NI_DGRAM | NI_NUMERICHOST | NI_NUMERICSERV);
	if (ret)
		snprintf(buf, FMT_ADDR_LEN, "(%s)", gai_strerror(ret));
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, FMT_ADDR_LEN, "[%s]:%s", host, serv);
	else
		snprintf(buf, FMT_ADDR_LEN, "%s:%s", host, serv);
	return buf;
}

const char *fmt_endpoint(char buf[FMT_ADDR_LEN], const struct mw_peer *peer)
{
	if (peer->flags & PEER_HAS_RELAY) {
		snprintf(buf, FMT_ADDR_LEN, "relay:%u", peer->relay_id);
		return buf;
	}
	if ((peer->flags & PEER_HAS_ENDPOINT) &&
	    (peer->endpoint.addr.sa_family == AF_INET || peer->endpoint.addr.sa_family == AF_INET6))
		return fmt_sockaddr(buf, &peer->endpoint.addr);
	return NULL;
}

const char *fmt_ip(char buf[FMT_ADDR_LEN], const struct mw_allowedip *ip)
{
	if (!inet_ntop(ip->family, ip->family == AF_INET6 ? (const void *)&ip->ip6 :
							    (const void *)&ip->ip4,
		       buf, FMT_ADDR_LEN))
		snprintf(buf, FMT_ADDR_LEN, "(invalid)");
	return buf;
}
