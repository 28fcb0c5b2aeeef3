// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg show`: wg(8)'s show, plus meshwg's per-peer counters. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "containers.h"
#include "key.h"
#include "format.h"
#include "ipc.h"
#include "show.h"
#include "subcommands.h"
#include "terminal.h"

static const char *const FIELDS[] = {
	"public-key", "private-key", "listen-port", "fwmark", "peers", "preshared-keys",
	"endpoints", "allowed-ips", "latest-handshakes", "transfer", "persistent-keepalive",
	"dump", "packets", "drops", NULL
};

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s show { <interface> | all | interfaces } [public-key | private-key |\n"
		"        listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips |\n"
		"        latest-handshakes | transfer | persistent-keepalive | packets | drops | dump]\n"
		"\n"
		"Shows the current configuration and device information of meshwg interfaces,\n"
		"with the same layout and fields as wg(8) show. With no arguments (or `all'),\n"
		"every meshwg interface is shown; `interfaces' lists their names.\n"
		"\n"
		"Human output adds, per peer, when the kernel reports them:\n"
		"  packets: N received, N sent\n"
		"  drops: N no-key, N replay, N allowed-ips, N invalid, N acl\n"
		"  handshake attempts: N\n"
		"and relay endpoints are shown as `endpoint: relay:N'.\n"
		"\n"
		"Fields print one tab-separated line per item (prefixed with the interface name\n"
		"when `all' is used), as wg does. meshwg's extra fields:\n"
		"  packets  <public key> <rx packets> <tx packets>\n"
		"  drops    <public key> <no-key> <replay> <allowed-ips> <invalid> <acl>\n"
		"\n"
		"dump prints wg's columns unchanged: one interface line (private key, public key,\n"
		"listen port, fwmark) and per peer: public key, preshared key, endpoint (or\n"
		"relay:N), allowed ips, latest handshake, rx bytes, tx bytes, persistent\n"
		"keepalive; meshwg appends to each peer line: rx packets, tx packets, drops\n"
		"no-key, drops replay, drops allowed-ips, drops invalid, handshake attempts,\n"
		"drops acl (packets the ACL filter refused).\n"
		"\n"
		"Keys are hidden in human output unless WG_HIDE_KEYS=never. Colours are used\n"
		"only on a terminal (MESHWG_COLOR_MODE or WG_COLOR_MODE = always|never|auto).\n",
		PROG_NAME);
}

static int peer_cmp(const void *first, const void *second)
{
	const struct mw_peer *a = *(struct mw_peer *const *)first;
	const struct mw_peer *b = *(struct mw_peer *const *)second;
	bool a_zero = !a->last_handshake_time.tv_sec && !a->last_handshake_time.tv_nsec;
	bool b_zero = !b->last_handshake_time.tv_sec && !b->last_handshake_time.tv_nsec;

	if (a_zero != b_zero)
		return a_zero ? 1 : -1;
	if (a->last_handshake_time.tv_sec != b->last_handshake_time.tv_sec)
		return a->last_handshake_time.tv_sec < b->last_handshake_time.tv_sec ? 1 : -1;
	if (a->last_handshake_time.tv_nsec != b->last_handshake_time.tv_nsec)
		return a->last_handshake_time.tv_nsec < b->last_handshake_time.tv_nsec ? 1 : -1;
	return (a > b) - (a < b); /* list order was allocation order */
}

/* Most recent handshake first, as wg does. */
static void sort_peers(struct mw_device *dev)
{
	struct mw_peer *peer, **peers;
	size_t n = 0, i = 0;

	for_each_peer(dev, peer)
		++n;
	if (n < 2)
		return;
	peers = calloc(n, sizeof(*peers));
	if (!peers)
		return;
	for_each_peer(dev, peer)
		peers[i++] = peer;
	qsort(peers, n, sizeof(*peers), peer_cmp);
	dev->first_peer = peers[0];
	for (i = 1; i < n; ++i)
		peers[i - 1]->next = peers[i];
	peers[n - 1]->next = NULL;
	dev->last_peer = peers[n - 1];
	free(peers);
}

static const char *key(const uint8_t k[KEY_LEN])
{
	static char b64[KEY_B64_LEN];

	key_to_base64(b64, k);
	return b64;
}

static const char *maybe_key(const uint8_t k[KEY_LEN], bool have)
{
	return have ? key(k) : "(none)";
}

static const char *masked_key(const uint8_t k[KEY_LEN])
{
	const char *var = getenv("WG_HIDE_KEYS");

	if (var && !strcmp(var, "never"))
		return key(k);
	return "(hidden)";
}

