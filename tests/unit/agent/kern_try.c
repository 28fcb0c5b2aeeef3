// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kern_try: drives meshwgd's kernel side (agent/kern.c) against the real
 * module, for the VM tests. The commands run in order in one process, so
 * the programmed state carries from one apply to the next:
 *
 *   kern_try [-i IFNAME] [-p PORT] [-r] UP apply a.json apply b.json status
 *
 * See usage() for the commands.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "hex.h"
#include "key.h"
#include "kern.h"
#include "loop.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kern_try [-i IFNAME] [-p PORT] [-m FWMARK] [-r] COMMAND...\n"
		"\n"
		"Runs meshwgd's kernel side (agent/kern.c) against meshwg.ko, one command\n"
		"after the other in one process (the programmed state carries over).\n"
		"  -i IFNAME  interface (default meshwg0)   -p PORT  listen port (default 0)\n"
		"  -m FWMARK  fwmark                        -r       accept_routes\n"
		"  -s N       apply in steps of N peers (kern_apply_start/continue), as\n"
		"             meshwgd does; apply's line then ends with \" steps=S\"\n"
		"  -k FILE    private key (base64, as wg genkey) for up, else a random one\n"
		"Tailnet prefixes: 100.64.0.0/10 and fd7a:115c:a1e0::/48.\n"
		"\n"
		"Commands:\n"
		"  up              kern_up with a fresh private key; prints \"port N\"\n"
		"  key             rotates the private key (kern_set_private_key)\n"
		"  apply FILE      kern_apply of the netmap in FILE; prints its stats as\n"
		"                  \"added=A removed=R changed=C unchanged=U messages=M\n"
		"                  filter_changed=0|1 usec=T route_msgs=N\" (N: route messages\n"
		"                  the route sync's dump received); on error prints\n"
		"                  \"error: ERRNO: MSG\" and the run goes on (the exit status\n"
		"                  will be 1)\n"
		"  start FILE      only the first step (-s) of an apply of FILE; prints\n"
		"                  \"started=1|0 messages=M\"; the next apply cancels it\n"
		"  delta AFTER MSG kern_apply_delta of the DELTA message in MSG, AFTER being\n"
		"                  the netmap with it applied; prints apply's line and\n"
		"                  \" delta=0|1 built=B\" (0: it was applied in full)\n"
		"  status          prints kern_status() as JSON\n"
		"  events SEC [N]  runs the event loop SEC seconds (or until N handshake\n"
		"                  events), printing the events\n"
		"  down            kern_down\n"
		"  gen N FILE [V]  writes a netmap of N peers (keys and addresses fixed by\n"
		"                  their index; V changes the endpoint of peer 0)\n"
		"Exit status: 0 when every command succeeded, 1 otherwise.\n");
}

/* "events SEC COUNT" stops after COUNT handshake events */
static unsigned want_handshakes, handshakes;

static void pr_event(const struct kern_event *ev, void *arg)
{
	static const char *const names[] = { "?", "handshake", "endpoint", "wants-endpoint",
					      "acl-deny" };
	char b64[KEY_B64_LEN];

	(void)arg;
	key_to_base64(b64, ev->public_key);
	printf("event %s %s %s\n", names[ev->type <= 4 ? ev->type : 0], b64,
	       ev->endpoint[0] ? ev->endpoint : "-");
	fflush(stdout);
	if (ev->type == KERN_EV_HANDSHAKE && want_handshakes && ++handshakes >= want_handshakes)
		loop_quit(arg);
}

static void quit_cb(void *arg)
{
	loop_quit(arg);
}

static cJSON *read_json(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	cJSON *j;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + (1 << 20));

			if (!nb)
				break;
			buf = nb;
			cap += 1 << 20;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[len] = '\0';
	j = cJSON_Parse(buf);
	free(buf);
	return j;
}

static int read_key(const char *path, uint8_t key[32])
{
	char line[128] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return key_from_base64(key, line) ? 0 : -EINVAL;
}

