/* Router: literal paths, captures, 404 vs 405, trailing slash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "router.h"

static void h_a(struct df_req *r) { (void)r; }
static void h_b(struct df_req *r) { (void)r; }
static void h_c(struct df_req *r) { (void)r; }

static const struct route t[] = {
    {"GET", "/goods/<int>", h_a, 0},
    {"GET", "/list/<int>/<int>", h_b, 0},
    {"POST", "/cart/add", h_c, 0},
    {"GET", "/order/comment/<str>", h_a, 0},
    {"POST", "/order/comment/<str>", h_b, ROUTE_CSRF_EXEMPT},
    {"GET", "/cart", h_c, 0},
    {NULL, NULL, NULL, 0},
};

static enum route_result match(const char *method, const char *path, struct route_match *m) {
    return router_match(t, method, path, strlen(path), m);
}

static void test_literal_and_methods(void **state) {
    struct route_match m;
    assert_int_equal(match("POST", "/cart/add", &m), ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, h_c);
    assert_int_equal(m.nargs, 0);
    assert_int_equal(match("GET", "/cart/add", &m), ROUTE_BAD_METHOD);
    assert_int_equal(match("GET", "/cart/adds", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/cart/ad", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("HEAD", "/cart", &m), ROUTE_FOUND); /* HEAD answers like GET */
    assert_int_equal(match("PUT", "/cart", &m), ROUTE_BAD_METHOD);
}

static void test_int_captures(void **state) {
    struct route_match m;
    assert_int_equal(match("GET", "/list/3/12", &m), ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, h_b);
    assert_int_equal(m.nargs, 2);
    assert_int_equal(m.args[0].num, 3);
    assert_int_equal(m.args[1].num, 12);
    assert_int_equal(match("GET", "/goods/999999999999999999", &m), ROUTE_FOUND);
    assert_int_equal(match("GET", "/goods/9999999999999999999", &m), ROUTE_NOT_FOUND); /* 19 digits */
    assert_int_equal(match("GET", "/goods/0", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/goods/-1", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/goods/1a", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/goods/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/goods/5/", &m), ROUTE_FOUND); /* one trailing slash is fine */
    assert_int_equal(m.args[0].num, 5);
    assert_int_equal(match("GET", "/goods/5//", &m), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/list/3", &m), ROUTE_NOT_FOUND);
}

static void test_str_captures_and_flags(void **state) {
    struct route_match m;
    assert_int_equal(match("GET", "/order/comment/2024abc", &m), ROUTE_FOUND);
    assert_int_equal(m.args[0].len, 7);
    assert_memory_equal(m.args[0].str, "2024abc", 7);
    assert_int_equal(match("POST", "/order/comment/x", &m), ROUTE_FOUND);
    assert_true(m.route->flags & ROUTE_CSRF_EXEMPT);
    assert_int_equal(match("GET", "/order/comment/a/b", &m), ROUTE_NOT_FOUND);
}

static void test_not_nul_terminated(void **state) {
    struct route_match m;
    const char buf[] = {'/', 'c', 'a', 'r', 't', '/', 'a', 'd', 'd', 'X'};
    assert_int_equal(router_match(t, "POST", buf, 9, &m), ROUTE_FOUND);
    assert_int_equal(router_match(t, "GET", buf, 5, &m), ROUTE_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_methods),
        cmocka_unit_test(test_int_captures),
        cmocka_unit_test(test_str_captures_and_flags),
        cmocka_unit_test(test_not_nul_terminated),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
