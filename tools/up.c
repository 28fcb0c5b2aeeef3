// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg up', `meshwg down', `meshwg logout': join, leave, forget. */

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "apicmds.h"
#include "apiclient.h"
#include "statusfmt.h"
#include "subcommands.h"

static void up_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] up [--login-server URL] [--auth-key KEY|file:PATH]\n"
		"                                 [--hostname NAME] [--advertise-tags TAG,...]\n"
		"                                 [--accept-routes[=true|false]] [--operator USER]\n"
		"                                 [--timeout SECONDS]\n"
		"\n"
		"Connects this node to the tailnet through meshwgd: registers with the control\n"
		"server if needed, then waits until the node is Running and prints its name and\n"
		"addresses. Messages from meshwgd (for instance the command an administrator must\n"
		"run to approve this node) are printed on stderr as they come.\n"
		"\n"
		"  --login-server URL   the control server, http:// or https:// (remembered);\n"
		"                       a running node switches only once registered there\n"
		"  --auth-key KEY       a pre-auth key; file:PATH reads it from PATH (first line)\n"
		"  --hostname NAME      the name to register (default: the machine's host name)\n"
		"  --advertise-tags T   tags to request, comma separated, each `tag:NAME'\n"
		"  --accept-routes      install the subnet routes other nodes advertise (never\n"
		"                       default routes, routes wider than /8 or /16, or routes\n"
		"                       over the control server, relays, peers or this host's\n"
		"                       own addresses: those are refused, see meshwg status)\n"
		"  --operator USER      USER may also run up, down and logout without root\n"
		"                       (remembered; only root may change it; --operator=\n"
		"                       removes it). Anyone may run status, ip and whois\n"
		"  --timeout SECONDS    give up after SECONDS (default: wait until done; meshwgd\n"
		"                       keeps trying after the command gives up)\n"
		"\n"
		"Options not given keep the values meshwgd stored from earlier runs. Needs root,\n"
		"the operator, or meshwgd's --socket-group. Exit status: 0 when the node is\n"
		"Running, 1 on error (meshwgd's message on stderr).\n");
}

static void down_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] down\n"
		"\n"
		"Disconnects from the tailnet: meshwgd stops following the control server and\n"
		"deletes the interface. The node stays registered; `meshwg up' reconnects it.\n"
		"Needs root, the operator (meshwg up --operator) or meshwgd's --socket-group.\n");
}

static void logout_usage(FILE *f)
{
	fprintf(f,
		"Usage: meshwg [--socket PATH] logout\n"
		"\n"
		"Logs this node out of the control server, forgets its node key and brings\n"
		"the interface down. Joining again needs `meshwg up' with an auth key.\n"
		"Needs root, the operator (meshwg up --operator) or meshwgd's --socket-group.\n");
}

/* "--name VALUE" or "--name=VALUE": *val set and *i advanced. */
static int opt_value(int argc, char *argv[], int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], name))
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "meshwg up: %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* Reads the key of file:PATH: its first line, blanks trimmed. */
static char *read_key_file(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "meshwg up: cannot read the auth key file %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (!buf[0]) {
		fprintf(stderr, "meshwg up: the auth key file %s is empty\n", path);
		return NULL;
	}
	return strdup(buf);
}

static bool valid_tags(const char *list, cJSON *arr)
{
	char *copy = strdup(list), *save = NULL, *t;
	bool ok = copy != NULL;

	for (t = copy ? strtok_r(copy, ",", &save) : NULL; ok && t; t = strtok_r(NULL, ",", &save)) {
		if (strncmp(t, "tag:", 4) || !t[4] || strpbrk(t, " \t")) {
			fprintf(stderr, "meshwg up: invalid tag `%s' (tags look like tag:NAME)\n", t);
			ok = false;
		} else if (!cJSON_AddItemToArray(arr, cJSON_CreateString(t))) {
			ok = false;
		}
	}
	free(copy);
	return ok;
}

/* "operator" and its uid: the name is resolved here, so that meshwgd never
 * looks a name up while it serves requests. "" removes the operator. */
static bool add_operator(cJSON *req, const char *user)
{
	struct passwd *pw = NULL;

	if (user[0]) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			fprintf(stderr, "meshwg up: --operator: no user `%s'%s%s\n", user,
				errno ? ": " : "", errno ? strerror(errno) : "");
			return false;
		}
	}
	if (!cJSON_AddStringToObject(req, "operator", user) ||
	    (pw && !cJSON_AddNumberToObject(req, "operator_uid", (double)pw->pw_uid))) {
		fprintf(stderr, "meshwg up: out of memory\n");
		return false;
	}
	return true;
}

static void print_progress(const cJSON *line, void *arg)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(line, "message");

	(void)arg;
	if (cJSON_IsString(m)) {
		fprintf(stderr, "%s\n", m->valuestring);
		fflush(stderr);
	}
}

static void print_up(const cJSON *status)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(status, "self");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(self, "dns_name");
	const char *n = cJSON_IsString(name) ? name->valuestring : "";
	size_t len = strlen(n);
	char err[256];

	if (len && n[len - 1] == '.')
		len--;
	printf("meshwg is up%s%.*s\n", len ? " as " : "", (int)len, n);
	if (sf_ip(stdout, status, 0, NULL, err, sizeof(err)))
		fprintf(stderr, "meshwg up: %s\n", err);
}

