/* Helpers of the catalog handlers (declared in catalog.h). */
#include "catalog.h"

cJSON *sku_json(const struct db_rows *rows, unsigned c) {
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "id", db_ll(rows, c));
    cJSON_AddStringToObject(o, "name", db_str(rows, c + 1));
    cJSON_AddStringToObject(o, "desc", db_str(rows, c + 2));
    cJSON_AddStringToObject(o, "price", db_str(rows, c + 3));
    cJSON_AddStringToObject(o, "unite", db_str(rows, c + 4));
    cJSON_AddStringToObject(o, "image", db_str(rows, c + 5));
    json_add_int(o, "stock", db_ll(rows, c + 6));
    json_add_int(o, "sales", db_ll(rows, c + 7));
    return o;
}

cJSON *sku_raw(const struct db_rows *rows, unsigned c) {
    return cJSON_CreateRaw(db_str(rows, c));
}

int sku_rows_add(struct db_rows *rows, cJSON *arr) {
    int rc;
    while ((rc = db_next(rows)) > 0)
        cJSON_AddItemToArray(arr, sku_json(rows, 0));
    return rc < 0 ? -1 : 0;
}

cJSON *type_json(const struct db_rows *rows, unsigned c) {
    cJSON *o = cJSON_CreateObject();
    json_add_int(o, "id", db_ll(rows, c));
    cJSON_AddStringToObject(o, "name", db_str(rows, c + 1));
    cJSON_AddStringToObject(o, "logo", db_str(rows, c + 2));
    cJSON_AddStringToObject(o, "image", db_str(rows, c + 3));
    return o;
}
