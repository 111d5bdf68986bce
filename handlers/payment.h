/* What the payment handlers share: an order as payment sees it, marking
 * it paid exactly once, and the common Alipay request parameters. */
#ifndef DF_PAYMENT_H
#define DF_PAYMENT_H

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
/* Records a payment Alipay confirmed: status 1 -> 4 with the trade_no
 * (conditional, so once); an order paid before stays as it is; a
 * cancelled (expired) order keeps the trade_no for the refund, is logged,
 * and its stock is not touched. */
enum paid order_mark_paid(struct df_req *r, const char *order_id, const char *trade_no);

/* The common parameters of every gateway call, with method and
 * biz_content: fills p (at least 9 slots), returns how many. timestamp
 * must hold 20 bytes and outlive p. */
size_t alipay_common_params(const struct df_config *c, struct alipay_param *p, const char *method,
                            const char *biz_content, char *timestamp);

/* "12.80" -> cents of an amount Alipay sends; -1 when not one. */
int alipay_amount(const char *s, int64_t *cents);

#endif
