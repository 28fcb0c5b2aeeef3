// SPDX-License-Identifier: GPL-2.0 OR MIT
/* ACL rulesets: JSON and netlink attributes; see filterfmt.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <linux/meshwg.h>

#include "filterfmt.h"

void fl_free(struct fl_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_rules; i++) {
		free(rs->rules[i].src);
		free(rs->rules[i].dst);
	}
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "addr/bits" or a bare address (all bits), host bits zero. */
static int parse_prefix(const char *s, struct fl_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned int max;
	long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	memset(p, 0, sizeof(*p));
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	max = p->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0 || bits > (long)max)
			return -1;
	}
	p->cidr = (uint8_t)bits;
	for (unsigned int i = p->cidr; i < max; i++)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return -2;
	return 0;
}

static int parse_src(const cJSON *arr, struct fl_rule *r, size_t ri, char *err, size_t errlen)
{
	size_t n = 0, i = 0;
	const cJSON *it;

	if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr))
		return fail(err, errlen, "rule %zu: \"src\" must be a non-empty array", ri);
	cJSON_ArrayForEach(it, arr)
		n += cJSON_IsString(it) && !strcmp(it->valuestring, "*") ? 2 : 1;
	r->src = calloc(n, sizeof(*r->src));
	if (!r->src)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		int ret;

		if (!cJSON_IsString(it))
			return fail(err, errlen, "rule %zu: src %zu: not a string", ri, i);
		if (!strcmp(it->valuestring, "*")) {
			r->src[r->n_src++] = (struct fl_prefix){ .family = AF_INET };
			r->src[r->n_src++] = (struct fl_prefix){ .family = AF_INET6 };
			i++;
			continue;
		}
		ret = parse_prefix(it->valuestring, &r->src[r->n_src]);
		if (ret == -2)
			return fail(err, errlen, "rule %zu: src \"%s\": host bits set", ri,
				    it->valuestring);
		if (ret)
			return fail(err, errlen, "rule %zu: src \"%s\": not a prefix", ri,
				    it->valuestring);
		r->n_src++;
		i++;
	}
	return 0;
}

static int get_port(const cJSON *o, const char *key, int dflt, size_t ri, size_t i,
		    char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return dflt;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
	    v->valuedouble != (double)v->valueint) {
		fail(err, errlen, "rule %zu: dst %zu: \"%s\" must be 0-65535", ri, i, key);
		return -1;
	}
	return v->valueint;
}

static int parse_dst(const cJSON *arr, struct fl_rule *r, size_t ri, char *err, size_t errlen)
{
	const cJSON *it;

	if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr))
		return fail(err, errlen, "rule %zu: \"dst\" must be a non-empty array", ri);
	r->dst = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*r->dst));
	if (!r->dst)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		struct fl_dst *d = &r->dst[r->n_dst];
		const cJSON *pfx = cJSON_GetObjectItemCaseSensitive(it, "prefix"), *k;
		int first, last, ret;

		if (!cJSON_IsObject(it) || !cJSON_IsString(pfx))
			return fail(err, errlen, "rule %zu: dst %zu: needs a \"prefix\" string",
				    ri, r->n_dst);
		cJSON_ArrayForEach(k, it)
			if (strcmp(k->string, "prefix") && strcmp(k->string, "first_port") &&
			    strcmp(k->string, "last_port"))
				return fail(err, errlen, "rule %zu: dst %zu: unknown key \"%s\"",
					    ri, r->n_dst, k->string);
		ret = parse_prefix(pfx->valuestring, &d->prefix);
		if (ret == -2)
			return fail(err, errlen, "rule %zu: dst \"%s\": host bits set", ri,
				    pfx->valuestring);
		if (ret)
			return fail(err, errlen, "rule %zu: dst \"%s\": not a prefix", ri,
				    pfx->valuestring);
		first = get_port(it, "first_port", 0, ri, r->n_dst, err, errlen);
		if (first < 0)
			return -EINVAL;
		last = get_port(it, "last_port", 65535, ri, r->n_dst, err, errlen);
		if (last < 0)
			return -EINVAL;
		if (first > last)
			return fail(err, errlen, "rule %zu: dst %zu: first_port %d > last_port %d",
				    ri, r->n_dst, first, last);
		d->first_port = (uint16_t)first;
		d->last_port = (uint16_t)last;
		r->n_dst++;
	}
	return 0;
}

