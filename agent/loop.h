/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The daemon's one event loop: epoll over file descriptors, timers as
 * timerfds. Every piece of meshwgd (control connection, netlink sockets,
 * local API) registers its descriptors here; nothing blocks and no thread
 * is started.
 */
#ifndef MESHWGD_LOOP_H
#define MESHWGD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(void *arg);

struct loop_watch;

struct loop {
	int epfd;
	bool stop;
	struct loop_watch **watches;	/* by fd */
	size_t nwatches;
	struct loop_watch *dead;	/* deleted, freed after the epoll round */
};

struct loop_timer {
	struct loop *loop;
	int fd;			/* timerfd, registered with the loop */
	loop_timer_cb cb;
	void *arg;
};

int loop_init(struct loop *l);
void loop_destroy(struct loop *l);

/* Watches fd for events (EPOLLIN, EPOLLOUT, ...); cb runs for each wakeup.
 * One registration per fd. 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Stops watching fd (before closing it). Safe to call from a callback,
 * also for an fd whose event is pending in the same round. */
void loop_del(struct loop *l, int fd);

/* Runs until loop_quit(). Returns 0, or -errno if epoll_wait fails. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);

/* One-shot timers. arm replaces a pending expiry; ms == 0 fires at once. */
int loop_timer_init(struct loop *l, struct loop_timer *t, loop_timer_cb cb, void *arg);
void loop_timer_arm(struct loop_timer *t, uint64_t ms);
void loop_timer_disarm(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_destroy(struct loop_timer *t);

#endif
