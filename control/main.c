// SPDX-License-Identifier: MIT
/* meshwg-control: the coordination server and its admin command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "admin.h"
#include "config.h"
#include "polglue.h"
#include "server.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/meshwg/control.json"

static const char usage_main[] =
	"Usage: meshwg-control [--config FILE] [--output table|json] COMMAND [ARGS]\n"
	"\n"
	"The meshwg coordination server and its administration tool. Admin commands\n"
	"work directly on the database named in the configuration; running servers\n"
	"pick the changes up from the database's change log within\n"
	"change_poll_interval_ms (1 s by default).\n"
	"\n"
	"Commands:\n"
	"  serve                     run the server (HTTP/HTTPS, long-poll map streams)\n"
	"  configtest                check the configuration and print the effective one\n"
	"  users create|list|delete  tailnet users\n"
	"  nodes list|approve|expire|rename|tag|delete|routes|approve-routes\n"
	"  preauthkeys create|list|expire\n"
	"  policy get|set|check      the HuJSON ACL policy\n"
	"  apikeys create|list|expire   keys for the admin HTTP API\n"
	"\n"
	"Options:\n"
	"  --config FILE   configuration (JSON), default " DEFAULT_CONFIG "\n"
	"  --output FMT    table (default) or json\n"
	"  -h, --help      this help; COMMAND --help for a command's help\n"
	"\n"
	"Exit status: 0 on success, 1 on error (message on stderr), 2 on usage errors.\n"
	"See docs/protocol.md for the protocol, the admin HTTP API and the config.\n";

struct cmd {
	const char *res, *verb;
	const char *positional[3];	/* names for positional arguments */
	const char *flags;		/* space-separated boolean options */
	const char *options;		/* space-separated options with a value */
	const char *help;
};

static const struct cmd cmds[] = {
	{ "users", "create", { "name" }, "", "",
	  "meshwg-control users create NAME\n  Creates a user (1-63 letters, digits, '-', '_', '.', '@').\n" },
	{ "users", "list", { 0 }, "", "",
	  "meshwg-control users list\n  Lists users with their node counts.\n" },
	{ "users", "delete", { "name" }, "", "",
	  "meshwg-control users delete NAME\n  Deletes a user that has no nodes, with its pre-auth keys.\n" },
	{ "nodes", "list", { 0 }, "", "user",
	  "meshwg-control nodes list [--user NAME]\n  Lists nodes (pending ones too).\n" },
	{ "nodes", "approve", { "id" }, "", "user",
	  "meshwg-control nodes approve ID --user NAME\n"
	  "  Approves a pending registration for user NAME; it gets its addresses and\n"
	  "  a DNS name. Prints the machine key: check it against the machine's.\n" },
	{ "nodes", "expire", { "id" }, "", "",
	  "meshwg-control nodes expire ID\n  Expires the node's key now; it must re-register.\n" },
	{ "nodes", "rename", { "id", "name" }, "", "",
	  "meshwg-control nodes rename ID NEWNAME\n  Sets the node's DNS label (unique in the tailnet).\n" },
	{ "nodes", "tag", { "id" }, "", "tags",
	  "meshwg-control nodes tag ID --tags tag:a,tag:b\n"
	  "  Replaces the node's tags (empty to remove all). Tagged nodes never expire;\n"
	  "  with a policy in force each tag must be in its tagOwners.\n" },
	{ "nodes", "delete", { "id" }, "", "",
	  "meshwg-control nodes delete ID\n  Deletes a node; its addresses are freed.\n" },
	{ "nodes", "routes", { "id" }, "", "",
	  "meshwg-control nodes routes [ID]\n  Shows advertised and approved routes.\n" },
	{ "nodes", "approve-routes", { "id" }, "", "routes",
	  "meshwg-control nodes approve-routes ID --routes 10.0.0.0/24,0.0.0.0/0\n"
	  "  Sets the approved routes (a subset of the advertised ones; empty for none).\n"
	  "  0.0.0.0/0 and ::/0 make an exit node.\n" },
	{ "preauthkeys", "create", { 0 }, "reusable ephemeral", "user expiration tags",
	  "meshwg-control preauthkeys create --user NAME [--reusable] [--ephemeral]\n"
	  "                                  [--expiration 1h] [--tags tag:a,tag:b]\n"
	  "  Creates a pre-auth key and prints it once (only its hash is stored).\n"
	  "  Single-use unless --reusable; nodes registered with an --ephemeral key are\n"
	  "  deleted after ephemeral_inactivity_timeout offline. Tagged keys make tagged\n"
	  "  nodes (which never expire). Default expiration 1h.\n" },
	{ "preauthkeys", "list", { 0 }, "", "user",
	  "meshwg-control preauthkeys list [--user NAME]\n  Lists pre-auth keys (by prefix; never the key).\n" },
	{ "preauthkeys", "expire", { "id" }, "", "",
	  "meshwg-control preauthkeys expire ID|PREFIX\n  Expires a pre-auth key now.\n" },
	{ "policy", "get", { 0 }, "", "",
	  "meshwg-control policy get\n  Prints the policy in force (HuJSON).\n" },
	{ "policy", "set", { "file" }, "", "",
	  "meshwg-control policy set FILE\n"
	  "  Parses FILE, checks that its users exist and runs its tests against the\n"
	  "  nodes; on error prints file:line:col and keeps the old policy, else\n"
	  "  installs it (every affected map stream gets a delta).\n" },
	{ "policy", "check", { "file" }, "", "",
	  "meshwg-control policy check FILE\n  Like set, without installing. Without a configuration file, only\n"
	  "  checks the file itself (no users to check, no nodes to run its tests on).\n" },
	{ "apikeys", "create", { 0 }, "", "expiration",
	  "meshwg-control apikeys create [--expiration 90d]\n"
	  "  Creates an admin API key (printed once) for the /api/v1 HTTP API:\n"
	  "  curl -H 'Authorization: Bearer KEY' URL/api/v1/nodes\n" },
	{ "apikeys", "list", { 0 }, "", "",
	  "meshwg-control apikeys list\n  Lists API keys by prefix.\n" },
	{ "apikeys", "expire", { "id" }, "", "",
	  "meshwg-control apikeys expire ID|PREFIX\n  Expires an API key now.\n" },
};

