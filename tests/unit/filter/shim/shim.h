/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the kernel APIs kmod/filter.c uses, so that the
 * very same file builds under cmocka and in bench/filter_bench. Locks are
 * counters checked for balance, allocations can be made to fail
 * (shim_fail_alloc_after), randomness is a fixed-seed generator.
 */
#ifndef FILTER_SHIM_H
#define FILTER_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <assert.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define __rcu
#define __aligned(x) __attribute__((aligned(x)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) min((t)(a), (t)(b))
#define clamp(v, lo, hi) min(max(v, lo), hi)
#define struct_size(p, member, n) \
	(sizeof(*(p)) + sizeof((p)->member[0]) * (size_t)(n))
#define hweight32(x) __builtin_popcount(x)

/* Not everywhere in libc's headers. */
#ifndef IPPROTO_DCCP
#define IPPROTO_DCCP 33
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

struct iphdr { u8 b[20]; };
struct ipv6hdr { u8 b[40]; };

/* Atomics (the tests are single-threaded; still the real operations). */
typedef struct { int64_t v; } atomic64_t;
typedef struct { int v; } atomic_t;
typedef struct { int v; } refcount_t;
#define atomic64_set(a, x) __atomic_store_n(&(a)->v, (x), __ATOMIC_RELAXED)
#define atomic64_read(a) __atomic_load_n(&(a)->v, __ATOMIC_RELAXED)
#define atomic64_inc(a) __atomic_add_fetch(&(a)->v, 1, __ATOMIC_RELAXED)
#define atomic64_add(x, a) __atomic_add_fetch(&(a)->v, (x), __ATOMIC_RELAXED)
#define refcount_set(r, x) ((r)->v = (x))
#define refcount_inc(r) ((r)->v++)
#define refcount_dec_and_test(r) (--(r)->v == 0)

/* Locks: counters, so tests can check every lock was released. */
typedef struct { int held; } spinlock_t;
extern long shim_locks_held;
#define spin_lock_init(l) ((l)->held = 0)
#define spin_lock_bh(l) do { assert(!(l)->held); (l)->held = 1; shim_locks_held++; } while (0)
#define spin_unlock_bh(l) do { assert((l)->held); (l)->held = 0; shim_locks_held--; } while (0)

struct rcu_head { void *next; };

typedef struct { u64 key[2]; } siphash_key_t;
u64 siphash(const void *data, size_t len, const siphash_key_t *key);

/* Allocation; shim_fail_alloc_after = n makes the (n+1)th call fail. */
#define GFP_KERNEL 0
#define GFP_KERNEL_ACCOUNT 0
extern long shim_fail_alloc_after;
void *shim_zalloc(size_t n);
#define kzalloc(n, gfp) shim_zalloc(n)
#define kvzalloc(n, gfp) shim_zalloc(n)
#define kfree(p) free(p)
#define kvfree(p) free(p)

void sort(void *base, size_t num, size_t size,
	  int (*cmp)(const void *, const void *), void *swap);
void get_random_bytes(void *buf, size_t len);
#define cond_resched() do { } while (0)

#define module_param_named(name, var, type, perm)
#define MODULE_PARM_DESC(name, desc)

#endif
