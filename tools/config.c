// SPDX-License-Identifier: GPL-2.0 OR MIT
/* wg(8)-compatible value parsing, `set` arguments and configuration files. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "key.h"

static bool fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* Strict unsigned decimal (or 0x hex when hex_ok): no sign, no spaces. */
static bool parse_uint(unsigned long long *out, const char *s, unsigned long long max, bool hex_ok)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!s || !*s)
		return false;
	if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16;
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return false;
	if (base == 16 && !isxdigit((unsigned char)s[2]))
		return false;
	*out = v;
	return true;
}

bool parse_key(uint8_t key[KEY_LEN], const char *value, char *err, size_t errlen)
{
	if (!key_from_base64(key, value))
		return fail(err, errlen, "Key is not the correct length or format: `%s'", value);
	return true;
}

bool parse_port(uint16_t *port, const char *value, char *err, size_t errlen)
{
	unsigned long long v;

	if (!parse_uint(&v, value, 65535, false))
		return fail(err, errlen, "Invalid port `%s': must be a number from 0 to 65535", value);
	*port = (uint16_t)v;
	return true;
}

bool parse_fwmark(uint32_t *fwmark, const char *value, char *err, size_t errlen)
{
	unsigned long long v;

	if (!strcasecmp(value, "off")) {
		*fwmark = 0;
		return true;
	}
	if (!parse_uint(&v, value, UINT32_MAX, true))
		return fail(err, errlen, "Invalid fwmark `%s': must be off or a 32-bit number", value);
	*fwmark = (uint32_t)v;
	return true;
}

bool parse_keepalive(uint16_t *interval, const char *value, char *err, size_t errlen)
{
	unsigned long long v;

	if (!strcasecmp(value, "off")) {
		*interval = 0;
		return true;
	}
	if (!parse_uint(&v, value, 65535, false))
		return fail(err, errlen,
			    "Invalid persistent keepalive `%s': must be off, 0 or 1-65535 seconds", value);
	*interval = (uint16_t)v;
	return true;
}

bool parse_allowedip(struct mw_allowedip *ip, const char *value, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(value, '/');
	size_t addr_len = slash ? (size_t)(slash - value) : strlen(value);
	struct mw_allowedip tmp = { 0 };
	unsigned long long cidr;
	unsigned int max;

	if (!addr_len || addr_len >= sizeof(buf))
		return fail(err, errlen, "Invalid allowed IP `%s': missing or overlong address", value);
	memcpy(buf, value, addr_len);
	buf[addr_len] = '\0';
	if (inet_pton(AF_INET, buf, &tmp.ip4) == 1) {
		tmp.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &tmp.ip6) == 1) {
		tmp.family = AF_INET6;
		max = 128;
	} else {
		return fail(err, errlen, "Invalid allowed IP `%s': `%s' is not an IPv4 or IPv6 address",
			    value, buf);
	}
	if (slash) {
		if (!parse_uint(&cidr, slash + 1, max, false))
			return fail(err, errlen, "Invalid allowed IP `%s': mask must be a number from 0 to %u",
				    value, max);
	} else {
		cidr = max;
	}
	tmp.cidr = (uint8_t)cidr;
	*ip = tmp;
	return true;
}

