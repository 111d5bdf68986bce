/* The flash sale's row and its Redis hash. The row is the truth for what
 * was allotted and whether the sale is closed; the hash holds the units
 * left, the one number a buyer changes, and everything a server-side script
 * needs to decide a purchase alone (times, limit, status). */
#include "flash_sale.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "beijing_time.h"

int flash_sale_row(struct df_req *r, long long id, int lock, struct flash_sale *s) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 /* the price through a scalar subquery, which locks no SKU row */
                 lock ? "SELECT id, sku_id, stock, starts_at, ends_at, limit_per_user, status, returned,"
                        " (SELECT price FROM df_goods_sku WHERE id = f.sku_id)"
                        " FROM df_flash_sale f WHERE id = ? AND is_delete = 0 FOR UPDATE"
                      : "SELECT id, sku_id, stock, starts_at, ends_at, limit_per_user, status, returned,"
                        " (SELECT price FROM df_goods_sku WHERE id = f.sku_id)"
                        " FROM df_flash_sale f WHERE id = ? AND is_delete = 0",
                 "i", id) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (rc == 0)
        return 0;
    *s = (struct flash_sale){.id = db_ll(&rows, 0),
                             .sku_id = db_ll(&rows, 1),
                             .stock = db_ll(&rows, 2),
                             .starts_at = db_ll(&rows, 3),
                             .ends_at = db_ll(&rows, 4),
                             .limit_per_user = db_ll(&rows, 5),
                             .status = (int)db_ll(&rows, 6),
                             .returned = db_ll(&rows, 7)};
    snprintf(s->price, sizeof(s->price), "%s", db_str(&rows, 8));
    return 1;
}

const char *flash_sale_phase(int closed, long long starts_at, long long ends_at, long long now) {
    /* the mule closes a sale at its end: a buyer still sees it ended */
    if (now >= ends_at)
        return "ended";
    if (closed)
        return "closed";
    return now < starts_at ? "scheduled" : "open";
}

long long flash_sale_persisted(struct df_req *r, long long id) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT COUNT(*) FROM df_flash_sale_order WHERE sale_id = ? AND released = ?", "ii", id,
                 (long long)FLASH_LIVE) < 0 ||
        db_next(&rows) <= 0)
        return -1;
    return db_ll(&rows, 0);
}

/* KEYS: the sale's hash, its order stream, flash_sales. ARGV: sku_id,
 * allotted, starts_at, ends_at, limit, closed (0/1), live orders written,
 * returned, price, sale id, what the close drained (closed only). EXISTS
 * and HSET in one script: of two builders at once one writes. */
static struct rds_script build_script = RDS_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "local left = 0\n"
    "if ARGV[6] == '0' then\n"
    "  left = tonumber(ARGV[2]) - tonumber(ARGV[7]) - tonumber(ARGV[8]) - redis.call('XLEN', KEYS[2])\n"
    "  if left < 0 then left = 0 end\n"
    "end\n"
    "pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], 'persist', '0', 'MKSTREAM')\n"
    "redis.call('HSET', KEYS[1], 'sku_id', ARGV[1], 'price', ARGV[9], 'allotted', ARGV[2], 'units_left', left,\n"
    "  'starts_at', ARGV[3], 'ends_at', ARGV[4], 'limit', ARGV[5],\n"
    "  'status', ARGV[6] == '0' and 'on' or 'closed', 'written', ARGV[7], 'returned', ARGV[8])\n"
    "if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'drained', ARGV[11]) end\n"
    "redis.call('SADD', KEYS[3], ARGV[10])\n"
    "return 1\n");

