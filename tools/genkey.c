// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg genkey | genpsk`. */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "containers.h"
#include "key.h"
#include "subcommands.h"

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"Usage: %s %s\n"
		"\n"
		"genkey  prints a new random Curve25519 private key (clamped), base64.\n"
		"genpsk  prints a new random 32-byte preshared key, base64.\n"
		"Warns when standard output is a file others can read (set umask 077).\n",
		PROG_NAME, cmd);
}

int genkey_main(int argc, char *argv[])
{
	uint8_t key[KEY_LEN];
	char b64[KEY_B64_LEN];
	struct stat st;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout, argv[0]);
		return 0;
	}
	if (argc != 1) {
		usage(stderr, argv[0]);
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: unable to initialise libsodium\n", argv[0]);
		return 1;
	}
	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fputs("Warning: writing to world accessible file.\n"
		      "Consider setting the umask to 077 and trying again.\n", stderr);
	randombytes_buf(key, sizeof(key));
	if (!strcmp(argv[0], "genkey")) {
		key[0] &= 248;
		key[31] = (uint8_t)((key[31] & 127) | 64);
	}
	key_to_base64(b64, key);
	sodium_memzero(key, sizeof(key));
	puts(b64);
	sodium_memzero(b64, sizeof(b64));
	return fflush(stdout) ? 1 : 0;
}