bool parse_allowedips(struct mw_peer *peer, const char *value, char *err, size_t errlen)
{
	struct mw_allowedip *first = NULL, *last = NULL, *ip, *next;
	char *copy, *saveptr = NULL, *tok, *p;
	bool ok = true;

	copy = strdup(value);
	if (!copy)
		return fail(err, errlen, "Out of memory");
	/* Remove whitespace so "a/32, b/24" works as in configuration files. */
	for (p = tok = copy; *tok; ++tok)
		if (!isspace((unsigned char)*tok))
			*p++ = *tok;
	*p = '\0';
	if (*copy && (copy[0] == ',' || copy[strlen(copy) - 1] == ',' || strstr(copy, ",,"))) {
		ok = fail(err, errlen, "Invalid allowed IPs `%s': empty entry", value);
		goto out;
	}
	for (tok = strtok_r(copy, ",", &saveptr); tok; tok = strtok_r(NULL, ",", &saveptr)) {
		ip = calloc(1, sizeof(*ip));
		if (!ip) {
			ok = fail(err, errlen, "Out of memory");
			goto out;
		}
		if (!parse_allowedip(ip, tok, err, errlen)) {
			free(ip);
			ok = false;
			goto out;
		}
		if (last)
			last->next = ip;
		else
			first = ip;
		last = ip;
	}
out:
	free(copy);
	if (!ok) {
		for (ip = first; ip; ip = next) {
			next = ip->next;
			free(ip);
		}
		return false;
	}
	if (first) {
		if (peer->last_allowedip)
			peer->last_allowedip->next = first;
		else
			peer->first_allowedip = first;
		peer->last_allowedip = last;
	}
	return true;
}

bool parse_endpoint(struct mw_peer *peer, const char *value, char *err, size_t errlen)
{
	char *copy, *host, *port, *end;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP };
	struct addrinfo *res = NULL;
	unsigned long long n;
	bool ok = false;
	int ret;

	if (!strncasecmp(value, "relay:", 6)) {
		if (!parse_uint(&n, value + 6, UINT32_MAX, false) || !n)
			return fail(err, errlen, "Invalid endpoint `%s': relay id must be 1-4294967295",
				    value);
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		peer->relay_id = (uint32_t)n;
		peer->flags = (peer->flags & ~PEER_HAS_ENDPOINT) | PEER_HAS_RELAY;
		return true;
	}
	copy = strdup(value);
	if (!copy)
		return fail(err, errlen, "Out of memory");
	if (copy[0] == '[') {
		host = copy + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':') {
			fail(err, errlen, "Invalid endpoint `%s': expected [IPv6]:port", value);
			goto out;
		}
		*end = '\0';
		port = end + 2;
	} else {
		host = copy;
		end = strrchr(copy, ':');
		if (!end) {
			fail(err, errlen, "Invalid endpoint `%s': expected host:port", value);
			goto out;
		}
		if (memchr(copy, ':', (size_t)(end - copy))) {
			fail(err, errlen, "Invalid endpoint `%s': IPv6 addresses need brackets, [addr]:port",
			     value);
			goto out;
		}
		*end = '\0';
		port = end + 1;
	}
	if (!*host) {
		fail(err, errlen, "Invalid endpoint `%s': empty host", value);
		goto out;
	}
	if (!parse_uint(&n, port, 65535, false) || !n) {
		fail(err, errlen, "Invalid endpoint `%s': port must be 1-65535", value);
		goto out;
	}
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (copy[0] == '[')
		hints.ai_family = AF_INET6;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret == EAI_NONAME && copy[0] != '[') {
		hints.ai_flags = AI_NUMERICSERV;
		ret = getaddrinfo(host, port, &hints, &res);
	}
	if (ret) {
		fail(err, errlen, "Invalid endpoint `%s': %s", value, gai_strerror(ret));
		goto out;
	}
	if ((res->ai_family == AF_INET && res->ai_addrlen == sizeof(struct sockaddr_in)) ||
	    (res->ai_family == AF_INET6 && res->ai_addrlen == sizeof(struct sockaddr_in6))) {
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		memcpy(&peer->endpoint, res->ai_addr, res->ai_addrlen);
		peer->relay_id = 0;
		peer->flags = (peer->flags & ~PEER_HAS_RELAY) | PEER_HAS_ENDPOINT;
		ok = true;
	} else {
		fail(err, errlen, "Invalid endpoint `%s': unsupported address family", value);
	}
	freeaddrinfo(res);
out:
	free(copy);
	return ok;
}

