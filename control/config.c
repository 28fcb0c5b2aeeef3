// SPDX-License-Identifier: MIT
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DERP_MAP \
	"{\"regions\":[{\"id\":900,\"code\":\"local\",\"name\":\"meshwg local\"," \
	"\"nodes\":[{\"name\":\"900a\",\"host\":\"127.0.0.1\",\"ipv4\":\"127.0.0.1\"," \
	"\"derp_port\":3340,\"stun_port\":3478}]}]}"

void mwg_config_defaults(struct mwg_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->listen_addr, "127.0.0.1");
	c->listen_port = 8080;
	strcpy(c->server_url, "http://127.0.0.1:8080");
	strcpy(c->base_domain, "meshwg.internal");
	c->magic_dns = true;
	kprefix_parse_cidr(&c->v4, "100.64.0.0/10");
	kprefix_parse_cidr(&c->v6, "fd7a:115c:a1e0::/48");
	c->db_type = MWG_DB_SQLITE;
	strcpy(c->db_path, "/var/lib/meshwg/control.db");
	c->node_key_expiry = 180 * 86400;
	c->ephemeral_timeout = 30 * 60;
	c->pending_expiry = 30 * 60;
	c->shared_replay_check = true;
	c->max_pending = 1000;
	c->keepalive_interval = 30;
	c->auth_max_skew = 300;
	c->max_connections = 20000;
	c->max_connections_per_ip = 256;
	c->request_timeout = 10;
	c->threads = 4;
	c->change_poll_ms = 1000;
	c->max_body = 256 * 1024;
	c->max_queued_bytes = 512u << 20;
}

void mwg_config_free(struct mwg_config *c)
{
	cJSON_Delete(c->nameservers);
	cJSON_Delete(c->search_domains);
	cJSON_Delete(c->derp_map);
	c->nameservers = c->search_domains = c->derp_map = NULL;
}

void mwg_text_position(const char *text, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int copy_str(const cJSON *v, char *dst, size_t n, const char *what, struct mwg_err *e)
{
	if (!cJSON_IsString(v))
		return mwg_fail(e, 400, "%s: must be a string", what);
	if (strlen(v->valuestring) >= n)
		return mwg_fail(e, 400, "%s: too long", what);
	strcpy(dst, v->valuestring);
	return 0;
}

static int get_duration(const cJSON *v, int64_t *out, const char *what, struct mwg_err *e)
{
	int64_t d;

	/* bounded before the conversion: a double beyond int64_t is undefined */
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= MWG_DURATION_MAX) {
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v) || (d = mwg_duration_parse(v->valuestring)) < 0)
		return mwg_fail(e, 400, "%s: want a duration like \"30s\", \"15m\", \"24h\", \"180d\" or 0, at most 100 years", what);
	*out = d;
	return 0;
}

static int get_int(const cJSON *v, long lo, long hi, long *out, const char *what, struct mwg_err *e)
{
	/* the range first: converting an out-of-range double is undefined */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
	    v->valuedouble != (double)(long)v->valuedouble)
		return mwg_fail(e, 400, "%s: must be an integer in %ld..%ld", what, lo, hi);
	*out = (long)v->valuedouble;
	return 0;
}

static int string_array(const cJSON *v, cJSON **out, const char *what, struct mwg_err *e)
{
	const cJSON *it;

	if (!cJSON_IsArray(v))
		return mwg_fail(e, 400, "%s: must be an array of strings", what);
	cJSON_ArrayForEach(it, v)
		if (!cJSON_IsString(it))
			return mwg_fail(e, 400, "%s: must be an array of strings", what);
	cJSON_Delete(*out);
	*out = cJSON_Duplicate(v, 1);
	return *out ? 0 : mwg_fail(e, 500, "out of memory");
}

