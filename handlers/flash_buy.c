/* POST /order/flash   sale_id, addr_id, pay_method [, idempotency_key]
 *
 *   res 0 用户未登录 | 1 参数不完整 (a field missing; "reason":
 *   "idempotency_key" when the key is malformed) | 2 非法的支付方式 |
 *   2 秒杀活动不存在 (sale_id not an id, or no such sale) | 3 地址非法 |
 *   7 下单失败 {"reason": not_started (+ "starts_at") | ended (+ "ends_at") |
 *     closed | too_many_requests (+ "retry_after") | limit_reached (+ "limit")} |
 *   6 商品库存不足 {"sku_id"} |
 *   5 {"message":"创建成功","order_id":"..."} (+ "replayed": true)
 *   503 {"error":"order not replicated","order_id":"..."} when
 *     dailyfresh-flash-wait-replicas did not all acknowledge it in time
 *
 * The hot path is one round trip to Redis and none to MariaDB: the form is
 * checked here, then one script (buy_script) resolves the session and
 * decides and takes the unit alone. The order is written to MariaDB later
 * by the sale's consumer, from the stream entry (flash_sale.h names the
 * keys). Only two misses cost more, each once: the sale's hash missing (built
 * from the row, flash_sale_state_build) and the user's address set missing
 * (filled from df_address, address_cache_fill); the script then runs again.
 * With dailyfresh-flash-wait-replicas the WAIT goes out in the same write
 * as the script (rds_eval_wait). docs/orders.md#flash-sales. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_sale.h"
#include "handlers.h"
#include "log.h"
#include "order.h"
#include "user_address.h"

/* An order's Redis hash and its idempotency key live this long. */
#define FLASH_ORDER_TTL 86400
/* buy_script's runs: the first, after a build of the hash, after a fill of
 * the address set. */
#define BUY_RUNS 3
#define FLASH_SALE_ID_MAX 2147483647LL /* df_flash_sale.id is an int */

/* KEYS: session_<id>, flash_sale_<id>, flash_sale_users_<id>,
 * flash_sale_orders_<id>. ARGV: 1 sale id, 2 addr id, 3 pay_method, 4 the
 * order id's stamp, 5 its random hex, 6 the idempotency key ("" none), 7
 * requests an account may make a window (0 no limit), 8 the window in s,
 * 9 FLASH_ORDER_TTL, 10 "1" when this request was counted already (a run
 * again after a fill). The user's keys (flash_idem_<uid>_<key>,
 * flash_rate_<uid>, user_addrs_<uid>, flash_order_<oid>) are named here
 * from the session's uid, as the cart's script names cart_<uid>.
 * Answers {what, uid, detail}: login, replay (order id), missing, closed,
 * not_started (starts_at), ended (ends_at), rate (seconds left), addr_miss,
 * bad_addr, limit (the limit), sold_out (sku_id), ok (order id). The checks
 * come in this order; nothing is written before "ok" but the rate counter. */
