// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg pubkey`: private key on stdin, public key on stdout. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "containers.h"
#include "key.h"
#include "subcommands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s pubkey < private.key\n"
		"\n"
		"Reads a base64 private key from standard input and prints its Curve25519\n"
		"public key in base64, e.g. `%s genkey | tee private.key | %s pubkey'.\n",
		PROG_NAME, PROG_NAME, PROG_NAME);
}

int pubkey_main(int argc, char *argv[])
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char buf[KEY_B64_LEN + 1], out[KEY_B64_LEN];
	size_t len;
	int c;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (argc != 1) {
		usage(stderr);
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: unable to initialise libsodium\n", argv[0]);
		return 1;
	}
	len = fread(buf, 1, KEY_B64_LEN - 1, stdin);
	buf[len] = '\0';
	for (;;) {
		c = getchar();
		if (c == EOF)
			break;
		if (!isspace(c)) {
			len = 0; /* trailing garbage */
			break;
		}
	}
	if (len != KEY_B64_LEN - 1 || !key_from_base64(priv, buf)) {
		fprintf(stderr, "%s: Key is not the correct length or format\n", argv[0]);
		sodium_memzero(buf, sizeof(buf));
		return 1;
	}
	sodium_memzero(buf, sizeof(buf));
	if (crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(priv, sizeof(priv));
		fprintf(stderr, "%s: Unable to compute the public key\n", argv[0]);
		return 1;
	}
	sodium_memzero(priv, sizeof(priv));
	key_to_base64(out, pub);
	puts(out);
	return fflush(stdout) ? 1 : 0;
}