static int check_derp_map(const cJSON *m, struct mwg_err *e)
{
	const cJSON *regions = cJSON_GetObjectItemCaseSensitive(m, "regions"), *r, *n;

	if (!cJSON_IsObject(m) || !cJSON_IsArray(regions))
		return mwg_fail(e, 400, "derp_map: want {\"regions\": [...]}");
	cJSON_ArrayForEach(r, regions) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
		const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(r, "nodes");

		if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 65535)
			return mwg_fail(e, 400, "derp_map: every region needs an integer \"id\" in 1..65535");
		if (!cJSON_IsArray(nodes) || !cJSON_GetArraySize(nodes))
			return mwg_fail(e, 400, "derp_map: region %d needs a non-empty \"nodes\" array", id->valueint);
		cJSON_ArrayForEach(n, nodes) {
			const cJSON *host = cJSON_GetObjectItemCaseSensitive(n, "host");

			if (!cJSON_IsString(host) || !*host->valuestring)
				return mwg_fail(e, 400, "derp_map: region %d: every node needs a \"host\"", id->valueint);
		}
	}
	return 0;
}

static int apply(struct mwg_config *c, const cJSON *root, struct mwg_err *e)
{
	const cJSON *it;
	long l = 0;

	if (!cJSON_IsObject(root))
		return mwg_fail(e, 400, "top level must be an object");
	cJSON_ArrayForEach(it, root) {
		const char *k = it->string;

		if (!strcmp(k, "listen")) {
			char buf[96], *colon;
			unsigned char tmp[16];
			long port;
			char *end;

			if (copy_str(it, buf, sizeof(buf), k, e))
				return -1;
			colon = strrchr(buf, ':');
			if (!colon)
				return mwg_fail(e, 400, "listen: want \"ADDRESS:PORT\"");
			*colon = '\0';
			port = strtol(colon + 1, &end, 10);
			if (*end || port < 0 || port > 65535 || !colon[1])
				return mwg_fail(e, 400, "listen: bad port");
			if (buf[0] == '[' && colon > buf + 1 && colon[-1] == ']') {
				colon[-1] = '\0';
				memmove(buf, buf + 1, strlen(buf));
			}
			if (inet_pton(AF_INET, buf, tmp) != 1 && inet_pton(AF_INET6, buf, tmp) != 1)
				return mwg_fail(e, 400, "listen: \"%s\" is not an IP address", buf);
			strcpy(c->listen_addr, buf);
			c->listen_port = (uint16_t)port;
		} else if (!strcmp(k, "server_url")) {
			if (copy_str(it, c->server_url, sizeof(c->server_url), k, e))
				return -1;
		} else if (!strcmp(k, "tls_cert")) {
			if (copy_str(it, c->tls_cert, sizeof(c->tls_cert), k, e))
				return -1;
		} else if (!strcmp(k, "tls_key")) {
			if (copy_str(it, c->tls_key, sizeof(c->tls_key), k, e))
				return -1;
		} else if (!strcmp(k, "insecure_http")) {
			if (!cJSON_IsBool(it))
				return mwg_fail(e, 400, "%s: must be true or false", k);
			c->insecure_http = cJSON_IsTrue(it);
		} else if (!strcmp(k, "base_domain")) {
			if (copy_str(it, c->base_domain, sizeof(c->base_domain), k, e))
				return -1;
			if (!c->base_domain[0])
				return mwg_fail(e, 400, "base_domain: must not be empty");
		} else if (!strcmp(k, "shared_replay_check")) {
			if (!cJSON_IsBool(it))
				return mwg_fail(e, 400, "%s: must be true or false", k);
			c->shared_replay_check = cJSON_IsTrue(it);
		} else if (!strcmp(k, "magic_dns")) {
			if (!cJSON_IsBool(it))
				return mwg_fail(e, 400, "%s: must be true or false", k);
			c->magic_dns = cJSON_IsTrue(it);
		} else if (!strcmp(k, "nameservers")) {
			if (string_array(it, &c->nameservers, k, e))
				return -1;
		} else if (!strcmp(k, "search_domains")) {
			if (string_array(it, &c->search_domains, k, e))
				return -1;
		} else if (!strcmp(k, "prefix_v4") || !strcmp(k, "prefix_v6")) {
			struct kprefix p;
			int fam = k[8] == '4' ? AF_INET : AF_INET6;

			if (!cJSON_IsString(it) || kprefix_parse_cidr(&p, it->valuestring) ||
			    p.family != fam)
				return mwg_fail(e, 400, "%s: not an IPv%c prefix", k, k[8]);
			if ((fam == AF_INET && p.cidr > 30) || (fam == AF_INET6 && p.cidr > 126))
				return mwg_fail(e, 400, "%s: prefix too small", k);
			if (fam == AF_INET)
				c->v4 = p;
			else
				c->v6 = p;
		} else if (!strcmp(k, "database")) {
			const cJSON *f;

			if (!cJSON_IsObject(it))
				return mwg_fail(e, 400, "database: must be an object");
			cJSON_ArrayForEach(f, it) {
				if (!strcmp(f->string, "type")) {
					if (cJSON_IsString(f) && !strcmp(f->valuestring, "sqlite"))
						c->db_type = MWG_DB_SQLITE;
					else if (cJSON_IsString(f) && !strcmp(f->valuestring, "postgres"))
						c->db_type = MWG_DB_POSTGRES;
					else
						return mwg_fail(e, 400, "database.type: \"sqlite\" or \"postgres\"");
				} else if (!strcmp(f->string, "path")) {
					if (copy_str(f, c->db_path, sizeof(c->db_path), "database.path", e))
						return -1;
				} else if (!strcmp(f->string, "dsn")) {
					if (copy_str(f, c->db_dsn, sizeof(c->db_dsn), "database.dsn", e))
						return -1;
				} else {
					return mwg_fail(e, 400, "database: unknown key \"%s\"", f->string);
				}
			}
		} else if (!strcmp(k, "policy_file")) {
			if (copy_str(it, c->policy_file, sizeof(c->policy_file), k, e))
				return -1;
		} else if (!strcmp(k, "derp_map")) {
			if (check_derp_map(it, e))
				return -1;
			cJSON_Delete(c->derp_map);
			c->derp_map = cJSON_Duplicate(it, 1);
			if (!c->derp_map)
				return mwg_fail(e, 500, "out of memory");
		} else if (!strcmp(k, "node_key_expiry")) {
			if (get_duration(it, &c->node_key_expiry, k, e))
				return -1;
		} else if (!strcmp(k, "ephemeral_inactivity_timeout")) {
			if (get_duration(it, &c->ephemeral_timeout, k, e))
				return -1;
		} else if (!strcmp(k, "pending_expiry")) {
			if (get_duration(it, &c->pending_expiry, k, e))
				return -1;
			if (c->pending_expiry < 1)
				return mwg_fail(e, 400, "pending_expiry: at least 1s");
		} else if (!strcmp(k, "max_pending")) {
			if (get_int(it, 0, 1000000, &l, k, e))
				return -1;
			c->max_pending = (int)l;
		} else if (!strcmp(k, "keepalive_interval")) {
			if (get_duration(it, &c->keepalive_interval, k, e))
				return -1;
			if (c->keepalive_interval < 1)
				return mwg_fail(e, 400, "keepalive_interval: at least 1s");
		} else if (!strcmp(k, "auth_max_skew")) {
			if (get_duration(it, &c->auth_max_skew, k, e))
				return -1;
		} else if (!strcmp(k, "max_connections")) {
			if (get_int(it, 16, 1000000, &l, k, e))
				return -1;
			c->max_connections = (int)l;
		} else if (!strcmp(k, "max_connections_per_ip")) {
			if (get_int(it, 1, 1000000, &l, k, e))
				return -1;
			c->max_connections_per_ip = (int)l;
		} else if (!strcmp(k, "request_timeout")) {
			if (get_duration(it, &c->request_timeout, k, e))
				return -1;
			if (c->request_timeout < 1)
				return mwg_fail(e, 400, "request_timeout: at least 1s");
		} else if (!strcmp(k, "threads")) {
			if (get_int(it, 1, 64, &l, k, e))
				return -1;
			c->threads = (int)l;
		} else if (!strcmp(k, "change_poll_interval_ms")) {
			if (get_int(it, 10, 600000, &l, k, e))
				return -1;
			c->change_poll_ms = (int)l;
		} else if (!strcmp(k, "max_queued_bytes")) {
			if (get_int(it, 1 << 20, 1L << 40, &l, k, e))
				return -1;
			c->max_queued_bytes = (size_t)l;
		} else if (!strcmp(k, "max_body")) {
			if (get_int(it, 1024, 64 << 20, &l, k, e))
				return -1;
			c->max_body = (size_t)l;
		} else {
			return mwg_fail(e, 400, "unknown key \"%s\"", k);
		}
	}
	if (c->db_type == MWG_DB_POSTGRES && !c->db_dsn[0])
		return mwg_fail(e, 400, "database: type postgres needs a \"dsn\"");
	if (!!c->tls_cert[0] != !!c->tls_key[0])
		return mwg_fail(e, 400, "tls_cert and tls_key go together");
	if (!c->tls_cert[0] && !c->insecure_http) {
		unsigned char a[16];
		bool loop = false;

		if (inet_pton(AF_INET, c->listen_addr, a) == 1)
			loop = a[0] == 127;
		else if (inet_pton(AF_INET6, c->listen_addr, a) == 1)
			loop = !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
		if (!loop)
			return mwg_fail(e, 400, "listen: plain HTTP only on loopback; set tls_cert/tls_key (or insecure_http: true)");
	}
	return 0;
}

