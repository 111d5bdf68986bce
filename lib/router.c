#include "router.h"

#include <string.h>

static int capture_int(const char *s, size_t len, long long *out) {
    long long v = 0;
    if (len == 0 || len > 18)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return 0;
    *out = v;
    return 1;
}

int route_pattern_match(const char *pattern, const char *path, size_t len, struct route_match *m) {
    size_t pi = 0;
    const char *p = pattern;
    m->nargs = 0;
    while (*p) {
        if (*p == '<') {
            int is_int = strncmp(p, "<int>", 5) == 0;
            int is_str = strncmp(p, "<str>", 5) == 0;
            if ((!is_int && !is_str) || m->nargs >= ROUTE_MAX_ARGS)
                return 0;
            size_t start = pi;
            while (pi < len && path[pi] != '/')
                pi++;
            struct route_arg *arg = &m->args[m->nargs];
            arg->str = path + start;
            arg->len = pi - start;
            arg->num = 0;
            if (arg->len == 0)
                return 0;
            if (is_int && !capture_int(arg->str, arg->len, &arg->num))
                return 0;
            m->nargs++;
            p += 5;
            continue;
        }
        if (pi >= len || path[pi] != *p)
            return 0;
        pi++;
        p++;
    }
    return pi == len;
}

static int method_allows(const char *route_method, const char *method) {
    if (strcmp(route_method, method) == 0)
        return 1;
    return strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

enum route_result router_match(const struct route *table, const char *method, const char *path, size_t path_len,
                               struct route_match *m) {
    enum route_result result = ROUTE_NOT_FOUND;
    if (path_len > 1 && path[path_len - 1] == '/')
        path_len--;
    for (const struct route *r = table; r->pattern; r++) {
        struct route_match cand;
        if (!route_pattern_match(r->pattern, path, path_len, &cand))
            continue;
        if (method_allows(r->method, method)) {
            *m = cand;
            m->route = r;
            return ROUTE_FOUND;
        }
        result = ROUTE_BAD_METHOD;
    }
    return result;
}
