/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the few kernel APIs that kmod/{allowedips,noise,
 * cookie,ratelimiter,peerlookup}.c use, so that those very files build and
 * run under cmocka. Single-threaded model: locks are counters (checked by
 * the tests), RCU readers are no-ops and call_rcu() frees at once, which is
 * stricter than the kernel for writers (ASan catches any use after it).
 * Crypto comes from libsodium, except BLAKE2s (shim_blake2s.c).
 */
#ifndef SHIM_KERNEL_H
#define SHIM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <assert.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef uint16_t __le16, __be16, __sum16;
typedef uint32_t __le32, __be32;
typedef uint64_t __le64, __be64;

#define __force
#define __rcu
#define __percpu
#define __init
#define __ro_after_init
#define __must_check __attribute__((warn_unused_result))
#define __aligned(x) __attribute__((aligned(x)))
#define __alignof(x) __alignof__(x)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define U64_MAX UINT64_MAX
#define BITS_PER_LONG 64
#define HZ 250
#define NSEC_PER_SEC 1000000000L
#define PAGE_SHIFT 12
#define NET_SKB_PAD 64

#define cpu_to_le32(x) ((__le32)(x))
#define le32_to_cpu(x) ((u32)(x))
#define cpu_to_le64(x) ((__le64)(x))
#define le64_to_cpu(x) ((u64)(x))
#define cpu_to_be32(x) __builtin_bswap32(x)
#define be32_to_cpu(x) __builtin_bswap32(x)
#define cpu_to_be64(x) __builtin_bswap64(x)
#define be64_to_cpu(x) __builtin_bswap64(x)
#define htons(x) ((__be16)__builtin_bswap16(x))

#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min3(a, b, c) min(min(a, b), c)
#define min_t(t, a, b) min((t)(a), (t)(b))
#define clamp_t(t, v, lo, hi) min_t(t, max_t(t, v, lo), hi)
#define max_t(t, a, b) max((t)(a), (t)(b))
#define ALIGN(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ilog2(n) (63 - __builtin_clzll((unsigned long long)(n)))
#define is_power_of_2(n) ((n) != 0 && (((n) & ((n) - 1)) == 0))
#define rounddown_pow_of_two(n) (1UL << ilog2(n))
#define container_of(p, t, m) ((t *)((char *)(p) - offsetof(t, m)))
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#undef static_assert
#define static_assert(e, ...) _Static_assert(e, #e)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline int fls(u32 x) { return x ? 32 - __builtin_clz(x) : 0; }
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }

static inline void memzero_explicit(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static inline int crypto_memneq(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n) != 0;
}

static inline bool test_and_set_bit(unsigned long nr, unsigned long *addr)
{
	unsigned long mask = 1UL << (nr % BITS_PER_LONG);
	bool old = addr[nr / BITS_PER_LONG] & mask;

	addr[nr / BITS_PER_LONG] |= mask;
	return old;
}

/* ---- allocation, with fault injection ---- */
/* Allocation number shim_fail_alloc_at (1-based) fails; 0 = never. */
extern unsigned long shim_fail_alloc_at, shim_alloc_count;
extern long shim_live_allocs;
void *shim_alloc(size_t size);
void shim_free(void *p);

#define GFP_KERNEL 0
#define GFP_ATOMIC 0
#define kzalloc(s, g) shim_alloc(s)
#define kvmalloc(s, g) shim_alloc(s)
#define kvcalloc(n, s, g) shim_alloc((n) * (s))
#define kfree(p) shim_free(p)
#define kvfree(p) shim_free(p)
#define kfree_sensitive(p) shim_free(p)

struct kmem_cache { size_t size; };
struct kmem_cache *shim_kmem_cache_create(size_t size);
#define KMEM_CACHE(s, f) shim_kmem_cache_create(sizeof(struct s))
#define kmem_cache_zalloc(c, g) shim_alloc((c)->size)
#define kmem_cache_alloc(c, g) shim_alloc((c)->size)
#define kmem_cache_free(c, p) shim_free(p)
void kmem_cache_destroy(struct kmem_cache *c);
extern unsigned long shim_totalram_pages;
#define totalram_pages() shim_totalram_pages

