// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's event loop (loop.h). */

#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>

struct loop_watch {
	int fd;
	loop_fd_cb cb;
	void *arg;
	struct loop_watch *next_dead;
};

int loop_init(struct loop *l)
{
	l->stop = false;
	l->watches = NULL;
	l->nwatches = 0;
	l->dead = NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static void reap(struct loop *l)
{
	while (l->dead) {
		struct loop_watch *w = l->dead;

		l->dead = w->next_dead;
		free(w);
	}
}

void loop_destroy(struct loop *l)
{
	for (size_t i = 0; i < l->nwatches; i++)
		if (l->watches[i])
			loop_del(l, (int)i);
	reap(l);
	free(l->watches);
	l->watches = NULL;
	l->nwatches = 0;
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct loop_watch *w;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= l->nwatches) {
		size_t n = (size_t)fd + 64;
		struct loop_watch **nw = realloc(l->watches, n * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		memset(nw + l->nwatches, 0, (n - l->nwatches) * sizeof(*nw));
		l->watches = nw;
		l->nwatches = n;
	}
	if (l->watches[fd])
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	l->watches[fd] = w;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd])
		return -ENOENT;
	ev.data.ptr = l->watches[fd];
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, int fd)
{
	struct loop_watch *w;

	if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd])
		return;
	w = l->watches[fd];
	l->watches[fd] = NULL;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->cb = NULL;
	w->next_dead = l->dead;
	l->dead = w;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct loop_watch *w = evs[i].data.ptr;

			if (w->cb)
				w->cb(w->fd, evs[i].events, w->arg);
		}
		reap(l);
	}
	return 0;
}

void loop_quit(struct loop *l)
{
	l->stop = true;
}

static void timer_fired(int fd, uint32_t events, void *arg)
{
	struct loop_timer *t = arg;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	t->cb(t->arg);
}

int loop_timer_init(struct loop *l, struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	int ret;

	t->loop = l;
	t->cb = cb;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	ret = loop_add(l, t->fd, EPOLLIN, timer_fired, t);
	if (ret) {
		close(t->fd);
		t->fd = -1;
	}
	return ret;
}

static void timer_set(struct loop_timer *t, uint64_t ms)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timerfd_settime(t->fd, 0, &its, NULL);
}

void loop_timer_arm(struct loop_timer *t, uint64_t ms)
{
	/* A zero it_value would disarm: fire after 1 ns instead. */
	if (!ms) {
		struct itimerspec its = { .it_value = { .tv_nsec = 1 } };

		timerfd_settime(t->fd, 0, &its, NULL);
		return;
	}
	timer_set(t, ms);
}

void loop_timer_disarm(struct loop_timer *t)
{
	uint64_t expirations;

	timer_set(t, 0);
	/* Drop an expiry that fired but was not read yet. */
	if (read(t->fd, &expirations, sizeof(expirations)) < 0)
		errno = 0;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	struct itimerspec its;

	if (timerfd_gettime(t->fd, &its) < 0)
		return false;
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

void loop_timer_destroy(struct loop_timer *t)
{
	if (t->fd < 0)
		return;
	loop_del(t->loop, t->fd);
	close(t->fd);
	t->fd = -1;
}