int flash_sale_state_build(struct df_req *r, const struct flash_sale *s) {
    long long persisted = flash_sale_persisted(r, s->id), drained = 0;
    if (persisted < 0)
        return -1;
    if (s->status == FLASH_CLOSED) {
        /* the row's returned is the close's drain and the units of orders
         * that expired after it, one each */
        struct db_rows rows;
        if (db_query(r, &rows, "SELECT COUNT(*) FROM df_flash_sale_order WHERE sale_id = ? AND released = ?", "ii",
                     s->id, (long long)FLASH_TO_SKU) < 0 ||
            db_next(&rows) <= 0)
            return -1;
        drained = s->returned - db_ll(&rows, 0);
    }
    struct arena *a = &r->arena;
    const char *argv[] = {
        arena_printf(a, FLASH_SALE_KEY, s->id),
        arena_printf(a, FLASH_ORDERS_KEY, s->id),
        FLASH_SALES_SET,
        arena_printf(a, "%lld", s->sku_id),
        arena_printf(a, "%lld", s->stock),
        arena_printf(a, "%lld", s->starts_at),
        arena_printf(a, "%lld", s->ends_at),
        arena_printf(a, "%lld", s->limit_per_user),
        s->status == FLASH_CLOSED ? "1" : "0",
        arena_printf(a, "%lld", persisted),
        arena_printf(a, "%lld", s->returned),
        s->price,
        arena_printf(a, "%lld", s->id),
        arena_printf(a, "%lld", drained),
    };
    return rds_eval(r, &build_script, 3, 11, argv) ? 0 : -1;
}

int flash_sale_lock(struct df_req *r, long long id, long ttl_ms, char token[FLASH_TOKEN_LEN]) {
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        req_fail(r, 500, "flash sale", "RAND_bytes failed");
        return -1;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(token + 2 * i, 3, "%02x", rnd[i]);
    redisReply *rep = rds_cmd(r, "SET " FLASH_LOCK_KEY " %s NX PX %ld", id, token, ttl_ms);
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_NIL)
        return 0;
    if (rep->type != REDIS_REPLY_STATUS) {
        req_fail(r, 500, "flash sale", "lock: unexpected reply");
        return -1;
    }
    return 1;
}

int flash_sale_lock_wait(struct df_req *r, long long id, long ttl_ms, long wait_ms, char token[FLASH_TOKEN_LEN]) {
    const struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int rc = flash_sale_lock(r, id, ttl_ms, token);
        if (rc != 0)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= wait_ms)
            return 0;
        nanosleep(&pause, NULL);
    }
}

/* KEYS: the lock. ARGV: the token. Deleted only by its holder. */
static struct rds_script unlock_script =
    RDS_SCRIPT("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
               "return 0\n");

int flash_sale_unlock(struct df_req *r, long long id, const char *token) {
    const char *argv[] = {arena_printf(&r->arena, FLASH_LOCK_KEY, id), token};
    redisReply *rep = rds_eval(r, &unlock_script, 1, 1, argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "flash sale", "unlock: unexpected reply");
        return -1;
    }
    return rep->integer == 1;
}

/* The hash's units_left, returned, status; 1 read, 0 missing, -1 failed. */
static int state_read(struct df_req *r, long long id, struct flash_state *st) {
    redisReply *rep = rds_cmd(r, "HMGET " FLASH_SALE_KEY " units_left returned status", id);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        req_fail(r, 500, "flash sale", "HMGET: unexpected reply");
        return -1;
    }
    redisReply **e = rep->element;
    if (e[2]->type != REDIS_REPLY_STRING)
        return 0;
    if (rds_reply_ll(e[0], &st->units_left) < 0 || rds_reply_ll(e[1], &st->returned) < 0) {
        req_fail(r, 500, "flash sale", "hash fields are not numbers");
        return -1;
    }
    st->closed = strcmp(e[2]->str, "closed") == 0;
    return 1;
}

int flash_sale_state(struct df_req *r, const struct flash_sale *s, struct flash_state *st) {
    int rc = state_read(r, s->id, st);
    if (rc == 0 && flash_sale_state_build(r, s) == 0)
        rc = state_read(r, s->id, st);
    if (rc == 0)
        req_fail(r, 500, "flash sale", "hash missing right after it was built");
    return rc > 0 ? 0 : -1;
}

void flash_add_time(cJSON *o, const char *key, long long t) {
    char text[BJ_TIME_TEXT_LEN], name[64];
    json_add_int(o, key, t);
    bj_time_format(t, text);
    snprintf(name, sizeof(name), "%s_text", key);
    cJSON_AddStringToObject(o, name, text);
}

long long flash_sale_path_id(const struct df_req *r) {
    long long id = r->match.args[0].num;
    return id <= INT_MAX ? id : -1;
}

void flash_sale_not_found(struct df_req *r, int status) {
    resp_res_err(r, 2, FLASH_NOT_FOUND_MSG);
    r->status = status;
}
