// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * meshwgd's kernel side: opening, bringing the interface up, applying a
 * netmap by difference, the filter, status. See kern.h; the pure peer logic
 * is in kern_peers.c, rtnetlink in kern_link.c, events in kern_events.c.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "key.h"
#include "filter.h"
#include "filterfmt.h"
#include "kern_int.h"
#include "setmsg.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "what: strerror[: extack]" for a failed meshwg family request. */
static int ipc_err(struct kern *k, int ret, const char *what, char *err, size_t errlen)
{
	if (k->ipc.extack[0])
		set_err(err, errlen, "%s: %s: %s", what, strerror(-ret), k->ipc.extack);
	else
		set_err(err, errlen, "%s: %s", what, strerror(-ret));
	return ret;
}

static void config_defaults(struct kern_config *cfg)
{
	if (!cfg->ifname[0])
		snprintf(cfg->ifname, sizeof(cfg->ifname), "meshwg0");
}

int kern_open(struct kern **out, const struct kern_config *cfg, struct loop *l, char *err,
	      size_t errlen)
{
	struct kern *k;
	int ret;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	k->cfg = *cfg;
	k->cfg.ifname[IFNAMSIZ - 1] = '\0';
	config_defaults(&k->cfg);
	k->loop = l;
	ret = kpeers_init(&k->peers, 0);
	if (ret) {
		set_err(err, errlen, "out of memory");
		free(k);
		return ret;
	}
	ret = ipc_open_quiet(&k->ipc, MESHWG_GENL_NAME, err, errlen);
	if (ret == -EPROTONOSUPPORT) {
		set_err(err, errlen, "meshwg kernel module not loaded (run: modprobe meshwg)");
		ret = -ENOENT;
		goto fail;
	} else if (ret) {
		goto fail;
	}
	ret = klink_open(k);
	if (ret) {
		set_err(err, errlen, "cannot open rtnetlink: %s", strerror(-ret));
		goto fail;
	}
	ret = kevents_open(k, err, errlen);
	if (ret)
		goto fail;
	*out = k;
	return 0;
fail:
	kern_close(k);
	return ret;
}

void kern_close(struct kern *k)
{
	if (!k)
		return;
	kern_apply_cancel(k);
	kevents_close(k);
	klink_close(k);
	ipc_close(&k->ipc);
	kpeers_free(&k->peers);
	kids_free(&k->ids);
	free(k->filter_json);
	free(k->addrs);
	free(k);
}

void kern_set_event_cb(struct kern *k, kern_event_cb cb, void *arg)
{
	k->cb = cb;
	k->cb_arg = arg;
}

int kern_ifindex(struct kern *k)
{
	return k->ifindex;
}

uint16_t kern_listen_port(struct kern *k)
{
	return k->listen_port;
}

/* Re-reads the device: the peers it has become our bookkeeping; the bound port. */
static int resync(struct kern *k, char *err, size_t errlen)
{
	struct mw_device *dev = NULL;
	struct kpeers have;
	int ret;

	ret = ipc_get_device(&k->ipc, k->cfg.ifname, &dev);
	if (ret)
		return ipc_err(k, ret, "cannot read the interface", err, errlen);
	ret = kpeers_from_device(&have, dev);
	if (!ret) {
		kpeers_move(&k->peers, &have);
		k->listen_port = dev->listen_port;
	} else {
		set_err(err, errlen, "out of memory");
	}
	free_device(dev);
	return ret;
}

/* The device attributes of the configuration (and the key, if given). */
static int set_device_attrs(struct kern *k, const uint8_t *private_key, char *err, size_t errlen)
{
	struct mw_device dev;
	int ret;

	memset(&dev, 0, sizeof(dev));
	if (private_key) {
		dev.flags |= DEV_HAS_PRIVATE_KEY;
		memcpy(dev.private_key, private_key, KEY_LEN);
	}
	/* Port 0 means "the kernel picks": never sent, so an adopted interface keeps its port. */
	if (k->cfg.listen_port) {
		dev.flags |= DEV_HAS_LISTEN_PORT;
		dev.listen_port = k->cfg.listen_port;
	}
	dev.flags |= DEV_HAS_FWMARK;
	dev.fwmark = k->cfg.fwmark;
	ret = ipc_set_device(&k->ipc, k->cfg.ifname, &dev);
	memset(dev.private_key, 0, sizeof(dev.private_key));
	if (ret)
		return ipc_err(k, ret, "cannot configure the interface", err, errlen);
	return 0;
}

