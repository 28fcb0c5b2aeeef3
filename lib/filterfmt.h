/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ACL rulesets in the tool: the JSON of docs/filter.md (the compiled filter
 * of docs/policy.md) to and from memory, and to and from the netlink
 * attributes of MESHWG_CMD_SET_FILTER / GET_FILTER. No I/O here.
 */
#ifndef MESHWG_FILTERFMT_H
#define MESHWG_FILTERFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netlink/msg.h>

struct fl_prefix {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t cidr;
	uint8_t addr[16];
};

struct fl_dst {
	struct fl_prefix prefix;
	uint16_t first_port, last_port;
};

struct fl_rule {
	uint8_t action;		/* MESHWG_FILTER_ACCEPT or _DENY */
	bool any_proto;
	uint8_t protos[256];	/* ascending, no duplicates; none: the default */
	size_t n_protos;
	struct fl_prefix *src;
	size_t n_src;
	struct fl_dst *dst;
	size_t n_dst;
	uint64_t packets, bytes;	/* from dumps */
};

struct fl_ruleset {
	bool installed;
	uint64_t version;
	uint64_t drops, malformed;	/* from dumps */
	uint32_t flows;			/* live tracked flows, from dumps */
	uint64_t flow_evictions;	/* from dumps */
	struct fl_rule *rules;
	size_t n_rules;
};

void fl_free(struct fl_ruleset *rs);

/*
 * Parses a ruleset: a JSON array of rules, or an object with "rules" (that
 * array) and optionally "version" (number or decimal string). Without a
 * version, it is the FNV-1a 64 hash of the rules' canonical JSON. Returns
 * 0, or -EINVAL with a message naming the culprit in err.
 */
int fl_from_json(const char *text, struct fl_ruleset *rs, char *err, size_t errlen);

/* The JSON of `meshwg filter show' (malloc'ed, NULL when out of memory). */
char *fl_to_json(const struct fl_ruleset *rs, const char *ifname);

/* Bytes of netlink attributes fl_put_rules() adds, at most. */
size_t fl_rules_size(const struct fl_ruleset *rs);
/* Adds the rules as MESHWG_FILTER_A_RULE nests (0, or -EMSGSIZE). */
int fl_put_rules(struct nl_msg *msg, const struct fl_ruleset *rs);

/*
 * Adds one GET_FILTER reply (a whole netlink message) to rs. Returns 0,
 * -EBADMSG for a malformed one, -ENOMEM.
 */
int fl_parse_msg(struct fl_ruleset *rs, const struct nlmsghdr *nlh);

#endif
