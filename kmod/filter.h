/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stateful ACL filter of meshwg: a compiled ruleset (first match wins,
 * default deny) consulted for every packet a peer sends us, and a flow table
 * of the flows this node opened, whose return traffic passes without a rule.
 * docs/filter.md describes the semantics and the limits.
 *
 * The classifier and the flow table are pure code (no skb, no clock, no
 * netlink): tests/unit/filter builds this very file in userspace. The skb
 * parser mwg_filter_parse_skb() is the thin layer in between.
 */
#ifndef _MWG_FILTER_H
#define _MWG_FILTER_H

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/siphash.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
#include <uapi/linux/meshwg.h>

/* Limits of one ruleset; SET_FILTER refuses more. */
#define MWG_FILTER_MAX_RULES	131072U
#define MWG_FILTER_MAX_PREFIXES	524288U		/* _SRC plus _DST, all rules */
#define MWG_FILTER_MAX_ATOMS	1048576U	/* src x dst x protocol, all rules */

#define MWG_FILTER_NONE		MESHWG_FILTER_NO_RULE
#define MWG_FILTER_PROTO_ANY	256		/* an atom's protocol: any */

/* A prefix as the kernel keeps it (host bits zero). */
struct mwg_filter_prefix {
	u8 family;	/* AF_INET or AF_INET6 */
	u8 cidr;
	u8 addr[16];
};

struct mwg_filter_dst {
	struct mwg_filter_prefix prefix;
	u16 first_port, last_port;
};

struct mwg_filter_rule {
	u8 action;		/* MESHWG_FILTER_ACCEPT or _DENY */
	bool any_proto;
	/* Protocols; all zero (and !any_proto): TCP, UDP, ICMP and ICMPv6. */
	u32 proto_map[8];
	u32 src_off, n_src;	/* into mwg_filter.src */
	u32 dst_off, n_dst;	/* into mwg_filter.dst */
	atomic64_t packets, bytes;
};

struct mwg_filter_atom;
struct mwg_filter_entry;
struct mwg_filter_tuple;
struct mwg_filter_interval;
struct mwg_filter_pnode;

/*
 * The distinct source (or destination) prefixes of one family, sorted, and
 * the index of each prefix length among those present.
 */
struct mwg_filter_pset {
	struct mwg_filter_pnode *nodes;
	u32 n;
	u8 n_lens;		/* distinct lengths */
	u8 len_idx[129];	/* length -> 0..n_lens-1, or 0xff */
};

/* An installed ruleset: immutable once compiled, except the counters. */
struct mwg_filter {
	u64 version;
	u32 n_rules, n_src, n_dst;
	struct mwg_filter_rule *rules;
	struct mwg_filter_prefix *src;
	struct mwg_filter_dst *dst;

	/* Lookup structures, built by mwg_filter_compile(). */
	struct mwg_filter_tuple *tuples;
	u32 n_tuples;
	/* [family: 0 IPv4, 1 IPv6][0 source, 1 destination] */
	struct mwg_filter_pset pset[2][2];
	/* [family]: tuple by (source length, destination length, any) index */
	u32 *tuple_idx[2];
	struct mwg_filter_entry *entries;
	u32 n_entries;
	struct mwg_filter_interval *intervals;
	u32 n_intervals;
	u32 *heads;				/* hash buckets of entries */
	u32 hash_mask;

	refcount_t refs;
	struct rcu_head rcu;
};

/*
 * Allocates an empty ruleset for the given numbers of rules, sources and
 * destinations (NULL when over the limits or out of memory; *err says
 * which). The caller fills rules[], src[] and dst[] in order, each rule
 * naming its slice with src_off/n_src and dst_off/n_dst, then compiles.
 */
struct mwg_filter *mwg_filter_alloc(u32 n_rules, u32 n_src, u32 n_dst,
				    u64 version, const char **err);
/*
 * Validates the contents and builds the lookup structures. Returns 0, or a
 * negative errno with *err set; a failed ruleset is only fit for freeing.
 */
