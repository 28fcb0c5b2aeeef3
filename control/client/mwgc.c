// SPDX-License-Identifier: MIT
/* mwgc: a small command-line client of the coordination protocol, for tests
 * and debugging. Prints JSON replies on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "mwgc_client.h"

static const char usage[] =
	"Usage: mwgc genkey\n"
	"       mwgc pubkey PREFIX KEYFILE\n"
	"       mwgc [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"A test client of the meshwg coordination protocol (docs/protocol.md).\n"
	"\n"
	"Options:\n"
	"  -s URL        server (default http://127.0.0.1:8080)\n"
	"  -m FILE       machine private key file (\"privkey:<hex>\", see genkey)\n"
	"  -n FILE       node private key file\n"
	"  -k            accept any TLS certificate\n"
	"\n"
	"Commands:\n"
	"  register [--auth-key KEY] [--hostname NAME] [--disco-key discokey:HEX]\n"
	"           [--tags tag:a,tag:b]\n"
	"                 register the node key (pending approval without --auth-key),\n"
	"                 advertising tags (\"\" sends an empty list)\n"
	"  rotate NEWKEYFILE [--hostname NAME]   rotate to a new node key\n"
	"  map            print one whole netmap\n"
	"  stream [--count N] [--skip-keepalive] [--netmap]\n"
	"                 print map-stream messages one per line (after N, stop);\n"
	"                 --netmap prints the netmap as updated by each message\n"
	"  update [--endpoints A,B] [--home-derp N] [--routes P,Q] [--hostinfo JSON]\n"
	"  logout\n"
	"  seal PAYLOAD   print a sealed request envelope for the JSON PAYLOAD\n"
	"  post PATH      POST stdin verbatim to PATH; print status and body\n"
	"\n"
	"Exit status 0 on success, 1 on error (\"HTTP <status>: <message>\" on stderr),\n"
	"2 on usage errors.\n";

struct stream_opts {
	long count, seen;
	bool skip_keepalive, netmap;
	cJSON *nm;
};

static int on_msg(const cJSON *msg, void *arg)
{
	struct stream_opts *o = arg;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));
	char *s;

	if (o->skip_keepalive && type && !strcmp(type, "keepalive"))
		return 0;
	if (o->netmap) {
		mwgc_netmap_apply(&o->nm, msg);
		s = o->nm ? cJSON_PrintUnformatted(o->nm) : NULL;
	} else {
		s = cJSON_PrintUnformatted(msg);
	}
	if (s) {
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	}
	o->seen++;
	return o->count > 0 && o->seen >= o->count;
}

static cJSON *list(const char *csv)
{
	cJSON *a = cJSON_CreateArray();
	char *copy = strdup(csv), *tok, *save = NULL;

	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(a, cJSON_CreateString(tok));
	free(copy);
	return a;
}

static int fail(const struct mwg_err *e)
{
	fprintf(stderr, "HTTP %d: %s\n", e->status, e->msg);
	return 1;
}

static void print(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

int main(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:8080", *mfile = NULL, *nfile = NULL;
	uint8_t mk[32], nk[32];
	struct mwg_err e = { 0 };
	struct mwgc c;
	bool insecure = false;
	int i, r = 0;

	if (sodium_init() < 0)
		return 1;
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "genkey")) {
		char t[MWG_KEY_TEXT_MAX];

		mwgc_genkey(mk);
		mwg_key_format(t, sizeof(t), "privkey:", mk);
		printf("%s\n", t);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "pubkey")) {
		char t[MWG_KEY_TEXT_MAX], prefix[32];

		if (mwgc_key_load(argv[3], mk, &e))
			return fail(&e);
		crypto_scalarmult_base(nk, mk);
		snprintf(prefix, sizeof(prefix), "%s:", argv[2]);
		mwg_key_format(t, sizeof(t), prefix, nk);
		printf("%s\n", t);
		return 0;
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mfile = argv[++i];
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			nfile = argv[++i];
		else if (!strcmp(argv[i], "-k"))
			insecure = true;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (i >= argc || !mfile || !nfile) {
		fputs(usage, stderr);
		return 2;
	}
	if (mwgc_key_load(mfile, mk, &e) || mwgc_key_load(nfile, nk, &e))
		return fail(&e);
	if (mwgc_init(&c, url, mk, nk)) {
		fprintf(stderr, "mwgc: init failed\n");
		return 1;
	}
	c.insecure_tls = insecure;
	{
		const char *cmd = argv[i++];
		cJSON *reply = NULL, *extra = cJSON_CreateObject();
		const char *auth = NULL, *host = "node", *newkey = NULL;
		struct stream_opts so = { 0 };

		for (; i < argc; i++) {
			const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

			if (!strcmp(a, "--auth-key") && v)
				auth = argv[++i];
			else if (!strcmp(a, "--hostname") && v)
				host = argv[++i];
			else if (!strcmp(a, "--disco-key") && v)
				cJSON_AddStringToObject(extra, "disco_key", argv[++i]);
			else if (!strcmp(a, "--count") && v)
				so.count = atol(argv[++i]);
			else if (!strcmp(a, "--skip-keepalive"))
				so.skip_keepalive = true;
			else if (!strcmp(a, "--netmap"))
				so.netmap = true;
			else if (!strcmp(a, "--endpoints") && v)
				cJSON_AddItemToObject(extra, "endpoints", list(argv[++i]));
			else if (!strcmp(a, "--tags") && v)
				cJSON_AddItemToObject(extra, "tags", list(argv[++i]));
			else if (!strcmp(a, "--routes") && v)
				cJSON_AddItemToObject(extra, "routes", list(argv[++i]));
			else if (!strcmp(a, "--home-derp") && v)
				cJSON_AddNumberToObject(extra, "home_derp", atoi(argv[++i]));
			else if (!strcmp(a, "--hostinfo") && v) {
				cJSON *h = cJSON_Parse(argv[++i]);

				if (!h) {
					fprintf(stderr, "mwgc: --hostinfo: not JSON\n");
					return 2;
				}
				cJSON_AddItemToObject(extra, "hostinfo", h);
			} else if (!newkey && a[0] != '-')
				newkey = a;
			else {
				fprintf(stderr, "mwgc: %s: unexpected argument %s\n", cmd, a);
				return 2;
			}
		}
		if (!strcmp(cmd, "register")) {
			r = mwgc_register(&c, auth, host, extra, &reply, &e);
			if (!r)
				print(reply);
		} else if (!strcmp(cmd, "rotate") && newkey) {
			uint8_t nk2[32];

			r = mwgc_key_load(newkey, nk2, &e);
			if (!r)
				r = mwgc_rotate(&c, nk2, host, &reply, &e);
			if (!r)
				print(reply);
		} else if (!strcmp(cmd, "map")) {
			r = mwgc_map(&c, extra, &reply, &e);
			if (!r)
				print(reply);
		} else if (!strcmp(cmd, "stream")) {
			r = mwgc_stream(&c, extra, on_msg, &so, &e);
			cJSON_Delete(so.nm);
		} else if (!strcmp(cmd, "update")) {
			r = mwgc_update(&c, extra, &e);
			if (!r)
				printf("{\"ok\":true}\n");
		} else if (!strcmp(cmd, "logout")) {
			r = mwgc_logout(&c, &e);
			if (!r)
				printf("{\"ok\":true}\n");
		} else if (!strcmp(cmd, "seal") && newkey) {
			cJSON *p = cJSON_Parse(newkey);
			char *s = NULL;

			r = p && !mwgc_fetch_server_key(&c, &e) && (s = mwgc_seal_request(&c, p, NULL)) ? 0 : -1;
			if (!r)
				printf("%s\n", s);
			else if (!e.status)
				mwg_fail(&e, 400, "payload is not JSON");
			free(s);
			cJSON_Delete(p);
		} else if (!strcmp(cmd, "post") && newkey) {
			struct mwg_buf in = { 0 };
			char buf[4096], *resp = NULL;
			size_t n;
			long st;

			while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
				mwg_buf_append(&in, buf, n);
			st = mwgc_post_raw(&c, newkey, in.data ? in.data : "", &resp, &e);
			r = st < 0;
			if (!r)
				printf("%ld %s\n", st, resp);
			free(resp);
			mwg_buf_free(&in);
		} else {
			fputs(usage, stderr);
			cJSON_Delete(extra);
			mwgc_destroy(&c);
			return 2;
		}
		cJSON_Delete(extra);
	}
	mwgc_destroy(&c);
	return r ? fail(&e) : 0;
}
