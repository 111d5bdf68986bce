#include "payment.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "money.h"
#include "order.h"

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

enum paid order_mark_paid(struct df_req *r, const char *order_id, const char *trade_no) {
    struct pay_order o;
    long long n = db_exec(r,
                          "UPDATE df_order_info SET order_status = 4, trade_no = ?, update_time = NOW(6)"
                          " WHERE order_id = CAST(? AS BINARY) AND order_status = 1",
                          "ss", trade_no, order_id);
    if (n < 0)
        return PAID_FAILED;
    if (n == 1)
        return PAID_NOW;
    if (pay_order_find(r, order_id, 0, &o) <= 0)
        return PAID_FAILED;
    if (o.status != ORDER_CANCELLED) {
        if (strcmp(o.trade_no, trade_no) != 0)
            df_log("payment: order %s paid as trade %s is confirmed again as trade %s: check for a double payment",
                   order_id, o.trade_no, trade_no);
        return PAID_BEFORE;
    }
    if (!o.trade_no[0] && db_exec(r,
                                  "UPDATE df_order_info SET trade_no = ?, update_time = NOW(6)"
                                  " WHERE order_id = CAST(? AS BINARY) AND order_status = 6 AND trade_no = ''",
                                  "ss", trade_no, order_id) < 0)
        return PAID_FAILED;
    df_log("payment: order %s was paid (trade %s) after it expired and was cancelled: refund it", order_id, trade_no);
    return PAID_CANCELLED;
}

size_t alipay_common_params(const struct df_config *c, struct alipay_param *p, const char *method,
                            const char *biz_content, char *timestamp) {
    /* Alipay wants Beijing time, whatever the server's zone */
    time_t now = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(timestamp, 20, "%Y-%m-%d %H:%M:%S", &tm);
    size_t n = 0;
    p[n++] = (struct alipay_param){"app_id", c->alipay_app_id};
    p[n++] = (struct alipay_param){"method", method};
    p[n++] = (struct alipay_param){"charset", "utf-8"};
    p[n++] = (struct alipay_param){"sign_type", "RSA2"};
    p[n++] = (struct alipay_param){"timestamp", timestamp};
    p[n++] = (struct alipay_param){"version", "1.0"};
    p[n++] = (struct alipay_param){"biz_content", biz_content};
    return n;
}

int alipay_amount(const char *s, int64_t *cents) {
    /* Alipay always sends two decimals */
    size_t len = s ? strlen(s) : 0;
    if (len < 4 || s[len - 3] != '.' || s[0] == '-')
        return -1;
    return money_parse(s, cents);
}