static const char help_serve[] =
	"meshwg-control [--config FILE] serve\n"
	"  Runs the coordination server: the node protocol (/v1/...), the admin API\n"
	"  (/api/v1/...) and /health, over HTTPS (tls_cert/tls_key) or plain HTTP on\n"
	"  loopback. Loads policy_file (if set) into the database at start; refuses\n"
	"  to start if it is invalid. Stops on SIGINT/SIGTERM.\n";
static const char help_configtest[] =
	"meshwg-control [--config FILE] configtest\n"
	"  Parses the configuration, opens the database (running migrations) and\n"
	"  prints the effective settings. Exit status 1 with file:line:col on error.\n";

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	static char buf[4][64];
	static int slot;

	if (cJSON_IsString(v))
		return v->valuestring;
	slot = (slot + 1) % 4;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "yes" : "no";
	if (cJSON_IsNumber(v)) {
		snprintf(buf[slot], sizeof(buf[slot]), "%lld", (long long)v->valuedouble);
		return buf[slot];
	}
	if (cJSON_IsArray(v)) {
		const cJSON *it;
		size_t o = 0;

		buf[slot][0] = '\0';
		cJSON_ArrayForEach(it, v) {
			int w = snprintf(buf[slot] + o, sizeof(buf[slot]) - o, "%s%s", o ? "," : "",
					 cJSON_IsString(it) ? it->valuestring : "?");
			if (w < 0 || (size_t)w >= sizeof(buf[slot]) - o)
				break;
			o += (size_t)w;
		}
		return o ? buf[slot] : "-";
	}
	return "-";
}

static void print_table(const cJSON *rows, const char *const *cols, const char *const *heads)
{
	size_t w[16] = { 0 }, i, n;
	const cJSON *r;

	for (n = 0; cols[n]; n++)
		w[n] = strlen(heads[n]);
	cJSON_ArrayForEach(r, rows)
		for (i = 0; i < n; i++)
			if (strlen(str(r, cols[i])) > w[i])
				w[i] = strlen(str(r, cols[i]));
	for (i = 0; i < n; i++)
		printf("%-*s%s", (int)w[i], heads[i], i + 1 < n ? "  " : "\n");
	cJSON_ArrayForEach(r, rows)
		for (i = 0; i < n; i++)
			printf("%-*s%s", (int)w[i], str(r, cols[i]), i + 1 < n ? "  " : "\n");
}

