/* Connection pools against the stack's real Redis and MariaDB
 * (DF_TEST_REDIS_SOCK, DF_TEST_MYSQL_SOCK): reuse, bounded wait, broken
 * connections dropped, stale ones replaced, transactions rolled back; a
 * request that saw a connection fail gives it back closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <mysql.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "pool.h"
#include "rds.h"
#include "live.h"
#include "req.h"

static struct df_config cfg;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int group_setup(void **state) {
    memset(&cfg, 0, sizeof(cfg));
    if (live_config(&cfg) < 0)
        return -1;
    mysql_library_init(0, NULL, NULL);
    return 0;
}

static redisReply *cmd(struct pool_slot *s, const char *c) {
    return redisCommand(s->conn, c);
}

static void test_reuse(void **state) {
    struct pool p;
    char err[256];
    assert_int_equal(pool_init(&p, &redis_pool_ops, &cfg, 2, 200), 0);
    assert_int_equal(pool_open_count(&p), 0); /* lazy */
    struct pool_slot *s = pool_get(&p, err, sizeof(err));
    assert_non_null(s);
    void *first = s->conn;
    redisReply *rep = cmd(s, "PING");
    assert_string_equal(rep->str, "PONG");
    freeReplyObject(rep);
    pool_put(&p, s, 0);
    s = pool_get(&p, err, sizeof(err));
    assert_ptr_equal(s->conn, first); /* an open connection is preferred */
    pool_put(&p, s, 0);
    assert_int_equal(pool_open_count(&p), 1);
    pool_destroy(&p);
    pool_destroy(&p);
}

struct waiter {
    struct pool *p;
    struct pool_slot *got;
    long long waited_ms;
    char err[256];
};

static void *wait_for_slot(void *arg) {
    struct waiter *w = arg;
    long long t0 = now_ms();
    w->got = pool_get(w->p, w->err, sizeof(w->err));
    w->waited_ms = now_ms() - t0;
    return NULL;
}

static void test_bounded_wait(void **state) {
    struct pool p;
    char err[256];
    assert_int_equal(pool_init(&p, &redis_pool_ops, &cfg, 1, 150), 0);
    struct pool_slot *s = pool_get(&p, err, sizeof(err));
    assert_non_null(s);
    struct waiter w = {.p = &p};
    pthread_t t;
    pthread_create(&t, NULL, wait_for_slot, &w);
    pthread_join(t, NULL);
    assert_null(w.got);
    assert_true(w.waited_ms >= 140);
    assert_non_null(strstr(w.err, "no redis connection available"));
    /* a waiter is handed the slot as soon as it is given back */
    w.got = NULL;
    pthread_create(&t, NULL, wait_for_slot, &w);
    struct timespec d = {0, 30 * 1000000L};
    nanosleep(&d, NULL);
    pool_put(&p, s, 0);
    pthread_join(t, NULL);
    assert_non_null(w.got);
    pool_put(&p, w.got, 0);
    pool_destroy(&p);
}

static void test_broken_dropped(void **state) {
    struct pool p;
    char err[256];
    assert_int_equal(pool_init(&p, &redis_pool_ops, &cfg, 1, 200), 0);
    struct pool_slot *s = pool_get(&p, err, sizeof(err));
    pool_put(&p, s, 1);
    assert_int_equal(pool_open_count(&p), 0);
    /* a context hiredis flagged with an error is not reused either */
    s = pool_get(&p, err, sizeof(err));
    ((redisContext *)s->conn)->err = REDIS_ERR_IO;
    pool_put(&p, s, 0);
    assert_int_equal(pool_open_count(&p), 0);
    s = pool_get(&p, err, sizeof(err));
    assert_non_null(s);
    redisReply *rep = cmd(s, "PING");
    assert_non_null(rep);
    freeReplyObject(rep);
    pool_put(&p, s, 0);
    pool_destroy(&p);
}

