// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The node's endpoints (endpoints.h). */

#include "endpoints.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static bool skip_addr(int family, const uint8_t *a)
{
	static const uint8_t v6_loop[16] = { [15] = 1 }, v6_zero[16];

	if (family == AF_INET)
		return a[0] == 127 || a[0] == 0 || (a[0] == 169 && a[1] == 254);
	return !memcmp(a, v6_loop, 16) || !memcmp(a, v6_zero, 16) ||
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||	/* link-local */
	       (a[0] == 0xff);					/* multicast */
}

size_t ep_filter(const struct ep_addr *in, size_t n, const char *own_ifname,
		 const struct kprefix *excl, size_t nexcl, uint16_t port,
		 char out[][EP_TEXT_MAX], size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < n && count < max; i++) {
		const struct ep_addr *a = &in[i];
		char ip[INET6_ADDRSTRLEN], text[EP_TEXT_MAX];
		bool dup = false, excluded = false;
		struct kprefix host;

		if (a->family != AF_INET && a->family != AF_INET6)
			continue;
		if (!a->up || a->loopback || (own_ifname && !strcmp(a->ifname, own_ifname)))
			continue;
		if (skip_addr(a->family, a->addr))
			continue;
		kprefix_host(&host, a->family, a->addr);
		for (size_t j = 0; j < nexcl; j++)
			excluded |= kprefix_covers(&excl[j], &host);
		if (excluded)
			continue;
		inet_ntop(a->family, a->addr, ip, sizeof(ip));
		if (a->family == AF_INET)
			snprintf(text, sizeof(text), "%s:%u", ip, port);
		else
			snprintf(text, sizeof(text), "[%s]:%u", ip, port);
		for (size_t j = 0; j < count; j++)
			dup |= !strcmp(out[j], text);
		if (!dup)
			snprintf(out[count++], EP_TEXT_MAX, "%s", text);
	}
	return count;
}

cJSON *ep_collect(const char *own_ifname, const struct kprefix *excl, size_t nexcl,
		  uint16_t port)
{
	struct ifaddrs *ifa, *i;
	struct ep_addr *list = NULL;
	char (*out)[EP_TEXT_MAX] = NULL;
	size_t n = 0, cap = 0, count;
	cJSON *arr = NULL;

	if (getifaddrs(&ifa))
		return NULL;
	for (i = ifa; i; i = i->ifa_next) {
		struct ep_addr *a;

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct ep_addr *nl = realloc(list, nc * sizeof(*nl));

			if (!nl)
				goto out;
			list = nl;
			cap = nc;
		}
		a = &list[n++];
		memset(a, 0, sizeof(*a));
		a->family = i->ifa_addr->sa_family;
		if (a->family == AF_INET)
			memcpy(a->addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else
			memcpy(a->addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name);
		a->up = i->ifa_flags & IFF_UP;
		a->loopback = i->ifa_flags & IFF_LOOPBACK;
	}
	out = calloc(EP_MAX, sizeof(*out));
	if (!out)
		goto out;
	count = ep_filter(list, n, own_ifname, excl, nexcl, port, out, EP_MAX);
	arr = cJSON_CreateArray();
	for (size_t j = 0; arr && j < count; j++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(out[j]));
out:
	free(out);
	free(list);
	freeifaddrs(ifa);
	return arr;
}
