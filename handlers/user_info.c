/* The user centre's data.
 *
 * GET /api/user/info
 *   {"res": 0, "errmsg": "请先登录"}
 *   {"res": 1,
 *    "user": {"id": 12, "username": "alice", "email": "alice@example.com"},
 *    "address": <default address, see user_address.c> | null,
 *    "history": [<SKU as the catalog shows it: id, name, desc, price, unite,
 *                 image, stock, sales>, ...]}
 *
 * history is the Redis list history_<user_id> (newest first), at most 5,
 * skipping SKUs that no longer exist; prices are the exact stored decimals. */
#include <stdio.h>

#include "user_address.h"
#include "catalog.h"
#include "handlers.h"

#define HISTORY_MAX 5

/* Fills o with "user"; 0 when the user is gone (deleted while logged in). */
static int add_user(struct df_req *r, cJSON *o, long long uid) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT id, username, email FROM df_user WHERE id = ? AND is_delete = 0", "i", uid) < 0)
        return -1;
    int rc = db_next(&rows);
    if (rc <= 0)
        return rc;
    cJSON *u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddNumberToObject(u, "id", (double)db_ll(&rows, 0));
    cJSON_AddStringToObject(u, "username", db_str(&rows, 1));
    cJSON_AddStringToObject(u, "email", db_str(&rows, 2));
    return 1;
}

static int add_default_address(struct df_req *r, cJSON *o, long long uid) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT " ADDRESS_COLUMNS " FROM df_address WHERE user_id = ? AND is_delete = 0 AND is_default = 1 "
                 "ORDER BY id DESC LIMIT 1",
                 "i", uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    cJSON_AddItemToObject(o, "address", rc > 0 ? address_json(&rows) : cJSON_CreateNull());
    return 0;
}

static int add_history(struct df_req *r, cJSON *o, long long uid) {
    char ids[HISTORY_MAX * 24 + 4] = "[";
    size_t len = 1;
    int n = 0;
    struct db_rows rows;
    cJSON *list = cJSON_AddArrayToObject(o, "history");

    redisReply *rep = rds_cmd(r, "LRANGE history_%lld 0 %d", uid, HISTORY_MAX - 1);
    if (!rep)
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < HISTORY_MAX; i++) {
        const redisReply *e = rep->element[i];
        long long id = e->type == REDIS_REPLY_STRING ? parse_id(e->str) : -1;
        if (id < 0) /* not an id: nothing to show for it */
            continue;
        len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%lld", n ? "," : "", id);
        n++;
    }
    if (n == 0)
        return 0;
    snprintf(ids + len, sizeof(ids) - len, "]");
    if (db_query(r, &rows,
                 "SELECT " SKU_COLS " "
                 "FROM JSON_TABLE(?, '$[*]' COLUMNS (pos FOR ORDINALITY, id BIGINT PATH '$')) AS j "
                 "JOIN df_goods_sku AS s ON s.id = j.id WHERE s.is_delete = 0 ORDER BY j.pos",
                 "s", ids) < 0)
        return -1;
    return sku_rows_add(&rows, list);
}

void user_info(struct df_req *r) {
    long long uid;
    int rc;
    cJSON *o = NULL;
    if (session_require(r, &uid, LOGIN_MSG) <= 0)
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "res", 1);
    if ((rc = add_user(r, o, uid)) <= 0) {
        if (rc == 0)
            resp_res_err(r, 0, LOGIN_MSG);
        goto out;
    }
    if (add_default_address(r, o, uid) < 0 || add_history(r, o, uid) < 0)
        goto out;
    resp_json(r, 200, o);
    o = NULL;
out:
    cJSON_Delete(o);
}
