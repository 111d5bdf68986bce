/* Expiry of flash orders and the automatic close (see flash_expire.h).
 *
 * Exactly once: everything that changes a sale's written, returned or
 * status (the consumer's batch, an expiry, a close) holds the sale's lock,
 * and every script that changes them checks the lock's token. An expiry
 * runs, under the lock: one transaction that locks the sale's row, reads
 * the hash's status, cancels the orders (WHERE order_status = 1) and marks
 * them released (WHERE released = 0), and for units going to the SKU adds
 * them to its stock and to the row's returned; COMMIT; then one script
 * that moves the units in the hash and lowers the buyers' counts. A row
 * lock ends at COMMIT and the script must come after it (before it, a
 * failed COMMIT would leave a live order whose unit is on sale again), so
 * only the sale's lock, which the close takes too, covers the script: no
 * close can drain the hash between an expiry's COMMIT and its script.
 *
 * A crash (or a lock lost to its TTL) between COMMIT and the script leaves
 * MariaDB right and the hash behind by exactly the released orders:
 * written counts them still, units_left (released 1) or returned
 * (released 2) lacks them, and their buyers' counts are one too high.
 * Reconciliation's equations (written = live rows, returned =
 * df_flash_sale.returned, units_left = allotted - XLEN - written -
 * returned) put the hash right. */
#include "flash_expire.h"

#include <string.h>
#include <time.h>

#include "db.h"
#include "flash_sale.h"
#include "log.h"
#include "order.h"
#include "order_expire.h"

/* Sales looked at per round, rounds per tick. */
#define FLASH_EXPIRE_SALES 20
#define FLASH_EXPIRE_ROUNDS 20
/* How long the mule waits for a sale's lock before leaving the sale to
 * its next tick, and a late payment before leaving the order to the sweep. */
#define FLASH_SWEEP_WAIT_MS 200L
#define FLASH_PAY_WAIT_MS 1000L

/* Lets the lock go; a failure is only logged (it frees itself after its
 * TTL), so that what the holder did still stands or is still answered. */
void flash_sale_unlock_quietly(struct df_req *r, long long id, const char *token) {
    int status = r->fail_status;
    const char *msg = r->fail_msg;
    if (!r->redis_broken && flash_sale_unlock(r, id, token) < 0)
        df_log("flash sale %lld: cannot free the lock; it frees itself in %ld ms", id, FLASH_END_LOCK_MS);
    r->fail_status = status;
    r->fail_msg = msg;
}

long long flash_order_sale(struct df_req *r, const char *order_id) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, "SELECT sale_id FROM df_flash_sale_order WHERE order_id = ? AND released = ?", "si",
                 order_id, (long long)FLASH_LIVE) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    return rc == 0 ? 0 : db_ll(&rows, 0);
}

/* KEYS: the lock, the sale's hash, its users hash. ARGV: the token, where
 * the units went (1 the sale, 2 the SKU), their number, then the buyer of
 * each. -1 the lock is not ours (nothing changed), -2 units for the sale
 * but the hash is closed (nothing changed: the sale's lock forbids it, so
 * it is left to reconciliation), 0 the hash is missing (the buyers' counts
 * lowered; a build from the rows counts the units), 1 done. */
static struct rds_script release_script = RDS_SCRIPT(
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
    "local exists = redis.call('EXISTS', KEYS[2]) == 1\n"
    "if exists and ARGV[2] == '1' and redis.call('HGET', KEYS[2], 'status') ~= 'on' then return -2 end\n"
    "for i = 4, #ARGV do\n"
    "  if tonumber(redis.call('HGET', KEYS[3], ARGV[i]) or '0') > 0 then\n"
    "    redis.call('HINCRBY', KEYS[3], ARGV[i], -1)\n"
    "  end\n"
    "end\n"
    "if not exists then return 0 end\n"
    "local n = tonumber(ARGV[3])\n"
    "redis.call('HINCRBY', KEYS[2], 'written', -n)\n"
    "redis.call('HINCRBY', KEYS[2], ARGV[2] == '1' and 'units_left' or 'returned', n)\n"
    "return 1\n");