int kern_up(struct kern *k, const uint8_t private_key[32], char *err, size_t errlen)
{
	int ret, ifindex;

	kern_apply_cancel(k);
	kids_free(&k->ids);	/* the first apply after up is a full one */
	ret = klink_find(k, &ifindex, err, errlen);
	if (ret < 0)
		return ret;
	if (!ret) {
		ret = klink_create(k, err, errlen);
		if (ret)
			return ret;
		ret = klink_find(k, &ifindex, err, errlen);
		if (ret <= 0) {
			if (!ret)
				set_err(err, errlen, "interface %s vanished after creation", k->cfg.ifname);
			return ret ? ret : -ENODEV;
		}
		log_info("created %s (ifindex %d)", k->cfg.ifname, ifindex);
	} else if (k->ifindex != ifindex) {
		log_info("adopting existing %s (ifindex %d)", k->cfg.ifname, ifindex);
	}
	if (k->ifindex != ifindex) {
		/* another link than the one we knew: nothing of ours is known there */
		free(k->filter_json);
		k->filter_json = NULL;
		k->filter_known = false;
	}
	k->ifindex = ifindex;
	ret = set_device_attrs(k, private_key, err, errlen);
	if (ret)
		return ret;
	ret = klink_set_up(k, err, errlen);
	if (ret)
		return ret;
	/* the peers an adopted link has, so the first apply is a difference; the bound port */
	return resync(k, err, errlen);
}

int kern_set_private_key(struct kern *k, const uint8_t private_key[32])
{
	struct mw_device dev;
	int ret;

	if (!k->ifindex)
		return -ENODEV;
	memset(&dev, 0, sizeof(dev));
	dev.flags = DEV_HAS_PRIVATE_KEY;
	memcpy(dev.private_key, private_key, KEY_LEN);
	ret = ipc_set_device(&k->ipc, k->cfg.ifname, &dev);
	memset(dev.private_key, 0, sizeof(dev.private_key));
	if (ret) {
		char msg[600];

		ipc_err(k, ret, "cannot set the private key", msg, sizeof(msg));
		log_error("%s", msg);
	}
	return ret;
}

int kern_reconfigure(struct kern *k, const struct kern_config *cfg)
{
	struct kern_config c = *cfg;
	char err[600];
	int ret;

	c.ifname[IFNAMSIZ - 1] = '\0';
	config_defaults(&c);
	if (k->ifindex && strcmp(c.ifname, k->cfg.ifname)) {
		log_error("cannot rename %s to %s while it is up", k->cfg.ifname, c.ifname);
		return -EBUSY;
	}
	k->cfg = c;
	kids_free(&k->ids);	/* a changed accept_routes changes every peer */
	/* accept_routes and the tailnet prefixes take effect at the next kern_apply */
	if (!k->ifindex)
		return 0;
	ret = set_device_attrs(k, NULL, err, sizeof(err));
	if (!ret) {
		struct mw_device *dev = NULL;

		ret = ipc_get_device(&k->ipc, k->cfg.ifname, &dev);
		if (!ret)
			k->listen_port = dev->listen_port;
		free_device(dev);
		if (ret)
			ipc_err(k, ret, "cannot read the interface", err, sizeof(err));
	}
	if (ret)
		log_error("%s", err);
	return ret;
}

