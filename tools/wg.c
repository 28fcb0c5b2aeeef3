// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg`: dispatch of the wg(8)-compatible verbs. */

#include <stdio.h>
#include <string.h>

#include "subcommands.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} subcommands[] = {
	{ "show", show_main, "Shows the current configuration and device information" },
	{ "showconf", showconf_main, "Shows the current configuration of a given meshwg interface, for use with `setconf'" },
	{ "set", set_main, "Change the current configuration, add peers, remove peers, or change peers" },
	{ "setconf", setconf_main, "Applies a configuration file to a meshwg interface" },
	{ "addconf", setconf_main, "Appends a configuration file to a meshwg interface" },
	{ "syncconf", setconf_main, "Synchronizes a configuration file to a meshwg interface" },
	{ "genkey", genkey_main, "Generates a new private key and writes it to stdout" },
	{ "genpsk", genkey_main, "Generates a new preshared key and writes it to stdout" },
	{ "pubkey", pubkey_main, "Reads a private key from stdin and writes a public key to stdout" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s <cmd> [<args>]\n"
		"\n"
		"Low-level configuration of meshwg interfaces over generic netlink (family\n"
		"`meshwg'), with the syntax and output of wg(8). Available subcommands:\n",
		PROG_NAME);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i)
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].description);
	fprintf(f,
		"\n"
		"With no subcommand, `show' is run. `%s <cmd> --help' describes each one.\n"
		"Exit status is 0 on success and 1 on any error; errors from the kernel are\n"
		"printed with the kernel's own explanation (netlink extended ack).\n",
		PROG_NAME);
}

int wg_main(int argc, char *argv[])
{
	static char show[] = "show";
	char *show_argv[] = { show, NULL };
	size_t i;

	PROG_NAME = "meshwg wg";
	if (argc < 2)
		return show_main(1, show_argv);
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "Invalid subcommand: `%s'\n", argv[1]);
	usage(stderr);
	return 1;
}
