/* Reconciliation of a flash sale's Redis numbers with MariaDB (the
 * equations in flash_sale.h). Under the sale's lock nothing that changes
 * written or returned runs (the consumer's ack, an expired order's unit),
 * so the read and the repair see the same counts; a purchase may still
 * take a unit in between, so units_left is computed again inside the
 * repair script from the XLEN it sees, in the same atomic step as a buy's
 * units_left-1 / XLEN+1. */
#include <string.h>
#include <time.h>

#include "db.h"
#include "flash_sale.h"
#include "log.h"

#define LOCK_TTL_MS 5000
#define LOCK_WAIT_MS 2000

/* KEYS: the hash, the stream. {exists, allotted, units_left, written,
 * returned, status, XLEN, the stream's order ids...}. */
static struct rds_script read_script = RDS_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end\n"
    "local h = redis.call('HMGET', KEYS[1], 'allotted', 'units_left', 'written', 'returned', 'status')\n"
    "local out = {1, h[1] or '0', h[2] or '0', h[3] or '0', h[4] or '0', h[5] or '', 0}\n"
    "if redis.call('TYPE', KEYS[2]).ok == 'stream' then\n"
    "  out[7] = redis.call('XLEN', KEYS[2])\n"
    "  for _, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do\n"
    "    local f = e[2]\n"
    "    for i = 1, #f, 2 do if f[i] == 'o' then out[#out + 1] = f[i + 1] end end\n"
    "  end\n"
    "end\n"
    "return out\n");

/* KEYS: the lock, the hash, the stream. ARGV: token, allotted, written,
 * returned, status, on (1: units_left from the equation; 0: set to
 * units_left ARGV[7], or left as it is when ARGV[7] is '-'). Returns
 * units_left after, or -1 when the lock was lost. */
static struct rds_script repair_script = RDS_SCRIPT(
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
    "local pending = 0\n"
    "if redis.call('TYPE', KEYS[3]).ok == 'stream' then pending = redis.call('XLEN', KEYS[3]) end\n"
    "local left = redis.call('HGET', KEYS[2], 'units_left')\n"
    "if ARGV[6] == '1' then\n"
    "  left = tonumber(ARGV[2]) - pending - tonumber(ARGV[3]) - tonumber(ARGV[4])\n"
    "  if left < 0 then left = 0 end\n"
    "elseif ARGV[7] ~= '-' then\n"
    "  left = ARGV[7]\n"
    "end\n"
    "redis.call('HSET', KEYS[2], 'allotted', ARGV[2], 'written', ARGV[3], 'returned', ARGV[4], 'status', ARGV[5],\n"
    "  'units_left', left)\n"
    "return tonumber(left)\n");

static int lock_wait(struct df_req *r, long long id, char token[FLASH_TOKEN_LEN]) {
    int rc = flash_sale_lock_wait(r, id, LOCK_TTL_MS, LOCK_WAIT_MS, token);
    if (rc == 0)
        req_fail(r, 503, "flash sale", "the sale's lock stayed taken");
    return rc;
}

/* The Redis numbers into rc and the stream's order ids as a JSON array;
 * 1 read, 0 no hash, -1 failed. */
static int redis_read(struct df_req *r, long long id, struct flash_recon *rc, const char **oids) {
    const char *argv[] = {arena_printf(&r->arena, FLASH_SALE_KEY, id), arena_printf(&r->arena, FLASH_ORDERS_KEY, id)};
    redisReply *rep = rds_eval(r, &read_script, 2, 0, argv);
    long long exists;
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || rds_reply_ll(rep->element[0], &exists) < 0 ||
        (exists == 1 && rep->elements < 7))
        goto bad;
    if (exists == 0)
        return 0;
    redisReply **e = rep->element;
    if (rds_reply_ll(e[1], &rc->allotted) < 0 || rds_reply_ll(e[2], &rc->units_left) < 0 ||
        rds_reply_ll(e[3], &rc->written) < 0 || rds_reply_ll(e[4], &rc->returned) < 0 ||
        e[5]->type != REDIS_REPLY_STRING || rds_reply_ll(e[6], &rc->pending) < 0)
        goto bad;
    rc->hash_closed = strcmp(e[5]->str, "closed") == 0;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 7; arr && i < rep->elements; i++)
        if (e[i]->type == REDIS_REPLY_STRING)
            cJSON_AddItemToArray(arr, cJSON_CreateString(e[i]->str));
    if (!arr) {
        req_fail(r, 500, "flash sale", "out of memory");
        return -1;
    }
    return (*oids = req_json_text(r, arr, "flash sale")) ? 1 : -1;
bad:
    req_fail(r, 500, "flash sale", "reconcile: unexpected reply");
    return -1;
}

/* Live rows of the sale whose orders are still in its stream. */
static long long live_pending(struct df_req *r, long long id, const char *oids) {
    struct db_rows rows;
    if (db_query(r, &rows,
                 "SELECT COUNT(*) FROM JSON_TABLE(?, '$[*]'"
                 " COLUMNS (o VARCHAR(128) CHARACTER SET utf8mb4 PATH '$')) AS j"
                 " JOIN df_flash_sale_order f ON f.order_id = j.o WHERE f.sale_id = ? AND f.released = ?",
                 "sii", oids, id, (long long)FLASH_LIVE) < 0 ||
        db_next(&rows) <= 0)
        return -1;
    return db_ll(&rows, 0);
}

