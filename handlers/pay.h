/* What the payment handlers share: an order as payment sees it, marking
 * it paid exactly once, and the common Alipay request parameters. */
#ifndef DF_PAY_H
#define DF_PAY_H

#include <stdint.h>

#include "alipay.h"
#include "req.h"

struct pay_order {
    char id[72];
    int status, pay_method;
    int64_t amount;   /* total_price + transit_price, cents */
    long long age_s;  /* since create_time */
    char trade_no[129];
};

/* The order by id, the user's own when uid > 0 (any when 0). 1 found, 0
 * not, -1 failure (recorded). */
int pay_order_find(struct df_req *r, const char *order_id, long long uid, struct pay_order *o);

enum paid { PAID_NOW, PAID_BEFORE, PAID_CANCELLED, PAID_FAILED };
/* Records a payment of amount cents Alipay confirmed, in one transaction
 * under the order's row lock. PAID_NOW: status 1 within its time limit
 * -> 4 with the trade_no. PAID_BEFORE: paid before, left as it is (another
 * trade_no is recorded for refund as paid_twice). PAID_CANCELLED: the order
 * was past its time limit or cancelled: never paid; an order still at
 * status 1 is cancelled and restocked here as the sweep would, the
 * trade_no kept on it and the trade recorded for refund (df_order_refund,
 * once per trade_no, one log line). PAID_FAILED: rolled back (recorded). */
enum paid order_mark_paid(struct df_req *r, const char *order_id, const char *trade_no, int64_t amount);

/* The common parameters of every gateway call, with method and
 * biz_content: fills p (at least 9 slots), returns how many. timestamp
 * must hold 20 bytes and outlive p. */
size_t alipay_common_params(const struct df_config *c, struct alipay_param *p, const char *method,
                            const char *biz_content, char *timestamp);

/* "12.80" -> cents of an amount Alipay sends; -1 when not one. */
int alipay_amount(const char *s, int64_t *cents);

#endif