static int parse_protos(const cJSON *v, struct fl_rule *r, size_t ri, char *err, size_t errlen)
{
	bool seen[256] = { false };
	const cJSON *it;

	if (!v)
		return 0;
	if (cJSON_IsString(v) && (!strcmp(v->valuestring, "*") || !strcmp(v->valuestring, "any"))) {
		r->any_proto = true;
		return 0;
	}
	if (!cJSON_IsArray(v))
		return fail(err, errlen, "rule %zu: \"protos\" must be an array or \"*\"", ri);
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 255 ||
		    it->valuedouble != (double)it->valueint)
			return fail(err, errlen, "rule %zu: protocols are numbers 0-255", ri);
		seen[it->valueint] = true;
	}
	for (int p = 0; p < 256; p++)
		if (seen[p])
			r->protos[r->n_protos++] = (uint8_t)p;
	return 0;
}

static int parse_rule(const cJSON *o, struct fl_rule *r, size_t ri, char *err, size_t errlen)
{
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(o, "action"), *k;
	int ret;

	if (!cJSON_IsObject(o))
		return fail(err, errlen, "rule %zu: not an object", ri);
	cJSON_ArrayForEach(k, o)
		if (strcmp(k->string, "action") && strcmp(k->string, "src") &&
		    strcmp(k->string, "dst") && strcmp(k->string, "protos") &&
		    strcmp(k->string, "packets") && strcmp(k->string, "bytes"))
			return fail(err, errlen, "rule %zu: unknown key \"%s\"", ri, k->string);
	if (cJSON_IsString(action) && !strcmp(action->valuestring, "accept"))
		r->action = MESHWG_FILTER_ACCEPT;
	else if (cJSON_IsString(action) && !strcmp(action->valuestring, "deny"))
		r->action = MESHWG_FILTER_DENY;
	else
		return fail(err, errlen, "rule %zu: \"action\" must be \"accept\" or \"deny\"", ri);
	ret = parse_src(cJSON_GetObjectItemCaseSensitive(o, "src"), r, ri, err, errlen);
	if (!ret)
		ret = parse_dst(cJSON_GetObjectItemCaseSensitive(o, "dst"), r, ri, err, errlen);
	if (!ret)
		ret = parse_protos(cJSON_GetObjectItemCaseSensitive(o, "protos"), r, ri, err,
				   errlen);
	return ret;
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int parse_version(const cJSON *v, uint64_t *out, char *err, size_t errlen)
{
	char *end;

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
	    v->valuedouble == (double)(uint64_t)v->valuedouble) {
		*out = (uint64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9') {
		errno = 0;
		*out = strtoull(v->valuestring, &end, 10);
		if (!errno && !*end)
			return 0;
	}
	return fail(err, errlen, "\"version\" must be an unsigned 64-bit integer");
}

int fl_from_json(const char *text, struct fl_ruleset *rs, char *err, size_t errlen)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *rules = root, *it, *k;
	size_t i = 0;
	int ret = 0;

	memset(rs, 0, sizeof(*rs));
	err[0] = '\0';
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		size_t line = 1;

		for (const char *c = text; at && c < at; c++)
			line += *c == '\n';
		return fail(err, errlen, "not valid JSON (line %zu)", line);
	}
	if (cJSON_IsObject(root)) {
		cJSON_ArrayForEach(k, root)
			if (strcmp(k->string, "rules") && strcmp(k->string, "version") &&
			    strcmp(k->string, "interface") && strcmp(k->string, "installed") &&
			    strcmp(k->string, "drops") && strcmp(k->string, "malformed") &&
			    strcmp(k->string, "flows") && strcmp(k->string, "flow_evictions")) {
				ret = fail(err, errlen, "unknown key \"%s\"", k->string);
				goto out;
			}
		rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
	}
	if (!cJSON_IsArray(rules)) {
		ret = fail(err, errlen, "expected an array of rules, or an object with \"rules\"");
		goto out;
	}
	if (rules != root && cJSON_GetObjectItemCaseSensitive(root, "version")) {
		ret = parse_version(cJSON_GetObjectItemCaseSensitive(root, "version"),
				    &rs->version, err, errlen);
		if (ret)
			goto out;
	} else {
		char *canon = cJSON_PrintUnformatted(rules);

		if (!canon) {
			ret = -ENOMEM;
			goto out;
		}
		rs->version = fnv1a64(canon);
		cJSON_free(canon);
	}
	rs->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(*rs->rules));
	if (!rs->rules) {
		ret = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, rules) {
		ret = parse_rule(it, &rs->rules[i], i, err, errlen);
		rs->n_rules = ++i;
		if (ret)
			goto out;
	}
	rs->installed = true;
out:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		fl_free(rs);
	cJSON_Delete(root);
	return ret;
}

static cJSON *prefix_json(const struct fl_prefix *p)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	if (!inet_ntop(p->family, p->addr, addr, sizeof(addr)))
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%u", addr, p->cidr);
	return cJSON_CreateString(buf);
}

static bool add(cJSON *arr, cJSON *item)
{
	if (!item)
		return false;
	cJSON_AddItemToArray(arr, item);
	return true;
}

static cJSON *rule_json(const struct fl_rule *r, bool counters)
{
	cJSON *o = cJSON_CreateObject(), *src, *dst;

	if (!o || !cJSON_AddStringToObject(o, "action",
					   r->action == MESHWG_FILTER_ACCEPT ? "accept" : "deny") ||
	    !(src = cJSON_AddArrayToObject(o, "src")) ||
	    !(dst = cJSON_AddArrayToObject(o, "dst")))
		goto err;
	for (size_t i = 0; i < r->n_src; i++)
		if (!add(src, prefix_json(&r->src[i])))
			goto err;
	for (size_t i = 0; i < r->n_dst; i++) {
		cJSON *d = cJSON_CreateObject();

		if (!add(dst, d) || !cJSON_AddItemToObject(d, "prefix",
							   prefix_json(&r->dst[i].prefix)) ||
		    !cJSON_GetObjectItem(d, "prefix") ||
		    !cJSON_AddNumberToObject(d, "first_port", r->dst[i].first_port) ||
		    !cJSON_AddNumberToObject(d, "last_port", r->dst[i].last_port))
			goto err;
	}
	if (r->any_proto) {
		if (!cJSON_AddStringToObject(o, "protos", "*"))
			goto err;
	} else {
		cJSON *p = cJSON_AddArrayToObject(o, "protos");

		if (!p)
			goto err;
		for (size_t i = 0; i < r->n_protos; i++)
			if (!add(p, cJSON_CreateNumber(r->protos[i])))
				goto err;
	}
	if (counters && (!cJSON_AddNumberToObject(o, "packets", (double)r->packets) ||
			 !cJSON_AddNumberToObject(o, "bytes", (double)r->bytes)))
		goto err;
	return o;
err:
	cJSON_Delete(o);
	return NULL;
}

char *fl_to_json(const struct fl_ruleset *rs, const char *ifname)
{
	cJSON *o = cJSON_CreateObject(), *rules;
	char version[24], *out = NULL;

	snprintf(version, sizeof(version), "%" PRIu64, rs->version);
	if (!o || (ifname && !cJSON_AddStringToObject(o, "interface", ifname)) ||
	    !cJSON_AddBoolToObject(o, "installed", rs->installed) ||
	    (rs->installed && !cJSON_AddStringToObject(o, "version", version)) ||
	    !cJSON_AddNumberToObject(o, "drops", (double)rs->drops) ||
	    !cJSON_AddNumberToObject(o, "malformed", (double)rs->malformed) ||
	    !cJSON_AddNumberToObject(o, "flows", rs->flows) ||
	    !cJSON_AddNumberToObject(o, "flow_evictions", (double)rs->flow_evictions) ||
	    !(rules = cJSON_AddArrayToObject(o, "rules")))
		goto out;
	for (size_t i = 0; i < rs->n_rules; i++)
		if (!add(rules, rule_json(&rs->rules[i], true)))
			goto out;
	out = cJSON_Print(o);
out:
	cJSON_Delete(o);
	return out;
}