static void test_stale_replaced(void **state) {
    struct pool p;
    char err[256];
    assert_int_equal(pool_init(&p, &redis_pool_ops, &cfg, 2, 200), 0);
    struct pool_slot *a = pool_get(&p, err, sizeof(err));
    redisReply *id = cmd(a, "CLIENT ID");
    long long victim = id->integer;
    freeReplyObject(id);
    pool_put(&p, a, 0);
    /* the server closes the idle connection (as after a restart) */
    redisContext *admin = redisConnectUnix(cfg.redis_unix);
    redisReply *k = redisCommand(admin, "CLIENT KILL ID %lld", victim);
    assert_int_equal(k->integer, 1);
    freeReplyObject(k);
    redisFree(admin);
    struct timespec d = {0, 20 * 1000000L};
    nanosleep(&d, NULL);
    a = pool_get(&p, err, sizeof(err));
    assert_non_null(a);
    redisReply *rep = cmd(a, "CLIENT ID");
    assert_non_null(rep); /* not a dead socket */
    assert_true(rep->integer != victim);
    freeReplyObject(rep);
    pool_put(&p, a, 0);
    pool_destroy(&p);
}

static void test_connect_failure(void **state) {
    struct df_config bad = cfg;
    struct pool p;
    char err[256] = "";
    bad.redis = bad.redis_unix = "/nonexistent/redis.sock";
    assert_int_equal(pool_init(&p, &redis_pool_ops, &bad, 1, 100), 0);
    assert_null(pool_get(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "connect"));
    /* the slot was given back: the next caller tries again, no timeout */
    long long t0 = now_ms();
    assert_null(pool_get(&p, err, sizeof(err)));
    assert_true(now_ms() - t0 < 90);
    pool_destroy(&p);
}

struct hammer {
    struct pool *p;
    int ok;
};

static void *hammer(void *arg) {
    struct hammer *h = arg;
    char err[256];
    for (int i = 0; i < 200; i++) {
        struct pool_slot *s = pool_get(h->p, err, sizeof(err));
        if (!s)
            continue;
        redisReply *rep = redisCommand(s->conn, "INCR pool_test_counter");
        if (rep && rep->type == REDIS_REPLY_INTEGER)
            h->ok++;
        freeReplyObject(rep);
        pool_put(h->p, s, 0);
    }
    return NULL;
}

static void test_threads_share(void **state) {
    struct pool p;
    pthread_t t[8];
    struct hammer h[8];
    assert_int_equal(pool_init(&p, &redis_pool_ops, &cfg, 2, 5000), 0);
    for (int i = 0; i < 8; i++) {
        h[i].p = &p;
        h[i].ok = 0;
        pthread_create(&t[i], NULL, hammer, &h[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += h[i].ok;
    }
    assert_int_equal(ok, 1600);
    assert_true(pool_open_count(&p) <= 2);
    pool_destroy(&p);
}

static MYSQL *m_of(struct pool_slot *s) {
    /* struct db_conn starts with its MYSQL * */
    return *(MYSQL **)s->conn;
}

static long long scalar(MYSQL *m, const char *q) {
    long long v = -1;
    if (mysql_query(m, q) != 0)
        return -1;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0])
        v = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    return v;
}

/* The server drops a connection, as when it restarts or kills an idle
 * one; returns once the kill has had time to reach the client's socket. */
static void kill_mysql_connection(long long id) {
    MYSQL *admin = mysql_init(NULL);
    assert_non_null(mysql_real_connect(admin, "localhost", cfg.mysql_user, cfg.mysql_password, cfg.mysql_database,
                                       0, cfg.mysql_socket, 0));
    char q[64];
    snprintf(q, sizeof(q), "KILL CONNECTION %lld", id);
    assert_int_equal(mysql_query(admin, q), 0);
    mysql_close(admin);
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
}

