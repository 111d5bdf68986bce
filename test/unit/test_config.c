/* Option parsing and validation: defaults, strict integers, addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"

static void test_defaults(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_string_equal(c.redis_host, "127.0.0.1");
    assert_int_equal(c.redis_port, 6379);
    assert_null(c.redis_unix);
    assert_int_equal(c.redis_pool, 2); /* 0 = one per thread */
    assert_int_equal(c.mysql_pool, 2);
    assert_int_equal(c.mysql_port, 3306);
    assert_int_equal(c.password_iterations, 260000);
    assert_string_equal(c.mysql_database, "dailyfresh");
    assert_int_equal(c.order_ttl, 1800);
    assert_int_equal(c.order_expire_interval, 60);
    assert_int_equal(c.locking, LOCK_GUARDED);
    assert_int_equal(c.mysql_lock_wait_s, 3);
    assert_int_equal(c.login_max_failures, 5);
    assert_int_equal(c.login_lockout, 900);
    assert_int_equal(c.login_user_max_failures, 20);
    assert_int_equal(c.login_user_block, 60);
    assert_int_equal(c.order_max_unpaid, 5);
    assert_int_equal(c.order_max_cod, 10);
    assert_int_equal(c.order_cod_ttl, 86400); /* a day */
    config_free(&c);
    config_free(&c); /* safe twice */
}

static void test_values(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    raw.redis = "unix:/tmp/r.sock";
    raw.redis_pool = "5";
    raw.max_body = "4096";
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_string_equal(c.redis_unix, "/tmp/r.sock");
    assert_int_equal(c.redis_pool, 5);
    assert_int_equal(c.max_body, 4096);
    config_free(&c);
    raw.order_locking = "optimistic";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.locking, LOCK_OPTIMISTIC);
    assert_string_equal(order_locking_names[c.locking], "optimistic");
    config_free(&c);
    raw.order_locking = "pessimistic";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.locking, LOCK_PESSIMISTIC);
    config_free(&c);
    raw.order_locking = NULL;
    raw.login_user_max_failures = "100000";
    raw.login_user_block = "3600";
    raw.order_max_unpaid = "0"; /* no cap */
    raw.order_cod_ttl = "0"; /* never */
    raw.order_max_cod = "0"; /* no cap */
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.login_user_max_failures, 100000);
    assert_int_equal(c.login_user_block, 3600);
    assert_int_equal(c.order_max_unpaid, 0);
    assert_int_equal(c.order_cod_ttl, 0);
    assert_int_equal(c.order_max_cod, 0);
    config_free(&c);
    raw.login_user_max_failures = raw.login_user_block = raw.order_max_unpaid = raw.order_cod_ttl = NULL;
    raw.order_max_cod = NULL;
    raw.redis = "[::1]:6390";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_string_equal(c.redis_host, "[::1]");
    assert_int_equal(c.redis_port, 6390);
    config_free(&c);
}

static void expect_bad(const char *field_name, void (*set)(struct df_config_raw *), const char *in_msg) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    set(&raw);
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), -1);
    if (!strstr(err, in_msg))
        fail_msg("%s: error '%s' does not mention '%s'", field_name, err, in_msg);
}

static void bad_int(struct df_config_raw *r) { r->redis_pool = "abc"; }
static void bad_trailing(struct df_config_raw *r) { r->mysql_port = "3306x"; }
static void bad_range(struct df_config_raw *r) { r->mysql_port = "70000"; }
static void bad_negative(struct df_config_raw *r) { r->pool_wait_ms = "-5"; }
static void bad_empty(struct df_config_raw *r) { r->max_body = ""; }
static void bad_addr(struct df_config_raw *r) { r->redis = "localhost"; }
static void bad_port(struct df_config_raw *r) { r->redis = "localhost:0"; }
static void bad_unix(struct df_config_raw *r) { r->redis = "unix:"; }
static void bad_user(struct df_config_raw *r) { r->mysql_user = ""; }
static void bad_ttl(struct df_config_raw *r) { r->order_ttl = "0"; }
static void bad_ttl_long(struct df_config_raw *r) { r->order_ttl = "604801"; }
static void bad_interval(struct df_config_raw *r) { r->order_expire_interval = "3601"; }
static void bad_user_fails(struct df_config_raw *r) { r->login_user_max_failures = "0"; }
static void bad_user_block(struct df_config_raw *r) { r->login_user_block = "3601"; }
static void bad_max_unpaid(struct df_config_raw *r) { r->order_max_unpaid = "-1"; }
static void bad_cod_ttl(struct df_config_raw *r) { r->order_cod_ttl = "1h"; }
static void bad_max_cod(struct df_config_raw *r) { r->order_max_cod = "10001"; }

