// SPDX-License-Identifier: MIT
/*
 * control_bench: load generator and micro-benchmarks for meshwg-control.
 * Run by bench/control_bench.sh (by hand, not in make check).
 *
 *   control_bench compile NODES RULES
 *       time and memory to parse and compile a RULES-rule policy for NODES
 *       nodes (every node's filter and peer set computed).
 *   control_bench load URL APIKEY NODES GROUP KEYFILE THREADS
 *       registers NODES nodes over HTTP (reusable keys, one line per user in
 *       KEYFILE, GROUP nodes per user), opens one map stream per node with
 *       epoll and raw sockets, then times (1) one node's endpoint change
 *       until every affected stream (same user) has its delta, (2) a policy
 *       change touching every node's filter until every stream has it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>
#include "client/mwgc_client.h"
#include "policy/policy.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* ---- compile ---- */

static int bench_compile(int nodes, int rules)
{
	int users = nodes / 50 > 0 ? nodes / 50 : 1, i;
	struct mwg_buf b = { 0 };
	struct policy_node *pn = calloc((size_t)nodes, sizeof(*pn));
	char (*names)[16] = calloc((size_t)users, 16);
	struct policy_error err;
	struct policy *p;
	struct policy_compiled *pc;
	double t0, t1, t2, t3;
	long rss0 = maxrss_kb();
	size_t total_rules = 0, total_peers = 0;

	if (!pn || !names)
		return 1;
	mwg_buf_printf(&b, "{\"acls\": [\n");
	for (i = 0; i < rules; i++)
		mwg_buf_printf(&b, "%s{\"action\": \"accept\", \"src\": [\"u%d@\"], \"dst\": [\"u%d@:%d\"]}\n",
			       i ? "," : "", i % users, (i * 7 + 3) % users, 1 + i % 1000);
	mwg_buf_printf(&b, "]}\n");
	for (i = 0; i < users; i++)
		snprintf(names[i], 16, "u%d", i);
	for (i = 0; i < nodes; i++) {
		pn[i].id = (uint64_t)i + 1;
		pn[i].user = names[i % users];
		pn[i].has_ipv4 = true;
		pn[i].ipv4[0] = 100;
		pn[i].ipv4[1] = (uint8_t)(64 + ((i + 1) >> 16));
		pn[i].ipv4[2] = (uint8_t)((i + 1) >> 8);
		pn[i].ipv4[3] = (uint8_t)(i + 1);
	}
	t0 = now_s();
	p = policy_parse(b.data, b.len, "bench.hujson", &err);
	if (!p) {
		fprintf(stderr, "parse: %s\n", err.msg);
		return 1;
	}
	t1 = now_s();
	pc = policy_compile(p, pn, (size_t)nodes, &err);
	if (!pc) {
		fprintf(stderr, "compile: %s\n", err.msg);
		return 1;
	}
	t2 = now_s();
	for (i = 0; i < nodes; i++) {
		struct policy_filter *f;
		uint64_t *ids;
		size_t n;

		if (!policy_node_filter(pc, pn[i].id, &f)) {
			total_rules += f->n_rules;
			policy_filter_free(f);
		}
		if (!policy_node_peers(pc, pn[i].id, &ids, &n)) {
			total_peers += n;
			free(ids);
		}
	}
	t3 = now_s();
	printf("compile: %d rules, %d nodes (%d users): parse %.3f s, compile %.3f s, "
	       "all filters+peers %.3f s, total %.3f s\n",
	       rules, nodes, users, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
	printf("compile: %zu filter rules, %zu peer links in all; max RSS grew by %ld KiB (now %ld KiB)\n",
	       total_rules, total_peers, maxrss_kb() - rss0, maxrss_kb());
	policy_compiled_free(pc);
	policy_free(p);
	mwg_buf_free(&b);
	free(pn);
	free(names);
	return 0;
}

/* ---- load ---- */

struct bnode {
	struct mwgc c;
	int user;
	int fd;
	long msgs;
	char prev;
	bool ok;
};

static struct bnode *N;
static int nnodes, group, nthreads;
static char **keys;
static char url[256], host[64];
static int port;
static uint8_t spub[32];
static int next_reg;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static int reg_fail;

static void *reg_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct mwg_err e = { 0 };
		char hn[32];
		int i;

		pthread_mutex_lock(&reg_lock);
		i = next_reg++;
		pthread_mutex_unlock(&reg_lock);
		if (i >= nnodes)
			return NULL;
		snprintf(hn, sizeof(hn), "n%d", i);
		if (mwgc_register(&N[i].c, keys[N[i].user], hn, NULL, NULL, &e)) {
			pthread_mutex_lock(&reg_lock);
			if (!reg_fail++)
				fprintf(stderr, "register %d: %s\n", i, e.msg);
			pthread_mutex_unlock(&reg_lock);
		} else {
			N[i].ok = true;
		}
	}
}

