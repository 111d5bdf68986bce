/* Reading orders: the order page before commit, the user's order list and
 * one order. JSON only; money as DECIMAL text, summed in integer cents.
 * Docs: docs/api-orders.md.
 *
 * GET|POST /api/order/preview   sku_ids (repeated keys or comma lists)
 *   res 0 {"errmsg":"用户未登录"}
 *   res 1 {"errmsg":"参数不完整"}        no sku_ids, or more than 100
 *   res 4 {"errmsg":"商品不存在","sku_id":7,"reason":"not_in_cart"}
 *         reason: bad_id (sku_id is then the text as sent), unknown,
 *         offline, not_in_cart; the first offending SKU is named
 *   res 7 {"errmsg":"下单失败","reason":"amount_too_large"|"count_too_large"}
 *         what /order/commit would answer: the total does not fit an order
 *   res 5 {"skus":[{"id","name","price","unite","image","stock","count","amount"}],
 *          "total_count","total_price","transit_price":"10.00","total_pay",
 *          "addresses":[<address>, default first, then newest]}
 *   Repeated ids count once (first place kept). Three round trips whatever
 *   the number of SKUs: one statement for the SKUs, one HMGET, one
 *   statement for the addresses. The lines and their refusals are
 *   order_lines.c's, which the commit uses too.
 *
 * GET /api/orders?page=N   newest first, ORDERS_PAGE_SIZE a page
 *   res 0 {"errmsg":"用户未登录"} | res 1 {"errmsg":"页码错误"}
 *   res 5 {"page","num_pages","total","orders":[<order>]}
 *   At most three statements whatever the page holds: the count, the
 *   page's orders with their addresses, the items of all of them.
 *
 * GET /api/orders/<order_id>
 *   res 0 {"errmsg":"用户未登录"}
 *   res 5 {"order":<order>}
 *   404 {"res":2,"errmsg":"订单不存在"}   malformed id, no such order, or
 *   another user's (one answer for all three). Two statements.
 *   A flash order not written yet: res 5 {"order":<order> + "pending":true}
 *   from flash_order_<id> (its user only; one HMGET before the statements)
 *   and one statement more.
 *
 * <order>: {"order_id","create_time":"YYYY-MM-DD HH:MM:SS","status",
 *   "status_name","pay_method","pay_method_name","total_count",
 *   "total_price","transit_price","total_pay","trade_no",
 *   "address":{"id","receiver","addr","phone","zip_code"},
 *   "items":[{"sku_id","name","image","unite","price","count","amount","comment"}]} */
#include <stdint.h>
#include <time.h>

#include "flash_sale.h"
#include "handlers.h"
#include "money.h"
#include "order.h"
#include "order_lines.h"
#include "user_address.h"

#define ORDERS_PAGE_SIZE 10

static const char addresses_sql[] = "SELECT " ADDRESS_COLUMNS " FROM df_address WHERE user_id = ? AND is_delete = 0 "
                                    "ORDER BY is_default DESC, create_time DESC, id DESC";

/* An order's columns, in the order order_json reads them. */
#define ORDER_SELECT                                                                                            \
    "SELECT o.order_id, DATE_FORMAT(o.create_time, '%Y-%m-%d %H:%i:%s'), o.order_status, o.pay_method,"        \
    " o.total_count, o.total_price, o.transit_price, o.trade_no, a.id, a.receiver, a.addr, a.phone, a.zip_code" \
    " FROM df_order_info o LEFT JOIN df_address a ON a.id = o.addr_id"

static const char orders_count_sql[] = "SELECT COUNT(*) FROM df_order_info WHERE user_id = ? AND is_delete = 0";
static const char orders_page_sql[] = ORDER_SELECT " WHERE o.user_id = ? AND o.is_delete = 0"
                                                   " ORDER BY o.create_time DESC, o.order_id DESC LIMIT ? OFFSET ?";
/* Exact match: the key's collation would also find another case. */
static const char order_one_sql[] = ORDER_SELECT
    " WHERE o.order_id = CAST(? AS BINARY) AND o.user_id = ? AND o.is_delete = 0";

