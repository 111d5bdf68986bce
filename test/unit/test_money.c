/* Exact money: parsing DECIMAL text into cents and formatting it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "money.h"

static int64_t parsed(const char *s) {
    int64_t c = -12345;
    assert_int_equal(money_parse(s, &c), 0);
    return c;
}

static void test_parse_valid(void **state) {
    assert_int_equal(parsed("12.80"), 1280);
    assert_int_equal(parsed("0.01"), 1);
    assert_int_equal(parsed("0.00"), 0);
    assert_int_equal(parsed("12"), 1200);
    assert_int_equal(parsed("12.8"), 1280);
    assert_int_equal(parsed("99999999.99"), 9999999999LL);
    assert_int_equal(parsed("-3.05"), -305);
    assert_int_equal(parsed("007.50"), 750);
}

static void test_parse_rejects(void **state) {
    const char *bad[] = {"", "-", ".5", "12.", "12.801", "1e3", " 12.80", "12.80 ", "12,80", "+1.00", "abc",
                         "1.2.3", "0x10", "99999999999999999999.00", NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t c = 77;
        assert_int_equal(money_parse(bad[i], &c), -1);
        assert_int_equal(c, 77); /* untouched on failure */
    }
    int64_t c;
    assert_int_equal(money_parse(NULL, &c), -1);
}

static void test_format(void **state) {
    char s[MONEY_STR_MAX];
    money_format(1280, s);
    assert_string_equal(s, "12.80");
    money_format(5, s);
    assert_string_equal(s, "0.05");
    money_format(0, s);
    assert_string_equal(s, "0.00");
    money_format(-5, s);
    assert_string_equal(s, "-0.05");
    money_format(INT64_MIN, s);
    assert_string_equal(s, "-92233720368547758.08");
    money_format(INT64_MAX, s);
    assert_string_equal(s, "92233720368547758.07");
}

static void test_round_trip(void **state) {
    const char *vals[] = {"0.10", "25.50", "39.90", "68.80", "99999999.99", "-1.01", NULL};
    for (int i = 0; vals[i]; i++) {
        char s[MONEY_STR_MAX];
        money_format(parsed(vals[i]), s);
        assert_string_equal(s, vals[i]);
    }
}

static void test_arithmetic_exact(void **state) {
    /* 0.10 x 3 is 0.30 exactly: the float answer is 0.30000000000000004 */
    int64_t v, sum = 0;
    assert_int_equal(money_mul(parsed("0.10"), 3, &v), 0);
    assert_int_equal(v, 30);
    assert_int_equal(money_add(sum, v, &sum), 0);
    assert_int_equal(money_mul(parsed("12.80"), 7, &v), 0);
    assert_int_equal(money_add(sum, v, &sum), 0);
    char s[MONEY_STR_MAX];
    money_format(sum, s);
    assert_string_equal(s, "89.90");
}

static void test_overflow_detected(void **state) {
    int64_t v = 1;
    assert_int_equal(money_mul(9999999999LL, 2147483647LL * 1000, &v), -1);
    assert_int_equal(v, 1);
    assert_int_equal(money_add(INT64_MAX, 1, &v), -1);
    assert_int_equal(v, 1);
    assert_int_equal(money_mul(9999999999LL, 2147483647LL, &v), -1);
    assert_int_equal(money_mul(9999999999LL, 922337203LL, &v), 0);
    assert_int_equal(v, 9999999999LL * 922337203LL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),      cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),           cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_arithmetic_exact), cmocka_unit_test(test_overflow_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