struct released {
    enum flash_released to;
    size_t n;
    const char **uids; /* the buyer of each, as text */
};

/* The unpaid expired orders of the sale (only order_id when not NULL),
 * at most batch, locked (SKIP LOCKED: an order a payment holds is left),
 * cancelled and marked released rel->to; rel->n of them. -1 failed. */
static int release_rows(struct df_req *r, const struct flash_sale *s, const char *order_id, long batch,
                        struct released *rel) {
    const struct df_config *c = &r->app->cfg;
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT order_id, user_id FROM df_order_info WHERE order_status = ? AND " ORDER_EXPIRED_SQL
                 " AND order_id IN (SELECT order_id FROM df_flash_sale_order WHERE sale_id = ? AND released = ?)"
                 " AND (? = '' OR order_id = ?) ORDER BY create_time LIMIT ? FOR UPDATE SKIP LOCKED",
                 "iiiiiissi", (long long)ORDER_UNPAID, (long long)c->order_ttl, (long long)c->order_cod_ttl,
                 (long long)c->order_cod_ttl, s->id, (long long)FLASH_LIVE, order_id ? order_id : "",
                 order_id ? order_id : "", (long long)batch) < 0)
        return -1;
    const char **ids = arena_alloc(&r->arena, sizeof(*ids) * (size_t)batch);
    const char **uids = arena_alloc(&r->arena, sizeof(*uids) * (size_t)batch);
    size_t n = 0;
    while ((rc = db_next(&rows)) > 0 && n < (size_t)batch) {
        ids[n] = arena_strdup(&r->arena, db_str(&rows, 0));
        uids[n++] = arena_strdup(&r->arena, db_str(&rows, 1));
    }
    if (rc < 0)
        return -1;
    rel->n = 0;
    rel->uids = uids;
    for (size_t i = 0; i < n; i++) {
        long long marked = db_exec(r, "UPDATE df_flash_sale_order SET released = ? WHERE order_id = ? AND released = ?",
                                   "isi", (long long)rel->to, ids[i], (long long)FLASH_LIVE);
        if (marked < 0)
            return -1;
        if (marked == 0)
            continue;
        long long cancelled = db_exec(r,
                                      "UPDATE df_order_info SET order_status = ?, update_time = NOW(6)"
                                      " WHERE order_id = ? AND order_status = ?",
                                      "isi", (long long)ORDER_CANCELLED, ids[i], (long long)ORDER_UNPAID);
        if (cancelled < 0)
            return -1;
        if (cancelled != 1) {
            req_fail(r, 500, "flash expiry", "a locked unpaid order changed");
            return -1;
        }
        uids[rel->n++] = uids[i];
    }
    return 0;
}

/* The units' way back in MariaDB: sales lowered as the consumer raised
 * them; for the SKU, its stock and the row's returned raised too. */
static int release_units(struct df_req *r, const struct flash_sale *s, const struct released *rel) {
    long long n = (long long)rel->n;
    if (rel->to == FLASH_TO_SALE)
        return db_exec(r, "UPDATE df_goods_sku SET sales = sales - ?, update_time = NOW(6) WHERE id = ?", "ii", n,
                       s->sku_id) < 0
                   ? -1
                   : 0;
    if (db_exec(r, "UPDATE df_goods_sku SET stock = stock + ?, sales = sales - ?, update_time = NOW(6) WHERE id = ?",
                "iii", n, n, s->sku_id) < 0 ||
        db_exec(r, "UPDATE df_flash_sale SET returned = returned + ?, update_time = NOW(6) WHERE id = ?", "ii", n,
                s->id) < 0)
        return -1;
    return 0;
}

/* After COMMIT: the units moved in the hash. A refusal leaves the hash to
 * reconciliation, with a log line; MariaDB stands either way. */
