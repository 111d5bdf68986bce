/* Helpers of the cart handlers (declared in cart.h). */
#include "cart.h"

#include <string.h>

#include "rds.h"
#include "session.h"

int cart_count_parse(const char *s, long long *out) {
    long long v = 0;
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > CART_COUNT_MAX) /* checked per digit: no overflow on long input */
            return -1;
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

int cart_value_parse(const char *s, size_t len, long long *out) {
    long long v = 0;
    if (!s || len == 0 || len > 15)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

redisReply *cart_fields_cmd(struct df_req *r, const char *cmd, long long uid, const char *const *fields,
                            const size_t *lens, size_t n) {
    const char **argv = arena_alloc(&r->arena, sizeof(char *) * (n + 2));
    size_t *argl = arena_alloc(&r->arena, sizeof(size_t) * (n + 2));
    argv[0] = cmd;
    argv[1] = arena_printf(&r->arena, "cart_%lld", uid);
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = fields[i];
    for (size_t i = 0; i < n + 2; i++)
        argl[i] = i >= 2 && lens ? lens[i - 2] : strlen(argv[i]);
    return rds_cmdargv(r, (int)(n + 2), argv, argl);
}

long long cart_hvals_sum(const redisReply *vals) {
    long long sum = 0, v;
    if (!vals || vals->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < vals->elements; i++) {
        const redisReply *e = vals->element[i];
        if (e->type == REDIS_REPLY_STRING && cart_value_parse(e->str, e->len, &v) == 0)
            sum += v;
    }
    return sum;
}

/* The session's user and its cart in one round trip, for the reads that
 * need both (each lookup is a thread switch on both sides, see
 * docs/performance.md). KEYS[1] the session key; ARGV[1] HVALS or HGETALL;
 * ARGV[2], when given, a SKU id put at the head of history_<uid> (LREM,
 * LPUSH, LTRIM 0 4: five kept, newest first, no duplicates).
 * Returns {uid, the cart reply}, or {0} without a session. */
static struct rds_script session_cart_script = RDS_SCRIPT(
    CART_LUA_COUNT
    "local id = count(redis.call('GET', KEYS[1]))\n"
    "if not id or id <= 0 then return {0} end\n"
    "local uid = string.format('%d', id)\n"
    "if ARGV[2] then\n"
    "  local h = 'history_' .. uid\n"
    "  redis.call('LREM', h, 0, ARGV[2])\n"
    "  redis.call('LPUSH', h, ARGV[2])\n"
    "  redis.call('LTRIM', h, 0, 4)\n"
    "end\n"
    "return {uid, redis.call(ARGV[1], 'cart_' .. uid)}\n");

int cart_session_start(struct df_req *r, struct rds_call *call, const char *cmd, long long viewed_sku) {
    const char **argv, *key = session_key(r);
    call->argc = 0;
    if (!key || session_known_anonymous(r))
        return 0; /* no session to look up: finish answers "nobody" */
    argv = arena_alloc(&r->arena, sizeof(char *) * 3);
    argv[0] = key;
    argv[1] = cmd;
    argv[2] = viewed_sku > 0 ? arena_printf(&r->arena, "%lld", viewed_sku) : NULL;
    return rds_eval_start(r, call, &session_cart_script, 1, argv[2] ? 2 : 1, argv);
}

int cart_session_finish(struct df_req *r, struct rds_call *call, long long *uid, redisReply **cart) {
    long long id = 0;
    *cart = NULL;
    if (call->argc > 0) {
        redisReply *rep = rds_eval_finish(r, call);
        if (!rep)
            return -1;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
            (rep->elements == 2 && (rds_reply_ll(rep->element[0], &id) < 0 || id <= 0 ||
                                    rep->element[1]->type != REDIS_REPLY_ARRAY))) {
            req_fail(r, 500, "redis", "session cart script: unexpected reply");
            return -1;
        }
        if (rep->elements == 2)
            *cart = rep->element[1];
    }
    session_set_user(r, id);
    *uid = id;
    return 0;
}

int cart_session_read(struct df_req *r, const char *cmd, long long viewed_sku, long long *uid,
                      redisReply **cart) {
    struct rds_call call;
    if (cart_session_start(r, &call, cmd, viewed_sku) < 0)
        return -1;
    return cart_session_finish(r, &call, uid, cart);
}