/* The items of several orders in one statement: their ids as one JSON
 * array, compared as bytes (whatever the tables' collation), ord maps an
 * item to its order. */
static const char items_sql[] =
    "SELECT j.ord, g.sku_id, s.name, s.image, s.unite, g.price, g.count, g.comment"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, oid VARBINARY(128) PATH '$')) AS j"
    " JOIN df_order_goods g ON g.order_id = j.oid"
    " LEFT JOIN df_goods_sku s ON s.id = g.sku_id ORDER BY j.ord, g.id";

/* ------------------------------------------------------------------ preview */

static void add_money(cJSON *o, const char *name, int64_t cents) {
    char money[MONEY_STR_MAX];
    money_format(cents, money);
    cJSON_AddStringToObject(o, name, money);
}

/* The user's addresses, default first, then newest; NULL on failure
 * (recorded). */
static cJSON *addresses_json(struct df_req *r, long long uid) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, addresses_sql, "i", uid) < 0)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    while ((rc = db_next(&rows)) > 0)
        cJSON_AddItemToArray(a, address_json(&rows));
    if (rc < 0) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

/* res 5: the lines with their amounts (each fits: order_lines_total), the
 * totals and the addresses, which it takes. */
static void preview_json(struct df_req *r, const struct order_line *l, size_t n, int64_t total_price,
                         long long total_count, cJSON *addresses) {
    char money[MONEY_STR_MAX];
    int64_t amount;
    cJSON *o = resp_res(r, 5);
    cJSON *skus = cJSON_AddArrayToObject(o, "skus");
    for (size_t i = 0; i < n; i++) {
        money_mul(l[i].price, l[i].count, &amount);
        money_format(amount, money);
        cJSON_AddItemToArray(skus, order_line_json(&l[i], money, 0));
    }
    cJSON_AddNumberToObject(o, "total_count", (double)total_count);
    add_money(o, "total_price", total_price);
    add_money(o, "transit_price", ORDER_TRANSIT_CENTS);
    add_money(o, "total_pay", total_price + ORDER_TRANSIT_CENTS); /* fits: order_totals_refusal */
    cJSON_AddItemToObject(o, "addresses", addresses);
}

void order_preview(struct df_req *r) {
    struct order_line *lines;
    size_t n;
    long long uid, total_count;
    int64_t total_price;
    if (session_require(r, &uid, ORDER_LOGIN_MSG) != STEP_OK || order_lines_read(r, uid, &lines, &n) != STEP_OK)
        return;
    const char *too_large = order_lines_total(lines, n, &total_price, &total_count);
    if (too_large) {
        resp_res_reason(r, 7, ORDER_FAILED_MSG, too_large);
        return;
    }
    cJSON *addresses = addresses_json(r, uid);
    if (addresses)
        preview_json(r, lines, n, total_price, total_count, addresses);
}

/* ------------------------------------------------------------------ orders */

/* The orders of a page (or the one order) and where their items go. */
struct order_set {
    size_t n;
    const char *ids[ORDERS_PAGE_SIZE];
    cJSON *items[ORDERS_PAGE_SIZE]; /* borrowed: each order owns its array */
};

static void add_text_or_null(cJSON *o, const char *name, const struct db_rows *rows, unsigned col) {
    if (db_isnull(rows, col))
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddStringToObject(o, name, db_str(rows, col));
}

/* The order of the current row (ORDER_SELECT's columns); NULL when its
 * money columns cannot be read (recorded as 500). */
