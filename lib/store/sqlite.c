/*
 * The SQLite backend: one database for every vhost, opened in WAL mode,
 * its schema brought forward at open by a list of migration steps (each
 * in its own transaction, recorded in schema_version), and every data
 * access through statements prepared once at open and reused. Calls
 * complete before returning, on the caller's thread.
 *
 * Results are copied out of a statement and the statement reset before a
 * callback runs, so that callbacks may call the store again (the cached
 * statements are free by then).
 */
#include <sqlite3.h>

#include "store/store_impl.h"

/*
 * Migration steps: step i (1-based) takes the schema from version i - 1
 * to i. Steps are only ever appended; a released step never changes.
 * Only constant SQL here: data always goes through bound parameters.
 */
static const char *const migrations[] = {
    /* 1: accounts with SCRAM-SHA-1 keys. A hash's four columns are all
     * NULL when the account has no keys for it. */
    ("CREATE TABLE users ("
     " vhost TEXT NOT NULL,"
     " username TEXT NOT NULL,"
     " sha1_iterations INTEGER,"
     " sha1_salt BLOB,"
     " sha1_stored_key BLOB,"
     " sha1_server_key BLOB,"
     " PRIMARY KEY (vhost, username)"
     ") WITHOUT ROWID;"),
    /* 2: SCRAM-SHA-256 keys (RFC 7677) beside the SHA-1 ones. */
    ("ALTER TABLE users ADD COLUMN sha256_iterations INTEGER;"
     "ALTER TABLE users ADD COLUMN sha256_salt BLOB;"
     "ALTER TABLE users ADD COLUMN sha256_stored_key BLOB;"
     "ALTER TABLE users ADD COLUMN sha256_server_key BLOB;"),
};

#define SCHEMA_VERSION ((int)XI_ARRAY_LEN(migrations))

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_GET,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE,
    ST_EXISTS,
    ST_LIST,
    ST_COUNT,
    ST_MAX
};

/* Keys columns, in the order the statements below use them. */
#define KEY_COLS                                                               \
    "sha1_iterations, sha1_salt, sha1_stored_key, sha1_server_key, "           \
    "sha256_iterations, sha256_salt, sha256_stored_key, sha256_server_key"

static const char *const statements[ST_MAX] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GET] = ("SELECT " KEY_COLS " FROM users"
                " WHERE vhost = ?1 AND username = ?2"),
    [ST_INSERT] = ("INSERT INTO users (vhost, username, " KEY_COLS ")"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
    [ST_UPDATE] = ("UPDATE users SET sha1_iterations = ?3, sha1_salt = ?4,"
                   " sha1_stored_key = ?5, sha1_server_key = ?6,"
                   " sha256_iterations = ?7, sha256_salt = ?8,"
                   " sha256_stored_key = ?9, sha256_server_key = ?10"
                   " WHERE vhost = ?1 AND username = ?2"),
    [ST_DELETE] = "DELETE FROM users WHERE vhost = ?1 AND username = ?2",
    [ST_EXISTS] = "SELECT 1 FROM users WHERE vhost = ?1 AND username = ?2",
    [ST_LIST] = ("SELECT username FROM users WHERE vhost = ?1 AND username > ?2"
                 " ORDER BY username LIMIT ?3"),
    [ST_COUNT] = "SELECT count(*) FROM users WHERE vhost = ?1",
};

struct sq_backend {
    const xmppcore_mem *mem;
    sqlite3 *db;
    sqlite3_stmt *st[ST_MAX];
};

/* Maps a SQLite result code (extended codes are on) to ours. */
static int sq_error(int rc)
{
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        return XMPPCORE_E_EXISTS;
    if ((rc & 0xff) == SQLITE_NOMEM)
        return XMPPCORE_E_NOMEM;
    return XMPPCORE_E_IO;
}

/* Runs a statement that returns no rows and resets it. 0 or an error. */
static int sq_exec(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : sq_error(rc);
}

static int bind_key(sqlite3_stmt *st, int col, const xmppcore_scram_keys *k,
                    int key_len)
{
    int rc;
    if (!k->iterations) {
        for (int i = 0; i < 4; i++)
            if ((rc = sqlite3_bind_null(st, col + i)) != SQLITE_OK)
                return rc;
        return SQLITE_OK;
    }
    if ((rc = sqlite3_bind_int64(st, col, k->iterations)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, col + 1, k->salt, (int)k->salt_len,
                                SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, col + 2, k->stored_key, key_len,
                                SQLITE_STATIC)) != SQLITE_OK)
        return rc;
    return sqlite3_bind_blob(st, col + 3, k->server_key, key_len,
                             SQLITE_STATIC);
}

