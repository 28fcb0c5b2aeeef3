// SPDX-License-Identifier: MIT
#include "db.h"

#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

struct pg_db {
	struct mwg_db base;
	PGconn *c;
};

/* Callers may pass more parameters than a statement uses; PostgreSQL
 * refuses that, so only the ones referenced ($1..$max) are sent. */
static int max_param(const char *sql)
{
	int max = 0;

	for (; *sql; sql++) {
		if (*sql == '$' && sql[1] >= '0' && sql[1] <= '9') {
			int v = (int)strtol(sql + 1, NULL, 10);

			if (v > max)
				max = v;
		}
	}
	return max;
}

static int pg_exec(struct mwg_db *db, const char *sql, int n, const char *const *params,
		   struct mwg_rows *rows, long *changes, struct mwg_err *e)
{
	struct pg_db *p = (struct pg_db *)db;
	PGresult *r;
	ExecStatusType st;
	int i, j;

	if (rows)
		memset(rows, 0, sizeof(*rows));
	if (PQstatus(p->c) != CONNECTION_OK) {
		PQreset(p->c);
		if (PQstatus(p->c) != CONNECTION_OK)
			return mwg_fail(e, 503, "database: %s", PQerrorMessage(p->c));
	}
	n = n < max_param(sql) ? n : max_param(sql);
	r = PQexecParams(p->c, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		char msg[200];

		strncpy(msg, PQresultErrorMessage(r), sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		if (code && !strcmp(code, "23505"))
			mwg_fail(e, 409, "already exists (%s)", msg);
		else if (code && !strncmp(code, "23", 2))
			mwg_fail(e, 409, "conflict (%s)", msg);
		else if (code && (!strcmp(code, "40001") || !strcmp(code, "40P01")))
			mwg_fail(e, 503, "database busy, retry (%s)", msg);
		else
			mwg_fail(e, 500, "database: %s", msg);
		PQclear(r);
		return -1;
	}
	if (rows && st == PGRES_TUPLES_OK) {
		rows->nrows = PQntuples(r);
		rows->ncols = PQnfields(r);
		if (rows->nrows > 0 && rows->ncols > 0) {
			rows->cells = calloc((size_t)(rows->nrows * rows->ncols), sizeof(char *));
			if (!rows->cells)
				goto oom;
		}
		for (i = 0; i < rows->nrows; i++)
			for (j = 0; j < rows->ncols; j++)
				if (!PQgetisnull(r, i, j) &&
				    !(rows->cells[i * rows->ncols + j] = strdup(PQgetvalue(r, i, j))))
					goto oom;
	}
	if (changes)
		*changes = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
oom:
	PQclear(r);
	mwg_rows_free(rows);
	return mwg_fail(e, 500, "out of memory");
}

static void pg_close(struct mwg_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	PQfinish(p->c);
	free(p);
}

static const struct mwg_db_ops pg_ops = {
	.name = "postgres",
	.id_type = "BIGSERIAL PRIMARY KEY",
	.exec = pg_exec,
	.begin_sql = "BEGIN",
	/* Writers queue here until commit, so change sequence numbers become
	 * visible in order to every server polling the change log. */
	.writer_lock_sql = "SELECT pg_advisory_xact_lock(7243561)",
	.close = pg_close,
};

int mwg_db_open_pg(const char *dsn, struct mwg_db **out, struct mwg_err *e)
{
	struct pg_db *p = calloc(1, sizeof(*p));

	if (!p)
		return mwg_fail(e, 500, "out of memory");
	p->base.ops = &pg_ops;
	p->c = PQconnectdb(dsn);
	if (PQstatus(p->c) != CONNECTION_OK) {
		char msg[200];

		strncpy(msg, PQerrorMessage(p->c), sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		mwg_fail(e, 503, "postgres: %s", msg);
		pg_close(&p->base);
		return -1;
	}
	if (pg_exec(&p->base, "SET client_min_messages TO warning", 0, NULL, NULL, NULL, e)) {
		pg_close(&p->base);
		return -1;
	}
	*out = &p->base;
	return 0;
}
