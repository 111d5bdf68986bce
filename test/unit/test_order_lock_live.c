/* The commit's first statement (ORDER_BUYER_LOCK_SQL) against the stack's
 * real MariaDB: it locks the buyer's df_user row but reads the SKU rows
 * without a lock, so buyers of one SKU never wait for each other's
 * lock_buyer (only the stock UPDATE holds a SKU row); and the rows it
 * reads come back as order lines. Inside transactions that roll back, on
 * rows the demo data already holds: nothing is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <mysql.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "live.h"
#include "order_lines.h"
#include "pool.h"
#include "req.h"

static struct df_app app;
static long long uid, sku;

static long long first_id(struct df_req *r, const char *sql) {
    struct db_rows rows;
    if (db_query(r, &rows, sql, "") < 0 || db_next(&rows) != 1 || db_isnull(&rows, 0))
        return -1;
    return db_ll(&rows, 0);
}

static int group_setup(void **state) {
    memset(&app, 0, sizeof(app));
    struct df_config *cfg = &app.cfg;
    if (live_config(cfg) < 0)
        return -1;
    cfg->mysql_lock_wait_s = 1; /* a waiter gives up after this long */
    mysql_library_init(0, NULL, NULL);
    if (pool_init(&app.mysql, &mysql_pool_ops, cfg, 2, 2000) < 0)
        return -1;
    struct df_req r;
    req_init(&r, &app);
    uid = first_id(&r, "SELECT MIN(id) FROM df_user");
    sku = first_id(&r, "SELECT MIN(id) FROM df_goods_sku WHERE status = 1");
    req_release(&r);
    if (uid < 0 || sku < 0) {
        print_error("the demo data has no user or no SKU on sale\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    pool_destroy(&app.mysql);
    mysql_library_end();
    return 0;
}

/* holder's lock statement on uid, naming sku; the lines it read */
static void lock_buyer(struct df_req *holder, struct order_line *line) {
    struct db_rows rows;
    *line = (struct order_line){.sku = sku, .count = 1};
    assert_int_equal(db_begin(holder), 0);
    assert_int_equal(db_query(holder, &rows, ORDER_BUYER_LOCK_SQL, "sii", order_lines_ids_json(holder, line, 1),
                              0LL, uid),
                     0);
    assert_int_equal(db_next(&rows), 1);
    assert_true(db_isnull(&rows, 0)); /* address 0 is nobody's */
    assert_false(db_isnull(&rows, 1));
    assert_int_equal(order_lines_sold_from_json(holder, line, 1, db_str(&rows, 1)), STEP_OK);
}

static void test_skus_read_unlocked_buyer_locked(void **state) {
    struct df_req holder, waiter;
    struct order_line line;
    req_init(&holder, &app);
    req_init(&waiter, &app);
    lock_buyer(&holder, &line);
    assert_true(line.found);
    assert_true(line.price_ok);
    assert_int_equal(line.status, 1);
    assert_int_equal(db_begin(&waiter), 0);
    /* another buyer takes the SKU's row at once */
    assert_true(db_exec(&waiter, "UPDATE df_goods_sku SET stock = stock WHERE id = ?", "i", sku) >= 0);
    /* the buyer's own row waits (and gives up after mysql_lock_wait_s) */
    assert_int_equal(db_exec(&waiter, "UPDATE df_user SET id = id WHERE id = ?", "i", uid), -1);
    assert_int_equal(db_last_errno(&waiter), 1205);
    req_fail_clear(&waiter);
    req_release(&waiter); /* the pool rolls both back */
    req_release(&holder);
}

static void test_sold_json_rows(void **state) {
    struct df_req r;
    struct order_line l[3] = {{.sku = 7}, {.sku = 8}, {.sku = 9}};
    req_init(&r, &app);
    assert_int_equal(order_lines_sold_from_json(&r, l, 3, "[[3, \"12.80\", 5, 1], [1, \"0.10\", 0, 0]]"), STEP_OK);
    assert_true(l[0].found && l[0].price == 10 && l[0].stock == 0 && l[0].status == 0);
    assert_false(l[1].found);
    assert_true(l[2].found && l[2].price == 1280 && l[2].stock == 5 && l[2].status == 1);
    assert_string_equal(l[2].price_text, "12.80");
    /* NULL: none of them exists (a retry forgets what an earlier try read) */
    assert_int_equal(order_lines_sold_from_json(&r, l, 3, NULL), STEP_OK);
    assert_false(l[0].found || l[1].found || l[2].found);
    const char *bad[] = {"", "{}", "[[4, \"1.00\", 1, 1]]", "[[0, \"1.00\", 1, 1]]", "[[1, 1.00, 1, 1]]",
                         "[[1, \"1.00\", 1]]", "[1]", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(order_lines_sold_from_json(&r, l, 3, bad[i]), STEP_FAILED);
        assert_int_equal(r.fail_status, 500);
        req_fail_clear(&r);
    }
    req_release(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skus_read_unlocked_buyer_locked),
        cmocka_unit_test(test_sold_json_rows),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