static void bad_locking(struct df_config_raw *r) { r->order_locking = "Guarded"; }
static void bad_lock_wait(struct df_config_raw *r) { r->mysql_lock_wait_s = "5"; } /* timeout is 5 */

static void test_rejects(void **state) {
    expect_bad("redis_pool", bad_int, "dailyfresh-redis-pool");
    expect_bad("mysql_port", bad_trailing, "dailyfresh-mysql-port");
    expect_bad("mysql_port", bad_range, "from 1 to 65535");
    expect_bad("pool_wait", bad_negative, "dailyfresh-pool-wait");
    expect_bad("max_body", bad_empty, "dailyfresh-max-body");
    expect_bad("redis", bad_addr, "dailyfresh-redis");
    expect_bad("redis", bad_port, "dailyfresh-redis");
    expect_bad("redis", bad_unix, "unix socket");
    expect_bad("mysql_user", bad_user, "must not be empty");
    expect_bad("order_ttl", bad_ttl, "dailyfresh-order-ttl: '0' is not a whole number from 1 to 604800");
    expect_bad("order_ttl", bad_ttl_long, "dailyfresh-order-ttl");
    expect_bad("order_expire_interval", bad_interval, "from 1 to 3600");
    expect_bad("order_locking", bad_locking, "dailyfresh-order-locking: 'Guarded' is not guarded, pessimistic or optimistic");
    expect_bad("login_user_max_failures", bad_user_fails,
               "dailyfresh-login-user-max-failures: '0' is not a whole number from 1 to 100000");
    expect_bad("login_user_block", bad_user_block, "dailyfresh-login-user-block: '3601' is not a whole number from 1 to 3600");
    expect_bad("order_max_unpaid", bad_max_unpaid, "dailyfresh-order-max-unpaid: '-1' is not a whole number from 0 to 10000");
    expect_bad("order_cod_ttl", bad_cod_ttl, "dailyfresh-order-cod-ttl: '1h' is not a whole number from 0 to 31536000");
    expect_bad("order_max_cod", bad_max_cod, "dailyfresh-order-max-cod: '10001' is not a whole number from 0 to 10000");
    expect_bad("mysql_lock_wait", bad_lock_wait, "must be shorter than dailyfresh-mysql-timeout");
}

static void test_sentinels_off_by_default(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.nsentinels, 0);
    assert_null(c.sentinels);
    assert_string_equal(c.redis_master_name, "dailyfresh");
    config_free(&c);
    raw.redis_sentinels = "  ";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.nsentinels, 0);
    config_free(&c);
}

static void test_sentinel_list(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    raw.redis_sentinels = "10.0.0.1:26379, sentinel-b:26380 ,[::1]:5000";
    raw.redis_master_name = "shop";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.nsentinels, 3);
    assert_string_equal(c.sentinels[0].host, "10.0.0.1");
    assert_int_equal(c.sentinels[0].port, 26379);
    assert_string_equal(c.sentinels[1].host, "sentinel-b");
    assert_int_equal(c.sentinels[1].port, 26380);
    assert_string_equal(c.sentinels[2].host, "::1");
    assert_int_equal(c.sentinels[2].port, 5000);
    assert_string_equal(c.redis_master_name, "shop");
    config_free(&c);
    assert_null(c.sentinels);
    raw.redis_sentinels = "127.0.0.1:1";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.nsentinels, 1);
    assert_int_equal(c.sentinels[0].port, 1);
    config_free(&c);
    raw.redis_sentinels = "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,a:14,a:15,a:16";
    assert_int_equal(config_load(&c, &raw, 1, err, sizeof(err)), 0);
    assert_int_equal(c.nsentinels, 16);
    assert_int_equal(c.sentinels[15].port, 16);
    config_free(&c);
}