static int open_stream(struct bnode *b, int ep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	cJSON *p = cJSON_CreateObject();
	char *body, *req;
	struct epoll_event ev = { .events = EPOLLIN };
	int n, one = 1;

	inet_pton(AF_INET, host, &sa.sin_addr);
	cJSON_AddStringToObject(p, "node_key", b->c.nkey);
	cJSON_AddTrueToObject(p, "stream");
	body = mwgc_seal_request(&b->c, p, NULL);
	cJSON_Delete(p);
	b->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (b->fd < 0 || connect(b->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		free(body);
		return -1;
	}
	setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	n = asprintf(&req, "POST /v1/map HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s", host, strlen(body), body);
	free(body);
	if (n < 0 || write(b->fd, req, (size_t)n) != n) {
		free(req);
		return -1;
	}
	free(req);
	fcntl(b->fd, F_SETFL, O_NONBLOCK);
	ev.data.ptr = b;
	return epoll_ctl(ep, EPOLL_CTL_ADD, b->fd, &ev);
}

/* Reads what is there; counts message lines ('\n' not preceded by '\r'). */
static long pump(int ep, int ms)
{
	struct epoll_event evs[256];
	char buf[65536];
	long got = 0;
	int n, i;

	n = epoll_wait(ep, evs, 256, ms);
	for (i = 0; i < n; i++) {
		struct bnode *b = evs[i].data.ptr;
		ssize_t r;

		while ((r = read(b->fd, buf, sizeof(buf))) > 0) {
			for (ssize_t k = 0; k < r; k++) {
				if (buf[k] == '\n' && b->prev != '\r') {
					b->msgs++;
					got++;
				}
				b->prev = buf[k];
			}
		}
		if (r == 0) {
			epoll_ctl(ep, EPOLL_CTL_DEL, b->fd, NULL);
			fprintf(stderr, "stream of node %ld closed by server\n", (long)(b - N));
		}
	}
	return got;
}

static long count_min(int from, int to)
{
	long m = -1;

	for (int i = from; i < to; i++)
		if (N[i].ok && (m < 0 || N[i].msgs < m))
			m = N[i].msgs;
	return m;
}

static long server_rss_kb(void)
{
	/* The server's /health does not report memory; the script reads
	 * /proc/PID/status. */
	return 0;
}

static int api_put_policy(const char *apikey, const char *text)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char u[300], auth[200];
	long status = 0;
	FILE *devnull = fopen("/dev/null", "w");

	snprintf(u, sizeof(u), "%s/api/v1/policy", url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", apikey);
	hd = curl_slist_append(hd, auth);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hd);
	fclose(devnull);
	return status == 200 ? 0 : -1;
}

static char *group_policy(int users, const char *ports)
{
	struct mwg_buf b = { 0 };

	mwg_buf_printf(&b, "{\"acls\": [\n");
	for (int u = 0; u < users; u++)
		mwg_buf_printf(&b, "%s{\"action\": \"accept\", \"src\": [\"u%d@\"], \"dst\": [\"u%d@:%s\"]}\n",
			       u ? "," : "", u, u, ports);
	mwg_buf_printf(&b, "]}\n");
	return b.data;
}

