// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg setconf | addconf | syncconf`: apply a configuration file. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ipc.h"
#include "subcommands.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"Usage: %s %s <interface> <configuration filename>\n"
		"\n"
		"setconf  makes the interface's configuration exactly the file's: peers not in\n"
		"         the file are removed (REPLACE_PEERS).\n"
		"addconf  adds the file's peers and settings; other peers stay.\n"
		"syncconf like setconf, but removes only the peers that are not in the file,\n"
		"         leaving the sessions of the others untouched.\n"
		"\n"
		"The file has wg(8)'s format: an [Interface] section with PrivateKey, ListenPort,\n"
		"FwMark, and [Peer] sections with PublicKey (required), PresharedKey,\n"
		"AllowedIPs (repeatable, comma-separated), Endpoint (ip:port, [ipv6]:port,\n"
		"host:port resolved once when the file is read, or relay:N) and\n"
		"PersistentKeepalive (off or 0-65535). Keys are case-insensitive, `#' starts a\n"
		"comment, whitespace is ignored. wg-quick keys (Address, DNS, ...) are refused.\n"
		"Errors name the file and line; nothing is changed when the file is invalid.\n"
		"The filename `-' reads standard input. Configurations of any size are sent\n"
		"split over several netlink messages.\n",
		PROG_NAME, cmd);
}

int setconf_main(int argc, char *argv[])
{
	bool replace = !strcmp(argv[0], "setconf"), sync = !strcmp(argv[0], "syncconf");
	struct mw_device *dev, *cur = NULL;
	char err[ERR_LEN];
	struct ipc ipc;
	int ret;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout, argv[0]);
		return 0;
	}
	if (argc != 3) {
		usage(stderr, argv[0]);
		return 1;
	}
	if (strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "Interface name too long: `%s'\n", argv[1]);
		return 1;
	}
	dev = config_read_file(argv[2], replace, err, sizeof(err));
	if (!dev) {
		fprintf(stderr, "%s\nConfiguration parsing error\n", err);
		return 1;
	}
	if (ipc_open(&ipc)) {
		free_device(dev);
		return 1;
	}
	if (sync) {
		ret = ipc_get_device(&ipc, argv[1], &cur);
		if (ret) {
			ipc_perror(&ipc, "Unable to access interface", ret);
			goto out;
		}
		if (config_add_removals(dev, cur)) {
			fprintf(stderr, "Out of memory\n");
			ret = -1;
			goto out;
		}
	}
	ret = ipc_set_device(&ipc, argv[1], dev);
	if (ret)
		ipc_perror(&ipc, "Unable to modify interface", ret);
out:
	ipc_close(&ipc);
	free_device(cur);
	free_device(dev);
	return ret ? 1 : 0;
}