static void test_mysql_rollback_on_return(void **state) {
    struct pool p;
    char err[512];
    assert_int_equal(pool_init(&p, &mysql_pool_ops, &cfg, 1, 500), 0);
    struct pool_slot *s = pool_get(&p, err, sizeof(err));
    assert_non_null(s);
    MYSQL *m = m_of(s);
    assert_int_equal(mysql_query(m, "SELECT @@tx_isolation = 'READ-COMMITTED'"), 0);
    MYSQL_RES *res = mysql_store_result(m);
    assert_string_equal(mysql_fetch_row(res)[0], "1");
    mysql_free_result(res);
    assert_int_equal(mysql_query(m, "START TRANSACTION"), 0);
    assert_int_equal(mysql_query(m, "INSERT INTO df_goods_type (create_time, update_time, name, logo, image)"
                                    " VALUES (NOW(6), NOW(6), 'pool-probe', 'x', 'x')"),
                     0);
    assert_int_equal(scalar(m, "SELECT COUNT(*) FROM df_goods_type WHERE name = 'pool-probe'"), 1);
    pool_put(&p, s, 0); /* returned inside the transaction */
    s = pool_get(&p, err, sizeof(err));
    assert_ptr_equal(m_of(s), m); /* the same connection, kept */
    assert_int_equal(scalar(m, "SELECT COUNT(*) FROM df_goods_type WHERE name = 'pool-probe'"), 0);
    pool_put(&p, s, 0);
    pool_destroy(&p);
}

static void test_mysql_killed_replaced(void **state) {
    struct pool p;
    char err[512];
    assert_int_equal(pool_init(&p, &mysql_pool_ops, &cfg, 1, 500), 0);
    struct pool_slot *s = pool_get(&p, err, sizeof(err));
    long long victim = scalar(m_of(s), "SELECT CONNECTION_ID()");
    pool_put(&p, s, 0);
    kill_mysql_connection(victim);
    s = pool_get(&p, err, sizeof(err));
    assert_non_null(s);
    long long now = scalar(m_of(s), "SELECT CONNECTION_ID()");
    assert_true(now > 0 && now != victim);
    pool_put(&p, s, 0);
    pool_destroy(&p);
}

/* The request layer over the pools, as a handler uses them: a failure seen
 * through db_* or rds_* must close the connection when the request gives
 * it back, so the next request never inherits it. */
static struct df_app app;

static void app_init(void) {
    memset(&app, 0, sizeof(app));
    app.cfg = cfg;
    assert_int_equal(pool_init(&app.redis, &redis_pool_ops, &app.cfg, 1, 500), 0);
    assert_int_equal(pool_init(&app.mysql, &mysql_pool_ops, &app.cfg, 1, 500), 0);
}

static void app_destroy(void) {
    pool_destroy(&app.redis);
    pool_destroy(&app.mysql);
}

static long long req_connection_id(struct df_req *r) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT CONNECTION_ID()", "") < 0 || db_next(&rows) != 1)
        return -1;
    return db_ll(&rows, 0);
}

static void test_request_lost_mysql_discarded(void **state) {
    struct df_req r;
    app_init();
    req_init(&r, &app);
    long long victim = req_connection_id(&r);
    assert_true(victim > 0);
    req_release(&r);
    assert_int_equal(pool_open_count(&app.mysql), 1);

    /* the server drops the connection while a request holds it: the
     * request's next statement fails as an outage, not as a bug */
    req_init(&r, &app);
    assert_int_equal(req_connection_id(&r), victim);
    kill_mysql_connection(victim);
    assert_int_equal(req_connection_id(&r), -1);
    assert_int_equal(r.fail_status, 503);
    req_release(&r);
    /* closed on the way back, not kept for the next request */
    assert_int_equal(pool_open_count(&app.mysql), 0);

    req_init(&r, &app);
    long long now = req_connection_id(&r);
    assert_true(now > 0 && now != victim);
    assert_int_equal(r.fail_status, 0);
    req_release(&r);
    app_destroy();
}

static void test_request_lost_redis_discarded(void **state) {
    struct df_req r;
    app_init();
    req_init(&r, &app);
    redisReply *id = rds_cmd(&r, "CLIENT ID");
    assert_non_null(id);
    long long victim = id->integer;
    redisContext *admin = redisConnectUnix(cfg.redis_unix);
    redisReply *k = redisCommand(admin, "CLIENT KILL ID %lld", victim);
    assert_int_equal(k->integer, 1);
    freeReplyObject(k);
    redisFree(admin);
    assert_null(rds_cmd(&r, "PING"));
    assert_int_equal(r.fail_status, 503);
    req_release(&r);
    assert_int_equal(pool_open_count(&app.redis), 0);

    req_init(&r, &app);
    id = rds_cmd(&r, "CLIENT ID");
    assert_non_null(id);
    assert_true(id->integer != victim);
    req_release(&r);
    app_destroy();
}