/* ---- locks: counters, so tests can check balance ---- */
extern long shim_locks_held;
typedef struct { int held; } spinlock_t;
#define DEFINE_SPINLOCK(x) spinlock_t x = { 0 }
#define spin_lock_init(l) ((l)->held = 0)
#define spin_lock(l) ((l)->held++, shim_locks_held++)
#define spin_unlock(l) ((l)->held--, shim_locks_held--)
#define spin_lock_bh spin_lock
#define spin_unlock_bh spin_unlock
struct mutex { int held; };
#define DEFINE_MUTEX(x) struct mutex x = { 0 }
#define mutex_init(m) ((m)->held = 0)
#define mutex_destroy(m) ((void)(m))
#define mutex_lock(m) ((m)->held++, shim_locks_held++)
#define mutex_unlock(m) ((m)->held--, shim_locks_held--)
struct rw_semaphore { int readers, writers; };
#define init_rwsem(s) ((s)->readers = (s)->writers = 0)
#define down_read(s) (assert(!(s)->writers), (s)->readers++, shim_locks_held++)
#define up_read(s) ((s)->readers--, shim_locks_held--)
#define down_write(s) (assert(!(s)->writers && !(s)->readers), (s)->writers++, shim_locks_held++)
#define up_write(s) ((s)->writers--, shim_locks_held--)
#define lockdep_assert_held(l) assert((l)->held > 0)
#define lockdep_is_held(l) ((l)->held > 0)

/* ---- atomics and kref ---- */
typedef struct { int counter; } atomic_t;
typedef struct { s64 counter; } atomic64_t;
#define ATOMIC_INIT(i) { (i) }
#define ATOMIC64_INIT(i) { (i) }
#define atomic_inc_return(a) (++(a)->counter)
#define atomic_dec(a) ((void)--(a)->counter)
#define atomic_read(a) ((a)->counter)
#define atomic64_set(a, v) ((a)->counter = (v))
#define atomic64_read(a) ((a)->counter)
#define atomic64_inc_return(a) (++(a)->counter)
struct kref { int refcount; };
#define kref_init(k) ((k)->refcount = 1)
#define kref_get(k) ((void)(k)->refcount++)
static inline bool kref_get_unless_zero(struct kref *k)
{
	if (!k->refcount)
		return false;
	k->refcount++;
	return true;
}
static inline int kref_put(struct kref *k, void (*release)(struct kref *))
{
	if (--k->refcount)
		return 0;
	release(k);
	return 1;
}

/* ---- RCU ---- */
struct rcu_head { void (*func)(struct rcu_head *); };
#define rcu_read_lock() do { } while (0)
#define rcu_read_unlock() do { } while (0)
#define rcu_read_lock_bh() do { } while (0)
#define rcu_read_unlock_bh() do { } while (0)
#define rcu_read_lock_bh_held() 1
#define RCU_LOCKDEP_WARN(c, s) do { } while (0)
#define rcu_dereference(p) (p)
#define rcu_dereference_bh(p) (p)
#define rcu_dereference_protected(p, c) (assert(c), (p))
#define rcu_access_pointer(p) (p)
#define rcu_assign_pointer(p, v) ((p) = (v))
#define RCU_INIT_POINTER(p, v) ((p) = (v))
#define call_rcu(h, f) (f)(h)
#define rcu_barrier() do { } while (0)

/* ---- lists ---- */
struct list_head { struct list_head *next, *prev; };
#define INIT_LIST_HEAD(l) ((l)->next = (l)->prev = (l))
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}
static inline void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	INIT_LIST_HEAD(n);
}
#define list_empty(h) ((h)->next == (h))
#define list_entry(p, t, m) container_of(p, t, m)
#define list_first_entry(h, t, m) list_entry((h)->next, t, m)
#define list_next_entry(p, m) list_entry((p)->m.next, __typeof__(*(p)), m)
#define list_for_each_entry(p, h, m) \
	for (p = list_first_entry(h, __typeof__(*p), m); &p->m != (h); \
	     p = list_next_entry(p, m))
#define list_for_each_entry_from(p, h, m) \
	for (; &p->m != (h); p = list_next_entry(p, m))
#define list_for_each_entry_safe(p, n, h, m) \
	for (p = list_first_entry(h, __typeof__(*p), m), \
	     n = list_next_entry(p, m); &p->m != (h); \
	     p = n, n = list_next_entry(n, m))

