// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL filter's side of the device: its per-device state, the receive
 * and transmit hooks, the sampled deny events, and the SET_FILTER,
 * CLEAR_FILTER and GET_FILTER commands (docs/filter.md).
 */
#include "filter.h"
#include "device.h"
#include "peer.h"
#include "netlink.h"
#include "ratelimiter.h"

#include <uapi/linux/meshwg.h>
#include <linux/if.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>
#include <net/sock.h>

static unsigned int acl_event_sample = 1;
module_param(acl_event_sample, uint, 0644);
MODULE_PARM_DESC(acl_event_sample, "ACL: report one denied packet in this many (0: none)");
static unsigned int acl_event_rate = 10;
module_param(acl_event_rate, uint, 0644);
MODULE_PARM_DESC(acl_event_rate, "ACL: deny events per second per device, at most");
static unsigned int acl_event_burst = 20;
module_param(acl_event_burst, uint, 0644);
MODULE_PARM_DESC(acl_event_burst, "ACL: deny events in a burst, at most");

const struct nla_policy mwg_filter_set_policy[MESHWG_FILTER_A_MAX + 1] = {
	[MESHWG_FILTER_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_FILTER_A_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[MESHWG_FILTER_A_VERSION]	= { .type = NLA_U64 },
	[MESHWG_FILTER_A_RULE]		= { .type = NLA_NESTED },
};

const struct nla_policy mwg_filter_get_policy[MESHWG_FILTER_A_IFNAME + 1] = {
	[MESHWG_FILTER_A_IFINDEX]	= { .type = NLA_U32 },
	[MESHWG_FILTER_A_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

/* Get-only attributes (INDEX, PACKETS, BYTES) are refused in uploads. */
static const struct nla_policy rule_policy[MESHWG_RULE_A_MAX + 1] = {
	[MESHWG_RULE_A_ACTION]	= NLA_POLICY_RANGE(NLA_U8, MESHWG_FILTER_ACCEPT,
						   MESHWG_FILTER_DENY),
	[MESHWG_RULE_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, __MESHWG_RULE_F_ALL),
	[MESHWG_RULE_A_PROTOS]	= { .type = NLA_BINARY, .len = 256 },
	[MESHWG_RULE_A_SRC]	= NLA_POLICY_EXACT_LEN(sizeof(struct meshwg_filter_prefix)),
	[MESHWG_RULE_A_DST]	= NLA_POLICY_EXACT_LEN(sizeof(struct meshwg_filter_dst)),
};

/* Device lifetime. */

int mwg_filter_dev_init(struct mwg_filter_dev *fd)
{
	RCU_INIT_POINTER(fd->filter, NULL);
	fd->flows = NULL;	/* allocated by the first SET_FILTER */
	atomic64_set(&fd->drops, 0);
	atomic64_set(&fd->malformed, 0);
	atomic_set(&fd->deny_seq, 0);
	spin_lock_init(&fd->event_lock);
	fd->event_last_ns = 0;
	fd->event_tokens = U64_MAX;	/* full */
	return 0;
}

/*
 * The flow table, allocated (charged to the caller's memory cgroup) when a
 * ruleset is first installed: a device that never filters costs nothing.
 * Once published it stays until the device goes; the hooks read it with
 * smp_load_acquire() and cope with NULL.
 */
static int flows_ensure(struct mwg_device *wg)
{
	struct mwg_filter_dev *fd = &wg->acl;
	struct mwg_flow_table *ft;

	/* Pairs with the release below: a table seen is initialised. */
	if (smp_load_acquire(&fd->flows))
		return 0;
	ft = mwg_flow_table_create(READ_ONCE(mwg_flow_table_size));
	if (!ft)
		return -ENOMEM;
	mutex_lock(&wg->device_update_lock);
	if (!fd->flows) {
		/* Publishes the initialised table to the acquiring readers. */
		smp_store_release(&fd->flows, ft);
		ft = NULL;
	}
	mutex_unlock(&wg->device_update_lock);
	mwg_flow_table_destroy(ft);
	return 0;
}

/* After the device stopped passing packets (no more hook calls). */
void mwg_filter_dev_uninit(struct mwg_filter_dev *fd)
{
	mwg_filter_put(rcu_dereference_protected(fd->filter, true));
	RCU_INIT_POINTER(fd->filter, NULL);
	mwg_flow_table_destroy(fd->flows);
	fd->flows = NULL;
}

/* Deny events. */

static bool event_allowed(struct mwg_filter_dev *fd, u64 now)
{
	unsigned int sample = READ_ONCE(acl_event_sample);
	bool ok;

	if (!sample)
		return false;
	if ((unsigned int)atomic_inc_return(&fd->deny_seq) % sample)
		return false;
	spin_lock_bh(&fd->event_lock);
	ok = mwg_token_bucket_take(&fd->event_tokens, &fd->event_last_ns, now,
				   READ_ONCE(acl_event_rate),
				   READ_ONCE(acl_event_burst));
	spin_unlock_bh(&fd->event_lock);
	return ok;
}

static void deny_event(struct mwg_device *wg, struct mwg_peer *peer,
		       const struct mwg_filter_pkt *pkt, u32 rule, u64 now)
{
	struct net *net = dev_net(wg->dev);
	int alen = pkt->t.family == AF_INET ? 4 : 16;
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&mwg_genl_family, net, MWG_MCGRP_EVENTS) ||
	    !event_allowed(&wg->acl, now))
		return;
	msg = genlmsg_new(256, GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mwg_genl_family, 0, MESHWG_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, MESHWG_AGENT_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_EVENT, MESHWG_EVENT_ACL_DENY) ||
	    nla_put(msg, MESHWG_AGENT_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
		    peer->handshake.remote_static) ||
	    nla_put_u16(msg, MESHWG_AGENT_A_ACL_FAMILY, pkt->t.family) ||
	    nla_put(msg, MESHWG_AGENT_A_ACL_SRC, alen, pkt->t.src) ||
	    nla_put(msg, MESHWG_AGENT_A_ACL_DST, alen, pkt->t.dst) ||
	    nla_put_u8(msg, MESHWG_AGENT_A_ACL_PROTO, pkt->t.proto) ||
	    nla_put_u16(msg, MESHWG_AGENT_A_ACL_SPORT,
			(pkt->flags & MWG_PKT_PORTS) ? pkt->t.sport : 0) ||
	    nla_put_u16(msg, MESHWG_AGENT_A_ACL_DPORT,
			(pkt->flags & MWG_PKT_PORTS) ? pkt->t.dport : 0) ||
	    nla_put_u32(msg, MESHWG_AGENT_A_ACL_RULE, rule))
		goto err;
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&mwg_genl_family, net, msg, 0, MWG_MCGRP_EVENTS,
				GFP_ATOMIC);
	return;