int mwg_filter_compile(struct mwg_filter *f, const char **err);
void mwg_filter_get(struct mwg_filter *f);
void mwg_filter_put(struct mwg_filter *f);

/* Parse flags. */
#define MWG_PKT_PORTS		(1U << 0)	/* proto has ports; sport/dport valid */
#define MWG_PKT_LATER_FRAG	(1U << 1)	/* non-first fragment: no L4 header */
#define MWG_PKT_TCP		(1U << 2)	/* tcp_flags valid */
#define MWG_PKT_ECHO_REQUEST	(1U << 3)	/* ICMP(v6) echo request, id in sport */
#define MWG_PKT_ECHO_REPLY	(1U << 4)	/* ICMP(v6) echo reply, id in sport */
#define MWG_PKT_ICMP_ERROR	(1U << 5)	/* inner holds the quoted packet */
#define MWG_PKT_FIRST_FRAG	(1U << 6)	/* first fragment of several */
#define MWG_PKT_MORE_FRAGS	(1U << 7)	/* a fragment with more to come */

/* What the classifier knows of a packet (ports in host order). */
struct mwg_filter_tuple5 {
	u8 family;
	u8 proto;
	u16 sport, dport;
	u8 src[16], dst[16];
};

struct mwg_filter_pkt {
	struct mwg_filter_tuple5 t;
	u32 flags;
	u8 tcp_flags;
	u8 inner_flags;		/* MWG_PKT_PORTS/_ECHO_REQUEST of inner */
	u32 frag_id;		/* IPv4 or IPv6 fragment identification */
	struct mwg_filter_tuple5 inner;
	u32 len;		/* bytes, for the counters */
};

/* TCP flags as in the header's 13th byte. */
#define MWG_TCP_FIN	0x01
#define MWG_TCP_SYN	0x02
#define MWG_TCP_RST	0x04
#define MWG_TCP_ACK	0x10

/*
 * Parses an IPv4 or IPv6 packet of len bytes whose first cap bytes are at
 * data. Returns 0, or -EINVAL for a malformed header (to be dropped and
 * counted); headers beyond the first cap bytes count as malformed.
 */
int mwg_filter_parse(const u8 *data, u32 cap, u32 len,
		     struct mwg_filter_pkt *pkt);

/* The first rule matching the packet's 5-tuple, or MWG_FILTER_NONE. */
u32 mwg_filter_lookup(const struct mwg_filter *f,
		      const struct mwg_filter_pkt *pkt);

/* Flow table. */
#define MWG_FLOW_WAYS 8

struct mwg_flow {
	u64 owner;		/* peer internal id, 0 = free slot */
	u64 last_ns;		/* last packet, either way */
	u64 expires_ns;
	u8 family, proto, state, kind;	/* kind: a flow or a fragment train */
	u16 lport, rport;	/* local and remote ports; echo: id, 0 */
	u8 laddr[16], raddr[16];
};

struct mwg_flow_bucket {
	spinlock_t lock;
	struct mwg_flow slot[MWG_FLOW_WAYS];
};

struct mwg_flow_table {
	siphash_key_t key;
	u32 mask;		/* buckets - 1 */
	atomic64_t evictions;	/* live flows pushed out */
	struct mwg_flow_bucket buckets[];
};

/* Timeouts in seconds, module parameters. */
extern unsigned int mwg_flow_tcp_syn_timeout, mwg_flow_tcp_timeout,
	mwg_flow_tcp_close_timeout, mwg_flow_udp_timeout,
	mwg_flow_udp_stream_timeout, mwg_flow_icmp_timeout;
/* Flow table size (flows), module parameter. */
extern unsigned int mwg_flow_table_size;

struct mwg_flow_table *mwg_flow_table_create(unsigned int flows);
void mwg_flow_table_destroy(struct mwg_flow_table *ft);

/*
 * An outbound packet to peer owner (never filtered): opens a flow (TCP SYN,
 * UDP, ICMP echo request) or refreshes one.
 */
