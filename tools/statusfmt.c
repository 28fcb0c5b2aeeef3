// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Rendering of meshwgd's STATUS object (statusfmt.h). */

#include "statusfmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* o if it is an array, else NULL (loops over it then do nothing). */
static const cJSON *arr(const cJSON *o)
{
	return cJSON_IsArray(o) ? o : NULL;
}

static uint64_t num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsString(v))	/* 64-bit counters may come as decimal strings */
		return strtoull(v->valuestring, NULL, 10);
	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

void sf_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

void sf_ago(time_t now, time_t then, char *buf, size_t len)
{
	long long d = (long long)now - (long long)then;

	if (!then)
		snprintf(buf, len, "-");
	else if (d < 0)
		snprintf(buf, len, "just now");
	else if (d < 60)
		snprintf(buf, len, "%llds ago", d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", d / 3600);
	else
		snprintf(buf, len, "%lldd ago", d / 86400);
}

const char *sf_state_text(const cJSON *status, char *buf, size_t len)
{
	const char *state = str(status, "backend_state"), *msg = str(status, "message");

	if (!strcmp(state, "Running"))
		return NULL;
	if (!strcmp(state, "NeedsLogin"))
		snprintf(buf, len, "Logged out. Log in with: meshwg up --login-server URL --auth-key KEY");
	else if (!strcmp(state, "NeedsApproval"))
		snprintf(buf, len, "%s", msg[0] ? msg :
			 "Waiting for an administrator of the control server to approve this node.");
	else if (!strcmp(state, "NoModule"))
		snprintf(buf, len, "meshwg kernel module not loaded (run: modprobe meshwg)");
	else if (!strcmp(state, "Stopped"))
		snprintf(buf, len, "meshwg is stopped (run: meshwg up)");
	else if (!strcmp(state, "Starting"))
		snprintf(buf, len, "meshwg is starting%s%s", msg[0] ? ": " : "", msg);
	else
		snprintf(buf, len, "meshwgd reports the unknown state \"%s\"%s%s", state,
			 msg[0] ? ": " : "", msg);
	return buf;
}

/* "100.64.0.1/32" -> "100.64.0.1"; the family, or 0 if not an address. */
static int addr_host(const char *a, char *out, size_t len, unsigned char bin[16])
{
	unsigned char tmp[16];
	const char *slash = strchr(a, '/');
	size_t n = slash ? (size_t)(slash - a) : strlen(a);

	if (!bin)
		bin = tmp;
	if (n >= len)
		return 0;
	memcpy(out, a, n);
	out[n] = '\0';
	if (inet_pton(AF_INET, out, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, out, bin) == 1)
		return AF_INET6;
	return 0;
}

static const cJSON *addresses(const cJSON *node)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(node, "addresses");

	return cJSON_IsArray(a) ? a : NULL;
}

/* The node's first IPv4 address, else its first address, else "-". */
static void main_ip(const cJSON *node, char *out, size_t len)
{
	const cJSON *a;
	char host[INET6_ADDRSTRLEN + 1];

	snprintf(out, len, "-");
	cJSON_ArrayForEach(a, addresses(node)) {
		int fam;

		if (!cJSON_IsString(a) || !(fam = addr_host(a->valuestring, host, sizeof(host), NULL)))
			continue;
		if (fam == AF_INET) {
			snprintf(out, len, "%s", host);
			return;
		}
		if (!strcmp(out, "-"))
			snprintf(out, len, "%s", host);
	}
}

static void node_name(const cJSON *node, char *out, size_t len)
{
	const char *dns = str(node, "dns_name"), *host = str(node, "hostname");
	size_t n = strlen(dns);

	if (n && dns[n - 1] == '.')
		n--;
	if (n)
		snprintf(out, len, "%.*s", (int)n, dns);
	else
		snprintf(out, len, "%s", host[0] ? host : "-");
}

/* Appends to a bounded buffer. */
static void cat(char *out, size_t len, size_t *off, const char *fmt, const char *a, const char *b)
{
	if (*off >= len)
		return;
	*off += (size_t)snprintf(out + *off, len - *off, fmt, a, b);
	if (*off >= len)
		*off = len;
}

/* The tags, comma separated, or the user, or "-". */
static void owner(const cJSON *node, char *out, size_t len)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(node, "tags"), *t;
	size_t off = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(t, arr(tags))
		if (cJSON_IsString(t))
			cat(out, len, &off, "%s%s", off ? "," : "", t->valuestring);
	if (off)
		return;
	snprintf(out, len, "%s", str(node, "user")[0] ? str(node, "user") : "-");
}

