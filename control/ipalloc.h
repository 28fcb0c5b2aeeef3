/* SPDX-License-Identifier: MIT */
/* Address allocation for nodes over a tailnet prefix (lib/prefix.h). */
#ifndef MWG_IPALLOC_H
#define MWG_IPALLOC_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#include "../lib/prefix.h"

/* An address allocator over one prefix: a set of used addresses and a
 * cursor. The network and (v4) broadcast addresses and .0/.255-ish reserved
 * ones are never handed out. Allocation is sequential from the last
 * allocation and wraps, so a freed address is not reused immediately. */
struct mwg_ipalloc;

struct mwg_ipalloc *mwg_ipalloc_new(const struct kprefix *p);
void mwg_ipalloc_free(struct mwg_ipalloc *a);
/* Marks addr (text) as used; returns 0, or -1 if outside the prefix/bad. */
int mwg_ipalloc_mark(struct mwg_ipalloc *a, const char *addr);
int mwg_ipalloc_release(struct mwg_ipalloc *a, const char *addr);
bool mwg_ipalloc_is_used(const struct mwg_ipalloc *a, const char *addr);
/* Continues allocating after addr (text, inside the prefix). 0 or -1. */
int mwg_ipalloc_set_cursor(struct mwg_ipalloc *a, const char *addr);
/* Picks a free address, marks it used and writes its text. -1 when full. */
int mwg_ipalloc_next(struct mwg_ipalloc *a, char *out, size_t outlen);
size_t mwg_ipalloc_count(const struct mwg_ipalloc *a);

#endif
