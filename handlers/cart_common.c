/* Helpers of the cart handlers (declared in cart.h); no routes here. */
#include "cart.h"
#include "rds.h"

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

int cart_total(struct df_req *r, long long uid, long long *total) {
    redisReply *vals = rds_cmd(r, "HVALS cart_%lld", uid);
    if (!vals)
        return -1;
    *total = cart_hvals_sum(vals);
    return 0;
}
