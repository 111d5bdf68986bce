/* Paying an order with Alipay (computer website payment):
 *
 * POST /order/pay     order_id
 *   res 0 用户未登录 | 1 无效订单ID | 2 无效订单 {"reason": not_found |
 *   not_alipay | not_unpaid | expired} | 3 {"pay_url": gateway?signed query}
 * POST /order/check   order_id
 *   res 0..2 as pay | 3 {"message":"支付成功"} (order status 4, trade_no kept) |
 *   4 支付失败 {"reason"} | 5 等待支付 {"reason": not_paid | checking | busy}
 *   (not paid yet, or not asked now: the page polls again)
 * Payment off (no app id): 503 {"error":"payment unavailable"}.
 *
 * The check asks the gateway once (alipay.trade.query) within
 * dailyfresh-alipay-timeout and never waits for the buyer. Per order at
 * most one query is in flight and at most one starts per second, across
 * all instances (a Redis key taken with SET NX); polls meanwhile get the
 * last answer, so a page polling in many tabs cannot tie up the shop.
 * Per worker at most dailyfresh-alipay-max-calls queries are in flight,
 * so a slow gateway never holds all of a worker's threads: past it the
 * check answers res 5 {"reason":"busy"} at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_client.h"
#include "log.h"
#include "money.h"
#include "pay.h"

/* the trade closes this long before expiry would cancel the order */
#define PAY_EXPIRY_MARGIN_S 60
#define CHECK_ANSWER_TTL_MS 2000

/* Login, the id and the order, as pay and check both need them: STEP_OK
 * with the user's Alipay order in *o. */
static enum step own_alipay_order(struct df_req *r, struct pay_order *o) {
    long long uid;
    int rc;
    enum step st = session_require(r, &uid, ORDER_LOGIN_MSG);
    if (st != STEP_OK)
        return st;
    const char *id = req_param(r, "order_id");
    if (!id || !order_id_valid(id, strlen(id))) {
        resp_res_err(r, 1, PAY_BAD_ID_MSG);
        return STEP_ANSWERED;
    }
    if ((rc = pay_order_find(r, id, uid, o)) < 0)
        return STEP_FAILED;
    if (rc == 0) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "not_found");
        return STEP_ANSWERED;
    }
    if (o->pay_method != PAY_ALIPAY) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "not_alipay");
        return STEP_ANSWERED;
    }
    if (!r->app->alipay) {
        resp_error(r, 503, "payment unavailable");
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

void order_pay(struct df_req *r) {
    struct pay_order o;
    struct alipay_param p[12];
    char ts[20], amount[MONEY_STR_MAX], subject[96], timeout[24];
    char *biz = NULL, *query = NULL;
    const struct df_config *c = &r->app->cfg;
    if (own_alipay_order(r, &o) != STEP_OK)
        return;
    if (o.status != ORDER_UNPAID) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, o.status == ORDER_CANCELLED ? "expired" : "not_unpaid");
        return;
    }
    /* Alipay's trade must close before expiry cancels the order, so a
     * buyer can never pay an order whose stock went back on sale */
    long long left_min = (c->order_ttl - o.age_s - PAY_EXPIRY_MARGIN_S) / 60;
    if (left_min < 1) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "expired");
        return;
    }
    money_format(o.amount, amount);
    snprintf(subject, sizeof(subject), "天天生鲜%s", o.id);
    snprintf(timeout, sizeof(timeout), "%lldm", left_min);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "subject", subject);
    cJSON_AddStringToObject(b, "out_trade_no", o.id);
    cJSON_AddStringToObject(b, "total_amount", amount);
    cJSON_AddStringToObject(b, "product_code", "FAST_INSTANT_TRADE_PAY");
    cJSON_AddStringToObject(b, "timeout_express", timeout);
    biz = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    size_t n = alipay_common_params(c, p, "alipay.trade.page.pay", biz, ts);
    /* empty URLs are left out, never sent empty (Alipay's signing rule) */
    if (c->alipay_notify_url[0])
        p[n++] = (struct alipay_param){"notify_url", c->alipay_notify_url};
    if (c->alipay_return_url[0])
        p[n++] = (struct alipay_param){"return_url", c->alipay_return_url};
    if (!biz || !(query = alipay_signed_query(r->app->alipay->app_key, p, n))) {
        req_fail(r, 500, "payment", "cannot sign the pay request");
        goto out;
    }
    cJSON *ok = resp_res(r, 3);
    cJSON_AddStringToObject(ok, "pay_url", arena_printf(&r->arena, "%s?%s", c->alipay_gateway, query));
out:
    free(biz);
    free(query);
}

/* What a check answers: res 3 paid, 4 failed, 5 waiting, with a reason
 * (static text). */
struct verdict {
    int res;
    const char *reason;
};

