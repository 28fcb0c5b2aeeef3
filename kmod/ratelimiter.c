// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: per-source ratelimiter.
 *
 * When a device is under load, each handshake message must come from a
 * source that still has budget: a token bucket per (network namespace,
 * IPv4 address or IPv6 /64). The same tables hold the other per-source
 * buckets (mwg_ratelimiter_allow_source() and _allow_key()): STUN/disco
 * datagrams per (device, source address), injected datagrams per (device,
 * relay), injected handshakes per (device, relay sender). Buckets live in
 * global hash tables shared by every device, read under RCU (no lock is
 * shared between sources on the packet path), and a work item drops the ones
 * that have been idle for a second. The tables are bounded; when they are
 * full, packets from unknown sources are refused.
 */

#include "ratelimiter.h"

#include <linux/hashtable.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rculist.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <net/ip.h>

struct ratelimiter_entry {
	u64 last_ns;
	u64 tokens;
	u64 ip;			/* IPv4 address, IPv6 /64 prefix, or a key */
	const void *owner;	/* the netns or device; compared, never used */
	unsigned int kind;	/* enum mwg_ratelimit_kind */
	spinlock_t lock;	/* protects last_ns and tokens */
	struct hlist_node hash;
	struct rcu_head rcu;
};

enum { GC_INTERVAL = HZ, ENTRY_IDLE_NS = NSEC_PER_SEC };

static DEFINE_MUTEX(init_lock);
static unsigned int init_refcount;

/* All below set up by the first init and torn down by the last uninit. */
static struct kmem_cache *entry_cache;
static struct hlist_head *table_v4, *table_v6;
static unsigned int table_size, max_entries;
static atomic_t total_entries = ATOMIC_INIT(0);
static DEFINE_SPINLOCK(table_lock);	/* writers of both tables */
static siphash_key_t key;
static void gc_entries(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(gc_work, gc_entries);

bool mwg_token_bucket_take(u64 *tokens, u64 *last_ns, u64 now_ns, u32 rate,
			   u32 burst)
{
	u64 max = (u64)burst * NSEC_PER_SEC, t = min(*tokens, max), add;
	u64 elapsed = now_ns > *last_ns ? now_ns - *last_ns : 0;

	if (!rate || !burst)
		return false;
	/* Refill by the time elapsed, never past a full bucket or 2^64. */
	if (check_mul_overflow(elapsed, (u64)rate, &add) || add >= max - t)
		t = max;
	else
		t += add;
	*last_ns = now_ns;
	if (t < NSEC_PER_SEC) {
		*tokens = t;
		return false;
	}
	*tokens = t - NSEC_PER_SEC;
	return true;
}

static void entry_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(entry_cache,
			container_of(rcu, struct ratelimiter_entry, rcu));
	atomic_dec(&total_entries);
}

static void entry_unlink(struct ratelimiter_entry *entry)
{
	hlist_del_rcu(&entry->hash);
	call_rcu(&entry->rcu, entry_free_rcu);
}

/* Drops idle buckets, or every bucket when all is true. */
static void gc_table(struct hlist_head *table, u64 now, bool all)
{
	struct ratelimiter_entry *entry;
	struct hlist_node *tmp;
	unsigned int i;
	bool idle;

	for (i = 0; i < table_size; ++i) {
		spin_lock_bh(&table_lock);
		hlist_for_each_entry_safe(entry, tmp, &table[i], hash) {
			spin_lock(&entry->lock);
			idle = now > entry->last_ns &&
			       now - entry->last_ns > ENTRY_IDLE_NS;
			spin_unlock(&entry->lock);
			if (all || idle)
				entry_unlink(entry);
		}
		spin_unlock_bh(&table_lock);
	}
}

static void gc_entries(struct work_struct *work)
{
	const u64 now = ktime_get_coarse_boottime_ns();

	gc_table(table_v4, now, false);
	gc_table(table_v6, now, false);
	queue_delayed_work(system_power_efficient_wq, &gc_work, GC_INTERVAL);
}

