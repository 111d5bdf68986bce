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
#include <stdio.h>
#include <string.h>

#include "cart.h"
#include "handlers.h"
#include "money.h"

#define SKU_ID_MAX 2147483647LL /* df_goods_sku.id is an int */

/* Every SKU of the cart in one statement: the ids travel as one JSON
 * array, ord maps each row back to its hash entry. */
static const char cart_sql[] =
    "SELECT j.ord, s.id, s.name, s.price, s.unite, s.image, s.stock, s.status"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, id BIGINT PATH '$')) AS j"
    " JOIN df_goods_sku s ON s.id = j.id ORDER BY j.ord";

struct entry {
    const redisReply *field, *value;
    int found;
};

/* amount NULL: too large to compute. */
static cJSON *item_json(const struct db_rows *rows, long long count, const char *amount) {
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "id", db_ll(rows, 1));
    cJSON_AddStringToObject(o, "name", db_str(rows, 2));
    cJSON_AddStringToObject(o, "price", db_str(rows, 3));
    cJSON_AddStringToObject(o, "unite", db_str(rows, 4));
    cJSON_AddStringToObject(o, "image", db_str(rows, 5));
    json_add_int(o, "stock", db_ll(rows, 6));
    json_add_int(o, "status", db_ll(rows, 7));
    json_add_int(o, "count", count);
    if (amount) {
        cJSON_AddStringToObject(o, "amount", amount);
    } else {
        cJSON_AddNullToObject(o, "amount");
        cJSON_AddStringToObject(o, "reason", "amount_too_large");
    }
    return o;
}

/* HDEL of the fields that name no SKU; argv lives in the arena. */
static int drop_missing(struct df_req *r, long long uid, const struct entry *e, size_t n) {
    size_t k = 0;
    const char **argv = arena_alloc(&r->arena, sizeof(char *) * (n + 2));
    size_t *lens = arena_alloc(&r->arena, sizeof(size_t) * (n + 2));
    argv[0] = "HDEL";
    lens[0] = 4;
    argv[1] = arena_printf(&r->arena, "cart_%lld", uid);
    lens[1] = strlen(argv[1]);
    for (size_t i = 0; i < n; i++) {
        if (e[i].found)
            continue;
        argv[2 + k] = e[i].field->str;
        lens[2 + k] = e[i].field->len;
        k++;
    }
    if (k == 0)
        return 0;
    return rds_cmdargv(r, (int)(k + 2), argv, lens) ? 0 : -1;
}

/* The ids as a JSON array for JSON_TABLE, in the hash's order; a field
 * that is no SKU id keeps its place as 0, which names no row. */
static const char *ids_json(struct df_req *r, const redisReply *all, size_t n) {
    size_t cap = n * 22 + 3, len = 0;
    char *s = arena_alloc(&r->arena, cap);
    s[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        const redisReply *f = all->element[2 * i];
        long long id = f->type == REDIS_REPLY_STRING ? parse_id(f->str) : -1;
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", id > 0 && id <= SKU_ID_MAX ? id : 0);
    }
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

void cart_show(struct df_req *r) {
    long long uid, count, total_count = 0;
    int64_t cents, amount, total_price = 0;
    char money[MONEY_STR_MAX];
    struct db_rows rows;
    int rc, ok = 0, too_large = 0;
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "res", 1);
    cJSON *items = cJSON_AddArrayToObject(o, "items"); /* borrowed: o owns it */
    redisReply *all;
    if (cart_session_read(r, "HGETALL", 0, &uid, &all) < 0)
        goto out;
    if (uid == 0) {
        resp_res_err(r, 0, LOGIN_MSG);
        goto out;
    }
    size_t n = all->elements / 2;
    struct entry *e = arena_alloc(&r->arena, sizeof(*e) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        e[i].field = all->element[2 * i];
        e[i].value = all->element[2 * i + 1];
        e[i].found = 0;
    }
    if (n > 0) {
        if (db_query(r, &rows, cart_sql, "s", ids_json(r, all, n)) < 0)
            goto out;
        while ((rc = db_next(&rows)) > 0) {
            long long ord = db_ll(&rows, 0);
            if (ord < 1 || (size_t)ord > n)
                continue;
            struct entry *it = &e[ord - 1];
            it->found = 1;
            if (it->value->type != REDIS_REPLY_STRING ||
                cart_value_parse(it->value->str, it->value->len, &count) < 0 || count == 0)
                continue;
            if (money_parse(db_str(&rows, 3), &cents) < 0) {
                req_fail(r, 500, "cart", "unreadable price");
                goto out;
            }
            total_count += count;
            if (money_mul(cents, count, &amount) < 0) {
                too_large = 1;
                cJSON_AddItemToArray(items, item_json(&rows, count, NULL));
                continue;
            }
            if (money_add(total_price, amount, &total_price) < 0)
                too_large = 1;
            money_format(amount, money);
            cJSON_AddItemToArray(items, item_json(&rows, count, money));
        }
        if (rc < 0)
            goto out;
        if (drop_missing(r, uid, e, n) < 0)
            goto out;
    }
    json_add_int(o, "total_count", total_count);
    if (too_large) {
        cJSON_AddNullToObject(o, "total_price");
        cJSON_AddStringToObject(o, "reason", "amount_too_large");
    } else {
        money_format(total_price, money);
        cJSON_AddStringToObject(o, "total_price", money);
    }
    ok = 1;
out:
    resp_json_if(r, ok, o);
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
