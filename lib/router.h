/* Routing: one table of {method, pattern, handler} (handlers/routes.c).
 * A pattern is a literal path with captures: "<int>" matches a positive
 * decimal integer that fits in a long long, "<str>" one non-empty path
 * segment. One trailing slash on the request path is ignored. */
#ifndef DF_ROUTER_H
#define DF_ROUTER_H

#include <stddef.h>

struct df_req;
typedef void (*route_handler)(struct df_req *r);

#define ROUTE_CSRF_EXEMPT 1 /* POSTs signed by a third party (payment notify) */

struct route {
    const char *method; /* "GET" also answers HEAD */
    const char *pattern;
    route_handler handler;
    int flags;
};

#define ROUTE_MAX_ARGS 4

struct route_arg {
    const char *str; /* points into the matched path */
    size_t len;
    long long num; /* for <int> captures */
};

struct route_match {
    const struct route *route;
    int nargs;
    struct route_arg args[ROUTE_MAX_ARGS];
};

enum route_result { ROUTE_FOUND = 0, ROUTE_NOT_FOUND = 1, ROUTE_BAD_METHOD = 2 };

/* table: ended by a row with a NULL pattern. */
enum route_result router_match(const struct route *table, const char *method, const char *path,
                               size_t path_len, struct route_match *m);
/* Matches one pattern; 1 on a match (captures in m), 0 otherwise. */
int route_pattern_match(const char *pattern, const char *path, size_t len, struct route_match *m);

#endif
