/* SPDX-License-Identifier: MIT */
/*
 * The SQL driver interface under the store: one connection, text
 * parameters written $1..$N (PostgreSQL style; the SQLite driver rewrites
 * them), text results. Two drivers: db_sqlite.c and db_pg.c.
 */
#ifndef MWG_DB_H
#define MWG_DB_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/util.h"

struct mwg_rows {
	int nrows, ncols;
	char **cells;		/* nrows * ncols, NULL for SQL NULL */
};

static inline const char *mwg_cell(const struct mwg_rows *r, int row, int col)
{
	return r->cells[row * r->ncols + col];
}
void mwg_rows_free(struct mwg_rows *r);

struct mwg_db;

struct mwg_db_ops {
	const char *name;
	/* Placeholder texts in schema: autoincrement primary key. */
	const char *id_type;
	int (*exec)(struct mwg_db *db, const char *sql, int n, const char *const *params,
		    struct mwg_rows *rows, long *changes, struct mwg_err *e);
	/* BEGIN that takes the write lock at once (SQLite: IMMEDIATE). */
	const char *begin_sql;
	/* Serializes writers until commit (PostgreSQL advisory lock), or NULL. */
	const char *writer_lock_sql;
	void (*close)(struct mwg_db *db);
};

struct mwg_db {
	const struct mwg_db_ops *ops;
};

int mwg_db_open_sqlite(const char *path, struct mwg_db **out, struct mwg_err *e);
int mwg_db_open_pg(const char *dsn, struct mwg_db **out, struct mwg_err *e);

/* Runs sql with n text parameters (NULL entries are SQL NULL). rows and
 * changes may be NULL. A unique-constraint failure sets e->status 409. */
static inline int mwg_db_exec(struct mwg_db *db, const char *sql, int n,
			      const char *const *params, struct mwg_rows *rows,
			      long *changes, struct mwg_err *e)
{
	return db->ops->exec(db, sql, n, params, rows, changes, e);
}

#define MWG_NARGS(...) ((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)))
/* DBQ(db, rows, changes, e, sql, params...) */
#define DBQ(db, rows, ch, e, sql, ...) \
	mwg_db_exec(db, sql, MWG_NARGS(__VA_ARGS__), (const char *[]){ __VA_ARGS__ }, rows, ch, e)
#define DBQ0(db, rows, ch, e, sql) mwg_db_exec(db, sql, 0, NULL, rows, ch, e)

/* Integer to text in a temporary buffer living for the enclosing block. */
#define I64S(x) mwg_i64s((char[24]){ 0 }, (int64_t)(x))
const char *mwg_i64s(char *buf, int64_t v);
int64_t mwg_atoi64(const char *s);

#endif