static bool allow(struct hlist_head *table, u64 ip, const void *owner,
		  unsigned int kind, u32 rate, u32 burst)
{
	struct ratelimiter_entry *entry;
	struct hlist_head *bucket;
	u64 now;
	bool ret;

	if (!rate || !burst)
		return false;
	bucket = &table[siphash_3u64(ip, (u64)(uintptr_t)owner, kind, &key) &
			(table_size - 1)];
	now = ktime_get_coarse_boottime_ns();

	rcu_read_lock();
	hlist_for_each_entry_rcu(entry, bucket, hash) {
		if (entry->ip == ip && entry->owner == owner &&
		    entry->kind == kind) {
			spin_lock_bh(&entry->lock);
			ret = mwg_token_bucket_take(&entry->tokens,
					&entry->last_ns, now, rate, burst);
			spin_unlock_bh(&entry->lock);
			rcu_read_unlock();
			return ret;
		}
	}
	rcu_read_unlock();

	/* A new source: it starts with a full bucket, minus this packet. */
	if (atomic_inc_return(&total_entries) > max_entries)
		goto refuse;
	entry = kmem_cache_alloc(entry_cache, GFP_ATOMIC);
	if (!entry)
		goto refuse;
	entry->ip = ip;
	entry->owner = owner;
	entry->kind = kind;
	entry->last_ns = now;
	entry->tokens = (u64)(burst - 1) * NSEC_PER_SEC;
	spin_lock_init(&entry->lock);
	spin_lock_bh(&table_lock);
	hlist_add_head_rcu(&entry->hash, bucket);
	spin_unlock_bh(&table_lock);
	return true;

refuse:
	atomic_dec(&total_entries);
	return false;
}

/* IPv4 address or IPv6 /64 of skb's source: what one host easily hops in. */
static struct hlist_head *source_of(const struct sk_buff *skb, u64 *ip)
{
	if (skb->protocol == htons(ETH_P_IP)) {
		*ip = (__force u64)ip_hdr(skb)->saddr;
		return table_v4;
	}
	if (skb->protocol == htons(ETH_P_IPV6)) {
		memcpy(ip, &ipv6_hdr(skb)->saddr, sizeof(*ip));
		return table_v6;
	}
	return NULL;
}

bool mwg_ratelimiter_allow(struct sk_buff *skb, struct net *net)
{
	struct hlist_head *table;
	u64 ip;

	table = source_of(skb, &ip);
	return table && allow(table, ip, net, MWG_RATELIMIT_HANDSHAKE,
			      MWG_RATELIMITER_PACKETS_PER_SECOND,
			      MWG_RATELIMITER_PACKETS_BURSTABLE);
}

bool mwg_ratelimiter_allow_source(const struct sk_buff *skb,
				  const void *owner, unsigned int kind,
				  u32 rate, u32 burst)
{
	struct hlist_head *table;
	u64 ip;

	table = source_of(skb, &ip);
	return table && allow(table, ip, owner, kind, rate, burst);
}

bool mwg_ratelimiter_allow_key(u64 id, const void *owner, unsigned int kind,
			       u32 rate, u32 burst)
{
	return allow(table_v4, id, owner, kind, rate, burst);
}

static struct hlist_head *table_alloc(void)
{
	struct hlist_head *table;
	unsigned int i;

	table = kvcalloc(table_size, sizeof(*table), GFP_KERNEL);
	if (table)
		for (i = 0; i < table_size; ++i)
			INIT_HLIST_HEAD(&table[i]);
	return table;
}

int mwg_ratelimiter_init(void)
{
	unsigned long buckets;

	mutex_lock(&init_lock);
	if (init_refcount++)
		goto out;

	entry_cache = KMEM_CACHE(ratelimiter_entry, 0);
	if (!entry_cache)
		goto err;

	/*
	 * One bucket per 16 KiB of RAM, from 16 up to 8192 (a power of two),
	 * and at most 8 entries per bucket on average.
	 */
	buckets = (totalram_pages() << PAGE_SHIFT) / (16 * 1024) /
		  sizeof(struct hlist_head);
	table_size = clamp_t(unsigned long, buckets ?
			     rounddown_pow_of_two(buckets) : 16, 16, 8192);
	max_entries = table_size * 8;

	table_v4 = table_alloc();
	table_v6 = table_alloc();
	if (!table_v4 || !table_v6)
		goto err_tables;

	get_random_bytes(&key, sizeof(key));
	queue_delayed_work(system_power_efficient_wq, &gc_work, GC_INTERVAL);
out:
	mutex_unlock(&init_lock);
	return 0;

err_tables:
	kvfree(table_v4);
	kvfree(table_v6);
	table_v4 = NULL;
	table_v6 = NULL;
	kmem_cache_destroy(entry_cache);
	entry_cache = NULL;
err:
	--init_refcount;
	mutex_unlock(&init_lock);
	return -ENOMEM;
}

void mwg_ratelimiter_uninit(void)
{
	mutex_lock(&init_lock);
	if (!init_refcount || --init_refcount)
		goto out;

	cancel_delayed_work_sync(&gc_work);
	gc_table(table_v4, 0, true);
	gc_table(table_v6, 0, true);
	/* Wait for every entry_free_rcu() before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(entry_cache);
	entry_cache = NULL;
	kvfree(table_v4);
	kvfree(table_v6);
	table_v4 = NULL;
	table_v6 = NULL;
out:
	mutex_unlock(&init_lock);
}