static void release_redis(struct df_req *r, const struct flash_sale *s, const char *token,
                          const struct released *rel) {
    struct arena *a = &r->arena;
    const char **argv = arena_alloc(a, sizeof(*argv) * (6 + rel->n));
    argv[0] = arena_printf(a, FLASH_LOCK_KEY, s->id);
    argv[1] = arena_printf(a, FLASH_SALE_KEY, s->id);
    argv[2] = arena_printf(a, FLASH_USERS_KEY, s->id);
    argv[3] = token;
    argv[4] = rel->to == FLASH_TO_SALE ? "1" : "2";
    argv[5] = arena_printf(a, "%zu", rel->n);
    for (size_t i = 0; i < rel->n; i++)
        argv[6 + i] = rel->uids[i];
    redisReply *rep = rds_eval(r, &release_script, 3, (int)(3 + rel->n), argv);
    long long rc = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -3;
    if (rc < 0) {
        df_log("flash sale %lld: %zu expired order%s released in MariaDB, the hash left to reconciliation (%s)",
               s->id, rel->n, rel->n == 1 ? "" : "s",
               rc == -1 ? "lock lost" : rc == -2 ? "hash closed" : "script failed");
        req_fail_clear(r);
    }
}

/* One transaction for sale_id under its lock (token): up to batch of its
 * expired orders released, the hash after COMMIT. The number released, or
 * -1 failed (rolled back). */
static int release_locked(struct df_req *r, long long sale_id, const char *order_id, long batch,
                          const char *token) {
    struct flash_sale s;
    struct flash_state st;
    struct released rel = {0};
    int found;
    if (db_begin(r) < 0 || (found = flash_sale_row(r, sale_id, 1, &s)) < 0)
        goto fail;
    if (found == 0)
        return db_rollback(r) < 0 ? -1 : 0;
    /* after the row lock: a close that drained the hash and failed to
     * commit leaves the row on and the hash closed, and its units are out
     * of the sale */
    if (flash_sale_state(r, &s, &st) < 0)
        goto fail;
    int open = s.status == FLASH_ON && !st.closed && (long long)time(NULL) < s.ends_at;
    rel.to = open ? FLASH_TO_SALE : FLASH_TO_SKU;
    if (release_rows(r, &s, order_id, batch, &rel) < 0)
        goto fail;
    if (rel.n == 0)
        return db_rollback(r) < 0 ? -1 : 0;
    if (release_units(r, &s, &rel) < 0 || db_commit(r) < 0)
        goto fail;
    release_redis(r, &s, token, &rel);
    df_log("flash sale %lld: %zu expired unpaid order%s cancelled, unit%s back to the %s", s.id, rel.n,
           rel.n == 1 ? "" : "s", rel.n == 1 ? "" : "s", open ? "sale" : "SKU's stock");
    return (int)rel.n;
fail:
    if (!r->mysql_broken && r->mysql_slot)
        db_rollback(r);
    return -1;
}

/* The sale's lock around release_locked; 0 when the lock stayed busy. */
static int release_sale(struct df_req *r, long long sale_id, const char *order_id, long batch, long wait_ms) {
    char token[FLASH_TOKEN_LEN];
    int got = flash_sale_lock_wait(r, sale_id, FLASH_END_LOCK_MS, wait_ms, token);
    if (got <= 0)
        return got;
    int n = release_locked(r, sale_id, order_id, batch, token);
    flash_sale_unlock_quietly(r, sale_id, token);
    return n;
}

int flash_order_expire(struct df_req *r, long long sale_id, const char *order_id) {
    int n = release_sale(r, sale_id, order_id, 1, FLASH_PAY_WAIT_MS);
    return n < 0 ? -1 : n;
}

