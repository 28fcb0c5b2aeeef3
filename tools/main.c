// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwg: the command line. */

#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "apicmds.h"
#include "subcommands.h"

#define MESHWG_VERSION "0.1.0"

const char *PROG_NAME = "meshwg";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg <command> [<args>]\n"
		"       meshwg --socket PATH <command> [<args>]\n"
		"\n"
		"meshwg is the command line of the meshwg mesh VPN. Commands through the\n"
		"meshwgd daemon:\n"
		"  up       connects to the tailnet (--login-server, --auth-key, --hostname, ...)\n"
		"  down     disconnects; the node stays registered\n"
		"  logout   logs out and forgets the node key\n"
		"  status   this node, its peers and the filter's rule hits (--json)\n"
		"  ip       the addresses of this node or of a peer\n"
		"  whois    which node owns an address\n"
		"Low-level commands, straight to the kernel module:\n"
		"  wg       wg(8)-compatible verbs over netlink: show, showconf, set,\n"
		"           setconf, addconf, syncconf, genkey, genpsk, pubkey\n"
		"  debug    the kernel's agent channel: listen, send, inject, relay;\n"
		"           and meshwgd's rotate-key\n"
		"  filter   the kernel's ACL ruleset: show, set, clear\n"
		"  version  prints the version\n"
		"\n"
		"--socket PATH names meshwgd's socket (default: $MESHWG_SOCKET, else\n"
		APICLIENT_DEFAULT_SOCKET "); $MESHWG_TIMEOUT (seconds) bounds the wait for\n"
		"meshwgd's answer (default 15 s for status/ip/whois, 90 s for down/logout).\n"
		"`meshwg <command> --help' describes a\n"
		"command. The wg verbs need the meshwg kernel module (modprobe meshwg) and, to\n"
		"change anything, CAP_NET_ADMIN.\n");
}

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
} api_verbs[] = {
	{ "up", up_main }, { "down", down_main }, { "logout", logout_main },
	{ "status", status_main }, { "ip", ip_main }, { "whois", whois_main },
};

int main(int argc, char *argv[])
{
	/* --socket PATH (or --socket=PATH) before the command. */
	if (argc >= 2 && !strncmp(argv[1], "--socket", 8) &&
	    (argv[1][8] == '\0' || argv[1][8] == '=')) {
		int used = argv[1][8] == '=' ? 1 : 2;

		apiclient_socket = argv[1][8] == '=' ? argv[1] + 9 : argc > 2 ? argv[2] : NULL;
		if (!apiclient_socket || !apiclient_socket[0]) {
			fprintf(stderr, "meshwg: --socket needs a path\n");
			return 1;
		}
		argv[used] = argv[0];
		argc -= used;
		argv += used;
	}
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("meshwg v%s\n", MESHWG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(api_verbs) / sizeof(api_verbs[0]); i++)
		if (!strcmp(argv[1], api_verbs[i].name))
			return api_verbs[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "wg"))
		return wg_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "debug"))
		return debug_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "filter"))
		return filter_main(argc - 1, argv + 1);
	fprintf(stderr, "Invalid command: `%s'\n", argv[1]);
	usage(stderr);
	return 1;
}
