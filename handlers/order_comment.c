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

#define COMMENT_ITEMS_MAX 100
#define COMMENT_CHARS_MAX 256

struct item {
    long long sku;
    const char *text;
};

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void bad_item(struct df_req *r, long long index, const char *reason) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "res", 4);
    cJSON_AddStringToObject(o, "errmsg", "评论内容错误");
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddStringToObject(o, "reason", reason);
    resp_json(r, 200, o);
}

/* The form's items; 1 answered, 0 read. */
static int read_items(struct df_req *r, struct item **items, long long *n) {
    long long count = parse_id(req_param(r, "total_count"));
    if (count < 1 || count > COMMENT_ITEMS_MAX) {
        resp_res_err(r, 4, "评论内容错误");
        return 1;
    }
    *items = arena_alloc(&r->arena, sizeof(struct item) * (size_t)count);
    for (long long i = 1; i <= count; i++) {
        char key[32];
        snprintf(key, sizeof(key), "sku_%lld", i);
        const char *sku = req_param(r, key);
        snprintf(key, sizeof(key), "content_%lld", i);
        const char *text = req_param(r, key);
        struct item *it = &(*items)[i - 1];
        if (!sku || !*sku) {
            bad_item(r, i, "missing_sku");
            return 1;
        }
        if ((it->sku = parse_id(sku)) < 0) {
            bad_item(r, i, "bad_sku");
            return 1;
        }
        it->text = text ? text : "";
        if (utf8_chars(it->text) > COMMENT_CHARS_MAX) {
            bad_item(r, i, "too_long");
            return 1;
        }
    }
    *n = count;
    return 0;
}

void order_comment(struct df_req *r) {
    long long uid, n = 0;
    struct item *items = NULL;
    struct db_rows rows;
    int rc, began = 0;
    const struct route_arg *arg = &r->match.args[0];
    if (session_require(r, &uid, ORDER_LOGIN_MSG) <= 0)
        goto out;
    if (!order_id_valid(arg->str, arg->len)) {
        resp_res_err(r, 1, "无效订单ID");
        goto out;
    }
    const char *id = arena_strndup(&r->arena, arg->str, arg->len);
    if (read_items(r, &items, &n) != 0)
        goto out;
    if (db_begin(r) < 0)
        goto out;
    began = 1;
    if (db_query(r, &rows,
                 "SELECT order_status FROM df_order_info WHERE order_id = CAST(? AS BINARY) AND user_id = ?"
                 " AND is_delete = 0 FOR UPDATE",
                 "si", id, uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        goto out;
    if (rc == 0) {
        resp_res_err(r, 2, ORDER_NOT_FOUND_MSG);
        goto out;
    }
    if (db_ll(&rows, 0) != ORDER_UNCOMMENTED) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "res", 3);
        cJSON_AddStringToObject(o, "errmsg", "订单状态错误");
        cJSON_AddNumberToObject(o, "status", (double)db_ll(&rows, 0));
        resp_json(r, 200, o);
        goto out;
    }
    for (long long i = 0; i < n; i++) {
        long long changed = db_exec(r,
                                    "UPDATE df_order_goods SET comment = ?, update_time = NOW(6)"
                                    " WHERE order_id = CAST(? AS BINARY) AND sku_id = ?",
                                    "ssi", items[i].text, id, items[i].sku);
        if (changed < 0)
            goto out;
        if (changed == 0) {
            /* update_time always changes, so 0 rows means the SKU is not in the order */
            bad_item(r, i + 1, "not_in_order");
            goto out;
        }
    }
    if (db_exec(r,
                "UPDATE df_order_info SET order_status = 5, update_time = NOW(6)"
                " WHERE order_id = CAST(? AS BINARY) AND order_status = 4",
                "s", id) < 0 ||
        db_commit(r) < 0)
        goto out;
    began = 0;
    resp_res_ok(r, 5, "评论成功");
out:
    if (began && !r->mysql_broken)
        db_rollback(r);
}
