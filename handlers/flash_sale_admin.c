/* The staff endpoints of flash sales. Staff are df_user.is_staff = 1
 * (Django's own column), logged in as anyone is; a logged-in user who is
 * not staff gets 403 {"error": "staff only"}, no session res 0 用户未登录.
 *
 * POST /api/admin/flash-sales — sku_id, stock, starts_at, ends_at (Unix
 *   seconds or "YYYY-MM-DD HH:MM:SS" Beijing time), limit_per_user:
 *   res 1 参数不完整 {"field"} | 2 参数错误 {"field", "reason"} |
 *   4 商品不存在 {"sku_id", "reason": bad_id|unknown|offline} |
 *   6 商品库存不足 {"sku_id", "stock"} | 5 创建成功 {"sale_id"}
 * POST /api/admin/flash-sales/<sale_id>/close:
 *   res 2 秒杀活动不存在 | 5 已关闭 {"sale_id", "returned"[, "already_closed"]};
 *   503 {"error": "flash sale busy"} when the sale's lock stays held
 * GET /api/admin/flash-sales/<sale_id>: the row, the Redis state and the
 *   reconciliation of the two (docs/api-flash-sales.md);
 *   404 {"res": 2, "errmsg": "秒杀活动不存在"}. */
#include <limits.h>
#include <time.h>

#include "beijing_time.h"
#include "flash_expire.h"
#include "flash_sale.h"
#include "order.h"

#define FLASH_BAD_PARAM_MSG "参数错误"
#define FLASH_CREATED_MSG ORDER_CREATED_MSG
#define FLASH_CLOSED_MSG "已关闭"

