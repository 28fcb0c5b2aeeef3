// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd: options, configuration file, signals; the rest is daemon*.c.
 */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <cjson/cJSON.h>

#include "util.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"

#define DEFAULT_CONFIG "/etc/meshwg/meshwgd.json"

static const char usage_text[] =
	"Usage: meshwgd [OPTIONS]\n"
	"\n"
	"The meshwg node agent. It joins a tailnet through a meshwg-control server,\n"
	"creates and programs the meshwg interface from the netmap (peers by\n"
	"difference, the packet filter, addresses and routes), reports the node's\n"
	"endpoints, rotates the node key before it expires, and serves the local\n"
	"API that `meshwg up/down/status` talk to. It runs in the foreground and\n"
	"logs to stderr.\n"
	"\n"
	"Options (they override the configuration file):\n"
	"  --state-dir DIR        keys, prefs and the last netmap (default /var/lib/meshwg)\n"
	"  --socket PATH          local API socket (default /run/meshwg/meshwgd.sock)\n"
	"  --socket-group GROUP   members of GROUP may change meshwgd (up, down, ...)\n"
	"  --operator USER        USER may change meshwgd (up, down, ...); anyone may\n"
	"                         read (status, ip, whois); default: root only\n"
	"  --interface NAME       interface name (default meshwg0)\n"
	"  --port N               WireGuard listen port, 0 = any (default 41641)\n"
	"  --config FILE          JSON configuration (default " DEFAULT_CONFIG ",\n"
	"                         used when it exists)\n"
	"  --keep-interface       leave the interface up on exit\n"
	"  --log-level LEVEL      debug, info, warn or error (default info)\n"
	"  --help                 this text\n"
	"\n"
	"Configuration file: one JSON object; every member optional, unknown members\n"
	"are errors. Durations are seconds or strings like \"30s\", \"15m\", \"7d\"\n"
	"(at most 100 years).\n"
	"  state_dir, socket, socket_group, operator, interface (strings),\n"
	"  port, fwmark (numbers),\n"
	"  keep_interface (bool), log_level (string),\n"
	"  backoff_max (duration, 30s)        cap of the map-stream reconnect backoff\n"
	"  rotate_before (duration, 7d)       rotate the node key this long before expiry\n"
	"  stream_timeout (duration, 70s)     no data on the map stream: reconnect\n"
	"  endpoint_interval (duration, 10s)  how often endpoints are re-checked\n"
	"  tailnet_v4, tailnet_v6 (prefixes)  routed to the interface\n"
	"\n"
	"Signals: SIGHUP re-reads the configuration file (log level, backoff,\n"
	"rotation margin, stream timeout, socket group, operator, keep_interface,\n"
	"fwmark);\n"
	"SIGTERM and SIGINT shut down cleanly (the interface is deleted unless\n"
	"--keep-interface).\n"
	"\n"
	"Exit status: 0 after a clean shutdown, 1 on a startup error, 2 on bad usage.\n"
	"See meshwgd(8), meshwg(8).\n";

/* What the command line set (wins over the file). */
struct cli {
	const char *state_dir, *socket, *socket_group, *operator_user, *ifname, *config, *log_level;
	long port;
	bool keep_interface;
};

