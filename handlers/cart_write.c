/* The cart: a Redis hash per user, cart_<user_id>, field = SKU id, value =
 * count, both decimal strings (the Django site reads and writes the same
 * hash). Every answer is HTTP 200 with a res code (503 when Redis or
 * MariaDB is down); total_count is always the sum of all counts.
 *
 * POST /cart/add      sku_id, count    adds count to the SKU's count
 *   res 0 请先登录 | 1 数据不完整 | 2 商品数目出错 | 3 商品不存在 |
 *   4 商品库存不足 (nothing changed) | 5 {"message":"添加成功","total_count":N}
 * POST /cart/update   sku_id, count    sets the SKU's count
 *   res 0..4 as add | 5 {"message":"更新成功","total_count":N}
 * POST /cart/delete   sku_id           removes the SKU (offline SKUs too)
 *   res 0 请先登录 | 1 无效的商品id | 2 商品不存在 |
 *   3 {"message":"删除成功","total_count":N}
 * GET  /api/cart          (cart_read.c)
 *   res 0 请先登录 | 1 {"items":[{"id","name","price","unite","image",
 *   "stock","status","count","amount"}],"total_count":N,"total_price":"0.00"}
 * GET  /api/cart/count    (cart_read.c)
 *   res 0 请先登录 | 1 {"total_count":N}
 *
 * count: decimal digits, 1..2147483647. sku_id: a positive integer naming
 * a SKU with status 1 (add, update) or any SKU row (delete). */
#include "cart.h"
#include "handlers.h"

/* Atomic add: the session lookup, the read, the stock check and the write
 * happen in one script — one round trip for the shop's hottest request,
 * and concurrent adds neither lose updates nor pass the stock.
 * KEYS[1] the session key (its value is the user id, see lib/session.h);
 * ARGV sku id, count to add, stock. The cart key cart_<uid> is derived
 * here, as the Django site names it.
 * Returns the new sum of all counts, -1 when stock is short, -2 when the
 * session does not exist (expired or logged out). */
static struct rds_script add_script = RDS_SCRIPT(
    CART_LUA_COUNT
    "local uid = count(redis.call('GET', KEYS[1]))\n"
    "if not uid or uid <= 0 then return -2 end\n"
    "local cart = 'cart_' .. string.format('%d', uid)\n"
    "local n = (count(redis.call('HGET', cart, ARGV[1])) or 0) + tonumber(ARGV[2])\n"
    "if n > tonumber(ARGV[3]) then return -1 end\n"
    "redis.call('HSET', cart, ARGV[1], string.format('%d', n))\n"
    "local sum = 0\n"
    "for _, v in ipairs(redis.call('HVALS', cart)) do sum = sum + (count(v) or 0) end\n"
    "return sum\n");

/* The texts of res 1..4, shared by add and update. */
static const char *const CHECK_MSG[] = {NULL, INCOMPLETE_MSG, "商品数目出错", NO_SKU_MSG, NO_STOCK_MSG};

/* sku_id and count as add and update read them: 0 valid, else the res
 * code they earn (1 missing, 2 bad count, 3 bad sku id). */
static int check_sku_count(struct df_req *r, long long *sku_id, long long *count) {
    const char *sku = req_param(r, "sku_id");
    const char *cnt = req_param(r, "count");
    if (!sku || !*sku || !cnt || !*cnt)
        return 1;
    if (cart_count_parse(cnt, count) < 0)
        return 2;
    if ((*sku_id = req_parse_id(sku)) < 0)
        return 3;
    return 0;
}

/* 1 sellable (its stock in *stock), 0 not, -1 failure (recorded). */
static int sellable_stock(struct df_req *r, long long sku_id, long long *stock) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, "SELECT stock, status FROM df_goods_sku WHERE id = ?", "i", sku_id) < 0)
        return -1;
    if ((rc = db_next(&rows)) <= 0)
        return rc;
    *stock = db_ll(&rows, 0);
    return db_ll(&rows, 1) == 1;
}

/* The res code (0 when none) the parameters, the SKU and its stock earn;
 * -1 on a backend failure. */