static int bench_load(char **a)
{
	const char *apikey = a[1];
	pthread_t th[64];
	uint8_t mk[32], nk[32];
	double t0, t1;
	int i, ep, users;
	FILE *f;
	char line[256];
	long total;
	struct mwg_err e = { 0 };

	snprintf(url, sizeof(url), "%s", a[0]);
	if (sscanf(url, "http://%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "URL must be http://IP:PORT\n");
		return 2;
	}
	nnodes = atoi(a[2]);
	group = atoi(a[3]);
	nthreads = atoi(a[5]);
	if (nthreads < 1 || nthreads > 64 || group < 1 || nnodes < group)
		return 2;
	users = (nnodes + group - 1) / group;
	keys = calloc((size_t)users, sizeof(char *));
	f = fopen(a[4], "r");
	for (i = 0; f && i < users && fgets(line, sizeof(line), f); i++) {
		line[strcspn(line, "\n")] = '\0';
		keys[i] = strdup(line);
	}
	if (f)
		fclose(f);
	if (i < users) {
		fprintf(stderr, "need %d keys in %s\n", users, a[4]);
		return 2;
	}
	N = calloc((size_t)nnodes, sizeof(*N));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < nnodes; i++) {
		mwgc_genkey(mk);
		mwgc_genkey(nk);
		mwgc_init(&N[i].c, url, mk, nk);
		N[i].user = i / group;
		N[i].fd = -1;
	}
	if (mwgc_fetch_server_key(&N[0].c, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	memcpy(spub, N[0].c.spub, 32);
	for (i = 0; i < nnodes; i++) {
		memcpy(N[i].c.spub, spub, 32);
		N[i].c.have_server_key = true;
	}

	t0 = now_s();
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, reg_thread, NULL);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	printf("registrations: %d nodes in %.2f s = %.0f/s (%d threads, %d failed)\n",
	       nnodes, t1 - t0, nnodes / (t1 - t0), nthreads, reg_fail);
	fflush(stdout);

	ep = epoll_create1(0);
	t0 = now_s();
	for (i = 0; i < nnodes; i++) {
		if (!N[i].ok)
			continue;
		if (open_stream(&N[i], ep)) {
			fprintf(stderr, "stream %d failed to open\n", i);
			N[i].ok = false;
		}
		if (i % 200 == 0)
			while (pump(ep, 0) > 0)
				;
	}
	while (count_min(0, nnodes) < 1) {
		pump(ep, 100);
		if (now_s() - t0 > 600) {
			fprintf(stderr, "timeout waiting for full maps\n");
			return 1;
		}
	}
	t1 = now_s();
	printf("streams: %d open, all full maps received in %.2f s\n", nnodes, t1 - t0);
	/* Let the online-state deltas of the mass connect settle. */
	for (;;) {
		total = pump(ep, 2000);
		if (total == 0)
			break;
	}
	printf("streams: settled (online deltas delivered)\n");
	fflush(stdout);
	if (getenv("BENCH_PAUSE_FILE")) {
		FILE *pf = fopen(getenv("BENCH_PAUSE_FILE"), "w");

		if (pf)
			fclose(pf);
	}

	/* (1) one endpoint change; affected = other nodes of the same user. */
	{
		int x = 0, from = 0, to = group < nnodes ? group : nnodes;
		long snap[1 << 16];
		long untouched_before = 0, untouched_after = 0;
		cJSON *u = cJSON_CreateObject(), *eps = cJSON_AddArrayToObject(u, "endpoints");

		for (i = from; i < to && i < (1 << 16); i++)
			snap[i] = N[i].msgs;
		for (i = to; i < nnodes; i++)
			untouched_before += N[i].msgs;
		cJSON_AddItemToArray(eps, cJSON_CreateString("198.51.100.1:41641"));
		t0 = now_s();
		if (mwgc_update(&N[x].c, u, &e))
			fprintf(stderr, "update: %s\n", e.msg);
		for (;;) {
			int done = 1;

			for (i = from; i < to; i++)
				if (i != x && N[i].ok && N[i].msgs <= snap[i])
					done = 0;
			if (done)
				break;
			pump(ep, 10);
			if (now_s() - t0 > 120) {
				fprintf(stderr, "timeout waiting for endpoint deltas\n");
				break;
			}
		}
		t1 = now_s();
		/* give stray messages a moment to show up */
		pump(ep, 500);
		for (i = to; i < nnodes; i++)
			untouched_after += N[i].msgs;
		printf("endpoint change: %d affected streams had their delta after %.1f ms "
		       "(incl. the HTTP update); %ld messages reached the %d unaffected streams\n",
		       to - from - 1, (t1 - t0) * 1000, untouched_after - untouched_before,
		       nnodes - (to - from));
		cJSON_Delete(u);
	}

	/* (2) policy change touching every node's filter. */
	{
		char *pol = group_policy(users, "1-65000");
		long *snap = calloc((size_t)nnodes, sizeof(long));

		for (i = 0; i < nnodes; i++)
			snap[i] = N[i].msgs;
		t0 = now_s();
		if (api_put_policy(apikey, pol))
			fprintf(stderr, "policy PUT failed\n");
		for (;;) {
			int done = 1;

			for (i = 0; i < nnodes && done; i++)
				if (N[i].ok && N[i].msgs <= snap[i])
					done = 0;
			if (done)
				break;
			pump(ep, 10);
			if (now_s() - t0 > 600) {
				fprintf(stderr, "timeout waiting for policy deltas\n");
				break;
			}
		}
		t1 = now_s();
		printf("policy change: all %d streams had their filter delta after %.1f ms "
		       "(incl. the HTTP PUT, parse, compile)\n", nnodes, (t1 - t0) * 1000);
		free(pol);
		free(snap);
	}
	(void)server_rss_kb;
	for (i = 0; i < nnodes; i++) {
		if (N[i].fd >= 0)
			close(N[i].fd);
		mwgc_destroy(&N[i].c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 4 && !strcmp(argv[1], "compile"))
		return bench_compile(atoi(argv[2]), atoi(argv[3]));
	if (argc == 8 && !strcmp(argv[1], "load"))
		return bench_load(argv + 2);
	if (argc == 2 && !strcmp(argv[1], "policy")) {
		/* prints the per-user policy used by the load benchmark */
		char *p = group_policy(atoi(getenv("USERS") ? getenv("USERS") : "1"), "*");

		fputs(p, stdout);
		free(p);
		return 0;
	}
	fprintf(stderr,
		"usage: control_bench compile NODES RULES\n"
		"       control_bench load URL APIKEY NODES GROUP KEYFILE THREADS\n"
		"       USERS=N control_bench policy\n");
	return 2;
}