/* Units of closed sale s unaccounted for, back to the SKU once: the row's
 * returned must still be what was read. The units given back (0 when
 * another repair came first), or -1. */
static long long give_back(struct df_req *r, const struct flash_sale *s, long long units) {
    long long n;
    if (db_begin(r) < 0 ||
        (n = db_exec(r,
                     "UPDATE df_flash_sale SET returned = returned + ?, update_time = NOW(6)"
                     " WHERE id = ? AND status = ? AND returned = ?",
                     "iiii", units, s->id, (long long)FLASH_CLOSED, s->returned)) < 0 ||
        (n == 1 && db_exec(r, "UPDATE df_goods_sku SET stock = stock + ?, update_time = NOW(6) WHERE id = ?", "ii",
                           units, s->sku_id) < 0) ||
        db_commit(r) < 0)
        return -1;
    return n == 1 ? units : 0;
}

static int repair(struct df_req *r, const struct flash_sale *s, const char *token, struct flash_recon *rc) {
    int on = !rc->closed && !rc->hash_closed;
    const char *left = "-";
    if (rc->closed) {
        long long unaccounted = rc->allotted - rc->pending - rc->written_after - rc->returned_after;
        if (unaccounted > 0) {
            long long back = give_back(r, s, unaccounted);
            if (back < 0)
                return -1;
            rc->to_sku = back;
            rc->returned_after += back;
        }
        left = "0";
    }
    const char *argv[] = {arena_printf(&r->arena, FLASH_LOCK_KEY, s->id),
                          arena_printf(&r->arena, FLASH_SALE_KEY, s->id),
                          arena_printf(&r->arena, FLASH_ORDERS_KEY, s->id),
                          token,
                          arena_printf(&r->arena, "%lld", s->stock),
                          arena_printf(&r->arena, "%lld", rc->written_after),
                          arena_printf(&r->arena, "%lld", rc->returned_after),
                          rc->closed || rc->hash_closed ? "closed" : "on",
                          on ? "1" : "0",
                          left};
    redisReply *rep = rds_eval(r, &repair_script, 3, 7, argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0) {
        req_fail(r, 500, "flash sale", "reconcile: the lock was lost before the repair");
        return -1;
    }
    rc->units_left_after = rep->integer;
    rc->repaired = 1;
    return 0;
}

static int reconcile_locked(struct df_req *r, const struct flash_sale *given, const char *token,
                            struct flash_recon *rc) {
    struct flash_sale s;
    const char *oids = NULL;
    int found = flash_sale_row(r, given->id, 0, &s), got;
    if (found <= 0) {
        if (found == 0)
            req_fail(r, 500, "flash sale", "reconcile: the sale's row is gone");
        return -1;
    }
    if ((got = redis_read(r, s.id, rc, &oids)) == 0) {
        if (flash_sale_state_build(r, &s) < 0)
            return -1;
        rc->rebuilt = 1;
        got = redis_read(r, s.id, rc, &oids);
        if (got == 0)
            req_fail(r, 500, "flash sale", "hash missing right after it was built");
    }
    if (got <= 0 || (rc->live = flash_sale_persisted(r, s.id)) < 0 ||
        (rc->live_pending = live_pending(r, s.id, oids)) < 0)
        return -1;
    rc->closed = s.status == FLASH_CLOSED;
    rc->row_returned = s.returned;
    rc->drift_units = rc->allotted - rc->units_left - rc->pending - rc->written - rc->returned;
    rc->drift_written = rc->written - (rc->live - rc->live_pending);
    rc->drift_returned = rc->returned - rc->row_returned;
    rc->units_left_after = rc->units_left;
    rc->written_after = rc->live - rc->live_pending;
    rc->returned_after = rc->row_returned;
    int closed_apart = rc->closed != rc->hash_closed;
    if (!rc->drift_units && !rc->drift_written && !rc->drift_returned && rc->allotted == s.stock && !closed_apart &&
        !(rc->closed && rc->units_left != 0))
        return 0;
    if (!rc->closed && rc->hash_closed) /* a close whose COMMIT failed: closing again gives the units back */
        rc->returned_after = rc->returned;
    if (repair(r, &s, token, rc) < 0)
        return -1;
    df_log("flash sale %lld reconciled: allotted %lld (row %lld), units_left %lld -> %lld, pending %lld, written "
           "%lld -> %lld (live rows %lld, %lld of them still in the stream), returned %lld -> %lld (row %lld), "
           "%lld back to the SKU%s",
           s.id, rc->allotted, s.stock, rc->units_left, rc->units_left_after, rc->pending, rc->written,
           rc->written_after, rc->live, rc->live_pending, rc->returned, rc->returned_after, rc->row_returned,
           rc->to_sku, rc->rebuilt ? "; the hash was rebuilt" : "");
    return 0;
}

int flash_sale_reconcile(struct df_req *r, const struct flash_sale *s, struct flash_recon *rc) {
    char token[FLASH_TOKEN_LEN];
    memset(rc, 0, sizeof(*rc));
    int locked = lock_wait(r, s->id, token);
    if (locked <= 0)
        return -1;
    int ok = reconcile_locked(r, s, token, rc);
    if (flash_sale_unlock(r, s->id, token) < 0)
        ok = -1;
    return ok;
}