static cJSON *order_json(struct df_req *r, const struct db_rows *rows, cJSON **items) {
    int64_t price, transit, pay;
    if (money_parse(db_str(rows, 5), &price) < 0 || money_parse(db_str(rows, 6), &transit) < 0 ||
        money_add(price, transit, &pay) < 0) {
        req_fail(r, 500, "orders", "order amount out of range");
        return NULL;
    }
    int status = (int)db_ll(rows, 2), method = (int)db_ll(rows, 3);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "order_id", db_str(rows, 0));
    cJSON_AddStringToObject(o, "create_time", db_str(rows, 1));
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddStringToObject(o, "status_name", order_status_name(status));
    cJSON_AddNumberToObject(o, "pay_method", method);
    cJSON_AddStringToObject(o, "pay_method_name", pay_method_name(method));
    cJSON_AddNumberToObject(o, "total_count", (double)db_ll(rows, 4));
    cJSON_AddStringToObject(o, "total_price", db_str(rows, 5));
    cJSON_AddStringToObject(o, "transit_price", db_str(rows, 6));
    add_money(o, "total_pay", pay);
    cJSON_AddStringToObject(o, "trade_no", db_str(rows, 7));
    if (db_isnull(rows, 8)) {
        cJSON_AddNullToObject(o, "address");
    } else {
        cJSON *a = cJSON_AddObjectToObject(o, "address");
        cJSON_AddNumberToObject(a, "id", (double)db_ll(rows, 8));
        cJSON_AddStringToObject(a, "receiver", db_str(rows, 9));
        cJSON_AddStringToObject(a, "addr", db_str(rows, 10));
        cJSON_AddStringToObject(a, "phone", db_str(rows, 11));
        add_text_or_null(a, "zip_code", rows, 12);
    }
    *items = cJSON_AddArrayToObject(o, "items");
    return o;
}

/* Reads the orders of a query over ORDER_SELECT into arr. 0, or -1 on
 * failure (recorded). */
static int orders_read(struct df_req *r, struct db_rows *rows, cJSON *arr, struct order_set *set) {
    int rc;
    set->n = 0;
    while ((rc = db_next(rows)) > 0) {
        if (set->n == ORDERS_PAGE_SIZE)
            continue;
        cJSON *o = order_json(r, rows, &set->items[set->n]);
        if (!o)
            return -1;
        set->ids[set->n++] = arena_strdup(&r->arena, db_str(rows, 0));
        cJSON_AddItemToArray(arr, o);
    }
    return rc;
}

/* The set's order ids as a JSON array (escaped as JSON needs), in the
 * request's arena. */
static const char *order_ids_json(struct df_req *r, const struct order_set *set) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < set->n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(set->ids[i]));
    return req_json_text(r, arr, "orders");
}

/* Every item of the set's orders, one statement, into their orders. */
static int items_read(struct df_req *r, const struct order_set *set) {
    struct db_rows rows;
    int64_t cents, amount;
    char money[MONEY_STR_MAX];
    int rc;
    if (set->n == 0)
        return 0;
    const char *ids = order_ids_json(r, set);
    if (!ids || db_query(r, &rows, items_sql, "s", ids) < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        long long ord = db_ll(&rows, 0), count = db_ll(&rows, 6);
        if (ord < 1 || (size_t)ord > set->n)
            continue;
        if (money_parse(db_str(&rows, 5), &cents) < 0 || money_mul(cents, count, &amount) < 0) {
            req_fail(r, 500, "orders", "item amount out of range");
            return -1;
        }
        money_format(amount, money);
        cJSON *it = cJSON_CreateObject();
        cJSON_AddNumberToObject(it, "sku_id", (double)db_ll(&rows, 1));
        cJSON_AddStringToObject(it, "name", db_str(&rows, 2));
        cJSON_AddStringToObject(it, "image", db_str(&rows, 3));
        cJSON_AddStringToObject(it, "unite", db_str(&rows, 4));
        cJSON_AddStringToObject(it, "price", db_str(&rows, 5));
        cJSON_AddNumberToObject(it, "count", (double)count);
        cJSON_AddStringToObject(it, "amount", money);
        cJSON_AddStringToObject(it, "comment", db_str(&rows, 7));
        cJSON_AddItemToArray(set->items[ord - 1], it);
    }
    return rc;
}