bool read_keyfile(uint8_t key[KEY_LEN], const char *path, char *err, size_t errlen)
{
	char buf[KEY_B64_LEN + 64];
	size_t len;
	FILE *f;
	int c;

	f = fopen(path, "r");
	if (!f)
		return fail(err, errlen, "Unable to read key file `%s': %s", path, strerror(errno));
	len = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		fclose(f);
		return fail(err, errlen, "Unable to read key file `%s': %s", path, strerror(errno));
	}
	c = fgetc(f);
	fclose(f);
	buf[len] = '\0';
	while (len && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	if (c != EOF)
		return fail(err, errlen, "Key file `%s' is too long", path);
	if (!len) {
		memset(key, 0, KEY_LEN);
		return true;
	}
	if (!key_from_base64(key, buf))
		return fail(err, errlen, "Key in `%s' is not the correct length or format", path);
	return true;
}

/* ---- configuration files ---- */

struct config_ctx {
	struct mw_device *dev;
	struct mw_peer *peer;	/* current [Peer], not yet appended */
	int peer_line;
	bool in_interface;
	const char *name;
};

static bool finish_peer(struct config_ctx *ctx, char *err, size_t errlen)
{
	if (!ctx->peer)
		return true;
	if (!(ctx->peer->flags & PEER_HAS_PUBLIC_KEY))
		return fail(err, errlen, "%s:%d: [Peer] section has no PublicKey", ctx->name,
			    ctx->peer_line);
	device_append_peer(ctx->dev, ctx->peer);
	ctx->peer = NULL;
	return true;
}

static bool config_line(struct config_ctx *ctx, char *line, int lineno, char *err, size_t errlen)
{
	char msg[ERR_LEN];
	char *eq, *key, *value;

	if (!strcasecmp(line, "[Interface]")) {
		if (!finish_peer(ctx, err, errlen))
			return false;
		ctx->in_interface = true;
		return true;
	}
	if (!strcasecmp(line, "[Peer]")) {
		if (!finish_peer(ctx, err, errlen))
			return false;
		ctx->in_interface = false;
		ctx->peer = calloc(1, sizeof(*ctx->peer));
		if (!ctx->peer)
			return fail(err, errlen, "Out of memory");
		ctx->peer->flags = PEER_REPLACE_ALLOWEDIPS;
		ctx->peer_line = lineno;
		return true;
	}
	if (line[0] == '[')
		return fail(err, errlen, "%s:%d: unknown section `%s'", ctx->name, lineno, line);
	eq = strchr(line, '=');
	if (!eq || eq == line)
		return fail(err, errlen, "%s:%d: expected `Key = Value', got `%s'", ctx->name, lineno,
			    line);
	*eq = '\0';
	key = line;
	value = eq + 1;
	msg[0] = '\0';
	if (ctx->in_interface) {
		struct mw_device *dev = ctx->dev;

		if (!strcasecmp(key, "PrivateKey")) {
			if (!parse_key(dev->private_key, value, msg, sizeof(msg)))
				goto bad;
			dev->flags |= DEV_HAS_PRIVATE_KEY;
		} else if (!strcasecmp(key, "ListenPort")) {
			if (!parse_port(&dev->listen_port, value, msg, sizeof(msg)))
				goto bad;
			dev->flags |= DEV_HAS_LISTEN_PORT;
		} else if (!strcasecmp(key, "FwMark")) {
			if (!parse_fwmark(&dev->fwmark, value, msg, sizeof(msg)))
				goto bad;
			dev->flags |= DEV_HAS_FWMARK;
		} else {
			return fail(err, errlen,
				    "%s:%d: unknown key `%s' in [Interface] (wg-quick keys such as Address are not accepted)",
				    ctx->name, lineno, key);
		}
		return true;
	}
	if (ctx->peer) {
		struct mw_peer *peer = ctx->peer;

		if (!strcasecmp(key, "PublicKey")) {
			if (!parse_key(peer->public_key, value, msg, sizeof(msg)))
				goto bad;
			peer->flags |= PEER_HAS_PUBLIC_KEY;
		} else if (!strcasecmp(key, "PresharedKey")) {
			if (!parse_key(peer->preshared_key, value, msg, sizeof(msg)))
				goto bad;
			peer->flags |= PEER_HAS_PRESHARED_KEY;
		} else if (!strcasecmp(key, "AllowedIPs")) {
			if (!parse_allowedips(peer, value, msg, sizeof(msg)))
				goto bad;
		} else if (!strcasecmp(key, "Endpoint")) {
			if (!parse_endpoint(peer, value, msg, sizeof(msg)))
				goto bad;
		} else if (!strcasecmp(key, "PersistentKeepalive")) {
			if (!parse_keepalive(&peer->persistent_keepalive_interval, value, msg,
					     sizeof(msg)))
				goto bad;
			peer->flags |= PEER_HAS_KEEPALIVE;
		} else {
			return fail(err, errlen, "%s:%d: unknown key `%s' in [Peer]", ctx->name, lineno,
				    key);
		}
		return true;
	}
	return fail(err, errlen, "%s:%d: `%s' outside of an [Interface] or [Peer] section", ctx->name,
		    lineno, key);
bad:
	return fail(err, errlen, "%s:%d: %s: %s", ctx->name, lineno, key, msg);
}