/* Netlink. */

size_t fl_rules_size(const struct fl_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct fl_rule *r = &rs->rules[i];
		size_t chunks = (r->n_src + r->n_dst) / MESHWG_FILTER_CHUNK + 1;

		n += chunks * (4 + 8) + 8 + 4 + 256;
		n += r->n_src * nla_total_size(sizeof(struct meshwg_filter_prefix));
		n += r->n_dst * nla_total_size(sizeof(struct meshwg_filter_dst));
	}
	return n;
}

static void to_uapi(struct meshwg_filter_prefix *o, const struct fl_prefix *p)
{
	memset(o, 0, sizeof(*o));
	o->family = p->family;
	o->cidr = p->cidr;
	memcpy(o->addr, p->addr, sizeof(o->addr));
}

int fl_put_rules(struct nl_msg *msg, const struct fl_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct fl_rule *r = &rs->rules[i];
		size_t s = 0, d = 0;

		do {
			struct nlattr *nest = nla_nest_start(msg, MESHWG_FILTER_A_RULE);
			size_t put = 0;

			if (!nest)
				return -EMSGSIZE;
			if (s == 0 && d == 0) {
				if (nla_put_u8(msg, MESHWG_RULE_A_ACTION, r->action) ||
				    nla_put_u32(msg, MESHWG_RULE_A_FLAGS,
						r->any_proto ? MESHWG_RULE_F_ANY_PROTO : 0) ||
				    (r->n_protos && nla_put(msg, MESHWG_RULE_A_PROTOS,
							    (int)r->n_protos, r->protos)))
					return -EMSGSIZE;
			} else if (nla_put_u32(msg, MESHWG_RULE_A_FLAGS, MESHWG_RULE_F_CONTINUE)) {
				return -EMSGSIZE;
			}
			for (; s < r->n_src && put < MESHWG_FILTER_CHUNK; s++, put++) {
				struct meshwg_filter_prefix p;

				to_uapi(&p, &r->src[s]);
				if (nla_put(msg, MESHWG_RULE_A_SRC, sizeof(p), &p))
					return -EMSGSIZE;
			}
			for (; d < r->n_dst && put < MESHWG_FILTER_CHUNK; d++, put++) {
				struct meshwg_filter_dst o;

				to_uapi(&o.prefix, &r->dst[d].prefix);
				o.first_port = r->dst[d].first_port;
				o.last_port = r->dst[d].last_port;
				if (nla_put(msg, MESHWG_RULE_A_DST, sizeof(o), &o))
					return -EMSGSIZE;
			}
			nla_nest_end(msg, nest);
		} while (s < r->n_src || d < r->n_dst);
	}
	return 0;
}