err:
	nlmsg_free(msg);
}

/* Hooks. */

bool mwg_filter_receive(struct mwg_device *wg, struct mwg_peer *peer,
			struct sk_buff *skb)
{
	struct mwg_filter_dev *fd = &wg->acl;
	enum mwg_filter_verdict v;
	struct mwg_filter_pkt pkt;
	struct mwg_filter *f;
	u64 now;
	u32 rule;

	rcu_read_lock_bh();
	f = rcu_dereference_bh(fd->filter);
	if (likely(!f)) {
		rcu_read_unlock_bh();
		return true;
	}
	now = ktime_get_coarse_boottime_ns();
	if (unlikely(mwg_filter_parse_skb(skb, &pkt))) {
		rcu_read_unlock_bh();
		atomic64_inc(&fd->malformed);
		v = MWG_FILTER_MALFORMED;
		goto drop;
	}
	/* Pairs with flows_ensure()'s release; NULL is fine too. */
	v = mwg_filter_decide(f, smp_load_acquire(&fd->flows),
			      peer->internal_id, &pkt, now, &rule);
	rcu_read_unlock_bh();
	if (likely(v == MWG_FILTER_PASS))
		return true;
	deny_event(wg, peer, &pkt, rule, now);
drop:
	atomic64_inc(&fd->drops);
	atomic64_inc(&peer->drops_acl);
	return false;
}

