// SPDX-License-Identifier: GPL-2.0
/*
 * genconf: a wg(8)-format configuration with many peers, for the netlink
 * scale test. Peer i gets random public key and allowed IPs
 * 10.(i >> 8 & 255).(i & 255).(16 j)/28 and, past 65536 peers or 16 IPs,
 * fd00:(i)::(j)/128.
 *
 *   genconf --peers N --ips-per-peer M --private-key B64 [--listen-port P]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char *argv[])
{
	unsigned long peers = 0, ips = 0, port = 10001;
	const char *priv = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--peers"))
			peers = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--ips-per-peer"))
			ips = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--private-key"))
			priv = argv[i + 1];
		else if (!strcmp(argv[i], "--listen-port"))
			port = strtoul(argv[i + 1], NULL, 10);
	}
	if (!priv || !peers || !ips || peers > 65536 || ips > 1000 || argc % 2 != 1) {
		fputs("usage: genconf --peers N(<=65536) --ips-per-peer M(<=1000) --private-key B64 [--listen-port P]\n",
		      stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	printf("[Interface]\nPrivateKey = %s\nListenPort = %lu\n", priv, port);
	for (unsigned long p = 0; p < peers; p++) {
		unsigned char key[32];
		char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

		randombytes_buf(key, sizeof(key));
		sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
		printf("\n[Peer]\nPublicKey = %s\nAllowedIPs = ", b64);
		for (unsigned long j = 0; j < ips; j++) {
			if (j < 16)
				printf("%s10.%lu.%lu.%lu/28", j ? ", " : "", (p >> 8) & 255, p & 255,
				       16 * j);
			else
				printf(", fd00:%lx::%lx/128", p, j);
		}
		printf("\n");
	}
	return ferror(stdout) ? 1 : 0;
}
