// SPDX-License-Identifier: MIT
#include "store.h"
#include "polglue.h"
#include "../lib/hex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* ---- schema ---- */

/* Each migration is applied once, in order, in one transaction. @ID@ is the
 * driver's auto-increment primary key type. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE users (id @ID@, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
	"CREATE TABLE nodes ("
	" id @ID@,"
	" machine_key TEXT NOT NULL UNIQUE,"
	" node_key TEXT NOT NULL UNIQUE,"
	" disco_key TEXT NOT NULL DEFAULT '',"
	" user_id BIGINT REFERENCES users(id),"
	" hostname TEXT NOT NULL,"
	" given_name TEXT NOT NULL UNIQUE,"
	" ipv4 TEXT UNIQUE, ipv6 TEXT UNIQUE,"
	" tags TEXT NOT NULL DEFAULT '[]',"
	" endpoints TEXT NOT NULL DEFAULT '[]',"
	" hostinfo TEXT NOT NULL DEFAULT '{}',"
	" routes_advertised TEXT NOT NULL DEFAULT '[]',"
	" routes_approved TEXT NOT NULL DEFAULT '[]',"
	" home_derp INTEGER NOT NULL DEFAULT 0,"
	" ephemeral INTEGER NOT NULL DEFAULT 0,"
	" pending INTEGER NOT NULL DEFAULT 0,"
	" online INTEGER NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL DEFAULT 0,"
	" expiry BIGINT NOT NULL DEFAULT 0,"
	" version BIGINT NOT NULL DEFAULT 1);"
	"CREATE TABLE preauthkeys (id @ID@, prefix TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,"
	" user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" reusable INTEGER NOT NULL, ephemeral INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,"
	" tags TEXT NOT NULL DEFAULT '[]', created_at BIGINT NOT NULL, expiration BIGINT NOT NULL);"
	"CREATE TABLE apikeys (id @ID@, prefix TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,"
	" created_at BIGINT NOT NULL, expiration BIGINT NOT NULL, last_used BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE policy (id INTEGER PRIMARY KEY, text TEXT NOT NULL, updated_at BIGINT NOT NULL);"
	"CREATE TABLE changes (seq @ID@, node_id BIGINT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL);",
	/* 2: replay protection shared by several servers */
	"CREATE TABLE machine_nonces (machine_key TEXT PRIMARY KEY, ts BIGINT NOT NULL,"
	" ctr BIGINT NOT NULL);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- transactions ---- */

static int tx_begin(struct mwg_store *s, struct mwg_err *e)
{
	pthread_mutex_lock(&s->lock);
	if (DBQ0(s->db, NULL, NULL, e, s->db->ops->begin_sql)) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	if (s->db->ops->writer_lock_sql &&
	    DBQ0(s->db, NULL, NULL, e, s->db->ops->writer_lock_sql)) {
		DBQ0(s->db, NULL, NULL, NULL, "ROLLBACK");
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	return 0;
}

/* Commits when ok == 0, else rolls back. Returns ok, or -1 if commit fails. */
static int tx_end(struct mwg_store *s, int ok, struct mwg_err *e)
{
	if (ok == 0) {
		if (DBQ0(s->db, NULL, NULL, e, "COMMIT")) {
			DBQ0(s->db, NULL, NULL, NULL, "ROLLBACK");
			ok = -1;
		}
	} else {
		DBQ0(s->db, NULL, NULL, NULL, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Read-only statement outside an explicit transaction. */
static int q_locked(struct mwg_store *s, const char *sql, int n, const char *const *p,
		    struct mwg_rows *rows, struct mwg_err *e)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = mwg_db_exec(s->db, sql, n, p, rows, NULL, e);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int record_change(struct mwg_store *s, int64_t node_id, const char *kind, struct mwg_err *e)
{
	return DBQ(s->db, NULL, NULL, e,
		   "INSERT INTO changes (node_id, kind, at) VALUES ($1, $2, $3)",
		   I64S(node_id), kind, I64S(mwg_now()));
}

static int migrate(struct mwg_store *s, struct mwg_err *e)
{
	struct mwg_rows rows;
	int version = 0, i, r = 0;

	if (tx_begin(s, e))
		return -1;
	if (DBQ0(s->db, NULL, NULL, e,
		 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") ||
	    DBQ0(s->db, &rows, NULL, e, "SELECT MAX(version) FROM schema_version"))
		return tx_end(s, -1, e);
	if (rows.nrows && mwg_cell(&rows, 0, 0))
		version = atoi(mwg_cell(&rows, 0, 0));
	mwg_rows_free(&rows);
	if (version > NMIGRATIONS) {
		mwg_fail(e, 500, "database schema version %d is newer than this program (%d)",
			 version, NMIGRATIONS);
		return tx_end(s, -1, e);
	}
	for (i = version; i < NMIGRATIONS && !r; i++) {
		char *sql = NULL, *stmt, *save = NULL;
		struct mwg_buf b = { 0 };
		const char *p = migrations[i], *at;

		/* substitute @ID@ */
		while ((at = strstr(p, "@ID@"))) {
			mwg_buf_append(&b, p, (size_t)(at - p));
			mwg_buf_append(&b, s->db->ops->id_type, strlen(s->db->ops->id_type));
			p = at + 4;
		}
		if (mwg_buf_append(&b, p, strlen(p))) {
			mwg_buf_free(&b);
			r = mwg_fail(e, 500, "out of memory");
			break;
		}
		sql = b.data;
		for (stmt = strtok_r(sql, ";", &save); stmt && !r; stmt = strtok_r(NULL, ";", &save))
			r = DBQ0(s->db, NULL, NULL, e, stmt);
		if (!r)
			r = DBQ(s->db, NULL, NULL, e, "INSERT INTO schema_version (version) VALUES ($1)",
				I64S(i + 1));
		mwg_buf_free(&b);
	}
	return tx_end(s, r, e);
}

static int alloc_refresh(struct mwg_store *s, struct mwg_err *e)
{
	struct mwg_rows rows;
	int i;

	if (DBQ(s->db, &rows, NULL, e,
		"SELECT id, ipv4, ipv6 FROM nodes WHERE id > $1 ORDER BY id", I64S(s->alloc_seen_id)))
		return -1;
	for (i = 0; i < rows.nrows; i++) {
		if (mwg_cell(&rows, i, 1))
			mwg_ipalloc_mark(s->alloc4, mwg_cell(&rows, i, 1));
		if (mwg_cell(&rows, i, 2))
			mwg_ipalloc_mark(s->alloc6, mwg_cell(&rows, i, 2));
		s->alloc_seen_id = mwg_atoi64(mwg_cell(&rows, i, 0));
	}
	mwg_rows_free(&rows);
	return 0;
}

int mwg_store_open(const struct mwg_config *cfg, struct mwg_store **out, struct mwg_err *e)
{
	struct mwg_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return mwg_fail(e, 500, "out of memory");
	if (sodium_init() < 0) {
		free(s);
		return mwg_fail(e, 500, "libsodium init failed");
	}
	s->cfg = cfg;
	pthread_mutex_init(&s->lock, NULL);
	if (cfg->db_type == MWG_DB_SQLITE)
		r = mwg_db_open_sqlite(cfg->db_path, &s->db, e);
	else
		r = mwg_db_open_pg(cfg->db_dsn, &s->db, e);
	if (r) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -1;
	}
	s->alloc4 = mwg_ipalloc_new(&cfg->v4);
	s->alloc6 = mwg_ipalloc_new(&cfg->v6);
	if (!s->alloc4 || !s->alloc6) {
		mwg_store_close(s);
		return mwg_fail(e, 500, "out of memory");
	}
	if (migrate(s, e)) {
		mwg_store_close(s);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	r = alloc_refresh(s, e);
	pthread_mutex_unlock(&s->lock);
	if (r) {
		mwg_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void mwg_store_close(struct mwg_store *s)
{
	if (!s)
		return;
	if (s->db)
		s->db->ops->close(s->db);
	mwg_ipalloc_free(s->alloc4);
	mwg_ipalloc_free(s->alloc6);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int mwg_store_server_key(struct mwg_store *s, uint8_t priv[32], uint8_t pub[32], struct mwg_err *e)
{
	struct mwg_rows rows;
	int r;

	if (tx_begin(s, e))
		return -1;
	r = DBQ0(s->db, &rows, NULL, e, "SELECT value FROM settings WHERE name = 'server_private_key'");
	if (!r && rows.nrows == 1) {
		if (mwg_key_parse(mwg_cell(&rows, 0, 0), "privkey:", priv))
			r = mwg_fail(e, 500, "database: corrupt server key");
	} else if (!r) {
		char text[MWG_KEY_TEXT_MAX];

		randombytes_buf(priv, 32);
		mwg_key_format(text, sizeof(text), "privkey:", priv);
		r = DBQ(s->db, NULL, NULL, e,
			"INSERT INTO settings (name, value) VALUES ('server_private_key', $1)", text);
		sodium_memzero(text, sizeof(text));
	}
	mwg_rows_free(&rows);
	if (!r)
		crypto_scalarmult_base(pub, priv);
	return tx_end(s, r, e);
}

/* ---- validation helpers ---- */

static int valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || (c == '@' && i > 0)))
			return 0;
	}
	return 1;
}

/* A tag's name as the policy language has it (docs/policy.md): letters,
 * digits, '-', '_'; a tag the store took but a policy cannot name would be
 * refused by every tagOwners. */
static int valid_tag_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789-_") == n;
}

int mwg_tags_validate(const cJSON *tags, struct mwg_err *e)
{
	const cJSON *t;

	if (!cJSON_IsArray(tags))
		return mwg_fail(e, 400, "tags: want an array of \"tag:name\"");
	cJSON_ArrayForEach(t, tags) {
		if (!cJSON_IsString(t) || strncmp(t->valuestring, "tag:", 4) ||
		    !valid_tag_name(t->valuestring + 4))
			return mwg_fail(e, 400, "tags: \"%s\" is not a valid tag (want tag:name)",
					cJSON_IsString(t) ? t->valuestring : "?");
	}
	return 0;
}

int mwg_routes_validate(const cJSON *routes, struct mwg_err *e)
{
	const cJSON *r;

	if (!cJSON_IsArray(routes))
		return mwg_fail(e, 400, "routes: want an array of prefixes");
	cJSON_ArrayForEach(r, routes) {
		struct kprefix p;
		char canon[64];

		if (!cJSON_IsString(r) || kprefix_parse_cidr(&p, r->valuestring))
			return mwg_fail(e, 400, "routes: \"%s\" is not an IP prefix",
					cJSON_IsString(r) ? r->valuestring : "?");
		kprefix_format(&p, canon, sizeof(canon));
		if (strcmp(canon, r->valuestring))
			return mwg_fail(e, 400, "routes: \"%s\" has host bits set (did you mean %s?)",
					r->valuestring, canon);
	}
	return 0;
}

/*
 * Routes (already validated) must not cover tailnet addresses: a peer would
 * then get two peers claiming one address, and the second could send as the
 * first past the ACL. Only the exit routes (/0) may, as in Tailscale.
 */
static int routes_outside_tailnet(const struct mwg_store *s, const cJSON *routes,
				  struct mwg_err *e)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, routes) {
		struct kprefix p;
		const struct kprefix *t;
		char tn[64];

		if (kprefix_parse_cidr(&p, r->valuestring) || p.cidr == 0)
			continue;
		t = p.family == s->cfg->v4.family ? &s->cfg->v4 : &s->cfg->v6;
		if (kprefix_overlaps(&p, t)) {
			kprefix_format(t, tn, sizeof(tn));
			return mwg_fail(e, 400, "routes: %s overlaps the tailnet prefix %s",
					r->valuestring, tn);
		}
	}
	return 0;
}

static char *json_text(const cJSON *j)
{
	return cJSON_PrintUnformatted(j);
}

/* ---- users ---- */

int mwg_store_user_create(struct mwg_store *s, const char *name, int64_t *id, struct mwg_err *e)
{
	struct mwg_rows rows;
	int r;

	if (!name || !valid_name(name))
		return mwg_fail(e, 400, "user name \"%s\": use 1-63 letters, digits, '-', '_', '.', '@'",
				name ? name : "");
	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, &rows, NULL, e,
		"INSERT INTO users (name, created_at) VALUES ($1, $2) RETURNING id",
		name, I64S(mwg_now()));
	if (r && e && e->status == 409)
		mwg_fail(e, 409, "user \"%s\" already exists", name);
	if (!r) {
		if (id)
			*id = mwg_atoi64(mwg_cell(&rows, 0, 0));
		mwg_rows_free(&rows);
		r = record_change(s, 0, "user", e);
	}
	return tx_end(s, r, e);
}