static int fill_defaults(struct mwg_config *c, struct mwg_err *e)
{
	if (!c->derp_map && !(c->derp_map = cJSON_Parse(DEFAULT_DERP_MAP)))
		return mwg_fail(e, 500, "out of memory");
	if (!c->nameservers && !(c->nameservers = cJSON_CreateArray()))
		return mwg_fail(e, 500, "out of memory");
	if (!c->search_domains && !(c->search_domains = cJSON_CreateArray()))
		return mwg_fail(e, 500, "out of memory");
	return 0;
}

int mwg_config_parse(struct mwg_config *c, const char *text, const char *name,
		     struct mwg_err *e)
{
	const char *end = NULL;
	cJSON *root;
	int line, col;

	mwg_config_defaults(c);
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (!root) {
		const char *where = cJSON_GetErrorPtr();

		mwg_text_position(text, where ? (size_t)(where - text) : 0, &line, &col);
		return mwg_fail(e, 400, "%s:%d:%d: malformed JSON", name, line, col);
	}
	if (apply(c, root, e) || fill_defaults(c, e)) {
		char msg[sizeof(e->msg)];

		snprintf(msg, sizeof(msg), "%.100s: %.150s", name, e->msg);
		strcpy(e->msg, msg);
		cJSON_Delete(root);
		mwg_config_free(c);
		mwg_config_defaults(c);
		return -1;
	}
	cJSON_Delete(root);
	return 0;
}

