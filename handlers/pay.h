/* What the payment handlers share: the texts of their answers, an order
 * as payment sees it, and marking it paid exactly once. */
#ifndef DF_PAY_H
#define DF_PAY_H

#include <stdint.h>

#include "alipay.h"
#include "order.h"
#include "req.h"

#define PAY_BAD_ID_MSG "无效订单ID"
#define PAY_BAD_ORDER_MSG "无效订单"
#define PAY_PAID_MSG "支付成功"
#define PAY_FAILED_MSG "支付失败"
#define PAY_WAITING_MSG "等待支付"

/* Where payment moves an unpaid order: straight to 待评价, as the shop
 * always has (there is no shipping step to wait for). */
#define PAY_PAID_STATUS ORDER_UNCOMMENTED

/* An order status that means the order was paid (or settled on delivery). */
static inline int pay_status_paid(int status) {
    return status >= ORDER_UNSENT && status <= ORDER_FINISHED;
}

struct pay_order {
    char id[ORDER_ID_MAX + 8];
    int status, pay_method;
    int64_t amount;   /* total_price + transit_price, cents */
    long long age_s;  /* since create_time */
    char trade_no[ALIPAY_TRADE_NO_MAX + 1];
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

#endif
