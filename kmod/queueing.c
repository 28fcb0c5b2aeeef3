// SPDX-License-Identifier: GPL-2.0
/* Crypto rings, per-CPU workers and the lock-free per-peer ordered queue. */
#include "queueing.h"
#include <linux/skb_array.h>

struct mwg_multicore_worker __percpu *
mwg_packet_percpu_multicore_worker_alloc(work_func_t function, void *ptr)
{
	struct mwg_multicore_worker __percpu *worker;
	int cpu;

	worker = alloc_percpu(struct mwg_multicore_worker);
	if (!worker)
		return NULL;
	for_each_possible_cpu(cpu) {
		per_cpu_ptr(worker, cpu)->ptr = ptr;
		INIT_WORK(&per_cpu_ptr(worker, cpu)->work, function);
	}
	return worker;
}

int mwg_packet_queue_init(struct mwg_crypt_queue *queue, work_func_t function,
			  unsigned int len)
{
	int ret;

	memset(queue, 0, sizeof(*queue));
	queue->last_cpu = -1;
	ret = ptr_ring_init(&queue->ring, len, GFP_KERNEL);
	if (ret)
		return ret;
	queue->worker = mwg_packet_percpu_multicore_worker_alloc(function,
								 queue);
	if (!queue->worker) {
		ptr_ring_cleanup(&queue->ring, NULL);
		return -ENOMEM;
	}
	return 0;
}

void mwg_packet_queue_free(struct mwg_crypt_queue *queue, bool purge)
{
	free_percpu(queue->worker);
	WARN_ON(!purge && !__ptr_ring_empty(&queue->ring));
	ptr_ring_cleanup(&queue->ring, purge ? __skb_array_destroy_skb : NULL);
}

/*
 * The per-peer queue is an intrusive MPSC list threaded through skb->prev
 * (skb->next chains the packets of one GSO burst, which travel as a unit).
 * The stub node lives in the queue itself and has the layout of the first
 * two pointers of struct sk_buff, so it can stand in for one.
 */
#define STUB(queue) ((struct sk_buff *)&(queue)->empty)
#define LINK(skb) ((skb)->prev)

void mwg_prev_queue_init(struct mwg_prev_queue *queue)
{
	BUILD_BUG_ON(offsetof(struct sk_buff, next) !=
		     offsetof(struct mwg_prev_queue, empty.next) -
		     offsetof(struct mwg_prev_queue, empty));
	BUILD_BUG_ON(offsetof(struct sk_buff, prev) !=
		     offsetof(struct mwg_prev_queue, empty.prev) -
		     offsetof(struct mwg_prev_queue, empty));
	LINK(STUB(queue)) = NULL;
	queue->head = queue->tail = STUB(queue);
	queue->peeked = NULL;
	atomic_set(&queue->count, 0);
}

static void __prev_queue_push(struct mwg_prev_queue *queue,
			      struct sk_buff *skb)
{
	struct sk_buff *prev;

	WRITE_ONCE(LINK(skb), NULL);
	prev = xchg_release(&queue->head, skb);
	/* Publishes skb to the consumer. */
	smp_store_release(&LINK(prev), skb);
}

bool mwg_prev_queue_enqueue(struct mwg_prev_queue *queue, struct sk_buff *skb)
{
	if (!atomic_add_unless(&queue->count, 1, MAX_QUEUED_PACKETS))
		return false;
	__prev_queue_push(queue, skb);
	return true;
}

struct sk_buff *mwg_prev_queue_dequeue(struct mwg_prev_queue *queue)
{
	struct sk_buff *tail = queue->tail;
	/* Pairs with the release in __prev_queue_push(): skb fully written. */
	struct sk_buff *next = smp_load_acquire(&LINK(tail));

	if (tail == STUB(queue)) {
		if (!next)
			return NULL;
		queue->tail = next;
		tail = next;
		/* As above: the producer's release published it. */
		next = smp_load_acquire(&LINK(next));
	}
	if (next) {
		queue->tail = next;
		atomic_dec(&queue->count);
		LINK(tail) = NULL;
		return tail;
	}
	/* tail is the last node; a producer may be half way through. */
	if (tail != READ_ONCE(queue->head))
		return NULL;
	__prev_queue_push(queue, STUB(queue));
	/* As above, now that the stub is behind the last producer's skb. */
	next = smp_load_acquire(&LINK(tail));
	if (next) {
		queue->tail = next;
		atomic_dec(&queue->count);
		LINK(tail) = NULL;
		return tail;
	}
	return NULL;
}
