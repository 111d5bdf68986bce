/* What the catalog handlers (goods.c, goods_detail.c, index.c) share. */
#ifndef DF_CATALOG_H
#define DF_CATALOG_H

#include <cjson/cJSON.h>

#include "db.h"
#include "json.h"

/* The SKU columns every list selects, in this order, starting at some
 * column: id, name, `desc`, price, unite, image, stock, sales. */
#define SKU_COLS "s.id, s.name, s.`desc`, s.price, s.unite, s.image, s.stock, s.sales"
#define SKU_NCOLS 8
/* As many named NULLs, for the rows of a UNION that are no SKU (a derived
 * table needs distinct column names). */
#define SKU_NULLS "NULL AS c1, NULL AS c2, NULL AS c3, NULL AS c4, NULL AS c5, NULL AS c6, NULL AS c7, NULL AS c8"

/* {"id","name","desc","price","unite","image","stock","sales"}; price as
 * stored ("12.80"), image the stored relative path. */
cJSON *sku_json(const struct db_rows *rows, unsigned first_col);
/* Reads every row of a query whose columns are SKU_COLS into arr.
 * 0, or -1 on failure (recorded). */
int sku_rows_add(struct db_rows *rows, cJSON *arr);

/* GET /goods/<sku_id> (goods_detail.c) */
void goods_detail(struct df_req *r);

#endif
