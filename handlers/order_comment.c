/* POST /order/comment/<order_id> — the buyer comments the items of a paid
 * order, as the original's form sends them: total_count N, then sku_1 ..
 * sku_N and content_1 .. content_N (at most 256 characters each, the
 * column's size). Only the owner, only from status 4 (待评价); the order
 * becomes 5 (已完成), all in one transaction.
 *   res 0 用户未登录 | 1 无效订单ID | 2 订单不存在 (not the user's looks the
 *   same as missing) | 3 订单状态错误 {"status"} |
 *   4 评论内容错误 {"index", "reason": missing_sku|bad_sku|not_in_order|too_long} |
 *   5 {"message":"评论成功"} */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "order.h"
#include "validate.h"

#define COMMENT_ITEMS_MAX 100
#define COMMENT_CHARS_MAX 256
#define COMMENT_BAD_MSG "评论内容错误"

struct item {
    long long sku;
    const char *text;
};

/* res 4 for the index'th item (from 1): {"res", "errmsg", "index", "reason"}. */
static void refuse_item(struct df_req *r, long long index, const char *reason) {
    cJSON *o = resp_res_reason(r, 4, COMMENT_BAD_MSG, NULL);
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddStringToObject(o, "reason", reason);
}

/* The form's items; answered when one is not what the form must send. */
static enum step read_items(struct df_req *r, struct item **items, long long *n) {
    long long count = req_parse_id(req_param(r, "total_count"));
    if (count < 1 || count > COMMENT_ITEMS_MAX) {
        resp_res_err(r, 4, COMMENT_BAD_MSG);
        return STEP_ANSWERED;
    }
    *items = arena_alloc(&r->arena, sizeof(struct item) * (size_t)count);
    for (long long i = 1; i <= count; i++) {
        char key[32];
        snprintf(key, sizeof(key), "sku_%lld", i);
        const char *sku = req_param(r, key);
        snprintf(key, sizeof(key), "content_%lld", i);
        const char *text = req_param(r, key);
        struct item *it = &(*items)[i - 1];
        const char *why = NULL;
        if (!sku || !*sku)
            why = "missing_sku";
        else if ((it->sku = req_parse_id(sku)) < 0)
            why = "bad_sku";
        else if (utf8_chars(it->text = text ? text : "") > COMMENT_CHARS_MAX)
            why = "too_long";
        if (why) {
            refuse_item(r, i, why);
            return STEP_ANSWERED;
        }
    }
    *n = count;
    return STEP_OK;
}

/* The order, locked, at status ORDER_UNCOMMENTED and the user's; else
 * answered (res 2, res 3). */
static enum step lock_order(struct df_req *r, const char *id, long long uid) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT order_status FROM df_order_info WHERE order_id = CAST(? AS BINARY) AND user_id = ?"
                 " AND is_delete = 0 FOR UPDATE",
                 "si", id, uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0) {
        resp_res_err(r, 2, ORDER_NOT_FOUND_MSG);
        return STEP_ANSWERED;
    }
    if (db_ll(&rows, 0) != ORDER_UNCOMMENTED) {
        cJSON_AddNumberToObject(resp_res_reason(r, 3, "订单状态错误", NULL), "status", (double)db_ll(&rows, 0));
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

/* One transaction, on a connection used for nothing else: a refusal or a
 * failure just returns, and the pool rolls the transaction back when the
 * request gives the connection back (lib/db.c). */
void order_comment(struct df_req *r) {
    long long uid, n = 0;
    struct item *items = NULL;
    const struct route_arg *arg = &r->match.args[0];
    if (session_require(r, &uid, ORDER_LOGIN_MSG) != STEP_OK)
        return;
    if (!order_id_valid(arg->str, arg->len)) {
        resp_res_err(r, 1, "无效订单ID");
        return;
    }
    const char *id = arena_strndup(&r->arena, arg->str, arg->len);
    if (read_items(r, &items, &n) != STEP_OK || db_begin(r) < 0 || lock_order(r, id, uid) != STEP_OK)
        return;
    for (long long i = 0; i < n; i++) {
        long long changed = db_exec(r,
                                    "UPDATE df_order_goods SET comment = ?, update_time = NOW(6)"
                                    " WHERE order_id = CAST(? AS BINARY) AND sku_id = ?",
                                    "ssi", items[i].text, id, items[i].sku);
        if (changed < 0)
            return;
        if (changed == 0) {
            /* update_time always changes, so 0 rows means the SKU is not in the order */
            refuse_item(r, i + 1, "not_in_order");
            return;
        }
    }
    if (db_exec(r,
                "UPDATE df_order_info SET order_status = ?, update_time = NOW(6)"
                " WHERE order_id = CAST(? AS BINARY) AND order_status = ?",
                "isi", (long long)ORDER_FINISHED, id, (long long)ORDER_UNCOMMENTED) < 0 ||
        db_commit(r) < 0)
        return;
    resp_res_ok(r, 5, "评论成功");
}