cJSON *mwg_store_user_list(struct mwg_store *s, struct mwg_err *e)
{
	struct mwg_rows rows;
	cJSON *a;
	int i;

	if (q_locked(s, "SELECT u.id, u.name, u.created_at, "
		     "(SELECT COUNT(*) FROM nodes n WHERE n.user_id = u.id) FROM users u ORDER BY u.id",
		     0, NULL, &rows, e))
		return NULL;
	a = cJSON_CreateArray();
	for (i = 0; a && i < rows.nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		char t[32];

		if (!o)
			break;
		cJSON_AddNumberToObject(o, "id", (double)mwg_atoi64(mwg_cell(&rows, i, 0)));
		cJSON_AddStringToObject(o, "name", mwg_cell(&rows, i, 1));
		mwg_time_format(t, sizeof(t), mwg_atoi64(mwg_cell(&rows, i, 2)));
		cJSON_AddStringToObject(o, "created", t);
		cJSON_AddNumberToObject(o, "nodes", (double)mwg_atoi64(mwg_cell(&rows, i, 3)));
		cJSON_AddItemToArray(a, o);
	}
	mwg_rows_free(&rows);
	if (!a)
		mwg_fail(e, 500, "out of memory");
	return a;
}

int mwg_store_user_names(struct mwg_store *s, char ***names, size_t *n, struct mwg_err *e)
{
	struct mwg_rows rows;
	int i;

	if (q_locked(s, "SELECT name FROM users ORDER BY id", 0, NULL, &rows, e))
		return -1;
	*n = 0;
	*names = calloc((size_t)rows.nrows + 1, sizeof(char *));
	if (!*names) {
		mwg_rows_free(&rows);
		return mwg_fail(e, 500, "out of memory");
	}
	for (i = 0; i < rows.nrows; i++) {
		(*names)[i] = rows.cells[i];
		rows.cells[i] = NULL;
	}
	*n = (size_t)rows.nrows;
	mwg_rows_free(&rows);
	return 0;
}

static int user_id(struct mwg_store *s, const char *name, int64_t *id, struct mwg_err *e)
{
	struct mwg_rows rows;

	if (DBQ(s->db, &rows, NULL, e, "SELECT id FROM users WHERE name = $1", name))
		return -1;
	if (rows.nrows != 1) {
		mwg_rows_free(&rows);
		return mwg_fail(e, 404, "no user \"%s\"", name);
	}
	*id = mwg_atoi64(mwg_cell(&rows, 0, 0));
	mwg_rows_free(&rows);
	return 0;
}

int mwg_store_user_delete(struct mwg_store *s, const char *name, struct mwg_err *e)
{
	struct mwg_rows rows;
	int64_t id;
	int r;

	if (tx_begin(s, e))
		return -1;
	r = user_id(s, name, &id, e);
	if (!r)
		r = DBQ(s->db, &rows, NULL, e, "SELECT COUNT(*) FROM nodes WHERE user_id = $1", I64S(id));
	if (!r) {
		if (mwg_atoi64(mwg_cell(&rows, 0, 0)) > 0)
			r = mwg_fail(e, 409, "user \"%s\" still has nodes; delete them first", name);
		mwg_rows_free(&rows);
	}
	if (!r)
		r = DBQ(s->db, NULL, NULL, e, "DELETE FROM preauthkeys WHERE user_id = $1", I64S(id));
	if (!r)
		r = DBQ(s->db, NULL, NULL, e, "DELETE FROM users WHERE id = $1", I64S(id));
	if (!r)
		r = record_change(s, 0, "user", e);
	return tx_end(s, r, e);
}

/* ---- secrets (pre-auth and API keys) ---- */

/* kind-<12 hex prefix>-<48 hex secret>; stores prefix and hash of the whole. */
static void secret_hash(const char *key, char out[65])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const uint8_t *)key, strlen(key), NULL, 0);
	hex_encode(out, h, sizeof(h));
}

