/* What the order handlers share: the texts of the order answers in the
 * contract, the code tables and the transit price. */
#ifndef DF_ORDER_H
#define DF_ORDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cart.h"
#include "money.h"

#define ORDER_LOGIN_MSG "用户未登录"
#define ORDER_PARAMS_MSG "参数不完整"
#define ORDER_NOT_FOUND_MSG "订单不存在"
#define ORDER_FAILED_MSG "下单失败"
#define ORDER_CREATED_MSG "创建成功"
#define ORDER_BAD_ADDRESS_MSG "地址非法"

#define ORDER_TRANSIT_CENTS 1000 /* 10.00 per order */
#define ORDER_ID_MAX 64          /* Alipay out_trade_no */

/* Why an order of these totals cannot be written (res 7 ORDER_FAILED_MSG
 * with this reason), or NULL: with the transit price its total must fit
 * df_order_info's DECIMAL(10,2), and its count an int. The commit refuses
 * such an order; the preview answers what the commit would. */
static inline const char *order_totals_refusal(int64_t total_price, long long total_count) {
    if (total_price > MONEY_COLUMN_MAX - ORDER_TRANSIT_CENTS)
        return "amount_too_large";
    if (total_count > CART_COUNT_MAX)
        return "count_too_large";
    return NULL;
}

#define ORDER_UNKNOWN_NAME "未知" /* a code outside the tables below */

/* df_order_info.order_status */
enum order_status {
    ORDER_UNPAID = 1,      /* 待支付 */
    ORDER_UNSENT = 2,      /* 待发货 */
    ORDER_UNRECEIVED = 3,  /* 待收货 */
    ORDER_UNCOMMENTED = 4, /* 待评价 */
    ORDER_FINISHED = 5,    /* 已完成 */
    ORDER_CANCELLED = 6,   /* 已取消: left unpaid until it expired */
};

/* df_order_info.pay_method */
enum pay_method {
    PAY_CASH = 1,     /* 货到付款 */
    PAY_WECHAT = 2,   /* 微信支付 */
    PAY_ALIPAY = 3,   /* 支付宝 */
    PAY_UNIONPAY = 4, /* 银联支付 */
};

/* The name shown for a code; "未知" for a code outside the table. */
static inline const char *order_status_name(int status) {
    switch (status) {
    case ORDER_UNPAID:
        return "待支付";
    case ORDER_UNSENT:
        return "待发货";
    case ORDER_UNRECEIVED:
        return "待收货";
    case ORDER_UNCOMMENTED:
        return "待评价";
    case ORDER_FINISHED:
        return "已完成";
    case ORDER_CANCELLED:
        return "已取消";
    default:
        return ORDER_UNKNOWN_NAME;
    }
}

static inline const char *pay_method_name(int method) {
    switch (method) {
    case PAY_CASH:
        return "货到付款";
    case PAY_WECHAT:
        return "微信支付";
    case PAY_ALIPAY:
        return "支付宝";
    case PAY_UNIONPAY:
        return "银联支付";
    default:
        return ORDER_UNKNOWN_NAME;
    }
}

/* An order id as the shop makes them and Alipay's out_trade_no allows:
 * 1..ORDER_ID_MAX of [A-Za-z0-9_]. */
static inline int order_id_valid(const char *s, size_t len) {
    if (len == 0 || len > ORDER_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

#define ORDER_IDEM_KEY_MAX 64

/* An Idempotency-Key as the order endpoints take it: 1..64 of
 * [A-Za-z0-9_.:-]. */
static inline int order_idem_key_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > ORDER_IDEM_KEY_MAX)
        return 0;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:") == n;
}

/* The parts of an order id around its user id (order_commit.c): the UTC
 * time to the microsecond ("YYYYmmddHHMMSSuuuuuu") and 48 random bits in
 * hex; an id is stamp "_" uid "_" rnd. 0, or -1 (recorded). */
#define ORDER_STAMP_LEN 24
#define ORDER_RND_LEN 13
struct df_req;
int order_id_parts(struct df_req *r, char stamp[ORDER_STAMP_LEN], char rnd[ORDER_RND_LEN]);

#endif