int kern_down(struct kern *k)
{
	int ret;

	kern_apply_cancel(k);
	ret = klink_delete(k);

	if (ret) {
		log_error("cannot delete %s: %s%s%s", k->cfg.ifname, strerror(-ret),
			 k->rt_extack[0] ? ": " : "", k->rt_extack);
		return ret;
	}
	k->ifindex = 0;
	k->listen_port = 0;
	kpeers_free(&k->peers);
	kpeers_init(&k->peers, 0);
	kids_free(&k->ids);
	free(k->filter_json);
	k->filter_json = NULL;
	k->filter_known = false;
	free(k->addrs);
	k->addrs = NULL;
	k->n_addrs = 0;
	return 0;
}

/* ---- apply ---- */

/* SET_DEVICE messages ipc_set_device() will send for dev (the same plan). */
static unsigned count_messages(const struct mw_device *dev, const char *ifname)
{
	struct setmsg_cursor cur;
	struct setmsg_chunk chunk;
	unsigned n = 0;

	setmsg_start(&cur, dev);
	while (!setmsg_done(&cur)) {
		if (setmsg_plan(dev, ifname, &cur, SETMSG_LIMIT, &chunk))
			return n + 1;
		n++;
		cur = chunk.to;
	}
	return n;
}

static int send_peers(struct kern *k, const struct mw_device *ops, unsigned *messages)
{
	if (kdiff_empty(ops))
		return 0;
	*messages += count_messages(ops, k->cfg.ifname);
	return ipc_set_device(&k->ipc, k->cfg.ifname, ops);
}

/* The netmap's packet_filter, parsed; *json NULL when there is none (null or absent). */
static int parse_filter(const cJSON *netmap, char **json, struct fl_ruleset *rs, char *err,
			size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(netmap, "packet_filter");
	char msg[400];
	int ret;

	*json = NULL;
	memset(rs, 0, sizeof(*rs));
	if (!f || cJSON_IsNull(f))
		return 0;
	*json = cJSON_PrintUnformatted(f);
	if (!*json) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = fl_from_json(*json, rs, msg, sizeof(msg));
	if (ret) {
		set_err(err, errlen, "netmap packet_filter: %s", msg);
		free(*json);
		*json = NULL;
	}
	return ret;
}

/* Adds x to p unless it is there already. */
static int prefixes_add(struct kprefix_list *p, const struct kprefix *x)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!kprefix_cmp(&p->v[i], x))
			return 0;
	return kprefix_list_add(p, x);
}

/* self.addresses, as given (host bits kept). */
static int parse_addresses(const cJSON *netmap, struct kprefix_list *out, char *err, size_t errlen)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(netmap, "self");
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(self, "addresses"), *a;
	size_t i = 0;

	if (self && !cJSON_IsNull(self) && !cJSON_IsObject(self)) {
		set_err(err, errlen, "netmap self is not an object");
		return -EINVAL;
	}
	if (addrs && !cJSON_IsNull(addrs) && !cJSON_IsArray(addrs)) {
		set_err(err, errlen, "netmap self.addresses is not an array");
		return -EINVAL;
	}
	cJSON_ArrayForEach(a, addrs) {
		struct kprefix p;

		if (!cJSON_IsString(a) || kaddr_parse(&p, a->valuestring)) {
			set_err(err, errlen, "netmap self.addresses[%zu] is not an address/prefix", i);
			return -EINVAL;
		}
		if (prefixes_add(out, &p)) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		i++;
	}
	return 0;
}