void mwg_filter_transmit(struct mwg_device *wg, struct mwg_peer *peer,
			 struct sk_buff *skb)
{
	/* Pairs with flows_ensure()'s release. */
	struct mwg_flow_table *ft = smp_load_acquire(&wg->acl.flows);
	struct mwg_filter_pkt pkt;

	/* No ruleset was ever installed: nothing to track. */
	if (!ft || mwg_filter_parse_skb(skb, &pkt))
		return;
	mwg_flow_outbound(ft, peer->internal_id, &pkt,
			  ktime_get_coarse_boottime_ns());
}

/* SET_FILTER */

static int get_prefix(struct mwg_filter_prefix *out,
		      const struct meshwg_filter_prefix *in,
		      const struct nlattr *attr, struct netlink_ext_ack *extack)
{
	if (in->family != AF_INET && in->family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "prefix family must be AF_INET or AF_INET6");
		return -EINVAL;
	}
	if (in->pad) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "prefix padding must be zero");
		return -EINVAL;
	}
	out->family = in->family;
	out->cidr = in->cidr;
	memcpy(out->addr, in->addr, sizeof(out->addr));
	return 0;
}

/*
 * One pass over the rule nests: counts (f == NULL) or fills f. The first
 * pass validates the shape; mwg_filter_compile() validates the values.
 */
static int walk_rules(const struct nlmsghdr *nlh, struct mwg_filter *f,
		      u32 *n_rules, u32 *n_src, u32 *n_dst,
		      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHWG_RULE_A_MAX + 1];
	struct mwg_filter_rule *r = NULL;
	const struct nlattr *a, *x;
	int rem, xrem, ret;

	*n_rules = *n_src = *n_dst = 0;
	nlmsg_for_each_attr(a, nlh, GENL_HDRLEN, rem) {
		u32 flags = 0;

		if (nla_type(a) != MESHWG_FILTER_A_RULE)
			continue;
		ret = nla_parse_nested(tb, MESHWG_RULE_A_MAX, a, rule_policy,
				       extack);
		if (ret)
			return ret;
		if (tb[MESHWG_RULE_A_FLAGS])
			flags = nla_get_u32(tb[MESHWG_RULE_A_FLAGS]);
		if (flags & MESHWG_RULE_F_CONTINUE) {
			if (!*n_rules) {
				NL_SET_ERR_MSG_ATTR(extack, a, "continuation without a rule");
				return -EINVAL;
			}
			if (flags != MESHWG_RULE_F_CONTINUE ||
			    tb[MESHWG_RULE_A_ACTION] || tb[MESHWG_RULE_A_PROTOS]) {
				NL_SET_ERR_MSG_ATTR(extack, a, "a continuation carries only SRC and DST");
				return -EINVAL;
			}
		} else {
			if (*n_rules == MWG_FILTER_MAX_RULES) {
				NL_SET_ERR_MSG_ATTR(extack, a, "too many rules");
				return -E2BIG;
			}
			if (!tb[MESHWG_RULE_A_ACTION]) {
				NL_SET_ERR_MSG_ATTR(extack, a, "rule without ACTION");
				return -EINVAL;
			}
			if ((flags & MESHWG_RULE_F_ANY_PROTO) &&
			    tb[MESHWG_RULE_A_PROTOS]) {
				NL_SET_ERR_MSG_ATTR(extack, a, "rule has both PROTOS and ANY_PROTO");
				return -EINVAL;
			}
			if (tb[MESHWG_RULE_A_PROTOS] &&
			    !nla_len(tb[MESHWG_RULE_A_PROTOS])) {
				NL_SET_ERR_MSG_ATTR(extack, tb[MESHWG_RULE_A_PROTOS],
						    "empty PROTOS (leave it out for the default)");
				return -EINVAL;
			}
			if (f) {
				const u8 *p;
				int i;

				r = &f->rules[*n_rules];
				r->action = nla_get_u8(tb[MESHWG_RULE_A_ACTION]);
				r->any_proto = flags & MESHWG_RULE_F_ANY_PROTO;
				r->src_off = *n_src;
				r->dst_off = *n_dst;
				if (tb[MESHWG_RULE_A_PROTOS]) {
					p = nla_data(tb[MESHWG_RULE_A_PROTOS]);
					for (i = 0; i < nla_len(tb[MESHWG_RULE_A_PROTOS]); ++i)
						r->proto_map[p[i] / 32] |= 1U << (p[i] % 32);
				}
			}
			(*n_rules)++;
		}
		nla_for_each_nested(x, a, xrem) {
			if (nla_type(x) == MESHWG_RULE_A_SRC) {
				if (*n_src + *n_dst == MWG_FILTER_MAX_PREFIXES)
					goto too_many;
				if (f) {
					ret = get_prefix(&f->src[*n_src], nla_data(x), x, extack);
					if (ret)
						return ret;
					r->n_src++;
				}
				(*n_src)++;
			} else if (nla_type(x) == MESHWG_RULE_A_DST) {
				const struct meshwg_filter_dst *d = nla_data(x);

				if (*n_src + *n_dst == MWG_FILTER_MAX_PREFIXES)
					goto too_many;
				if (f) {
					struct mwg_filter_dst *o = &f->dst[*n_dst];

					ret = get_prefix(&o->prefix, &d->prefix, x, extack);
					if (ret)
						return ret;
					o->first_port = d->first_port;
					o->last_port = d->last_port;
					r->n_dst++;
				}
				(*n_dst)++;
			}
		}
	}
	return 0;
