// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwg-derper: command line, server key file, TLS set-up. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../lib/hex.h"
#include "server.h"

#define DEFAULT_CONFIG "/var/lib/meshwg-derper/derper.key"
#define KEY_PREFIX "privkey:"

static const char usage[] =
"NAME\n"
"    meshwg-derper - DERP relay server, wire-compatible with Tailscale's derper\n"
"\n"
"SYNOPSIS\n"
"    meshwg-derper [-a ADDR:PORT] [-c FILE] [--http | --certmode manual\n"
"                  --certdir DIR --hostname HOST] [OPTIONS]\n"
"    meshwg-derper --stun-only [-a ADDR:PORT] [--stun-port N]\n"
"\n"
"DESCRIPTION\n"
"    Relays packets between clients that speak Tailscale's DERP protocol\n"
"    (Tailscale clients, meshwgd) over HTTP or HTTPS: GET /derp with\n"
"    `Upgrade: DERP`. Clients are addressed by their curve25519 node keys.\n"
"    One thread, one epoll loop; a slow client never delays the others\n"
"    (each has bounded packet queues; the oldest packet is dropped when\n"
"    one is full). It also answers STUN on UDP (--stun-port). See\n"
"    docs/relay.md.\n"
"\n"
"    HTTP endpoints: /derp (the relay), /derp/probe and /derp/latency-check\n"
"    (latency probes), /generate_204 (captive-portal check), / (a plain\n"
"    page), /robots.txt, /debug/vars (JSON counters, loopback clients only).\n"
"\n"
"OPTIONS\n"
"    -a ADDR:PORT\n"
"        Listen address: \":PORT\" (all addresses, IPv4 and IPv6),\n"
"        \"IP:PORT\" or \"[IPv6]:PORT\". Default \":443\". HTTPS is served\n"
"        when --certmode manual is given or the port is 443, unless --http.\n"
"    -c FILE\n"
"        Server key file (JSON {\"PrivateKey\": \"privkey:<64 hex>\"}, the\n"
"        format of Tailscale's derper). Created with a new key, mode 0600,\n"
"        when absent. Default " DEFAULT_CONFIG " when run as root;\n"
"        required otherwise.\n"
"    --http\n"
"        Serve plain HTTP (tests, or behind a TLS-terminating proxy).\n"
"    --certmode manual\n"
"        Serve HTTPS with the certificate DIR/HOST.crt and key DIR/HOST.key\n"
"        (PEM). \"manual\" is the only mode.\n"
"    --certdir DIR\n"
"        Directory of the certificate and key. Default \".\".\n"
"    --hostname HOST\n"
"        TLS host name: names the files in --certdir (characters other\n"
"        than letters, digits, '.' and '-' removed); the certificate must\n"
"        be valid for it. An IP address without files in --certdir gets a\n"
"        self-signed certificate, created there, to pin by its SHA-256.\n"
"    --max-conns N\n"
"        Connections open at once (HTTP and DERP); more are accepted and\n"
"        closed at once. Default 10000; lowered to 32 under the open-file\n"
"        limit (raised to its hard limit at start) if that is smaller.\n"
"    --handshake-timeout SEC\n"
"        A connection must have sent its ClientInfo frame SEC seconds after\n"
"        it was accepted (and again after its HTTP upgrade), or is closed.\n"
"        Default 10.\n"
"    --idle-timeout SEC\n"
"        Close a DERP client from which nothing arrived for SEC seconds.\n"
"        Default 0 (off: Tailscale clients may stay silent; dead peers are\n"
"        found by TCP keepalives and a 15 s TCP user timeout).\n"
"    --write-timeout SEC\n"
"        Close a connection whose pending output made no progress for SEC\n"
"        seconds. Default 2 (derper's -tcp-write-timeout).\n"
"    --stun-port N\n"
"        Also answer STUN binding requests (RFC 5389, XOR-MAPPED-ADDRESS) on\n"
"        UDP port N of the -a address: those Tailscale clients send\n"
"        (SOFTWARE \"tailnode\", FINGERPRINT last); others are ignored.\n"
"        Default 3478; 0 disables.\n"
"    --stun-only\n"
"        Serve STUN alone: no HTTP or DERP, no key file.\n"
"    --rate-config FILE\n"
"        Per-client limit on the bytes of the frames a client sends, as\n"
"        derper's -rate-config: JSON {\"PerClientRateLimitBytesPerSec\": N,\n"
"        \"PerClientRateBurstBytes\": N} (burst at least 65568). A client\n"
"        over it is not read for a while, so TCP slows it. Default: none.\n"
"    --queue-depth N\n"
"        Packets queued per client (disco packets have a second queue of\n"
"        the same depth). Default 32.\n"
"    -h, --help\n"
"        This text.\n"
"\n"
"    Options may also be written with one dash (-hostname H), as derper's.\n"
"\n"
"SIGNALS\n"
"    SIGINT, SIGTERM: close every connection and exit 0.\n"
"\n"
"EXIT STATUS\n"
"    0 after a signal, 1 on a start-up error, 2 on a usage error.\n";