static void bad_sentinel_noport(struct df_config_raw *r) { r->redis_sentinels = "10.0.0.1"; }
static void bad_sentinel_port0(struct df_config_raw *r) { r->redis_sentinels = "10.0.0.1:26379,10.0.0.2:0"; }
static void bad_sentinel_bigport(struct df_config_raw *r) { r->redis_sentinels = "10.0.0.1:65536"; }
static void bad_sentinel_longport(struct df_config_raw *r) { r->redis_sentinels = "10.0.0.1:0026379"; }
static void bad_sentinel_nohost(struct df_config_raw *r) { r->redis_sentinels = ":26379"; }
static void bad_sentinel_empty_item(struct df_config_raw *r) { r->redis_sentinels = "a:1,,b:2"; }
static void bad_sentinel_trailing(struct df_config_raw *r) { r->redis_sentinels = "a:1,"; }
static void bad_sentinel_space(struct df_config_raw *r) { r->redis_sentinels = "a b:1"; }
static void bad_sentinel_semicolon(struct df_config_raw *r) { r->redis_sentinels = "a:1;b:2"; }
static void bad_sentinel_bracket(struct df_config_raw *r) { r->redis_sentinels = "[::1:26379"; }
static void bad_sentinel_unix(struct df_config_raw *r) { r->redis_sentinels = "unix:/tmp/s.sock"; }
static void bad_sentinel_many(struct df_config_raw *r) {
    r->redis_sentinels = "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,a:14,a:15,a:16,a:17";
}
static void bad_master_name(struct df_config_raw *r) {
    r->redis_sentinels = "a:1";
    r->redis_master_name = "";
}

static void test_sentinel_rejects(void **state) {
    expect_bad("sentinels", bad_sentinel_noport, "dailyfresh-redis-sentinels: '10.0.0.1' is not host:port");
    expect_bad("sentinels", bad_sentinel_port0, "dailyfresh-redis-sentinels: '10.0.0.2:0' is not host:port");
    expect_bad("sentinels", bad_sentinel_bigport, "'10.0.0.1:65536' is not host:port");
    expect_bad("sentinels", bad_sentinel_longport, "'10.0.0.1:0026379' is not host:port");
    expect_bad("sentinels", bad_sentinel_nohost, "':26379' is not host:port");
    expect_bad("sentinels", bad_sentinel_empty_item, "dailyfresh-redis-sentinels: '' is not host:port (in 'a:1,,b:2')");
    expect_bad("sentinels", bad_sentinel_trailing, "dailyfresh-redis-sentinels: '' is not host:port");
    expect_bad("sentinels", bad_sentinel_space, "'a b:1' is not host:port");
    expect_bad("sentinels", bad_sentinel_semicolon, "is not host:port");
    expect_bad("sentinels", bad_sentinel_bracket, "'[::1:26379' is not host:port");
    expect_bad("sentinels", bad_sentinel_unix, "'unix:/tmp/s.sock' is not host:port");
    expect_bad("sentinels", bad_sentinel_many, "dailyfresh-redis-sentinels: more than 16 sentinels");
    expect_bad("master_name", bad_master_name, "dailyfresh-redis-master-name must not be empty");
}

static void test_config_parse_long(void **state) {
    long v;
    assert_int_equal(config_parse_long("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(config_parse_long(" 42", 0, 100, &v), -1);
    assert_int_equal(config_parse_long("42 ", 0, 100, &v), -1);
    assert_int_equal(config_parse_long("99999999999999999999", 0, 100, &v), -1);
    assert_int_equal(config_parse_long(NULL, 0, 100, &v), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_config_parse_long),
        cmocka_unit_test(test_sentinels_off_by_default),
        cmocka_unit_test(test_sentinel_list),
        cmocka_unit_test(test_sentinel_rejects),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
