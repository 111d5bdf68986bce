#include "pay.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "flash_expire.h"
#include "log.h"
#include "money.h"
#include "order_expire.h"

int pay_order_find(struct df_req *r, const char *order_id, long long uid, struct pay_order *o) {
    struct db_rows rows;
    int rc;
    int64_t total, transit;
    memset(o, 0, sizeof(*o));
    /* exact match: the key's collation would also find another case */
    if (db_query(r, &rows,
                 "SELECT order_id, total_price, transit_price, order_status, pay_method, trade_no,"
                 " TIMESTAMPDIFF(SECOND, create_time, NOW(6)) FROM df_order_info"
                 " WHERE order_id = CAST(? AS BINARY) AND (? = 0 OR user_id = ?) AND is_delete = 0",
                 "sii", order_id, uid, uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (rc == 0)
        return 0;
    if (money_parse(db_str(&rows, 1), &total) < 0 || money_parse(db_str(&rows, 2), &transit) < 0 ||
        money_add(total, transit, &o->amount) < 0) {
        req_fail(r, 500, "payment", "unreadable order amount");
        return -1;
    }
    snprintf(o->id, sizeof(o->id), "%s", db_str(&rows, 0));
    o->status = (int)db_ll(&rows, 3);
    o->pay_method = (int)db_ll(&rows, 4);
    snprintf(o->trade_no, sizeof(o->trade_no), "%s", db_str(&rows, 5));
    o->age_s = db_ll(&rows, 6);
    return 1;
}

/* A trade to give back, once per trade_no: 1 recorded now, 0 it had been,
 * -1 failure. */
static int record_refund(struct df_req *r, const char *order_id, const char *trade_no, int64_t amount,
                         const char *reason) {
    char money[MONEY_STR_MAX];
    money_format(amount, money);
    long long n = db_exec(r,
                          "INSERT INTO df_order_refund (create_time, update_time, order_id, trade_no, amount, reason,"
                          " refund_status) VALUES (NOW(6), NOW(6), ?, ?, ?, ?, 1)"
                          " ON DUPLICATE KEY UPDATE trade_no = trade_no",
                          "ssss", order_id, trade_no, money, reason);
    return n < 0 ? -1 : n == 1;
}

/* What the locked order row came to, inside the transaction. */
static enum paid decide(struct df_req *r, const char *order_id, const char *trade_no, int64_t amount,
                        int *recorded, long long *flash_sale) {
    const struct df_config *c = &r->app->cfg;
    struct db_rows rows;
    int rc;
    /* under the order's row lock: the sweep skips a locked order and
     * cancels only at status 1, so it and this cannot both win */
    if (db_query(r, &rows,
                 "SELECT order_id, order_status, trade_no, " ORDER_EXPIRED_SQL " FROM df_order_info"
                 " WHERE order_id = CAST(? AS BINARY) FOR UPDATE",
                 "iiis", (long long)c->order_ttl, (long long)c->order_cod_ttl, (long long)c->order_cod_ttl,
                 order_id) < 0 ||
        (rc = db_next(&rows)) < 0)
        return PAID_FAILED;
    if (rc == 0) {
        req_fail(r, 500, "payment", "the paid order is gone");
        return PAID_FAILED;
    }
    const char *id = arena_strdup(&r->arena, db_str(&rows, 0));
    const char *had = arena_strdup(&r->arena, db_str(&rows, 2));
    int status = (int)db_ll(&rows, 1), expired = db_ll(&rows, 3) != 0;
    if (status == ORDER_UNPAID && !expired) {
        long long n = db_exec(r,
                              "UPDATE df_order_info SET order_status = ?, trade_no = ?, update_time = NOW(6)"
                              " WHERE order_id = ? AND order_status = ?",
                              "issi", (long long)PAY_PAID_STATUS, trade_no, id, (long long)ORDER_UNPAID);
        if (n == 0)
            req_fail(r, 500, "payment", "the locked unpaid order changed");
        return n == 1 ? PAID_NOW : PAID_FAILED;
    }
    if (pay_status_paid(status)) {
        /* another trade for a paid order is a double payment (without
         * a first trade_no the order was settled outside Alipay) */
        if (had[0] && strcmp(had, trade_no) != 0 &&
            (*recorded = record_refund(r, id, trade_no, amount, "paid_twice")) < 0)
            return PAID_FAILED;
        return PAID_BEFORE;
    }
    /* past its time limit, or cancelled: the goods are (or now go) back
     * on sale, so the money goes back instead. A flash order's unit goes
     * back under its sale's lock, after this COMMIT (order_mark_paid). */
    if (status == ORDER_UNPAID && ((*flash_sale = flash_order_sale(r, id)) < 0 ||
                                   (*flash_sale == 0 && order_cancel_restock(r, id) < 0)))
        return PAID_FAILED;
    if (!had[0] && db_exec(r, "UPDATE df_order_info SET trade_no = ?, update_time = NOW(6) WHERE order_id = ?", "ss",
                           trade_no, id) < 0)
        return PAID_FAILED;
    if ((*recorded = record_refund(r, id, trade_no, amount, "expired")) < 0)
        return PAID_FAILED;
    return PAID_CANCELLED;
}

enum paid order_mark_paid(struct df_req *r, const char *order_id, const char *trade_no, int64_t amount) {
    int recorded = 0;
    long long flash_sale = 0;
    if (db_begin(r) < 0)
        return PAID_FAILED;
    enum paid p = decide(r, order_id, trade_no, amount, &recorded, &flash_sale);
    if (p == PAID_FAILED || db_commit(r) < 0) {
        /* a lost connection is dropped by req_release; any other is
         * rolled back here (and again by the pool if this fails) */
        if (!r->mysql_broken && r->mysql_slot)
            db_rollback(r);
        return PAID_FAILED;
    }
    /* the trade's refund stands; a unit not given back now is the sweep's */
    if (flash_sale > 0 && flash_order_expire(r, flash_sale, order_id) <= 0)
        req_fail_clear(r);
    if (recorded > 0 && p == PAID_BEFORE)
        df_log("payment: order %s, paid before, is paid again as trade %s: recorded for refund", order_id, trade_no);
    else if (recorded > 0)
        df_log("payment: order %s was paid (trade %s) after its time limit: cancelled, recorded for refund", order_id,
               trade_no);
    return p;
}
