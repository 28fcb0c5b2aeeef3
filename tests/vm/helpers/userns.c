// SPDX-License-Identifier: GPL-2.0
/*
 * userns: runs a command as root of a new user namespace created by an
 * unprivileged user, in a new network namespace owned by it, the way
 * `unshare -Urn` would as that user.
 *
 *   userns UID CMD [ARG...]
 *
 * The VM suites run chrooted into the host's root, and the kernel refuses
 * CLONE_NEWUSER to a chrooted process. So, as real root: leave the chroot for
 * PID 1's root (the initramfs), drop to UID (no groups), unshare the user and
 * network namespaces, map root inside to UID outside, and chroot back (root
 * of the new user namespace may) before running CMD.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_file(int dirfd, const char *path, const char *text)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void die(const char *what)
{
	fprintf(stderr, "userns: %s: %s\n", what, strerror(errno));
	exit(125);
}

int main(int argc, char *argv[])
{
	char map[64];
	int rootfd, cwdfd, procfd;
	char *end;
	long uid;

	if (argc < 3) {
		fputs("usage: userns UID CMD [ARG...]\n", stderr);
		return 2;
	}
	uid = strtol(argv[1], &end, 10);
	if (*end || uid <= 0 || uid > 0x7fffffff) {
		fprintf(stderr, "userns: bad uid '%s'\n", argv[1]);
		return 2;
	}
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Opened now: the initramfs's / is not searchable by the user. */
	procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || cwdfd < 0 || procfd < 0)
		die("open /, . and /proc/self");
	if (chdir("/proc/1/root") || chroot("."))
		die("leave the chroot");
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		die("drop to the unprivileged user");
	/* A uid change makes /proc/self root's; the maps need it ours. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		die("PR_SET_DUMPABLE");
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		die("unshare(CLONE_NEWUSER | CLONE_NEWNET)");
	snprintf(map, sizeof(map), "0 %ld 1\n", uid);
	if (write_file(procfd, "setgroups", "deny\n"))
		die("/proc/self/setgroups");
	if (write_file(procfd, "uid_map", map))
		die("/proc/self/uid_map");
	if (write_file(procfd, "gid_map", map))
		die("/proc/self/gid_map");
	if (fchdir(rootfd) || chroot(".") || fchdir(cwdfd))
		die("chroot back");
	execvp(argv[2], argv + 2);
	die(argv[2]);
}
