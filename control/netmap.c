// SPDX-License-Identifier: MIT
#include "netmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mwg_node_is_exit(const struct mwg_node *n)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, n->routes_approved)
		if (cJSON_IsString(r) && (!strcmp(r->valuestring, "0.0.0.0/0") ||
					  !strcmp(r->valuestring, "::/0")))
			return true;
	return false;
}

bool mwg_node_eligible(const struct mwg_node *n, int64_t now)
{
	return !n->pending && n->ipv4[0] && !mwg_node_expired(n, now);
}

static cJSON *addresses(const struct mwg_node *n)
{
	cJSON *a = cJSON_CreateArray();
	char buf[64];

	if (!a)
		return NULL;
	if (n->ipv4[0]) {
		snprintf(buf, sizeof(buf), "%s/32", n->ipv4);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
	if (n->ipv6[0]) {
		snprintf(buf, sizeof(buf), "%s/128", n->ipv6);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
	return a;
}

static void add_common(cJSON *o, const struct mwg_node *n, const struct mwg_config *c)
{
	char dns[256], t[32];

	cJSON_AddNumberToObject(o, "id", (double)n->id);
	cJSON_AddStringToObject(o, "node_key", n->node_key);
	cJSON_AddStringToObject(o, "disco_key", n->disco_key);
	cJSON_AddItemToObject(o, "addresses", addresses(n));
	snprintf(dns, sizeof(dns), "%s.%s", n->given_name, c->base_domain);
	cJSON_AddStringToObject(o, "dns_name", n->pending ? "" : dns);
	cJSON_AddStringToObject(o, "hostname", n->hostname);
	cJSON_AddStringToObject(o, "user", n->user);
	cJSON_AddItemToObject(o, "tags", cJSON_Duplicate(n->tags, 1));
	if (n->expiry) {
		mwg_time_format(t, sizeof(t), n->expiry);
		cJSON_AddStringToObject(o, "key_expiry", t);
	} else {
		cJSON_AddNullToObject(o, "key_expiry");
	}
}

cJSON *mwg_netmap_peer(const struct mwg_node *n, const struct mwg_config *c)
{
	cJSON *o = cJSON_CreateObject(), *allowed;
	const cJSON *r;
	char t[32];

	if (!o)
		return NULL;
	add_common(o, n, c);
	allowed = addresses(n);
	cJSON_ArrayForEach(r, n->routes_approved)
		cJSON_AddItemToArray(allowed, cJSON_CreateString(r->valuestring));
	cJSON_AddItemToObject(o, "allowed_ips", allowed);
	cJSON_AddItemToObject(o, "endpoints", cJSON_Duplicate(n->endpoints, 1));
	cJSON_AddNumberToObject(o, "home_derp", n->home_derp);
	cJSON_AddBoolToObject(o, "online", n->online);
	mwg_time_format(t, sizeof(t), n->last_seen);
	cJSON_AddStringToObject(o, "last_seen", t);
	cJSON_AddBoolToObject(o, "exit_node", mwg_node_is_exit(n));
	cJSON_AddItemToObject(o, "routes", cJSON_Duplicate(n->routes_approved, 1));
	return o;
}

cJSON *mwg_netmap_self(const struct mwg_node *n, const struct mwg_config *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	add_common(o, n, c);
	cJSON_AddStringToObject(o, "machine_key", n->machine_key);
	cJSON_AddItemToObject(o, "routes_advertised", cJSON_Duplicate(n->routes_advertised, 1));
	cJSON_AddItemToObject(o, "routes_approved", cJSON_Duplicate(n->routes_approved, 1));
	cJSON_AddBoolToObject(o, "ephemeral", n->ephemeral);
	return o;
}

static void add_record(cJSON *records, const struct mwg_node *n, const struct mwg_config *c)
{
	cJSON *r = cJSON_CreateObject(), *a;
	char dns[256];

	if (!r)
		return;
	snprintf(dns, sizeof(dns), "%s.%s", n->given_name, c->base_domain);
	cJSON_AddStringToObject(r, "name", dns);
	a = cJSON_AddArrayToObject(r, "addresses");
	if (n->ipv4[0])
		cJSON_AddItemToArray(a, cJSON_CreateString(n->ipv4));
	if (n->ipv6[0])
		cJSON_AddItemToArray(a, cJSON_CreateString(n->ipv6));
	cJSON_AddItemToArray(records, r);
}

cJSON *mwg_netmap_dns(const struct mwg_config *c, const struct mwg_node *self,
		      const struct mwg_node *const *peers, size_t npeers)
{
	cJSON *o = cJSON_CreateObject(), *search, *records;
	const cJSON *it;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "magic_dns", c->magic_dns);
	cJSON_AddStringToObject(o, "domain", c->base_domain);
	cJSON_AddStringToObject(o, "resolver", "100.100.100.100");
	search = cJSON_AddArrayToObject(o, "search_domains");
	if (c->magic_dns)
		cJSON_AddItemToArray(search, cJSON_CreateString(c->base_domain));
	cJSON_ArrayForEach(it, c->search_domains)
		cJSON_AddItemToArray(search, cJSON_CreateString(it->valuestring));
	cJSON_AddItemToObject(o, "nameservers", cJSON_Duplicate(c->nameservers, 1));
	records = cJSON_AddArrayToObject(o, "records");
	if (c->magic_dns) {
		if (self)
			add_record(records, self, c);
		for (i = 0; i < npeers; i++)
			add_record(records, peers[i], c);
	}
	return o;
}

int mwg_ids_diff(const uint64_t *a, size_t na, const uint64_t *b, size_t nb,
		 uint64_t **added, size_t *nadded, uint64_t **removed, size_t *nremoved)
{
	size_t i = 0, j = 0;

	*added = *removed = NULL;
	*nadded = *nremoved = 0;
	if (nb && !(*added = malloc(nb * sizeof(uint64_t))))
		return -1;
	if (na && !(*removed = malloc(na * sizeof(uint64_t)))) {
		free(*added);
		*added = NULL;
		return -1;
	}
	while (i < na || j < nb) {
		if (j >= nb || (i < na && a[i] < b[j])) {
			(*removed)[(*nremoved)++] = a[i++];
		} else if (i >= na || b[j] < a[i]) {
			(*added)[(*nadded)++] = b[j++];
		} else {
			i++;
			j++;
		}
	}
	return 0;
}

void mwg_delta_init(struct mwg_delta *d)
{
	memset(d, 0, sizeof(*d));
}

void mwg_delta_free(struct mwg_delta *d)
{
	mwg_buf_free(&d->added);
	mwg_buf_free(&d->changed);
	mwg_buf_free(&d->removed);
	free(d->self);
	free(d->filter);
	memset(d, 0, sizeof(*d));
}

static int list_add(struct mwg_buf *b, const char *s)
{
	if (b->len && mwg_buf_append(b, ",", 1))
		return -1;
	return mwg_buf_append(b, s, strlen(s));
}

int mwg_delta_add_peer(struct mwg_delta *d, const char *peer_json)
{
	return list_add(&d->added, peer_json);
}

int mwg_delta_change_peer(struct mwg_delta *d, const char *peer_json)
{
	return list_add(&d->changed, peer_json);
}

int mwg_delta_remove_peer(struct mwg_delta *d, uint64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	return list_add(&d->removed, buf);
}

bool mwg_delta_empty(const struct mwg_delta *d)
{
	return !d->added.len && !d->changed.len && !d->removed.len && !d->self && !d->filter;
}

char *mwg_delta_render(const struct mwg_delta *d, int64_t seq)
{
	struct mwg_buf b = { 0 };
	int r = 0;

	if (mwg_delta_empty(d))
		return NULL;
	r |= mwg_buf_printf(&b, "{\"type\":\"delta\",\"seq\":%lld", (long long)seq);
	if (d->self)
		r |= mwg_buf_printf(&b, ",\"self\":%s", d->self);
	if (d->added.len)
		r |= mwg_buf_printf(&b, ",\"peers_added\":[%s]", d->added.data);
	if (d->changed.len)
		r |= mwg_buf_printf(&b, ",\"peers_changed\":[%s]", d->changed.data);
	if (d->removed.len)
		r |= mwg_buf_printf(&b, ",\"peers_removed\":[%s]", d->removed.data);
	if (d->filter)
		r |= mwg_buf_printf(&b, ",\"packet_filter\":%s", d->filter);
	r |= mwg_buf_append(&b, "}", 1);
	if (r) {
		mwg_buf_free(&b);
		return NULL;
	}
	return b.data;
}
