/* A user's delivery addresses. Every query is scoped to the session's
 * user: another user's address id is answered as if it did not exist.
 *
 * An address object:
 *   {"id": 3, "receiver": "张三", "addr": "北京市海淀区…", "zip_code": "100084" | null,
 *    "phone": "13812345678", "is_default": true}
 *
 * GET /api/user/address
 *   {"res": 0, "errmsg": "请先登录"}
 *   {"res": 1, "addresses": [<address>, ...]}   default first, then newest
 *
 * POST /user/address  receiver, addr, zip_code (optional), phone
 *   {"res": 0, "errmsg": "请先登录"}
 *   {"res": 1, "errmsg": "数据不完整"}          receiver, addr or phone missing
 *   {"res": 2, "errmsg": "手机格式不正确"}      not 11 digits starting with 1
 *   {"res": 3, "errmsg": "邮编格式不正确"}      given and not 6 digits
 *   {"res": 4, "errmsg": "收件人或地址过长"}    receiver > 20 or addr > 256 characters
 *   {"res": 5, "message": "添加成功", "address": <address>}
 *   A user's address becomes the default when they have no default yet.
 *
 * POST /user/address/default  addr_id
 *   {"res": 0, "errmsg": "请先登录"}
 *   {"res": 1, "errmsg": "无效的地址id"}        missing or not a positive integer
 *   {"res": 2, "errmsg": "地址不存在"}          no such address of this user
 *   {"res": 3, "message": "设置成功"}
 *
 * Both writes first lock the user's df_user row, so one user's address
 * changes run one after another and exactly one default remains. */
#include "user_address.h"

#include <string.h>

#include "handlers.h"
#include "log.h"
#include "validate.h"

#define RECEIVER_MAX 20
#define ADDR_MAX 256

cJSON *address_json(const struct db_rows *rows) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)db_ll(rows, 0));
    cJSON_AddStringToObject(o, "receiver", db_str(rows, 1));
    cJSON_AddStringToObject(o, "addr", db_str(rows, 2));
    if (db_isnull(rows, 3))
        cJSON_AddNullToObject(o, "zip_code");
    else
        cJSON_AddStringToObject(o, "zip_code", db_str(rows, 3));
    cJSON_AddStringToObject(o, "phone", db_str(rows, 4));
    cJSON_AddBoolToObject(o, "is_default", db_ll(rows, 5) != 0);
    return o;
}

/* KEYS: the set. ARGV: its TTL, then the ids. Replaced whole: an id gone
 * from MariaDB goes from the set. */
static struct rds_script fill_script = RDS_SCRIPT("redis.call('DEL', KEYS[1])\n"
                                                  "redis.call('SADD', KEYS[1], '0', unpack(ARGV, 2))\n"
                                                  "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
                                                  "return 1\n");

/* KEYS: the set. ARGV: the new id. A set that does not exist stays so:
 * filled from MariaDB, it will have the id. */
static struct rds_script add_script =
    RDS_SCRIPT("if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SADD', KEYS[1], ARGV[1]) end\n"
               "return 0\n");

int address_cache_fill(struct df_req *r, long long uid, long long addr_id, int *owned) {
    struct db_rows rows;
    size_t n = 0, cap = 8;
    int rc;
    const char **argv = arena_alloc(&r->arena, sizeof(char *) * (cap + 2));
    if (db_query(r, &rows, "SELECT id FROM df_address WHERE user_id = ? AND is_delete = 0", "i", uid) < 0)
        return -1;
    *owned = 0;
    while ((rc = db_next(&rows)) > 0) {
        if (n == cap) {
            const char **more = arena_alloc(&r->arena, sizeof(char *) * (2 * cap + 2));
            memcpy(more, argv, sizeof(char *) * (cap + 2));
            argv = more;
            cap *= 2;
        }
        long long id = db_ll(&rows, 0);
        *owned |= id == addr_id;
        argv[2 + n++] = arena_printf(&r->arena, "%lld", id);
    }
    if (rc < 0)
        return -1;
    argv[0] = arena_printf(&r->arena, ADDRESS_CACHE_KEY, uid);
    argv[1] = arena_printf(&r->arena, "%d", ADDRESS_CACHE_TTL);
    return rds_eval(r, &fill_script, 1, (int)n + 1, argv) ? 0 : -1;
}

/* After the address's COMMIT, which stands whatever Redis does: a failure
 * is logged, and the set (lacking only this id) expires with its TTL. */
static void address_cache_add(struct df_req *r, long long uid, long long id) {
    const char *argv[] = {arena_printf(&r->arena, ADDRESS_CACHE_KEY, uid), arena_printf(&r->arena, "%lld", id)};
    if (rds_eval(r, &add_script, 1, 1, argv))
        return;
    req_fail_clear(r);
    df_log("address %lld of user %lld: not added to " ADDRESS_CACHE_KEY " (Redis failed)", id, uid, uid);
}