/* The tailnet prefixes, and with accept_routes every peer's approved subnet routes. */
static int parse_routes(const struct kern *k, const cJSON *netmap, struct kprefix_list *out,
			char *err, size_t errlen)
{
	const char *tailnet[2] = { k->cfg.tailnet_v4, k->cfg.tailnet_v6 };
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(netmap, "peers"), *jp, *r;
	struct kprefix p;
	size_t i, j;

	for (i = 0; i < 2; i++) {
		if (!tailnet[i][0])
			continue;
		if (kprefix_parse(&p, tailnet[i])) {
			set_err(err, errlen, "tailnet prefix %s is not a prefix", tailnet[i]);
			return -EINVAL;
		}
		if (prefixes_add(out, &p))
			goto nomem;
	}
	if (!k->cfg.accept_routes)
		return 0;
	i = 0;
	cJSON_ArrayForEach(jp, peers) {
		const cJSON *routes = cJSON_GetObjectItemCaseSensitive(jp, "routes");

		if (routes && !cJSON_IsNull(routes) && !cJSON_IsArray(routes)) {
			set_err(err, errlen, "netmap peers[%zu].routes is not an array", i);
			return -EINVAL;
		}
		j = 0;
		cJSON_ArrayForEach(r, routes) {
			if (!cJSON_IsString(r) || kprefix_parse(&p, r->valuestring)) {
				set_err(err, errlen, "netmap peers[%zu].routes[%zu] is not a prefix", i, j);
				return -EINVAL;
			}
			j++;
			/* Exit-node routes (/0) are used only when the node is told to use
			 * that exit node, never merely because they are approved. */
			if (!p.cidr)
				continue;
			if (prefixes_add(out, &p))
				goto nomem;
		}
		i++;
	}
	return 0;
nomem:
	set_err(err, errlen, "out of memory");
	return -ENOMEM;
}

static int install_filter(struct kern *k, const char *json, const struct fl_ruleset *rs,
			  char *err, size_t errlen)
{
	int ret;

	if (json)
		ret = filter_set(&k->ipc, k->cfg.ifname, rs);
	else
		ret = filter_clear(&k->ipc, k->cfg.ifname);
	if (ret)
		return ipc_err(k, ret, json ? "the kernel refused the packet filter" :
				"cannot clear the packet filter", err, errlen);
	free(k->filter_json);
	k->filter_json = json ? strdup(json) : NULL;
	k->filter_known = !json || k->filter_json;
	return 0;
}

/*
 * After kern_up, what filter the interface has is unknown: if it is the
 * netmap's (same version: the hash of the rules when the netmap gives none)
 * or there is none and none is wanted, it is not installed again, so a
 * restarted meshwgd keeps the rules' counters.
 */
static void adopt_filter(struct kern *k, const char *json, const struct fl_ruleset *want)
{
	struct fl_ruleset have;

	if (filter_get(&k->ipc, k->cfg.ifname, &have))
		return;
	if (!have.installed && !json) {
		k->filter_known = true;
	} else if (have.installed && json && have.version == want->version &&
		   have.n_rules == want->n_rules) {
		free(k->filter_json);
		k->filter_json = strdup(json);
		k->filter_known = !!k->filter_json;
	}
	fl_free(&have);
}

/* What one apply makes the interface have, parsed before anything is sent. */
struct plan {
	struct kpeers *want;		/* the desired peers: all, or those dl names */
	const struct kdelta *dl;	/* NULL: want is the whole set */
	bool filter;			/* fjson/rs are the wanted filter; else it stays */
	char *fjson;
	struct fl_ruleset rs;
	bool sync_addrs, sync_routes;
	struct kprefix_list addrs, routes;
};

static void plan_free(struct plan *p)
{
	fl_free(&p->rs);
	free(p->fjson);
	free(p->addrs.v);
	free(p->routes.v);
}

/*
 * An apply in progress (kern.h, kern_apply_start): everything parsed before
 * anything is sent, then sent in steps of at most max_peers peers, the
 * bookkeeping (k->peers) updated after each, so that the caller's loop may
 * serve other work between steps.
 *
 * Order, so that no packet ever passes under a half-applied state:
 *
 * 1. JOB_PRE: remove the peers that go, and cut changed peers down to the
 *    allowed IPs they keep. This only narrows what may arrive, so it is
 *    safe under the old filter and under the new one alike; and it must
 *    come before a relaxed (or cleared) filter, or a peer that lost an
 *    address would briefly be allowed to send from it under rules meant
 *    for the address's new owner.
 * 2. JOB_FILTER: install the new filter (as a whole: the kernel swaps
 *    rulesets atomically; a refused one leaves the old in force, and we
 *    stop here without adding anything).
 * 3. JOB_POST: add new peers and widen changed ones. New peers and new
 *    addresses only come into existence under the new filter, which is the
 *    one written for them; under the old filter, a new peer could inherit
 *    rules meant for whoever had its address before.
 * 4. JOB_ROUTES: routes last: a route to a peer that is not there yet
 *    would only blackhole.
 *
 * With an unchanged filter, 1 and 3 are one phase (removals first). A
 * delta follows the same order over the peers it names. Addresses come
 * first of all (at the start): they are local and widen nothing a peer can
 * send. If the kernel refuses a step, the interface may hold part of it: the
 * kernel's state is read back, the phase's difference computed again and
 * sent once more; then the apply fails with the kernel's reason, our
 * bookkeeping matching the kernel.
 */
