/* The lines of an order (see order_lines.h). */
#include "order_lines.h"

#include "cart.h"
#include "handlers.h"
#include "money.h"

/* The SKUs of the lines in their order; ord maps a row to its line. */
static const char skus_sql[] =
    "SELECT j.ord, s.id, s.name, s.price, s.unite, s.image, s.stock, s.status"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, id BIGINT PATH '$')) AS j"
    " JOIN df_goods_sku s ON s.id = j.id ORDER BY j.ord";

/* 200 {"res", "errmsg", "sku_id", "reason"}; takes sku_id. */
static void refuse(struct df_req *r, int res, const char *msg, cJSON *sku_id, const char *reason) {
    cJSON *o = resp_res_reason(r, res, msg, NULL);
    cJSON_AddItemToObject(o, "sku_id", sku_id);
    if (reason)
        cJSON_AddStringToObject(o, "reason", reason);
}

void order_line_refuse(struct df_req *r, long long sku, const char *reason) {
    refuse(r, reason ? 4 : 6, reason ? NO_SKU_MSG : NO_STOCK_MSG, cJSON_CreateNumber((double)sku),
           reason);
}

enum step order_lines_parse(struct df_req *r, const char *const *raw, size_t n, struct order_line *lines,
                            size_t *nlines) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        long long id = req_parse_id(raw[i]);
        if (id < 0 || id > SKU_ID_MAX) {
            refuse(r, 4, NO_SKU_MSG, cJSON_CreateString(raw[i]), "bad_id");
            return STEP_ANSWERED;
        }
        size_t j = 0;
        while (j < k && lines[j].sku != id)
            j++;
        if (j == k)
            lines[k++] = (struct order_line){.sku = id};
    }
    *nlines = k;
    return STEP_OK;
}

enum step order_lines_cart_counts(struct df_req *r, long long uid, struct order_line *l, size_t n) {
    const char **fields = arena_alloc(&r->arena, sizeof(char *) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        fields[i] = arena_printf(&r->arena, "%lld", l[i].sku);
    const redisReply *rep = cart_fields_cmd(r, "HMGET", uid, fields, NULL, n);
    if (!rep)
        return STEP_FAILED;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n) {
        req_fail(r, 500, "redis", "HMGET: unexpected reply");
        return STEP_FAILED;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *v = rep->element[i];
        if (v->type != REDIS_REPLY_STRING || cart_value_parse(v->str, v->len, &l[i].count) < 0)
            l[i].count = 0;
    }
    return STEP_OK;
}

enum step order_lines_read_skus(struct df_req *r, struct order_line *l, size_t n) {
    struct db_rows rows;
    int rc;
    long long *ids = arena_alloc(&r->arena, sizeof(long long) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        ids[i] = l[i].sku;
        l[i].found = 0; /* a retried commit reads again */
    }
    if (db_query(r, &rows, skus_sql, "s", json_ids(&r->arena, ids, n)) < 0)
        return STEP_FAILED;
    while ((rc = db_next(&rows)) > 0) {
        long long ord = db_ll(&rows, 0);
        if (ord < 1 || (size_t)ord > n)
            continue;
        struct order_line *it = &l[ord - 1];
        it->found = 1;
        it->price_text = arena_strdup(&r->arena, db_str(&rows, 3));
        it->price_ok = money_parse(it->price_text, &it->price) == 0;
        it->name = arena_strdup(&r->arena, db_str(&rows, 2));
        it->unite = arena_strdup(&r->arena, db_str(&rows, 4));
        it->image = arena_strdup(&r->arena, db_str(&rows, 5));
        it->stock = db_ll(&rows, 6);
        it->status = db_ll(&rows, 7);
    }
    return rc < 0 ? STEP_FAILED : STEP_OK;
}

const char *order_lines_ids_json(struct df_req *r, const struct order_line *l, size_t n) {
    long long *ids = arena_alloc(&r->arena, sizeof(long long) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        ids[i] = l[i].sku;
    return json_ids(&r->arena, ids, n);
}

/* One [ord, "price", stock, status] into its line; -1 when it is not that. */
static int sold_row(struct df_req *r, struct order_line *l, size_t n, const cJSON *row) {
    const cJSON *ord = cJSON_GetArrayItem(row, 0), *price = cJSON_GetArrayItem(row, 1),
                *stock = cJSON_GetArrayItem(row, 2), *status = cJSON_GetArrayItem(row, 3);
    if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 4 || !cJSON_IsNumber(ord) || !cJSON_IsString(price) ||
        !cJSON_IsNumber(stock) || !cJSON_IsNumber(status) || ord->valuedouble < 1 || ord->valuedouble > (double)n)
        return -1;
    struct order_line *it = &l[(size_t)ord->valuedouble - 1];
    it->found = 1;
    it->price_text = arena_strdup(&r->arena, price->valuestring);
    it->price_ok = money_parse(it->price_text, &it->price) == 0;
    it->name = it->unite = it->image = "";
    it->stock = (long long)stock->valuedouble;
    it->status = (long long)status->valuedouble;
    return 0;
}

