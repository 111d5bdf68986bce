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
#include "order.h"
#include "pay.h"

#define PAY_BAD_ID_MSG "无效订单ID"
#define PAY_BAD_ORDER_MSG "无效订单"
/* the trade closes this long before expiry would cancel the order */
#define PAY_EXPIRY_MARGIN_S 60
#define CHECK_ANSWER_TTL_MS 2000

/* Login, the id and the order, as pay and check both need them: 1 with
 * the user's Alipay order in *o, 0 answered, -1 failure. */
static int own_alipay_order(struct df_req *r, struct pay_order *o) {
    long long uid;
    int rc;
    if ((rc = session_require(r, &uid, ORDER_LOGIN_MSG)) <= 0)
        return rc;
    const char *id = req_param(r, "order_id");
    if (!id || !order_id_valid(id, strlen(id))) {
        resp_res_err(r, 1, PAY_BAD_ID_MSG);
        return 0;
    }
    if ((rc = pay_order_find(r, id, uid, o)) <= 0) {
        if (rc == 0)
            resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "not_found");
        return rc;
    }
    if (o->pay_method != PAY_ALIPAY) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "not_alipay");
        return 0;
    }
    if (!r->app->alipay_app_key) {
        resp_error(r, 503, "payment unavailable");
        return 0;
    }
    return 1;
}

void order_pay(struct df_req *r) {
    struct pay_order o;
    struct alipay_param p[12];
    char ts[20], amount[MONEY_STR_MAX], subject[96], timeout[24];
    char *biz = NULL, *query = NULL;
    const struct df_config *c = &r->app->cfg;
    if (own_alipay_order(r, &o) <= 0)
        goto out;
    if (o.status != ORDER_UNPAID) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, o.status == ORDER_CANCELLED ? "expired" : "not_unpaid");
        goto out;
    }
    /* Alipay's trade must close before expiry cancels the order, so a
     * buyer can never pay an order whose stock went back on sale */
    long long left_min = (c->order_ttl - o.age_s - PAY_EXPIRY_MARGIN_S) / 60;
    if (left_min < 1) {
        resp_res_reason(r, 2, PAY_BAD_ORDER_MSG, "expired");
        goto out;
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
    if (!biz || !(query = alipay_signed_query(r->app->alipay_app_key, p, n))) {
        req_fail(r, 500, "payment", "cannot sign the pay request");
        goto out;
    }
    cJSON *ok = resp_res(r, 3);
    cJSON_AddStringToObject(ok, "pay_url", arena_printf(&r->arena, "%s?%s", c->alipay_gateway, query));
out:
    free(biz);
    free(query);
}

/* What one trade query came to. */
struct verdict {
    int res;            /* 3 paid, 4 failed, 5 waiting */
    const char *reason; /* static */
    char trade_no[129];
};

/* Asks the gateway about the order and judges the answer. */
static void query_trade(struct df_req *r, const struct pay_order *o, struct verdict *v) {
    const struct df_config *c = &r->app->cfg;
    struct alipay_param p[10];
    struct http_answer a = {0};
    cJSON *resp = NULL;
    char ts[20], err[256], *biz = NULL, *query = NULL;
    int64_t cents;
    *v = (struct verdict){.res = 4, .reason = "gateway_error"};
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "out_trade_no", o->id);
    biz = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    size_t n = alipay_common_params(c, p, "alipay.trade.query", biz, ts);
    if (!biz || !(query = alipay_signed_query(r->app->alipay_app_key, p, n))) {
        df_log("order check %s: cannot sign the query", o->id);
        goto out;
    }
    if (http_post_form(c->alipay_gateway, query, c->alipay_timeout_ms, &a, err, sizeof(err)) < 0) {
        df_log("order check %s: gateway: %s", o->id, err);
        v->reason = "gateway_unavailable";
        goto out;
    }
    enum alipay_verdict av = alipay_verify_response(r->app->alipay_key, a.body, a.len, "alipay.trade.query", &resp);
    if (av == ALIPAY_BAD_SIGN || av == ALIPAY_MALFORMED) {
        df_log("order check %s: gateway answer (HTTP %ld) %s: refused", o->id, a.status,
               av == ALIPAY_BAD_SIGN ? "with a bad signature" : "unreadable");
        v->reason = av == ALIPAY_BAD_SIGN ? "bad_signature" : "gateway_error";
        goto out;
    }
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "code"));
    const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "sub_code"));
    if (av == ALIPAY_ERROR || !code) {
        df_log("order check %s: gateway error %s %s", o->id, code ? code : "-", sub ? sub : "");
        goto out;
    }
    if (strcmp(code, "40004") == 0 && sub && strcmp(sub, "ACQ.TRADE_NOT_EXIST") == 0) {
        *v = (struct verdict){.res = 5, .reason = "not_paid"}; /* the buyer has not opened the cashier yet */
        goto out;
    }
    if (strcmp(code, "10000") != 0) {
        df_log("order check %s: gateway answered %s %s", o->id, code, sub ? sub : "");
        goto out;
    }
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "trade_status"));
    const char *out_no = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "out_trade_no"));
    const char *trade_no = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "trade_no"));
    const char *total = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "total_amount"));
    if (!status || !out_no || strcmp(out_no, o->id) != 0) {
        df_log("order check %s: the answer is about another trade", o->id);
        goto out;
    }
    if (strcmp(status, "WAIT_BUYER_PAY") == 0) {
        *v = (struct verdict){.res = 5, .reason = "not_paid"};
    } else if (strcmp(status, "TRADE_SUCCESS") == 0 || strcmp(status, "TRADE_FINISHED") == 0) {
        if (!total || alipay_amount(total, &cents) < 0 || cents != o->amount || !trade_no || !*trade_no ||
            strlen(trade_no) > 128) {
            df_log("order check %s: paid %s, but the order is %lld cents: refused", o->id, total ? total : "-",
                   (long long)o->amount);
            v->reason = "amount_mismatch";
            goto out;
        }
        v->res = 3;
        v->reason = "paid";
        snprintf(v->trade_no, sizeof(v->trade_no), "%s", trade_no);
    } else {
        df_log("order check %s: trade %s", o->id, status);
        v->reason = strcmp(status, "TRADE_CLOSED") == 0 ? "trade_closed" : "gateway_error";
    }