enum {
	OPT_HTTP = 256, OPT_CERTMODE, OPT_CERTDIR, OPT_HOSTNAME, OPT_MAX_CONNS,
	OPT_HANDSHAKE, OPT_IDLE, OPT_WRITE, OPT_QUEUE, OPT_STUN_PORT,
	OPT_STUN_ONLY, OPT_RATE_CONFIG,
};

static int parse_uint(const char *s, const char *name, unsigned int min,
		      unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "meshwg-derper: %s: want an integer from %u to %u, got \"%s\"\n",
			name, min, max, s);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int write_new_key(const char *path, uint8_t priv[32])
{
	char hex[65], buf[128];
	int fd, n;

	randombytes_buf(priv, 32);
	priv[0] &= 248;		/* clamped, as Tailscale's key.NewNode() */
	priv[31] = (priv[31] & 127) | 64;
	hex_encode(hex, priv, 32);
	n = snprintf(buf, sizeof(buf), "{\n\t\"PrivateKey\": \"" KEY_PREFIX
		     "%s\"\n}\n", hex);
	sodium_memzero(hex, sizeof(hex));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "meshwg-derper: create %s: %s\n", path,
			strerror(errno));
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	if (write(fd, buf, n) != n || fsync(fd) || close(fd)) {
		fprintf(stderr, "meshwg-derper: write %s: %s\n", path,
			strerror(errno));
		sodium_memzero(buf, sizeof(buf));
		unlink(path);
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	fprintf(stderr, "meshwg-derper: created %s with a new server key\n",
		path);
	return 0;
}