/* Sales with expired unpaid live orders, at most max; *n of them. */
static long long *sales_to_release(struct df_req *r, size_t max, size_t *n) {
    const struct df_config *c = &r->app->cfg;
    struct db_rows rows;
    int rc;
    *n = 0;
    if (db_query(r, &rows,
                 "SELECT DISTINCT f.sale_id FROM (SELECT order_id FROM df_order_info WHERE order_status = ? AND "
                 ORDER_EXPIRED_SQL ") o JOIN df_flash_sale_order f ON f.order_id = o.order_id AND f.released = ?"
                 " LIMIT ?",
                 "iiiiii", (long long)ORDER_UNPAID, (long long)c->order_ttl, (long long)c->order_cod_ttl,
                 (long long)c->order_cod_ttl, (long long)FLASH_LIVE, (long long)max) < 0)
        return NULL;
    long long *ids = arena_alloc(&r->arena, sizeof(*ids) * max);
    while ((rc = db_next(&rows)) > 0 && *n < max)
        ids[(*n)++] = db_ll(&rows, 0);
    return rc < 0 ? NULL : ids;
}

/* One round: each sale with expired orders, one batch of them. Returns
 * ORDER_EXPIRE_BATCH (another round) when a sale had a full batch, else
 * what it released; -1 when nothing could be looked at. */
static int expire_round(struct df_req *r, void *ctx) {
    int *total = ctx, full = 0;
    size_t n;
    long long *sales = sales_to_release(r, FLASH_EXPIRE_SALES, &n);
    if (!sales)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int got = release_sale(r, sales[i], NULL, ORDER_EXPIRE_BATCH, FLASH_SWEEP_WAIT_MS);
        if (got < 0) {
            req_fail_clear(r); /* logged; the next tick takes the sale again */
            if (r->mysql_broken || r->redis_broken)
                break;
            continue;
        }
        *total += got;
        full |= got == ORDER_EXPIRE_BATCH;
    }
    return full ? ORDER_EXPIRE_BATCH : 0;
}

/* The sales still on whose ends_at has passed, at most max. */
static long long *sales_ended(struct df_req *r, size_t max, size_t *n) {
    struct db_rows rows;
    int rc;
    *n = 0;
    if (db_query(r, &rows,
                 "SELECT id FROM df_flash_sale WHERE status = ? AND ends_at <= UNIX_TIMESTAMP() AND is_delete = 0"
                 " ORDER BY ends_at LIMIT ?",
                 "ii", (long long)FLASH_ON, (long long)max) < 0)
        return NULL;
    long long *ids = arena_alloc(&r->arena, sizeof(*ids) * max);
    while ((rc = db_next(&rows)) > 0 && *n < max)
        ids[(*n)++] = db_ll(&rows, 0);
    return rc < 0 ? NULL : ids;
}

static int close_round(struct df_req *r, void *ctx) {
    (void)ctx;
    size_t n;
    int closed = 0;
    long long *sales = sales_ended(r, FLASH_EXPIRE_SALES, &n);
    if (!sales)
        return -1;
    for (size_t i = 0; i < n; i++) {
        long long returned = 0;
        enum flash_end e = flash_sale_end(r, sales[i], FLASH_SWEEP_WAIT_MS, &returned);
        if (e == FLASH_END_FAILED) {
            req_fail_clear(r); /* logged; the next tick closes it */
            if (r->mysql_broken || r->redis_broken)
                break;
        } else if (e == FLASH_END_CLOSED) {
            df_log("flash sale %lld: ended, closed, %lld unsold unit%s back to the SKU's stock", sales[i], returned,
                   returned == 1 ? "" : "s");
            closed++;
        }
    }
    return closed;
}

void flash_expire_tick(struct df_req *r, struct df_app *app) {
    int released = 0;
    req_rounds(r, app, "flash-expiry", FLASH_EXPIRE_ROUNDS, ORDER_EXPIRE_BATCH, expire_round, &released);
    req_rounds(r, app, "flash-close", 1, FLASH_EXPIRE_SALES, close_round, NULL);
}
