/* Cart lines claimed by an order being placed (see cart_claim.h). */
#include "cart_claim.h"

#include <stdio.h>
#include <string.h>

#include "cart.h"
#include "db.h"
#include "log.h"
#include "order.h"
#include "rds.h"

/* KEYS cart_<uid>, the claim, the index; ARGV uid, order id, sku ids.
 * Returns {0, count...} (the counts as the cart held them, in ARGV's order)
 * when every SKU held a count of 1..2147483647 (CART_COUNT_MAX), else
 * {i} for the first SKU that did not (1-based) and nothing changes; {-1}
 * when the claim exists already.
 * A script is not rolled back when a command in it fails, so the writes
 * go in the order whose every prefix is safe: the index entry (alone, the
 * sweep just removes it), the claim (with the index, the sweep settles it),
 * then the lines leave the cart; should that fail, the claim is undone. */
static struct rds_script take_script = RDS_SCRIPT(
    CART_LUA_COUNT
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {-1} end\n"
    "local skus = {}\n"
    "for i = 3, #ARGV do skus[#skus + 1] = ARGV[i] end\n"
    "local counts = redis.call('HMGET', KEYS[1], unpack(skus))\n"
    "for i = 1, #skus do\n"
    "  local n = count(counts[i])\n"
    "  if not n or n < 1 or n > 2147483647 then return {i} end\n"
    "end\n"
    "local rec = {'uid', ARGV[1]}\n"
    "for i = 1, #skus do rec[#rec + 1] = skus[i]; rec[#rec + 1] = counts[i] end\n"
    "redis.call('ZADD', KEYS[3], redis.call('TIME')[1], ARGV[2])\n"
    "redis.call('HSET', KEYS[2], unpack(rec))\n"
    "local taken = redis.pcall('HDEL', KEYS[1], unpack(skus))\n"
    "if type(taken) == 'table' and taken.err then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[2])\n"
    "  return taken\n"
    "end\n"
    "return {0, unpack(counts)}\n");

/* KEYS the claim, the index; ARGV order id, '1' to give the lines back
 * (each count added to the cart's, a value there that is no count
 * replaced) or '0' to drop them. Returns 0 when there was no claim, else
 * 1. The lines go back first, then the claim, then its index entry: a
 * failure part-way leaves what the sweep can still settle, never lines in
 * neither place. */
static struct rds_script release_script = RDS_SCRIPT(
    CART_LUA_COUNT
    "local rec = redis.call('HGETALL', KEYS[1])\n"
    "if #rec > 0 and ARGV[2] == '1' then\n"
    "  local uid\n"
    "  for i = 1, #rec, 2 do if rec[i] == 'uid' then uid = count(rec[i + 1]) end end\n"
    "  local cart = uid and 'cart_' .. string.format('%d', uid)\n"
    "  for i = 1, #rec, 2 do\n"
    "    local n = count(rec[i + 1])\n"
    "    if cart and rec[i] ~= 'uid' and n then\n"
    "      local have = count(redis.call('HGET', cart, rec[i])) or 0\n"
    "      redis.call('HSET', cart, rec[i], string.format('%d', have + n))\n"
    "    end\n"
    "  end\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return #rec > 0 and 1 or 0\n");

/* KEYS old claim, new claim, the index; ARGV old id, new id. */
static struct rds_script rename_script = RDS_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('RENAME', KEYS[1], KEYS[2])\n"
    "redis.call('ZADD', KEYS[3], redis.call('TIME')[1], ARGV[2])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "return 1\n");

/* KEYS the index; ARGV age in seconds, batch. The ids of the oldest claims
 * made at least age seconds ago by the Redis clock (the clock that stamped
 * them, whichever host the commit ran on). */
static struct rds_script old_script = RDS_SCRIPT(
    "local now = tonumber(redis.call('TIME')[1])\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))\n");

static const char *claim_key(struct df_req *r, const char *order_id) {
    return arena_printf(&r->arena, "cart_claim_%s", order_id);
}

int cart_claim_take(struct df_req *r, long long uid, const char *order_id, size_t n, const long long *skus,
                    long long *counts, size_t *missing) {
    const char **argv = arena_alloc(&r->arena, sizeof(char *) * (n + 5));
    argv[0] = arena_printf(&r->arena, "cart_%lld", uid);
    argv[1] = claim_key(r, order_id);
    argv[2] = CART_CLAIMS_KEY;
    argv[3] = arena_printf(&r->arena, "%lld", uid);
    argv[4] = order_id;
    for (size_t i = 0; i < n; i++)
        argv[5 + i] = arena_printf(&r->arena, "%lld", skus[i]);
    redisReply *rep = rds_eval(r, &take_script, 3, (int)n + 2, argv);
    long long head;
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || rds_reply_ll(rep->element[0], &head) < 0)
        goto unexpected;
    if (head == -1) {
        req_fail(r, 500, "order", "cart claim exists already");
        return -1;
    }
    if (head > 0) {
        if ((size_t)head > n)
            goto unexpected;
        *missing = (size_t)head - 1;
        return 1;
    }
    if (rep->elements != n + 1)
        goto unexpected;
    for (size_t i = 0; i < n; i++) {
        const redisReply *v = rep->element[i + 1];
        if (v->type != REDIS_REPLY_STRING || cart_value_parse(v->str, v->len, &counts[i]) < 0)
            goto unexpected;
    }
    return 0;
