/* db_duplicate() and db_retryable() against the stack's real MariaDB
 * (DF_TEST_MYSQL_SOCK): a duplicate key, a lock-wait timeout and a
 * deadlock, each provoked on df_order_idempotency (no foreign keys) inside
 * transactions that roll back, so the test leaves no row behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "pool.h"
#include "live.h"
#include "req.h"

#define TEST_USER -424242LL /* no df_user has it: the rows are only ever this test's */

static struct df_app app;
static char key1[64], key2[64];

static int group_setup(void **state) {
    memset(&app, 0, sizeof(app));
    struct df_config *cfg = &app.cfg;
    if (live_config(cfg) < 0)
        return -1;
    cfg->mysql_lock_wait_s = 1; /* the lock-wait test waits this long */
    mysql_library_init(0, NULL, NULL);
    snprintf(key1, sizeof(key1), "db-errors-%ld-1", (long)getpid());
    snprintf(key2, sizeof(key2), "db-errors-%ld-2", (long)getpid());
    return pool_init(&app.mysql, &mysql_pool_ops, cfg, 2, 2000);
}

static int group_teardown(void **state) {
    pool_destroy(&app.mysql);
    mysql_library_end();
    return 0;
}

static long long insert_key(struct df_req *r, const char *key) {
    return db_exec(r,
                   "INSERT INTO df_order_idempotency (user_id, idem_key, order_id, create_time)"
                   " VALUES (?, ?, 'db-errors-test', UTC_TIMESTAMP(6))",
                   "is", TEST_USER, key);
}

static long long test_rows(struct df_req *r) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT COUNT(*) FROM df_order_idempotency WHERE user_id = ?", "i", TEST_USER) < 0 ||
        db_next(&rows) != 1)
        return -1;
    return db_ll(&rows, 0);
}

/* Nothing of the test stays behind, on a connection of its own. */
static void assert_no_rows(void) {
    struct df_req r;
    req_init(&r, &app);
    assert_int_equal(test_rows(&r), 0);
    req_release(&r);
}

static void test_duplicate(void **state) {
    struct df_req r;
    req_init(&r, &app);
    assert_int_equal(db_begin(&r), 0);
    assert_int_equal(insert_key(&r, key1), 1);
    assert_false(db_duplicate(&r));
    assert_false(db_retryable(&r));
    assert_int_equal(insert_key(&r, key1), -1);
    assert_true(db_duplicate(&r));
    assert_false(db_retryable(&r));
    assert_int_equal(r.fail_status, 500); /* a duplicate the handler did not expect is a bug */
    assert_false(r.mysql_broken);
    req_fail_clear(&r);
    /* the next statement that works forgets it */
    assert_int_equal(test_rows(&r), 1);
    assert_false(db_duplicate(&r));
    assert_int_equal(db_rollback(&r), 0);
    req_release(&r);
    assert_no_rows();
}

static void test_lock_wait_retryable(void **state) {
    struct df_req holder, waiter;
    req_init(&holder, &app);
    req_init(&waiter, &app);
    assert_int_equal(db_begin(&holder), 0);
    assert_int_equal(insert_key(&holder, key1), 1);
    assert_int_equal(db_begin(&waiter), 0);
    /* the same key: waits for the holder's lock, mysql_lock_wait_s */
    assert_int_equal(insert_key(&waiter, key1), -1);
    assert_int_equal(db_last_errno(&waiter), 1205);
    assert_true(db_retryable(&waiter));
    assert_false(db_duplicate(&waiter));
    assert_int_equal(waiter.fail_status, 503);
    assert_false(waiter.mysql_broken);
    assert_false(db_retryable(&holder));
    req_release(&waiter); /* the pool rolls both back */
    req_release(&holder);
    assert_no_rows();
}

struct crossing {
    struct df_req *r;
    const char *key;
    long long rc;
};

static void *insert_in_thread(void *arg) {
    struct crossing *c = arg;
    c->rc = insert_key(c->r, c->key);
    return NULL;
}

static void test_deadlock_retryable(void **state) {
    struct df_req a, b;
    pthread_t t;
    req_init(&a, &app);
    req_init(&b, &app);
    assert_int_equal(db_begin(&a), 0);
    assert_int_equal(db_begin(&b), 0);
    assert_int_equal(insert_key(&a, key1), 1);
    assert_int_equal(insert_key(&b, key2), 1);
    /* a waits for b's key while b asks for a's: one of them is chosen
     * as the deadlock's victim at once, and the other then goes on */
    struct crossing ca = {&a, key2, 0};
    assert_int_equal(pthread_create(&t, NULL, insert_in_thread, &ca), 0);
    usleep(200 * 1000); /* a is most likely waiting by then; if not, b waits for a and a's request closes the cycle */
    long long rb = insert_key(&b, key1);
    pthread_join(t, NULL);
    struct df_req *victim = rb < 0 ? &b : &a, *other = rb < 0 ? &a : &b;
    assert_true((rb < 0) != (ca.rc < 0)); /* exactly one failed */
    assert_int_equal(db_last_errno(victim), 1213);
    assert_true(db_retryable(victim));
    assert_false(db_duplicate(victim));
    assert_false(db_retryable(other));
    req_release(&a);
    req_release(&b);
    assert_no_rows();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_lock_wait_retryable),
        cmocka_unit_test(test_deadlock_retryable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