int mwg_config_load(struct mwg_config *c, const char *path, struct mwg_err *e)
{
	char *text = mwg_read_file(path, 1 << 20, NULL, e);
	int r;

	if (!text) {
		mwg_config_defaults(c);
		return -1;
	}
	r = mwg_config_parse(c, text, path, e);
	free(text);
	return r;
}

cJSON *mwg_config_to_json(const struct mwg_config *c)
{
	cJSON *o = cJSON_CreateObject();
	char buf[128];

	if (!o)
		return NULL;
	snprintf(buf, sizeof(buf), strchr(c->listen_addr, ':') ? "[%s]:%u" : "%s:%u",
		 c->listen_addr, c->listen_port);
	cJSON_AddStringToObject(o, "listen", buf);
	cJSON_AddStringToObject(o, "server_url", c->server_url);
	cJSON_AddBoolToObject(o, "tls", c->tls_cert[0] != 0);
	cJSON_AddStringToObject(o, "base_domain", c->base_domain);
	kprefix_format(&c->v4, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "prefix_v4", buf);
	kprefix_format(&c->v6, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "prefix_v6", buf);
	cJSON_AddStringToObject(o, "database", c->db_type == MWG_DB_SQLITE ? "sqlite" : "postgres");
	if (c->db_type == MWG_DB_SQLITE)
		cJSON_AddStringToObject(o, "database_path", c->db_path);
	cJSON_AddStringToObject(o, "policy_file", c->policy_file);
	cJSON_AddNumberToObject(o, "node_key_expiry", (double)c->node_key_expiry);
	cJSON_AddNumberToObject(o, "ephemeral_inactivity_timeout", (double)c->ephemeral_timeout);
	cJSON_AddNumberToObject(o, "pending_expiry", (double)c->pending_expiry);
	cJSON_AddNumberToObject(o, "max_pending", c->max_pending);
	cJSON_AddNumberToObject(o, "keepalive_interval", (double)c->keepalive_interval);
	cJSON_AddNumberToObject(o, "derp_regions",
				cJSON_GetArraySize(cJSON_GetObjectItem(c->derp_map, "regions")));
	return o;
}
