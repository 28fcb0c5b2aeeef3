// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg filter': the kernel's ACL ruleset (docs/filter.md). */

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netlink/genl/genl.h>

#include "filter.h"
#include "filterfmt.h"
#include "ipc.h"
#include "subcommands.h"

/* Largest ruleset file read. */
#define MAX_FILE (64u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg filter show [<interface>]\n"
		"       meshwg filter set <file|-> [<interface>]\n"
		"       meshwg filter clear [<interface>]\n"
		"\n"
		"Reads and changes the stateful ACL filter of a meshwg interface: the rules\n"
		"every packet from a peer must pass once a ruleset is installed (first match\n"
		"wins, no match drops; return traffic of flows this node opened passes).\n"
		"<interface> may be left out when there is exactly one meshwg interface.\n"
		"\n"
		"  show   prints the installed ruleset as JSON: \"installed\", \"version\",\n"
		"         \"drops\" (packets the ACL dropped), \"malformed\" (of which with bad\n"
		"         headers), \"flows\" (live tracked flows), \"flow_evictions\" and\n"
		"         \"rules\", each with its \"packets\" and \"bytes\" counters.\n"
		"  set    installs the ruleset in <file> (- for standard input) as a whole,\n"
		"         replacing the old one; a refused ruleset changes nothing and the\n"
		"         kernel's reason is printed. The file is the compiled filter of\n"
		"         meshwg-control (a JSON array of rules), or an object with \"rules\" and\n"
		"         an optional \"version\" (the output of show is accepted). Without a\n"
		"         version, the FNV-1a hash of the rules is used.\n"
		"  clear  removes the ruleset: everything the peers' allowed IPs admit passes.\n"
		"\n"
		"A rule: {\"action\": \"accept\"|\"deny\", \"src\": [\"100.64.0.1/32\", ...],\n"
		"\"dst\": [{\"prefix\": \"100.64.0.3/32\", \"first_port\": 22, \"last_port\": 22}],\n"
		"\"protos\": [6, 17]} where protos [] or absent means TCP, UDP, ICMP and ICMPv6,\n"
		"and \"*\" any protocol; \"src\": [\"*\"] is any source. Needs CAP_NET_ADMIN.\n"
		"Exit status: 0 on success, 1 on error.\n");
}

static int pick_iface(const char *given, char *out)
{
	char *names = NULL;
	size_t count = 0;
	int ret;

	if (given) {
		if (strlen(given) >= IFNAMSIZ) {
			fprintf(stderr, "Interface name too long: %s\n", given);
			return -ENAMETOOLONG;
		}
		strcpy(out, given);
		return 0;
	}
	ret = ipc_list_devices(&names, &count);
	if (ret) {
		fprintf(stderr, "Unable to list meshwg interfaces: %s\n", strerror(-ret));
		free(names);
		return ret;
	}
	if (count != 1) {
		fprintf(stderr, "%s meshwg interfaces: name one\n", count ? "Several" : "No");
		free(names);
		return -EINVAL;
	}
	snprintf(out, IFNAMSIZ, "%s", names);
	free(names);
	return 0;
}

static char *read_all(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t n = 0, cap = 4096;
	char *buf = NULL, *q;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t r;

		if (!buf || n + 1 >= cap) {
			if (buf)
				cap *= 2;
			q = cap > MAX_FILE ? NULL : realloc(buf, cap);
			if (!q) {
				fprintf(stderr, "%s: %s\n", path,
					cap > MAX_FILE ? "file too large" : "out of memory");
				goto err;
			}
			buf = q;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto err;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		fprintf(stderr, "%s: contains a NUL byte\n", path);
		goto err;
	}
	if (f != stdin)
		fclose(f);
	return buf;
err:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}

int filter_main(int argc, char *argv[])
{
	char ifname[IFNAMSIZ], err[256];
	struct fl_ruleset rs;
	const char *verb;
	struct ipc ipc;
	char *text;
	int ret;

	if (argc < 2 || is_help(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	verb = argv[1];
	if (!strcmp(verb, "show") || !strcmp(verb, "clear")) {
		if (argc > 3) {
			usage(stderr);
			return 1;
		}
		if (pick_iface(argc == 3 ? argv[2] : NULL, ifname) || ipc_open(&ipc))
			return 1;
		if (!strcmp(verb, "clear")) {
			ret = filter_clear(&ipc, ifname);
			if (ret)
				ipc_perror(&ipc, "Unable to clear the filter", ret);
		} else {
			ret = filter_get(&ipc, ifname, &rs);
			if (ret) {
				ipc_perror(&ipc, "Unable to read the filter", ret);
			} else {
				text = fl_to_json(&rs, ifname);
				if (text) {
					puts(text);
				} else {
					fprintf(stderr, "Out of memory\n");
					ret = -ENOMEM;
				}
				free(text);
				fl_free(&rs);
			}
		}
		ipc_close(&ipc);
		return !!ret;
	}
	if (!strcmp(verb, "set")) {
		if (argc < 3 || argc > 4) {
			usage(stderr);
			return 1;
		}
		text = read_all(argv[2]);
		if (!text)
			return 1;
		ret = fl_from_json(text, &rs, err, sizeof(err));
		free(text);
		if (ret) {
			fprintf(stderr, "%s: %s\n", argv[2], err);
			return 1;
		}
		if (pick_iface(argc == 4 ? argv[3] : NULL, ifname) || ipc_open(&ipc)) {
			fl_free(&rs);
			return 1;
		}
		ret = filter_set(&ipc, ifname, &rs);
		if (ret)
			ipc_perror(&ipc, "Unable to set the filter", ret);
		fl_free(&rs);
		ipc_close(&ipc);
		return !!ret;
	}
	fprintf(stderr, "Invalid filter verb: `%s'\n", verb);
	usage(stderr);
	return 1;
}
