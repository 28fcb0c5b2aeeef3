// SPDX-License-Identifier: GPL-2.0 OR MIT
/* agent/state.c: atomic writes, modes, corrupt files refused, prefs round trip. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "state.h"

static char dir[256];

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/mwgd-state-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **st)
{
	char cmd[300];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static mode_t mode_of(const char *path)
{
	struct stat s;

	assert_int_equal(stat(path, &s), 0);
	return s.st_mode & 0777;
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_all(const char *name)
{
	char path[512], *buf = calloc(1, 65536);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void test_init_creates_0700(void **st)
{
	char sub[512], err[300];

	(void)st;
	snprintf(sub, sizeof(sub), "%s/a/b/state", dir);
	assert_int_equal(state_init(sub, err, sizeof(err)), 0);
	assert_int_equal(mode_of(sub), 0700);
	/* An existing, too open directory is tightened. */
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(state_init(sub, err, sizeof(err)), 0);
	assert_int_equal(mode_of(sub), 0700);
	/* A file in the way is refused. */
	write_file("plain", "x");
	snprintf(sub, sizeof(sub), "%s/plain", dir);
	assert_int_equal(state_init(sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a directory"));
}

static void test_key_roundtrip_and_mode(void **st)
{
	uint8_t k[32], back[32];
	char err[300], path[512];

	(void)st;
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(state_load_key(dir, "node.key", back, err, sizeof(err)), 1);
	assert_int_equal(state_save_key(dir, "node.key", k, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/node.key", dir);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(state_load_key(dir, "node.key", back, err, sizeof(err)), 0);
	assert_memory_equal(k, back, 32);
	/* Overwrite keeps 0600 even if the old file was wider. */
	assert_int_equal(chmod(path, 0644), 0);
	k[0] ^= 0xff;
	assert_int_equal(state_save_key(dir, "node.key", k, err, sizeof(err)), 0);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(state_load_key(dir, "node.key", back, err, sizeof(err)), 0);
	assert_memory_equal(k, back, 32);
}

static void test_no_temp_files_left(void **st)
{
	char err[300];
	struct dirent *e;
	DIR *dp;
	int n = 0;

	(void)st;
	assert_int_equal(state_write_atomic(dir, "x.json", "{}", 2, 0600, err, sizeof(err)), 0);
	assert_int_equal(state_write_atomic(dir, "x.json", "{\"a\":1}", 7, 0600, err, sizeof(err)), 0);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		assert_null(strstr(e->d_name, ".tmp"));
		n++;
	}
	closedir(dp);
	assert_int_equal(n, 1);
	{
		char *t = read_all("x.json");

		assert_string_equal(t, "{\"a\":1}");
		free(t);
	}
	/* A write into a missing directory fails and says where. */
	assert_int_equal(state_write_atomic("/nonexistent-dir-mwg", "x", "1", 1, 0600, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-dir-mwg"));
}

static void test_corrupt_key_refused(void **st)
{
	uint8_t back[32];
	char err[300], *t;

	(void)st;
	write_file("node.key", "privkey:1234\n");
	memset(back, 0xaa, sizeof(back));
	assert_int_equal(state_load_key(dir, "node.key", back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node.key"));
	assert_non_null(strstr(err, "corrupt"));
	for (int i = 0; i < 32; i++)
		assert_int_equal(back[i], 0xaa);
	t = read_all("node.key");	/* nothing changed */
	assert_string_equal(t, "privkey:1234\n");
	free(t);
}

static void test_prefs_roundtrip(void **st)
{
	struct prefs p, q;
	char err[300];

	(void)st;
	prefs_init(&p);
	prefs_init(&q);
	assert_int_equal(state_load_prefs(dir, &q, err, sizeof(err)), 1);
	snprintf(p.login_server, sizeof(p.login_server), "http://10.0.0.1:8080");
	snprintf(p.hostname, sizeof(p.hostname), "alpha");
	cJSON_AddItemToArray(p.advertise_tags, cJSON_CreateString("tag:server"));
	p.accept_routes = true;
	p.want_running = true;
	assert_int_equal(state_save_prefs(dir, &p, err, sizeof(err)), 0);
	assert_int_equal(state_load_prefs(dir, &q, err, sizeof(err)), 0);
	assert_string_equal(q.login_server, "http://10.0.0.1:8080");
	assert_string_equal(q.hostname, "alpha");
	assert_int_equal(cJSON_GetArraySize(q.advertise_tags), 1);
	assert_string_equal(cJSON_GetArrayItem(q.advertise_tags, 0)->valuestring, "tag:server");
	assert_true(q.accept_routes);
	assert_true(q.want_running);
	prefs_free(&p);
	prefs_free(&q);
}

static void test_prefs_bad_refused(void **st)
{
	static const char *const bad[] = {
		"{\"login_server\": 5}",
		"{\"accept_routes\": \"yes\"}",
		"{\"advertise_tags\": [\"server\"]}",
		"{\"surprise\": true}",
		"[1,2]",
		"{not json",
	};
	struct prefs q;
	char err[300];

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefs_init(&q);
		snprintf(q.hostname, sizeof(q.hostname), "keep");
		write_file("prefs.json", bad[i]);
		err[0] = '\0';
		assert_int_equal(state_load_prefs(dir, &q, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "prefs.json"));
		assert_string_equal(q.hostname, "keep");	/* untouched */
		prefs_free(&q);
	}
}

static void test_netmap(void **st)
{
	cJSON *n = cJSON_Parse("{\"type\":\"full\",\"seq\":3,\"self\":{\"id\":1},\"peers\":[{\"id\":2}]}");
	cJSON *back = NULL;
	char err[300];

	(void)st;
	assert_int_equal(state_load_netmap(dir, &back, err, sizeof(err)), 1);
	assert_int_equal(state_save_netmap(dir, n, err, sizeof(err)), 0);
	assert_int_equal(state_load_netmap(dir, &back, err, sizeof(err)), 0);
	assert_true(cJSON_Compare(n, back, 1));
	cJSON_Delete(back);
	back = NULL;
	write_file("netmap.json", "{\"self\": 1, \"peers\": []}");
	assert_int_equal(state_load_netmap(dir, &back, err, sizeof(err)), -1);
	assert_null(back);
	assert_non_null(strstr(err, "not a netmap"));
	write_file("netmap.json", "{\"self\": {}, \"peers\": [");
	assert_int_equal(state_load_netmap(dir, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt"));
	cJSON_Delete(n);
}

static void test_remove(void **st)
{
	char err[300], path[512];

	(void)st;
	write_file("node.key", "x");
	assert_int_equal(state_remove(dir, "node.key", err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/node.key", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(state_remove(dir, "node.key", err, sizeof(err)), 0);	/* absent is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_creates_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_roundtrip_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_temp_files_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefs_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefs_bad_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