void orders_list(struct df_req *r) {
    long long uid, page = 1;
    struct db_rows rows;
    struct order_set set = {0};
    if (session_require(r, &uid, ORDER_LOGIN_MSG) != STEP_OK)
        return;
    const char *p = req_param(r, "page");
    if (p && (page = req_parse_id(p)) < 0) {
        resp_res_err(r, 1, "页码错误");
        return;
    }
    if (db_query(r, &rows, orders_count_sql, "i", uid) < 0 || db_next(&rows) <= 0)
        return;
    long long total = db_ll(&rows, 0);
    long long num_pages = total > 0 ? (total + ORDERS_PAGE_SIZE - 1) / ORDERS_PAGE_SIZE : 1;
    cJSON *orders = cJSON_CreateArray();
    if (page <= num_pages &&
        (db_query(r, &rows, orders_page_sql, "iii", uid, (long long)ORDERS_PAGE_SIZE, (page - 1) * ORDERS_PAGE_SIZE) <
             0 ||
         orders_read(r, &rows, orders, &set) < 0 || items_read(r, &set) < 0)) {
        cJSON_Delete(orders);
        return;
    }
    cJSON *o = resp_res(r, 5);
    cJSON_AddNumberToObject(o, "page", (double)page);
    cJSON_AddNumberToObject(o, "num_pages", (double)num_pages);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddItemToObject(o, "orders", orders);
}

/* ------------------------------------------------------------- flash orders */

/* A flash order the buy script recorded (flash_order_<id>, flash_sale.h)
 * and the consumer has not written yet. */
struct pending {
    long long uid, addr_id, pay_method, sale_id, t_ms;
    const char *price;
};

/* 1 found and the user's, 0 not (or another user's), -1 failed. */
static int pending_read(struct df_req *r, const char *order_id, long long uid, struct pending *p) {
    redisReply *rep = rds_cmd(r, "HMGET " FLASH_ORDER_KEY " u a p pr t sale", order_id);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 6) {
        req_fail(r, 500, "orders", "flash order: unexpected reply");
        return -1;
    }
    redisReply **e = rep->element;
    if (e[0]->type != REDIS_REPLY_STRING)
        return 0;
    if (rds_reply_ll(e[0], &p->uid) < 0 || rds_reply_ll(e[1], &p->addr_id) < 0 ||
        rds_reply_ll(e[2], &p->pay_method) < 0 || e[3]->type != REDIS_REPLY_STRING || rds_reply_ll(e[4], &p->t_ms) < 0 ||
        rds_reply_ll(e[5], &p->sale_id) < 0) {
        req_fail(r, 500, "orders", "flash order: fields are not numbers");
        return -1;
    }
    p->price = e[3]->str;
    return p->uid == uid;
}

/* The order as order_json shapes a written unpaid one, from the hash and
 * one statement for its SKU and address; create_time is the reservation's,
 * as the row will have it. NULL on failure (recorded). */