static void connection(const cJSON *peer, char *out, size_t len)
{
	const char *c = str(peer, "connection"), *ep = str(peer, "endpoint");

	if (!strcmp(c, "direct") && ep[0])
		snprintf(out, len, "direct %s", ep);
	else
		snprintf(out, len, "%s", c[0] ? c : "-");
}

#define NCOLS 8
#define CELL 160

struct row {
	char cell[NCOLS][CELL];
	int ncells;
};

static void fill_row(struct row *r, const cJSON *node, bool self, const cJSON *status, time_t now)
{
	char tmp[64];

	main_ip(node, r->cell[0], CELL);
	node_name(node, r->cell[1], CELL);
	owner(node, r->cell[2], CELL);
	if (self) {
		const char *ifname = str(status, "interface");
		uint64_t port = num(status, "listen_port");

		if (ifname[0] && port)
			snprintf(r->cell[3], CELL, "self (%s, port %" PRIu64 ")", ifname, port);
		else if (ifname[0])
			snprintf(r->cell[3], CELL, "self (%s)", ifname);
		else
			snprintf(r->cell[3], CELL, "self");
		r->ncells = 4;
		return;
	}
	connection(node, r->cell[3], CELL);
	sf_ago(now, (time_t)num(node, "last_handshake"), tmp, sizeof(tmp));
	snprintf(r->cell[4], CELL, "handshake %s", tmp);
	sf_bytes(num(node, "rx_bytes"), tmp, sizeof(tmp));
	snprintf(r->cell[5], CELL, "rx %s", tmp);
	sf_bytes(num(node, "tx_bytes"), tmp, sizeof(tmp));
	snprintf(r->cell[6], CELL, "tx %s", tmp);
	snprintf(r->cell[7], CELL, "acl-drops %" PRIu64, num(node, "acl_drops"));
	r->ncells = NCOLS;
}

static void print_table(FILE *f, const struct row *rows, size_t n)
{
	int width[NCOLS] = { 0 };

	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < rows[i].ncells - 1; c++) {
			int w = (int)strlen(rows[i].cell[c]);

			if (w > width[c])
				width[c] = w;
		}
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < rows[i].ncells - 1; c++)
			fprintf(f, "%-*s  ", width[c], rows[i].cell[c]);
		fprintf(f, "%s\n", rows[i].cell[rows[i].ncells - 1]);
	}
}

static const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "ipv6-icmp";
	case 132: return "sctp";
	default:
		snprintf(buf, len, "%d", p);
		return buf;
	}
}

static void rule_text(const cJSON *rule, char *out, size_t len)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(rule, "src");
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(rule, "dst");
	const cJSON *protos = cJSON_GetObjectItemCaseSensitive(rule, "protos"), *x;
	size_t off = 0;
	bool first = true;

	cat(out, len, &off, "%s%s ", str(rule, "action")[0] ? str(rule, "action") : "?", "");
	cJSON_ArrayForEach(x, arr(src)) {
		cat(out, len, &off, "%s%s", first ? "" : ",", cJSON_IsString(x) ? x->valuestring : "?");
		first = false;
	}
	if (first)
		cat(out, len, &off, "%s%s", "(none)", "");
	cat(out, len, &off, "%s%s", " -> ", "");
	first = true;
	cJSON_ArrayForEach(x, arr(dst)) {
		uint64_t lo = num(x, "first_port"), hi = num(x, "last_port");
		char ports[32] = "";

		if (!cJSON_GetObjectItemCaseSensitive(x, "last_port"))
			hi = 65535;
		if (lo == hi)
			snprintf(ports, sizeof(ports), ":%" PRIu64, lo);
		else if (lo != 0 || hi != 65535)
			snprintf(ports, sizeof(ports), ":%" PRIu64 "-%" PRIu64, lo, hi);
		cat(out, len, &off, first ? "%s%s" : ",%s%s",
		    cJSON_IsString(x) ? x->valuestring : str(x, "prefix"), ports);
		first = false;
	}
	if (first)
		cat(out, len, &off, "%s%s", "(none)", "");
	if (cJSON_IsString(protos)) {
		cat(out, len, &off, " proto %s%s", "any", "");
	} else if (cJSON_IsArray(protos) && cJSON_GetArraySize(protos) > 0) {
		first = true;
		cJSON_ArrayForEach(x, protos) {
			char b[8];

			cat(out, len, &off, "%s%s", first ? " proto " : ",",
			    proto_name(x->valueint, b, sizeof(b)));
			first = false;
		}
	} else {
		cat(out, len, &off, " proto %s%s", "tcp,udp,icmp,ipv6-icmp", "");
	}
}