static size_t pretty_time(char *buf, size_t len, unsigned long long left)
{
	static const struct {
		const char *unit;
		unsigned long long secs;
	} units[] = { { "year", 365ULL * 24 * 3600 }, { "day", 24 * 3600 }, { "hour", 3600 },
		      { "minute", 60 }, { "second", 1 } };
	size_t off = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); ++i) {
		unsigned long long n = left / units[i].secs;
		int w;

		left %= units[i].secs;
		if (!n)
			continue;
		w = snprintf(buf + off, len - off, "%s%llu " TERMINAL_FG_CYAN "%s%s" TERMINAL_RESET,
			     off ? ", " : "", n, units[i].unit, n == 1 ? "" : "s");
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return off;
}

static const char *ago(const struct timespec *t)
{
	static char buf[512];
	time_t now = time(NULL);
	size_t off;

	if (now == t->tv_sec)
		snprintf(buf, sizeof(buf), "Now");
	else if (now < t->tv_sec)
		snprintf(buf, sizeof(buf), "(" TERMINAL_FG_RED
			 "System clock wound backward; connection problems may ensue." TERMINAL_RESET ")");
	else {
		off = pretty_time(buf, sizeof(buf) - 8, (unsigned long long)(now - t->tv_sec));
		snprintf(buf + off, sizeof(buf) - off, " ago");
	}
	return buf;
}

static const char *every(uint16_t seconds)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "every ");
	pretty_time(buf + 6, sizeof(buf) - 6, seconds);
	return buf;
}

static const char *bytes(uint64_t b)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	static char buf[64];
	double v = (double)b;
	int i = -1;

	if (b < 1024) {
		snprintf(buf, sizeof(buf), "%u " TERMINAL_FG_CYAN "B" TERMINAL_RESET, (unsigned int)b);
		return buf;
	}
	while (i < 3 && v >= 1024) {
		v /= 1024;
		++i;
	}
	snprintf(buf, sizeof(buf), "%.2f " TERMINAL_FG_CYAN "%s" TERMINAL_RESET, v, units[i]);
	return buf;
}

void show_pretty(struct mw_device *dev)
{
	char addr[FMT_ADDR_LEN];
	struct mw_allowedip *ip;
	struct mw_peer *peer;
	const char *ep;

	terminal_printf(TERMINAL_RESET);
	terminal_printf(TERMINAL_FG_GREEN TERMINAL_BOLD "interface" TERMINAL_RESET ": " TERMINAL_FG_GREEN
			"%s" TERMINAL_RESET "\n", dev->name);
	if (dev->flags & DEV_HAS_PUBLIC_KEY)
		terminal_printf("  " TERMINAL_BOLD "public key" TERMINAL_RESET ": %s\n", key(dev->public_key));
	if (dev->flags & DEV_HAS_PRIVATE_KEY)
		terminal_printf("  " TERMINAL_BOLD "private key" TERMINAL_RESET ": %s\n",
				masked_key(dev->private_key));
	if (dev->listen_port)
		terminal_printf("  " TERMINAL_BOLD "listening port" TERMINAL_RESET ": %u\n", dev->listen_port);
	if (dev->fwmark)
		terminal_printf("  " TERMINAL_BOLD "fwmark" TERMINAL_RESET ": 0x%x\n", dev->fwmark);
	if (dev->first_peer) {
		sort_peers(dev);
		terminal_printf("\n");
	}
	for_each_peer(dev, peer) {
		terminal_printf(TERMINAL_FG_YELLOW TERMINAL_BOLD "peer" TERMINAL_RESET ": " TERMINAL_FG_YELLOW
				"%s" TERMINAL_RESET "\n", key(peer->public_key));
		if (peer->flags & PEER_HAS_PRESHARED_KEY)
			terminal_printf("  " TERMINAL_BOLD "preshared key" TERMINAL_RESET ": %s\n",
					masked_key(peer->preshared_key));
		ep = fmt_endpoint(addr, peer);
		if (ep)
			terminal_printf("  " TERMINAL_BOLD "endpoint" TERMINAL_RESET ": %s\n", ep);
		terminal_printf("  " TERMINAL_BOLD "allowed ips" TERMINAL_RESET ": ");
		if (peer->first_allowedip) {
			for_each_allowedip(peer, ip)
				terminal_printf("%s" TERMINAL_FG_CYAN "/" TERMINAL_RESET "%u%s", fmt_ip(addr, ip),
						ip->cidr, ip->next ? ", " : "\n");
		} else {
			terminal_printf("(none)\n");
		}
		if (peer->last_handshake_time.tv_sec)
			terminal_printf("  " TERMINAL_BOLD "latest handshake" TERMINAL_RESET ": %s\n",
					ago(&peer->last_handshake_time));
		if (peer->rx_bytes || peer->tx_bytes) {
			terminal_printf("  " TERMINAL_BOLD "transfer" TERMINAL_RESET ": ");
			terminal_printf("%s received, ", bytes(peer->rx_bytes));
			terminal_printf("%s sent\n", bytes(peer->tx_bytes));
		}
		if (peer->persistent_keepalive_interval)
			terminal_printf("  " TERMINAL_BOLD "persistent keepalive" TERMINAL_RESET ": %s\n",
					every(peer->persistent_keepalive_interval));
		if (peer->flags & PEER_HAS_PACKETS)
			terminal_printf("  " TERMINAL_BOLD "packets" TERMINAL_RESET ": %" PRIu64
					" received, %" PRIu64 " sent\n", peer->rx_packets, peer->tx_packets);
		if (peer->flags & PEER_HAS_DROPS)
			terminal_printf("  " TERMINAL_BOLD "drops" TERMINAL_RESET ": %" PRIu64 " no-key, %" PRIu64
					" replay, %" PRIu64 " allowed-ips, %" PRIu64 " invalid, %" PRIu64
					" acl\n", peer->drops_no_key, peer->drops_replay,
					peer->drops_allowedips, peer->drops_invalid, peer->drops_acl);
		if (peer->flags & PEER_HAS_ATTEMPTS)
			terminal_printf("  " TERMINAL_BOLD "handshake attempts" TERMINAL_RESET ": %" PRIu64 "\n",
					peer->handshake_attempts);
		if (peer->next)
			terminal_printf("\n");
	}
}