/* The file: absent is fine unless named on the command line. */
static int parse_config(struct meshwgd_opts *o, const char *path, bool must_exist, char *err,
			size_t errlen)
{
	struct mwg_err e = { 0 };
	char *text;
	int r;

	if (access(path, F_OK) && errno == ENOENT && !must_exist)
		return 0;
	text = mwg_read_file(path, 1 << 20, NULL, &e);
	if (!text) {
		snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	r = conf_apply(o, text, path, err, errlen);
	free(text);
	return r;
}

/* Defaults, then the file, then the command line. */
static int build_opts(struct meshwgd_opts *o, const struct cli *cli, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	daemon_config_defaults(&o->dc);
	o->log_level = LOG_INFO_;
	if (parse_config(o, cli->config ? cli->config : DEFAULT_CONFIG, cli->config != NULL, err,
			 errlen))
		return -1;
	if (cli->state_dir)
		snprintf(o->dc.state_dir, sizeof(o->dc.state_dir), "%s", cli->state_dir);
	if (cli->socket)
		snprintf(o->dc.socket_path, sizeof(o->dc.socket_path), "%s", cli->socket);
	if (cli->socket_group)
		snprintf(o->socket_group, sizeof(o->socket_group), "%s", cli->socket_group);
	if (cli->operator_user)
		snprintf(o->operator_user, sizeof(o->operator_user), "%s", cli->operator_user);
	if (cli->ifname)
		snprintf(o->dc.kern.ifname, sizeof(o->dc.kern.ifname), "%s", cli->ifname);
	if (cli->port >= 0)
		o->dc.kern.listen_port = (uint16_t)cli->port;
	if (cli->keep_interface)
		o->dc.keep_interface = true;
	if (cli->log_level)
		o->log_level = log_level_parse(cli->log_level);
	o->dc.socket_gid = (gid_t)-1;
	if (o->socket_group[0]) {
		struct group *g = getgrnam(o->socket_group);

		if (!g) {
			snprintf(err, errlen, "socket group \"%s\" does not exist", o->socket_group);
			return -1;
		}
		o->dc.socket_gid = g->gr_gid;
	}
	/* Names are resolved here, at start and on SIGHUP: the loop only
	 * compares numbers (SO_PEERCRED). */
	o->dc.operator_uid = (uid_t)-1;
	if (o->operator_user[0]) {
		struct passwd *pw = getpwnam(o->operator_user);

		if (!pw) {
			snprintf(err, errlen, "operator user \"%s\" does not exist", o->operator_user);
			return -1;
		}
		o->dc.operator_uid = pw->pw_uid;
	}
	return 0;
}

struct sigctx {
	struct loop *loop;
	struct daemon *d;
	const struct cli *cli;
	int fd;
};

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct sigctx *s = arg;
	struct signalfd_siginfo si;
	struct meshwgd_opts o;
	char err[600];

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (build_opts(&o, s->cli, err, sizeof(err))) {
				log_error("SIGHUP: %s; keeping the old configuration", err);
				continue;
			}
			log_set_level((enum log_level)o.log_level);
			daemon_reconfigure(s->d, &o.dc);
		} else {
			log_info("%s: shutting down", strsignal((int)si.ssi_signo));
			loop_quit(s->loop);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "operator", required_argument, NULL, 'o' },
		{ "interface", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "keep-interface", no_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli cli = { .port = -1 };
	struct sigctx sc = { .cli = &cli, .fd = -1 };
	struct loop loop;
	struct meshwgd_opts o;
	sigset_t mask;
	char err[600], *end;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': cli.state_dir = optarg; break;
		case 's': cli.socket = optarg; break;
		case 'g': cli.socket_group = optarg; break;
		case 'o': cli.operator_user = optarg; break;
		case 'c': cli.config = optarg; break;
		case 'k': cli.keep_interface = true; break;
		case 'i':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/')) {
				fprintf(stderr, "meshwgd: bad interface name \"%s\"\n", optarg);
				return 2;
			}
			cli.ifname = optarg;
			break;
		case 'p':
			errno = 0;
			cli.port = strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || cli.port < 0 || cli.port > 65535) {
				fprintf(stderr, "meshwgd: bad port \"%s\" (want 0..65535)\n", optarg);
				return 2;
			}
			break;
		case 'l':
			if (log_level_parse(optarg) < 0) {
				fprintf(stderr, "meshwgd: bad log level \"%s\" (debug, info, warn, error)\n",
					optarg);
				return 2;
			}
			cli.log_level = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs("Try 'meshwgd --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshwgd: unexpected argument \"%s\"\nTry 'meshwgd --help'.\n",
			argv[optind]);
		return 2;
	}
	if (build_opts(&o, &cli, err, sizeof(err))) {
		fprintf(stderr, "meshwgd: %s\n", err);
		return 1;
	}
	log_set_level((enum log_level)o.log_level);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (sc.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "meshwgd: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (loop_init(&loop)) {
		fprintf(stderr, "meshwgd: epoll: %s\n", strerror(errno));
		close(sc.fd);
		return 1;
	}
	sc.loop = &loop;
	if (loop_add(&loop, sc.fd, EPOLLIN, on_signal, &sc)) {
		fprintf(stderr, "meshwgd: cannot watch signals\n");
		goto out;
	}
	log_info("meshwgd starting (state %s, interface %s, port %u)", o.dc.state_dir,
		 o.dc.kern.ifname, o.dc.kern.listen_port);
	if (daemon_start(&sc.d, &loop, &o.dc, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	if (loop_run(&loop))
		log_error("event loop: %s", strerror(errno));
	else
		ret = 0;
	daemon_stop(sc.d);
	log_info("stopped");
out:
	loop_del(&loop, sc.fd);
	close(sc.fd);
	loop_destroy(&loop);
	return ret;
}
