/* GET /api/index — what the home page shows.
 *   200 {"types":[{"id","name","logo","image",
 *                  "image_banners":[SKU...],    df_index_type_goods display_type 1
 *                  "title_banners":[SKU...]}],  display_type 0
 *        "banners":[{"id","image","index","sku":SKU}],   df_index_banner (carousel)
 *        "promotions":[{"id","name","url","image","index"}],
 *        "cart_count":N}   sum of the cart's counts; 0 when not logged in
 * SKU: {"id","name","desc","price","unite","image","stock","sales"}.
 * Banners are ordered by their `index`; banners of offline SKUs are left
 * out. Four statements whatever the number of types and banners. */
#include "cart.h"
#include "catalog.h"
#include "handlers.h"

static const char types_sql[] = "SELECT id, name, logo, image FROM df_goods_type ORDER BY id";
static const char type_goods_sql[] = "SELECT " SKU_COLS ", b.type_id, b.display_type"
                                     " FROM df_index_type_goods b JOIN df_goods_sku s ON s.id = b.sku_id"
                                     " WHERE s.status = 1 ORDER BY b.type_id, b.`index`, b.id";
static const char banners_sql[] = "SELECT " SKU_COLS ", b.id, b.image, b.`index`"
                                  " FROM df_index_banner b JOIN df_goods_sku s ON s.id = b.sku_id"
                                  " WHERE s.status = 1 ORDER BY b.`index`, b.id";
static const char promotions_sql[] =
    "SELECT id, name, url, image, `index` FROM df_index_promotion ORDER BY `index`, id";

static int add_types(struct df_req *r, cJSON *o) {
    struct db_rows rows;
    int rc;
    cJSON *types = cJSON_AddArrayToObject(o, "types");
    if (db_query(r, &rows, types_sql, "") < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", (double)db_ll(&rows, 0));
        cJSON_AddStringToObject(t, "name", db_str(&rows, 1));
        cJSON_AddStringToObject(t, "logo", db_str(&rows, 2));
        cJSON_AddStringToObject(t, "image", db_str(&rows, 3));
        cJSON_AddArrayToObject(t, "image_banners");
        cJSON_AddArrayToObject(t, "title_banners");
        cJSON_AddItemToArray(types, t);
    }
    if (rc < 0)
        return -1;
    /* every type's banners in one statement, dealt out by type id */
    if (db_query(r, &rows, type_goods_sql, "") < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        long long type_id = db_ll(&rows, SKU_NCOLS);
        cJSON *t;
        cJSON_ArrayForEach(t, types) {
            if ((long long)cJSON_GetObjectItem(t, "id")->valuedouble == type_id)
                break;
        }
        if (!t)
            continue;
        const char *list = db_ll(&rows, SKU_NCOLS + 1) == 1 ? "image_banners" : "title_banners";
        cJSON_AddItemToArray(cJSON_GetObjectItem(t, list), sku_json(&rows, 0));
    }
    return rc < 0 ? -1 : 0;
}

static int add_banners(struct df_req *r, cJSON *o) {
    struct db_rows rows;
    int rc;
    cJSON *arr = cJSON_AddArrayToObject(o, "banners");
    if (db_query(r, &rows, banners_sql, "") < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "id", (double)db_ll(&rows, SKU_NCOLS));
        cJSON_AddStringToObject(b, "image", db_str(&rows, SKU_NCOLS + 1));
        cJSON_AddNumberToObject(b, "index", (double)db_ll(&rows, SKU_NCOLS + 2));
        cJSON_AddItemToObject(b, "sku", sku_json(&rows, 0));
        cJSON_AddItemToArray(arr, b);
    }
    return rc < 0 ? -1 : 0;
}

static int add_promotions(struct df_req *r, cJSON *o) {
    struct db_rows rows;
    int rc;
    cJSON *arr = cJSON_AddArrayToObject(o, "promotions");
    if (db_query(r, &rows, promotions_sql, "") < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "id", (double)db_ll(&rows, 0));
        cJSON_AddStringToObject(p, "name", db_str(&rows, 1));
        cJSON_AddStringToObject(p, "url", db_str(&rows, 2));
        cJSON_AddStringToObject(p, "image", db_str(&rows, 3));
        cJSON_AddNumberToObject(p, "index", (double)db_ll(&rows, 4));
        cJSON_AddItemToArray(arr, p);
    }
    return rc < 0 ? -1 : 0;
}

static void index_page(struct df_req *r) {
    long long uid, cart_count = 0;
    int ok = 0;
    cJSON *o = cJSON_CreateObject();
    if (add_types(r, o) < 0 || add_banners(r, o) < 0 || add_promotions(r, o) < 0)
        goto out;
    if (session_user(r, &uid) < 0)
        goto out;
    if (uid > 0 && cart_total(r, uid, &cart_count) < 0)
        goto out;
    cJSON_AddNumberToObject(o, "cart_count", (double)cart_count);
    ok = 1;
out:
    resp_json_if(r, ok, o);
}

const struct route index_routes[] = {
    {"GET", "/api/index", index_page, 0},
    {NULL, NULL, NULL, 0},
};