static int load_key(const char *path, uint8_t priv[32])
{
	char buf[4096];
	const cJSON *k;
	cJSON *json;
	ssize_t n;
	int fd, rc = -1;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return write_new_key(path, priv);
	if (fd < 0) {
		fprintf(stderr, "meshwg-derper: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!fstat(fd, &st) && (st.st_mode & 077))
		fprintf(stderr, "meshwg-derper: warning: %s is readable by others (mode %03o)\n",
			path, st.st_mode & 0777);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "meshwg-derper: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	json = cJSON_Parse(buf);
	k = cJSON_GetObjectItemCaseSensitive(json, "PrivateKey");
	if (cJSON_IsString(k) &&
	    !strncmp(k->valuestring, KEY_PREFIX, strlen(KEY_PREFIX)) &&
	    hex_decode(priv, 32, k->valuestring + strlen(KEY_PREFIX)) == 32)
		rc = 0;
	else
		fprintf(stderr, "meshwg-derper: %s: want {\"PrivateKey\": \"" KEY_PREFIX "<64 hex digits>\"}\n",
			path);
	cJSON_Delete(json);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/*
 * Tailscale's "meta certificate", appended to the TLS chain: self-signed
 * (a throwaway ed25519 key), CN "derpkey" + the server's public key in hex,
 * serial = the protocol version, valid 30 days either side of now.  A
 * Tailscale client that sees it over TLS 1.3 knows the server key before
 * the upgrade and sends Derp-Fast-Start: 1, saving a round trip.
 */
static int add_meta_cert(SSL_CTX *ctx, const uint8_t pub[32])
{
	char cn[8 + 64 + 1] = "derpkey";
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	hex_encode(cn + 7, pub, 32);
	if (!key || !x)
		goto out;
	name = X509_get_subject_name(x);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
				  "critical,CA:FALSE");
	ok = X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x),
			      DERP_PROTOCOL_VERSION) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -30L * 86400) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) &&
	     /* 71 characters: over OpenSSL's table bound of 64 for a CN
	      * given as MBSTRING, so set the string type directly. */
	     X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_PRINTABLESTRING,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	     ext && X509_add_ext(x, ext, -1) &&
	     X509_sign(x, key, NULL) > 0 &&
	     SSL_CTX_add1_chain_cert(ctx, x);