/* Binds ?1 vhost, ?2 username and, if creds, ?3..?10 the keys. */
static int bind_account(sqlite3_stmt *st, const char *vhost,
                        const char *username, const xmppcore_credentials *c)
{
    int rc;
    if ((rc = sqlite3_bind_text(st, 1, vhost, -1, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, username, -1, SQLITE_STATIC)) !=
            SQLITE_OK)
        return rc;
    if (!c)
        return SQLITE_OK;
    if ((rc = bind_key(st, 3, &c->sha1, 20)) != SQLITE_OK)
        return rc;
    return bind_key(st, 7, &c->sha256, 32);
}

/* Reads one hash's keys from columns col..col+3. 0, or XMPPCORE_E_IO if
 * the row does not hold what this code writes. */
static int read_key(sqlite3_stmt *st, int col, xmppcore_scram_keys *k,
                    int key_len)
{
    memset(k, 0, sizeof *k);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    sqlite3_int64 it = sqlite3_column_int64(st, col);
    const void *salt = sqlite3_column_blob(st, col + 1);
    int salt_len = sqlite3_column_bytes(st, col + 1);
    const void *sk = sqlite3_column_blob(st, col + 2);
    int sk_len = sqlite3_column_bytes(st, col + 2);
    const void *svk = sqlite3_column_blob(st, col + 3);
    int svk_len = sqlite3_column_bytes(st, col + 3);
    if (it < 1 || it > UINT32_MAX || salt_len > XMPPCORE_SCRAM_SALT_MAX ||
        sk_len != key_len || svk_len != key_len || !sk || !svk)
        return XMPPCORE_E_IO;
    k->iterations = (uint32_t)it;
    k->salt_len = (uint32_t)salt_len;
    if (salt_len)
        memcpy(k->salt, salt, (size_t)salt_len);
    memcpy(k->stored_key, sk, (size_t)key_len);
    memcpy(k->server_key, svk, (size_t)key_len);
    return 0;
}

static int sq_get(void *backend, const char *vhost, const char *username,
                  xmppcore_store_creds_fn cb, void *user_data)
{
    struct sq_backend *b = backend;
    sqlite3_stmt *st = b->st[ST_GET];
    xmppcore_credentials c;
    int status, rc = bind_account(st, vhost, username, NULL);
    if (rc != SQLITE_OK) {
        status = sq_error(rc);
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            status = read_key(st, 0, &c.sha1, 20);
            if (!status)
                status = read_key(st, 4, &c.sha256, 32);
        } else {
            status = rc == SQLITE_DONE ? XMPPCORE_E_NOTFOUND : sq_error(rc);
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    cb(status, status ? NULL : &c, user_data);
    return 0;
}

/* Binds and runs a statement writing one account; 0 or an error. For an
 * UPDATE or DELETE, XMPPCORE_E_NOTFOUND if no row changed. */
static int write_one(struct sq_backend *b, int which, const char *vhost,
                     const char *username, const xmppcore_credentials *c)
{
    sqlite3_stmt *st = b->st[which];
    int rc = bind_account(st, vhost, username, c);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return sq_error(rc);
    }
    int status = sq_exec(st);
    if (!status && which != ST_INSERT && sqlite3_changes(b->db) == 0)
        status = XMPPCORE_E_NOTFOUND;
    return status;
}

static int sq_create(void *backend, const char *vhost, const char *username,
                     const xmppcore_credentials *creds,
                     xmppcore_store_done_fn cb, void *user_data)
{
    cb(write_one(backend, ST_INSERT, vhost, username, creds), user_data);
    return 0;
}

static int sq_set(void *backend, const char *vhost, const char *username,
                  const xmppcore_credentials *creds, xmppcore_store_done_fn cb,
                  void *user_data)
{
    cb(write_one(backend, ST_UPDATE, vhost, username, creds), user_data);
    return 0;
}