static int check_add_or_update(struct df_req *r, long long *sku_id, long long *count, long long *stock) {
    int res = check_sku_count(r, sku_id, count);
    if (res)
        return res;
    int rc = sellable_stock(r, *sku_id, stock);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 3;
    return *count > *stock ? 4 : 0;
}

/* Reads the replies of a pipelined write + HVALS: 0 with the sum, -1
 * failure (recorded). Both replies are read whatever the first one was,
 * so the connection goes back to the pool clean. */
static int write_then_sum(struct df_req *r, long long *total) {
    redisReply *w = rds_reply(r);
    redisReply *vals = rds_reply(r);
    if (!w || !vals)
        return -1;
    if (w->type == REDIS_REPLY_ERROR || vals->type == REDIS_REPLY_ERROR) {
        rds_reply_failed(r, w->type == REDIS_REPLY_ERROR ? w : vals);
        return -1;
    }
    *total = cart_hvals_sum(vals);
    return 0;
}

/* Answers the first failed check in the original's order: login (0),
 * data (1, 2), SKU (3), stock (4). The session is resolved inside the
 * add script on the success path; only an answer that depends on the
 * login's place in that order pays a separate lookup. */
void cart_add(struct df_req *r) {
    long long uid, sku_id, count, stock, total;
    char sku_s[24], count_s[24], stock_s[24];
    const char *skey = session_key(r);
    if (!skey) {
        resp_res_err(r, 0, LOGIN_MSG);
        return;
    }
    int res = check_add_or_update(r, &sku_id, &count, &stock);
    if (res < 0)
        return;
    if (res > 0) {
        if (session_require(r, &uid, LOGIN_MSG) == STEP_OK)
            resp_res_err(r, res, CHECK_MSG[res]);
        return;
    }
    snprintf(sku_s, sizeof(sku_s), "%lld", sku_id);
    snprintf(count_s, sizeof(count_s), "%lld", count);
    snprintf(stock_s, sizeof(stock_s), "%lld", stock);
    const char *argv[] = {skey, sku_s, count_s, stock_s};
    redisReply *rep = rds_eval(r, &add_script, 1, 3, argv);
    if (!rep)
        return;
    if (rep->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "redis", "cart add script: unexpected reply");
        return;
    }
    total = rep->integer;
    if (total == -2)
        resp_res_err(r, 0, LOGIN_MSG);
    else if (total < 0)
        resp_res_err(r, 4, CHECK_MSG[4]);
    else
        cJSON_AddNumberToObject(resp_res_ok(r, 5, ADDED_MSG), "total_count", (double)total);
}

void cart_update(struct df_req *r) {
    long long uid, sku_id, count, stock, total;
    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK)
        return;
    int res = check_add_or_update(r, &sku_id, &count, &stock);
    if (res < 0)
        return;
    if (res > 0) {
        resp_res_err(r, res, CHECK_MSG[res]);
        return;
    }
    if (rds_append(r, "HSET cart_%lld %lld %lld", uid, sku_id, count) < 0 ||
        rds_append(r, "HVALS cart_%lld", uid) < 0 || write_then_sum(r, &total) < 0)
        return;
    cJSON_AddNumberToObject(resp_res_ok(r, 5, "更新成功"), "total_count", (double)total);
}

void cart_delete(struct df_req *r) {
    long long uid, sku_id, total;
    struct db_rows rows;
    int rc;
    if (session_require(r, &uid, LOGIN_MSG) != STEP_OK)
        return;
    if ((sku_id = req_parse_id(req_param(r, "sku_id"))) < 0) {
        resp_res_err(r, 1, "无效的商品id");
        return;
    }
    /* any row will do: an offline SKU can still be taken out of a cart */
    if (db_query(r, &rows, "SELECT id FROM df_goods_sku WHERE id = ?", "i", sku_id) < 0)
        return;
    if ((rc = db_next(&rows)) < 0)
        return;
    if (rc == 0) {
        resp_res_err(r, 2, NO_SKU_MSG);
        return;
    }
    if (rds_append(r, "HDEL cart_%lld %lld", uid, sku_id) < 0 || rds_append(r, "HVALS cart_%lld", uid) < 0 ||
        write_then_sum(r, &total) < 0)
        return;
    cJSON_AddNumberToObject(resp_res_ok(r, 3, "删除成功"), "total_count", (double)total);
}