/* Grows an array whose capacity is the next power of two of its count. */
static int grow(void **p, size_t n, size_t size)
{
	void *q;

	if (n && (n & (n - 1)))
		return 0;
	if (n > SIZE_MAX / 2 / size)
		return -ENOMEM;
	q = realloc(*p, (n ? 2 * n : 1) * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

static int from_uapi(struct fl_prefix *o, const struct nlattr *a)
{
	const struct meshwg_filter_prefix *p = nla_data(a);

	if (p->family != AF_INET && p->family != AF_INET6)
		return -EBADMSG;
	o->family = p->family;
	o->cidr = p->cidr;
	memcpy(o->addr, p->addr, sizeof(o->addr));
	return 0;
}

static int parse_rule_attr(struct fl_ruleset *rs, const struct nlattr *nest)
{
	const struct nlattr *a;
	struct fl_rule *r;
	uint32_t flags = 0;
	int rem, ret;

	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) == MESHWG_RULE_A_FLAGS && nla_len(a) == 4)
			flags = nla_get_u32((struct nlattr *)a);
	if (flags & MESHWG_RULE_F_CONTINUE) {
		if (!rs->n_rules)
			return -EBADMSG;
	} else {
		ret = grow((void **)&rs->rules, rs->n_rules, sizeof(*rs->rules));
		if (ret)
			return ret;
		memset(&rs->rules[rs->n_rules++], 0, sizeof(*rs->rules));
	}
	r = &rs->rules[rs->n_rules - 1];
	r->any_proto |= flags & MESHWG_RULE_F_ANY_PROTO;
	nla_for_each_nested(a, nest, rem) {
		switch (nla_type(a)) {
		case MESHWG_RULE_A_ACTION:
			if (nla_len(a) < 1)
				return -EBADMSG;
			r->action = nla_get_u8((struct nlattr *)a);
			break;
		case MESHWG_RULE_A_PROTOS:
			if (nla_len(a) > 256)
				return -EBADMSG;
			memcpy(r->protos, nla_data(a), (size_t)nla_len(a));
			r->n_protos = (size_t)nla_len(a);
			break;
		case MESHWG_RULE_A_PACKETS:
			if (nla_len(a) != 8)
				return -EBADMSG;
			r->packets = nla_get_u64((struct nlattr *)a);
			break;
		case MESHWG_RULE_A_BYTES:
			if (nla_len(a) != 8)
				return -EBADMSG;
			r->bytes = nla_get_u64((struct nlattr *)a);
			break;
		case MESHWG_RULE_A_SRC:
			if (nla_len(a) != sizeof(struct meshwg_filter_prefix))
				return -EBADMSG;
			ret = grow((void **)&r->src, r->n_src, sizeof(*r->src));
			if (ret)
				return ret;
			ret = from_uapi(&r->src[r->n_src], a);
			if (ret)
				return ret;
			r->n_src++;
			break;
		case MESHWG_RULE_A_DST: {
			const struct meshwg_filter_dst *d = nla_data(a);

			if (nla_len(a) != sizeof(struct meshwg_filter_dst))
				return -EBADMSG;
			ret = grow((void **)&r->dst, r->n_dst, sizeof(*r->dst));
			if (ret)
				return ret;
			ret = from_uapi(&r->dst[r->n_dst].prefix, a);
			if (ret)
				return ret;
			r->dst[r->n_dst].first_port = d->first_port;
			r->dst[r->n_dst].last_port = d->last_port;
			r->n_dst++;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

int fl_parse_msg(struct fl_ruleset *rs, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g;
	const struct nlattr *a;
	int rem, ret;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	g = nlmsg_data(nlh);
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), rem) {
		switch (nla_type(a)) {
		case MESHWG_FILTER_A_INSTALLED:
			if (nla_len(a) < 1)
				return -EBADMSG;
			rs->installed = nla_get_u8((struct nlattr *)a);
			break;
		case MESHWG_FILTER_A_VERSION:
		case MESHWG_FILTER_A_DROPS:
		case MESHWG_FILTER_A_MALFORMED: {
			uint64_t v;

			if (nla_len(a) != 8)
				return -EBADMSG;
			v = nla_get_u64((struct nlattr *)a);
			if (nla_type(a) == MESHWG_FILTER_A_VERSION)
				rs->version = v;
			else if (nla_type(a) == MESHWG_FILTER_A_DROPS)
				rs->drops = v;
			else
				rs->malformed = v;
			break;
		}
		case MESHWG_FILTER_A_FLOWS:
			if (nla_len(a) != 4)
				return -EBADMSG;
			rs->flows = nla_get_u32((struct nlattr *)a);
			break;
		case MESHWG_FILTER_A_FLOW_EVICTIONS:
			if (nla_len(a) != 8)
				return -EBADMSG;
			rs->flow_evictions = nla_get_u64((struct nlattr *)a);
			break;
		case MESHWG_FILTER_A_RULE:
			ret = parse_rule_attr(rs, a);
			if (ret)
				return ret;
			break;
		default:
			break;
		}
	}
	return 0;
}