/* A deterministic public key for peer i (a real curve point, never low order). */
static void gen_key(char out[80], unsigned i)
{
	uint8_t priv[32] = { 0 }, pub[32];

	memcpy(priv + 1, &i, sizeof(i));
	priv[31] = 0x40;
	priv[0] &= 248;
	crypto_scalarmult_base(pub, priv);
	strcpy(out, "nodekey:");
	hex_encode(out + 8, pub, 32);
}

static int gen(unsigned n, const char *path, unsigned variant)
{
	FILE *f = fopen(path, "w");
	unsigned i;

	if (!f)
		return -errno;
	fprintf(f, "{\"type\":\"full\",\"self\":{\"id\":1,\"addresses\":[\"100.64.0.1/32\","
		   "\"fd7a:115c:a1e0::1/128\"]},\"packet_filter\":null,\"peers\":[");
	for (i = 0; i < n; i++) {
		char key[80];
		unsigned a = i + 2;

		gen_key(key, i);
		fprintf(f, "%s{\"id\":%u,\"node_key\":\"%s\",\"addresses\":[\"100.%u.%u.%u/32\","
			   "\"fd7a:115c:a1e0::%x/128\"],\"allowed_ips\":[\"100.%u.%u.%u/32\","
			   "\"fd7a:115c:a1e0::%x/128\"],\"routes\":[],\"endpoints\":[\"10.%u.%u.%u:41641\"]}",
			i ? "," : "", a, key, 64 + (a >> 16), (a >> 8) & 255, a & 255, a,
			64 + (a >> 16), (a >> 8) & 255, a & 255, a,
			i == 0 ? 200 + variant % 50 : 1 + (i >> 16), (i >> 8) & 255, i & 255);
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -errno : 0;
}

int main(int argc, char *argv[])
{
	struct kern_config cfg = { .tailnet_v4 = "100.64.0.0/10", .tailnet_v6 = "fd7a:115c:a1e0::/48" };
	struct kern *k = NULL;
	struct loop loop;
	const char *keyfile = NULL;
	size_t step = 0;	/* -s: peers per step of apply; 0: kern_apply */
	char err[1024];
	int i = 1, ret, status = 0;

	if (sodium_init() < 0)
		return 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-r")) {
			cfg.accept_routes = true;
		} else if (i + 1 < argc && !strcmp(argv[i], "-i")) {
			snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "-p")) {
			cfg.listen_port = (uint16_t)atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "-k")) {
			keyfile = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "-s")) {
			step = (size_t)atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(argv[i], "-m")) {
			cfg.fwmark = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else {
			usage(stderr);
			return 1;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[i], "gen")) {
		if (i + 2 >= argc)
			return usage(stderr), 1;
		ret = gen((unsigned)atoi(argv[i + 1]), argv[i + 2],
			  i + 3 < argc ? (unsigned)atoi(argv[i + 3]) : 0);
		if (ret)
			fprintf(stderr, "gen: %s\n", strerror(-ret));
		return !!ret;
	}
	if (loop_init(&loop))
		return 1;
	ret = kern_open(&k, &cfg, &loop, err, sizeof(err));
	if (ret) {
		printf("error: %d: %s\n", ret, err);
		loop_destroy(&loop);
		return 1;
	}
	kern_set_event_cb(k, pr_event, &loop);
	for (; i < argc; i++) {
		const char *c = argv[i];

		if (!strcmp(c, "up") || !strcmp(c, "key")) {
			uint8_t priv[32];

			randombytes_buf(priv, sizeof(priv));
			if (keyfile && !strcmp(c, "up") && read_key(keyfile, priv)) {
				printf("error: cannot read a base64 key from %s\n", keyfile);
				status = 1;
				continue;
			}
			if (!strcmp(c, "up")) {
				ret = kern_up(k, priv, err, sizeof(err));
			} else {
				ret = kern_set_private_key(k, priv);
				snprintf(err, sizeof(err), "%s", strerror(-ret));
			}
			if (ret)
				printf("error: %d: %s\n", ret, err);
			else
				printf("port %u ifindex %d\n", kern_listen_port(k), kern_ifindex(k));
		} else if (!strcmp(c, "apply") && i + 1 < argc) {
			struct kern_apply_stats st;
			cJSON *nm = read_json(argv[++i]);

			if (!nm) {
				printf("error: cannot read %s\n", argv[i]);
				status = 1;
				continue;
			}
			unsigned steps = 1;

			if (!step) {
				ret = kern_apply(k, nm, &st, err, sizeof(err));
			} else {	/* in steps, as meshwgd does */
				ret = kern_apply_start(k, nm, NULL, step, &st, err, sizeof(err));
				for (; ret == 1; steps++)
					ret = kern_apply_continue(k, step, &st, err, sizeof(err));
			}
			cJSON_Delete(nm);
			if (ret)
				printf("error: %d: %s\n", ret, err);
			printf("added=%u removed=%u changed=%u unchanged=%u messages=%u filter_changed=%d usec=%" PRIu64 " route_msgs=%u",
			       st.added, st.removed, st.changed, st.unchanged, st.messages,
			       st.filter_changed, st.usec, st.route_msgs);
			if (step)
				printf(" steps=%u", steps);
			printf("\n");
		} else if (!strcmp(c, "start") && i + 1 < argc) {
			struct kern_apply_stats st;
			cJSON *nm = read_json(argv[++i]);

			if (!nm) {
				printf("error: cannot read %s\n", argv[i]);
				status = 1;
				continue;
			}
			ret = kern_apply_start(k, nm, NULL, step, &st, err, sizeof(err));
			cJSON_Delete(nm);
			if (ret < 0)
				printf("error: %d: %s\n", ret, err);
			printf("started=%d messages=%u\n", ret, st.messages);
			ret = ret < 0 ? ret : 0;
		} else if (!strcmp(c, "delta") && i + 2 < argc) {
			struct kern_apply_stats st;
			cJSON *nm = read_json(argv[++i]), *msg = read_json(argv[++i]);

			if (!nm || !msg) {
				printf("error: cannot read %s\n", nm ? argv[i] : argv[i - 1]);
				cJSON_Delete(nm);
				cJSON_Delete(msg);
				status = 1;
				continue;
			}
			ret = kern_apply_delta(k, nm, msg, &st, err, sizeof(err));
			cJSON_Delete(nm);
			cJSON_Delete(msg);
			if (ret)
				printf("error: %d: %s\n", ret, err);
			printf("added=%u removed=%u changed=%u unchanged=%u messages=%u filter_changed=%d usec=%" PRIu64 " delta=%d built=%u\n",
			       st.added, st.removed, st.changed, st.unchanged, st.messages,
			       st.filter_changed, st.usec, st.delta, st.built);
		} else if (!strcmp(c, "status")) {
			cJSON *s = kern_status(k);
			char *t = s ? cJSON_Print(s) : NULL;

			ret = t ? 0 : -ENOMEM;
			if (t)
				printf("%s\n", t);
			free(t);
			cJSON_Delete(s);
		} else if (!strcmp(c, "events") && i + 1 < argc) {
			struct loop_timer t;

			ret = loop_timer_init(&loop, &t, quit_cb, &loop);
			if (!ret) {
				loop_timer_arm(&t, (uint64_t)atoi(argv[++i]) * 1000);
				if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
					want_handshakes = (unsigned)atoi(argv[++i]);
				handshakes = 0;
				loop.stop = false;
				ret = loop_run(&loop);
				loop_timer_destroy(&t);
			}
		} else if (!strcmp(c, "down")) {
			ret = kern_down(k);
			if (ret)
				printf("error: %d: down\n", ret);
		} else {
			fprintf(stderr, "unknown command %s\n", c);
			ret = -EINVAL;
		}
		fflush(stdout);
		if (ret)
			status = 1;
	}
	kern_close(k);
	loop_destroy(&loop);
	return status;
}