too_many:
	NL_SET_ERR_MSG_ATTR(extack, a, "too many prefixes");
	return -E2BIG;
}

/* err is one of filter.c's string constants: static storage. */
static void set_err(struct netlink_ext_ack *extack, const char *err)
{
	if (extack && err)
		extack->_msg = err;
}

static void install(struct mwg_device *wg, struct mwg_filter *f)
{
	struct mwg_filter *old;

	mutex_lock(&wg->device_update_lock);
	old = rcu_replace_pointer(wg->acl.filter, f,
				  lockdep_is_held(&wg->device_update_lock));
	mutex_unlock(&wg->device_update_lock);
	if (old) {
		/* Readers in the datapath hold no reference: wait them out. */
		synchronize_net();
		mwg_filter_put(old);
	}
}

int mwg_filter_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct mwg_filter *f = NULL;
	u32 n_rules, n_src, n_dst;
	struct mwg_device *wg;
	const char *err = NULL;
	u64 version = 0;
	int ret;

	wg = mwg_netlink_lookup_device(genl_info_net(info),
				       info->attrs[MESHWG_FILTER_A_IFINDEX],
				       info->attrs[MESHWG_FILTER_A_IFNAME],
				       info->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	if (info->attrs[MESHWG_FILTER_A_VERSION])
		version = nla_get_u64(info->attrs[MESHWG_FILTER_A_VERSION]);
	ret = walk_rules(info->nlhdr, NULL, &n_rules, &n_src, &n_dst,
			 info->extack);
	if (ret)
		goto out;
	f = mwg_filter_alloc(n_rules, n_src, n_dst, version, &err);
	if (!f) {
		ret = n_rules > MWG_FILTER_MAX_RULES ? -E2BIG : -ENOMEM;
		set_err(info->extack, err);
		goto out;
	}
	ret = walk_rules(info->nlhdr, f, &n_rules, &n_src, &n_dst,
			 info->extack);
	if (ret)
		goto out;
	ret = mwg_filter_compile(f, &err);
	if (ret) {
		set_err(info->extack, err);
		goto out;
	}
	ret = flows_ensure(wg);
	if (ret) {
		NL_SET_ERR_MSG(info->extack, "out of memory for the flow table");
		goto out;
	}
	install(wg, f);
	f = NULL;
out:
	mwg_filter_put(f);
	dev_put(wg->dev);
	return ret;
}

/* CLEAR_FILTER */