/* STEP_OK when the request's user is logged in and staff. */
static enum step staff_require(struct df_req *r) {
    long long uid;
    struct db_rows rows;
    int rc;
    enum step s = session_require(r, &uid, ORDER_LOGIN_MSG);
    if (s != STEP_OK)
        return s;
    if (db_query(r, &rows, "SELECT is_staff FROM df_user WHERE id = ? AND is_active = 1 AND is_delete = 0", "i",
                 uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0 || db_ll(&rows, 0) != 1) {
        resp_error(r, 403, "staff only");
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

static void refuse_param(struct df_req *r, const char *field, const char *reason) {
    cJSON *o = resp_res_reason(r, 2, FLASH_BAD_PARAM_MSG, NULL);
    cJSON_AddStringToObject(o, "field", field);
    cJSON_AddStringToObject(o, "reason", reason);
}

/* A count of units: an optional '-' and digits. 0 (*v set), or the reason
 * it is refused. */
static const char *parse_units(const char *s, long long *v) {
    int neg = *s == '-';
    long long n = 0;
    int big = 0;
    const char *p = s + neg;
    if (!*p)
        return "bad_number";
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return "bad_number";
        if (!big && (n = n * 10 + (*p - '0')) > INT_MAX)
            big = 1;
    }
    if (big)
        return "out_of_range";
    *v = neg ? -n : n;
    return *v < 1 ? "not_positive" : NULL;
}

struct sale_form {
    long long sku_id, stock, starts_at, ends_at, limit_per_user;
};

static const char *const form_fields[] = {"sku_id", "stock", "starts_at", "ends_at", "limit_per_user"};

/* The form, checked in this order; answered at the first refusal. */
static enum step read_form(struct df_req *r, struct sale_form *f) {
    const char *v[5];
    const char *why;
    for (int i = 0; i < 5; i++)
        if (!(v[i] = req_param(r, form_fields[i])) || !*v[i]) {
            cJSON_AddStringToObject(resp_res_reason(r, 1, ORDER_PARAMS_MSG, NULL), "field", form_fields[i]);
            return STEP_ANSWERED;
        }
    if ((f->sku_id = req_parse_id(v[0])) < 0 || f->sku_id > INT_MAX) {
        cJSON_AddStringToObject(resp_res_reason(r, 4, NO_SKU_MSG, NULL), "sku_id", v[0]);
        cJSON_AddStringToObject(r->json, "reason", "bad_id");
        return STEP_ANSWERED;
    }
    if ((why = parse_units(v[1], &f->stock))) {
        refuse_param(r, "stock", why);
        return STEP_ANSWERED;
    }
    if ((why = parse_units(v[4], &f->limit_per_user))) {
        refuse_param(r, "limit_per_user", why);
        return STEP_ANSWERED;
    }
    if (bj_time_parse(v[2], &f->starts_at) < 0) {
        refuse_param(r, "starts_at", "bad_time");
        return STEP_ANSWERED;
    }
    if (bj_time_parse(v[3], &f->ends_at) < 0) {
        refuse_param(r, "ends_at", "bad_time");
        return STEP_ANSWERED;
    }
    if (f->ends_at <= f->starts_at) {
        refuse_param(r, "ends_at", "not_after_start");
        return STEP_ANSWERED;
    }
    if (f->ends_at <= (long long)time(NULL)) {
        refuse_param(r, "ends_at", "in_the_past");
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

/* Why the guarded UPDATE took nothing: the SKU's refusal, answered. */
static enum step refuse_sku(struct df_req *r, long long sku) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, "SELECT status, stock FROM df_goods_sku WHERE id = ?", "i", sku) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0 || db_ll(&rows, 0) != 1) {
        cJSON *o = resp_res_reason(r, 4, NO_SKU_MSG, NULL);
        json_add_int(o, "sku_id", sku);
        cJSON_AddStringToObject(o, "reason", rc == 0 ? "unknown" : "offline");
    } else {
        cJSON *o = resp_res_reason(r, 6, NO_STOCK_MSG, NULL);
        json_add_int(o, "sku_id", sku);
        json_add_int(o, "stock", db_ll(&rows, 1));
    }
    return STEP_ANSWERED;
}

/* One transaction: the units leave the SKU's stock in the statement that
 * checks there are enough (so no order can take them meanwhile), and the
 * sale's row is written with them. Its Redis hash is made after COMMIT;
 * when that fails the sale stands and the hash is built from the row by
 * the first read or the close (flash_sale_state). */
void flash_sale_create(struct df_req *r) {
    struct sale_form f;
    if (staff_require(r) != STEP_OK || read_form(r, &f) != STEP_OK || db_begin(r) < 0)
        return;
    long long taken = db_exec(r,
                              "UPDATE df_goods_sku SET stock = stock - ?, update_time = NOW(6)"
                              " WHERE id = ? AND stock >= ? AND status = 1",
                              "iii", f.stock, f.sku_id, f.stock);
    if (taken < 0)
        return;
    if (taken == 0) {
        refuse_sku(r, f.sku_id);
        return; /* the pool rolls the transaction back */
    }
    if (db_exec(r,
                "INSERT INTO df_flash_sale (create_time, update_time, is_delete, sku_id, stock, starts_at, ends_at,"
                " limit_per_user, status, returned) VALUES (NOW(6), NOW(6), 0, ?, ?, ?, ?, ?, ?, 0)",
                "iiiiii", f.sku_id, f.stock, f.starts_at, f.ends_at, f.limit_per_user, (long long)FLASH_ON) < 0)
        return;
    struct flash_sale s = {.id = (long long)db_last_insert_id(r),
                           .sku_id = f.sku_id,
                           .stock = f.stock,
                           .starts_at = f.starts_at,
                           .ends_at = f.ends_at,
                           .limit_per_user = f.limit_per_user,
                           .status = FLASH_ON};
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT price FROM df_goods_sku WHERE id = ?", "i", f.sku_id) < 0 || db_next(&rows) <= 0)
        return;
    snprintf(s.price, sizeof(s.price), "%s", db_str(&rows, 0));
    if (db_commit(r) < 0)
        return;
    if (flash_sale_state_build(r, &s) < 0)
        req_fail_clear(r); /* logged; the sale stands and its hash is built when next needed */
    json_add_int(resp_res_ok(r, 5, FLASH_CREATED_MSG), "sale_id", s.id);
}

/* KEYS: the sale's hash, its lock. ARGV: the close's token. The units
 * left become 0, are added to returned and answered, once: the hash
 * remembers them as drained, so a close whose COMMIT failed drains the
 * same number again and the row's status change, not this script, decides
 * that they go back to the SKU once. -1 when the hash is missing, -2 when
 * the lock is not the close's (nothing changed). */
static struct rds_script drain_script = RDS_SCRIPT(
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -2 end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if redis.call('HGET', KEYS[1], 'status') == 'closed' then\n"
    "  return tonumber(redis.call('HGET', KEYS[1], 'drained') or redis.call('HGET', KEYS[1], 'returned'))\n"
    "end\n"
    "local n = tonumber(redis.call('HGET', KEYS[1], 'units_left'))\n"
    "redis.call('HSET', KEYS[1], 'units_left', 0, 'status', 'closed', 'drained', n)\n"
    "redis.call('HINCRBY', KEYS[1], 'returned', n)\n"
    "return n\n");

/* The units left in s's hash, now 0 (built first when missing); -1 failed. */
static long long drain_units(struct df_req *r, const struct flash_sale *s, const char *token) {
    const char *argv[] = {arena_printf(&r->arena, FLASH_SALE_KEY, s->id),
                          arena_printf(&r->arena, FLASH_LOCK_KEY, s->id), token};
    for (int tries = 0; tries < 2; tries++) {
        redisReply *rep = rds_eval(r, &drain_script, 2, 1, argv);
        if (!rep)
            return -1;
        if (rep->type != REDIS_REPLY_INTEGER) {
            req_fail(r, 500, "flash sale", "drain: unexpected reply");
            return -1;
        }
        if (rep->integer == -2) {
            req_fail(r, 500, "flash sale", "close: the sale's lock was lost");
            return -1;
        }
        if (rep->integer >= 0)
            return rep->integer;
        if (flash_sale_state_build(r, s) < 0)
            return -1;
    }
    req_fail(r, 500, "flash sale", "hash missing right after it was built");
    return -1;
}

/* Under the sale's lock (so that no expiry is between its COMMIT and its
 * script) and the row's, in one transaction: status 1 -> 2, the units left
 * back to the SKU. A second close (or one waiting on the locks) finds the
 * sale closed and gives nothing. */
static enum flash_end end_locked(struct df_req *r, long long id, const char *token, long long *returned) {
    struct flash_sale s;
    long long n;
    int found;
    if (db_begin(r) < 0 || (found = flash_sale_row(r, id, 1, &s)) < 0)
        return FLASH_END_FAILED;
    if (found == 0 || s.status == FLASH_CLOSED) {
        if (db_rollback(r) < 0)
            return FLASH_END_FAILED;
        return found ? FLASH_END_ALREADY : FLASH_END_NONE;
    }
    if ((n = drain_units(r, &s, token)) < 0 ||
        (n > 0 && db_exec(r, "UPDATE df_goods_sku SET stock = stock + ?, update_time = NOW(6) WHERE id = ?", "ii", n,
                          s.sku_id) < 0) ||
        db_exec(r,
                "UPDATE df_flash_sale SET status = ?, returned = returned + ?, update_time = NOW(6)"
                " WHERE id = ? AND status = ?",
                "iiii", (long long)FLASH_CLOSED, n, s.id, (long long)FLASH_ON) < 0 ||
        db_commit(r) < 0)
        return FLASH_END_FAILED;
    *returned = n;
    return FLASH_END_CLOSED;
}

enum flash_end flash_sale_end(struct df_req *r, long long id, long wait_ms, long long *returned) {
    char token[FLASH_TOKEN_LEN];
    *returned = 0;
    int got = flash_sale_lock_wait(r, id, FLASH_END_LOCK_MS, wait_ms, token);
    if (got <= 0)
        return got < 0 ? FLASH_END_FAILED : FLASH_END_BUSY;
    enum flash_end e = end_locked(r, id, token, returned);
    if (e == FLASH_END_FAILED && !r->mysql_broken && r->mysql_slot)
        db_rollback(r);
    flash_sale_unlock_quietly(r, id, token);
    return e;
}

void flash_sale_close(struct df_req *r) {
    long long id = flash_sale_path_id(r), n = 0;
    if (staff_require(r) != STEP_OK)
        return;
    enum flash_end e = id > 0 ? flash_sale_end(r, id, FLASH_CLOSE_WAIT_MS, &n) : FLASH_END_NONE;
    if (e == FLASH_END_FAILED)
        return;
    if (e == FLASH_END_NONE) {
        flash_sale_not_found(r, 200);
        return;
    }
    if (e == FLASH_END_BUSY) {
        resp_error(r, 503, "flash sale busy");
        return;
    }
    cJSON *o = resp_res_ok(r, 5, FLASH_CLOSED_MSG);
    json_add_int(o, "sale_id", id);
    json_add_int(o, "returned", e == FLASH_END_CLOSED ? n : 0);
    if (e == FLASH_END_ALREADY)
        cJSON_AddTrueToObject(o, "already_closed");
}

/* The reconciliation as the answer's "reconciliation" member. */
static void add_reconciliation(cJSON *o, const struct flash_recon *rc) {
    cJSON *x = cJSON_AddObjectToObject(o, "reconciliation");
    if (!x)
        return;
    cJSON_AddBoolToObject(x, "rebuilt", rc->rebuilt);
    json_add_int(x, "allotted", rc->allotted);
    json_add_int(x, "units_left", rc->units_left);
    json_add_int(x, "pending", rc->pending);
    json_add_int(x, "written", rc->written);
    json_add_int(x, "returned", rc->returned);
    json_add_int(x, "live", rc->live);
    json_add_int(x, "live_pending", rc->live_pending);
    json_add_int(x, "row_returned", rc->row_returned);
    cJSON *d = cJSON_AddObjectToObject(x, "drift");
    if (d) {
        json_add_int(d, "units", rc->drift_units);
        json_add_int(d, "written", rc->drift_written);
        json_add_int(d, "returned", rc->drift_returned);
    }
    cJSON_AddBoolToObject(x, "repaired", rc->repaired);
    cJSON *a = cJSON_AddObjectToObject(x, "after");
    if (a) {
        json_add_int(a, "units_left", rc->units_left_after);
        json_add_int(a, "written", rc->written_after);
        json_add_int(a, "returned", rc->returned_after);
        json_add_int(a, "to_sku", rc->to_sku);
    }
}

/* The sale as found, reconciled (the numbers before the repair, and the
 * repair under "reconciliation"). allotted = units left + returned +
 * reserved; reserved = persisted + pending; drift is what the second
 * equation was off by (0: consistent). */
void flash_sale_show_staff(struct df_req *r) {
    struct flash_sale s;
    struct flash_recon rc;
    long long id = flash_sale_path_id(r);
    int found;
    if (staff_require(r) != STEP_OK || (found = id > 0 ? flash_sale_row(r, id, 0, &s) : 0) < 0)
        return;
    if (found == 0) {
        flash_sale_not_found(r, 404);
        return;
    }
    if (flash_sale_reconcile(r, &s, &rc) < 0)
        return;
    long long now = (long long)time(NULL), reserved = s.stock - rc.returned - rc.units_left;
    cJSON *o = resp_res(r, 5);
    json_add_int(o, "sale_id", s.id);
    json_add_int(o, "sku_id", s.sku_id);
    json_add_int(o, "stock", s.stock);
    json_add_int(o, "limit_per_user", s.limit_per_user);
    cJSON_AddStringToObject(o, "status", flash_sale_phase(s.status == FLASH_CLOSED, s.starts_at, s.ends_at, now));
    flash_add_time(o, "starts_at", s.starts_at);
    flash_add_time(o, "ends_at", s.ends_at);
    json_add_int(o, "returned", rc.row_returned);
    json_add_int(o, "units_left", rc.units_left);
    json_add_int(o, "reserved", reserved);
    json_add_int(o, "persisted", rc.live);
    json_add_int(o, "pending", rc.pending);
    json_add_int(o, "drift", reserved - rc.live - rc.pending);
    flash_add_time(o, "now", now);
    add_reconciliation(o, &rc);
}
