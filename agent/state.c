// SPDX-License-Identifier: GPL-2.0 OR MIT
/* meshwgd's state directory (state.h). */

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util.h"

#define MAX_STATE_FILE (256u << 20)

void prefs_init(struct prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->advertise_tags = cJSON_CreateArray();
	p->operator_uid = -1;
}

void prefs_free(struct prefs *p)
{
	cJSON_Delete(p->advertise_tags);
	p->advertise_tags = NULL;
}

int prefs_copy(struct prefs *dst, const struct prefs *src)
{
	cJSON *t = cJSON_Duplicate(src->advertise_tags, 1);

	if (!t)
		return -1;
	cJSON_Delete(dst->advertise_tags);
	*dst = *src;
	dst->advertise_tags = t;
	return 0;
}

cJSON *prefs_to_json(const struct prefs *p)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "login_server", p->login_server);
	cJSON_AddStringToObject(j, "hostname", p->hostname);
	cJSON_AddItemToObject(j, "advertise_tags", cJSON_Duplicate(p->advertise_tags, 1));
	cJSON_AddBoolToObject(j, "accept_routes", p->accept_routes);
	cJSON_AddBoolToObject(j, "want_running", p->want_running);
	if (p->operator_uid >= 0) {
		cJSON_AddStringToObject(j, "operator", p->operator_user);
		cJSON_AddNumberToObject(j, "operator_uid", (double)p->operator_uid);
	}
	return j;
}

bool prefs_uid_valid(const cJSON *it)
{
	return cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < (double)UINT32_MAX &&
		it->valuedouble == (double)(int64_t)it->valuedouble;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return -1;
}

int prefs_from_json(struct prefs *p, const cJSON *j, char *err, size_t errlen)
{
	struct prefs n;
	const cJSON *it;

	if (!cJSON_IsObject(j))
		return fail(err, errlen, "%s%s: not a JSON object", "prefs", "");
	prefs_init(&n);
	cJSON_ArrayForEach(it, j) {
		const char *k = it->string;
		char *dst = NULL;
		size_t dstlen = 0;

		if (!strcmp(k, "login_server")) {
			dst = n.login_server;
			dstlen = sizeof(n.login_server);
		} else if (!strcmp(k, "hostname")) {
			dst = n.hostname;
			dstlen = sizeof(n.hostname);
		} else if (!strcmp(k, "operator")) {
			dst = n.operator_user;
			dstlen = sizeof(n.operator_user);
		}
		if (dst) {
			if (!cJSON_IsString(it) || strlen(it->valuestring) >= dstlen)
				goto bad;
			snprintf(dst, dstlen, "%s", it->valuestring);
		} else if (!strcmp(k, "accept_routes") || !strcmp(k, "want_running")) {
			if (!cJSON_IsBool(it))
				goto bad;
			*(!strcmp(k, "accept_routes") ? &n.accept_routes : &n.want_running) =
				cJSON_IsTrue(it);
		} else if (!strcmp(k, "operator_uid")) {
			if (!prefs_uid_valid(it))
				goto bad;
			n.operator_uid = (int64_t)it->valuedouble;
		} else if (!strcmp(k, "advertise_tags")) {
			const cJSON *t;

			if (!cJSON_IsArray(it))
				goto bad;
			cJSON_ArrayForEach(t, it)
				if (!cJSON_IsString(t) || strncmp(t->valuestring, "tag:", 4))
					goto bad;
			cJSON_Delete(n.advertise_tags);
			n.advertise_tags = cJSON_Duplicate(it, 1);
		} else {
			prefs_free(&n);
			return fail(err, errlen, "unknown member \"%s\"%s", k, "");
		}
		continue;
bad:
		prefs_free(&n);
		return fail(err, errlen, "bad value for \"%s\"%s", k, "");
	}
	if (!n.advertise_tags) {
		prefs_free(&n);
		return fail(err, errlen, "%s%s", "out of memory", "");
	}
	prefs_free(p);
	*p = n;
	return 0;
}

static int mkdirs(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int state_init(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int r = mkdirs(dir, 0700);

	if (r) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return -1;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700)) {
		snprintf(err, errlen, "%s: chmod: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int state_write_atomic(const char *dir, const char *name, const void *data, size_t len,
		       mode_t mode, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *p = data;
	int fd, dfd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, name);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode))
		goto fail;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path))
		goto fail;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			errno = 0;
		close(dfd);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* 0 and the text, 1 absent, -1 error. */