void address_list(struct df_req *r) {
    long long uid;
    struct db_rows rows;
    int rc;
    cJSON *list = NULL;
    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK)
        return;
    if (db_query(r, &rows,
                 "SELECT " ADDRESS_COLUMNS " FROM df_address WHERE user_id = ? AND is_delete = 0 "
                 "ORDER BY is_default DESC, create_time DESC, id DESC",
                 "i", uid) < 0)
        goto out;
    list = cJSON_CreateArray();
    while ((rc = db_next(&rows)) > 0)
        cJSON_AddItemToArray(list, address_json(&rows));
    if (rc < 0)
        goto out;
    cJSON_AddItemToObject(resp_res(r, 1), "addresses", list);
    list = NULL;
out:
    cJSON_Delete(list);
}

/* Opens a transaction holding the user's row lock, which serialises one
 * user's address changes (exactly one default); answered res 0 when the
 * user is gone (deleted while logged in). The writes use the connection
 * for nothing else, so a refusal or a failure just returns: the pool rolls
 * the transaction back when the request gives the connection back
 * (lib/db.c). */
static enum step begin_as_user(struct df_req *r, long long uid) {
    struct db_rows rows;
    int rc;
    if (db_begin(r) < 0 ||
        db_query(r, &rows, "SELECT id FROM df_user WHERE id = ? AND is_delete = 0 FOR UPDATE", "i", uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0) {
        resp_res_err(r, 0, LOGIN_MSG);
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

void address_add(struct df_req *r) {
    const char *receiver = req_param(r, "receiver"), *addr = req_param(r, "addr");
    const char *zip = req_param(r, "zip_code"), *phone = req_param(r, "phone");
    long long uid;
    struct db_rows rows;

    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK)
        return;
    if (!receiver || !*receiver || !addr || !*addr || !phone || !*phone) {
        resp_res_err(r, 1, INCOMPLETE_MSG);
        return;
    }
    if (!valid_phone(phone)) {
        resp_res_err(r, 2, "手机格式不正确");
        return;
    }
    if (zip && !*zip)
        zip = NULL; /* an empty form field: no postal code */
    if (zip && !valid_zip(zip)) {
        resp_res_err(r, 3, "邮编格式不正确");
        return;
    }
    if (utf8_chars(receiver) > RECEIVER_MAX || utf8_chars(addr) > ADDR_MAX) {
        resp_res_err(r, 4, "收件人或地址过长");
        return;
    }

    if (begin_as_user(r, uid) != STEP_OK)
        return;
    if (db_query(r, &rows,
                 "SELECT COUNT(*) FROM df_address WHERE user_id = ? AND is_delete = 0 AND is_default = 1", "i",
                 uid) < 0 ||
        db_next(&rows) <= 0)
        return;
    long long is_default = db_ll(&rows, 0) == 0;
    if (db_exec(r,
                "INSERT INTO df_address (create_time, update_time, is_delete, receiver, addr, zip_code, phone, "
                "is_default, user_id) VALUES (NOW(6), NOW(6), 0, ?, ?, ?, ?, ?, ?)",
                "ssssii", receiver, addr, zip, phone, is_default, uid) < 0)
        return;
    long long id = (long long)db_last_insert_id(r);
    if (db_commit(r) < 0)
        return;
    address_cache_add(r, uid, id);

    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "id", (double)id);
    cJSON_AddStringToObject(a, "receiver", receiver);
    cJSON_AddStringToObject(a, "addr", addr);
    if (zip)
        cJSON_AddStringToObject(a, "zip_code", zip);
    else
        cJSON_AddNullToObject(a, "zip_code");
    cJSON_AddStringToObject(a, "phone", phone);
    cJSON_AddBoolToObject(a, "is_default", is_default != 0);
    cJSON_AddItemToObject(resp_res_ok(r, 5, ADDED_MSG), "address", a);
}

void address_set_default(struct df_req *r) {
    long long uid, addr_id = req_parse_id(req_param(r, "addr_id"));

    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK)
        return;
    if (addr_id < 0) {
        resp_res_err(r, 1, "无效的地址id");
        return;
    }
    if (begin_as_user(r, uid) != STEP_OK)
        return;
    if (db_exec(r, "UPDATE df_address SET is_default = 0, update_time = NOW(6) WHERE user_id = ? AND is_default = 1",
                "i", uid) < 0)
        return;
    long long n = db_exec(r,
                          "UPDATE df_address SET is_default = 1, update_time = NOW(6) "
                          "WHERE id = ? AND user_id = ? AND is_delete = 0",
                          "ii", addr_id, uid);
    if (n < 0)
        return;
    if (n != 1) { /* not this user's: the roll-back keeps their old default */
        resp_res_err(r, 2, "地址不存在");
        return;
    }
    if (db_commit(r) < 0)
        return;
    resp_res_ok(r, 3, "设置成功");
}