static void test_request_unread_replies_discarded(void **state) {
    struct df_req r;
    app_init();
    /* a handler that stops reading a pipeline half way (an early error
     * return) leaves a reply on the connection */
    req_init(&r, &app);
    assert_int_equal(rds_append(&r, "ECHO %s", "first"), 0);
    assert_int_equal(rds_append(&r, "ECHO %s", "left-unread"), 0);
    redisReply *rep = rds_reply(&r);
    assert_non_null(rep);
    assert_string_equal(rep->str, "first");
    req_release(&r);
    assert_int_equal(pool_open_count(&app.redis), 0);

    /* the next request reads its own reply, not the one left behind */
    req_init(&r, &app);
    rep = rds_cmd(&r, "ECHO %s", "mine");
    assert_non_null(rep);
    assert_string_equal(rep->str, "mine");
    req_release(&r);
    app_destroy();
}

/* Puts min-replicas-to-write back: the stack's Redis has no replica, so
 * while it is 1 every write is refused with NOREPLICAS. */
static int writes_allowed_again(void **state) {
    redisContext *c = redisConnectUnix(cfg.redis_unix);
    redisReply *rep = c && !c->err ? redisCommand(c, "CONFIG SET min-replicas-to-write 0") : NULL;
    int ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    if (c)
        redisFree(c);
    return ok ? 0 : -1;
}

static void test_request_pipelined_unavailable_reply_discarded(void **state) {
    struct df_req r;
    app_init();
    req_init(&r, &app);
    assert_non_null(rds_cmd(&r, "CONFIG SET min-replicas-to-write 1"));
    req_release(&r);
    assert_int_equal(pool_open_count(&app.redis), 1);

    /* a pipeline whose caller looks at no reply (as a best-effort cache
     * write does): a write the server cannot take now is enough for the
     * connection not to be pooled, and the rest of the pipeline is read */
    req_init(&r, &app);
    assert_int_equal(rds_append(&r, "SET pool_live_unavailable %s", "x"), 0);
    assert_int_equal(rds_append(&r, "ECHO %s", "after"), 0);
    redisReply *rep = rds_reply(&r);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_ERROR);
    assert_true(strncmp(rep->str, "NOREPLICAS ", 11) == 0);
    assert_int_equal(r.redis_broken, 1);
    rep = rds_reply(&r);
    assert_non_null(rep);
    assert_string_equal(rep->str, "after");
    assert_int_equal(r.fail_status, 0); /* the caller's to record, or not */
    req_release(&r);
    assert_int_equal(pool_open_count(&app.redis), 0);

    /* a command that meets it records 503, and its connection is dropped too */
    req_init(&r, &app);
    assert_null(rds_cmd(&r, "SET pool_live_unavailable %s", "x"));
    assert_int_equal(r.fail_status, 503);
    req_release(&r);
    assert_int_equal(pool_open_count(&app.redis), 0);
    app_destroy();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_bounded_wait),
        cmocka_unit_test(test_broken_dropped),
        cmocka_unit_test(test_stale_replaced),
        cmocka_unit_test(test_connect_failure),
        cmocka_unit_test(test_threads_share),
        cmocka_unit_test(test_mysql_rollback_on_return),
        cmocka_unit_test(test_mysql_killed_replaced),
        cmocka_unit_test(test_request_lost_mysql_discarded),
        cmocka_unit_test(test_request_lost_redis_discarded),
        cmocka_unit_test(test_request_unread_replies_discarded),
        cmocka_unit_test_teardown(test_request_pipelined_unavailable_reply_discarded, writes_allowed_again),
    };
    return cmocka_run_group_tests_name("pool_live", tests, group_setup, NULL);
}
