#include "money.h"

#include <stdio.h>

int money_parse(const char *s, int64_t *cents) {
    int neg = 0;
    int64_t units = 0;
    int ndigits = 0;
    if (!s)
        return -1;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++, ndigits++) {
        if (__builtin_mul_overflow(units, 10, &units) || __builtin_add_overflow(units, *s - '0', &units))
            return -1;
    }
    if (ndigits == 0)
        return -1;
    int frac = 0;
    if (*s == '.') {
        s++;
        int nfrac = 0;
        for (; *s >= '0' && *s <= '9' && nfrac < 2; s++, nfrac++)
            frac = frac * 10 + (*s - '0');
        if (nfrac == 0)
            return -1;
        if (nfrac == 1)
            frac *= 10;
    }
    if (*s != '\0') /* a third decimal, a space, an exponent... */
        return -1;
    int64_t v;
    if (__builtin_mul_overflow(units, 100, &v) || __builtin_add_overflow(v, frac, &v))
        return -1;
    *cents = neg ? -v : v;
    return 0;
}

void money_format(int64_t cents, char out[MONEY_STR_MAX]) {
    /* unsigned: -INT64_MIN does not fit in an int64_t */
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(out, MONEY_STR_MAX, "%s%llu.%02llu", cents < 0 ? "-" : "", (unsigned long long)(u / 100),
             (unsigned long long)(u % 100));
}

int money_mul(int64_t cents, int64_t count, int64_t *out) {
    int64_t v;
    if (__builtin_mul_overflow(cents, count, &v))
        return -1;
    *out = v;
    return 0;
}

int money_add(int64_t a, int64_t b, int64_t *out) {
    int64_t v;
    if (__builtin_add_overflow(a, b, &v))
        return -1;
    *out = v;
    return 0;
}