static int read_state(const char *dir, const char *name, char **text, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct mwg_err e = { 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	*text = mwg_read_file(path, MAX_STATE_FILE, NULL, &e);
	if (!*text) {
		snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	return 0;
}

int state_load_key(const char *dir, const char *name, uint8_t key[32], char *err, size_t errlen)
{
	char *t = NULL;
	int r = read_state(dir, name, &t, err, errlen);

	if (r)
		return r;
	t[strcspn(t, "\r\n")] = '\0';
	r = mwg_key_parse(t, "privkey:", key);
	memset(t, 0, strlen(t));
	free(t);
	if (r) {
		snprintf(err, errlen, "%s/%s: corrupt key file (want \"privkey:\" and 64 hex digits)",
			 dir, name);
		return -1;
	}
	return 0;
}

int state_save_key(const char *dir, const char *name, const uint8_t key[32], char *err,
		   size_t errlen)
{
	char text[MWG_KEY_TEXT_MAX + 2];
	int r;

	mwg_key_format(text, sizeof(text) - 1, "privkey:", key);
	strcat(text, "\n");
	r = state_write_atomic(dir, name, text, strlen(text), 0600, err, errlen);
	memset(text, 0, sizeof(text));
	return r;
}

int state_load_pin(const char *dir, const char *url, uint8_t key[32], char *err, size_t errlen)
{
	char *t = NULL, *sp;
	int r = read_state(dir, "server.pin", &t, err, errlen);

	if (r)
		return r;
	t[strcspn(t, "\r\n")] = '\0';
	sp = strrchr(t, ' ');
	if (!sp || mwg_key_parse(sp + 1, "mkey:", key)) {
		free(t);
		snprintf(err, errlen, "%s/server.pin: corrupt (want \"URL mkey:<64 hex digits>\")", dir);
		return -1;
	}
	*sp = '\0';
	r = strcmp(t, url) ? 1 : 0;
	free(t);
	return r;
}

int state_save_pin(const char *dir, const char *url, const uint8_t key[32], char *err,
		   size_t errlen)
{
	char k[MWG_KEY_TEXT_MAX], *text = NULL;
	int r;

	mwg_key_format(k, sizeof(k), "mkey:", key);
	if (asprintf(&text, "%s %s\n", url, k) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = state_write_atomic(dir, "server.pin", text, strlen(text), 0600, err, errlen);
	free(text);
	return r;
}

int state_remove(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int load_json(const char *dir, const char *name, cJSON **j, char *err, size_t errlen)
{
	char *t = NULL;
	int r = read_state(dir, name, &t, err, errlen);

	if (r)
		return r;
	*j = cJSON_Parse(t);
	free(t);
	if (!*j) {
		snprintf(err, errlen, "%s/%s: corrupt file (not JSON); move it away to start afresh",
			 dir, name);
		return -1;
	}
	return 0;
}

static int save_json(const char *dir, const char *name, const cJSON *j, char *err, size_t errlen)
{
	char *t = cJSON_PrintUnformatted(j);
	int r;

	if (!t) {
		snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		return -1;
	}
	r = state_write_atomic(dir, name, t, strlen(t), 0600, err, errlen);
	free(t);
	return r;
}

int state_load_prefs(const char *dir, struct prefs *p, char *err, size_t errlen)
{
	cJSON *j = NULL;
	char why[200];
	int r = load_json(dir, "prefs.json", &j, err, errlen);

	if (r)
		return r;
	r = prefs_from_json(p, j, why, sizeof(why));
	cJSON_Delete(j);
	if (r)
		snprintf(err, errlen, "%s/prefs.json: %s", dir, why);
	return r;
}

int state_save_prefs(const char *dir, const struct prefs *p, char *err, size_t errlen)
{
	cJSON *j = prefs_to_json(p);
	int r;

	if (!j) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = save_json(dir, "prefs.json", j, err, errlen);
	cJSON_Delete(j);
	return r;
}

int state_load_netmap(const char *dir, cJSON **netmap, char *err, size_t errlen)
{
	cJSON *j = NULL;
	int r = load_json(dir, "netmap.json", &j, err, errlen);

	if (r)
		return r;
	if (!cJSON_IsObject(j) || !cJSON_IsObject(cJSON_GetObjectItem(j, "self")) ||
	    !cJSON_IsArray(cJSON_GetObjectItem(j, "peers"))) {
		cJSON_Delete(j);
		snprintf(err, errlen, "%s/netmap.json: not a netmap (no \"self\" object or \"peers\" array)",
			 dir);
		return -1;
	}
	*netmap = j;
	return 0;
}

int state_save_netmap(const char *dir, const cJSON *netmap, char *err, size_t errlen)
{
	return save_json(dir, "netmap.json", netmap, err, errlen);
}