out:
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int write_pem(const char *path, mode_t mode, X509 *x, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;

	if (!f) {
		fprintf(stderr, "meshwg-derper: create %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = x ? PEM_write_X509(f, x) :
		 PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) || !ok) {
		fprintf(stderr, "meshwg-derper: write %s failed\n", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/*
 * --certmode manual with an IP address for --hostname and no files yet,
 * as derper does: a self-signed certificate for that address (EC P-256,
 * one year, the address as CN and IP SAN), written to crt (0644) and key
 * (0600).  Clients pin it by its SHA-256 (DERP map CertName
 * "sha256-raw:<hex>", printed at start).
 */
static int make_self_signed(const char *ip, const char *crt, const char *key)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509V3_CTX v3;
	char san[64];
	static const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:FALSE" },
		{ "keyUsage", "critical,digitalSignature,keyEncipherment" },
		{ "extendedKeyUsage", "serverAuth" },
		{ "subjectAltName", NULL },
	};
	int ok = 0;

	snprintf(san, sizeof(san), "IP:%s", ip);
	if (!pk || !x || !serial || !BN_rand(serial, 127, BN_RAND_TOP_ANY,
					     BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					MBSTRING_ASC, (const unsigned char *)ip,
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    !X509_set_pubkey(x, pk))
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0],
						    exts[i][1] ? exts[i][1] : san);

		if (!e || !X509_add_ext(x, e, -1)) {
			X509_EXTENSION_free(e);
			goto out;
		}
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	if (write_pem(key, 0600, NULL, pk))
		goto out;
	if (write_pem(crt, 0644, x, NULL)) {
		unlink(key);
		goto out;
	}
	fprintf(stderr, "meshwg-derper: created a self-signed certificate for %s: %s\n",
		ip, crt);
	ok = 1;
out:
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

static SSL_CTX *tls_setup(const char *dir, const char *hostname,
			  const uint8_t pub[32])
{
	char name[256], crt[PATH_MAX], key[PATH_MAX];
	size_t j = 0;
	SSL_CTX *ctx;
	X509 *leaf;

	for (const char *p = hostname; *p && j < sizeof(name) - 1; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
			name[j++] = *p;
	}
	name[j] = '\0';
	if (!j) {
		fprintf(stderr, "meshwg-derper: --hostname is required with --certmode manual\n");
		return NULL;
	}
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (is_ip(hostname) && access(crt, F_OK) && errno == ENOENT &&
	    access(key, F_OK) && errno == ENOENT &&
	    make_self_signed(hostname, crt, key))
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();

		fprintf(stderr, "meshwg-derper: certificate %s / key %s: %s\n",
			crt, key, e ? ERR_reason_error_string(e) : "unusable");
		SSL_CTX_free(ctx);
		return NULL;
	}
	leaf = SSL_CTX_get0_certificate(ctx);
	if (is_ip(hostname) ? X509_check_ip_asc(leaf, hostname, 0) != 1 :
	    X509_check_host(leaf, hostname, 0, 0, NULL) != 1) {
		fprintf(stderr, "meshwg-derper: %s is not valid for --hostname %s\n",
			crt, hostname);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (is_ip(hostname)) {
		unsigned char md[32];
		unsigned int mdlen = sizeof(md);
		char hex[65];

		if (X509_digest(leaf, EVP_sha256(), md, &mdlen) && mdlen == 32) {
			hex_encode(hex, md, 32);
			fprintf(stderr, "meshwg-derper: self-signed certificate for %s: pin it in the DERP map with \"CertName\": \"sha256-raw:%s\"\n",
				hostname, hex);
		}
	}
	if (add_meta_cert(ctx, pub)) {
		fprintf(stderr, "meshwg-derper: cannot make the fast-start meta certificate\n");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* derper's -rate-config file: the per-client limit on what clients send. */
static int load_rate_config(const char *path, struct server_config *cfg)
{
	static const uint64_t min_burst = DERP_MAX_PACKET + DERP_KEY_LEN;
	const cJSON *rate, *burst;
	char buf[4096];
	cJSON *json;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "meshwg-derper: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "meshwg-derper: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	json = cJSON_Parse(buf);
	rate = cJSON_GetObjectItemCaseSensitive(json, "PerClientRateLimitBytesPerSec");
	burst = cJSON_GetObjectItemCaseSensitive(json, "PerClientRateBurstBytes");
	if (!cJSON_IsObject(json) || (rate && (!cJSON_IsNumber(rate) || rate->valuedouble < 0)) ||
	    (burst && (!cJSON_IsNumber(burst) || burst->valuedouble < 0))) {
		fprintf(stderr, "meshwg-derper: %s: want {\"PerClientRateLimitBytesPerSec\": N, \"PerClientRateBurstBytes\": N}\n",
			path);
		cJSON_Delete(json);
		return -1;
	}
	cfg->rate_bytes_per_sec = rate ? (uint64_t)rate->valuedouble : 0;
	cfg->rate_burst = burst ? (uint64_t)burst->valuedouble : 0;
	if (cfg->rate_burst < min_burst)
		cfg->rate_burst = min_burst;
	cJSON_Delete(json);
	return 0;
}

/*
 * Raises the descriptor limit to its hard limit and keeps --max-conns 32
 * under it, so that accepting never fails for want of descriptors.
 */
static void fit_max_conns(unsigned int *max_conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < *max_conns + 32ull) {
		unsigned int fit = rl.rlim_cur > 64 ? (unsigned int)rl.rlim_cur - 32 : 32;

		fprintf(stderr, "meshwg-derper: --max-conns %u lowered to %u (open-file limit %llu)\n",
			*max_conns, fit, (unsigned long long)rl.rlim_cur);
		*max_conns = fit;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "http", no_argument, NULL, OPT_HTTP },
		{ "certmode", required_argument, NULL, OPT_CERTMODE },
		{ "certdir", required_argument, NULL, OPT_CERTDIR },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "write-timeout", required_argument, NULL, OPT_WRITE },
		{ "queue-depth", required_argument, NULL, OPT_QUEUE },
		{ "stun-port", required_argument, NULL, OPT_STUN_PORT },
		{ "stun-only", no_argument, NULL, OPT_STUN_ONLY },
		{ "rate-config", required_argument, NULL, OPT_RATE_CONFIG },
		{ 0 }
	};
	struct server_config cfg = {
		.listen = ":443",
		.max_conns = 10000,
		.handshake_timeout = 10,
		.write_timeout = 2,
		.queue_depth = 32,
		.stun_port = 3478,
	};
	const char *config = NULL, *certmode = NULL, *certdir = ".";
	const char *hostname = NULL, *port;
	bool http = false;
	int c, rc;

	while ((c = getopt_long_only(argc, argv, "a:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			cfg.listen = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_HTTP:
			http = true;
			break;
		case OPT_CERTMODE:
			certmode = optarg;
			break;
		case OPT_CERTDIR:
			certdir = optarg;
			break;
		case OPT_HOSTNAME:
			hostname = optarg;
			break;
		case OPT_MAX_CONNS:
			if (parse_uint(optarg, "--max-conns", 1, 1000000,
				       &cfg.max_conns))
				return 2;
			break;
		case OPT_HANDSHAKE:
			if (parse_uint(optarg, "--handshake-timeout", 1, 3600,
				       &cfg.handshake_timeout))
				return 2;
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, "--idle-timeout", 0, 86400,
				       &cfg.idle_timeout))
				return 2;
			break;
		case OPT_WRITE:
			if (parse_uint(optarg, "--write-timeout", 1, 3600,
				       &cfg.write_timeout))
				return 2;
			break;
		case OPT_QUEUE:
			if (parse_uint(optarg, "--queue-depth", 1, 4096,
				       &cfg.queue_depth))
				return 2;
			break;
		case OPT_RATE_CONFIG:
			if (load_rate_config(optarg, &cfg))
				return 1;
			break;
		case OPT_STUN_ONLY:
			cfg.stun_only = true;
			break;
		case OPT_STUN_PORT:
			if (parse_uint(optarg, "--stun-port", 0, 65535,
				       &cfg.stun_port))
				return 2;
			break;
		default:
			fputs("Try 'meshwg-derper --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshwg-derper: unexpected argument \"%s\"\n",
			argv[optind]);
		return 2;
	}
	if (cfg.stun_only) {
		if (!cfg.stun_port) {
			fprintf(stderr, "meshwg-derper: --stun-only needs a --stun-port\n");
			return 2;
		}
		if (http || certmode || config) {
			fprintf(stderr, "meshwg-derper: --stun-only serves no HTTP: no --http, --certmode or -c\n");
			return 2;
		}
		if (sodium_init() < 0)
			return 1;
		return server_run(&cfg);
	}
	if (certmode && strcmp(certmode, "manual")) {
		fprintf(stderr, "meshwg-derper: --certmode %s: only \"manual\" is supported\n",
			certmode);
		return 2;
	}
	if (http && certmode) {
		fprintf(stderr, "meshwg-derper: --http and --certmode exclude each other\n");
		return 2;
	}
	port = strrchr(cfg.listen, ':');
	if (!http && !certmode && port && !strcmp(port, ":443")) {
		fprintf(stderr, "meshwg-derper: port 443 serves HTTPS: give --certmode manual --certdir DIR --hostname HOST, or --http\n");
		return 2;
	}
	if (!config) {
		if (geteuid()) {
			fprintf(stderr, "meshwg-derper: -c FILE is required when not root\n");
			return 2;
		}
		config = DEFAULT_CONFIG;
		mkdir("/var/lib/meshwg-derper", 0700);
	}
	fit_max_conns(&cfg.max_conns);
	if (sodium_init() < 0) {
		fprintf(stderr, "meshwg-derper: libsodium failed to start\n");
		return 1;
	}
	if (load_key(config, cfg.private_key))
		return 1;
	crypto_scalarmult_base(cfg.public_key, cfg.private_key);
	if (certmode) {
		cfg.tls = tls_setup(certdir, hostname ? hostname : "",
				    cfg.public_key);
		if (!cfg.tls)
			return 1;
	}
	rc = server_run(&cfg);
	SSL_CTX_free(cfg.tls);
	sodium_memzero(cfg.private_key, sizeof(cfg.private_key));
	return rc;
}