void show_dump(const struct mw_device *dev, bool with_interface)
{
	char addr[FMT_ADDR_LEN];
	const struct mw_allowedip *ip;
	const struct mw_peer *peer;
	const char *ep;

	if (with_interface)
		printf("%s\t", dev->name);
	printf("%s\t", maybe_key(dev->private_key, dev->flags & DEV_HAS_PRIVATE_KEY));
	printf("%s\t", maybe_key(dev->public_key, dev->flags & DEV_HAS_PUBLIC_KEY));
	printf("%u\t", dev->listen_port);
	if (dev->fwmark)
		printf("0x%x\n", dev->fwmark);
	else
		printf("off\n");
	for_each_peer(dev, peer) {
		if (with_interface)
			printf("%s\t", dev->name);
		printf("%s\t", key(peer->public_key));
		printf("%s\t", maybe_key(peer->preshared_key, peer->flags & PEER_HAS_PRESHARED_KEY));
		ep = fmt_endpoint(addr, peer);
		printf("%s\t", ep ? ep : "(none)");
		if (peer->first_allowedip) {
			for_each_allowedip(peer, ip)
				printf("%s/%u%c", fmt_ip(addr, ip), ip->cidr, ip->next ? ',' : '\t');
		} else {
			printf("(none)\t");
		}
		printf("%llu\t", (unsigned long long)peer->last_handshake_time.tv_sec);
		printf("%" PRIu64 "\t%" PRIu64 "\t", peer->rx_bytes, peer->tx_bytes);
		if (peer->persistent_keepalive_interval)
			printf("%u", peer->persistent_keepalive_interval);
		else
			printf("off");
		printf("\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		       "\t%" PRIu64 "\t%" PRIu64 "\n", peer->rx_packets, peer->tx_packets,
		       peer->drops_no_key, peer->drops_replay, peer->drops_allowedips,
		       peer->drops_invalid, peer->handshake_attempts, peer->drops_acl);
	}
}

