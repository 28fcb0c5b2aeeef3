// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg showconf`: the device as a configuration file. */

#include <stdio.h>
#include <string.h>

#include "key.h"
#include "format.h"
#include "ipc.h"
#include "subcommands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s showconf <interface>\n"
		"\n"
		"Prints the interface's configuration in the format read by setconf and\n"
		"addconf ([Interface] PrivateKey/ListenPort/FwMark, [Peer] PublicKey/\n"
		"PresharedKey/AllowedIPs/Endpoint/PersistentKeepalive). Relay endpoints are\n"
		"written as `Endpoint = relay:N'. Needs CAP_NET_ADMIN to see the private key.\n",
		PROG_NAME);
}

int showconf_main(int argc, char *argv[])
{
	char b64[KEY_B64_LEN], addr[FMT_ADDR_LEN];
	const struct mw_allowedip *ip;
	const struct mw_peer *peer;
	struct mw_device *dev;
	struct ipc ipc;
	const char *ep;
	int err;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (argc != 2) {
		usage(stderr);
		return 1;
	}
	if (ipc_open(&ipc))
		return 1;
	err = ipc_get_device(&ipc, argv[1], &dev);
	if (err) {
		ipc_perror(&ipc, "Unable to access interface", err);
		ipc_close(&ipc);
		return 1;
	}
	ipc_close(&ipc);
	printf("[Interface]\n");
	if (dev->listen_port)
		printf("ListenPort = %u\n", dev->listen_port);
	if (dev->fwmark)
		printf("FwMark = 0x%x\n", dev->fwmark);
	if (dev->flags & DEV_HAS_PRIVATE_KEY) {
		key_to_base64(b64, dev->private_key);
		printf("PrivateKey = %s\n", b64);
	}
	for_each_peer(dev, peer) {
		key_to_base64(b64, peer->public_key);
		printf("\n[Peer]\nPublicKey = %s\n", b64);
		if (peer->flags & PEER_HAS_PRESHARED_KEY) {
			key_to_base64(b64, peer->preshared_key);
			printf("PresharedKey = %s\n", b64);
		}
		if (peer->first_allowedip) {
			printf("AllowedIPs = ");
			for_each_allowedip(peer, ip)
				printf("%s/%u%s", fmt_ip(addr, ip), ip->cidr, ip->next ? ", " : "\n");
		}
		ep = fmt_endpoint(addr, peer);
		if (ep)
			printf("Endpoint = %s\n", ep);
		if (peer->persistent_keepalive_interval)
			printf("PersistentKeepalive = %u\n", peer->persistent_keepalive_interval);
	}
	free_device(dev);
	fflush(stdout);
	return 0;
}