static void secret_new(const char *kind, char *key, size_t keylen, char prefix[13])
{
	uint8_t rnd[30];
	char hex[61];

	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	memcpy(prefix, hex, 12);
	prefix[12] = '\0';
	snprintf(key, keylen, "%s-%.12s-%s", kind, hex, hex + 12);
	sodium_memzero(rnd, sizeof(rnd));
}

/* Splits "kind-prefix-secret"; copies prefix. */
static int secret_prefix(const char *kind, const char *key, char prefix[13])
{
	size_t kl = strlen(kind);

	if (!key || strncmp(key, kind, kl) || key[kl] != '-' || strlen(key) != kl + 1 + 12 + 1 + 48 ||
	    key[kl + 13] != '-')
		return -1;
	memcpy(prefix, key + kl + 1, 12);
	prefix[12] = '\0';
	return 0;
}

char *mwg_store_preauthkey_create(struct mwg_store *s, const char *user, bool reusable,
				  bool ephemeral, int64_t expiration, const cJSON *tags,
				  struct mwg_err *e)
{
	char key[128], prefix[13], hash[65], *tagtext = NULL, *ret = NULL;
	int64_t uid, now = mwg_now();
	int r;

	if (tags && mwg_tags_validate(tags, e))
		return NULL;
	if (expiration <= 0)
		expiration = 3600;
	tagtext = tags ? json_text(tags) : strdup("[]");
	if (!tagtext) {
		mwg_fail(e, 500, "out of memory");
		return NULL;
	}
	secret_new("mwgkey", key, sizeof(key), prefix);
	secret_hash(key, hash);
	if (tx_begin(s, e)) {
		free(tagtext);
		return NULL;
	}
	r = user_id(s, user, &uid, e);
	if (!r)
		r = DBQ(s->db, NULL, NULL, e,
			"INSERT INTO preauthkeys (prefix, hash, user_id, reusable, ephemeral, tags,"
			" created_at, expiration) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			prefix, hash, I64S(uid), reusable ? "1" : "0", ephemeral ? "1" : "0",
			tagtext, I64S(now), I64S(now + expiration));
	free(tagtext);
	if (!tx_end(s, r, e) && !(ret = strdup(key)))
		mwg_fail(e, 500, "out of memory");
	sodium_memzero(key, sizeof(key));
	return ret;
}

cJSON *mwg_store_preauthkey_list(struct mwg_store *s, const char *user, struct mwg_err *e)
{
	struct mwg_rows rows;
	cJSON *a;
	int i, r;
	int64_t now = mwg_now();

	if (user)
		r = q_locked(s, "SELECT k.id, k.prefix, u.name, k.reusable, k.ephemeral, k.used, k.tags,"
			     " k.created_at, k.expiration FROM preauthkeys k JOIN users u ON u.id = k.user_id"
			     " WHERE u.name = $1 ORDER BY k.id", 1, (const char *[]){ user }, &rows, e);
	else
		r = q_locked(s, "SELECT k.id, k.prefix, u.name, k.reusable, k.ephemeral, k.used, k.tags,"
			     " k.created_at, k.expiration FROM preauthkeys k JOIN users u ON u.id = k.user_id"
			     " ORDER BY k.id", 0, NULL, &rows, e);
	if (r)
		return NULL;
	a = cJSON_CreateArray();
	for (i = 0; a && i < rows.nrows; i++) {
		cJSON *o = cJSON_CreateObject(), *tags;
		char t[32];
		int64_t exp = mwg_atoi64(mwg_cell(&rows, i, 8));

		if (!o)
			break;
		cJSON_AddNumberToObject(o, "id", (double)mwg_atoi64(mwg_cell(&rows, i, 0)));
		cJSON_AddStringToObject(o, "prefix", mwg_cell(&rows, i, 1));
		cJSON_AddStringToObject(o, "user", mwg_cell(&rows, i, 2));
		cJSON_AddBoolToObject(o, "reusable", atoi(mwg_cell(&rows, i, 3)));
		cJSON_AddBoolToObject(o, "ephemeral", atoi(mwg_cell(&rows, i, 4)));
		cJSON_AddBoolToObject(o, "used", atoi(mwg_cell(&rows, i, 5)));
		tags = cJSON_Parse(mwg_cell(&rows, i, 6));
		cJSON_AddItemToObject(o, "tags", tags ? tags : cJSON_CreateArray());
		mwg_time_format(t, sizeof(t), mwg_atoi64(mwg_cell(&rows, i, 7)));
		cJSON_AddStringToObject(o, "created", t);
		mwg_time_format(t, sizeof(t), exp);
		cJSON_AddStringToObject(o, "expiration", t);
		cJSON_AddBoolToObject(o, "expired", exp <= now);
		cJSON_AddItemToArray(a, o);
	}
	mwg_rows_free(&rows);
	if (!a)
		mwg_fail(e, 500, "out of memory");
	return a;
}

static int expire_secret(struct mwg_store *s, const char *table, const char *id_or_prefix,
			 struct mwg_err *e)
{
	char sql[160];
	long ch = 0;
	int r;

	if (!id_or_prefix || !*id_or_prefix)
		return mwg_fail(e, 400, "which key? give its id or prefix");
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET expiration = $1 WHERE (prefix = $2 OR CAST(id AS TEXT) = $2)"
		 " AND expiration > $1", table);
	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, NULL, &ch, e, sql, I64S(mwg_now()), id_or_prefix);
	if (!r && ch == 0) {
		struct mwg_rows rows;

		snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM %s WHERE prefix = $1 OR CAST(id AS TEXT) = $1", table);
		r = DBQ(s->db, &rows, NULL, e, sql, id_or_prefix);
		if (!r && rows.nrows == 0)
			r = mwg_fail(e, 404, "no key \"%s\"", id_or_prefix);
		mwg_rows_free(&rows);
	}
	return tx_end(s, r, e);
}

int mwg_store_preauthkey_expire(struct mwg_store *s, const char *id_or_prefix, struct mwg_err *e)
{
	return expire_secret(s, "preauthkeys", id_or_prefix, e);
}

char *mwg_store_apikey_create(struct mwg_store *s, int64_t expiration, struct mwg_err *e)
{
	char key[128], prefix[13], hash[65], *ret = NULL;
	int64_t now = mwg_now();
	int r;

	if (expiration <= 0)
		expiration = 90 * 86400;
	secret_new("mwgapi", key, sizeof(key), prefix);
	secret_hash(key, hash);
	if (tx_begin(s, e))
		return NULL;
	r = DBQ(s->db, NULL, NULL, e,
		"INSERT INTO apikeys (prefix, hash, created_at, expiration) VALUES ($1, $2, $3, $4)",
		prefix, hash, I64S(now), I64S(now + expiration));
	if (!tx_end(s, r, e) && !(ret = strdup(key)))
		mwg_fail(e, 500, "out of memory");
	sodium_memzero(key, sizeof(key));
	return ret;
}

cJSON *mwg_store_apikey_list(struct mwg_store *s, struct mwg_err *e)
{
	struct mwg_rows rows;
	cJSON *a;
	int i;
	int64_t now = mwg_now();

	if (q_locked(s, "SELECT id, prefix, created_at, expiration, last_used FROM apikeys ORDER BY id",
		     0, NULL, &rows, e))
		return NULL;
	a = cJSON_CreateArray();
	for (i = 0; a && i < rows.nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		char t[32];
		int64_t exp = mwg_atoi64(mwg_cell(&rows, i, 3));

		if (!o)
			break;
		cJSON_AddNumberToObject(o, "id", (double)mwg_atoi64(mwg_cell(&rows, i, 0)));
		cJSON_AddStringToObject(o, "prefix", mwg_cell(&rows, i, 1));
		mwg_time_format(t, sizeof(t), mwg_atoi64(mwg_cell(&rows, i, 2)));
		cJSON_AddStringToObject(o, "created", t);
		mwg_time_format(t, sizeof(t), exp);
		cJSON_AddStringToObject(o, "expiration", t);
		cJSON_AddBoolToObject(o, "expired", exp <= now);
		mwg_time_format(t, sizeof(t), mwg_atoi64(mwg_cell(&rows, i, 4)));
		cJSON_AddStringToObject(o, "last_used", t);
		cJSON_AddItemToArray(a, o);
	}
	mwg_rows_free(&rows);
	if (!a)
		mwg_fail(e, 500, "out of memory");
	return a;
}

