/* Reading the cart:
 *
 * GET /api/cart
 *   res 0 {"errmsg":"请先登录"}
 *   res 1 {"items":[{"id":1,"name":"..","price":"25.50","unite":"盒",
 *          "image":"images/goods/goods001.svg","stock":137,"status":1,
 *          "count":2,"amount":"51.00"}],
 *          "total_count":2,"total_price":"51.00"}
 *   Items in the hash's order. A field naming no df_goods_sku row is left
 *   out and removed from the hash; a value that is not a count is left out
 *   (and left alone). Offline SKUs stay, with their status, so the page
 *   can say so. Money is summed exactly in integer cents; an amount past
 *   that range is "amount": null with "reason": "amount_too_large" on its
 *   item, and then (or when the sum is past it) "total_price" is null with
 *   the same "reason" beside it.
 * GET /api/cart/count
 *   res 0 {"errmsg":"请先登录"} | res 1 {"total_count":N}   (header badge) */
#include <stdint.h>

#include "cart.h"
#include "handlers.h"
#include "money.h"
#include "order_lines.h"

/* The hash's entries as lines, in its order: a field that is no SKU id is
 * line 0, which names no row; a value that is no count is count 0. */
static struct order_line *cart_lines(struct df_req *r, const redisReply *all, size_t n) {
    struct order_line *l = arena_alloc(&r->arena, sizeof(*l) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        const redisReply *f = all->element[2 * i], *v = all->element[2 * i + 1];
        long long id = f->type == REDIS_REPLY_STRING ? req_parse_id(f->str) : -1;
        l[i] = (struct order_line){.sku = id > 0 && id <= SKU_ID_MAX ? id : 0};
        if (v->type != REDIS_REPLY_STRING || cart_value_parse(v->str, v->len, &l[i].count) < 0)
            l[i].count = 0;
    }
    return l;
}

/* HDEL of the fields that name no SKU, as the hash holds them. */
static int drop_missing(struct df_req *r, long long uid, const redisReply *all, const struct order_line *l,
                        size_t n) {
    const char **fields = arena_alloc(&r->arena, sizeof(char *) * n);
    size_t *lens = arena_alloc(&r->arena, sizeof(size_t) * n), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].found)
            continue;
        fields[k] = all->element[2 * i]->str;
        lens[k++] = all->element[2 * i]->len;
    }
    if (k == 0)
        return 0;
    return cart_fields_cmd(r, "HDEL", uid, fields, lens, k) ? 0 : -1;
}

struct totals {
    long long count;
    int64_t price;
    int too_large; /* an amount or the sum past the range: no price */
};

/* The lines the page shows (a row and a count) with their amounts, into
 * items. 0, or -1 on failure (recorded). */
static int lines_json(struct df_req *r, const struct order_line *l, size_t n, cJSON *items, struct totals *t) {
    int64_t amount;
    char money[MONEY_STR_MAX];
    for (size_t i = 0; i < n; i++) {
        if (!l[i].found || l[i].count == 0)
            continue;
        if (!l[i].price_ok) {
            req_fail(r, 500, "cart", "unreadable price");
            return -1;
        }
        t->count += l[i].count;
        if (money_mul(l[i].price, l[i].count, &amount) < 0) {
            t->too_large = 1;
            cJSON_AddItemToArray(items, order_line_json(&l[i], NULL, 1));
            continue;
        }
        if (money_add(t->price, amount, &t->price) < 0)
            t->too_large = 1;
        money_format(amount, money);
        cJSON_AddItemToArray(items, order_line_json(&l[i], money, 1));
    }
    return 0;
}

void cart_show(struct df_req *r) {
    long long uid;
    struct totals t = {0};
    char money[MONEY_STR_MAX];
    redisReply *all;
    if (cart_session_read(r, "HGETALL", 0, &uid, &all) < 0)
        return;
    if (uid == 0) {
        resp_res_err(r, 0, LOGIN_MSG);
        return;
    }
    size_t n = all->elements / 2;
    struct order_line *l = cart_lines(r, all, n);
    if (n > 0 && order_lines_read_skus(r, l, n) != STEP_OK)
        return;
    cJSON *items = cJSON_CreateArray();
    if (lines_json(r, l, n, items, &t) < 0 || (n > 0 && drop_missing(r, uid, all, l, n) < 0)) {
        cJSON_Delete(items);
        return;
    }
    cJSON *o = resp_res(r, 1);
    cJSON_AddItemToObject(o, "items", items);
    json_add_int(o, "total_count", t.count);
    if (t.too_large) {
        cJSON_AddNullToObject(o, "total_price");
        cJSON_AddStringToObject(o, "reason", "amount_too_large");
    } else {
        money_format(t.price, money);
        cJSON_AddStringToObject(o, "total_price", money);
    }
}

void cart_count(struct df_req *r) {
    long long uid;
    redisReply *vals;
    if (cart_session_read(r, "HVALS", 0, &uid, &vals) < 0)
        return;
    if (uid == 0)
        resp_res_err(r, 0, LOGIN_MSG);
    else
        json_add_int(resp_res(r, 1), "total_count", cart_hvals_sum(vals));
}