static cJSON *pending_json(struct df_req *r, const char *order_id, const struct pending *p) {
    struct db_rows rows;
    int64_t price, pay;
    char money[MONEY_STR_MAX], when[32];
    struct tm tm;
    time_t secs = (time_t)(p->t_ms / 1000);
    int rc;
    if (money_parse(p->price, &price) < 0 || money_add(price, ORDER_TRANSIT_CENTS, &pay) < 0) {
        req_fail(r, 500, "orders", "flash order price out of range");
        return NULL;
    }
    if (db_query(r, &rows,
                 "SELECT s.id, s.name, s.image, s.unite, a.id, a.receiver, a.addr, a.phone, a.zip_code"
                 " FROM df_flash_sale f JOIN df_goods_sku s ON s.id = f.sku_id"
                 " LEFT JOIN df_address a ON a.id = ? WHERE f.id = ?",
                 "ii", p->addr_id, p->sale_id) < 0 ||
        (rc = db_next(&rows)) < 0)
        return NULL;
    if (rc == 0) {
        req_fail(r, 500, "orders", "flash order of a sale without a row");
        return NULL;
    }
    localtime_r(&secs, &tm); /* NOW(6) in the rows is the server's local time */
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "order_id", order_id);
    cJSON_AddStringToObject(o, "create_time", when);
    cJSON_AddNumberToObject(o, "status", ORDER_UNPAID);
    cJSON_AddStringToObject(o, "status_name", order_status_name(ORDER_UNPAID));
    cJSON_AddNumberToObject(o, "pay_method", (double)p->pay_method);
    cJSON_AddStringToObject(o, "pay_method_name", pay_method_name((int)p->pay_method));
    cJSON_AddNumberToObject(o, "total_count", 1);
    money_format(price, money);
    cJSON_AddStringToObject(o, "total_price", money);
    add_money(o, "transit_price", ORDER_TRANSIT_CENTS);
    add_money(o, "total_pay", pay);
    cJSON_AddStringToObject(o, "trade_no", "");
    if (db_isnull(&rows, 4)) {
        cJSON_AddNullToObject(o, "address");
    } else {
        cJSON *a = cJSON_AddObjectToObject(o, "address");
        cJSON_AddNumberToObject(a, "id", (double)db_ll(&rows, 4));
        cJSON_AddStringToObject(a, "receiver", db_str(&rows, 5));
        cJSON_AddStringToObject(a, "addr", db_str(&rows, 6));
        cJSON_AddStringToObject(a, "phone", db_str(&rows, 7));
        add_text_or_null(a, "zip_code", &rows, 8);
    }
    cJSON *it = cJSON_CreateObject();
    cJSON_AddNumberToObject(it, "sku_id", (double)db_ll(&rows, 0));
    cJSON_AddStringToObject(it, "name", db_str(&rows, 1));
    cJSON_AddStringToObject(it, "image", db_str(&rows, 2));
    cJSON_AddStringToObject(it, "unite", db_str(&rows, 3));
    cJSON_AddStringToObject(it, "price", money);
    cJSON_AddNumberToObject(it, "count", 1);
    cJSON_AddStringToObject(it, "amount", money);
    cJSON_AddStringToObject(it, "comment", "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "items"), it);
    cJSON_AddBoolToObject(o, "pending", 1);
    return o;
}

/* The order's row into set (as orders_read); -1 failed. */
static int order_one_read(struct df_req *r, const char *id, long long uid, cJSON *one, struct order_set *set) {
    struct db_rows rows;
    if (db_query(r, &rows, order_one_sql, "si", id, uid) < 0)
        return -1;
    return orders_read(r, &rows, one, set);
}

/* Until its row exists a flash order is answered from its Redis hash. The
 * hash is read before the row: the consumer COMMITs the row before it
 * deletes the hash, so a read that misses the hash finds the row, and no
 * order of the user's is ever answered 404 in between. */
void order_detail(struct df_req *r) {
    long long uid;
    struct order_set set = {0};
    struct pending p;
    const struct route_arg *arg = &r->match.args[0];
    const char *id = arena_strndup(&r->arena, arg->str, arg->len);
    int pending = 0;
    if (session_require(r, &uid, ORDER_LOGIN_MSG) != STEP_OK)
        return;
    cJSON *one = cJSON_CreateArray(); /* the order, before it moves into the answer */
    if (order_id_valid(arg->str, arg->len) &&
        ((pending = pending_read(r, id, uid, &p)) < 0 || order_one_read(r, id, uid, one, &set) < 0))
        goto out;
    if (set.n == 0 && pending) {
        cJSON *o = pending_json(r, id, &p);
        if (o)
            cJSON_AddItemToObject(resp_res(r, 5), "order", o);
        goto out;
    }
    if (set.n == 0) { /* one answer for a malformed id, no such order and another user's */
        resp_res_err(r, 2, ORDER_NOT_FOUND_MSG);
        r->status = 404;
        goto out;
    }
    if (items_read(r, &set) < 0)
        goto out;
    cJSON_AddItemToObject(resp_res(r, 5), "order", cJSON_DetachItemFromArray(one, 0));
out:
    cJSON_Delete(one);
}