enum job_phase { JOB_PRE, JOB_FILTER, JOB_POST, JOB_ROUTES };

struct kjob {
	struct plan p;
	struct kpeers want;		/* a full apply's desired peers (p.want) */
	struct kdelta dl;		/* a delta's (p.want = &dl.want, p.dl = &dl) */
	bool is_delta;
	enum job_phase phase;
	bool diffed;			/* d holds the current phase's difference */
	struct kdiff d;
	struct mw_peer *next;		/* the next operation of d to send */
	int attempt;			/* refusals in this phase */
	char first[600];		/* the first refusal's reason */
	char link_err[600];
	int link_ret;
	struct kern_apply_stats st;
	uint64_t t0;
};

static void job_free(struct kjob *j)
{
	if (j->diffed)
		kdiff_free(&j->d);
	if (j->is_delta)
		kdelta_free(&j->dl);
	else
		kpeers_free(&j->want);
	plan_free(&j->p);
	free(j);
}

void kern_apply_cancel(struct kern *k)
{
	if (!k->job)
		return;
	job_free(k->job);
	k->job = NULL;
	/* the interface is not the netmap's: the next delta goes full */
	kids_free(&k->ids);
}

/* Addresses, then what changes (for the stats and the phases to come). */
static int job_begin(struct kern *k, struct kjob *j, char *err, size_t errlen)
{
	struct plan *p = &j->p;
	struct kdiff d;
	bool filter_changed = false;
	int ret;

	if (p->sync_addrs)
		j->link_ret = klink_sync_addrs(k, p->addrs.v, p->addrs.n, j->link_err,
					       sizeof(j->link_err));
	if (p->filter) {
		if (!k->filter_known)
			adopt_filter(k, p->fjson, &p->rs);
		filter_changed = !k->filter_known ||
				 (p->fjson == NULL) != (k->filter_json == NULL) ||
				 (p->fjson && strcmp(p->fjson, k->filter_json));
	}
	j->st.filter_changed = filter_changed;
	if (p->dl)
		ret = kpeers_diff_some(&k->peers, p->want, p->dl->gone, p->dl->n_gone,
				       filter_changed, &d);
	else
		ret = kpeers_diff(&k->peers, p->want, filter_changed, &d);
	if (ret) {
		set_err(err, errlen, "out of memory");
		return ret;
	}
	j->st.added = d.added;
	j->st.removed = d.removed;
	j->st.changed = d.changed;
	j->st.unchanged = d.unchanged;
	kdiff_free(&d);
	j->phase = filter_changed ? JOB_PRE : JOB_POST;
	return 0;
}

/* The kernel refused a step: read it back; 0: try the phase once more. */
static int job_refused(struct kern *k, struct kjob *j, int ret, char *err, size_t errlen)
{
	bool again = j->attempt++ > 0;

	if (!again)
		ipc_err(k, ret, "the kernel refused the peers", j->first, sizeof(j->first));
	else
		ipc_err(k, ret, "the kernel refused the peers again", err, errlen);
	log_warn("%s; re-reading %s", again ? err : j->first, k->cfg.ifname);
	if (resync(k, NULL, 0)) {
		if (!again)
			set_err(err, errlen, "%s", j->first);
		return ret;
	}
	return again ? ret : 0;
}

