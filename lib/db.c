#include "db.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
    struct df_mysql_hosts *hosts; /* the node list it was opened from, or NULL */
    size_t host;                  /* its index in hosts */
};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static MYSQL *connect_to(const struct df_config *cfg, const char *host, unsigned int port, const char *sock, char *err,
                         size_t errlen) {
    unsigned int timeout = (unsigned int)cfg->mysql_timeout_s;
    /* the client library counts the connect timeout in whole seconds */
    unsigned int connect_timeout = (unsigned int)cfg->mysql_connect_timeout_s;
    if (connect_timeout == 0 || connect_timeout > timeout)
        connect_timeout = timeout;
    my_bool off = 0;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "mysql_init failed");
        return NULL;
    }
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
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
    if (!mysql_real_connect(m, sock ? "localhost" : host, cfg->mysql_user, cfg->mysql_password, cfg->mysql_database,
                            sock ? 0 : port, sock, 0)) {
        snprintf(err, errlen, "connect: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* A Galera node completes the handshake before it is Synced, and a
 * desynced or draining one still answers: only wsrep_ready ON,
 * wsrep_local_state 4 (Synced) and no wsrep_reject_queries make a node
 * one to write on. A server without Galera has no wsrep_local_state and
 * counts as synced. information_schema still answers on a node that
 * refuses other queries (1047). 1 synced, 0 not (why says so). */
static int node_synced(MYSQL *m, char *why, size_t whylen) {
    static const char sql[] =
        "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
        " WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE')"
        " UNION ALL SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES"
        " WHERE VARIABLE_NAME = 'WSREP_REJECT_QUERIES'";
    char ready[16] = "", state[16] = "", reject[16] = "";
    if (mysql_real_query(m, sql, sizeof(sql) - 1) != 0) {
        snprintf(why, whylen, "state check: %u %s", mysql_errno(m), mysql_error(m));
        return 0;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        snprintf(why, whylen, "state check: %u %s", mysql_errno(m), mysql_error(m));
        return 0;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        char *dst = strcasecmp(row[0], "WSREP_READY") == 0         ? ready
                    : strcasecmp(row[0], "WSREP_LOCAL_STATE") == 0 ? state
                                                                   : reject;
        snprintf(dst, sizeof(ready), "%s", row[1]);
    }
    mysql_free_result(res);
    if (!state[0])
        return 1; /* no Galera provider loaded */
    if (strcmp(ready, "ON") == 0 && strcmp(state, "4") == 0 && (!reject[0] || strcmp(reject, "NONE") == 0))
        return 1;
    snprintf(why, whylen, "not synced (wsrep_ready %s, wsrep_local_state %s, wsrep_reject_queries %s)", ready, state,
             reject[0] ? reject : "-");
    return 0;
}

/* Whether this worker tries host i now. A failed host is skipped until
 * its time is up; then the first thread to see that probes it and the
 * others keep skipping it meanwhile. */
static int host_due(struct df_mysql_hosts *hs, size_t i, long long now, long long retry_ms) {
    int due = 1;
    pthread_mutex_lock(&hs->mu);
    long long until = hs->host[i].skip_until_ms;
    if (until > now)
        due = 0;
    else if (until)
        hs->host[i].skip_until_ms = now + retry_ms;
    pthread_mutex_unlock(&hs->mu);
    return due;
}

static void host_mark(struct df_mysql_hosts *hs, size_t i, long long until) {
    pthread_mutex_lock(&hs->mu);
    hs->host[i].skip_until_ms = until;
    pthread_mutex_unlock(&hs->mu);
}

/* Whether a host before host i is due again: a connection to host i is
 * then not kept, so that its replacement tries the preferred node. */
static int earlier_host_due(struct df_mysql_hosts *hs, size_t i) {
    long long now = now_ms();
    int due = 0;
    pthread_mutex_lock(&hs->mu);
    for (size_t j = 0; j < i && !due; j++)
        due = hs->host[j].skip_until_ms <= now;
    pthread_mutex_unlock(&hs->mu);
    return due;
}

/* The first host of the list that is up and synced: every worker of
 * every instance prefers the same node, so all of them write on one
 * (Galera's locks are per node). Hosts this worker saw fail recently are
 * skipped, unless every other one fails too. */
static MYSQL *open_first_synced(const struct df_config *cfg, size_t *which, char *err, size_t errlen) {
    struct df_mysql_hosts *hs = cfg->mysql_host_list;
    long long retry_ms = cfg->mysql_host_retry_s * 1000;
    int tried[DF_MYSQL_MAX_HOSTS] = {0};
    size_t used = 0;
    err[0] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < hs->n; i++) {
            if (tried[i] || (pass == 0 && !host_due(hs, i, now_ms(), retry_ms)))
                continue;
            tried[i] = 1;
            char why[256];
            MYSQL *m = connect_to(cfg, hs->host[i].name, (unsigned int)hs->host[i].port, NULL, why, sizeof(why));
            if (m && node_synced(m, why, sizeof(why))) {
                host_mark(hs, i, 0);
                *which = i;
                return m;
            }
            if (m)
                mysql_close(m);
            host_mark(hs, i, now_ms() + retry_ms);
            df_log("mysql: %s:%d passed over for %ld s: %s", hs->host[i].name, hs->host[i].port,
                   cfg->mysql_host_retry_s, why);
            if (used < errlen) {
                int n = snprintf(err + used, errlen - used, "%s%s:%d %s", used ? "; " : "", hs->host[i].name,
                                 hs->host[i].port, why);
                used += n > 0 ? (size_t)n : 0;
            }
        }
    }
    return NULL;
}

static void *mysql_open(void *cfgp, char *err, size_t errlen) {
    const struct df_config *cfg = cfgp;
    size_t host = 0;
    MYSQL *m;
    if (cfg->mysql_host_list)
        m = open_first_synced(cfg, &host, err, errlen);
    else
        m = connect_to(cfg, cfg->mysql_host, (unsigned int)cfg->mysql_port,
                       cfg->mysql_socket[0] ? cfg->mysql_socket : NULL, err, errlen);
    if (!m)
        return NULL;
    struct db_conn *c = xcalloc(1, sizeof(*c));
    c->m = m;
    c->hosts = cfg->mysql_host_list;
    c->host = host;
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
    /* on a fallback node: given up once the preferred one may be back, so
     * that the writers gather on one node again */
    if (c->hosts && c->host > 0 && earlier_host_due(c->hosts, c->host))
        return -1;
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

/* A Galera node that cannot serve now: not ready (not in the primary
 * component, 1047 "WSREP has not yet prepared node for application use"),
 * drained (wsrep_reject_queries), or unable to replicate a commit. The
 * next connection must go to another node. */
static int node_refused(unsigned int e) {
    return e == ER_UNKNOWN_COM_ERROR || e == ER_ERROR_DURING_COMMIT;
}

static int retryable(unsigned int e) {
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

static void failed(struct df_req *r, struct db_conn *c, unsigned int e, const char *msg, const char *sql) {
    c->last_errno = (int)e;
    if (lost_connection(e) || node_refused(e)) {
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
