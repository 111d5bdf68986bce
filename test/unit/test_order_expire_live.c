/* The expiry sweep against the stack's real MariaDB (DF_TEST_MYSQL_SOCK):
 * many sweepers at once, each its own connection and transaction, small
 * batches, over orders of one hot SKU. Every expired order is cancelled
 * once, every SKU gets back exactly what its orders held, nothing else is
 * touched, and sweepers never deadlock each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "order_expire.h"
#include "pool.h"
#include "rds.h"
#include "live.h"
#include "req.h"

#define SWEEPERS 8
#define BATCH 7
#define TTL 60

static struct df_app app;
static MYSQL *m;

static void q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void q(const char *fmt, ...) {
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (mysql_query(m, sql) != 0)
        fail_msg("%s: %s", sql, mysql_error(m));
}

static long long q_ll(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long q_ll(const char *fmt, ...) {
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (mysql_query(m, sql) != 0)
        fail_msg("%s: %s", sql, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    long long v = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    mysql_free_result(res);
    return v;
}

static int group_setup(void **state) {
    memset(&app, 0, sizeof(app));
    struct df_config *cfg = &app.cfg;
    if (live_config(cfg) < 0)
        return -1;
    cfg->mysql_timeout_s = 30;
    cfg->mysql_lock_wait_s = 10;
    cfg->order_ttl = TTL;
    mysql_library_init(0, NULL, NULL);
    if (pool_init(&app.mysql, &mysql_pool_ops, cfg, SWEEPERS, 10000) < 0 ||
        pool_init(&app.redis, &redis_pool_ops, cfg, 1, 1000) < 0)
        return -1;
    m = mysql_init(NULL);
    if (!mysql_real_connect(m, "localhost", "dailyfresh", "dailyfresh", "dailyfresh", 0, cfg->mysql_socket, 0)) {
        print_error("connect: %s\n", mysql_error(m));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    mysql_close(m);
    pool_destroy(&app.mysql);
    pool_destroy(&app.redis);
    return 0;
}

struct sweeper {
    pthread_barrier_t *start;
    int cancelled;
    int failures;
    int sweeps;
};

static void *sweep_until_done(void *arg) {
    struct sweeper *s = arg;
    struct df_req r;
    mysql_thread_init();
    pthread_barrier_wait(s->start);
    for (int idle = 0; idle < 3 && s->sweeps < 10000;) {
        req_init(&r, &app);
        int n = order_expire_sweep(&r, TTL, 0, BATCH);
        req_release(&r);
        s->sweeps++;
        if (n < 0)
            s->failures++;
        else if (n == 0)
            idle++;
        else
            s->cancelled += n, idle = 0;
    }
    mysql_thread_end();
    return NULL;
}

/* Orders made as a commit leaves them: stock taken, sales counted. */
static void make_orders(const char *prefix, int n, int pay_method, int status, int age_s, long long uid,
                        long long addr, long long sku, int count) {
    q("START TRANSACTION");
    q("INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
      " transit_price, order_status, addr_id, user_id)"
      " SELECT NOW(6) - INTERVAL %d SECOND - INTERVAL seq MICROSECOND, NOW(6), CONCAT('%s', seq), %d, %d, 9.90,"
      " 10.00, %d, %lld, %lld FROM seq_1_to_%d",
      age_s, prefix, pay_method, count, status, addr, uid, n);
    q("INSERT INTO df_order_goods (create_time, update_time, count, price, order_id, sku_id)"
      " SELECT NOW(6), NOW(6), %d, 9.90, CONCAT('%s', seq), %lld FROM seq_1_to_%d",
      count, prefix, sku, n);
    q("UPDATE df_goods_sku SET stock = stock - %d, sales = sales + %d WHERE id = %lld", n * count, n * count, sku);
    q("COMMIT");
}