out:
    cJSON_Delete(resp);
    free(a.body);
    free(biz);
    free(query);
}

static void answer_check(struct df_req *r, int res, const char *reason) {
    if (res == 3)
        resp_res_ok(r, 3, "支付成功");
    else
        resp_res_reason(r, res, res == 5 ? "等待支付" : "支付失败", reason);
}

/* The answer a recent query left for this order: 1 answered, 0 none. */
static int answer_cached(struct df_req *r, const char *key) {
    redisReply *rep = rds_cmd(r, "GET %s", key);
    int res;
    char reason[32];
    if (!rep || rep->type != REDIS_REPLY_STRING || sscanf(rep->str, "%d %31s", &res, reason) != 2 ||
        (res != 4 && res != 5))
        return 0;
    answer_check(r, res, arena_strdup(&r->arena, reason));
    return 1;
}

/* This worker already lends dailyfresh-alipay-max-calls threads to the
 * gateway: the poll is answered now, without a query, and the order's
 * lock is let go so that its next poll may ask. */
static void answer_busy(struct df_req *r, const char *lock) {
    if (!rds_cmd(r, "DEL %s", lock))
        req_fail_clear(r); /* the lock expires on its own */
    answer_check(r, 5, "busy");
}

void order_check(struct df_req *r) {
    struct pay_order o;
    struct verdict v;
    if (own_alipay_order(r, &o) <= 0)
        goto out;
    if (o.status >= ORDER_UNSENT && o.status <= ORDER_FINISHED) {
        answer_check(r, 3, NULL);
        goto out;
    }
    if (o.status != ORDER_UNPAID) {
        answer_check(r, 4, "cancelled");
        goto out;
    }
    const char *lock = arena_printf(&r->arena, "alipay_check_lock_%s", o.id);
    const char *last = arena_printf(&r->arena, "alipay_check_%s", o.id);
    redisReply *rep = rds_cmd(r, "SET %s 1 NX PX %ld", lock, r->app->cfg.alipay_timeout_ms + 1000);
    if (!rep)
        goto out;
    if (rep->type != REDIS_REPLY_STATUS) { /* another poll asks the gateway right now */
        if (!answer_cached(r, last) && r->fail_status == 0)
            answer_check(r, 5, "checking");
        goto out;
    }
    if (!http_gate_enter(&r->app->alipay_calls, (int)r->app->cfg.alipay_max_calls)) {
        answer_busy(r, lock);
        goto out;
    }
    query_trade(r, &o, &v);
    http_gate_leave(&r->app->alipay_calls);
    if (v.res == 3) {
        enum paid p = order_mark_paid(r, o.id, v.trade_no, o.amount);
        if (p == PAID_FAILED)
            goto out;
        if (p == PAID_CANCELLED)
            v = (struct verdict){.res = 4, .reason = "cancelled"};
    }
    /* the next query no sooner than a second from now */
    const char *value = arena_printf(&r->arena, "%d %s", v.res, v.reason);
    if (rds_append(r, "SET %s %s PX %d", last, value, CHECK_ANSWER_TTL_MS) < 0 ||
        rds_append(r, "PEXPIRE %s 1000", lock) < 0 || !rds_reply(r) || !rds_reply(r))
        req_fail_clear(r); /* the answer below stands; the keys expire on their own */
    answer_check(r, v.res, v.reason);
out:
    return;
}