static void print_filter(FILE *f, const cJSON *filter)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(filter, "rules"), *r;
	size_t i = 0;
	int n = cJSON_IsArray(rules) ? cJSON_GetArraySize(rules) : 0;
	char text[1024], b[64];

	if (!cJSON_IsObject(filter) ||
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(filter, "installed")))
		return;
	fprintf(f, "\nFilter");
	if (str(filter, "version")[0])
		fprintf(f, " version %s", str(filter, "version"));
	fprintf(f, ": %d rule%s, %" PRIu64 " packets dropped by default\n", n, n == 1 ? "" : "s",
		num(filter, "drops"));
	cJSON_ArrayForEach(r, arr(rules)) {
		uint64_t hits = cJSON_GetObjectItemCaseSensitive(r, "hits") ? num(r, "hits") :
			num(r, "packets");

		rule_text(r, text, sizeof(text));
		sf_bytes(num(r, "bytes"), b, sizeof(b));
		fprintf(f, "  %zu  %s  hits %" PRIu64 " (%s)\n", ++i, text, hits, b);
	}
}

int sf_status(FILE *f, const cJSON *status, time_t now, char *err, size_t errlen)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(status, "self");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(status, "peers"), *p;
	const cJSON *control = cJSON_GetObjectItemCaseSensitive(status, "control");
	const char *state = str(status, "backend_state");
	char buf[512];
	struct row *rows;
	size_t n = 0;

	if (!cJSON_IsObject(status) || !state[0]) {
		snprintf(err, errlen, "meshwgd sent a status without \"backend_state\"");
		return -EINVAL;
	}
	if (sf_state_text(status, buf, sizeof(buf)))
		fprintf(f, "%s\n", buf);
	else if (str(status, "message")[0])
		fprintf(f, "# %s\n", str(status, "message"));
	if (strcmp(state, "Running") && strcmp(state, "Starting"))
		return 0;

	rows = calloc((size_t)(cJSON_IsArray(peers) ? cJSON_GetArraySize(peers) : 0) + 1,
		      sizeof(*rows));
	if (!rows) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cJSON_IsObject(self))
		fill_row(&rows[n++], self, true, status, now);
	cJSON_ArrayForEach(p, arr(peers))
		if (cJSON_IsObject(p))
			fill_row(&rows[n++], p, false, status, now);
	print_table(f, rows, n);
	free(rows);
	print_filter(f, cJSON_GetObjectItemCaseSensitive(status, "filter"));
	if (cJSON_IsObject(control) &&
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(control, "connected"))) {
		const char *le = str(control, "last_error");

		fprintf(f, "\n# not connected to the control server%s%s%s%s; "
			"the mesh keeps its last configuration\n",
			str(control, "url")[0] ? " " : "", str(control, "url"),
			le[0] ? ": " : "", le);
	}
	cJSON_ArrayForEach(p, arr(cJSON_GetObjectItemCaseSensitive(status, "health")))
		if (cJSON_IsString(p))
			fprintf(f, "# health: %s\n", p->valuestring);
	return 0;
}

/* Does node have address bin (family fam)? */
static bool has_addr(const cJSON *node, int fam, const unsigned char *bin)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, addresses(node)) {
		char host[INET6_ADDRSTRLEN + 1];
		unsigned char b[16];

		if (cJSON_IsString(a) && addr_host(a->valuestring, host, sizeof(host), b) == fam &&
		    !memcmp(b, bin, fam == AF_INET ? 4 : 16))
			return true;
	}
	return false;
}

static bool name_matches(const cJSON *node, const char *who)
{
	const char *dns = str(node, "dns_name"), *host = str(node, "hostname");
	size_t wl = strlen(who), dl = strlen(dns);

	if (wl && who[wl - 1] == '.')
		wl--;
	if (dl && dns[dl - 1] == '.')
		dl--;
	if (host[0] && strlen(host) == wl && !strncasecmp(host, who, wl))
		return true;
	return dl && dl == wl && !strncasecmp(dns, who, wl);
}

