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
#include "user_address.h"
#include "catalog.h"
#include "handlers.h"

#define HISTORY_MAX 5

/* The user's "user" object in *user; answered res 0 when the user is
 * gone (deleted while logged in). */
static enum step user_json(struct df_req *r, long long uid, cJSON **user) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, "SELECT id, username, email FROM df_user WHERE id = ? AND is_delete = 0", "i", uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0) {
        resp_res_err(r, 0, LOGIN_MSG);
        return STEP_ANSWERED;
    }
    cJSON *u = *user = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "id", (double)db_ll(&rows, 0));
    cJSON_AddStringToObject(u, "username", db_str(&rows, 1));
    cJSON_AddStringToObject(u, "email", db_str(&rows, 2));
    return STEP_OK;
}

/* The default address, JSON null when none; NULL on failure. */
static cJSON *default_address_json(struct df_req *r, long long uid) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT " ADDRESS_COLUMNS " FROM df_address WHERE user_id = ? AND is_delete = 0 AND is_default = 1 "
                 "ORDER BY id DESC LIMIT 1",
                 "i", uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return NULL;
    return rc > 0 ? address_json(&rows) : cJSON_CreateNull();
}

/* The SKUs of the history into list. 0, or -1 on failure. */
static int history_json(struct df_req *r, long long uid, cJSON *list) {
    long long ids[HISTORY_MAX];
    size_t n = 0;
    struct db_rows rows;
    redisReply *rep = rds_cmd(r, "LRANGE history_%lld 0 %d", uid, HISTORY_MAX - 1);
    if (!rep)
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < HISTORY_MAX; i++) {
        const redisReply *e = rep->element[i];
        long long id = e->type == REDIS_REPLY_STRING ? req_parse_id(e->str) : -1;
        if (id >= 0) /* else not an id: nothing to show for it */
            ids[n++] = id;
    }
    if (n == 0)
        return 0;
    if (db_query(r, &rows,
                 "SELECT " SKU_COLS " "
                 "FROM JSON_TABLE(?, '$[*]' COLUMNS (pos FOR ORDINALITY, id BIGINT PATH '$')) AS j "
                 "JOIN df_goods_sku AS s ON s.id = j.id WHERE s.is_delete = 0 ORDER BY j.pos",
                 "s", json_ids(&r->arena, ids, n)) < 0)
        return -1;
    return sku_rows_add(&rows, list);
}

void user_info(struct df_req *r) {
    long long uid;
    cJSON *user = NULL, *address = NULL, *history = cJSON_CreateArray();
    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK || user_json(r, uid, &user) != STEP_OK ||
        !(address = default_address_json(r, uid)) || history_json(r, uid, history) < 0)
        goto out;
    cJSON *o = resp_res(r, 1);
    cJSON_AddItemToObject(o, "user", user);
    cJSON_AddItemToObject(o, "address", address);
    cJSON_AddItemToObject(o, "history", history);
    user = address = history = NULL; /* o owns them */
out:
    cJSON_Delete(user);
    cJSON_Delete(address);
    cJSON_Delete(history);
}