static struct rds_script buy_script = RDS_SCRIPT(
    "local uid = redis.call('GET', KEYS[1])\n"
    "if not uid or not string.match(uid, '^[1-9]%d*$') then return {'login'} end\n"
    "local idem\n"
    "if ARGV[6] ~= '' then\n"
    "  idem = 'flash_idem_' .. uid .. '_' .. ARGV[6]\n"
    "  local o = redis.call('GET', idem)\n"
    "  if o then return {'replay', uid, o} end\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing', uid} end\n"
    "local h = redis.call('HMGET', KEYS[2], 'status', 'starts_at', 'ends_at', 'limit', 'units_left', 'price',"
    " 'sku_id')\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1])\n"
    "if h[1] ~= 'on' then return {'closed', uid} end\n"
    "if now < tonumber(h[2]) then return {'not_started', uid, h[2]} end\n"
    "if now >= tonumber(h[3]) then return {'ended', uid, h[3]} end\n"
    "if tonumber(ARGV[7]) > 0 and ARGV[10] ~= '1' then\n"
    "  local rk = 'flash_rate_' .. uid\n"
    "  local n = redis.call('INCR', rk)\n"
    "  if n == 1 then redis.call('EXPIRE', rk, ARGV[8]) end\n"
    "  if n > tonumber(ARGV[7]) then return {'rate', uid, tostring(redis.call('TTL', rk))} end\n"
    "end\n"
    "local ak = 'user_addrs_' .. uid\n"
    "if redis.call('SISMEMBER', ak, ARGV[2]) == 0 then\n"
    "  if redis.call('EXISTS', ak) == 0 then return {'addr_miss', uid} end\n"
    "  return {'bad_addr', uid}\n"
    "end\n"
    "if tonumber(redis.call('HGET', KEYS[3], uid) or '0') >= tonumber(h[4]) then return {'limit', uid, h[4]} end\n"
    "if tonumber(h[5]) <= 0 then return {'sold_out', uid, h[7]} end\n"
    "redis.call('HINCRBY', KEYS[2], 'units_left', -1)\n"
    "redis.call('HINCRBY', KEYS[3], uid, 1)\n"
    "local oid = ARGV[4] .. '_' .. uid .. '_' .. ARGV[5]\n"
    "local ms = string.format('%d', now * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
    "redis.call('XADD', KEYS[4], '*', 'o', oid, 'u', uid, 'a', ARGV[2], 'p', ARGV[3], 'pr', h[6], 't', ms)\n"
    "local ok = 'flash_order_' .. oid\n"
    "redis.call('HSET', ok, 'o', oid, 'u', uid, 'a', ARGV[2], 'p', ARGV[3], 'pr', h[6], 't', ms, 'sale', ARGV[1])\n"
    "redis.call('EXPIRE', ok, ARGV[9])\n"
    "if idem then redis.call('SET', idem, oid, 'EX', ARGV[9]) end\n"
    "return {'ok', uid, oid}\n");

struct buy {
    long long sale_id, addr_id, pay_method, uid;
    const char *skey;     /* session_<id> */
    const char *idem_key; /* NULL: none given */
    char stamp[ORDER_STAMP_LEN], rnd[ORDER_RND_LEN];
    int counted; /* the rate counter has this request: not again on a rerun */
};

/* The script's answer: what, and its detail ("" when none). */
struct verdict {
    const char *what, *detail;
};

/* What is wrong with the form, in the commit's order. */
enum form_fault { FORM_OK, FORM_MISSING, FORM_IDEM_KEY, FORM_PAY_METHOD, FORM_ADDRESS, FORM_SALE };

/* The form: fields present, the key, pay_method, addr_id, then the sale
 * id. Answered by answer_form once the login is known, as the commit
 * answers a logged-out user first. */
static enum form_fault form_fault(struct df_req *r, struct buy *b) {
    const char *sale = req_param(r, "sale_id"), *addr = req_param(r, "addr_id"), *pm = req_param(r, "pay_method");
    const char *idem_header = req_header(r, "Idempotency-Key");
    b->idem_key = idem_header ? idem_header : req_param(r, "idempotency_key");
    if (!sale || !*sale || !addr || !*addr || !pm || !*pm)
        return FORM_MISSING;
    if (b->idem_key && !order_idem_key_valid(b->idem_key))
        return FORM_IDEM_KEY;
    if (pm[0] < '1' || pm[0] > '4' || pm[1])
        return FORM_PAY_METHOD;
    b->pay_method = pm[0] - '0';
    b->addr_id = req_parse_id(addr);
    if (b->addr_id < 0 || b->addr_id > ADDRESS_ID_MAX)
        return FORM_ADDRESS;
    b->sale_id = req_parse_id(sale);
    if (b->sale_id < 0 || b->sale_id > FLASH_SALE_ID_MAX)
        return FORM_SALE;
    return FORM_OK;
}

