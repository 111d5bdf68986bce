/* The catalog's lists. Only SKUs with status 1 are listed. Prices are the
 * stored DECIMAL text ("12.80"); images are relative paths served by nginx
 * under /static/. A SKU in a list:
 *   {"id","name","desc","price","unite","image","stock","sales"}
 *
 * GET /api/goods/types
 *   200 {"types":[{"id","name","logo","image"}]}
 * GET /list/<type_id>/<page>?sort=default|price|hot   ("sales" = "hot")
 *   200 {"type":{"id","name","logo","image"},"skus":[SKU...],"page":N,
 *        "num_pages":M,"pages":[up to 5 page numbers around N],
 *        "sort":"default"|"price"|"hot","new_skus":[the 2 newest SKUs]}
 *   default: newest (highest id) first; price: cheapest first; hot: best
 *   selling first. A page that is no number or out of range is page 1;
 *   an unknown sort is default. Unknown type: 404 {"error":"..."}.
 * GET /goods/<sku_id>   (goods_detail.c) */
#include <string.h>

#include "catalog.h"
#include "handlers.h"

static const char types_sql[] = "SELECT id, name, logo, image FROM df_goods_type ORDER BY id";

/* The type and how many SKUs it lists, in one statement. */
static const char type_sql[] =
    "SELECT t.id, t.name, t.logo, t.image,"
    " (SELECT COUNT(*) FROM df_goods_sku s WHERE s.type_id = t.id AND s.status = 1)"
    " FROM df_goods_type t WHERE t.id = ?";

/* One text per order: statements are cached by their text. */
static const char page_by_id_sql[] = "SELECT " SKU_COLS " FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1"
                                     " ORDER BY s.id DESC LIMIT ? OFFSET ?";
static const char page_by_price_sql[] = "SELECT " SKU_COLS
                                        " FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1"
                                        " ORDER BY s.price, s.id DESC LIMIT ? OFFSET ?";
static const char page_by_sales_sql[] = "SELECT " SKU_COLS
                                        " FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1"
                                        " ORDER BY s.sales DESC, s.id DESC LIMIT ? OFFSET ?";
static const char newest_sql[] = "SELECT " SKU_COLS " FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1"
                                 " ORDER BY s.id DESC LIMIT 2";

static cJSON *type_json(const struct db_rows *rows) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)db_ll(rows, 0));
    cJSON_AddStringToObject(o, "name", db_str(rows, 1));
    cJSON_AddStringToObject(o, "logo", db_str(rows, 2));
    cJSON_AddStringToObject(o, "image", db_str(rows, 3));
    return o;
}

static void goods_types(struct df_req *r) {
    struct db_rows rows;
    int rc, ok = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON *types = cJSON_AddArrayToObject(o, "types"); /* borrowed: o owns it */
    if (db_query(r, &rows, types_sql, "") < 0)
        goto out;
    while ((rc = db_next(&rows)) > 0)
        cJSON_AddItemToArray(types, type_json(&rows));
    ok = rc == 0;
out:
    resp_json_if(r, ok, o);
}

/* The original's page links: all pages when fewer than 5, else 5 around
 * the current one, shifted to stay within 1..num_pages. */
static void add_page_links(cJSON *o, long long page, long long num_pages) {
    long long first;
    if (num_pages < 5)
        first = 1;
    else if (page <= 3)
        first = 1;
    else if (num_pages - page <= 2)
        first = num_pages - 4;
    else
        first = page - 2;
    cJSON *pages = cJSON_AddArrayToObject(o, "pages");
    for (long long p = first; p <= num_pages && p < first + 5; p++)
        cJSON_AddItemToArray(pages, cJSON_CreateNumber((double)p));
}

static const char *sort_sql(const char *sort, const char **name) {
    if (sort && strcmp(sort, "price") == 0) {
        *name = "price";
        return page_by_price_sql;
    }
    if (sort && (strcmp(sort, "hot") == 0 || strcmp(sort, "sales") == 0)) {
        *name = "hot";
        return page_by_sales_sql;
    }
    *name = "default";
    return page_by_id_sql;
}

static void goods_list(struct df_req *r) {
    struct db_rows rows;
    int rc, ok = 0;
    long long type_id = r->match.args[0].num, size = r->app->cfg.page_size, nskus = 0;
    const char *sort;
    const char *sql = sort_sql(req_param(r, "sort"), &sort);
    long long page = parse_id(arena_strndup(&r->arena, r->match.args[1].str, r->match.args[1].len));
    cJSON *o = cJSON_CreateObject();
    if (db_query(r, &rows, type_sql, "i", type_id) < 0)
        goto out;
    if ((rc = db_next(&rows)) < 0)
        goto out;
    if (rc == 0) {
        resp_error(r, 404, "goods type not found");
        goto out;
    }
    cJSON_AddItemToObject(o, "type", type_json(&rows));
    nskus = db_ll(&rows, 4);
    if (db_next(&rows) < 0)
        goto out;
    long long num_pages = nskus > 0 ? (nskus + size - 1) / size : 1; /* an empty type still has page 1 */
    if (page < 1 || page > num_pages)
        page = 1;
    if (db_query(r, &rows, sql, "iii", type_id, size, (page - 1) * size) < 0 ||
        sku_rows_add(&rows, cJSON_AddArrayToObject(o, "skus")) < 0)
        goto out;
    cJSON_AddNumberToObject(o, "page", (double)page);
    cJSON_AddNumberToObject(o, "num_pages", (double)num_pages);
    add_page_links(o, page, num_pages);
    cJSON_AddStringToObject(o, "sort", sort);
    if (db_query(r, &rows, newest_sql, "i", type_id) < 0 ||
        sku_rows_add(&rows, cJSON_AddArrayToObject(o, "new_skus")) < 0)
        goto out;
    ok = 1;
out:
    resp_json_if(r, ok, o);
}

const struct route goods_routes[] = {
    {"GET", "/api/goods/types", goods_types, 0},
    {"GET", "/api/goods/<int>", goods_detail, 0},
    {"GET", "/api/list/<int>/<str>", goods_list, 0},
    {NULL, NULL, NULL, 0},
};