static void test_concurrent_sweepers_restore_exactly_once(void **state) {
    char tag[40];
    snprintf(tag, sizeof(tag), "x%d_%ld", (int)getpid(), (long)time(NULL));
    q("INSERT INTO df_user (password, username, email, is_active, date_joined, create_time, update_time)"
      " VALUES ('x', '%s', 'x@localhost', 1, NOW(6), NOW(6), NOW(6))", tag);
    long long uid = (long long)mysql_insert_id(m);
    q("INSERT INTO df_address (create_time, update_time, receiver, addr, phone, user_id)"
      " VALUES (NOW(6), NOW(6), 'r', 'a', '1', %lld)", uid);
    long long addr = (long long)mysql_insert_id(m);
    q("INSERT INTO df_goods_type (create_time, update_time, name, logo, image) VALUES (NOW(6), NOW(6), 't', 't', 't')");
    long long type = (long long)mysql_insert_id(m);
    q("INSERT INTO df_goods (create_time, update_time, name, detail) VALUES (NOW(6), NOW(6), 'g', '')");
    long long goods = (long long)mysql_insert_id(m);
    long long sku[3];
    for (int i = 0; i < 3; i++) {
        q("INSERT INTO df_goods_sku (create_time, update_time, name, `desc`, price, unite, image, stock, sales,"
          " status, goods_id, type_id) VALUES (NOW(6), NOW(6), 's', 'd', 9.90, 'u', 'i', 100000, 500, 1, %lld, %lld)",
          goods, type);
        sku[i] = (long long)mysql_insert_id(m);
    }
    char p[80];
    /* expired, every online method: 600 orders of the hot SKU ... */
    snprintf(p, sizeof(p), "%s_a", tag), make_orders(p, 200, 2, 1, 3600, uid, addr, sku[0], 2);
    snprintf(p, sizeof(p), "%s_b", tag), make_orders(p, 200, 3, 1, 3600, uid, addr, sku[0], 3);
    snprintf(p, sizeof(p), "%s_c", tag), make_orders(p, 200, 4, 1, 3600, uid, addr, sku[0], 1);
    /* ... and 150 holding two SKUs, the second one first */
    snprintf(p, sizeof(p), "%s_m", tag), make_orders(p, 150, 3, 1, 3600, uid, addr, sku[1], 4);
    q("START TRANSACTION");
    q("INSERT INTO df_order_goods (create_time, update_time, count, price, order_id, sku_id)"
      " SELECT NOW(6), NOW(6), 5, 9.90, CONCAT('%s_m', seq), %lld FROM seq_1_to_150", tag, sku[0]);
    q("UPDATE df_goods_sku SET stock = stock - 750, sales = sales + 750 WHERE id = %lld", sku[0]);
    q("COMMIT");
    /* never expired: cash on delivery, paid, young */
    snprintf(p, sizeof(p), "%s_cash", tag), make_orders(p, 30, 1, 1, 3600, uid, addr, sku[2], 1);
    snprintf(p, sizeof(p), "%s_paid", tag), make_orders(p, 30, 3, 2, 3600, uid, addr, sku[2], 2);
    snprintf(p, sizeof(p), "%s_done", tag), make_orders(p, 30, 2, 4, 3600, uid, addr, sku[2], 3);
    snprintf(p, sizeof(p), "%s_young", tag), make_orders(p, 30, 3, 1, 5, uid, addr, sku[2], 4);
    long long eligible = q_ll("SELECT COUNT(*) FROM df_order_info WHERE order_status = 1 AND pay_method IN (2, 3, 4)"
                              " AND create_time < NOW(6) - INTERVAL %d SECOND",
                              TTL);
    assert_true(eligible >= 750);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, SWEEPERS);
    pthread_t t[SWEEPERS];
    struct sweeper s[SWEEPERS];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < SWEEPERS; i++) {
        s[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, sweep_until_done, &s[i]), 0);
    }
    int total = 0, failures = 0, busy = 0, sweeps = 0;
    for (int i = 0; i < SWEEPERS; i++) {
        pthread_join(t[i], NULL);
        total += s[i].cancelled;
        failures += s[i].failures;
        sweeps += s[i].sweeps;
        busy += s[i].cancelled > 0;
    }
    pthread_barrier_destroy(&start);
    print_message("%d sweepers, %d sweeps: %d cancelled (%d eligible), %d sweepers took part, %d failed sweeps\n",
                  SWEEPERS, sweeps, total, (int)eligible, busy, failures);

    assert_int_equal(failures, 0); /* SKU rows in ascending order: no deadlock */
    assert_int_equal(total, (int)eligible);
    assert_true(busy > 1);
    assert_int_equal(q_ll("SELECT COUNT(*) FROM df_order_info WHERE user_id = %lld AND order_status = 6", uid), 750);
    assert_int_equal(q_ll("SELECT stock FROM df_goods_sku WHERE id = %lld", sku[0]), 100000);
    assert_int_equal(q_ll("SELECT sales FROM df_goods_sku WHERE id = %lld", sku[0]), 500);
    assert_int_equal(q_ll("SELECT stock FROM df_goods_sku WHERE id = %lld", sku[1]), 100000);
    assert_int_equal(q_ll("SELECT sales FROM df_goods_sku WHERE id = %lld", sku[1]), 500);
    /* what the untouched orders hold stays held: 30 × (1 + 2 + 3 + 4) */
    assert_int_equal(q_ll("SELECT stock FROM df_goods_sku WHERE id = %lld", sku[2]), 100000 - 300);
    assert_int_equal(q_ll("SELECT sales FROM df_goods_sku WHERE id = %lld", sku[2]), 500 + 300);
    assert_int_equal(q_ll("SELECT COUNT(*) FROM df_order_info WHERE order_id LIKE '%s\\_cash%%' AND order_status = 1",
                          tag),
                     30);
    assert_int_equal(q_ll("SELECT COUNT(*) FROM df_order_info WHERE order_id LIKE '%s\\_paid%%' AND order_status = 2",
                          tag),
                     30);
    assert_int_equal(q_ll("SELECT COUNT(*) FROM df_order_info WHERE order_id LIKE '%s\\_done%%' AND order_status = 4",
                          tag),
                     30);
    assert_int_equal(q_ll("SELECT COUNT(*) FROM df_order_info WHERE order_id LIKE '%s\\_young%%' AND order_status = 1",
                          tag),
                     30);

    /* the mule's tick: nothing left, nothing logged */
    struct df_req r;
    assert_int_equal(order_expire_tick(&r, &app), 0);
    /* leave nothing that a later test with a short TTL would expire */
    q("UPDATE df_order_info SET order_status = 5 WHERE user_id = %lld AND order_status = 1", uid);
}

static void test_nothing_to_do(void **state) {
    struct df_req r;
    req_init(&r, &app);
    assert_int_equal(order_expire_sweep(&r, 604800, 0, BATCH), 0);
    assert_int_equal(order_expire_sweep(&r, TTL, 0, 0), 0);
    req_release(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_sweepers_restore_exactly_once),
        cmocka_unit_test(test_nothing_to_do),
    };
    return cmocka_run_group_tests_name("order_expire_live", tests, group_setup, group_teardown);
}
