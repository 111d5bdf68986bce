/* GET /goods/<sku_id>   (registered in goods.c)
 *   200 {"sku":{"id","name","desc","price","unite","image","stock","sales"},
 *        "goods":{"id","name","detail"},           the SPU
 *        "same_spu_skus":[SKU...],                  its other sellable SKUs
 *        "type":{"id","name","logo","image"},
 *        "new_skus":[the 2 newest SKUs of the type],
 *        "comments":[{"username","comment","time"}], newest first, at most 20
 *        "cart_count":N}                            0 when not logged in
 *   404 {"error":"goods not found"} for a missing SKU or one with status 0.
 * A logged-in viewer's history_<user_id> gets the SKU at its head: no
 * duplicates, newest first, 5 kept. */
#include "catalog.h"
#include "cart.h"
#include "handlers.h"

#define HISTORY_KEEP "4" /* LTRIM 0 4: five entries */

static const char sku_sql[] =
    "SELECT " SKU_COLS ", s.status, g.id, g.name, g.detail, t.id, t.name, t.logo, t.image"
    " FROM df_goods_sku s JOIN df_goods g ON g.id = s.goods_id JOIN df_goods_type t ON t.id = s.type_id"
    " WHERE s.id = ?";
static const char same_spu_sql[] = "SELECT " SKU_COLS " FROM df_goods_sku s"
                                   " WHERE s.goods_id = ? AND s.id <> ? AND s.status = 1 ORDER BY s.id";
static const char newest_sql[] = "SELECT " SKU_COLS " FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1"
                                 " ORDER BY s.id DESC LIMIT 2";
static const char comments_sql[] =
    "SELECT u.username, og.comment, DATE_FORMAT(og.update_time, '%Y-%m-%d %H:%i:%s')"
    " FROM df_order_goods og JOIN df_order_info o ON o.order_id = og.order_id JOIN df_user u ON u.id = o.user_id"
    " WHERE og.sku_id = ? AND og.comment <> '' ORDER BY og.update_time DESC, og.id DESC LIMIT 20";

static int add_comments(struct df_req *r, cJSON *o, long long sku_id) {
    struct db_rows rows;
    int rc;
    cJSON *arr = cJSON_AddArrayToObject(o, "comments");
    if (db_query(r, &rows, comments_sql, "i", sku_id) < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "username", db_str(&rows, 0));
        cJSON_AddStringToObject(c, "comment", db_str(&rows, 1));
        cJSON_AddStringToObject(c, "time", db_str(&rows, 2));
        cJSON_AddItemToArray(arr, c);
    }
    return rc < 0 ? -1 : 0;
}

/* History and cart badge in one round trip: LREM, LPUSH, LTRIM, HVALS. */
static int record_view(struct df_req *r, long long uid, long long sku_id, long long *cart_total) {
    redisReply *rep[4];
    if (rds_append(r, "LREM history_%lld 0 %lld", uid, sku_id) < 0 ||
        rds_append(r, "LPUSH history_%lld %lld", uid, sku_id) < 0 ||
        rds_append(r, "LTRIM history_%lld 0 " HISTORY_KEEP, uid) < 0 || rds_append(r, "HVALS cart_%lld", uid) < 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!(rep[i] = rds_reply(r)))
            return -1;
    for (int i = 0; i < 4; i++) {
        if (rep[i]->type == REDIS_REPLY_ERROR) {
            req_fail(r, 500, "redis", rep[i]->str);
            return -1;
        }
    }
    *cart_total = cart_hvals_sum(rep[3]);
    return 0;
}

void goods_detail(struct df_req *r) {
    struct db_rows rows;
    int rc, ok = 0;
    long long sku_id = r->match.args[0].num, uid, goods_id, type_id, cart_total = 0;
    cJSON *o = cJSON_CreateObject();
    if (db_query(r, &rows, sku_sql, "i", sku_id) < 0 || (rc = db_next(&rows)) < 0)
        goto out;
    if (rc == 0 || db_ll(&rows, SKU_NCOLS) != 1) {
        resp_error(r, 404, "goods not found");
        goto out;
    }
    cJSON_AddItemToObject(o, "sku", sku_json(&rows, 0));
    goods_id = db_ll(&rows, SKU_NCOLS + 1);
    cJSON *g = cJSON_AddObjectToObject(o, "goods");
    cJSON_AddNumberToObject(g, "id", (double)goods_id);
    cJSON_AddStringToObject(g, "name", db_str(&rows, SKU_NCOLS + 2));
    cJSON_AddStringToObject(g, "detail", db_str(&rows, SKU_NCOLS + 3));
    type_id = db_ll(&rows, SKU_NCOLS + 4);
    cJSON *t = cJSON_AddObjectToObject(o, "type");
    cJSON_AddNumberToObject(t, "id", (double)type_id);
    cJSON_AddStringToObject(t, "name", db_str(&rows, SKU_NCOLS + 5));
    cJSON_AddStringToObject(t, "logo", db_str(&rows, SKU_NCOLS + 6));
    cJSON_AddStringToObject(t, "image", db_str(&rows, SKU_NCOLS + 7));
    if (db_next(&rows) < 0)
        goto out;
    if (db_query(r, &rows, same_spu_sql, "ii", goods_id, sku_id) < 0 ||
        sku_rows_add(&rows, cJSON_AddArrayToObject(o, "same_spu_skus")) < 0)
        goto out;
    if (db_query(r, &rows, newest_sql, "i", type_id) < 0 ||
        sku_rows_add(&rows, cJSON_AddArrayToObject(o, "new_skus")) < 0)
        goto out;
    if (add_comments(r, o, sku_id) < 0)
        goto out;
    if (session_user(r, &uid) < 0)
        goto out;
    if (uid > 0 && record_view(r, uid, sku_id, &cart_total) < 0)
        goto out;
    cJSON_AddNumberToObject(o, "cart_count", (double)cart_total);
    ok = 1;
out:
    resp_json_if(r, ok, o);
}