int mwg_store_apikey_expire(struct mwg_store *s, const char *id_or_prefix, struct mwg_err *e)
{
	return expire_secret(s, "apikeys", id_or_prefix, e);
}

int mwg_store_apikey_check(struct mwg_store *s, const char *key, struct mwg_err *e)
{
	struct mwg_rows rows;
	char prefix[13], hash[65];
	int ok;

	if (secret_prefix("mwgapi", key, prefix))
		return mwg_fail(e, 401, "malformed API key");
	secret_hash(key, hash);
	if (q_locked(s, "SELECT hash, expiration FROM apikeys WHERE prefix = $1", 1,
		     (const char *[]){ prefix }, &rows, e))
		return -1;
	ok = rows.nrows == 1 && sodium_memcmp(hash, mwg_cell(&rows, 0, 0), 64) == 0 &&
	     mwg_atoi64(mwg_cell(&rows, 0, 1)) > mwg_now();
	mwg_rows_free(&rows);
	if (!ok)
		return mwg_fail(e, 401, "invalid or expired API key");
	/* for `apikeys list`; a failure here does not refuse the key */
	pthread_mutex_lock(&s->lock);
	DBQ(s->db, NULL, NULL, NULL, "UPDATE apikeys SET last_used = $2 WHERE prefix = $1", prefix,
	    I64S(mwg_now()));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- nodes ---- */

#define NODE_COLS \
	"n.id, n.user_id, u.name, n.machine_key, n.node_key, n.disco_key, n.hostname," \
	" n.given_name, n.ipv4, n.ipv6, n.tags, n.endpoints, n.hostinfo, n.routes_advertised," \
	" n.routes_approved, n.home_derp, n.ephemeral, n.pending, n.online, n.created_at," \
	" n.last_seen, n.expiry, n.version"
#define NODE_FROM " FROM nodes n LEFT JOIN users u ON u.id = n.user_id"

void mwg_node_clear(struct mwg_node *n)
{
	cJSON_Delete(n->tags);
	cJSON_Delete(n->endpoints);
	cJSON_Delete(n->hostinfo);
	cJSON_Delete(n->routes_advertised);
	cJSON_Delete(n->routes_approved);
	memset(n, 0, sizeof(*n));
}

void mwg_nodes_free(struct mwg_node *n, size_t count)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < count; i++)
		mwg_node_clear(&n[i]);
	free(n);
}

bool mwg_node_expired(const struct mwg_node *n, int64_t now)
{
	return n->expiry != 0 && n->expiry <= now;
}

static void cpy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static cJSON *parse_or(const char *text, bool object)
{
	cJSON *j = text ? cJSON_Parse(text) : NULL;

	if (j && (object ? cJSON_IsObject(j) : cJSON_IsArray(j)))
		return j;
	cJSON_Delete(j);
	return object ? cJSON_CreateObject() : cJSON_CreateArray();
}

static int node_from_row(const struct mwg_rows *r, int i, struct mwg_node *n)
{
	memset(n, 0, sizeof(*n));
	n->id = mwg_atoi64(mwg_cell(r, i, 0));
	n->user_id = mwg_atoi64(mwg_cell(r, i, 1));
	cpy(n->user, sizeof(n->user), mwg_cell(r, i, 2));
	cpy(n->machine_key, sizeof(n->machine_key), mwg_cell(r, i, 3));
	cpy(n->node_key, sizeof(n->node_key), mwg_cell(r, i, 4));
	cpy(n->disco_key, sizeof(n->disco_key), mwg_cell(r, i, 5));
	cpy(n->hostname, sizeof(n->hostname), mwg_cell(r, i, 6));
	cpy(n->given_name, sizeof(n->given_name), mwg_cell(r, i, 7));
	cpy(n->ipv4, sizeof(n->ipv4), mwg_cell(r, i, 8));
	cpy(n->ipv6, sizeof(n->ipv6), mwg_cell(r, i, 9));
	n->tags = parse_or(mwg_cell(r, i, 10), false);
	n->endpoints = parse_or(mwg_cell(r, i, 11), false);
	n->hostinfo = parse_or(mwg_cell(r, i, 12), true);
	n->routes_advertised = parse_or(mwg_cell(r, i, 13), false);
	n->routes_approved = parse_or(mwg_cell(r, i, 14), false);
	n->home_derp = atoi(mwg_cell(r, i, 15));
	n->ephemeral = atoi(mwg_cell(r, i, 16));
	n->pending = atoi(mwg_cell(r, i, 17));
	n->online = atoi(mwg_cell(r, i, 18));
	n->created = mwg_atoi64(mwg_cell(r, i, 19));
	n->last_seen = mwg_atoi64(mwg_cell(r, i, 20));
	n->expiry = mwg_atoi64(mwg_cell(r, i, 21));
	n->version = mwg_atoi64(mwg_cell(r, i, 22));
	if (!n->tags || !n->endpoints || !n->hostinfo || !n->routes_advertised ||
	    !n->routes_approved) {
		mwg_node_clear(n);
		return -1;
	}
	return 0;
}

static int node_query(struct mwg_store *s, const char *where, const char *arg,
		      struct mwg_node *n, struct mwg_err *e)
{
	struct mwg_rows rows;
	char sql[1024];
	int r;

	snprintf(sql, sizeof(sql), "SELECT " NODE_COLS NODE_FROM " WHERE %s", where);
	if (DBQ(s->db, &rows, NULL, e, sql, arg))
		return -1;
	if (rows.nrows != 1)
		r = mwg_fail(e, 404, "no such node");
	else if (node_from_row(&rows, 0, n))
		r = mwg_fail(e, 500, "out of memory");
	else
		r = 0;
	mwg_rows_free(&rows);
	return r;
}

int mwg_store_node_get(struct mwg_store *s, int64_t id, struct mwg_node *n, struct mwg_err *e)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = node_query(s, "n.id = $1", I64S(id), n, e);
	pthread_mutex_unlock(&s->lock);
	if (r && e && e->status == 404)
		mwg_fail(e, 404, "no node %lld", (long long)id);
	return r;
}

int mwg_store_node_by_machine(struct mwg_store *s, const char *mkey, struct mwg_node *n,
			      struct mwg_err *e)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = node_query(s, "n.machine_key = $1", mkey, n, e);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int mwg_store_node_list(struct mwg_store *s, struct mwg_node **nodes, size_t *count,
			struct mwg_err *e)
{
	struct mwg_rows rows;
	int i;

	*nodes = NULL;
	*count = 0;
	if (q_locked(s, "SELECT " NODE_COLS NODE_FROM " ORDER BY n.id", 0, NULL, &rows, e))
		return -1;
	if (rows.nrows) {
		*nodes = calloc((size_t)rows.nrows, sizeof(**nodes));
		if (!*nodes) {
			mwg_rows_free(&rows);
			return mwg_fail(e, 500, "out of memory");
		}
	}
	for (i = 0; i < rows.nrows; i++) {
		if (node_from_row(&rows, i, &(*nodes)[i])) {
			mwg_nodes_free(*nodes, (size_t)i);
			*nodes = NULL;
			mwg_rows_free(&rows);
			return mwg_fail(e, 500, "out of memory");
		}
	}
	*count = (size_t)rows.nrows;
	mwg_rows_free(&rows);
	return 0;
}

/* A DNS label not used by any other node: hostname, hostname-1, ... */
static int unique_name(struct mwg_store *s, const char *want, int64_t self, char *out,
		       size_t outlen, struct mwg_err *e)
{
	char base[64];
	int i;

	if (mwg_sanitize_hostname(want, base, sizeof(base)))
		strcpy(base, "node");
	for (i = 0; i < 10000; i++) {
		struct mwg_rows rows;
		int taken;

		if (i == 0)
			snprintf(out, outlen, "%s", base);
		else
			snprintf(out, outlen, "%.50s-%d", base, i);
		if (DBQ(s->db, &rows, NULL, e, "SELECT id FROM nodes WHERE given_name = $1", out))
			return -1;
		taken = rows.nrows && mwg_atoi64(mwg_cell(&rows, 0, 0)) != self;
		mwg_rows_free(&rows);
		if (!taken)
			return 0;
	}
	return mwg_fail(e, 409, "no free name for \"%s\"", want);
}

/*
 * A pending registration has no DNS name: its given_name is its machine key
 * text (unique, and never a DNS label), so unapproved machines cannot squat
 * names. It gets a name from its hostname when it is approved.
 */
