/* SPDX-License-Identifier: MIT */
/* Internal state of a compiled policy (compile.c, filter.c). */
#ifndef MESHWG_POLICY_COMPILE_INT_H
#define MESHWG_POLICY_COMPILE_INT_H

#include "policy_int.h"

#define NO_USER SIZE_MAX

struct cnode {
	bool live;
	uint64_t id;
	char *user;
	char **tags;
	size_t n_tags;
	struct policy_prefix addr[2];
	size_t n_addr;
	struct policy_prefix *routes;
	size_t n_routes;
	bool exit_node;
	size_t uidx;		/* users[] index; NO_USER when tagged/none */
};

struct cuser {
	char *name;
	uint64_t *groups;	/* bitset over policy groups */
	uint64_t *nodes;	/* bitset over slots: untagged nodes */
};

struct crule {
	uint64_t *src_id;	/* nodes whose addresses are in the src */
	uint64_t *src;		/* src_id + nodes inside src prefixes */
	uint64_t *src_vis;	/* src + routers whose routes overlap src */
	uint64_t *dst;		/* nodes hit by a non-self destination */
	bool has_self;
	struct policy_prefix *src_static;
	size_t n_src_static;
	struct policy_prefix *src_pfx;	/* normalized, static + src_id */
	size_t n_src_pfx;
};

struct idslot {
	uint64_t id;
	size_t slot;
};

struct policy_compiled {
	const struct policy *p;
	struct cnode *nodes;
	size_t n_slots, cap_slots, words;	/* words per node bitset */
	size_t *free_slots;
	size_t n_free;
	struct idslot *index;	/* sorted by id */
	size_t n_index;
	struct crule *rules;
	struct cuser *users;
	size_t n_users, cap_users;
	size_t *user_hash;	/* open addressing, SIZE_MAX = empty */
	size_t user_hash_cap;
	size_t gwords;		/* words per group bitset */
};

static inline bool bt(const uint64_t *b, size_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static inline void bset(uint64_t *b, size_t i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

static inline void bclr(uint64_t *b, size_t i)
{
	b[i / 64] &= ~(1ULL << (i % 64));
}

/* slot of id, or SIZE_MAX */
size_t pc_slot(const struct policy_compiled *pc, uint64_t id);
/* The slots of user u's untagged nodes, malloc'ed. 0 or -ENOMEM. */
int pc_user_slots(const struct policy_compiled *pc, size_t u, size_t **out,
		  size_t *n);
/* peers of slot as a bitset of pc->words words */
int pc_peer_bits(const struct policy_compiled *pc, size_t slot,
		 uint64_t *out);
bool pc_dst_hits(const struct dst_entry *e, const struct cnode *n,
		 const struct policy *p, const struct policy_compiled *pc);
bool pc_identity(const struct policy_compiled *pc, const struct alias *a,
		 const struct cnode *n);

#endif
