/* GET /api/index — what the home page shows.
 *   200 {"types":[{"id","name","logo","image",
 *                  "image_banners":[SKU...],    df_index_type_goods display_type 1
 *                  "title_banners":[SKU...]}],  display_type 0
 *        "banners":[{"id","image","index","sku":SKU}],   df_index_banner (carousel)
 *        "promotions":[{"id","name","url","image","index"}],
 *        "cart_count":N}   sum of the cart's counts; 0 when not logged in
 * SKU: {"id","name","desc","price","unite","image","stock","sales"}.
 * Banners are ordered by their `index`; banners of offline SKUs are left
 * out. One statement and one Redis script whatever the number of types and
 * banners. */
#include <stdlib.h>

#include "cart.h"
#include "catalog.h"
#include "handlers.h"

/* The whole catalog part in one statement (one round trip instead of
 * four; MariaDB's query cache answers it until a table changes). Each row
 * says its part; seq keeps each part's order. Columns: part, seq, the
 * SKU as JSON (SKU_JSON, parts 2 and 3), then e1..e5:
 *   1 type        e: id, name, logo, image
 *   2 type goods  e: type_id, display_type
 *   3 banner      e: id, image, index
 *   4 promotion   e: id, name, url, image, index */
#define COL_SKU 2
#define COL_E (COL_SKU + 1)
static const char index_sql[] =
    "SELECT * FROM ("
    " SELECT 1 AS part, t.id AS seq, NULL AS sku,"
    "  t.id AS e1, t.name AS e2, t.logo AS e3, t.image AS e4, NULL AS e5 FROM df_goods_type t"
    " UNION ALL"
    " SELECT 2, ROW_NUMBER() OVER (ORDER BY b.type_id, b.`index`, b.id), " SKU_JSON ","
    "  b.type_id, b.display_type, NULL, NULL, NULL"
    "  FROM df_index_type_goods b JOIN df_goods_sku s ON s.id = b.sku_id WHERE s.status = 1"
    " UNION ALL"
    " SELECT 3, ROW_NUMBER() OVER (ORDER BY b.`index`, b.id), " SKU_JSON ", b.id, b.image, b.`index`, NULL, NULL"
    "  FROM df_index_banner b JOIN df_goods_sku s ON s.id = b.sku_id WHERE s.status = 1"
    " UNION ALL"
    " SELECT 4, ROW_NUMBER() OVER (ORDER BY p.`index`, p.id), NULL,"
    "  p.id, p.name, p.url, p.image, p.`index` FROM df_index_promotion p"
    ") u ORDER BY part, seq";

static cJSON *type_of(cJSON *types, long long id) {
    cJSON *t;
    cJSON_ArrayForEach(t, types) {
        if (strtoll(cJSON_GetObjectItem(t, "id")->valuestring, NULL, 10) == id) /* a raw number */
            return t;
    }
    return NULL;
}

static void add_row(struct db_rows *rows, cJSON *types, cJSON *banners, cJSON *promotions) {
    cJSON *o, *t;
    switch (db_ll(rows, 0)) {
    case 1:
        o = type_json(rows, COL_E);
        cJSON_AddArrayToObject(o, "image_banners");
        cJSON_AddArrayToObject(o, "title_banners");
        cJSON_AddItemToArray(types, o);
        break;
    case 2: /* types come first (part 1), so each banner finds its type */
        if ((t = type_of(types, db_ll(rows, COL_E))) != NULL)
            cJSON_AddItemToArray(
                cJSON_GetObjectItem(t, db_ll(rows, COL_E + 1) == 1 ? "image_banners" : "title_banners"),
                sku_raw(rows, COL_SKU));
        break;
    case 3:
        o = cJSON_CreateObject();
        json_add_int(o, "id", db_ll(rows, COL_E));
        cJSON_AddStringToObject(o, "image", db_str(rows, COL_E + 1));
        json_add_int(o, "index", db_ll(rows, COL_E + 2));
        cJSON_AddItemToObject(o, "sku", sku_raw(rows, COL_SKU));
        cJSON_AddItemToArray(banners, o);
        break;
    case 4:
        o = cJSON_CreateObject();
        json_add_int(o, "id", db_ll(rows, COL_E));
        cJSON_AddStringToObject(o, "name", db_str(rows, COL_E + 1));
        cJSON_AddStringToObject(o, "url", db_str(rows, COL_E + 2));
        cJSON_AddStringToObject(o, "image", db_str(rows, COL_E + 3));
        json_add_int(o, "index", db_ll(rows, COL_E + 4));
        cJSON_AddItemToArray(promotions, o);
        break;
    }
}

void index_page(struct df_req *r) {
    struct db_rows rows;
    long long uid;
    redisReply *cart;
    int rc, ok = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON *types = cJSON_AddArrayToObject(o, "types"); /* borrowed: o owns them */
    cJSON *banners = cJSON_AddArrayToObject(o, "banners");
    cJSON *promotions = cJSON_AddArrayToObject(o, "promotions");
    struct rds_call call;
    /* the badge's session and cart in Redis while MariaDB reads the catalog */
    if (cart_session_start(r, &call, "HVALS", 0) < 0 || db_query(r, &rows, index_sql, "") < 0)
        goto out;
    while ((rc = db_next(&rows)) > 0)
        add_row(&rows, types, banners, promotions);
    if (rc < 0 || cart_session_finish(r, &call, &uid, &cart) < 0)
        goto out;
    json_add_int(o, "cart_count", cart_hvals_sum(cart));
    ok = 1;
out:
    resp_json_if(r, ok, o);
}