static int name_pending(struct mwg_store *s, int64_t id, const char *hostname, struct mwg_err *e)
{
	char name[64];

	if (unique_name(s, hostname, id, name, sizeof(name), e))
		return -1;
	return DBQ(s->db, NULL, NULL, e, "UPDATE nodes SET given_name = $2 WHERE id = $1",
		   I64S(id), name);
}

/* Pending registrations are capped (max_pending). */
static int pending_room(struct mwg_store *s, struct mwg_err *e)
{
	struct mwg_rows rows;
	int64_t n;

	if (DBQ0(s->db, &rows, NULL, e, "SELECT COUNT(*) FROM nodes WHERE pending = 1"))
		return -1;
	n = mwg_atoi64(mwg_cell(&rows, 0, 0));
	mwg_rows_free(&rows);
	if (n >= s->cfg->max_pending)
		return mwg_fail(e, 429, "too many registrations waiting for approval (%lld); "
				"register with an auth key or try again later", (long long)n);
	return 0;
}

/*
 * The allocation cursor lives in the database (settings alloc_cursor_v4/v6,
 * written in the allocating transaction): a freed address is not handed out
 * again before the allocator wraps, whichever process allocates next (a
 * restarted server, another server, the admin CLI).
 */
static int alloc_addresses(struct mwg_store *s, char *v4, size_t l4, char *v6, size_t l6,
			   struct mwg_err *e)
{
	struct mwg_rows rows;
	int i;

	if (alloc_refresh(s, e) ||
	    DBQ0(s->db, &rows, NULL, e, "SELECT name, value FROM settings WHERE name IN"
		 " ('alloc_cursor_v4', 'alloc_cursor_v6')"))
		return -1;
	for (i = 0; i < rows.nrows; i++)
		mwg_ipalloc_set_cursor(strcmp(mwg_cell(&rows, i, 0), "alloc_cursor_v4") ? s->alloc6 :
				       s->alloc4, mwg_cell(&rows, i, 1));
	mwg_rows_free(&rows);
	if (mwg_ipalloc_next(s->alloc4, v4, l4))
		return mwg_fail(e, 507, "IPv4 prefix exhausted: no free address");
	if (mwg_ipalloc_next(s->alloc6, v6, l6)) {
		mwg_ipalloc_release(s->alloc4, v4);
		return mwg_fail(e, 507, "IPv6 prefix exhausted: no free address");
	}
	if (DBQ(s->db, NULL, NULL, e, "INSERT INTO settings (name, value) VALUES"
		" ('alloc_cursor_v4', $1), ('alloc_cursor_v6', $2)"
		" ON CONFLICT (name) DO UPDATE SET value = excluded.value", v4, v6)) {
		mwg_ipalloc_release(s->alloc4, v4);
		mwg_ipalloc_release(s->alloc6, v6);
		return -1;
	}
	return 0;
}

struct authkey_info {
	int64_t id, user_id;
	bool reusable, ephemeral;
	char *tags;
};

/* Validates an auth key and consumes it if single-use (in the transaction). */
static int authkey_use(struct mwg_store *s, const char *key, struct authkey_info *ai,
		       struct mwg_err *e)
{
	struct mwg_rows rows;
	char prefix[13], hash[65];
	long ch = 0;
	int r = 0;

	memset(ai, 0, sizeof(*ai));
	if (secret_prefix("mwgkey", key, prefix))
		return mwg_fail(e, 401, "malformed auth key");
	secret_hash(key, hash);
	if (DBQ(s->db, &rows, NULL, e,
		"SELECT id, hash, user_id, reusable, ephemeral, used, tags, expiration"
		" FROM preauthkeys WHERE prefix = $1", prefix))
		return -1;
	if (rows.nrows != 1 || sodium_memcmp(hash, mwg_cell(&rows, 0, 1), 64))
		r = mwg_fail(e, 401, "invalid auth key");
	else if (mwg_atoi64(mwg_cell(&rows, 0, 7)) <= mwg_now())
		r = mwg_fail(e, 401, "auth key expired");
	else if (!atoi(mwg_cell(&rows, 0, 3)) && atoi(mwg_cell(&rows, 0, 5)))
		r = mwg_fail(e, 401, "auth key already used");
	if (!r) {
		ai->id = mwg_atoi64(mwg_cell(&rows, 0, 0));
		ai->user_id = mwg_atoi64(mwg_cell(&rows, 0, 2));
		ai->reusable = atoi(mwg_cell(&rows, 0, 3));
		ai->ephemeral = atoi(mwg_cell(&rows, 0, 4));
		ai->tags = strdup(mwg_cell(&rows, 0, 6));
		if (!ai->tags)
			r = mwg_fail(e, 500, "out of memory");
	}
	mwg_rows_free(&rows);
	if (r)
		return r;
	/* Single-use keys: only one registration may flip used 0 -> 1. */
	if (DBQ(s->db, NULL, &ch, e,
		"UPDATE preauthkeys SET used = 1 WHERE id = $1 AND (reusable = 1 OR used = 0)",
		I64S(ai->id)) || ch != 1) {
		free(ai->tags);
		ai->tags = NULL;
		return ch != 1 ? mwg_fail(e, 401, "auth key already used") : -1;
	}
	return 0;
}

static int64_t expiry_for(const struct mwg_store *s, bool tagged)
{
	if (tagged || s->cfg->node_key_expiry == 0)
		return 0;
	return mwg_now() + s->cfg->node_key_expiry;
}

static bool array_has(const cJSON *a, const char *s);

/*
 * The tags a registration with an auth key gives the node when it advertises
 * tags: the key's tags plus the advertised ones. Advertised tags the key
 * does not carry must be owned (tagOwners of the policy in force) by the
 * key's user; with no policy in force they cannot be checked and are
 * refused. *text is NULL when nothing is advertised (tags stay as they are).
 */
static int register_tags(struct mwg_store *s, const struct authkey_info *ai, const cJSON *adv,
			 char **text, struct mwg_err *e)
{
	struct mwg_rows rows = { 0 };
	cJSON *all, *check;
	const cJSON *t;
	int r = 0;

	*text = NULL;
	if (!cJSON_GetArraySize(adv)) {
		/* An explicit empty list with an auth key: the node gets the
		 * key's tags only, so it is personal again under an untagged key
		 * (as in Tailscale); no list leaves its tags as they are. */
		if (cJSON_IsArray(adv) && !(*text = strdup(ai->tags ? ai->tags : "[]")))
			return mwg_fail(e, 500, "out of memory");
		return 0;
	}
	all = cJSON_Parse(ai->tags ? ai->tags : "[]");
	check = cJSON_CreateArray();
	if (!cJSON_IsArray(all) || !check)
		r = mwg_fail(e, 500, "out of memory");
	cJSON_ArrayForEach(t, adv) {
		if (r || array_has(all, t->valuestring) || array_has(check, t->valuestring))
			continue;
		if (!cJSON_AddItemToArray(check, cJSON_CreateString(t->valuestring)) ||
		    !cJSON_AddItemToArray(all, cJSON_CreateString(t->valuestring)))
			r = mwg_fail(e, 500, "out of memory");
	}
	if (!r && cJSON_GetArraySize(check) > 0) {
		r = DBQ(s->db, &rows, NULL, e,
			"SELECT p.text, u.name FROM users u LEFT JOIN policy p ON p.id = 1"
			" WHERE u.id = $1", I64S(ai->user_id));
		if (!r && rows.nrows != 1)
			r = mwg_fail(e, 500, "auth key user %lld vanished", (long long)ai->user_id);
		else if (!r && !mwg_cell(&rows, 0, 0))
			r = mwg_fail(e, 403, "%s: no policy is in force, so advertised tags cannot be "
				     "checked against tagOwners",
				     cJSON_GetArrayItem(check, 0)->valuestring);
		else if (!r)
			r = mwg_policy_tags_allowed(mwg_cell(&rows, 0, 0), mwg_cell(&rows, 0, 1), check, e);
		mwg_rows_free(&rows);
	}
	if (!r && !(*text = json_text(all)))
		r = mwg_fail(e, 500, "out of memory");
	cJSON_Delete(all);
	cJSON_Delete(check);
	return r;
}

int mwg_store_register(struct mwg_store *s, const struct mwg_register_req *q,
		       struct mwg_node *n, struct mwg_err *e)
{
	const cJSON *adv = q->tags;

