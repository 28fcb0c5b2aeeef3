// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Test doubles of kern.h and api.h (fakes.h). */

#include "fakes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/util.h"

struct fake_kern_state fk;

struct kern {
	struct kern_config cfg;
};

int kern_open(struct kern **k, const struct kern_config *cfg, struct loop *l, char *err,
	      size_t errlen)
{
	(void)l;
	if (fk.no_module) {
		snprintf(err, errlen, "meshwg kernel module not loaded (run: modprobe meshwg)");
		return -ENOENT;
	}
	*k = calloc(1, sizeof(**k));
	if (!*k)
		return -ENOMEM;
	(*k)->cfg = *cfg;
	fk.open = true;
	return 0;
}

void kern_close(struct kern *k)
{
	kern_apply_cancel(k);
	fk.open = false;
	free(k);
}

int kern_reconfigure(struct kern *k, const struct kern_config *cfg)
{
	k->cfg = *cfg;
	return 0;
}

int kern_up(struct kern *k, const uint8_t private_key[32], char *err, size_t errlen)
{
	(void)k;
	(void)err;
	(void)errlen;
	memcpy(fk.private_key, private_key, 32);
	fk.up = true;
	fk.ups++;
	return 0;
}

int kern_set_private_key(struct kern *k, const uint8_t private_key[32])
{
	(void)k;
	memcpy(fk.private_key, private_key, 32);
	fk.key_sets++;
	return 0;
}

uint16_t kern_listen_port(struct kern *k)
{
	return k->cfg.listen_port ? k->cfg.listen_port : 51820;
}

int kern_ifindex(struct kern *k)
{
	(void)k;
	return 7;
}

/* The netmap is taken as a whole (a delta as the netmap after it, which is
 * what the real one falls back to): fk.applied is that netmap either way,
 * after fk.apply_steps calls of kern_apply_continue (0: at once). */
int kern_apply_start(struct kern *k, const cJSON *netmap, const cJSON *delta, size_t max_peers,
		     struct kern_apply_stats *st, char *err, size_t errlen)
{
	(void)k;
	(void)delta;
	(void)max_peers;
	kern_apply_cancel(k);
	memset(st, 0, sizeof(*st));
	if (fk.apply_fail) {
		snprintf(err, errlen, "Invalid argument (the fake kernel refuses)");
		fk.refusals++;
		return fk.apply_fail;
	}
	fk.pending = cJSON_Duplicate(netmap, 1);
	fk.steps_left = fk.apply_steps;
	return kern_apply_continue(k, max_peers, st, err, errlen);
}

int kern_apply_continue(struct kern *k, size_t max_peers, struct kern_apply_stats *st, char *err,
			size_t errlen)
{
	(void)k;
	(void)max_peers;
	(void)err;
	(void)errlen;
	memset(st, 0, sizeof(*st));
	if (!fk.pending)
		return -ENOENT;
	if (fk.steps_left) {
		fk.steps_left--;
		fk.steps++;
		if (fk.on_step)
			fk.on_step();
		return 1;
	}
	cJSON_Delete(fk.applied);
	fk.applied = fk.pending;
	fk.pending = NULL;
	fk.applies++;
	return 0;
}

void kern_apply_cancel(struct kern *k)
{
	(void)k;
	cJSON_Delete(fk.pending);
	fk.pending = NULL;
}

int kern_down(struct kern *k)
{
	kern_apply_cancel(k);
	(void)k;
	fk.up = false;
	fk.downs++;
	return 0;
}

void kern_set_event_cb(struct kern *k, kern_event_cb cb, void *arg)
{
	(void)k;
	fk.event_cb = cb;
	fk.event_arg = arg;
}

/* Every applied peer, with made-up counters: rx_bytes = 1000 * id,
 * endpoint 192.0.2.ID:41641, last_handshake fk.handshake. */
cJSON *kern_status(struct kern *k)
{
	cJSON *j = cJSON_CreateObject(), *peers;
	const cJSON *p;

	fk.status_calls++;
	cJSON_AddStringToObject(j, "interface", k->cfg.ifname);
	peers = cJSON_AddObjectToObject(j, "peers");
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(fk.applied, "peers")) {
		uint8_t key[32];
		char *b64, ep[64];
		double id = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id"));
		cJSON *o;

		if (mwg_key_parse(cJSON_GetStringValue(cJSON_GetObjectItem(p, "node_key")),
				  "nodekey:", key) || !(b64 = mwg_b64_encode(key, 32)))
			continue;
		o = cJSON_AddObjectToObject(peers, b64);
		snprintf(ep, sizeof(ep), "192.0.2.%.0f:41641", id);
		cJSON_AddStringToObject(o, "endpoint", ep);
		cJSON_AddNumberToObject(o, "last_handshake", (double)fk.handshake);
		cJSON_AddNumberToObject(o, "rx_bytes", 1000 * id);
		cJSON_AddNumberToObject(o, "tx_bytes", 0);
		cJSON_AddNumberToObject(o, "acl_drops", 0);
		free(b64);
	}
	cJSON_AddNullToObject(j, "filter");
	return j;
}

/* ---- api ---- */

struct api {
	api_handler h;
	void *arg;
};

static struct api *the_api;
void (*fake_api_on_final)(void);

int api_open(struct api **a, struct loop *l, const char *path, gid_t gid, api_handler h,
	     void *arg, char *err, size_t errlen)
{
	(void)l;
	(void)path;
	(void)gid;
	(void)err;
	(void)errlen;
	*a = calloc(1, sizeof(**a));
	if (!*a)
		return -1;
	(*a)->h = h;
	(*a)->arg = arg;
	the_api = *a;
	return 0;
}

void api_set_gid(struct api *a, gid_t gid)
{
	(void)a;
	(void)gid;
}

struct api_cred fake_api_cred;

const struct api_cred *api_req_cred(const struct api_req *r)
{
	return &r->cred;
}

void api_close(struct api *a)
{
	if (the_api == a)
		the_api = NULL;
	free(a);
}

void api_progress(struct api_req *r, const cJSON *obj)
{
	if (!r->progress)
		r->progress = cJSON_CreateArray();
	cJSON_AddItemToArray(r->progress, cJSON_Duplicate(obj, 1));
}

void api_reply(struct api_req *r, cJSON *obj)
{
	r->final = obj;
	r->done = true;
	if (fake_api_on_final)
		fake_api_on_final();
}

void fake_api_request(struct api_req *r, const char *json)
{
	cJSON *j = cJSON_Parse(json);

	memset(r, 0, sizeof(*r));
	r->cred = fake_api_cred;
	the_api->h(r, j, the_api->arg);
	cJSON_Delete(j);
}

void fake_api_req_free(struct api_req *r)
{
	cJSON_Delete(r->progress);
	cJSON_Delete(r->final);
	memset(r, 0, sizeof(*r));
}