struct mw_device *config_parse(const char *text, size_t len, const char *name, bool replace,
			       char *err, size_t errlen)
{
	struct config_ctx ctx = { .name = name ? name : "config" };
	size_t pos = 0, start, i;
	char *line = NULL, *p;
	int lineno = 0;
	bool ok = true;

	ctx.dev = calloc(1, sizeof(*ctx.dev));
	if (!ctx.dev) {
		fail(err, errlen, "Out of memory");
		return NULL;
	}
	if (replace)
		ctx.dev->flags |= DEV_REPLACE_PEERS;
	while (pos < len) {
		start = pos;
		while (pos < len && text[pos] != '\n')
			++pos;
		++lineno;
		line = malloc(pos - start + 1);
		if (!line) {
			ok = fail(err, errlen, "Out of memory");
			break;
		}
		/* Drop the comment, then every whitespace character, as wg does. */
		for (p = line, i = start; i < pos && text[i] != '#'; ++i) {
			if (!text[i]) {
				ok = fail(err, errlen, "%s:%d: NUL byte in file", ctx.name, lineno);
				break;
			}
			if (!isspace((unsigned char)text[i]))
				*p++ = text[i];
		}
		*p = '\0';
		if (ok && line[0])
			ok = config_line(&ctx, line, lineno, err, errlen);
		free(line);
		if (!ok)
			break;
		++pos; /* skip '\n' */
	}
	if (ok)
		ok = finish_peer(&ctx, err, errlen);
	if (!ok) {
		free_peer(ctx.peer);
		free_device(ctx.dev);
		return NULL;
	}
	return ctx.dev;
}

struct mw_device *config_read_file(const char *path, bool replace, char *err, size_t errlen)
{
	struct mw_device *dev;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;
	bool is_stdin = !strcmp(path, "-");

	f = is_stdin ? stdin : fopen(path, "r");
	if (!f) {
		fail(err, errlen, "Unable to open configuration file `%s': %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 65536) {
			char *nbuf = realloc(buf, cap + 65536 + 1);

			if (!nbuf) {
				free(buf);
				if (!is_stdin)
					fclose(f);
				fail(err, errlen, "Out of memory");
				return NULL;
			}
			buf = nbuf;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		if (!is_stdin)
			fclose(f);
		fail(err, errlen, "Unable to read configuration file `%s'", path);
		return NULL;
	}
	if (!is_stdin)
		fclose(f);
	dev = config_parse(buf, len, is_stdin ? "stdin" : path, replace, err, errlen);
	free(buf);
	return dev;
}

/* ---- `set` arguments ---- */

struct mw_device *config_parse_args(int argc, char *argv[], char *err, size_t errlen)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	struct mw_peer *peer = NULL;
	char msg[ERR_LEN];
	int i;