static int sq_remove(void *backend, const char *vhost, const char *username,
                     xmppcore_store_done_fn cb, void *user_data)
{
    cb(write_one(backend, ST_DELETE, vhost, username, NULL), user_data);
    return 0;
}

static int sq_exists(void *backend, const char *vhost, const char *username,
                     xmppcore_store_done_fn cb, void *user_data)
{
    struct sq_backend *b = backend;
    sqlite3_stmt *st = b->st[ST_EXISTS];
    int status, rc = bind_account(st, vhost, username, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        status = 0;
    else if (rc == SQLITE_DONE)
        status = XMPPCORE_E_NOTFOUND;
    else
        status = sq_error(rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    cb(status, user_data);
    return 0;
}

static int sq_list(void *backend, const char *vhost, const char *after,
                   size_t limit, xmppcore_store_users_fn cb, void *user_data)
{
    struct sq_backend *b = backend;
    sqlite3_stmt *st = b->st[ST_LIST];
    /* Names are copied into one growing buffer (offsets first, as the
     * buffer moves), since the statement is reset before cb runs. */
    size_t *offs = NULL, n = 0, offs_cap = 0;
    char *buf = NULL;
    size_t used = 0, buf_cap = 0;
    const char **names = NULL;
    int status = 0;
    sqlite3_int64 lim = limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit;
    int rc = bind_account(st, vhost, after ? after : "", NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, lim);
    if (rc != SQLITE_OK)
        status = sq_error(rc);
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        if (!name) {
            status = XMPPCORE_E_NOMEM;
            break;
        }
        if (n == offs_cap) {
            size_t ncap = offs_cap ? offs_cap * 2 : 32;
            size_t *no = xi_realloc(b->mem, offs, ncap * sizeof *no);
            if (!no) {
                status = XMPPCORE_E_NOMEM;
                break;
            }
            offs = no;
            offs_cap = ncap;
        }
        if (used + len + 1 > buf_cap) {
            size_t ncap = buf_cap ? buf_cap : 1024;
            while (ncap < used + len + 1)
                ncap *= 2;
            char *nb = xi_realloc(b->mem, buf, ncap);
            if (!nb) {
                status = XMPPCORE_E_NOMEM;
                break;
            }
            buf = nb;
            buf_cap = ncap;
        }
        memcpy(buf + used, name, len + 1);
        offs[n++] = used;
        used += len + 1;
    }
    if (!status && rc != SQLITE_DONE)
        status = sq_error(rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!status && n) {
        names = xi_malloc(b->mem, n * sizeof *names);
        if (!names)
            status = XMPPCORE_E_NOMEM;
        for (size_t i = 0; names && i < n; i++)
            names[i] = buf + offs[i];
    }
    xi_free(b->mem, offs);
    cb(status, status ? NULL : names, status ? 0 : n, user_data);
    xi_free(b->mem, (void *)names);
    xi_free(b->mem, buf);
    return 0;
}

static int sq_count(void *backend, const char *vhost,
                    xmppcore_store_count_fn cb, void *user_data)
{
    struct sq_backend *b = backend;
    sqlite3_stmt *st = b->st[ST_COUNT];
    uint64_t count = 0;
    int status = 0, rc = sqlite3_bind_text(st, 1, vhost, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        count = (uint64_t)sqlite3_column_int64(st, 0);
    else
        status = sq_error(rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    cb(status, count, user_data);
    return 0;
}

static int sq_create_many(void *backend, const char *vhost,
                          const xmppcore_store_account *accounts, size_t n,
                          xmppcore_store_done_fn cb, void *user_data)
{
    struct sq_backend *b = backend;
    int status = sq_exec(b->st[ST_BEGIN]);
    if (!status) {
        for (size_t i = 0; i < n && !status; i++)
            status = write_one(b, ST_INSERT, vhost, accounts[i].username,
                               accounts[i].creds);
        if (!status)
            status = sq_exec(b->st[ST_COMMIT]);
        if (status && !sqlite3_get_autocommit(b->db))
            sq_exec(b->st[ST_ROLLBACK]);
    }
    cb(status, user_data);
    return 0;
}

static const xmppcore_store_auth_vtable sq_auth = {
    XMPPCORE_STORE_AUTH_VERSION,
    sq_get,
    sq_create,
    sq_set,
    sq_remove,
    sq_exists,
    sq_list,
    sq_count,
    sq_create_many,
};

/* ---- Opening and migrations ---- */

static void sq_backend_free(void *p)
{
    struct sq_backend *b = p;
    if (!b)
        return;
    for (int i = 0; i < ST_MAX; i++)
        sqlite3_finalize(b->st[i]);
    sqlite3_close(b->db);
    xi_free(b->mem, b);
}

/* Runs constant SQL (pragmas, migration steps). 0 or an error. */
static int run_sql(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sq_error(rc);
}

/* The schema version recorded in the database (0 if none), inside the
 * current transaction. */
static int read_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    int rc = run_sql(db, "CREATE TABLE IF NOT EXISTS schema_version"
                         " (version INTEGER NOT NULL)");
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_error(sqlite3_errcode(db));
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_error(rc);
}

static int write_version(sqlite3 *db, int version)
{
    sqlite3_stmt *st;
    int rc = run_sql(db, "DELETE FROM schema_version");
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db, "INSERT INTO schema_version VALUES (?1)", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_error(sqlite3_errcode(db));
    sqlite3_bind_int(st, 1, version);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_error(rc);
}

/* Applies the missing steps, each in its own transaction, re-reading the
 * version inside it so that two processes opening at once do not both
 * apply a step. */
static int migrate(sqlite3 *db)
{
    for (int step = 1; step <= SCHEMA_VERSION; step++) {
        int version = 0;
        int rc = run_sql(db, "BEGIN IMMEDIATE");
        if (rc)
            return rc;
        rc = read_version(db, &version);
        if (!rc && version > SCHEMA_VERSION)
            rc = XMPPCORE_E_UNSUPPORTED;
        if (!rc && version < step) {
            rc = run_sql(db, migrations[step - 1]);
            if (!rc)
                rc = write_version(db, step);
        }
        if (!rc)
            rc = run_sql(db, "COMMIT");
        if (rc) {
            if (!sqlite3_get_autocommit(db))
                run_sql(db, "ROLLBACK");
            return rc;
        }
    }
    return 0;
}

int xmppcore_store_sqlite_schema_version(void)
{
    return SCHEMA_VERSION;
}

int xmppcore_store_sqlite_open(const char *path,
                               const xmppcore_store_sqlite_options *opts,
                               const xmppcore_mem *mem, xmppcore_store **out)
{
    if (out)
        *out = NULL;
    if (!path || !out || (opts && opts->version < 1))
        return XMPPCORE_E_INVAL;
    int busy_ms =
        opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
    bool exclusive = opts && opts->version >= 2 && opts->exclusive;
    xmppcore_store *s = xmppcore_store_new(mem);
    if (!s)
        return XMPPCORE_E_NOMEM;
    struct sq_backend *b = xi_calloc(s->mem, sizeof *b);
    if (!b) {
        xmppcore_store_free(s);
        return XMPPCORE_E_NOMEM;
    }
    b->mem = s->mem;
    s->owned = b;
    s->owned_free = sq_backend_free;

    /* The store belongs to one thread: no SQLite mutex needed. */
    int rc = sqlite3_open_v2(
        path, &b->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int status = rc == SQLITE_OK ? 0 : sq_error(rc);
    if (!status) {
        sqlite3_extended_result_codes(b->db, 1);
        sqlite3_busy_timeout(b->db, busy_ms);
        /* WAL: readers do not block the writer; NORMAL sync is safe from
         * corruption in WAL mode and spares an fsync per commit. */
        /* Exclusive first: a WAL database then keeps its index in heap
         * memory and never maps a -shm file. */
        if (exclusive)
            status = run_sql(b->db, "PRAGMA locking_mode = EXCLUSIVE;");
        if (!status)
            status = run_sql(b->db, "PRAGMA journal_mode = WAL;"
                                    "PRAGMA synchronous = NORMAL;"
                                    "PRAGMA foreign_keys = ON;");
    }
    if (!status)
        status = migrate(b->db);
    for (int i = 0; i < ST_MAX && !status; i++) {
        rc = sqlite3_prepare_v3(b->db, statements[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &b->st[i], NULL);
        if (rc != SQLITE_OK)
            status = sq_error(rc);
    }
    if (status) {
        xmppcore_store_free(s);
        return status;
    }
    xmppcore_store_set_auth(s, &sq_auth, b);
    *out = s;
    return 0;
}