/*
 * Sends at most *budget peer operations of the current peer phase. 1: the
 * phase goes on (the budget is spent, or it starts again after a refusal);
 * 0: it is complete (the bookkeeping is the phase's want).
 */
static int job_peers(struct kern *k, struct kjob *j, size_t *budget, char *err, size_t errlen)
{
	bool pre = j->phase == JOB_PRE;
	struct mw_device *ops, chunk;
	struct mw_peer *last, *after;
	bool books_lost;
	size_t n;
	int ret;

	if (!j->diffed) {
		const struct kdelta *dl = j->p.dl;

		if (dl)
			ret = kpeers_diff_some(&k->peers, j->p.want, dl->gone, dl->n_gone, pre, &j->d);
		else
			ret = kpeers_diff(&k->peers, j->p.want, pre, &j->d);
		if (ret) {
			set_err(err, errlen, "out of memory");
			return ret;
		}
		j->diffed = true;
		j->next = (pre ? j->d.pre : j->d.post)->first_peer;
	}
	ops = pre ? j->d.pre : j->d.post;
	while (j->next && *budget) {
		for (last = j->next, n = 1; last->next && n < *budget; n++)
			last = last->next;
		after = last->next;
		chunk = *ops;
		chunk.first_peer = j->next;
		chunk.last_peer = last;
		last->next = NULL;	/* the chunk alone, for a moment */
		ret = send_peers(k, &chunk, &j->st.messages);
		/* out of memory for the books: the kernel's state is the truth */
		books_lost = !ret && kpeers_apply_ops(&k->peers, &chunk) &&
			     resync(k, err, errlen);
		last->next = after;
		if (ret || books_lost) {
			kdiff_free(&j->d);
			j->diffed = false;
			if (books_lost)
				return -ENOMEM;
			ret = job_refused(k, j, ret, err, errlen);
			return ret ? ret : 1;
		}
		j->next = after;
		*budget -= n;
	}
	if (j->next)
		return 1;
	/* The phase is sent: want is what the kernel has (for the peers it names). */
	if (!pre) {
		if (j->p.dl)
			ret = kpeers_merge(&k->peers, j->p.want, j->p.dl->gone, j->p.dl->n_gone);
		else
			ret = (kpeers_move(&k->peers, j->p.want), 0);
		if (ret && (ret = resync(k, err, errlen)))
			return ret;
	}
	kdiff_free(&j->d);
	j->diffed = false;
	j->attempt = 0;
	return 0;
}

/* Runs the job up to max_peers operations: 1 more to do, 0 done, -errno. */
static int job_run(struct kern *k, struct kjob *j, size_t max_peers, char *err, size_t errlen)
{
	size_t budget = max_peers ? max_peers : SIZE_MAX;
	int ret;

	for (;;) {
		switch (j->phase) {
		case JOB_PRE:
		case JOB_POST:
			ret = job_peers(k, j, &budget, err, errlen);
			if (ret < 0)
				return ret;
			if (ret) {	/* spent, or again after a refusal */
				if (!budget)
					return 1;
				break;
			}
			j->phase = j->phase == JOB_PRE ? JOB_FILTER : JOB_ROUTES;
			if (!budget)
				return 1;
			break;
		case JOB_FILTER:
			ret = install_filter(k, j->p.fjson, &j->p.rs, err, errlen);
			if (ret)
				return ret;
			if (j->p.fjson)
				log_info("installed a packet filter of %zu rules", j->p.rs.n_rules);
			else
				log_info("cleared the packet filter");
			j->phase = JOB_POST;
			break;
		case JOB_ROUTES:
			if (j->p.sync_routes) {
				char route_err[600] = "";
				int r = klink_sync_routes(k, j->p.routes.v, j->p.routes.n,
							  &j->st.route_msgs, route_err,
							  sizeof(route_err));

				if (r && !j->link_ret) {
					j->link_ret = r;
					snprintf(j->link_err, sizeof(j->link_err), "%s", route_err);
				}
			}
			if (j->link_ret)
				set_err(err, errlen, "%s", j->link_err);
			return j->link_ret;
		}
	}
}