	if (!dev) {
		fail(err, errlen, "Out of memory");
		return NULL;
	}
#define NEED_VALUE()                                                                   \
	do {                                                                           \
		if (i + 1 >= argc) {                                                   \
			fail(err, errlen, "Option `%s' needs a value", argv[i]);       \
			goto bad;                                                      \
		}                                                                      \
	} while (0)
	for (i = 0; i < argc; ++i) {
		const char *opt = argv[i];

		if (!peer && !strcmp(opt, "listen-port")) {
			NEED_VALUE();
			if (!parse_port(&dev->listen_port, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			dev->flags |= DEV_HAS_LISTEN_PORT;
		} else if (!peer && !strcmp(opt, "fwmark")) {
			NEED_VALUE();
			if (!parse_fwmark(&dev->fwmark, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			dev->flags |= DEV_HAS_FWMARK;
		} else if (!peer && !strcmp(opt, "private-key")) {
			NEED_VALUE();
			if (!read_keyfile(dev->private_key, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			dev->flags |= DEV_HAS_PRIVATE_KEY;
		} else if (!strcmp(opt, "peer")) {
			NEED_VALUE();
			peer = calloc(1, sizeof(*peer));
			if (!peer) {
				fail(err, errlen, "Out of memory");
				goto bad;
			}
			device_append_peer(dev, peer);
			if (!parse_key(peer->public_key, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			peer->flags |= PEER_HAS_PUBLIC_KEY;
		} else if (peer && !strcmp(opt, "remove")) {
			peer->flags |= PEER_REMOVE_ME;
		} else if (peer && !strcmp(opt, "update-only")) {
			peer->flags |= PEER_UPDATE_ONLY;
		} else if (peer && !strcmp(opt, "preshared-key")) {
			NEED_VALUE();
			if (!read_keyfile(peer->preshared_key, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			peer->flags |= PEER_HAS_PRESHARED_KEY;
		} else if (peer && !strcmp(opt, "endpoint")) {
			NEED_VALUE();
			if (!parse_endpoint(peer, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
		} else if (peer && !strcmp(opt, "persistent-keepalive")) {
			NEED_VALUE();
			if (!parse_keepalive(&peer->persistent_keepalive_interval, argv[++i], msg,
					     sizeof(msg)))
				goto bad_msg;
			peer->flags |= PEER_HAS_KEEPALIVE;
		} else if (peer && !strcmp(opt, "allowed-ips")) {
			NEED_VALUE();
			if (!parse_allowedips(peer, argv[++i], msg, sizeof(msg)))
				goto bad_msg;
			peer->flags |= PEER_REPLACE_ALLOWEDIPS;
		} else {
			fail(err, errlen, "Invalid argument: %s", opt);
			goto bad;
		}
	}
#undef NEED_VALUE
	return dev;
bad_msg:
	fail(err, errlen, "%s", msg);
bad:
	free_device(dev);
	return NULL;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KEY_LEN);
}

int config_add_removals(struct mw_device *want, const struct mw_device *have)
{
	const struct mw_peer *old, *p;
	struct mw_peer *rm;
	uint8_t (*keys)[KEY_LEN];
	size_t n = 0, i = 0;

	for_each_peer(want, p)
		++n;
	keys = calloc(n ? n : 1, KEY_LEN);
	if (!keys)
		return -1;
	for_each_peer(want, p)
		memcpy(keys[i++], p->public_key, KEY_LEN);
	qsort(keys, n, KEY_LEN, key_cmp);
	for_each_peer(have, old) {
		if (n && bsearch(old->public_key, keys, n, KEY_LEN, key_cmp))
			continue;
		rm = calloc(1, sizeof(*rm));
		if (!rm) {
			free(keys);
			return -1;
		}
		memcpy(rm->public_key, old->public_key, KEY_LEN);
		rm->flags = PEER_HAS_PUBLIC_KEY | PEER_REMOVE_ME;
		device_append_peer(want, rm);
	}
	free(keys);
	return 0;
}
