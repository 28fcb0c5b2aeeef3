// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: kmod/filter.c's packet parser and the decision that
 * follows it. The input is a packet as a peer would send it; it is parsed
 * (mwg_filter_parse, whatever the bytes), and when it parses it goes through
 * mwg_filter_decide() against a small fixed ruleset and a flow table, and
 * its mirror image through mwg_flow_outbound(). Checks: no memory error
 * (ASan/UBSan), parsed fields within the packet, locks balanced.
 */
#include "shim.h"
#include "filter.h"

#include <arpa/inet.h>
#include <stdio.h>

static struct mwg_filter *f;
static struct mwg_flow_table *ft;

static struct mwg_filter_prefix pfx(const char *a, u8 cidr)
{
	struct mwg_filter_prefix p = { .cidr = cidr };

	if (inet_pton(AF_INET, a, p.addr) == 1) {
		p.family = AF_INET;
	} else {
		p.family = AF_INET6;
		if (inet_pton(AF_INET6, a, p.addr) != 1)
			abort();
	}
	return p;
}

static void setup(void)
{
	const char *err;

	f = mwg_filter_alloc(3, 3, 3, 1, &err);
	ft = mwg_flow_table_create(256);
	if (!f || !ft)
		abort();
	/* deny 10.0.0.66 -> any; accept 10/8 -> 10.0.0.1:22-80 TCP; any v6 -> fd00::/8 */
	f->rules[0] = (struct mwg_filter_rule){ .action = MESHWG_FILTER_DENY,
		.src_off = 0, .n_src = 1, .dst_off = 0, .n_dst = 1 };
	f->src[0] = pfx("10.0.0.66", 32);
	f->dst[0] = (struct mwg_filter_dst){ pfx("0.0.0.0", 0), 0, 65535 };
	f->rules[1] = (struct mwg_filter_rule){ .action = MESHWG_FILTER_ACCEPT,
		.src_off = 1, .n_src = 1, .dst_off = 1, .n_dst = 1 };
	f->rules[1].proto_map[0] = 1U << 6;
	f->src[1] = pfx("10.0.0.0", 8);
	f->dst[1] = (struct mwg_filter_dst){ pfx("10.0.0.1", 32), 22, 80 };
	f->rules[2] = (struct mwg_filter_rule){ .action = MESHWG_FILTER_ACCEPT,
		.any_proto = true, .src_off = 2, .n_src = 1, .dst_off = 2,
		.n_dst = 1 };
	f->src[2] = pfx("::", 0);
	f->dst[2] = (struct mwg_filter_dst){ pfx("fd00::", 8), 0, 65535 };
	if (mwg_filter_compile(f, &err)) {
		fprintf(stderr, "compile: %s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static u64 now = 1000000000ULL;
	struct mwg_filter_pkt pkt, out;
	u32 cap, len, rule;

	if (!f)
		setup();
	if (size < 2)
		return 0;
	/* The first byte says how much of the packet the parser may see. */
	len = (u32)size - 1;
	cap = data[0] == 0xff ? len : min_t(u32, len, data[0]);
	if (mwg_filter_parse(data + 1, cap, len, &pkt))
		return 0;
	if (pkt.t.family != AF_INET && pkt.t.family != AF_INET6)
		abort();
	if (pkt.len > len)
		abort();
	if ((pkt.flags & MWG_PKT_FIRST_FRAG) && (pkt.flags & MWG_PKT_LATER_FRAG))
		abort();
	now += 1000000;
	mwg_filter_decide(f, ft, 1 + data[0] % 3, &pkt, now, &rule);
	if (rule != MWG_FILTER_NONE && rule >= f->n_rules)
		abort();
	/* The same packet sent by us opens or refreshes a flow ... */
	out = pkt;
	memcpy(out.t.src, pkt.t.dst, 16);
	memcpy(out.t.dst, pkt.t.src, 16);
	out.t.sport = pkt.t.dport;
	out.t.dport = pkt.t.sport;
	mwg_flow_outbound(ft, 1 + data[0] % 3, &out, now);
	/* ... and then the packet is return traffic. */
	mwg_filter_decide(f, ft, 1 + data[0] % 3, &pkt, now, &rule);
	if (shim_locks_held)
		abort();
	return 0;
}