static void print_human(const char *res, const char *verb, const cJSON *out)
{
	if (!strcmp(verb, "list") || (!strcmp(res, "nodes") && !strcmp(verb, "routes"))) {
		if (!strcmp(res, "users"))
			print_table(out, (const char *const[]){ "id", "name", "nodes", "created", 0 },
				    (const char *const[]){ "ID", "NAME", "NODES", "CREATED" });
		else if (!strcmp(res, "nodes") && !strcmp(verb, "list"))
			print_table(out, (const char *const[]){ "id", "name", "hostname", "fingerprint",
				    "user", "addresses", "tags", "online", "pending", "expired",
				    "last_seen", 0 },
				    (const char *const[]){ "ID", "NAME", "HOSTNAME", "MACHINE", "USER",
				    "ADDRESSES", "TAGS", "ONLINE", "PENDING", "EXPIRED", "LAST SEEN" });
		else if (!strcmp(res, "nodes"))
			print_table(out, (const char *const[]){ "id", "name", "advertised", "approved",
				    "exit_node", 0 },
				    (const char *const[]){ "ID", "NAME", "ADVERTISED", "APPROVED", "EXIT" });
		else if (!strcmp(res, "preauthkeys"))
			print_table(out, (const char *const[]){ "id", "prefix", "user", "reusable",
				    "ephemeral", "used", "tags", "expiration", "expired", 0 },
				    (const char *const[]){ "ID", "PREFIX", "USER", "REUSABLE", "EPHEMERAL",
				    "USED", "TAGS", "EXPIRATION", "EXPIRED" });
		else
			print_table(out, (const char *const[]){ "id", "prefix", "created", "expiration",
				    "expired", "last_used", 0 },
				    (const char *const[]){ "ID", "PREFIX", "CREATED", "EXPIRATION",
				    "EXPIRED", "LAST USED" });
		return;
	}
	if (!strcmp(res, "policy") && !strcmp(verb, "get")) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(out, "policy");

		if (cJSON_IsString(p))
			fputs(p->valuestring, stdout);
		else
			printf("(no policy: every node may reach every node)\n");
		return;
	}
	if (!strcmp(res, "nodes") && !strcmp(verb, "approve")) {
		printf("approved node %s: machine %s, hostname %s, now %s of user %s\n",
		       str(out, "id"), str(out, "machine_key"), str(out, "hostname"),
		       str(out, "dns_name"), str(out, "user"));
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(out, "key")) {
		printf("%s\n", str(out, "key"));
		return;
	}
	printf("ok\n");
}

static int run_admin(const struct mwg_config *cfg, const struct cmd *c, int argc, char **argv,
		     bool json)
{
	struct mwg_err e = { 0 };
	struct mwg_store *st;
	cJSON *args = cJSON_CreateObject(), *out = NULL;
	char op[64];
	int i, npos = 0, r;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--", 2)) {
			const char *name = argv[i] + 2;

			if (word_in(c->flags, name)) {
				cJSON_AddTrueToObject(args, name);
			} else if (word_in(c->options, name) && i + 1 < argc) {
				cJSON_DeleteItemFromObject(args, name);
				cJSON_AddStringToObject(args, name, argv[++i]);
			} else {
				fprintf(stderr, "meshwg-control: %s %s: unknown option %s (or missing value)\n%s",
					c->res, c->verb, argv[i], c->help);
				cJSON_Delete(args);
				return 2;
			}
		} else if (npos < 3 && c->positional[npos]) {
			cJSON_AddStringToObject(args, c->positional[npos++], argv[i]);
		} else {
			fprintf(stderr, "meshwg-control: %s %s: unexpected argument \"%s\"\n%s",
				c->res, c->verb, argv[i], c->help);
			cJSON_Delete(args);
			return 2;
		}
	}
	if (!strcmp(c->res, "policy") && strcmp(c->verb, "get")) {
		const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(args, "file"));
		char *text;

		if (!file) {
			fprintf(stderr, "meshwg-control: policy %s: FILE is required\n%s", c->verb, c->help);
			cJSON_Delete(args);
			return 2;
		}
		size_t len = 0;

		text = mwg_read_file(file, POLICY_MAX_FILE, &len, &e);
		if (!text || memchr(text, '\0', len)) {
			fprintf(stderr, "meshwg-control: %s\n", text ? "policy file contains a NUL byte" : e.msg);
			free(text);
			cJSON_Delete(args);
			return 1;
		}
		cJSON_AddStringToObject(args, "text", text);
		cJSON_AddStringToObject(args, "name", file);
		free(text);
	}
	if (mwg_store_open(cfg, &st, &e)) {
		fprintf(stderr, "meshwg-control: %s\n", e.msg);
		cJSON_Delete(args);
		return 1;
	}
	snprintf(op, sizeof(op), "%s.%s", c->res, c->verb);
	r = mwg_admin_exec(st, cfg, op, args, &out, &e);
	mwg_store_close(st);
	cJSON_Delete(args);
	if (r) {
		fprintf(stderr, "meshwg-control: %s\n", e.msg);
		return 1;
	}
	if (json) {
		char *s = cJSON_Print(out);

		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		print_human(c->res, c->verb, out);
	}
	cJSON_Delete(out);
	return 0;
}