/* The job's outcome (ret of job_run): its stats, and the job ends unless 1. */
static int job_end(struct kern *k, int ret, struct kern_apply_stats *st)
{
	struct kjob *j = k->job;

	j->st.usec += now_usec() - j->t0;
	if (st)
		*st = j->st;
	if (ret == 1)
		return 1;
	if (ret)	/* the interface is not the netmap's: the next delta goes full */
		kids_free(&k->ids);
	else if (!j->is_delta && !k->ids.valid)
		log_debug("netmap peers without unique ids: deltas are applied in full");
	job_free(j);
	k->job = NULL;
	return ret;
}

/* A full apply's plan (j->p), parsed: nothing is sent yet. */
static int job_full(struct kern *k, struct kjob *j, const cJSON *netmap, char *err,
		    size_t errlen)
{
	int ret;

	/* Everything is parsed first: a malformed netmap changes nothing. */
	ret = kpeers_from_netmap_ids(&j->want, &k->ids, netmap, k->cfg.accept_routes, err, errlen);
	if (ret)
		return ret;
	j->st.built = (unsigned)j->want.count;
	j->p.want = &j->want;
	j->p.filter = j->p.sync_addrs = j->p.sync_routes = true;
	ret = parse_filter(netmap, &j->p.fjson, &j->p.rs, err, errlen);
	if (!ret)
		ret = parse_addresses(netmap, &j->p.addrs, err, errlen);
	if (!ret)
		ret = parse_routes(k, netmap, &j->p.routes, err, errlen);
	return ret;
}

/* A delta's plan; -EAGAIN when it cannot stand on its own. */
static int job_delta(struct kern *k, struct kjob *j, const cJSON *netmap, const cJSON *delta,
		     char *err, size_t errlen)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(delta, "self");
	bool names_peers;
	int ret;

	if (!k->filter_known || !k->ids.valid)
		return -EAGAIN;
	ret = kdelta_from_msg(&j->dl, &k->ids, delta, k->cfg.accept_routes);
	if (ret == -EAGAIN)
		return ret;
	if (ret) {
		set_err(err, errlen, "out of memory");
		return ret;
	}
	j->is_delta = true;
	j->st.built = j->dl.built;
	j->st.delta = true;
	names_peers = j->dl.want.count || j->dl.n_gone;
	j->p.want = &j->dl.want;
	j->p.dl = &j->dl;
	j->p.filter = !!cJSON_GetObjectItemCaseSensitive(delta, "packet_filter");
	j->p.sync_addrs = self && !cJSON_IsNull(self);
	j->p.sync_routes = j->p.sync_addrs || (k->cfg.accept_routes && names_peers);
	if (j->p.filter)
		ret = parse_filter(netmap, &j->p.fjson, &j->p.rs, err, errlen);
	if (!ret && j->p.sync_addrs)
		ret = parse_addresses(netmap, &j->p.addrs, err, errlen);
	if (!ret && j->p.sync_routes)
		ret = parse_routes(k, netmap, &j->p.routes, err, errlen);
	return ret;
}

int kern_apply_start(struct kern *k, const cJSON *netmap, const cJSON *delta, size_t max_peers,
		     struct kern_apply_stats *st, char *err, size_t errlen)
{
	struct kjob *j;
	int ret;

