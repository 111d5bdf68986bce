#include "db.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define STMT_CACHE 128
#define MAX_PARAMS 32

struct db_conn {
    MYSQL *m;
    struct {
        char *sql; /* owned copy: dynamic SQL may be freed with its request */
        MYSQL_STMT *st;
    } cache[STMT_CACHE];
    int ncache;
    int last_errno;
    unsigned long long last_insert_id;
};

static void *mysql_open(void *cfgp, char *err, size_t errlen) {
    const struct df_config *cfg = cfgp;
    unsigned int timeout = (unsigned int)cfg->mysql_timeout_s;
    my_bool off = 0;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "mysql_init failed");
        return NULL;
    }
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off); /* a silent reconnect would lose a transaction */
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    /* a thread waiting on a row lock must give up before the client's read
     * timeout would call the connection lost */
    char lock_wait[64];
    if (cfg->mysql_lock_wait_s > 0) { /* 0 (a config not from config_load): the server's */
        snprintf(lock_wait, sizeof(lock_wait), "SET SESSION innodb_lock_wait_timeout = %ld", cfg->mysql_lock_wait_s);
        mysql_optionsv(m, MYSQL_INIT_COMMAND, lock_wait);
    }
    const char *sock = cfg->mysql_socket[0] ? cfg->mysql_socket : NULL;
    if (!mysql_real_connect(m, sock ? "localhost" : cfg->mysql_host, cfg->mysql_user, cfg->mysql_password,
                            cfg->mysql_database, sock ? 0 : (unsigned int)cfg->mysql_port, sock, 0)) {
        snprintf(err, errlen, "connect: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    struct db_conn *c = xcalloc(1, sizeof(*c));
    c->m = m;
    return c;
}

static void mysql_conn_close(void *conn) {
    struct db_conn *c = conn;
    for (int i = 0; i < c->ncache; i++) {
        mysql_stmt_close(c->cache[i].st);
        free(c->cache[i].sql);
    }
    mysql_close(c->m);
    free(c);
}

/* Kore's pgsql pool habit: a connection coming back inside a transaction
 * is rolled back, or dropped when that fails. */
static int mysql_reset(void *conn) {
    struct db_conn *c = conn;
    unsigned int status = 0;
    for (int i = 0; i < c->ncache; i++)
        mysql_stmt_free_result(c->cache[i].st);
    if (mariadb_get_infov(c->m, MARIADB_CONNECTION_SERVER_STATUS, &status) != 0)
        return -1;
    if ((status & SERVER_STATUS_IN_TRANS) && mysql_rollback(c->m) != 0)
        return -1;
    c->last_errno = 0;
    return 0;
}

static int mysql_alive(void *conn) {
    return pool_fd_alive((int)mysql_get_socket(((struct db_conn *)conn)->m));
}

const struct pool_ops mysql_pool_ops = {"mysql", mysql_open, mysql_reset, mysql_alive, mysql_conn_close};

static struct db_conn *conn_of(struct df_req *r) {
    if (r->mysql_slot)
        return r->mysql_broken ? NULL : r->mysql_slot->conn;
    char err[512];
    r->mysql_slot = pool_get(&r->app->mysql, err, sizeof(err));
    if (!r->mysql_slot) {
        req_fail(r, 503, "mysql", err);
        return NULL;
    }
    return r->mysql_slot->conn;
}

static int lost_connection(unsigned int e) {
    return (e >= CR_MIN_ERROR && e <= CR_MAX_ERROR) || e == ER_SERVER_SHUTDOWN || e == ER_CONNECTION_KILLED ||
           e == 4031 /* ER_CLIENT_INTERACTION_TIMEOUT */;
}

static int retryable(unsigned int e) {
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

static void failed(struct df_req *r, struct db_conn *c, unsigned int e, const char *msg, const char *sql) {
    c->last_errno = (int)e;
    if (lost_connection(e)) {
        r->mysql_broken = 1;
        req_fail(r, 503, "mysql", msg);
    } else if (retryable(e)) {
        req_fail(r, 503, "mysql", msg);
    } else {
        char detail[512];
        snprintf(detail, sizeof(detail), "%u %s [%.120s]", e, msg, sql ? sql : "");
        req_fail(r, 500, "mysql", detail);
    }
}

static void stmt_close(void *st) {
    mysql_stmt_close(st);
}

static MYSQL_STMT *prepare(struct df_req *r, struct db_conn *c, const char *sql) {
    for (int i = 0; i < c->ncache; i++)
        if (strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].st;
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    if (!st) {
        failed(r, c, mysql_errno(c->m), mysql_error(c->m), sql);
        return NULL;
    }
    my_bool on = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
        failed(r, c, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
        mysql_stmt_close(st);
        return NULL;
    }
    if (c->ncache < STMT_CACHE) {
        c->cache[c->ncache].sql = xstrdup(sql);
        c->cache[c->ncache].st = st;
        c->ncache++;
    } else {
        /* full cache: the statement lives for this request only */
        arena_defer(&r->arena, stmt_close, st);
    }
    return st;
}

static MYSQL_STMT *run(struct df_req *r, struct db_conn **cp, const char *sql, const char *fmt, va_list ap) {
    struct db_conn *c = conn_of(r);
    if (!c)
        return NULL;
    *cp = c;
    c->last_errno = 0;
    MYSQL_STMT *st = prepare(r, c, sql);
    if (!st)
        return NULL;
    mysql_stmt_free_result(st);
    size_t n = strlen(fmt);
    if (n > MAX_PARAMS || mysql_stmt_param_count(st) != n) {
        req_fail(r, 500, "mysql", "parameter count does not match the statement");
        return NULL;
    }
    MYSQL_BIND b[MAX_PARAMS];
    long long ints[MAX_PARAMS];
    unsigned long lens[MAX_PARAMS];
    memset(b, 0, sizeof(b));
    for (size_t i = 0; i < n; i++) {
        if (fmt[i] == 'i') {
            ints[i] = va_arg(ap, long long);
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &ints[i];
        } else {
            const char *s = va_arg(ap, const char *);
            if (!s) {
                b[i].buffer_type = MYSQL_TYPE_NULL;
                continue;
            }
            lens[i] = (unsigned long)strlen(s);
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)s;
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
        }
    }
    if ((n && mysql_stmt_bind_param(st, b) != 0) || mysql_stmt_execute(st) != 0) {
        failed(r, c, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
        return NULL;
    }
    return st;
}

int db_query(struct df_req *r, struct db_rows *rows, const char *sql, const char *fmt, ...) {
    struct db_conn *c = NULL;
    memset(rows, 0, sizeof(*rows));
    rows->r = r;
    va_list ap;
    va_start(ap, fmt);
    MYSQL_STMT *st = run(r, &c, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -1;
    if (mysql_stmt_store_result(st) != 0) {
        failed(r, c, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
        return -1;
    }
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        req_fail(r, 500, "mysql", "query returned no result set");
        return -1;
    }
    unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    struct arena *a = &r->arena;
    rows->st = st;
    rows->ncols = n;
    rows->nrows = mysql_stmt_num_rows(st);
    rows->bind = arena_alloc(a, sizeof(MYSQL_BIND) * (n ? n : 1));
    rows->len = arena_alloc(a, sizeof(unsigned long) * (n ? n : 1));
    rows->isnull = arena_alloc(a, sizeof(my_bool) * (n ? n : 1));
    rows->error = arena_alloc(a, sizeof(my_bool) * (n ? n : 1));
    rows->size = arena_alloc(a, sizeof(unsigned long) * (n ? n : 1));
    memset(rows->bind, 0, sizeof(MYSQL_BIND) * (n ? n : 1));
    for (unsigned i = 0; i < n; i++) {
        unsigned long size = fields[i].max_length + 1;
        if (size < 64)
            size = 64;
        rows->size[i] = size;
        rows->bind[i].buffer_type = MYSQL_TYPE_STRING;
        rows->bind[i].buffer = arena_alloc(a, size);
        rows->bind[i].buffer_length = size;
        rows->bind[i].length = &rows->len[i];
        rows->bind[i].is_null = &rows->isnull[i];
        rows->bind[i].error = &rows->error[i];
    }
    mysql_free_result(meta);
    if (n && mysql_stmt_bind_result(st, rows->bind) != 0) {
        failed(r, c, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
        return -1;
    }
    return 0;
}

int db_next(struct db_rows *rows) {
    if (!rows->st)
        return 0;
    int rc = mysql_stmt_fetch(rows->st);
    if (rc == MYSQL_NO_DATA) {
        mysql_stmt_free_result(rows->st);
        rows->st = NULL;
        return 0;
    }
    if (rc == 1) {
        struct db_conn *c = rows->r->mysql_slot->conn;
        failed(rows->r, c, mysql_stmt_errno(rows->st), mysql_stmt_error(rows->st), NULL);
        return -1;
    }
    for (unsigned i = 0; i < rows->ncols; i++) {
        if (rows->isnull[i])
            continue;
        if (rows->len[i] >= rows->size[i]) {
            /* longer than the stored maximum said: fetch it again whole */
            rows->size[i] = rows->len[i] + 1;
            rows->bind[i].buffer = arena_alloc(&rows->r->arena, rows->size[i]);
            rows->bind[i].buffer_length = rows->size[i];
            if (mysql_stmt_fetch_column(rows->st, &rows->bind[i], i, 0) != 0) {
                req_fail(rows->r, 500, "mysql", "fetch_column failed");
                return -1;
            }
            /* the next row must land in the larger buffer too */
            mysql_stmt_bind_result(rows->st, rows->bind);
        }
        ((char *)rows->bind[i].buffer)[rows->len[i]] = '\0';
    }
    return 1;
}

const char *db_str(const struct db_rows *rows, unsigned col) {
    if (col >= rows->ncols || rows->isnull[col])
        return "";
    return rows->bind[col].buffer;
}

int db_isnull(const struct db_rows *rows, unsigned col) {
    return col >= rows->ncols || rows->isnull[col];
}

long long db_ll(const struct db_rows *rows, unsigned col) {
    return db_isnull(rows, col) ? 0 : strtoll(rows->bind[col].buffer, NULL, 10);
}

long long db_exec(struct df_req *r, const char *sql, const char *fmt, ...) {
    struct db_conn *c = NULL;
    va_list ap;
    va_start(ap, fmt);
    MYSQL_STMT *st = run(r, &c, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -1;
    c->last_insert_id = mysql_stmt_insert_id(st);
    return (long long)mysql_stmt_affected_rows(st);
}

unsigned long long db_last_insert_id(struct df_req *r) {
    struct db_conn *c = conn_of(r);
    return c ? c->last_insert_id : 0;
}

/* rc of a transaction statement on c: 0, or -1 with the failure recorded. */
static int tx_done(struct df_req *r, struct db_conn *c, int rc, const char *what) {
    if (rc != 0) {
        failed(r, c, mysql_errno(c->m), mysql_error(c->m), what);
        return -1;
    }
    return 0;
}

int db_begin(struct df_req *r) {
    struct db_conn *c = conn_of(r);
    return c ? tx_done(r, c, mysql_query(c->m, "START TRANSACTION"), "begin") : -1;
}

int db_commit(struct df_req *r) {
    struct db_conn *c = conn_of(r);
    return c ? tx_done(r, c, mysql_commit(c->m), "commit") : -1;
}

int db_rollback(struct df_req *r) {
    struct db_conn *c = conn_of(r);
    return c ? tx_done(r, c, mysql_rollback(c->m), "rollback") : -1;
}

int db_last_errno(const struct df_req *r) {
    if (!r->mysql_slot || !r->mysql_slot->conn)
        return 0;
    return ((struct db_conn *)r->mysql_slot->conn)->last_errno;
}

int db_retryable(const struct df_req *r) {
    return retryable((unsigned int)db_last_errno(r));
}

int db_duplicate(const struct df_req *r) {
    return db_last_errno(r) == ER_DUP_ENTRY;
}

int db_ping(struct df_req *r) {
    struct db_conn *c = conn_of(r);
    if (!c)
        return -1;
    if (mysql_ping(c->m) != 0) {
        failed(r, c, mysql_errno(c->m), mysql_error(c->m), "ping");
        return -1;
    }
    return 0;
}
