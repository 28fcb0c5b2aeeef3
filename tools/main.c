// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwg: the command line. */

#include <stdio.h>
#include <string.h>

#include "subcommands.h"

#define MESHWG_VERSION "0.1.0"

const char *PROG_NAME = "meshwg";

bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg <command> [<args>]\n"
		"\n"
		"meshwg is the command line of the meshwg mesh VPN. Commands:\n"
		"  wg       wg(8)-compatible low-level verbs over netlink: show, showconf, set,\n"
		"           setconf, addconf, syncconf, genkey, genpsk, pubkey\n"
		"  debug    the kernel's agent channel: listen, send, inject, relay\n"
		"  filter   the kernel's ACL ruleset: show, set, clear\n"
		"  version  prints the version\n"
		"\n"
		"`meshwg <command> --help' describes a command. The wg verbs need the meshwg\n"
		"kernel module (modprobe meshwg) and, to change anything, CAP_NET_ADMIN.\n");
}

int main(int argc, char *argv[])
{
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
