// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg status', `meshwg ip', `meshwg whois': views of meshwgd's status. */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "apicmds.h"
#include "apiclient.h"
#include "statusfmt.h"
#include "subcommands.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] status [--json]\n"
		"\n"
		"Shows the state of this node and its peers, as meshwgd sees them. When the node\n"
		"is not Running, one line says why and what to run. Otherwise, one line for\n"
		"this node (IP, DNS name, user or tags, `self' with the interface and port), then\n"
		"one line per peer:\n"
		"  IP  DNS-NAME  USER|TAGS  CONNECTION  handshake AGO  rx BYTES  tx BYTES  acl-drops N\n"
		"where CONNECTION is `direct IP:PORT' (a handshake in the last 180 s), `idle'\n"
		"or `offline' (the control server says so and no recent handshake). If a\n"
		"packet filter is installed, a `Filter' section follows with each rule and its\n"
		"hits (packets and bytes accepted), and the packets the default rule dropped.\n"
		"\n"
		"  --json   prints the status object as meshwgd sent it (docs/agent.md), control\n"
		"           characters in its strings escaped\n"
		"\n"
		"Any local user may run it (and ip, whois); changes need root or the operator.\n"
		"Exit status: 0 when Running or Starting, 1 otherwise or on error.\n");
}

static void ip_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] ip [-4|-6] [PEER]\n"
		"\n"
		"Prints this node's tailnet addresses, one per line, or those of PEER (a\n"
		"host name, DNS name or one of its addresses).\n"
		"\n"
		"  -4   IPv4 addresses only\n"
		"  -6   IPv6 addresses only\n"
		"\n"
		"Exit status: 1 when there is no such node or no address of that family.\n");
}

static void whois_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] whois IP\n"
		"\n"
		"Tells which node of the tailnet (a peer or this node) owns IP: its names, node\n"
		"key, addresses, and its user or tags. Exit status 1 with `no node has IP X'\n"
		"when none does.\n");
}

/* The "status" object of a status reply (owned by *final); NULL on error. */
static const cJSON *get_status(cJSON **final)
{
	const cJSON *st;

	*final = apiclient_simple("status", APICLIENT_QUERY_TIMEOUT_MS);
	if (!*final)
		return NULL;
	st = cJSON_GetObjectItemCaseSensitive(*final, "status");
	if (!cJSON_IsObject(st)) {
		fprintf(stderr, "meshwg: meshwgd's reply has no status object\n");
		cJSON_Delete(*final);
		*final = NULL;
		return NULL;
	}
	return st;
}

int status_main(int argc, char *argv[])
{
	const cJSON *st, *state;
	bool json = false;
	cJSON *final;
	char err[256];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			status_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		fprintf(stderr, "meshwg status: unknown argument `%s'\n", argv[i]);
		status_usage(stderr);
		return 1;
	}
	st = get_status(&final);
	if (!st)
		return 1;
	/* The same exit status with and without --json (see --help). */
	state = cJSON_GetObjectItemCaseSensitive(st, "backend_state");
	ret = cJSON_IsString(state) && (!strcmp(state->valuestring, "Running") ||
					!strcmp(state->valuestring, "Starting")) ? 0 : 1;
	if (json) {
		char *text = cJSON_Print(st);

		if (text) {
			printf("%s\n", text);
		} else {
			fprintf(stderr, "meshwg status: out of memory\n");
			ret = 1;
		}
		cJSON_free(text);
	} else if (sf_status(stdout, st, time(NULL), err, sizeof(err))) {
		fprintf(stderr, "meshwg status: %s\n", err);
		ret = 1;
	}
	cJSON_Delete(final);
	return ret;
}

int ip_main(int argc, char *argv[])
{
	const char *who = NULL;
	const cJSON *st;
	int family = 0, ret;
	cJSON *final;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			ip_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-4") || !strcmp(argv[i], "-6")) {
			int fam = argv[i][1] == '4' ? AF_INET : AF_INET6;

			if (family && family != fam) {
				fprintf(stderr, "meshwg ip: -4 and -6 exclude each other\n");
				return 1;
			}
			family = fam;
			continue;
		}
		if (argv[i][0] == '-' || who) {
			fprintf(stderr, "meshwg ip: unexpected argument `%s'\n", argv[i]);
			ip_usage(stderr);
			return 1;
		}
		who = argv[i];
	}
	st = get_status(&final);
	if (!st)
		return 1;
	ret = sf_ip(stdout, st, family, who, err, sizeof(err));
	if (ret)
		fprintf(stderr, "meshwg ip: %s\n", err);
	cJSON_Delete(final);
	return ret ? 1 : 0;
}

int whois_main(int argc, char *argv[])
{
	const cJSON *st;
	cJSON *final;
	char err[512];
	int ret;

	if (argc == 2 && is_help(argv[1])) {
		whois_usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		whois_usage(stderr);
		return 1;
	}
	{
		unsigned char bin[16];

		if (inet_pton(AF_INET, argv[1], bin) != 1 && inet_pton(AF_INET6, argv[1], bin) != 1) {
			fprintf(stderr, "meshwg whois: `%s' is not an IP address\n", argv[1]);
			return 1;
		}
	}
	st = get_status(&final);
	if (!st)
		return 1;
	ret = sf_whois(stdout, st, argv[1], err, sizeof(err));
	if (ret)
		fprintf(stderr, "meshwg whois: %s\n", err);
	cJSON_Delete(final);
	return ret ? 1 : 0;
}