	struct mwg_node old;
	struct authkey_info ai = { 0 };
	char *hostinfo = NULL, *tags = NULL;
	int r, found;
	int64_t now = mwg_now(), id = 0;
	char v4[64] = "", v6[64] = "";

	memset(n, 0, sizeof(*n));
	hostinfo = json_text(q->hostinfo ? q->hostinfo : cJSON_GetObjectItem(NULL, ""));
	if (!hostinfo && !(hostinfo = strdup("{}")))
		return mwg_fail(e, 500, "out of memory");
	if (tx_begin(s, e)) {
		free(hostinfo);
		return -1;
	}
	r = node_query(s, "n.machine_key = $1", q->machine_key, &old, e);
	found = r == 0;
	if (r && e && e->status == 404)
		r = 0;
	if (r)
		goto out;
	if (q->auth_key) {
		r = authkey_use(s, q->auth_key, &ai, e);
		if (!r)
			r = register_tags(s, &ai, adv, &tags, e);
		if (r)
			goto out_old;
	} else if (cJSON_GetArraySize(adv) > 0 && !found) {
		/* The user who would own the tags is not known yet. */
		r = mwg_fail(e, 403, "advertised tags need an auth key (tagOwners are checked "
			     "against its user)");
		goto out_old;
	}
	if (found) {
		id = old.id;
		if (!strcmp(old.node_key, q->node_key)) {
			/* Same key again: maybe a re-login with an auth key. */
			if (ai.id)
				r = DBQ(s->db, NULL, NULL, e,
					"UPDATE nodes SET user_id = $2, expiry = $3, pending = 0,"
					" tags = COALESCE($4, tags), version = version + 1 WHERE id = $1",
					I64S(id), I64S(ai.user_id),
					I64S(expiry_for(s, tags ? strcmp(tags, "[]") != 0 :
							cJSON_GetArraySize(old.tags) > 0)), tags);
			else if (mwg_node_expired(&old, now))
				r = mwg_fail(e, 403, "node key expired; re-register with an auth key");
			else if (old.pending)
				/* Still waiting: the registration stays pending_expiry longer. */
				r = DBQ(s->db, NULL, NULL, e,
					"UPDATE nodes SET last_seen = $2 WHERE id = $1", I64S(id), I64S(now));
			if (!r && !ai.id)
				goto out_old_noop;
		} else if (q->old_node_key && !strcmp(old.node_key, q->old_node_key) &&
			   mwg_node_expired(&old, now) && !ai.id) {
			r = mwg_fail(e, 401, "node key expired; re-register with an auth key");
		} else if (q->old_node_key && !strcmp(old.node_key, q->old_node_key)) {
			/* Rotation signed by the old key. */
			r = DBQ(s->db, NULL, NULL, e,
				"UPDATE nodes SET node_key = $2, expiry = $3, tags = COALESCE($4, tags),"
				" version = version + 1 WHERE id = $1", I64S(id), q->node_key,
				I64S(tags ? expiry_for(s, strcmp(tags, "[]") != 0) :
				     old.expiry == 0 && !cJSON_GetArraySize(old.tags) ?
				     expiry_for(s, false) :
				     expiry_for(s, cJSON_GetArraySize(old.tags) > 0)), tags);
		} else if (ai.id) {
			/* New node key authorized by an auth key. */
			r = DBQ(s->db, NULL, NULL, e,
				"UPDATE nodes SET node_key = $2, user_id = $3, expiry = $4, pending = 0,"
				" tags = COALESCE($5, tags), version = version + 1 WHERE id = $1",
				I64S(id), q->node_key, I64S(ai.user_id),
				I64S(expiry_for(s, tags ? strcmp(tags, "[]") != 0 :
						cJSON_GetArraySize(old.tags) > 0)), tags);
		} else {
			r = mwg_fail(e, 401, "machine is registered with another node key; "
				     "rotate with old_node_key or use an auth key");
		}
		if (!r && old.pending && ai.id)
			r = name_pending(s, id, q->hostname, e);
		if (!r && old.pending && ai.id && !old.ipv4[0]) {
			r = alloc_addresses(s, v4, sizeof(v4), v6, sizeof(v6), e);
			if (!r)
				r = DBQ(s->db, NULL, NULL, e,
					"UPDATE nodes SET ipv4 = $2, ipv6 = $3 WHERE id = $1",
					I64S(id), v4, v6);
		}
	} else {
		char name[MWG_KEY_TEXT_MAX];
		struct mwg_rows rows;

		if (ai.id) {
			r = unique_name(s, q->hostname, 0, name, sizeof(name), e);
		} else {
			r = pending_room(s, e);
			snprintf(name, sizeof(name), "%s", q->machine_key);
		}
		if (!r && ai.id)
			r = alloc_addresses(s, v4, sizeof(v4), v6, sizeof(v6), e);
		if (!r) {
			const char *ntags = tags ? tags : ai.tags ? ai.tags : "[]";
			cJSON *tj = cJSON_Parse(ntags);
			bool tagged = cJSON_GetArraySize(tj) > 0;

			cJSON_Delete(tj);
			r = DBQ(s->db, &rows, NULL, e,
				"INSERT INTO nodes (machine_key, node_key, disco_key, user_id, hostname,"
				" given_name, ipv4, ipv6, tags, hostinfo, ephemeral, pending, created_at,"
				" last_seen, expiry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
				" $12, $13, $13, $14) RETURNING id",
				q->machine_key, q->node_key, q->disco_key ? q->disco_key : "",
				ai.id ? I64S(ai.user_id) : NULL, q->hostname, name,
				ai.id ? v4 : NULL, ai.id ? v6 : NULL, ntags,
				hostinfo, ai.ephemeral ? "1" : "0", ai.id ? "0" : "1", I64S(now),
				I64S(ai.id ? expiry_for(s, tagged) : 0));
			if (!r) {
				id = mwg_atoi64(mwg_cell(&rows, 0, 0));
				mwg_rows_free(&rows);
			} else if (e && e->status == 409) {
				mwg_fail(e, 409, "node key already registered by another machine");
			}
		}
	}
	if (!r)
		r = record_change(s, id, "node", e);
out_old_noop:
	if (!r)
		r = node_query(s, "n.id = $1", I64S(id), n, e);
out_old:
	if (found)
		mwg_node_clear(&old);
out:
	free(ai.tags);
	free(tags);
	free(hostinfo);
	r = tx_end(s, r, e);
	if (r && v4[0]) {
		mwg_ipalloc_release(s->alloc4, v4);
		mwg_ipalloc_release(s->alloc6, v6);
	}
	return r;
}

/* Runs one UPDATE on node id (must exist) and logs the change. */
static int node_update(struct mwg_store *s, int64_t id, const char *sql, const char *a2,
		       const char *a3, struct mwg_err *e)
{
	long ch = 0;
	int r;

	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, NULL, &ch, e, sql, I64S(id), a2, a3);
	if (!r && ch == 0)
		r = mwg_fail(e, 404, "no node %lld", (long long)id);
	if (!r)
		r = record_change(s, id, "node", e);
	return tx_end(s, r, e);
}

int mwg_store_node_approve(struct mwg_store *s, int64_t id, const char *user, struct mwg_err *e)
{
	struct mwg_node n;
	char v4[64] = "", v6[64] = "";
	int64_t uid;
	int r;

	if (!user)
		return mwg_fail(e, 400, "approve needs a user");
	if (tx_begin(s, e))
		return -1;
	r = node_query(s, "n.id = $1", I64S(id), &n, e);
	if (r) {
		if (e && e->status == 404)
			mwg_fail(e, 404, "no node %lld", (long long)id);
		return tx_end(s, r, e);
	}
	if (!n.pending)
		r = mwg_fail(e, 409, "node %lld is not pending", (long long)id);
	if (!r)
		r = user_id(s, user, &uid, e);
	if (!r)
		r = name_pending(s, id, n.hostname, e);
	if (!r && !n.ipv4[0])
		r = alloc_addresses(s, v4, sizeof(v4), v6, sizeof(v6), e);
	if (!r)
		r = DBQ(s->db, NULL, NULL, e,
			"UPDATE nodes SET pending = 0, user_id = $2, ipv4 = COALESCE(ipv4, $3),"
			" ipv6 = COALESCE(ipv6, $4), expiry = $5, version = version + 1 WHERE id = $1",
			I64S(id), I64S(uid), v4[0] ? v4 : NULL, v6[0] ? v6 : NULL,
			I64S(expiry_for(s, cJSON_GetArraySize(n.tags) > 0)));
	if (!r)
		r = record_change(s, id, "node", e);
	mwg_node_clear(&n);
	r = tx_end(s, r, e);
	if (r && v4[0]) {
		mwg_ipalloc_release(s->alloc4, v4);
		mwg_ipalloc_release(s->alloc6, v6);
	}
	return r;
}