void mwg_flow_outbound(struct mwg_flow_table *ft, u64 owner,
		       const struct mwg_filter_pkt *pkt, u64 now_ns);
/*
 * An inbound packet from peer owner: true if it is return traffic of a
 * live flow (or an ICMP error about one), which it then refreshes, or a
 * later fragment of a packet whose first fragment passed.
 */
bool mwg_flow_inbound(struct mwg_flow_table *ft, u64 owner,
		      const struct mwg_filter_pkt *pkt, u64 now_ns);
/*
 * The first fragment of an inbound packet from peer owner passed: its later
 * fragments (same addresses, protocol and identification) will pass too,
 * until the last one or MWG_FRAG_TIMEOUT seconds of silence.
 */
void mwg_flow_frag_passed(struct mwg_flow_table *ft, u64 owner,
			  const struct mwg_filter_pkt *pkt, u64 now_ns);
#define MWG_FRAG_TIMEOUT	30

/* Live flows and fragment trains (walks the table; for tests and dumps). */
u32 mwg_flow_count(struct mwg_flow_table *ft, u64 now_ns);

/* The verdict for an inbound packet. */
enum mwg_filter_verdict {
	MWG_FILTER_PASS,
	MWG_FILTER_DROP,	/* a deny rule or no rule: *rule says which */
	MWG_FILTER_MALFORMED,
};

/*
 * The whole decision for a packet from peer owner, given the installed
 * ruleset f (NULL: none) and the flow table: return traffic, ICMP errors
 * about allowed flows, then the rules. Counts on the matching rule.
 */
enum mwg_filter_verdict mwg_filter_decide(const struct mwg_filter *f,
					  struct mwg_flow_table *ft, u64 owner,
					  const struct mwg_filter_pkt *pkt,
					  u64 now_ns, u32 *rule);

#ifdef __KERNEL__
#include <net/netlink.h>

struct sk_buff;
struct mwg_device;
struct mwg_peer;
struct genl_info;
struct netlink_callback;

/* Everything the filter keeps per device (embedded in struct mwg_device). */
struct mwg_filter_dev {
	struct mwg_filter __rcu *filter;
	struct mwg_flow_table *flows;
	atomic64_t drops, malformed;
	atomic_t deny_seq;		/* for sampling deny events */
	spinlock_t event_lock;
	u64 event_last_ns, event_tokens;
};

/* Parses skb's network header (skb_header_pointer, no writes). */
int mwg_filter_parse_skb(const struct sk_buff *skb, struct mwg_filter_pkt *pkt);

/* Device lifetime, process context. */
int mwg_filter_dev_init(struct mwg_filter_dev *fd);
void mwg_filter_dev_uninit(struct mwg_filter_dev *fd);

/*
 * Hooks. Receive: after the allowed-ips source check, in NAPI (softirq),
 * returns false if skb must be dropped (counted, not freed). Transmit: in
 * ndo_start_xmit after the peer lookup, before segmentation.
 */
bool mwg_filter_receive(struct mwg_device *wg, struct mwg_peer *peer,
			struct sk_buff *skb);
void mwg_filter_transmit(struct mwg_device *wg, struct mwg_peer *peer,
			 struct sk_buff *skb);

/*
 * genl handlers (filter_netlink.c), listed in netlink.c's genl_ops.
 */
extern const struct nla_policy mwg_filter_set_policy[MESHWG_FILTER_A_MAX + 1];
extern const struct nla_policy mwg_filter_get_policy[MESHWG_FILTER_A_IFNAME + 1];
int mwg_filter_nl_set(struct sk_buff *skb, struct genl_info *info);
int mwg_filter_nl_clear(struct sk_buff *skb, struct genl_info *info);
int mwg_filter_nl_dump_start(struct netlink_callback *cb);
int mwg_filter_nl_dump(struct sk_buff *skb, struct netlink_callback *cb);
int mwg_filter_nl_dump_done(struct netlink_callback *cb);

#endif

#endif /* _MWG_FILTER_H */