void show_field(const struct mw_device *dev, const char *param, bool with_interface)
{
	char addr[FMT_ADDR_LEN];
	const struct mw_allowedip *ip;
	const struct mw_peer *peer;
	const char *ep;

	if (!strcmp(param, "dump")) {
		show_dump(dev, with_interface);
		return;
	}
	if (!strcmp(param, "public-key") || !strcmp(param, "private-key") ||
	    !strcmp(param, "listen-port") || !strcmp(param, "fwmark")) {
		if (with_interface)
			printf("%s\t", dev->name);
		if (!strcmp(param, "public-key"))
			printf("%s\n", maybe_key(dev->public_key, dev->flags & DEV_HAS_PUBLIC_KEY));
		else if (!strcmp(param, "private-key"))
			printf("%s\n", maybe_key(dev->private_key, dev->flags & DEV_HAS_PRIVATE_KEY));
		else if (!strcmp(param, "listen-port"))
			printf("%u\n", dev->listen_port);
		else if (dev->fwmark)
			printf("0x%x\n", dev->fwmark);
		else
			printf("off\n");
		return;
	}
	for_each_peer(dev, peer) {
		if (with_interface)
			printf("%s\t", dev->name);
		printf("%s", key(peer->public_key));
		if (!strcmp(param, "peers")) {
			printf("\n");
		} else if (!strcmp(param, "preshared-keys")) {
			printf("\t%s\n", maybe_key(peer->preshared_key, peer->flags & PEER_HAS_PRESHARED_KEY));
		} else if (!strcmp(param, "endpoints")) {
			ep = fmt_endpoint(addr, peer);
			printf("\t%s\n", ep ? ep : "(none)");
		} else if (!strcmp(param, "allowed-ips")) {
			printf("\t");
			if (peer->first_allowedip) {
				for_each_allowedip(peer, ip)
					printf("%s/%u%c", fmt_ip(addr, ip), ip->cidr, ip->next ? ' ' : '\n');
			} else {
				printf("(none)\n");
			}
		} else if (!strcmp(param, "latest-handshakes")) {
			printf("\t%llu\n", (unsigned long long)peer->last_handshake_time.tv_sec);
		} else if (!strcmp(param, "transfer")) {
			printf("\t%" PRIu64 "\t%" PRIu64 "\n", peer->rx_bytes, peer->tx_bytes);
		} else if (!strcmp(param, "persistent-keepalive")) {
			if (peer->persistent_keepalive_interval)
				printf("\t%u\n", peer->persistent_keepalive_interval);
			else
				printf("\toff\n");
		} else if (!strcmp(param, "packets")) {
			printf("\t%" PRIu64 "\t%" PRIu64 "\n", peer->rx_packets, peer->tx_packets);
		} else if (!strcmp(param, "drops")) {
			printf("\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
			       peer->drops_no_key, peer->drops_replay, peer->drops_allowedips,
			       peer->drops_invalid, peer->drops_acl);
		}
	}
}

bool show_valid_field(const char *param)
{
	size_t i;

	for (i = 0; FIELDS[i]; ++i)
		if (!strcmp(param, FIELDS[i]))
			return true;
	return false;
}

int show_main(int argc, char *argv[])
{
	const char *target = argc > 1 ? argv[1] : "all";
	const char *field = argc > 2 ? argv[2] : NULL;
	struct mw_device *dev;
	struct ipc ipc;
	char *names = NULL, *name;
	size_t count = 0, i;
	int ret = 0, err;

	if (argc > 1 && is_help(argv[1])) {
		show_usage(stdout);
		return 0;
	}
	if (argc > 3 || (field && !show_valid_field(field)) ||
	    (!strcmp(target, "interfaces") && field)) {
		show_usage(stderr);
		return 1;
	}
	if (!strcmp(target, "interfaces") || !strcmp(target, "all")) {
		err = ipc_list_devices(&names, &count);
		if (err) {
			fprintf(stderr, "Unable to list interfaces: %s\n", strerror(-err));
			return 1;
		}
		if (!strcmp(target, "interfaces")) {
			for (name = names, i = 0; i < count; ++i, name += strlen(name) + 1)
				printf("%s%c", name, i + 1 < count ? ' ' : '\n');
			free(names);
			return 0;
		}
		if (!count) {
			free(names);
			return 0;
		}
	}
	if (ipc_open(&ipc)) {
		free(names);
		return 1;
	}
	if (names) {
		for (name = names, i = 0; i < count; ++i, name += strlen(name) + 1) {
			err = ipc_get_device(&ipc, name, &dev);
			if (err) {
				char what[IFNAMSIZ + 64];

				snprintf(what, sizeof(what), "Unable to access interface %s", name);
				ipc_perror(&ipc, what, err);
				ret = 1;
				continue;
			}
			if (field) {
				show_field(dev, field, true);
			} else {
				show_pretty(dev);
				if (i + 1 < count)
					printf("\n");
			}
			free_device(dev);
		}
		free(names);
	} else {
		err = ipc_get_device(&ipc, target, &dev);
		if (err) {
			ipc_perror(&ipc, "Unable to access interface", err);
			ret = 1;
		} else {
			if (field)
				show_field(dev, field, false);
			else
				show_pretty(dev);
			free_device(dev);
		}
	}
	ipc_close(&ipc);
	fflush(stdout);
	return ret;
}