static void answer_form(struct df_req *r, enum form_fault f) {
    switch (f) {
    case FORM_MISSING:
        resp_res_err(r, 1, ORDER_PARAMS_MSG);
        break;
    case FORM_IDEM_KEY:
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "idempotency_key");
        break;
    case FORM_PAY_METHOD:
        resp_res_err(r, 2, "非法的支付方式");
        break;
    case FORM_ADDRESS:
        resp_res_err(r, 3, ORDER_BAD_ADDRESS_MSG);
        break;
    case FORM_SALE:
    case FORM_OK:
        resp_res_err(r, 2, FLASH_NOT_FOUND_MSG);
        break;
    }
}

static const char *reply_str(const redisReply *rep, size_t i) {
    if (rep->elements <= i || rep->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    return rep->element[i]->str;
}

/* One run of the script (and the WAIT with it when configured). 0 with
 * *v, or -1 failed (recorded). *acked: replicas that acknowledged, or -1
 * when no WAIT was sent. */
static int run(struct df_req *r, struct buy *b, struct verdict *v, long long *acked) {
    struct arena *a = &r->arena;
    const struct df_config *cfg = &r->app->cfg;
    const char *argv[] = {
        b->skey,
        arena_printf(a, FLASH_SALE_KEY, b->sale_id),
        arena_printf(a, FLASH_USERS_KEY, b->sale_id),
        arena_printf(a, FLASH_ORDERS_KEY, b->sale_id),
        arena_printf(a, "%lld", b->sale_id),
        arena_printf(a, "%lld", b->addr_id),
        arena_printf(a, "%lld", b->pay_method),
        b->stamp,
        b->rnd,
        b->idem_key ? b->idem_key : "",
        arena_printf(a, "%ld", cfg->flash_buy_rate),
        arena_printf(a, "%ld", cfg->flash_buy_window),
        arena_printf(a, "%d", FLASH_ORDER_TTL),
        b->counted ? "1" : "0",
    };
    redisReply *rep;
    *acked = -1;
    if (cfg->flash_wait_replicas > 0)
        rep = rds_eval_wait(r, &buy_script, 4, 10, argv, cfg->flash_wait_replicas, cfg->flash_wait_timeout_ms,
                            acked);
    else
        rep = rds_eval(r, &buy_script, 4, 10, argv);
    if (!rep)
        return -1;
    const char *what = rep->type == REDIS_REPLY_ARRAY ? reply_str(rep, 0) : NULL;
    if (!what) {
        req_fail(r, 500, "flash buy", "script: unexpected reply");
        return -1;
    }
    const char *uid = reply_str(rep, 1), *detail = reply_str(rep, 2);
    v->what = what;
    v->detail = detail ? detail : "";
    if (uid) {
        b->uid = strtoll(uid, NULL, 10);
        session_set_user(r, b->uid);
    }
    /* the one verdict past the rate's step that runs the script again */
    b->counted = strcmp(what, "addr_miss") == 0;
    return 0;
}

/* The sale's hash built from its row: 1 built, 0 no such sale, -1 failed. */
static int build_sale(struct df_req *r, const struct buy *b) {
    struct flash_sale s;
    int rc = flash_sale_row(r, b->sale_id, 0, &s);
    if (rc <= 0)
        return rc;
    return flash_sale_state_build(r, &s) < 0 ? -1 : 1;
}

static void answer_order(struct df_req *r, const char *order_id, int replayed) {
    cJSON *ok = resp_res_ok(r, 5, ORDER_CREATED_MSG);
    cJSON_AddStringToObject(ok, "order_id", order_id);
    if (replayed)
        cJSON_AddBoolToObject(ok, "replayed", 1);
}

/* The order stands on the master, but fewer replicas than configured have
 * it: a failover now could lose it. A retry with the same key answers it
 * (replayed) once it is replicated. */
static void answer_unreplicated(struct df_req *r, const char *order_id, long long acked) {
    df_log("flash order %s: %lld of %ld replicas acknowledged it", order_id, acked, r->app->cfg.flash_wait_replicas);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", "order not replicated");
    cJSON_AddStringToObject(e, "order_id", order_id);
    resp_json(r, 503, e);
}

static void refuse(struct df_req *r, const char *reason, const char *field, const char *value) {
    cJSON *o = resp_res_reason(r, 7, ORDER_FAILED_MSG, reason);
    if (field)
        cJSON_AddNumberToObject(o, field, (double)strtoll(value, NULL, 10));
}

/* Answers a final verdict; 0, or -1 when it is not one. */
static int answer(struct df_req *r, const struct verdict *v, long long acked) {
    const char *w = v->what;
    if (strcmp(w, "ok") == 0 || strcmp(w, "replay") == 0) {
        if (acked >= 0 && acked < r->app->cfg.flash_wait_replicas)
            answer_unreplicated(r, v->detail, acked);
        else
            answer_order(r, v->detail, w[0] == 'r');
    } else if (strcmp(w, "login") == 0) {
        resp_res_err(r, 0, ORDER_LOGIN_MSG);
    } else if (strcmp(w, "closed") == 0) {
        refuse(r, "closed", NULL, NULL);
    } else if (strcmp(w, "not_started") == 0) {
        refuse(r, "not_started", "starts_at", v->detail);
    } else if (strcmp(w, "ended") == 0) {
        refuse(r, "ended", "ends_at", v->detail);
    } else if (strcmp(w, "rate") == 0) {
        refuse(r, "too_many_requests", "retry_after", v->detail);
    } else if (strcmp(w, "limit") == 0) {
        refuse(r, "limit_reached", "limit", v->detail);
    } else if (strcmp(w, "bad_addr") == 0) {
        resp_res_err(r, 3, ORDER_BAD_ADDRESS_MSG);
    } else if (strcmp(w, "sold_out") == 0) {
        cJSON_AddNumberToObject(resp_res_reason(r, 6, NO_STOCK_MSG, NULL), "sku_id",
                                (double)strtoll(v->detail, NULL, 10));
    } else {
        return -1;
    }
    return 0;
}

void order_flash(struct df_req *r) {
    struct buy b = {0};
    struct verdict v;
    long long acked;
    int built = 0, filled = 0;
    if (!(b.skey = session_key(r))) {
        resp_res_err(r, 0, ORDER_LOGIN_MSG);
        return;
    }
    enum form_fault f = form_fault(r, &b);
    if (f != FORM_OK) {
        if (session_require(r, &b.uid, ORDER_LOGIN_MSG) == STEP_OK)
            answer_form(r, f);
        return;
    }
    if (order_id_parts(r, b.stamp, b.rnd) < 0)
        return;
    for (int i = 0; i < BUY_RUNS; i++) {
        if (run(r, &b, &v, &acked) < 0)
            return;
        if (strcmp(v.what, "missing") == 0 && !built) {
            int rc = build_sale(r, &b);
            if (rc < 0)
                return;
            if (rc == 0) {
                resp_res_err(r, 2, FLASH_NOT_FOUND_MSG);
                return;
            }
            built = 1;
            continue;
        }
        if (strcmp(v.what, "addr_miss") == 0 && !filled) {
            int owned;
            if (address_cache_fill(r, b.uid, b.addr_id, &owned) < 0)
                return;
            if (!owned) {
                resp_res_err(r, 3, ORDER_BAD_ADDRESS_MSG);
                return;
            }
            filled = 1;
            continue;
        }
        if (answer(r, &v, acked) == 0)
            return;
        break;
    }
    req_fail(r, 500, "flash buy", arena_printf(&r->arena, "script answered %s after a rebuild", v.what));
}
