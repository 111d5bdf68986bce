/* POST /order/notify — Alipay's asynchronous payment notification.
 *
 * No session and no CSRF token: Alipay's RSA2 signature over the form is
 * the authentication. Answered with the 7 bytes "success" when the notify
 * was applied (or had been before), else "fail" (Alipay sends it again
 * later), with the reason in the log:
 *   signature (sign_type RSA2, every field but sign and sign_type) ->
 *   app_id is ours -> out_trade_no is a known Alipay order -> total_amount
 *   is exactly its amount -> TRADE_SUCCESS / TRADE_FINISHED marks it paid,
 *   once (pay.c); other statuses change nothing. A payment for an
 *   order past its time limit is recorded for refund instead, and answered
 *   "success" too: it is recorded, a retry would only repeat it. */
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "pay.h"

/* The fields as the verifier takes them; *n is how many. */
static struct alipay_param *alipay_fields(struct df_req *r, const struct params *in, size_t *n) {
    struct alipay_param *p = arena_alloc(&r->arena, sizeof(*p) * (in->count ? in->count : 1));
    *n = 0;
    for (const struct param *q = in->head; q; q = q->next)
        p[(*n)++] = (struct alipay_param){q->key, q->val};
    return p;
}

static const char *field(const struct alipay_param *p, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return p[i].value;
    return NULL;
}

/* 1 applied (or nothing to apply), 0 refused (logged), -1 failure. */
static int apply_notify(struct df_req *r, const char **why) {
    const struct df_app *app = r->app;
    struct pay_order o;
    int64_t cents;
    int rc;
    size_t n;
    struct alipay_param *p = alipay_fields(r, &r->body, &n);
    if (!app->alipay) {
        *why = "payment is off";
        return 0;
    }
    if (!alipay_verify_notify(app->alipay->alipay_key, p, n)) {
        *why = "bad signature";
        return 0;
    }
    const char *app_id = field(p, n, "app_id"), *out_no = field(p, n, "out_trade_no");
    const char *status = field(p, n, "trade_status"), *total = field(p, n, "total_amount");
    const char *trade_no = field(p, n, "trade_no");
    if (!app_id || strcmp(app_id, app->cfg.alipay_app_id) != 0) {
        *why = "another app_id";
        return 0;
    }
    if (!out_no || !order_id_valid(out_no, strlen(out_no)) || (rc = pay_order_find(r, out_no, 0, &o)) == 0 ||
        (rc > 0 && o.pay_method != PAY_ALIPAY)) {
        *why = "unknown order";
        return 0;
    }
    if (rc < 0)
        return -1;
    if (!total || alipay_amount(total, &cents) < 0 || cents != o.amount) {
        *why = "wrong amount";
        return 0;
    }
    if (!status || (strcmp(status, "TRADE_SUCCESS") != 0 && strcmp(status, "TRADE_FINISHED") != 0))
        return 1; /* WAIT_BUYER_PAY, TRADE_CLOSED: acknowledged, nothing to do */
    if (!trade_no || !*trade_no || strlen(trade_no) > ALIPAY_TRADE_NO_MAX) {
        *why = "no trade_no";
        return 0;
    }
    return order_mark_paid(r, o.id, trade_no, o.amount) == PAID_FAILED ? -1 : 1;
}

void order_notify(struct df_req *r) {
    const char *why = "";
    int rc = apply_notify(r, &why);
    if (rc == 0) {
        /* the field is unauthenticated here: only an order id's characters
         * reach the log, never a forged line */
        const char *id = params_get(&r->body, "out_trade_no");
        df_log("payment notify for %s refused: %s", id && order_id_valid(id, strlen(id)) ? id : "(not an order id)",
               why);
    }
    if (rc < 0) /* the database failed: Alipay will retry */
        req_fail_clear(r);
    resp_text(r, 200, rc > 0 ? "success" : "fail");
}

/* GET /api/order/return — asked by the /order/return page, where Alipay
 * sends the buyer's browser back with signed parameters. For display only (Alipay's rule): the order is paid
 * by the notify or the check, never by this.
 *   res 3 {"message":"支付成功","order_id"} the order is paid |
 *   5 {"errmsg":"等待支付","order_id"} not yet (the page polls /order/check) |
 *   4 {"errmsg":"支付失败","reason":"bad_signature"} */
void order_return(struct df_req *r) {
    struct pay_order o;
    size_t n;
    int rc;
    struct alipay_param *p = alipay_fields(r, &r->query, &n);
    const char *id = params_get(&r->query, "out_trade_no");
    if (!r->app->alipay || !alipay_verify_notify(r->app->alipay->alipay_key, p, n) || !id ||
        !order_id_valid(id, strlen(id))) {
        resp_res_reason(r, 4, PAY_FAILED_MSG, "bad_signature");
        return;
    }
    if ((rc = pay_order_find(r, id, 0, &o)) < 0)
        return;
    /* borrowed: the answer is the request's */
    cJSON *a = rc > 0 && pay_status_paid(o.status) ? resp_res_ok(r, 3, PAY_PAID_MSG)
                                                    : resp_res_reason(r, 5, PAY_WAITING_MSG, NULL);
    cJSON_AddStringToObject(a, "order_id", id);
}
