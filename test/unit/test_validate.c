/* Form checks: usernames, e-mail addresses, phones, postal codes, flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "validate.h"

static void test_utf8_chars(void **state) {
    assert_int_equal(utf8_chars(""), 0);
    assert_int_equal(utf8_chars(NULL), 0);
    assert_int_equal(utf8_chars("abc"), 3);
    assert_int_equal(utf8_chars("北京市海淀区"), 6);
    assert_int_equal(utf8_chars("a天b"), 3);
    assert_int_equal(utf8_chars("\xF0\x9F\x8D\x8E"), 1); /* one emoji, four bytes */
}

static void test_username(void **state) {
    assert_true(valid_username("alice"));
    assert_true(valid_username("Alice_2024"));
    assert_true(valid_username("a2345678901234567890"));
    assert_false(valid_username("a234567890123456789012"));
    assert_false(valid_username("abcd"));
    assert_false(valid_username(""));
    assert_false(valid_username(NULL));
    assert_false(valid_username("alice bob"));
    assert_false(valid_username("alice-bob"));
    assert_false(valid_username("alice@x"));
    assert_false(valid_username("天天生鲜用户"));
}

static void test_email(void **state) {
    assert_true(valid_email("a@b.cn"));
    assert_true(valid_email("first.last+tag@mail.example.com"));
    assert_true(valid_email("x_y-z@sub-domain.example.org"));
    assert_false(valid_email(NULL));
    assert_false(valid_email(""));
    assert_false(valid_email("plainaddress"));
    assert_false(valid_email("@example.com"));
    assert_false(valid_email("a@"));
    assert_false(valid_email("a@b"));
    assert_false(valid_email("a@b.c"));
    assert_false(valid_email("a@b.c0m"));
    assert_false(valid_email("a@@b.com"));
    assert_false(valid_email("a@b@c.com"));
    assert_false(valid_email("a b@c.com"));
    assert_false(valid_email(".a@c.com"));
    assert_false(valid_email("a.@c.com"));
    assert_false(valid_email("a..b@c.com"));
    assert_false(valid_email("a@-c.com"));
    assert_false(valid_email("a@c-.com"));
    assert_false(valid_email("a@c..com"));
    assert_false(valid_email("a@.c.com"));
    assert_false(valid_email("a@c.com."));
    assert_false(valid_email("用户@例子.中国"));
}

static void test_phone_zip(void **state) {
    assert_true(valid_phone("13812345678"));
    assert_false(valid_phone("23812345678"));
    assert_false(valid_phone("1381234567"));
    assert_false(valid_phone("138123456789"));
    assert_false(valid_phone("1381234567a"));
    assert_false(valid_phone("+8613812345"));
    assert_false(valid_phone(""));
    assert_false(valid_phone(NULL));
    assert_true(valid_zip("100084"));
    assert_false(valid_zip("10008"));
    assert_false(valid_zip("1000840"));
    assert_false(valid_zip("10008a"));
    assert_false(valid_zip(NULL));
}

static void test_truthy(void **state) {
    assert_true(is_truthy("on"));
    assert_true(is_truthy("1"));
    assert_true(is_truthy("true"));
    assert_true(is_truthy("True"));
    assert_false(is_truthy("0"));
    assert_false(is_truthy("off"));
    assert_false(is_truthy(""));
    assert_false(is_truthy("yes"));
    assert_false(is_truthy(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_username),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_phone_zip),
        cmocka_unit_test(test_truthy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