struct hlist_node { struct hlist_node *next, **pprev; };
struct hlist_head { struct hlist_node *first; };
#define INIT_HLIST_HEAD(h) ((h)->first = NULL)
#define INIT_HLIST_NODE(n) ((n)->next = NULL, (n)->pprev = NULL)
#define hlist_unhashed(n) (!(n)->pprev)
static inline void hlist_add_head_rcu(struct hlist_node *n,
				      struct hlist_head *h)
{
	n->next = h->first;
	n->pprev = &h->first;
	if (h->first)
		h->first->pprev = &n->next;
	h->first = n;
}
static inline void hlist_del_rcu(struct hlist_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->pprev = NULL;
}
static inline void hlist_del_init_rcu(struct hlist_node *n)
{
	if (!hlist_unhashed(n))
		hlist_del_rcu(n);
}
static inline void hlist_replace_rcu(struct hlist_node *old,
				     struct hlist_node *n)
{
	n->next = old->next;
	n->pprev = old->pprev;
	*n->pprev = n;
	if (n->next)
		n->next->pprev = &n->next;
	old->pprev = (struct hlist_node **)0x122;
}
#define hlist_entry_safe(p, t, m) ((p) ? container_of(p, t, m) : NULL)
#define hlist_for_each_entry(p, h, m) \
	for (p = hlist_entry_safe((h)->first, __typeof__(*p), m); p; \
	     p = hlist_entry_safe(p->m.next, __typeof__(*p), m))
#define hlist_for_each_entry_rcu(p, h, m, ...) hlist_for_each_entry(p, h, m)
#define hlist_for_each_entry_rcu_bh(p, h, m) hlist_for_each_entry(p, h, m)
#define hlist_for_each_entry_safe(p, n, h, m) \
	for (p = hlist_entry_safe((h)->first, __typeof__(*p), m); \
	     p && ((n) = p->m.next, 1); \
	     p = hlist_entry_safe(n, __typeof__(*p), m))
#define DECLARE_HASHTABLE(name, bits) struct hlist_head name[1 << (bits)]
#define HASH_SIZE(name) ARRAY_SIZE(name)
#define hash_init(t) memset(t, 0, sizeof(t))

/* ---- time, randomness, work ---- */
extern u64 shim_now_ns;		/* boottime clock, tests move it */
extern s64 shim_realtime_sec;	/* wall clock for TAI64N */
extern long shim_realtime_nsec;
struct timespec64 { s64 tv_sec; long tv_nsec; };
#define ktime_get_coarse_boottime_ns() shim_now_ns
static inline void ktime_get_real_ts64(struct timespec64 *ts)
{
	ts->tv_sec = shim_realtime_sec;
	ts->tv_nsec = shim_realtime_nsec;
}
void get_random_bytes(void *buf, size_t len);
u32 get_random_u32(void);
void shim_random_seed(u64 seed);

struct work_struct { int pending; };
struct delayed_work { struct work_struct work; void (*func)(struct work_struct *); };
#define DECLARE_DEFERRABLE_WORK(n, f) struct delayed_work n = { { 0 }, f }
extern int system_power_efficient_wq;
#define queue_delayed_work(wq, w, d) ((w)->work.pending = 1)
#define cancel_delayed_work_sync(w) ((w)->work.pending = 0)

typedef struct { u64 key[2]; } siphash_key_t;
static inline u64 siphash(const void *data, size_t len, const siphash_key_t *k)
{
	const u8 *p = data;
	u64 h = k->key[0] ^ 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h ^ k->key[1];
}
static inline u64 siphash_2u64(u64 a, u64 b, const siphash_key_t *k)
{
	u64 v[2] = { a, b };

	return siphash(v, sizeof(v), k);
}
static inline u64 siphash_3u64(u64 a, u64 b, u64 c, const siphash_key_t *k)
{
	u64 v[3] = { a, b, c };

	return siphash(v, sizeof(v), k);
}

/* ---- networking ---- */
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
struct in_addr { __be32 s_addr; };
struct in6_addr { u8 s6_addr[16]; };
struct iphdr {
	u8 ihl_version, tos;
	__be16 tot_len, id, frag_off;
	u8 ttl, protocol;
	__sum16 check;
	__be32 saddr, daddr;
};
struct ipv6hdr {
	u8 vtc[4];
	__be16 payload_len;
	u8 nexthdr, hop_limit;
	struct in6_addr saddr, daddr;
};
struct udphdr { __be16 source, dest, len; __sum16 check; };
struct sk_buff {
	u8 *data;
	unsigned int len;
	__be16 protocol;
	u8 *network_header, *transport_header;
	char cb[48] __attribute__((aligned(8)));
};
#define ip_hdr(skb) ((struct iphdr *)(skb)->network_header)
#define ipv6_hdr(skb) ((struct ipv6hdr *)(skb)->network_header)
#define udp_hdr(skb) ((struct udphdr *)(skb)->transport_header)
struct net { int id; };
struct net_device { char name[16]; struct net *net; };
#define dev_net(d) ((d)->net)
#define net_dbg_ratelimited(...) do { } while (0)
#define pr_debug(...) do { } while (0)

#endif /* SHIM_KERNEL_H */