/* What each answer of the trade query comes to. */
static const struct verdict trade_verdicts[ALIPAY_TRADE_STATES] = {
    [ALIPAY_TRADE_PAID] = {3, "paid"},
    [ALIPAY_TRADE_WAITING] = {5, "not_paid"},
    [ALIPAY_TRADE_NOT_EXIST] = {5, "not_paid"},
    [ALIPAY_TRADE_CLOSED] = {4, "trade_closed"},
    [ALIPAY_TRADE_WRONG_AMOUNT] = {4, "amount_mismatch"},
    [ALIPAY_TRADE_BAD_SIGN] = {4, "bad_signature"},
    [ALIPAY_TRADE_UNREACHABLE] = {4, "gateway_unavailable"},
    [ALIPAY_TRADE_ERROR] = {4, "gateway_error"},
};

static void answer_check(struct df_req *r, int res, const char *reason) {
    if (res == 3)
        resp_res_ok(r, 3, PAY_PAID_MSG);
    else
        resp_res_reason(r, res, res == 5 ? PAY_WAITING_MSG : PAY_FAILED_MSG, reason);
}

/* The answer a recent query left for this order: STEP_ANSWERED with it,
 * STEP_OK when there is none. */
static enum step answer_cached(struct df_req *r, const char *key) {
    redisReply *rep = rds_cmd(r, "GET %s", key);
    int res;
    char reason[32];
    if (!rep)
        return STEP_FAILED;
    if (rep->type != REDIS_REPLY_STRING || sscanf(rep->str, "%d %31s", &res, reason) != 2 || (res != 4 && res != 5))
        return STEP_OK;
    answer_check(r, res, arena_strdup(&r->arena, reason));
    return STEP_ANSWERED;
}

/* This worker already lends dailyfresh-alipay-max-calls threads to the
 * gateway: the poll is answered now, without a query, and the order's
 * lock is let go so that its next poll may ask. */
static void answer_busy(struct df_req *r, const char *lock) {
    if (!rds_cmd(r, "DEL %s", lock))
        req_fail_clear(r); /* the lock expires on its own */
    answer_check(r, 5, "busy");
}

/* Asks the gateway, within the worker's bound on calls in flight (taken
 * by the caller), and judges the answer for this order. */
static struct verdict query_trade(struct df_req *r, const struct pay_order *o, char *trade_no, size_t trade_no_size) {
    struct alipay_trade_result t;
    alipay_trade_query(&r->app->cfg, r->app->alipay, o->id, o->amount, &t);
    if (t.why[0])
        df_log("order check %s: %s", o->id, t.why);
    snprintf(trade_no, trade_no_size, "%s", t.trade_no);
    return trade_verdicts[t.trade];
}

void order_check(struct df_req *r) {
    struct pay_order o;
    char trade_no[ALIPAY_TRADE_NO_MAX + 1];
    if (own_alipay_order(r, &o) != STEP_OK)
        return;
    if (pay_status_paid(o.status)) {
        answer_check(r, 3, NULL);
        return;
    }
    if (o.status != ORDER_UNPAID) {
        answer_check(r, 4, "cancelled");
        return;
    }
    const char *lock = arena_printf(&r->arena, "alipay_check_lock_%s", o.id);
    const char *last = arena_printf(&r->arena, "alipay_check_%s", o.id);
    redisReply *rep = rds_cmd(r, "SET %s 1 NX PX %ld", lock, r->app->cfg.alipay_timeout_ms + 1000);
    if (!rep)
        return;
    if (rep->type != REDIS_REPLY_STATUS) { /* another poll asks the gateway right now */
        if (answer_cached(r, last) == STEP_OK)
            answer_check(r, 5, "checking");
        return;
    }
    if (!http_gate_enter(&r->app->alipay_calls, (int)r->app->cfg.alipay_max_calls)) {
        answer_busy(r, lock);
        return;
    }
    struct verdict v = query_trade(r, &o, trade_no, sizeof(trade_no));
    http_gate_leave(&r->app->alipay_calls);
    if (v.res == 3) {
        enum paid p = order_mark_paid(r, o.id, trade_no, o.amount);
        if (p == PAID_FAILED)
            return;
        if (p == PAID_CANCELLED)
            v = (struct verdict){4, "cancelled"};
    }
    /* the next query no sooner than a second from now */
    const char *value = arena_printf(&r->arena, "%d %s", v.res, v.reason);
    if (rds_append(r, "SET %s %s PX %d", last, value, CHECK_ANSWER_TTL_MS) < 0 ||
        rds_append(r, "PEXPIRE %s 1000", lock) < 0 || !rds_reply(r) || !rds_reply(r))
        req_fail_clear(r); /* the answer below stands; the keys expire on their own */
    answer_check(r, v.res, v.reason);
}