int mwg_store_node_expire(struct mwg_store *s, int64_t id, struct mwg_err *e)
{
	return node_update(s, id, "UPDATE nodes SET expiry = $2, version = version + 1 WHERE id = $1",
			   I64S(mwg_now()), NULL, e);
}

int mwg_store_node_rename(struct mwg_store *s, int64_t id, const char *name, struct mwg_err *e)
{
	char clean[64];
	long ch = 0;
	int r;

	if (!name || mwg_sanitize_hostname(name, clean, sizeof(clean)) || strcmp(clean, name))
		return mwg_fail(e, 400, "\"%s\" is not a valid DNS label (lowercase letters, digits, '-')",
				name ? name : "");
	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, NULL, &ch, e,
		"UPDATE nodes SET given_name = $2, version = version + 1 WHERE id = $1",
		I64S(id), name);
	if (r && e && e->status == 409)
		mwg_fail(e, 409, "name \"%s\" is taken by another node", name);
	if (!r && ch == 0)
		r = mwg_fail(e, 404, "no node %lld", (long long)id);
	if (!r)
		r = record_change(s, id, "node", e);
	return tx_end(s, r, e);
}

int mwg_store_node_set_tags(struct mwg_store *s, int64_t id, const cJSON *tags, struct mwg_err *e)
{
	char *text;
	int r;

	if (mwg_tags_validate(tags, e))
		return -1;
	text = json_text(tags);
	if (!text)
		return mwg_fail(e, 500, "out of memory");
	/* Tagged nodes never expire; untagging starts a fresh expiry. */
	r = node_update(s, id,
			"UPDATE nodes SET tags = $2, expiry = CASE WHEN $2 = '[]' THEN"
			" CAST($3 AS BIGINT) ELSE 0 END, version = version + 1 WHERE id = $1",
			text, I64S(expiry_for(s, false)), e);
	free(text);
	return r;
}

int mwg_store_node_delete(struct mwg_store *s, int64_t id, struct mwg_err *e)
{
	struct mwg_rows rows;
	long ch = 0;
	int r;

	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, &rows, NULL, e, "SELECT ipv4, ipv6 FROM nodes WHERE id = $1", I64S(id));
	if (!r && rows.nrows == 0)
		r = mwg_fail(e, 404, "no node %lld", (long long)id);
	if (!r)
		r = DBQ(s->db, NULL, &ch, e, "DELETE FROM nodes WHERE id = $1", I64S(id));
	if (!r)
		r = record_change(s, id, "node_deleted", e);
	r = tx_end(s, r, e);
	if (!r) {
		if (mwg_cell(&rows, 0, 0))
			mwg_ipalloc_release(s->alloc4, mwg_cell(&rows, 0, 0));
		if (mwg_cell(&rows, 0, 1))
			mwg_ipalloc_release(s->alloc6, mwg_cell(&rows, 0, 1));
	}
	mwg_rows_free(&rows);
	return r;
}

