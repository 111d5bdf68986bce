/* Sale times as staff give them: Unix seconds or Beijing wall-clock text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "beijing_time.h"

static long long parsed(const char *s) {
    long long t = -7;
    assert_int_equal(bj_time_parse(s, &t), 0);
    return t;
}

static void test_text_is_beijing_time(void **state) {
    (void)state;
    assert_int_equal(parsed("1970-01-01 08:00:00"), 0);
    assert_int_equal(parsed("2024-01-01 00:00:00"), 1704038400LL); /* 2023-12-31 16:00 UTC */
    assert_int_equal(parsed("2024-02-29 12:30:45"), 1709181045LL);
    assert_int_equal(parsed("2000-02-29 23:59:59"), 951839999LL);
    /* no daylight saving: midsummer is +8 as well */
    assert_int_equal(parsed("2026-07-01 08:00:00"), 1782864000LL);
    assert_int_equal(parsed("9999-12-31 23:59:59"), BJ_TIME_MAX);
}

static void test_unix_seconds(void **state) {
    (void)state;
    assert_int_equal(parsed("0"), 0);
    assert_int_equal(parsed("1704038400"), 1704038400LL);
    assert_int_equal(parsed("007"), 7);
    assert_int_equal(parsed("253402271999"), BJ_TIME_MAX);
}

static void test_bad_forms(void **state) {
    (void)state;
    const char *bad[] = {"", "-1", "+5", "1.5", "1e9", " 1", "1 ", "abc", "253402272000", "9999999999999",
                         "2024-13-01 00:00:00", "2024-00-10 00:00:00", "2023-02-29 00:00:00", "1900-02-29 00:00:00",
                         "2024-04-31 00:00:00", "2024-01-01 24:00:00", "2024-01-01 00:60:00", "2024-01-01 00:00:60",
                         "2024-01-01T00:00:00", "2024/01/01 00:00:00", "2024-1-01 00:00:000", "2024-01-01 0:00:000",
                         "1969-12-31 23:59:59", "1970-01-01 07:59:59", "2024-01-01 00:00", "2024-01-01 00:00:00Z",
                         "２０２４-01-01 00:00:00", NULL};
    for (int i = 0; bad[i]; i++) {
        long long t = 77;
        if (bj_time_parse(bad[i], &t) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(t, 77);
    }
    long long t;
    assert_int_equal(bj_time_parse(NULL, &t), -1);
}

static void test_format_round_trips(void **state) {
    (void)state;
    char s[BJ_TIME_TEXT_LEN];
    bj_time_format(0, s);
    assert_string_equal(s, "1970-01-01 08:00:00");
    bj_time_format(1709181045LL, s);
    assert_string_equal(s, "2024-02-29 12:30:45");
    bj_time_format(BJ_TIME_MAX, s);
    assert_string_equal(s, "9999-12-31 23:59:59");
    for (long long t = 0; t < BJ_TIME_MAX; t += 86399LL * 37 + 13) {
        long long back = -1;
        bj_time_format(t, s);
        assert_int_equal(bj_time_parse(s, &back), 0);
        assert_int_equal(back, t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_is_beijing_time),
        cmocka_unit_test(test_unix_seconds),
        cmocka_unit_test(test_bad_forms),
        cmocka_unit_test(test_format_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