int up_main(int argc, char *argv[])
{
	const char *server = NULL, *key = NULL, *hostname = NULL, *tags = NULL, *op = NULL, *val;
	int accept_routes = -1, timeout_ms = -1, ret = 1;
	cJSON *req = NULL, *final = NULL;
	char *keybuf = NULL, err[1024];

	for (int i = 1; i < argc; i++) {
		int r;

		if (is_help(argv[i])) {
			up_usage(stdout);
			return 0;
		}
		if ((r = opt_value(argc, argv, &i, "--login-server", &server)) ||
		    (r = opt_value(argc, argv, &i, "--auth-key", &key)) ||
		    (r = opt_value(argc, argv, &i, "--hostname", &hostname)) ||
		    (r = opt_value(argc, argv, &i, "--advertise-tags", &tags)) ||
		    (r = opt_value(argc, argv, &i, "--operator", &op))) {
			if (r < 0)
				return 1;
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--timeout", &val))) {
			char *end;
			long s;

			if (r < 0)
				return 1;
			errno = 0;
			s = strtol(val, &end, 10);
			if (errno || *end || s <= 0 || s > INT_MAX / 1000) {
				fprintf(stderr, "meshwg up: invalid --timeout `%s' (seconds, > 0)\n", val);
				return 1;
			}
			timeout_ms = (int)s * 1000;
			continue;
		}
		if (!strcmp(argv[i], "--accept-routes") || !strcmp(argv[i], "--accept-routes=true")) {
			accept_routes = 1;
			continue;
		}
		if (!strcmp(argv[i], "--accept-routes=false")) {
			accept_routes = 0;
			continue;
		}
		fprintf(stderr, "meshwg up: unknown argument `%s'\n", argv[i]);
		up_usage(stderr);
		return 1;
	}
	if (server && strncmp(server, "http://", 7) && strncmp(server, "https://", 8)) {
		fprintf(stderr, "meshwg up: --login-server must be an http:// or https:// URL, not `%s'\n",
			server);
		return 1;
	}
	if (hostname && (!hostname[0] || strlen(hostname) > 63 || strpbrk(hostname, " \t./"))) {
		fprintf(stderr, "meshwg up: invalid --hostname `%s' (one DNS label, at most 63 characters)\n",
			hostname);
		return 1;
	}
	if (key && !key[0]) {
		fprintf(stderr, "meshwg up: --auth-key is empty\n");
		return 1;
	}
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "cmd", "up"))
		goto oom;
	if (tags) {
		cJSON *arr = cJSON_AddArrayToObject(req, "advertise_tags");

		if (!arr)
			goto oom;
		if (!valid_tags(tags, arr))
			goto out;
	}
	if (key && !strncmp(key, "file:", 5)) {
		keybuf = read_key_file(key + 5);
		if (!keybuf)
			goto out;
		key = keybuf;
	}
	if (op && !add_operator(req, op))
		goto out;
	if ((server && !cJSON_AddStringToObject(req, "login_server", server)) ||
	    (key && !cJSON_AddStringToObject(req, "auth_key", key)) ||
	    (hostname && !cJSON_AddStringToObject(req, "hostname", hostname)) ||
	    (accept_routes >= 0 && !cJSON_AddBoolToObject(req, "accept_routes", accept_routes)))
		goto oom;
	if (apiclient_call(apiclient_path(), req, timeout_ms, print_progress, NULL, &final,
			   err, sizeof(err))) {
		fprintf(stderr, "meshwg up: %s\n", err);
		goto out;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(final, "ok"))) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(final, "error");

		fprintf(stderr, "meshwg up: %s\n", cJSON_IsString(e) ? e->valuestring :
			"meshwgd reported an error");
		goto out;
	}
	{
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(final, "status");
		char buf[512];
		const char *why = cJSON_IsObject(st) ? sf_state_text(st, buf, sizeof(buf)) : NULL;

		if (why) {	/* meshwgd answered ok but the node is not Running */
			fprintf(stderr, "meshwg up: %s\n", why);
			goto out;
		}
		print_up(st);
	}
	ret = 0;
	goto out;
oom:
	fprintf(stderr, "meshwg up: out of memory\n");
out:
	if (keybuf) {
		explicit_bzero(keybuf, strlen(keybuf));
		free(keybuf);
	}
	cJSON_Delete(req);
	cJSON_Delete(final);
	return ret;
}

static int simple_verb(int argc, char *argv[], const char *cmd, void (*usage)(FILE *),
		       const char *done)
{
	cJSON *final;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (argc != 1) {
		usage(stderr);
		return 1;
	}
	final = apiclient_simple(cmd, APICLIENT_ACTION_TIMEOUT_MS);
	if (!final)
		return 1;
	cJSON_Delete(final);
	printf("%s\n", done);
	return 0;
}

int down_main(int argc, char *argv[])
{
	return simple_verb(argc, argv, "down", down_usage, "meshwg is down");
}

int logout_main(int argc, char *argv[])
{
	return simple_verb(argc, argv, "logout", logout_usage, "Logged out.");
}