static bool array_has(const cJSON *a, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

int mwg_store_node_set_approved_routes(struct mwg_store *s, int64_t id, const cJSON *routes,
				       struct mwg_err *e)
{
	struct mwg_node n;
	const cJSON *it;
	char *text;
	int r;

	if (mwg_routes_validate(routes, e) || routes_outside_tailnet(s, routes, e))
		return -1;
	if (mwg_store_node_get(s, id, &n, e))
		return -1;
	cJSON_ArrayForEach(it, routes) {
		if (!array_has(n.routes_advertised, it->valuestring)) {
			mwg_fail(e, 400, "node %lld does not advertise %s", (long long)id,
				 it->valuestring);
			mwg_node_clear(&n);
			return -1;
		}
	}
	mwg_node_clear(&n);
	text = json_text(routes);
	if (!text)
		return mwg_fail(e, 500, "out of memory");
	r = node_update(s, id,
			"UPDATE nodes SET routes_approved = $2, version = version + 1 WHERE id = $1",
			text, NULL, e);
	free(text);
	return r;
}

int mwg_store_node_update(struct mwg_store *s, int64_t id, const cJSON *endpoints,
			  int home_derp, const char *disco_key, const cJSON *hostinfo,
			  const cJSON *routes_advertised, struct mwg_err *e)
{
	char *ep = endpoints ? json_text(endpoints) : NULL;
	char *hi = hostinfo ? json_text(hostinfo) : NULL;
	char *ra = routes_advertised ? json_text(routes_advertised) : NULL;
	long ch = 0;
	int r;

	if ((endpoints && !ep) || (hostinfo && !hi) || (routes_advertised && !ra)) {
		r = mwg_fail(e, 500, "out of memory");
		goto out;
	}
	if (routes_advertised && (r = routes_outside_tailnet(s, routes_advertised, e)))
		goto out;
	if ((r = tx_begin(s, e)))
		goto out;
	/* Approved routes that are no longer advertised are dropped. */
	r = DBQ(s->db, NULL, &ch, e,
		"UPDATE nodes SET endpoints = COALESCE($2, endpoints),"
		" home_derp = CASE WHEN CAST($3 AS INTEGER) < 0 THEN home_derp ELSE CAST($3 AS INTEGER) END,"
		" disco_key = COALESCE($4, disco_key), hostinfo = COALESCE($5, hostinfo),"
		" routes_advertised = COALESCE($6, routes_advertised),"
		" last_seen = $7, version = version + 1 WHERE id = $1",
		I64S(id), ep, I64S(home_derp), disco_key, hi, ra, I64S(mwg_now()));
	if (!r && ch == 0)
		r = mwg_fail(e, 404, "no node %lld", (long long)id);
	if (!r && ra) {
		struct mwg_node n;

		r = node_query(s, "n.id = $1", I64S(id), &n, e);
		if (!r) {
			cJSON *keep = cJSON_CreateArray(), *it;
			char *kt;

			cJSON_ArrayForEach(it, n.routes_approved)
				if (cJSON_IsString(it) && array_has(routes_advertised, it->valuestring))
					cJSON_AddItemToArray(keep, cJSON_CreateString(it->valuestring));
			kt = json_text(keep);
			r = kt ? DBQ(s->db, NULL, NULL, e,
				     "UPDATE nodes SET routes_approved = $2 WHERE id = $1", I64S(id), kt)
			       : mwg_fail(e, 500, "out of memory");
			free(kt);
			cJSON_Delete(keep);
			mwg_node_clear(&n);
		}
	}
	if (!r)
		r = record_change(s, id, "node", e);
	r = tx_end(s, r, e);
out:
	free(ep);
	free(hi);
	free(ra);
	return r;
}

int mwg_store_node_set_online(struct mwg_store *s, int64_t id, bool online, struct mwg_err *e)
{
	return node_update(s, id,
			   "UPDATE nodes SET online = CAST($2 AS INTEGER), last_seen = $3,"
			   " version = version + 1 WHERE id = $1",
			   online ? "1" : "0", I64S(mwg_now()), e);
}

int mwg_store_node_logout(struct mwg_store *s, int64_t id, struct mwg_err *e)
{
	struct mwg_node n;
	int r;

	if (mwg_store_node_get(s, id, &n, e))
		return -1;
	/* Ephemeral nodes go away at logout; others just expire. */
	r = n.ephemeral ? mwg_store_node_delete(s, id, e) : mwg_store_node_expire(s, id, e);
	mwg_node_clear(&n);
	return r;
}

int mwg_store_touch(struct mwg_store *s, const int64_t *ids, size_t n, struct mwg_err *e)
{
	size_t i = 0;
	int r = 0;

	while (i < n && !r) {
		struct mwg_buf b = { 0 };
		size_t k;

		mwg_buf_printf(&b, "UPDATE nodes SET last_seen = $1 WHERE id IN (");
		for (k = 0; k < 500 && i < n; k++, i++)
			mwg_buf_printf(&b, "%s%lld", k ? "," : "", (long long)ids[i]);
		if (mwg_buf_append(&b, ")", 1)) {
			mwg_buf_free(&b);
			return mwg_fail(e, 500, "out of memory");
		}
		pthread_mutex_lock(&s->lock);
		r = DBQ(s->db, NULL, NULL, e, b.data, I64S(mwg_now()));
		pthread_mutex_unlock(&s->lock);
		mwg_buf_free(&b);
	}
	return r;
}

int mwg_store_ephemeral_gc(struct mwg_store *s, int64_t timeout, int64_t stale, struct mwg_err *e)
{
	struct mwg_rows rows;
	int i, n = 0;

	if (q_locked(s, "SELECT id FROM nodes WHERE ephemeral = 1 AND last_seen < $1"
		     " AND (online = 0 OR last_seen < $2)", 2,
		     (const char *[]){ I64S(mwg_now() - timeout), I64S(mwg_now() - timeout - stale) },
		     &rows, e))
		return -1;
	for (i = 0; i < rows.nrows; i++)
		if (!mwg_store_node_delete(s, mwg_atoi64(mwg_cell(&rows, i, 0)), NULL))
			n++;
	mwg_rows_free(&rows);
	/* keep the change log short */
	pthread_mutex_lock(&s->lock);
	DBQ(s->db, NULL, NULL, NULL, "DELETE FROM changes WHERE at < $1", I64S(mwg_now() - 86400));
	pthread_mutex_unlock(&s->lock);
	return n;
}

int mwg_store_pending_gc(struct mwg_store *s, int64_t max_age, struct mwg_err *e)
{
	struct mwg_rows rows;
	int i, n = 0;

	if (q_locked(s, "SELECT id FROM nodes WHERE pending = 1 AND last_seen < $1", 1,
		     (const char *[]){ I64S(mwg_now() - max_age) }, &rows, e))
		return -1;
	for (i = 0; i < rows.nrows; i++)
		if (!mwg_store_node_delete(s, mwg_atoi64(mwg_cell(&rows, i, 0)), NULL))
			n++;
	mwg_rows_free(&rows);
	return n;
}

/* ---- policy ---- */

int mwg_store_policy_get(struct mwg_store *s, char **text, int64_t *updated, struct mwg_err *e)
{
	struct mwg_rows rows;

	*text = NULL;
	if (q_locked(s, "SELECT text, updated_at FROM policy WHERE id = 1", 0, NULL, &rows, e))
		return -1;
	if (rows.nrows == 1) {
		*text = rows.cells[0];
		rows.cells[0] = NULL;
		if (updated)
			*updated = mwg_atoi64(mwg_cell(&rows, 0, 1));
	}
	mwg_rows_free(&rows);
	return 0;
}

int mwg_store_policy_set(struct mwg_store *s, const char *text, struct mwg_err *e)
{
	int r;

	if (tx_begin(s, e))
		return -1;
	r = DBQ(s->db, NULL, NULL, e, "DELETE FROM policy WHERE id = 1");
	if (!r)
		r = DBQ(s->db, NULL, NULL, e,
			"INSERT INTO policy (id, text, updated_at) VALUES (1, $1, $2)",
			text, I64S(mwg_now()));
	if (!r)
		r = record_change(s, 0, "policy", e);
	return tx_end(s, r, e);
}

/* ---- shared replay check ---- */

int mwg_store_nonce_advance(struct mwg_store *s, const char *mkey, uint64_t ts, uint64_t ctr,
			    struct mwg_err *e)
{
	long ch = 0;
	int r;

	if (ts > INT64_MAX || ctr > INT64_MAX)
		return mwg_fail(e, 401, "nonce out of range");
	pthread_mutex_lock(&s->lock);
	r = DBQ(s->db, NULL, &ch, e,
		"INSERT INTO machine_nonces (machine_key, ts, ctr) VALUES ($1, $2, $3)"
		" ON CONFLICT (machine_key) DO UPDATE SET ts = excluded.ts, ctr = excluded.ctr"
		" WHERE machine_nonces.ts < excluded.ts OR"
		" (machine_nonces.ts = excluded.ts AND machine_nonces.ctr < excluded.ctr)",
		mkey, I64S(ts), I64S(ctr));
	pthread_mutex_unlock(&s->lock);
	if (!r && ch != 1)
		r = mwg_fail(e, 401, "replayed or out-of-order nonce");
	return r;
}

/* ---- change log ---- */

int mwg_store_change_head(struct mwg_store *s, int64_t *seq, struct mwg_err *e)
{
	struct mwg_rows rows;

	if (q_locked(s, "SELECT COALESCE(MAX(seq), 0) FROM changes", 0, NULL, &rows, e))
		return -1;
	*seq = mwg_atoi64(mwg_cell(&rows, 0, 0));
	mwg_rows_free(&rows);
	return 0;
}

int mwg_store_changes_since(struct mwg_store *s, int64_t seq, struct mwg_change **out,
			    size_t *n, struct mwg_err *e)
{
	struct mwg_rows rows;
	int i;

	*out = NULL;
	*n = 0;
	if (q_locked(s, "SELECT seq, node_id, kind FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
		     1, (const char *[]){ I64S(seq) }, &rows, e))
		return -1;
	if (rows.nrows) {
		*out = calloc((size_t)rows.nrows, sizeof(**out));
		if (!*out) {
			mwg_rows_free(&rows);
			return mwg_fail(e, 500, "out of memory");
		}
	}
	for (i = 0; i < rows.nrows; i++) {
		(*out)[i].seq = mwg_atoi64(mwg_cell(&rows, i, 0));
		(*out)[i].node_id = mwg_atoi64(mwg_cell(&rows, i, 1));
		cpy((*out)[i].kind, sizeof((*out)[i].kind), mwg_cell(&rows, i, 2));
	}
	*n = (size_t)rows.nrows;
	mwg_rows_free(&rows);
	return 0;
}

cJSON *mwg_node_to_json(const struct mwg_node *n, const char *base_domain)
{
	cJSON *o = cJSON_CreateObject(), *addrs;
	char t[32], dns[256];
	int64_t now = mwg_now();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)n->id);
	/* a pending registration has no name yet (name_pending()) */
	cJSON_AddStringToObject(o, "name", n->pending ? "" : n->given_name);
	snprintf(dns, sizeof(dns), "%s.%s", n->given_name, base_domain);
	cJSON_AddStringToObject(o, "dns_name", n->pending ? "" : dns);
	cJSON_AddStringToObject(o, "hostname", n->hostname);
	cJSON_AddStringToObject(o, "user", n->user);
	cJSON_AddStringToObject(o, "machine_key", n->machine_key);
	/* a short form of the machine key, to check before approving */
	snprintf(dns, sizeof(dns), "%.21s", n->machine_key);
	cJSON_AddStringToObject(o, "fingerprint", dns);
	cJSON_AddStringToObject(o, "node_key", n->node_key);
	cJSON_AddStringToObject(o, "disco_key", n->disco_key);
	addrs = cJSON_AddArrayToObject(o, "addresses");
	if (n->ipv4[0])
		cJSON_AddItemToArray(addrs, cJSON_CreateString(n->ipv4));
	if (n->ipv6[0])
		cJSON_AddItemToArray(addrs, cJSON_CreateString(n->ipv6));
	cJSON_AddItemToObject(o, "tags", cJSON_Duplicate(n->tags, 1));
	cJSON_AddItemToObject(o, "endpoints", cJSON_Duplicate(n->endpoints, 1));
	cJSON_AddNumberToObject(o, "home_derp", n->home_derp);
	cJSON_AddItemToObject(o, "routes_advertised", cJSON_Duplicate(n->routes_advertised, 1));
	cJSON_AddItemToObject(o, "routes_approved", cJSON_Duplicate(n->routes_approved, 1));
	cJSON_AddBoolToObject(o, "ephemeral", n->ephemeral);
	cJSON_AddBoolToObject(o, "pending", n->pending);
	cJSON_AddBoolToObject(o, "online", n->online);
	cJSON_AddBoolToObject(o, "expired", mwg_node_expired(n, now));
	mwg_time_format(t, sizeof(t), n->created);
	cJSON_AddStringToObject(o, "created", t);
	mwg_time_format(t, sizeof(t), n->last_seen);
	cJSON_AddStringToObject(o, "last_seen", t);
	mwg_time_format(t, sizeof(t), n->expiry);
	cJSON_AddStringToObject(o, "expiry", n->expiry ? t : "never");
	return o;
}
