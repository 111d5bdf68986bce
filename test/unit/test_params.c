/* Parsers: form/query strings, cookies, JSON bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "params.h"

static struct arena A;

static int setup(void **state) {
    arena_init(&A);
    return 0;
}

static int teardown(void **state) {
    arena_reset(&A);
    return 0;
}

static int form(struct params *p, const char *s) {
    params_init(p);
    return form_parse(&A, p, s, strlen(s));
}

static void test_form_basic(void **state) {
    struct params p;
    assert_int_equal(form(&p, "sku_id=12&count=3"), 0);
    assert_string_equal(params_get(&p, "sku_id"), "12");
    assert_string_equal(params_get(&p, "count"), "3");
    assert_null(params_get(&p, "missing"));
    assert_int_equal(p.count, 2);
}

static void test_form_decoding(void **state) {
    struct params p;
    assert_int_equal(form(&p, "a=hello+world&b=%E5%A4%A9%E5%A4%A9&c=100%25&d=&e"), 0);
    assert_string_equal(params_get(&p, "a"), "hello world");
    assert_string_equal(params_get(&p, "b"), "天天");
    assert_string_equal(params_get(&p, "c"), "100%");
    assert_string_equal(params_get(&p, "d"), "");
    assert_string_equal(params_get(&p, "e"), "");
    /* a literal plus arrives as %2B */
    assert_int_equal(form(&p, "x=1%2B1"), 0);
    assert_string_equal(params_get(&p, "x"), "1+1");
}

static void test_form_repeated(void **state) {
    struct params p;
    const char *v[8];
    assert_int_equal(form(&p, "sku_ids=1&sku_ids=6&&sku_ids=9&=novalue"), 0);
    assert_int_equal(params_get_all(&p, "sku_ids", v, 8), 3);
    assert_string_equal(v[0], "1");
    assert_string_equal(v[1], "6");
    assert_string_equal(v[2], "9");
    assert_int_equal(params_get_all(&p, "sku_ids", v, 2), 2);
    assert_int_equal(p.count, 3); /* an empty key is dropped */
}

static void test_form_malformed(void **state) {
    struct params p;
    assert_int_equal(form(&p, "a=%00"), -1);        /* NUL */
    assert_int_equal(form(&p, "a=%FF%FE"), -1);     /* not UTF-8 */
    assert_int_equal(form(&p, "a=%C0%AF"), -1);     /* overlong */
    assert_int_equal(form(&p, "a=%ED%A0%80"), -1);  /* surrogate */
    assert_int_equal(form(&p, "a=%E5%A4"), -1);     /* truncated sequence */
    params_init(&p);                                /* a raw NUL, in a key or a value */
    assert_int_equal(form_parse(&A, &p, "a=b\0c", 5), -1);
    assert_int_equal(form_parse(&A, &p, "a\0=b", 5), -1);
    /* a stray '%' stays literal, as browsers and Django do */
    assert_int_equal(form(&p, "a=50%&b=%zz"), 0);
    assert_string_equal(params_get(&p, "a"), "50%");
    assert_string_equal(params_get(&p, "b"), "%zz");
}

static void test_form_limits(void **state) {
    struct params p;
    size_t n = PARAMS_MAX + 1;
    char *s = test_malloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 4 * i, "a=1&", 4);
    s[n * 4] = '\0';
    assert_int_equal(form(&p, s), -1);
    s[(n - 1) * 4] = '\0';
    assert_int_equal(form(&p, s), 0);
    assert_int_equal(p.count, PARAMS_MAX);
    test_free(s);
}

static void test_form_not_terminated(void **state) {
    /* uWSGI hands out pointer + length: never read past len */
    struct params p;
    const char buf[] = {'a', '=', '1', '&', 'b', '=', '2'};
    params_init(&p);
    assert_int_equal(form_parse(&A, &p, buf, 5), 0);
    assert_string_equal(params_get(&p, "b"), "");
    assert_string_equal(params_get(&p, "a"), "1");
}

static void test_cookies(void **state) {
    struct params p;
    const char *c = "csrftoken=abc123; sessionid=\"f00d\";  empty=;junk; =x; last = v ";
    params_init(&p);
    assert_int_equal(cookie_parse(&A, &p, c, strlen(c)), 0);
    assert_string_equal(params_get(&p, "csrftoken"), "abc123");
    assert_string_equal(params_get(&p, "sessionid"), "f00d");
    assert_string_equal(params_get(&p, "empty"), "");
    assert_string_equal(params_get(&p, "last"), "v");
    assert_null(params_get(&p, "junk"));
    assert_int_equal(p.count, 4);
}

static int json(struct params *p, const char *s) {
    params_init(p);
    return json_params_parse(&A, p, s, strlen(s));
}

static void test_json(void **state) {
    struct params p;
    const char *v[8];
    assert_int_equal(json(&p, "{\"sku_id\": 12, \"count\": \"3\", \"remember\": true, \"x\": null,"
                              " \"sku_ids\": [1, \"6\", {\"a\":1}], \"obj\": {\"a\": 1}, \"f\": 1.5, \"big\": 1e300}"),
                     0);
    assert_string_equal(params_get(&p, "sku_id"), "12");
    assert_string_equal(params_get(&p, "count"), "3");
    assert_string_equal(params_get(&p, "remember"), "true");
    assert_null(params_get(&p, "x"));
    assert_null(params_get(&p, "obj"));
    assert_string_equal(params_get(&p, "f"), "1.5");
    assert_string_equal(params_get(&p, "big"), "1.0000000000000001e+300");
    assert_int_equal(params_get_all(&p, "sku_ids", v, 8), 2);
    assert_string_equal(v[1], "6");
}

static void test_json_malformed(void **state) {
    struct params p;
    assert_int_equal(json(&p, "{\"a\": "), -1);
    assert_int_equal(json(&p, "[1, 2]"), -1);
    assert_int_equal(json(&p, "\"str\""), -1);
    assert_int_equal(json(&p, ""), -1);
    assert_int_equal(json(&p, "{\"a\": \"\xff\"}"), -1);
    assert_int_equal(json(&p, "{\"a\": 1} trailing"), -1); /* one value, nothing after it */
    /* NUL, escaped or raw, in a value or a key: refused, not cut short */
    assert_int_equal(json(&p, "{\"a\": \"ab\\u0000cd\"}"), -1);
    assert_int_equal(json(&p, "{\"a\\u0000\": \"x\"}"), -1);
    params_init(&p);
    const char raw[] = "{\"a\": \"b\0c\"}";
    assert_int_equal(json_params_parse(&A, &p, raw, sizeof raw - 1), -1);
    /* an escaped backslash before u0000 is text */
    assert_int_equal(json(&p, "{\"a\": \"\\\\u0000\"}"), 0);
    assert_string_equal(params_get(&p, "a"), "\\u0000");
}

static void test_utf8(void **state) {
    assert_true(utf8_valid("天天生鲜", strlen("天天生鲜")));
    assert_true(utf8_valid("\xF0\x9F\x8D\x93", 4)); /* strawberry emoji */
    assert_false(utf8_valid("\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(utf8_valid("\x80", 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_form_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_not_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
    };
    return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