	kern_apply_cancel(k);
	if (st)
		memset(st, 0, sizeof(*st));
	if (!k->ifindex) {
		set_err(err, errlen, "interface %s is not up", k->cfg.ifname);
		return -ENODEV;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	j->t0 = now_usec();
	ret = delta ? job_delta(k, j, netmap, delta, err, errlen) : -EAGAIN;
	if (ret == -EAGAIN) {	/* in full: a FULL, or a delta that cannot stand alone */
		job_free(j);
		j = calloc(1, sizeof(*j));
		if (!j) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		j->t0 = now_usec();
		ret = job_full(k, j, netmap, err, errlen);
	}
	k->job = j;
	if (!ret)
		ret = job_begin(k, j, err, errlen);
	if (!ret)
		ret = job_run(k, j, max_peers, err, errlen);
	return job_end(k, ret, st);
}

int kern_apply_continue(struct kern *k, size_t max_peers, struct kern_apply_stats *st, char *err,
			size_t errlen)
{
	if (!k->job) {
		set_err(err, errlen, "no apply in progress");
		return -ENOENT;
	}
	k->job->t0 = now_usec();
	return job_end(k, job_run(k, k->job, max_peers, err, errlen), st);
}

int kern_apply(struct kern *k, const cJSON *netmap, struct kern_apply_stats *st, char *err,
	       size_t errlen)
{
	return kern_apply_start(k, netmap, NULL, 0, st, err, errlen);
}

int kern_apply_delta(struct kern *k, const cJSON *netmap, const cJSON *delta,
		     struct kern_apply_stats *st, char *err, size_t errlen)
{
	return kern_apply_start(k, netmap, delta, 0, st, err, errlen);
}

/* ---- status ---- */

static cJSON *filter_status(struct kern *k)
{
	struct fl_ruleset rs;
	cJSON *j = NULL;
	char *text;

	if (filter_get(&k->ipc, k->cfg.ifname, &rs))
		return NULL;
	if (rs.installed) {
		text = fl_to_json(&rs, k->cfg.ifname);
		if (text)
			j = cJSON_Parse(text);
		free(text);
	}
	fl_free(&rs);
	return j;
}

cJSON *kern_status(struct kern *k)
{
	cJSON *st = cJSON_CreateObject(), *peers, *f;
	struct mw_device *dev = NULL;
	struct mw_peer *p;
	char b64[KEY_B64_LEN], ep[64];
	int ret;

	if (!st)
		return NULL;
	cJSON_AddStringToObject(st, "interface", k->cfg.ifname);
	peers = cJSON_CreateObject();
	ret = k->ifindex ? ipc_get_device(&k->ipc, k->cfg.ifname, &dev) : -ENODEV;
	if (!ret) {
		k->listen_port = dev->listen_port;
		cJSON_AddNumberToObject(st, "listen_port", dev->listen_port);
		if (dev->flags & DEV_HAS_PUBLIC_KEY) {
			key_to_base64(b64, dev->public_key);
			cJSON_AddStringToObject(st, "public_key", b64);
		} else {
			cJSON_AddNullToObject(st, "public_key");
		}
		for_each_peer(dev, p) {
			cJSON *jp = cJSON_CreateObject();

			if (!jp)
				break;
			key_to_base64(b64, p->public_key);
			if ((p->flags & PEER_HAS_ENDPOINT) && !(p->flags & PEER_HAS_RELAY)) {
				kendpoint_format(&p->endpoint, ep, sizeof(ep));
				cJSON_AddStringToObject(jp, "endpoint", ep);
			} else {
				cJSON_AddNullToObject(jp, "endpoint");
			}
			cJSON_AddNumberToObject(jp, "last_handshake",
						(double)p->last_handshake_time.tv_sec);
			cJSON_AddNumberToObject(jp, "rx_bytes", (double)p->rx_bytes);
			cJSON_AddNumberToObject(jp, "tx_bytes", (double)p->tx_bytes);
			cJSON_AddNumberToObject(jp, "acl_drops", (double)p->drops_acl);
			cJSON_AddItemToObject(peers, b64, jp);
		}
	} else {
		cJSON_AddNumberToObject(st, "listen_port", 0);
		cJSON_AddNullToObject(st, "public_key");
		if (ret != -ENODEV)
			cJSON_AddStringToObject(st, "error", strerror(-ret));
	}
	cJSON_AddItemToObject(st, "peers", peers);
	f = !ret ? filter_status(k) : NULL;
	if (f)
		cJSON_AddItemToObject(st, "filter", f);
	else
		cJSON_AddNullToObject(st, "filter");
	free_device(dev);
	return st;
}
