// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg set`: change an interface from the command line. */

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ipc.h"
#include "subcommands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s set <interface> [listen-port <port>] [fwmark <mark>|off]\n"
		"        [private-key <file path>] [peer <base64 public key> [remove] [update-only]\n"
		"        [preshared-key <file path>] [endpoint <ip>:<port>|relay:<id>]\n"
		"        [persistent-keepalive <seconds>|off] [allowed-ips <ip1>/<cidr1>[,<ip2>/<cidr2>]...]]...\n"
		"\n"
		"Changes the interface like wg(8) set. Key files hold one base64 key; an empty\n"
		"file removes the key (\"/dev/stdin\" reads the key from standard input).\n"
		"allowed-ips replaces the peer's list (\"\" empties it). Endpoints are IPv4\n"
		"a.b.c.d:port, IPv6 [addr]:port, a host name resolved once now, or relay:N for a\n"
		"relay endpoint (an opaque nonzero id, e.g. the DERP region, handled by the\n"
		"agent). Large changes are split into several netlink messages. The kernel's\n"
		"reason for a refusal is printed and the exit status is 1.\n",
		PROG_NAME);
}

int set_main(int argc, char *argv[])
{
	char err[ERR_LEN];
	struct mw_device *dev;
	struct ipc ipc;
	int ret;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 1;
	}
	if (strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "Interface name too long: `%s'\n", argv[1]);
		return 1;
	}
	dev = config_parse_args(argc - 2, argv + 2, err, sizeof(err));
	if (!dev) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (ipc_open(&ipc)) {
		free_device(dev);
		return 1;
	}
	ret = ipc_set_device(&ipc, argv[1], dev);
	if (ret)
		ipc_perror(&ipc, "Unable to modify interface", ret);
	ipc_close(&ipc);
	free_device(dev);
	return ret ? 1 : 0;
}
