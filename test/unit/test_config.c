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
    assert_int_equal(c.flash_buy_rate, 10);
    assert_int_equal(c.flash_buy_window, 10);
    assert_int_equal(c.flash_wait_replicas, 0);
    assert_int_equal(c.flash_wait_timeout_ms, 200);
    assert_int_equal(c.flash_batch, 200);
    assert_int_equal(c.flash_block_ms, 200);
    assert_int_equal(c.flash_claim_ms, 5000);
    assert_int_equal(c.flash_consumer_idle_ms, 600000);
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
static void bad_buy_window(struct df_config_raw *r) { r->flash_buy_window = "0"; }
/* the WAIT must end before the command timeout gives the connection up */
static void bad_wait_timeout(struct df_config_raw *r) {
    r->flash_wait_replicas = "1";
    r->flash_wait_timeout_ms = "1000"; /* dailyfresh-redis-timeout is 1000 */
}
static void bad_flash_block(struct df_config_raw *r) { r->flash_block_ms = "1000"; } /* the Redis timeout is 1000 */
static void bad_flash_batch(struct df_config_raw *r) { r->flash_batch = "0"; }

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
    expect_bad("flash_buy_window", bad_buy_window, "dailyfresh-flash-buy-window: '0' is not a whole number from 1 to 3600");
    expect_bad("flash_wait_timeout", bad_wait_timeout,
               "dailyfresh-flash-wait-timeout (1000 ms) must be shorter than dailyfresh-redis-timeout (1000 ms)");
    expect_bad("flash_block", bad_flash_block,
               "dailyfresh-flash-block (1000 ms) must be shorter than dailyfresh-redis-timeout (1000 ms)");
    expect_bad("flash_batch", bad_flash_batch, "dailyfresh-flash-batch: '0' is not a whole number from 1 to 5000");
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

static void test_mysql_hosts_default(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_null(c.mysql_host_list); /* host, port and socket as before */
    assert_int_equal(c.mysql_connect_timeout_s, 2);
    assert_int_equal(c.mysql_host_retry_s, 5);
    config_free(&c);
    raw.mysql_hosts = "  ";
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_null(c.mysql_host_list);
    config_free(&c);
}

static void test_mysql_hosts_parsed(void **state) {
    struct df_config_raw raw;
    struct df_config c;
    char err[256] = "";
    memset(&raw, 0, sizeof(raw));
    raw.mysql_hosts = "db1.internal, 10.0.0.2:3307 ,[fd00::3]:3308,[::1],db5";
    raw.mysql_port = "3310"; /* the port of an entry without one */
    raw.mysql_socket = "/run/mysqld/mysqld.sock"; /* not used when hosts are given */
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_non_null(c.mysql_host_list);
    struct df_mysql_hosts *hs = c.mysql_host_list;
    assert_int_equal(hs->n, 5);
    assert_string_equal(hs->host[0].name, "db1.internal");
    assert_int_equal(hs->host[0].port, 3310);
    assert_string_equal(hs->host[1].name, "10.0.0.2");
    assert_int_equal(hs->host[1].port, 3307);
    assert_string_equal(hs->host[2].name, "fd00::3");
    assert_int_equal(hs->host[2].port, 3308);
    assert_string_equal(hs->host[3].name, "::1");
    assert_int_equal(hs->host[3].port, 3310);
    assert_string_equal(hs->host[4].name, "db5");
    assert_int_equal(hs->host[4].port, 3310);
    for (size_t i = 0; i < hs->n; i++)
        assert_int_equal(hs->host[i].skip_until_ms, 0);
    config_free(&c);
    assert_null(c.mysql_host_list);
    raw.mysql_hosts = "127.0.0.1:65535";
    raw.mysql_connect_timeout_s = "1";
    raw.mysql_host_retry_s = "3600";
    assert_int_equal(config_load(&c, &raw, 2, err, sizeof(err)), 0);
    assert_int_equal(c.mysql_host_list->n, 1);
    assert_int_equal(c.mysql_host_list->host[0].port, 65535);
    assert_int_equal(c.mysql_connect_timeout_s, 1);
    assert_int_equal(c.mysql_host_retry_s, 3600);
    config_free(&c);
}

static void bad_hosts_empty_entry(struct df_config_raw *r) { r->mysql_hosts = "db1,,db2"; }
static void bad_hosts_trailing_comma(struct df_config_raw *r) { r->mysql_hosts = "db1,db2,"; }
static void bad_hosts_blank_entry(struct df_config_raw *r) { r->mysql_hosts = "db1, ,db2"; }
static void bad_hosts_port(struct df_config_raw *r) { r->mysql_hosts = "db1:3306,db2:0"; }
static void bad_hosts_port_text(struct df_config_raw *r) { r->mysql_hosts = "db1:mysql"; }
static void bad_hosts_no_port(struct df_config_raw *r) { r->mysql_hosts = "db1:"; }
static void bad_hosts_no_host(struct df_config_raw *r) { r->mysql_hosts = ":3306"; }
static void bad_hosts_v6_bare(struct df_config_raw *r) { r->mysql_hosts = "fd00::3"; }
static void bad_hosts_v6_open(struct df_config_raw *r) { r->mysql_hosts = "[fd00::3:3306"; }
static void bad_hosts_v6_after(struct df_config_raw *r) { r->mysql_hosts = "[fd00::3]3306"; }
static void bad_hosts_twice(struct df_config_raw *r) { r->mysql_hosts = "db1:3306, db2, db1:3306"; }
static void bad_hosts_too_many(struct df_config_raw *r) {
    r->mysql_hosts = "h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16,h17";
}
static void bad_connect_timeout(struct df_config_raw *r) { r->mysql_connect_timeout_s = "0"; }
static void bad_host_retry(struct df_config_raw *r) { r->mysql_host_retry_s = "3601"; }

static void test_mysql_hosts_rejects(void **state) {
    expect_bad("mysql_hosts", bad_hosts_empty_entry, "dailyfresh-mysql-hosts: 'db1,,db2' has an empty entry");
    expect_bad("mysql_hosts", bad_hosts_trailing_comma, "has an empty entry");
    expect_bad("mysql_hosts", bad_hosts_blank_entry, "has an empty entry");
    expect_bad("mysql_hosts", bad_hosts_port, "'db2:0' has a port that is not a number from 1 to 65535");
    expect_bad("mysql_hosts", bad_hosts_port_text, "'db1:mysql' has a port");
    expect_bad("mysql_hosts", bad_hosts_no_port, "'db1:' has a port");
    expect_bad("mysql_hosts", bad_hosts_no_host, "':3306' has no host");
    expect_bad("mysql_hosts", bad_hosts_v6_bare, "write an IPv6 address as [addr]:port");
    expect_bad("mysql_hosts", bad_hosts_v6_open, "no closing ']'");
    expect_bad("mysql_hosts", bad_hosts_v6_after, "after ']'");
    expect_bad("mysql_hosts", bad_hosts_twice, "'db1:3306' is listed twice");
    expect_bad("mysql_hosts", bad_hosts_too_many, "more than 16 hosts");
    expect_bad("mysql_connect_timeout", bad_connect_timeout,
               "dailyfresh-mysql-connect-timeout: '0' is not a whole number from 1 to 600");
    expect_bad("mysql_host_retry", bad_host_retry, "dailyfresh-mysql-host-retry: '3601' is not a whole number from 1 to 3600");
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
        cmocka_unit_test(test_mysql_hosts_default),
        cmocka_unit_test(test_mysql_hosts_parsed),
        cmocka_unit_test(test_mysql_hosts_rejects),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