/* The node named or addressed by who (self included); NULL if none. */
static const cJSON *find_node(const cJSON *status, const char *who)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(status, "self");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(status, "peers"), *p;
	unsigned char bin[16];
	int fam = 0;

	if (inet_pton(AF_INET, who, bin) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, who, bin) == 1)
		fam = AF_INET6;
	if (cJSON_IsObject(self) && (fam ? has_addr(self, fam, bin) : name_matches(self, who)))
		return self;
	cJSON_ArrayForEach(p, arr(peers))
		if (cJSON_IsObject(p) && (fam ? has_addr(p, fam, bin) : name_matches(p, who)))
			return p;
	return NULL;
}

int sf_ip(FILE *f, const cJSON *status, int family, const char *who, char *err, size_t errlen)
{
	const cJSON *node, *a;
	int printed = 0;

	if (who) {
		node = find_node(status, who);
		if (!node) {
			snprintf(err, errlen, "no node named %s", who);
			return -ENOENT;
		}
	} else {
		node = cJSON_GetObjectItemCaseSensitive(status, "self");
		if (!cJSON_IsObject(node) || !addresses(node)) {
			char buf[256];
			const char *s = sf_state_text(status, buf, sizeof(buf));

			snprintf(err, errlen, "this node has no addresses yet%s%s", s ? ": " : "",
				 s ? s : "");
			return -ENOENT;
		}
	}
	cJSON_ArrayForEach(a, addresses(node)) {
		char host[INET6_ADDRSTRLEN + 1];
		int fam;

		if (!cJSON_IsString(a) || !(fam = addr_host(a->valuestring, host, sizeof(host), NULL)))
			continue;
		if (family && fam != family)
			continue;
		fprintf(f, "%s\n", host);
		printed++;
	}
	if (!printed) {
		snprintf(err, errlen, "%s has no %saddress", who ? who : "this node",
			 family == AF_INET ? "IPv4 " : family == AF_INET6 ? "IPv6 " : "");
		return -ENOENT;
	}
	return 0;
}

int sf_whois(FILE *f, const cJSON *status, const char *ip, char *err, size_t errlen)
{
	const cJSON *node, *self = cJSON_GetObjectItemCaseSensitive(status, "self");
	const cJSON *tags, *a, *online;
	unsigned char bin[16];
	bool first = true;
	char name[CELL];
	int fam = 0;

	if (inet_pton(AF_INET, ip, bin) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, ip, bin) == 1)
		fam = AF_INET6;
	if (!fam) {
		snprintf(err, errlen, "`%s' is not an IP address", ip);
		return -EINVAL;
	}
	node = find_node(status, ip);
	if (!node) {
		snprintf(err, errlen, "no node has IP %s", ip);
		return -ENOENT;
	}
	node_name(node, name, sizeof(name));
	fprintf(f, "Machine:\n");
	fprintf(f, "  Name:       %s%s\n", name, node == self ? " (this node)" : "");
	fprintf(f, "  Hostname:   %s\n", str(node, "hostname")[0] ? str(node, "hostname") : "-");
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(node, "id")))
		fprintf(f, "  ID:         %" PRIu64 "\n", num(node, "id"));
	fprintf(f, "  Node key:   %s\n", str(node, "node_key")[0] ? str(node, "node_key") : "-");
	fprintf(f, "  Addresses:  ");
	cJSON_ArrayForEach(a, addresses(node)) {
		if (!cJSON_IsString(a))
			continue;
		fprintf(f, "%s%s", first ? "" : ", ", a->valuestring);
		first = false;
	}
	fprintf(f, "%s\n", first ? "-" : "");
	online = cJSON_GetObjectItemCaseSensitive(node, "online");
	if (node != self && cJSON_IsBool(online))
		fprintf(f, "  Online:     %s\n", cJSON_IsTrue(online) ? "yes" : "no");
	tags = cJSON_GetObjectItemCaseSensitive(node, "tags");
	if (cJSON_IsArray(tags) && cJSON_GetArraySize(tags) > 0) {
		char t[CELL];

		owner(node, t, sizeof(t));
		fprintf(f, "Tags:         %s\n", t);
	} else {
		fprintf(f, "User:         %s\n", str(node, "user")[0] ? str(node, "user") : "-");
	}
	return 0;
}