unexpected:
    req_fail(r, 500, "redis", "cart claim script: unexpected reply");
    return -1;
}

int cart_claim_release(struct df_req *r, const char *order_id, int give_back) {
    const char *argv[] = {claim_key(r, order_id), CART_CLAIMS_KEY, order_id, give_back ? "1" : "0"};
    redisReply *rep = rds_eval(r, &release_script, 2, 2, argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "redis", "cart claim release script: unexpected reply");
        return -1;
    }
    return rep->integer != 0;
}

int cart_claim_rename(struct df_req *r, const char *from, const char *to) {
    const char *argv[] = {claim_key(r, from), claim_key(r, to), CART_CLAIMS_KEY, from, to};
    redisReply *rep = rds_eval(r, &rename_script, 3, 2, argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "redis", "cart claim rename script: unexpected reply");
        return -1;
    }
    return rep->integer != 0;
}

/* The claimed order ids as a JSON array, for JSON_TABLE. */
static const char *ids_json(struct df_req *r, const redisReply *ids) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < ids->elements; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(ids->element[i]->str));
    return req_json_text(r, arr, "cart claims");
}

/* Marks in exists[] the ids whose order is in df_order_info, one
 * statement. Compared as bytes: exact, whatever the tables' collation. 0,
 * or -1 on failure. */
static int orders_exist(struct df_req *r, const redisReply *ids, int *exists) {
    struct db_rows rows;
    int rc;
    const char *json = ids_json(r, ids);
    if (!json || db_query(r, &rows,
                          "SELECT j.ord FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY,"
                          " oid VARBINARY(128) PATH '$')) AS j JOIN df_order_info o ON o.order_id = j.oid",
                          "s", json) < 0)
        return -1;
    while ((rc = db_next(&rows)) > 0) {
        long long ord = db_ll(&rows, 0);
        if (ord >= 1 && (size_t)ord <= ids->elements)
            exists[ord - 1] = 1;
    }
    return rc;
}

int cart_claim_sweep(struct df_req *r, long age_s, long batch, int *given_back) {
    char age[24], lim[24];
    snprintf(age, sizeof(age), "%ld", age_s);
    snprintf(lim, sizeof(lim), "%ld", batch);
    const char *argv[] = {CART_CLAIMS_KEY, age, lim};
    int settled = 0;
    *given_back = 0;
    redisReply *ids = rds_eval(r, &old_script, 1, 2, argv);
    if (!ids)
        return -1;
    if (ids->type != REDIS_REPLY_ARRAY) {
        req_fail(r, 500, "redis", "cart claims script: unexpected reply");
        return -1;
    }
    if (ids->elements == 0)
        return 0;
    for (size_t i = 0; i < ids->elements; i++)
        if (ids->element[i]->type != REDIS_REPLY_STRING) {
            req_fail(r, 500, "redis", "cart claims script: unexpected reply");
            return -1;
        }
    int *exists = arena_alloc(&r->arena, sizeof(int) * ids->elements);
    memset(exists, 0, sizeof(int) * ids->elements);
    if (orders_exist(r, ids, exists) < 0)
        return -1;
    for (size_t i = 0; i < ids->elements; i++) {
        const char *oid = ids->element[i]->str;
        int rc = cart_claim_release(r, oid, !exists[i]);
        if (rc < 0 && r->redis_broken)
            return -1;
        if (rc < 0) { /* an error reply (no hash at that key, say): logged, the others still settled */
            req_fail_clear(r);
            continue;
        }
        settled++;
        if (rc > 0 && !exists[i]) {
            (*given_back)++;
            df_log("cart claim of order %s settled: no such order, its lines went back to the cart", oid);
        }
    }
    return settled;
}

/* ctx: the count of claims given back, over the rounds that succeeded */
static int claim_round(struct df_req *r, void *ctx) {
    int b = 0;
    int n = cart_claim_sweep(r, r->app->cfg.order_claim_age, CART_CLAIM_SWEEP_BATCH, &b);
    if (n >= 0)
        *(int *)ctx += b;
    return n;
}

int cart_claim_tick(struct df_req *r, struct df_app *app) {
    int back = 0;
    int total =
        req_rounds(r, app, "cart-claims", CART_CLAIM_SWEEP_ROUNDS, CART_CLAIM_SWEEP_BATCH, claim_round, &back);
    if (total > 0)
        df_log("cart claims: settled %d left by unfinished commits (%d given back to their carts, %d dropped: "
               "their orders exist)",
               total, back, total - back);
    return total;
}