/* `policy check FILE` without a configuration file: a linter (no database,
 * so no users or nodes to check the policy or run its tests against). */
static int policy_lint(int argc, char **argv)
{
	struct mwg_err e = { 0 };
	struct policy *p;
	size_t len = 0;
	char *text;

	if (argc != 1) {
		fprintf(stderr, "meshwg-control: policy check: want one FILE\n");
		return 2;
	}
	text = mwg_read_file(argv[0], POLICY_MAX_FILE, &len, &e);
	if (!text || memchr(text, '\0', len)) {
		fprintf(stderr, "meshwg-control: %s\n", text ? "policy file contains a NUL byte" : e.msg);
		free(text);
		return 1;
	}
	p = mwg_policy_parse_text(text, len, argv[0], &e);
	free(text);
	if (!p) {
		fprintf(stderr, "meshwg-control: %s\n", e.msg);
		return 1;
	}
	if (policy_test_count(p))
		fprintf(stderr, "meshwg-control: %s: tests not run (they need the nodes: "
			"give --config)\n", argv[0]);
	policy_free(p);
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	struct mwg_config cfg;
	struct mwg_err e = { 0 };
	bool json = false, help = false;
	int i, r;
	size_t k;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config = argv[++i];
		} else if (!strcmp(argv[i], "--output") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "json"))
				json = true;
			else if (strcmp(argv[i], "table")) {
				fprintf(stderr, "meshwg-control: --output: table or json\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_main, stdout);
			return 0;
		} else {
			fprintf(stderr, "meshwg-control: unknown option %s\n%s", argv[i], usage_main);
			return 2;
		}
	}
	if (i >= argc) {
		fputs(usage_main, stderr);
		return 2;
	}
	for (r = i + 1; r < argc; r++)
		if (!strcmp(argv[r], "--help") || !strcmp(argv[r], "-h"))
			help = true;
	if (!strcmp(argv[i], "serve") || !strcmp(argv[i], "configtest")) {
		bool serve = !strcmp(argv[i], "serve");

		if (help) {
			fputs(serve ? help_serve : help_configtest, stdout);
			return 0;
		}
		if (i + 1 < argc) {
			fprintf(stderr, "meshwg-control: %s takes no arguments\n", argv[i]);
			return 2;
		}
		if (sodium_init() < 0 || mwg_config_load(&cfg, config, &e)) {
			fprintf(stderr, "meshwg-control: %s\n", e.msg);
			return 1;
		}
		if (serve) {
			r = mwg_serve(&cfg, &e) ? 1 : 0;
			if (r)
				fprintf(stderr, "meshwg-control: %s\n", e.msg);
		} else {
			struct mwg_store *st;

			r = mwg_store_open(&cfg, &st, &e) ? 1 : 0;
			if (r) {
				fprintf(stderr, "meshwg-control: %s\n", e.msg);
			} else {
				cJSON *o = mwg_config_to_json(&cfg);
				char *s = o ? cJSON_Print(o) : NULL;

				mwg_store_close(st);
				printf("%s\nconfiguration ok\n", s ? s : "");
				free(s);
				cJSON_Delete(o);
			}
		}
		mwg_config_free(&cfg);
		return r;
	}
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(cmds[k].res, argv[i]))
			continue;
		if (i + 1 < argc && !strcmp(cmds[k].verb, argv[i + 1])) {
			if (help) {
				fputs(cmds[k].help, stdout);
				return 0;
			}
			if (!strcmp(argv[i], "policy") && !strcmp(argv[i + 1], "check") &&
			    access(config, F_OK) && errno == ENOENT)
				return policy_lint(argc - i - 2, argv + i + 2);
			if (sodium_init() < 0 || mwg_config_load(&cfg, config, &e)) {
				fprintf(stderr, "meshwg-control: %s\n", e.msg);
				return 1;
			}
			r = run_admin(&cfg, &cmds[k], argc - i - 2, argv + i + 2, json);
			mwg_config_free(&cfg);
			return r;
		}
	}
	/* Unknown verb: list the resource's verbs. */
	for (k = 0, r = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(cmds[k].res, argv[i])) {
			if (!r++)
				fprintf(help ? stdout : stderr, "Commands of \"%s\":\n\n", argv[i]);
			fputs(cmds[k].help, help ? stdout : stderr);
		}
	}
	if (!r)
		fprintf(stderr, "meshwg-control: unknown command \"%s\"\n%s", argv[i], usage_main);
	return help && r ? 0 : 2;
}