enum step order_lines_sold_from_json(struct df_req *r, struct order_line *l, size_t n, const char *json) {
    enum step s = STEP_FAILED;
    cJSON *rows = NULL, *row;
    for (size_t i = 0; i < n; i++)
        l[i].found = 0; /* a retried commit reads again */
    if (!json)
        return STEP_OK;
    rows = cJSON_Parse(json);
    if (!cJSON_IsArray(rows))
        goto out;
    cJSON_ArrayForEach(row, rows) {
        if (sold_row(r, l, n, row) < 0)
            goto out;
    }
    s = STEP_OK;
out:
    if (s != STEP_OK)
        req_fail(r, 500, "order", "SKU rows: unexpected JSON");
    cJSON_Delete(rows);
    return s;
}

enum step order_lines_check(struct df_req *r, const struct order_line *l, size_t n, enum order_lines_rules rules,
                            const char *what) {
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (!l[i].found)
            why = "unknown";
        else if (rules == LINES_SOLD ? l[i].status != 1 : l[i].status == 0)
            why = "offline";
        else if (l[i].count == 0)
            why = "not_in_cart";
        if (why) {
            order_line_refuse(r, l[i].sku, why);
            return STEP_ANSWERED;
        }
        if (!l[i].price_ok) {
            req_fail(r, 500, what, "unreadable price");
            return STEP_FAILED;
        }
        if (rules == LINES_SOLD && l[i].stock < l[i].count) {
            order_line_refuse(r, l[i].sku, NULL);
            return STEP_ANSWERED;
        }
    }
    return STEP_OK;
}

enum step order_lines_read(struct df_req *r, long long uid, struct order_line **lines, size_t *n) {
    const char *raw[ORDER_SKUS_MAX + 1];
    size_t nraw = req_param_list(r, "sku_ids", raw, ORDER_SKUS_MAX + 1);
    enum step s;
    if (nraw == 0 || nraw > ORDER_SKUS_MAX) {
        resp_res_err(r, 1, ORDER_PARAMS_MSG);
        return STEP_ANSWERED;
    }
    *lines = arena_alloc(&r->arena, sizeof(struct order_line) * nraw);
    if ((s = order_lines_parse(r, raw, nraw, *lines, n)) != STEP_OK ||
        (s = order_lines_cart_counts(r, uid, *lines, *n)) != STEP_OK ||
        (s = order_lines_read_skus(r, *lines, *n)) != STEP_OK)
        return s;
    return order_lines_check(r, *lines, *n, LINES_SHOWN, "order preview");
}

const char *order_lines_total(const struct order_line *l, size_t n, int64_t *total_price, long long *total_count) {
    int64_t amount, price = 0;
    long long count = 0; /* each at most 15 digits, at most ORDER_SKUS_MAX of them */
    for (size_t i = 0; i < n; i++) {
        if (money_mul(l[i].price, l[i].count, &amount) < 0 || money_add(price, amount, &price) < 0)
            return "amount_too_large";
        count += l[i].count;
    }
    *total_price = price;
    *total_count = count;
    return order_totals_refusal(price, count);
}

cJSON *order_line_json(const struct order_line *l, const char *amount, int with_status) {
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "id", l->sku);
    cJSON_AddStringToObject(o, "name", l->name);
    cJSON_AddStringToObject(o, "price", l->price_text);
    cJSON_AddStringToObject(o, "unite", l->unite);
    cJSON_AddStringToObject(o, "image", l->image);
    json_add_int(o, "stock", l->stock);
    if (with_status)
        json_add_int(o, "status", l->status);
    json_add_int(o, "count", l->count);
    if (amount) {
        cJSON_AddStringToObject(o, "amount", amount);
    } else {
        cJSON_AddNullToObject(o, "amount");
        cJSON_AddStringToObject(o, "reason", "amount_too_large");
    }
    return o;
}
