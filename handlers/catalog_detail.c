/* GET /api/goods/<sku_id>
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

/* Everything the page shows in one statement (one round trip instead of
 * four; MariaDB's query cache answers it until a table changes). Each row
 * says its part; seq keeps each part's order. Columns: part, seq, the
 * SKU as JSON (SKU_JSON), then e1..e8:
 *   1 the SKU     e: status, goods id, name, detail, type id, name, logo, image
 *   2 same SPU    (other online SKUs of its goods, by id)
 *   3 newest      (the 2 newest online SKUs of its type)
 *   4 comment     e: username, comment, time (newest first, 20) */
#define COL_SKU 2
#define COL_E (COL_SKU + 1)
static const char detail_sql[] =
    "SELECT * FROM ("
    " SELECT 1 AS part, 0 AS seq, " SKU_JSON " AS sku, s.status AS e1, g.id AS e2, g.name AS e3, g.detail AS e4,"
    "  t.id AS e5, t.name AS e6, t.logo AS e7, t.image AS e8"
    "  FROM df_goods_sku s JOIN df_goods g ON g.id = s.goods_id JOIN df_goods_type t ON t.id = s.type_id"
    "  WHERE s.id = ?"
    " UNION ALL"
    " SELECT 2, ROW_NUMBER() OVER (ORDER BY s.id), " SKU_JSON ", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    "  FROM df_goods_sku s JOIN df_goods_sku me ON me.id = ? AND s.goods_id = me.goods_id"
    "  WHERE s.id <> me.id AND s.status = 1"
    " UNION ALL"
    " (SELECT 3, ROW_NUMBER() OVER (ORDER BY s.id DESC), " SKU_JSON ", NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    "  NULL FROM df_goods_sku s JOIN df_goods_sku me ON me.id = ? AND s.type_id = me.type_id"
    "  WHERE s.status = 1 ORDER BY s.id DESC LIMIT 2)"
    " UNION ALL"
    " (SELECT 4, ROW_NUMBER() OVER (ORDER BY og.update_time DESC, og.id DESC),"
    "  NULL,"
    "  u.username, og.comment, DATE_FORMAT(og.update_time, '%Y-%m-%d %H:%i:%s'), NULL, NULL, NULL, NULL, NULL"
    "  FROM df_order_goods og JOIN df_order_info o ON o.order_id = og.order_id JOIN df_user u ON u.id = o.user_id"
    "  WHERE og.sku_id = ? AND og.comment <> '' ORDER BY og.update_time DESC, og.id DESC LIMIT 20)"
    ") u ORDER BY part, seq";

/* The SKU's own row: its goods and type. */
static void add_sku(const struct db_rows *rows, cJSON *o) {
    cJSON_AddItemToObject(o, "sku", sku_raw(rows, COL_SKU));
    cJSON *g = cJSON_AddObjectToObject(o, "goods");
    json_add_int(g, "id", db_ll(rows, COL_E + 1));
    cJSON_AddStringToObject(g, "name", db_str(rows, COL_E + 2));
    cJSON_AddStringToObject(g, "detail", db_str(rows, COL_E + 3));
    cJSON_AddItemToObject(o, "type", type_json(rows, COL_E + 4));
}

static cJSON *comment_json(const struct db_rows *rows) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "username", db_str(rows, COL_E));
    cJSON_AddStringToObject(c, "comment", db_str(rows, COL_E + 1));
    cJSON_AddStringToObject(c, "time", db_str(rows, COL_E + 2));
    return c;
}

void goods_detail(struct df_req *r) {
    struct db_rows rows;
    int rc, ok = 0, found = 0;
    long long sku_id = r->match.args[0].num, uid;
    redisReply *cart;
    cJSON *o = cJSON_CreateObject();
    cJSON *same = NULL, *newest = NULL, *comments = NULL;
    if (db_query(r, &rows, detail_sql, "iiii", sku_id, sku_id, sku_id, sku_id) < 0)
        goto out;
    while ((rc = db_next(&rows)) > 0) {
        long long part = db_ll(&rows, 0);
        if (part == 1 && db_ll(&rows, COL_E) == 1) {
            found = 1;
            add_sku(&rows, o);
            same = cJSON_AddArrayToObject(o, "same_spu_skus"); /* borrowed: o owns them */
            newest = cJSON_AddArrayToObject(o, "new_skus");
            comments = cJSON_AddArrayToObject(o, "comments");
        } else if (found && part == 2) {
            cJSON_AddItemToArray(same, sku_raw(&rows, COL_SKU));
        } else if (found && part == 3) {
            cJSON_AddItemToArray(newest, sku_raw(&rows, COL_SKU));
        } else if (found && part == 4) {
            cJSON_AddItemToArray(comments, comment_json(&rows));
        }
    }
    if (rc < 0)
        goto out;
    if (!found) {
        resp_error(r, 404, "goods not found");
        goto out;
    }
    /* only a SKU that exists enters the viewer's history */
    if (cart_session_read(r, "HVALS", sku_id, &uid, &cart) < 0)
        goto out;
    json_add_int(o, "cart_count", cart_hvals_sum(cart));
    ok = 1;
out:
    resp_json_if(r, ok, o);
}
