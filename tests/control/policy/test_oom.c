// SPDX-License-Identifier: MIT
/* Out-of-memory paths: every allocation of the engine is made to fail in
 * turn; each failure must be reported cleanly, leak nothing (the sanitizer
 * checks at exit) and, for updates, leave the compiled state unchanged. */
#include <errno.h>

#include "helpers.h"

static long fail_at = -1;	/* allocation number that fails, -1 = none */
static long n_allocs;

static bool should_fail(void)
{
	return fail_at >= 0 && n_allocs++ == fail_at;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return should_fail() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return should_fail() ? NULL : __real_strndup(s, n); }

static const char *text =
	"{\"groups\": {\"group:a\": [\"u0@\", \"u1@\"]},\n"
	"\"hosts\": {\"lan\": \"10.1.0.0/16\"},\n"
	"\"tagOwners\": {\"tag:a\": [\"group:a\"], \"tag:b\": [\"tag:a\"]},\n"
	"\"acls\": [\n"
	" {\"action\": \"deny\", \"src\": [\"u2@\"], \"dst\": [\"tag:a:22\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"group:a\", \"10.9.0.0/16\"], \"dst\": [\"tag:a:*\", \"lan:443,80-90\"], \"proto\": [\"tcp\", 17]},\n"
	" {\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self:*\"]},\n"
	" {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:internet:*\", \"tag:b:1\"]},\n"
	"],\n"
	"\"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"tag:a\"]}, \"exitNode\": [\"u0@\"]},\n"
	"\"tests\": [{\"src\": \"u0@\", \"proto\": \"tcp\", \"accept\": [\"tag:a:22\"], \"deny\": [\"u1@:1\"]}]}";

static struct tnode nodes[6];

static void setup_nodes(void)
{
	mknode(&nodes[0], 1, "u0", NULL, 1);
	mknode(&nodes[1], 2, "u1", NULL, 1);
	mknode(&nodes[2], 3, "u2", NULL, 0);
	mknode(&nodes[3], 4, "u0", "tag:a", 1);
	add_route(&nodes[3], "10.1.2.0/24");
	mknode(&nodes[4], 5, "u1", "tag:b", 0);
	nodes[4].n.exit_node = true;
	mknode(&nodes[5], 6, "u0", NULL, 0);
}

static void test_parse_oom(void **state)
{
	struct policy_error e;
	long i;
	(void)state;

	for (i = 0;; i++) {
		struct policy *p;

		n_allocs = 0;
		fail_at = i;
		p = policy_parse(text, strlen(text), "t.hujson", &e);
		fail_at = -1;
		if (p) {
			policy_free(p);
			break;
		}
		assert_non_null(strstr(e.msg, "out of memory"));
	}
	print_message("parse: %ld allocation failures survived\n", i);
	assert_true(i > 50);
}

/* Everything observable about pc, as one string. */
static char *state_text(const struct policy_compiled *pc)
{
	size_t cap = 256, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	s[0] = '\0';
	for (uint64_t id = 1; id <= 7; id++) {
		struct policy_filter *f;
		uint64_t *ids;
		size_t n;

		if (policy_node_filter(pc, id, &f) == -ENOENT) {
			append(&s, &len, &cap, "%llu absent\n", (unsigned long long)id);
			continue;
		}
		assert_non_null(f);
		char *ft = filter_text(f);

		append(&s, &len, &cap, "%llu: %s\n", (unsigned long long)id, ft);
		free(ft);
		policy_filter_free(f);
		assert_int_equal(policy_node_peers(pc, id, &ids, &n), 0);
		for (size_t k = 0; k < n; k++)
			append(&s, &len, &cap, "%llu ", (unsigned long long)ids[k]);
		append(&s, &len, &cap, "\n");
		free(ids);
	}
	return s;
}

static void test_compile_and_query_oom(void **state)
{
	struct policy_node list[6];
	struct policy *p = parse_ok(text);
	struct policy_error e;
	long i;
	(void)state;

	setup_nodes();
	for (int k = 0; k < 6; k++)
		list[k] = nodes[k].n;
	assert_int_equal(policy_check(p, list, 6, &e), 0);
	/* the tests' source list is allocated */
	n_allocs = 0;
	fail_at = 0;
	assert_int_equal(policy_check(p, list, 6, &e), -1);
	fail_at = -1;
	assert_string_equal(e.msg, "out of memory");
	for (i = 0;; i++) {
		struct policy_compiled *pc;

		n_allocs = 0;
		fail_at = i;
		pc = policy_compile(p, list, 6, &e);
		fail_at = -1;
		if (pc) {
			policy_compiled_free(pc);
			break;
		}
		assert_string_equal(e.msg, "out of memory");
	}
	assert_true(i > 20);
	/* queries */
	struct policy_compiled *pc = policy_compile(p, list, 6, &e);

	assert_non_null(pc);
	for (uint64_t id = 1; id <= 6; id++) {
		for (i = 0;; i++) {
			struct policy_filter *f = (void *)1;
			uint64_t *ids = (void *)1;
			cJSON *j;
			size_t n;
			int r1, r2;

			n_allocs = 0;
			fail_at = i;
			r1 = policy_node_filter(pc, id, &f);
			r2 = policy_node_peers(pc, id, &ids, &n);
			j = f ? policy_filter_to_json(f) : NULL;
			fail_at = -1;
			assert_true(r1 == 0 || r1 == -ENOMEM);
			assert_true(r2 == 0 || r2 == -ENOMEM);
			if (r1 < 0)
				assert_null(f);
			if (r2 < 0)
				assert_null(ids);
			free(ids);
			cJSON_Delete(j);
			policy_filter_free(f);
			if (r1 == 0 && r2 == 0 && n_allocs <= i)
				break;
		}
	}
	policy_compiled_free(pc);
	policy_free(p);
}

static void test_update_oom_is_atomic(void **state)
{
	struct policy_node list[5];
	struct policy *p = parse_ok(text);
	struct policy_error e;
	struct tnode changed[3];
	(void)state;

	setup_nodes();
	for (int k = 0; k < 5; k++)
		list[k] = nodes[k].n;
	/* a new node, a changed node (new user and tag), an untagging */
	changed[0] = nodes[5];
	changed[0].n.tags = (const char *const *)changed[0].tags;
	mknode(&changed[1], 2, "u0", "tag:a", 1);
	mknode(&changed[2], 4, "u1", NULL, 1);
	for (int c = 0; c < 4; c++) {
		long i;

		for (i = 0;; i++) {
			struct policy_compiled *pc = policy_compile(p, list, 5, &e);
			struct policy_delta d;
			char *before, *after;
			int r;

			assert_non_null(pc);
			before = state_text(pc);
			n_allocs = 0;
			fail_at = i;
			if (c < 3)
				r = policy_compiled_update_node(pc, &changed[c].n, &d);
			else
				r = policy_compiled_remove_node(pc, 3, &d);
			fail_at = -1;
			after = state_text(pc);
			if (r == 0) {
				policy_delta_free(&d);
				free(before);
				free(after);
				policy_compiled_free(pc);
				break;
			}
			assert_int_equal(r, -ENOMEM);
			assert_null(d.peers_changed);
			assert_string_equal(before, after);
			free(before);
			free(after);
			policy_compiled_free(pc);
		}
		assert_true(i > 3);
	}
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_oom),
		cmocka_unit_test(test_compile_and_query_oom),
		cmocka_unit_test(test_update_oom_is_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
