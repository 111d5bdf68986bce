/* The shop's one route table (handlers/routes.c): every row is reachable,
 * i.e. no earlier row shadows it, and no method and pattern appear twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

/* A path the pattern matches: <int> becomes 7, <str> becomes "s1". */
static void sample_path(const char *pattern, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = pattern; *p && n + 3 < cap;) {
        if (strncmp(p, "<int>", 5) == 0) {
            out[n++] = '7';
            p += 5;
        } else if (strncmp(p, "<str>", 5) == 0) {
            out[n++] = 's';
            out[n++] = '1';
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

static void test_every_route_reachable(void **state) {
    (void)state;
    int rows = 0;
    for (const struct route *rt = df_routes; rt->pattern; rt++, rows++) {
        char path[256];
        struct route_match m;
        sample_path(rt->pattern, path, sizeof(path));
        assert_int_equal(router_match(df_routes, rt->method, path, strlen(path), &m), ROUTE_FOUND);
        if (m.route != rt)
            fail_msg("%s %s is answered by %s %s", rt->method, rt->pattern, m.route->method, m.route->pattern);
        assert_non_null(rt->handler);
    }
    assert_true(rows >= 27);
}

static void test_no_route_twice(void **state) {
    (void)state;
    for (const struct route *a = df_routes; a->pattern; a++)
        for (const struct route *b = a + 1; b->pattern; b++)
            if (strcmp(a->method, b->method) == 0 && strcmp(a->pattern, b->pattern) == 0)
                fail_msg("%s %s appears twice", a->method, a->pattern);
}

static void test_only_notify_skips_csrf(void **state) {
    (void)state;
    for (const struct route *rt = df_routes; rt->pattern; rt++)
        if (rt->flags & ROUTE_CSRF_EXEMPT)
            assert_string_equal(rt->pattern, "/order/notify");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_reachable),
        cmocka_unit_test(test_no_route_twice),
        cmocka_unit_test(test_only_notify_skips_csrf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
