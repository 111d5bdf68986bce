/* The catalog's lists. Only SKUs with status 1 are listed. Prices are the
 * stored DECIMAL text ("12.80"); images are relative paths served by nginx
 * under /static/. A SKU in a list:
 *   {"id","name","desc","price","unite","image","stock","sales"}
 *
 * GET /api/goods/types
 *   200 {"types":[{"id","name","logo","image"}]}
 * GET /api/list/<type_id>/<page>?sort=default|price|hot   ("sales" = "hot")
 *   200 {"type":{"id","name","logo","image"},"skus":[SKU...],"page":N,
 *        "num_pages":M,"pages":[up to 5 page numbers around N],
 *        "sort":"default"|"price"|"hot","new_skus":[the 2 newest SKUs]}
 *   default: newest (highest id) first; price: cheapest first; hot: best
 *   selling first. A page that is no number or out of range is page 1;
 *   an unknown sort is default. Unknown type: 404 {"error":"..."}.
 * GET /api/goods/<sku_id>   (catalog_detail.c) */
#include <string.h>

#include "catalog.h"
#include "handlers.h"

static const char types_sql[] = "SELECT id, name, logo, image FROM df_goods_type ORDER BY id";

/* The type with how many SKUs it lists, the page and the type's 2 newest
 * SKUs, in one statement (one round trip instead of three; MariaDB's query
 * cache answers it until a table changes). Each row says its part; seq keeps
 * each part's order. Columns: part, seq, the SKU as JSON (SKU_JSON, parts 2
 * and 3), then for part 1 the type's id, name, logo, image and count. One
 * text per order: statements are cached by their text.
 * Parameters: type, type, limit, offset, type. */
#define COL_SKU 2
#define COL_E (COL_SKU + 1)
#define LIST_SQL(order)                                                                                       \
    "SELECT * FROM ("                                                                                         \
    " SELECT 1 AS part, 0 AS seq, NULL AS sku, t.id AS e1, t.name AS e2,"                                    \
    "  t.logo AS e3, t.image AS e4,"                                                                          \
    "  (SELECT COUNT(*) FROM df_goods_sku c WHERE c.type_id = t.id AND c.status = 1) AS e5"                   \
    "  FROM df_goods_type t WHERE t.id = ?"                                                                   \
    " UNION ALL"                                                                                              \
    " (SELECT 2, ROW_NUMBER() OVER (ORDER BY " order "), " SKU_JSON ", NULL, NULL, NULL, NULL, NULL"          \
    "  FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1 ORDER BY " order " LIMIT ? OFFSET ?)"        \
    " UNION ALL"                                                                                              \
    " (SELECT 3, ROW_NUMBER() OVER (ORDER BY s.id DESC), " SKU_JSON ", NULL, NULL, NULL, NULL, NULL"          \
    "  FROM df_goods_sku s WHERE s.type_id = ? AND s.status = 1 ORDER BY s.id DESC LIMIT 2)"                 \
    ") u ORDER BY part, seq"
static const char page_by_id_sql[] = LIST_SQL("s.id DESC");
static const char page_by_price_sql[] = LIST_SQL("s.price, s.id DESC");
static const char page_by_sales_sql[] = LIST_SQL("s.sales DESC, s.id DESC");

void goods_types(struct df_req *r) {
    struct db_rows rows;
    int rc, ok = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON *types = cJSON_AddArrayToObject(o, "types"); /* borrowed: o owns it */
    if (db_query(r, &rows, types_sql, "") < 0)
        goto out;
    while ((rc = db_next(&rows)) > 0)
        cJSON_AddItemToArray(types, type_json(&rows, 0));
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

/* One page of the list into o; *nskus the type's count, -1 when the type
 * does not exist. 0, or -1 on failure (recorded). */
static int list_page(struct df_req *r, const char *sql, long long type_id, long long page, cJSON *o,
                     long long *nskus) {
    struct db_rows rows;
    int rc;
    long long size = r->app->cfg.page_size;
    cJSON *skus = cJSON_CreateArray(), *newest = cJSON_CreateArray();
    *nskus = -1;
    /* page is at most 2^53 (req_parse_id) and size at most 100: the offset fits */
    if (db_query(r, &rows, sql, "iiiii", type_id, type_id, size, (page - 1) * size, type_id) < 0) {
        rc = -1;
        goto out;
    }
    while ((rc = db_next(&rows)) > 0) {
        switch (db_ll(&rows, 0)) {
        case 1:
            cJSON_AddItemToObject(o, "type", type_json(&rows, COL_E));
            *nskus = db_ll(&rows, COL_E + 4);
            break;
        case 2:
            cJSON_AddItemToArray(skus, sku_raw(&rows, COL_SKU));
            break;
        case 3:
            cJSON_AddItemToArray(newest, sku_raw(&rows, COL_SKU));
            break;
        }
    }
    cJSON_AddItemToObject(o, "skus", skus);
    cJSON_AddItemToObject(o, "new_skus", newest);
    skus = newest = NULL;
out:
    cJSON_Delete(skus);
    cJSON_Delete(newest);
    return rc < 0 ? -1 : 0;
}

void goods_list(struct df_req *r) {
    int ok = 0;
    long long type_id = r->match.args[0].num, size = r->app->cfg.page_size, nskus;
    const char *sort;
    const char *sql = sort_sql(req_param(r, "sort"), &sort);
    long long page = req_parse_id(arena_strndup(&r->arena, r->match.args[1].str, r->match.args[1].len));
    cJSON *o = cJSON_CreateObject();
    if (page < 1)
        page = 1;
    if (list_page(r, sql, type_id, page, o, &nskus) < 0)
        goto out;
    long long num_pages = nskus > 0 ? (nskus + size - 1) / size : 1; /* an empty type still has page 1 */
    if (nskus >= 0 && page > num_pages) { /* past the end: page 1, the rare second statement */
        page = 1;
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        if (list_page(r, sql, type_id, page, o, &nskus) < 0)
            goto out;
    }
    if (nskus < 0) {
        resp_error(r, 404, "goods type not found");
        goto out;
    }
    json_add_int(o, "page", page);
    json_add_int(o, "num_pages", num_pages);
    add_page_links(o, page, num_pages);
    cJSON_AddStringToObject(o, "sort", sort);
    ok = 1;
out:
    resp_json_if(r, ok, o);
}
