// SPDX-License-Identifier: MIT
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

struct sqlite_db {
	struct mwg_db base;
	sqlite3 *h;
};

void mwg_rows_free(struct mwg_rows *r)
{
	int i;

	if (!r || !r->cells)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	r->cells = NULL;
	r->nrows = r->ncols = 0;
}

const char *mwg_i64s(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

int64_t mwg_atoi64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* $N -> ?N */
static char *rewrite(const char *sql)
{
	char *out = strdup(sql), *p;

	if (!out)
		return NULL;
	for (p = out; *p; p++)
		if (*p == '$' && p[1] >= '0' && p[1] <= '9')
			*p = '?';
	return out;
}

static int sq_exec(struct mwg_db *db, const char *sql, int n, const char *const *params,
		   struct mwg_rows *rows, long *changes, struct mwg_err *e)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = NULL;
	char *q = rewrite(sql);
	int i, rc, cap = 0;

	if (rows)
		memset(rows, 0, sizeof(*rows));
	if (!q)
		return mwg_fail(e, 500, "out of memory");
	rc = sqlite3_prepare_v2(s->h, q, -1, &st, NULL);
	free(q);
	if (rc != SQLITE_OK)
		return mwg_fail(e, 500, "database: %s", sqlite3_errmsg(s->h));
	if (n > sqlite3_bind_parameter_count(st))
		n = sqlite3_bind_parameter_count(st);
	for (i = 0; i < n; i++) {
		rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK) {
			mwg_fail(e, 500, "database: bind: %s", sqlite3_errmsg(s->h));
			goto fail;
		}
	}
	if (rows)
		rows->ncols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!rows)
			continue;
		if ((rows->nrows + 1) * rows->ncols > cap) {
			int ncap = cap ? cap * 2 : rows->ncols * 8;
			char **c = realloc(rows->cells, (size_t)ncap * sizeof(char *));

			if (!c) {
				mwg_fail(e, 500, "out of memory");
				goto fail;
			}
			rows->cells = c;
			cap = ncap;
		}
		for (i = 0; i < rows->ncols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			char **cell = &rows->cells[rows->nrows * rows->ncols + i];

			*cell = NULL;
			if (t && !(*cell = strdup((const char *)t))) {
				int j;

				for (j = 0; j < i; j++)
					free(rows->cells[rows->nrows * rows->ncols + j]);
				mwg_fail(e, 500, "out of memory");
				goto fail;
			}
		}
		rows->nrows++;
	}
	if (rc != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(s->h);

		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			mwg_fail(e, 409, "already exists (%s)", sqlite3_errmsg(s->h));
		else if ((ext & 0xff) == SQLITE_CONSTRAINT)
			mwg_fail(e, 409, "conflict (%s)", sqlite3_errmsg(s->h));
		else
			mwg_fail(e, 500, "database: %s", sqlite3_errmsg(s->h));
		goto fail;
	}
	if (changes)
		*changes = sqlite3_changes(s->h);
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	mwg_rows_free(rows);
	return -1;
}

static void sq_close(struct mwg_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;

	sqlite3_close(s->h);
	free(s);
}

static const struct mwg_db_ops sqlite_ops = {
	.name = "sqlite",
	.id_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.exec = sq_exec,
	.begin_sql = "BEGIN IMMEDIATE",
	.writer_lock_sql = NULL,
	.close = sq_close,
};

/*
 * The database holds the server's private key: it is created 0600 (in a
 * directory created 0700 when missing), and a file other users may read or
 * write is refused rather than used.
 */
static int key_store_private(const char *path, struct mwg_err *e)
{
	char dir[4096], *slash;
	struct stat st;
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return mwg_fail(e, 500, "database path too long");
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return mwg_fail(e, 500, "database directory %s: %s", dir, strerror(errno));
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mwg_fail(e, 500, "database %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return mwg_fail(e, 500, "database %s: %s", path, strerror(errno));
	}
	close(fd);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return mwg_fail(e, 500, "database %s is accessible to other users (mode %04o) and holds "
				"the server's private key: chmod 600 %s (and check who may have read it)",
				path, (unsigned int)(st.st_mode & 07777), path);
	return 0;
}

int mwg_db_open_sqlite(const char *path, struct mwg_db **out, struct mwg_err *e)
{
	struct sqlite_db *s = calloc(1, sizeof(*s));
	static const char *const pragmas[] = {
		"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
		"PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=10000",
	};
	size_t i;

	if (key_store_private(path, e)) {
		free(s);
		return -1;
	}
	if (!s)
		return mwg_fail(e, 500, "out of memory");
	s->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		mwg_fail(e, 500, "database %s: %s", path, s->h ? sqlite3_errmsg(s->h) : "cannot open");
		sqlite3_close(s->h);
		free(s);
		return -1;
	}
	for (i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		if (sq_exec(&s->base, pragmas[i], 0, NULL, NULL, NULL, e)) {
			sq_close(&s->base);
			return -1;
		}
	}
	*out = &s->base;
	return 0;
}
