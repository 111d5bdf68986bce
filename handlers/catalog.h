/* What the catalog handlers (catalog_index.c, catalog_list.c,
 * catalog_detail.c) share. */
#ifndef DF_CATALOG_H
#define DF_CATALOG_H

#include <cjson/cJSON.h>

#include "db.h"
#include "json.h"

/* The SKU columns every list selects, in this order, starting at some
 * column: id, name, `desc`, price, unite, image, stock, sales. */
#define SKU_COLS "s.id, s.name, s.`desc`, s.price, s.unite, s.image, s.stock, s.sales"
#define SKU_NCOLS 8

/* The same SKU as one JSON object made by MariaDB, keys in sku_json's order:
 * the query cache then keeps it ready-made, and the answer takes it as it is
 * (sku_raw) instead of building and printing eight cJSON items per SKU. */
#define SKU_JSON                                                                                            \
    "JSON_OBJECT('id', s.id, 'name', s.name, 'desc', s.`desc`, 'price', CAST(s.price AS CHAR),"             \
    " 'unite', s.unite, 'image', s.image, 'stock', s.stock, 'sales', s.sales)"
cJSON *sku_raw(const struct db_rows *rows, unsigned col);

/* {"id","name","desc","price","unite","image","stock","sales"}; price as
 * stored ("12.80"), image the stored relative path. */
cJSON *sku_json(const struct db_rows *rows, unsigned first_col);
/* {"id","name","logo","image"} of a goods type whose columns (id, name,
 * logo, image) start at first_col. */
cJSON *type_json(const struct db_rows *rows, unsigned first_col);
/* Reads every row of a query whose columns are SKU_COLS into arr.
 * 0, or -1 on failure (recorded). */
int sku_rows_add(struct db_rows *rows, cJSON *arr);

#endif