int mwg_filter_nl_clear(struct sk_buff *skb, struct genl_info *info)
{
	struct mwg_device *wg;

	wg = mwg_netlink_lookup_device(genl_info_net(info),
				       info->attrs[MESHWG_FILTER_A_IFINDEX],
				       info->attrs[MESHWG_FILTER_A_IFNAME],
				       info->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	install(wg, NULL);
	dev_put(wg->dev);
	return 0;
}

/* GET_FILTER */

struct filter_dump {
	struct mwg_device *wg;
	struct mwg_filter *f;	/* the ruleset being dumped, referenced */
	u32 rule, src, dst;	/* next rule, and how much of it was sent */
	bool header_sent;
};

#define FILTER_DUMP(cb) ((struct filter_dump *)(cb)->ctx)

int mwg_filter_nl_dump_start(struct netlink_callback *cb)
{
	struct nlattr *tb[MESHWG_FILTER_A_IFNAME + 1];
	struct filter_dump *ctx = FILTER_DUMP(cb);
	struct mwg_device *wg;
	struct mwg_filter *f;
	int ret;

	BUILD_BUG_ON(sizeof(struct filter_dump) > sizeof(cb->ctx));
	memset(ctx, 0, sizeof(*ctx));
	ret = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, MESHWG_FILTER_A_IFNAME,
			  mwg_filter_get_policy, cb->extack);
	if (ret < 0)
		return ret;
	wg = mwg_netlink_lookup_device(sock_net(cb->skb->sk),
				       tb[MESHWG_FILTER_A_IFINDEX],
				       tb[MESHWG_FILTER_A_IFNAME], cb->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	rcu_read_lock();
	f = rcu_dereference(wg->acl.filter);
	/* The installed reference is dropped only after a grace period. */
	if (f)
		mwg_filter_get(f);
	rcu_read_unlock();
	ctx->wg = wg;
	ctx->f = f;
	return 0;
}

static int put_protos(struct sk_buff *skb, const struct mwg_filter_rule *r)
{
	u8 protos[256];
	int n = 0, p;

	for (p = 0; p < 256; ++p)
		if (r->proto_map[p / 32] & (1U << (p % 32)))
			protos[n++] = p;
	return n ? nla_put(skb, MESHWG_RULE_A_PROTOS, n, protos) : 0;
}

static int put_rule_head(struct sk_buff *skb, struct mwg_filter_rule *r,
			 u32 index)
{
	if (nla_put_u8(skb, MESHWG_RULE_A_ACTION, r->action) ||
	    nla_put_u32(skb, MESHWG_RULE_A_FLAGS,
			r->any_proto ? MESHWG_RULE_F_ANY_PROTO : 0) ||
	    put_protos(skb, r) ||
	    nla_put_u32(skb, MESHWG_RULE_A_INDEX, index) ||
	    nla_put_u64_64bit(skb, MESHWG_RULE_A_PACKETS,
			      atomic64_read(&r->packets), MESHWG_RULE_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHWG_RULE_A_BYTES,
			      atomic64_read(&r->bytes), MESHWG_RULE_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static void to_uapi_prefix(struct meshwg_filter_prefix *o,
			   const struct mwg_filter_prefix *p)
{
	memset(o, 0, sizeof(*o));
	o->family = p->family;
	o->cidr = p->cidr;
	memcpy(o->addr, p->addr, sizeof(o->addr));
}

/*
 * Puts as much of the current rule as fits, from ctx's cursor. Returns 0
 * when the rule is complete, -EMSGSIZE when the message is full.
 */
static int put_rule(struct sk_buff *skb, struct filter_dump *ctx)
{
	struct mwg_filter_rule *r = &ctx->f->rules[ctx->rule];
	bool first = !ctx->src && !ctx->dst;
	unsigned int put = 0;
	struct nlattr *nest;

	nest = nla_nest_start(skb, MESHWG_FILTER_A_RULE);
	if (!nest)
		return -EMSGSIZE;
	if (first ? put_rule_head(skb, r, ctx->rule) :
		    nla_put_u32(skb, MESHWG_RULE_A_FLAGS, MESHWG_RULE_F_CONTINUE))
		goto cancel;
	while (ctx->src < r->n_src && put < MESHWG_FILTER_CHUNK) {
		struct meshwg_filter_prefix p;

		to_uapi_prefix(&p, &ctx->f->src[r->src_off + ctx->src]);
		if (nla_put(skb, MESHWG_RULE_A_SRC, sizeof(p), &p))
			goto partial;
		ctx->src++;
		put++;
	}
	while (ctx->dst < r->n_dst && put < MESHWG_FILTER_CHUNK) {
		const struct mwg_filter_dst *d = &ctx->f->dst[r->dst_off + ctx->dst];
		struct meshwg_filter_dst o;

		to_uapi_prefix(&o.prefix, &d->prefix);
		o.first_port = d->first_port;
		o.last_port = d->last_port;
		if (nla_put(skb, MESHWG_RULE_A_DST, sizeof(o), &o))
			goto partial;
		ctx->dst++;
		put++;
	}
	nla_nest_end(skb, nest);
	if (ctx->src < r->n_src || ctx->dst < r->n_dst)
		return -EMSGSIZE;
	ctx->rule++;
	ctx->src = 0;
	ctx->dst = 0;
	return 0;
partial:
	if (put) {
		nla_nest_end(skb, nest);
		return -EMSGSIZE;
	}
cancel:
	nla_nest_cancel(skb, nest);
	/* Nothing of this nest went out: the cursor did not move. */
	return -EMSGSIZE;
}

int mwg_filter_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct filter_dump *ctx = FILTER_DUMP(cb);
	struct mwg_flow_table *ft;
	struct mwg_filter_dev *fd;
	bool progress = false;
	void *hdr;

	if (!ctx->wg || (ctx->header_sent &&
			 (!ctx->f || ctx->rule >= ctx->f->n_rules)))
		return 0;
	fd = &ctx->wg->acl;
	/* Pairs with flows_ensure()'s release. */
	ft = smp_load_acquire(&fd->flows);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &mwg_genl_family, NLM_F_MULTI, MESHWG_CMD_GET_FILTER);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, MESHWG_FILTER_A_IFINDEX, ctx->wg->dev->ifindex))
		goto cancel;
	if (!ctx->header_sent) {
		if (nla_put_u8(skb, MESHWG_FILTER_A_INSTALLED, !!ctx->f) ||
		    (ctx->f && nla_put_u64_64bit(skb, MESHWG_FILTER_A_VERSION,
						 ctx->f->version,
						 MESHWG_FILTER_A_PAD)) ||
		    nla_put_u64_64bit(skb, MESHWG_FILTER_A_DROPS,
				      atomic64_read(&fd->drops),
				      MESHWG_FILTER_A_PAD) ||
		    nla_put_u64_64bit(skb, MESHWG_FILTER_A_MALFORMED,
				      atomic64_read(&fd->malformed),
				      MESHWG_FILTER_A_PAD) ||
		    nla_put_u32(skb, MESHWG_FILTER_A_FLOWS,
				ft ? mwg_flow_count(ft,
					ktime_get_coarse_boottime_ns()) : 0) ||
		    nla_put_u64_64bit(skb, MESHWG_FILTER_A_FLOW_EVICTIONS,
				      ft ? atomic64_read(&ft->evictions) : 0,
				      MESHWG_FILTER_A_PAD))
			goto cancel;
		ctx->header_sent = true;
		progress = true;
	}
	while (ctx->f && ctx->rule < ctx->f->n_rules) {
		u32 rule = ctx->rule, src = ctx->src, dst = ctx->dst;
		int ret = put_rule(skb, ctx);

		if (rule != ctx->rule || src != ctx->src || dst != ctx->dst)
			progress = true;
		if (ret)
			break;
	}
	/* Not even one prefix fit in an empty message: give up, not loop. */
	if (!progress)
		goto cancel;
	genlmsg_end(skb, hdr);
	return skb->len;
cancel:
	genlmsg_cancel(skb, hdr);
	return skb->len ? skb->len : -EMSGSIZE;
}

int mwg_filter_nl_dump_done(struct netlink_callback *cb)
{
	struct filter_dump *ctx = FILTER_DUMP(cb);

	if (ctx->wg) {
		mwg_filter_put(ctx->f);
		dev_put(ctx->wg->dev);
	}
	memset(ctx, 0, sizeof(*ctx));
	return 0;
}
