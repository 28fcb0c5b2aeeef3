/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A real meshwg-control for the daemon tests: started on 127.0.0.1 with a
 * temporary SQLite database, a user "alice" and a reusable pre-auth key.
 * Included by one test file each (static helpers).
 */
#ifndef DAEMON_TEST_SERVER_H
#define DAEMON_TEST_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "drive.h"

#ifndef MESHWG_CONTROL
#define MESHWG_CONTROL "../../../control/meshwg-control"
#endif

static char tmp[256], cfg[300], url[64], authkey[200];
static pid_t server = -1;

/* ---- the server ---- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int run_admin(const char *args, char *out, size_t outlen)
{
	char cmd[1024];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s --config %s %s 2>&1", MESHWG_CONTROL, cfg, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

static bool healthy(void)
{
	char u[128];
	CURL *h = curl_easy_init();
	long st = 0;
	FILE *null = fopen("/dev/null", "w");

	snprintf(u, sizeof(u), "%s/health", url);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, null);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 2L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(h);
	fclose(null);
	return st == 200;
}

static int start_server(void **st)
{
	char out[256], log[300];
	int port = free_port();
	FILE *f;

	(void)st;
	if (access(MESHWG_CONTROL, X_OK)) {
		fprintf(stderr, "%s not built\n", MESHWG_CONTROL);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/mwgd-ctl-XXXXXX");
	if (!mkdtemp(tmp) || port < 0)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	snprintf(cfg, sizeof(cfg), "%s/control.json", tmp);
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"listen\": \"127.0.0.1:%d\", \"server_url\": \"%s\",\n"
		   " \"database\": {\"type\": \"sqlite\", \"path\": \"%s/control.db\"},\n"
		   " \"keepalive_interval\": \"1s\", \"change_poll_interval_ms\": 100}\n",
		port, url, tmp);
	fclose(f);
	if (run_admin("users create alice", out, sizeof(out)) ||
	    run_admin("preauthkeys create --user alice --reusable", authkey, sizeof(authkey)) ||
	    strncmp(authkey, "mwgkey-", 7)) {
		fprintf(stderr, "admin setup failed: %s %s\n", out, authkey);
		return -1;
	}
	snprintf(log, sizeof(log), "%s/server.log", tmp);
	server = fork();
	if (server == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(MESHWG_CONTROL, MESHWG_CONTROL, "--config", cfg, "serve", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && !healthy(); i++) {
		if (waitpid(server, NULL, WNOHANG) == server) {
			server = -1;
			fprintf(stderr, "server exited; see %s\n", log);
			return -1;
		}
		usleep(100000);
	}
	if (!healthy())
		return -1;
	return loop_init(&L) || loop_timer_init(&L, &guard, on_guard, NULL) ? -1 : 0;
}

static int stop_server(void **st)
{
	char cmd[300];

	(void)st;
	loop_timer_destroy(&guard);
	loop_destroy(&L);
	if (server > 0) {
		kill(server, SIGCONT);
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	if (getenv("KEEP_TMP")) {
		fprintf(stderr, "kept %s\n", tmp);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

#endif
