/* dailyfresh-mysql-hosts against real servers on loopback: a plain
 * MariaDB and a single-node Galera cluster that test/unit/mariadb-nodes.sh
 * starts for this test (and stops, even when the test dies), a port that
 * refuses connections and one that accepts them but never answers. Which
 * server a connection reached is told by its @@port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "pool.h"
#include "req.h"

#define NODES_SCRIPT "test/unit/mariadb-nodes.sh"
#define SYNC_WAIT_S 30 /* a node that left its cluster is Synced again well within this */

static char nodes_dir[256];
static int plain_port, galera_port;
static int refused_fd = -1, refused_port; /* bound, not listening: connect() is refused */
static int hung_fd = -1, hung_port;       /* listening, never accepted: no greeting comes */

static int bound_socket(int *port, int listen_too) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || (listen_too && listen(fd, 16) != 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void stop_nodes(void) {
    if (!nodes_dir[0])
        return;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), NODES_SCRIPT " stop %s", nodes_dir);
    if (system(cmd) != 0)
        print_error("could not stop the servers under %s\n", nodes_dir);
    nodes_dir[0] = '\0';
}

static int group_setup(void **state) {
    char cmd[128], line[512] = "";
    mysql_library_init(0, NULL, NULL);
    snprintf(cmd, sizeof(cmd), NODES_SCRIPT " start %ld", (long)getpid());
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char *got = fgets(line, sizeof(line), f);
    int rc = pclose(f);
    if (!got || rc != 0 || sscanf(line, "%255s %d %d", nodes_dir, &plain_port, &galera_port) != 3) {
        print_error("%s failed: '%s'\n", cmd, line);
        nodes_dir[0] = '\0';
        return -1;
    }
    refused_fd = bound_socket(&refused_port, 0);
    hung_fd = bound_socket(&hung_port, 1);
    return refused_fd < 0 || hung_fd < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
    stop_nodes();
    if (refused_fd >= 0)
        close(refused_fd);
    if (hung_fd >= 0)
        close(hung_fd);
    mysql_library_end();
    return 0;
}

/* The Galera node's administrator, over its unix socket (root by socket
 * authentication). */
static void galera_admin(const char *sql) {
    char sock[320];
    snprintf(sock, sizeof(sock), "%s/galera/mysqld.sock", nodes_dir);
    MYSQL *m = mysql_init(NULL);
    assert_non_null(m);
    if (!mysql_real_connect(m, "localhost", "root", NULL, NULL, 0, sock, 0) || mysql_query(m, sql) != 0)
        fail_msg("%s: %s", sql, mysql_error(m));
    mysql_close(m);
}

static long long galera_status(const char *name) {
    char sock[320], sql[256];
    long long v = -1;
    snprintf(sock, sizeof(sock), "%s/galera/mysqld.sock", nodes_dir);
    snprintf(sql, sizeof(sql), "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '%s'",
             name);
    MYSQL *m = mysql_init(NULL);
    assert_non_null(m);
    if (mysql_real_connect(m, "localhost", "root", NULL, NULL, 0, sock, 0) && mysql_query(m, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        if (row && row[0])
            v = strcmp(row[0], "ON") == 0 ? 1 : strcmp(row[0], "OFF") == 0 ? 0 : strtoll(row[0], NULL, 10);
        mysql_free_result(res);
    }
    mysql_close(m);
    return v;
}

static void wait_galera_synced(void) {
    for (int i = 0; i < SYNC_WAIT_S * 10; i++) {
        if (galera_status("WSREP_LOCAL_STATE") == 4 && galera_status("WSREP_READY") == 1)
            return;
        usleep(100 * 1000);
    }
    fail_msg("the Galera node is not Synced after %d s", SYNC_WAIT_S);
}

/* Whatever a test did to the Galera node is undone, even when it failed. */
static int galera_restore(void **state) {
    galera_admin("SET GLOBAL wsrep_desync = OFF");
    galera_admin("SET GLOBAL wsrep_reject_queries = NONE");
    if (galera_status("WSREP_READY") != 1)
        galera_admin("SET GLOBAL wsrep_cluster_address = 'gcomm://'");
    wait_galera_synced();
    return 0;
}

struct lab {
    struct df_app app;
};

/* An app whose pool of `size` connects to hosts (a dailyfresh-mysql-hosts
 * value), parsed as at start-up. */
static void lab_open(struct lab *l, const char *hosts, const char *retry_s, size_t size) {
    struct df_config_raw raw;
    char err[256];
    memset(l, 0, sizeof(*l));
    memset(&raw, 0, sizeof(raw));
    raw.mysql_hosts = (char *)hosts;
    raw.mysql_password = "dailyfresh";
    raw.mysql_connect_timeout_s = "1";
    raw.mysql_host_retry_s = (char *)retry_s;
    if (config_load(&l->app.cfg, &raw, (int)size, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    assert_int_equal(pool_init(&l->app.mysql, &mysql_pool_ops, &l->app.cfg, size, 5000), 0);
}

static void lab_close(struct lab *l) {
    pool_destroy(&l->app.mysql);
    config_free(&l->app.cfg);
}

/* The port of the server r's connection is on; -1 when it failed. */
static int server_port(struct df_req *r) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT @@port", "") < 0 || db_next(&rows) != 1)
        return -1;
    return (int)db_ll(&rows, 0);
}

/* The port a request of its own lands on. */
static int next_port(struct lab *l) {
    struct df_req r;
    req_init(&r, &l->app);
    int port = server_port(&r);
    req_release(&r);
    return port;
}

static void hosts_of(char *buf, size_t len, int a, int b, int c) {
    int n = snprintf(buf, len, "127.0.0.1:%d", a);
    if (b)
        n += snprintf(buf + n, len - (size_t)n, ", 127.0.0.1:%d", b);
    if (c)
        snprintf(buf + n, len - (size_t)n, ", 127.0.0.1:%d", c);
}

/* Connections accepted by the kernel on the hung port since last asked. */
static int hung_connections(void) {
    int n = 0, fd;
    int fl = fcntl(hung_fd, F_GETFL);
    fcntl(hung_fd, F_SETFL, fl | O_NONBLOCK);
    while ((fd = accept(hung_fd, NULL, NULL)) >= 0) {
        close(fd);
        n++;
    }
    fcntl(hung_fd, F_SETFL, fl);
    return n;
}

static void test_first_host_down_next_used(void **state) {
    struct lab l;
    char hosts[128];
    hosts_of(hosts, sizeof(hosts), refused_port, galera_port, plain_port);
    lab_open(&l, hosts, "60", 2);
    assert_int_equal(next_port(&l), galera_port);
    /* the refusing host is remembered as failed */
    assert_true(l.app.cfg.mysql_host_list->host[0].skip_until_ms > 0);
    assert_int_equal(l.app.cfg.mysql_host_list->host[1].skip_until_ms, 0);
    lab_close(&l);

    /* no host up: refused with every host's reason */
    hosts_of(hosts, sizeof(hosts), refused_port, 0, 0);
    lab_open(&l, hosts, "60", 1);
    char err[512] = "", where[64];
    assert_null(pool_get(&l.app.mysql, err, sizeof(err)));
    snprintf(where, sizeof(where), "127.0.0.1:%d connect:", refused_port);
    if (!strstr(err, where))
        fail_msg("'%s' does not name '%s'", err, where);
    struct df_req r;
    req_init(&r, &l.app);
    assert_int_equal(server_port(&r), -1);
    assert_int_equal(r.fail_status, 503);
    req_release(&r);
    lab_close(&l);
}

static void test_hung_host_skipped_after_one_timeout(void **state) {
    struct lab l;
    char hosts[128];
    hung_connections();
    hosts_of(hosts, sizeof(hosts), hung_port, galera_port, 0);
    lab_open(&l, hosts, "60", 2);
    struct df_req a, b;
    req_init(&a, &l.app);
    req_init(&b, &l.app);
    assert_int_equal(server_port(&a), galera_port);
    assert_int_equal(hung_connections(), 1);
    assert_int_equal(server_port(&b), galera_port); /* a second connection, opened while a holds the first */
    assert_int_equal(hung_connections(), 0);
    req_release(&a);
    req_release(&b);
    assert_int_equal(pool_open_count(&l.app.mysql), 2); /* on the first healthy host: kept */
    lab_close(&l);
}

/* Desynced (Donor/Desynced, wsrep_local_state 2): up, handshake and all,
 * but skipped; once Synced again it is the first choice again, and a
 * connection on the later host is given up when it comes back. */
static void test_desynced_node_skipped_then_used_again(void **state) {
    struct lab l;
    char hosts[128];
    hosts_of(hosts, sizeof(hosts), galera_port, plain_port, 0);
    lab_open(&l, hosts, "1", 1);
    galera_admin("SET GLOBAL wsrep_desync = ON");
    assert_int_equal(galera_status("WSREP_LOCAL_STATE"), 2);
    assert_int_equal(next_port(&l), plain_port);
    assert_int_equal(pool_open_count(&l.app.mysql), 1); /* the Galera node is still skipped: kept */
    galera_admin("SET GLOBAL wsrep_desync = OFF");
    wait_galera_synced();
    usleep(1100 * 1000); /* past dailyfresh-mysql-host-retry (1 s) */
    /* the pooled connection on the later host is used once more, then
     * given up: the next request connects to the Galera node again */
    assert_int_equal(next_port(&l), plain_port);
    assert_int_equal(pool_open_count(&l.app.mysql), 0);
    assert_int_equal(next_port(&l), galera_port);
    assert_int_equal(next_port(&l), galera_port);
    assert_int_equal(pool_open_count(&l.app.mysql), 1);
    lab_close(&l);
}

/* A node out of its cluster (here: its cluster address emptied, as when
 * it is isolated) still completes the handshake but is not ready: it is
 * skipped, and with no other host there is no connection (503). Back in
 * the cluster and Synced, it is used again. */
static void test_node_not_ready_skipped(void **state) {
    struct lab l, alone;
    char hosts[128];
    hosts_of(hosts, sizeof(hosts), galera_port, plain_port, 0);
    lab_open(&l, hosts, "1", 1);
    hosts_of(hosts, sizeof(hosts), galera_port, 0, 0);
    lab_open(&alone, hosts, "1", 1);
    galera_admin("CREATE TABLE IF NOT EXISTS dailyfresh.probe (id INT PRIMARY KEY) ENGINE=InnoDB");
    assert_int_equal(next_port(&l), galera_port);
    /* leaving the cluster, the node also closes its client connections */
    galera_admin("SET GLOBAL wsrep_cluster_address = ''");
    assert_int_equal(galera_status("WSREP_READY"), 0);

    assert_int_equal(next_port(&l), plain_port);
    assert_true(l.app.cfg.mysql_host_list->host[0].skip_until_ms > 0);
    struct df_req r;
    struct db_rows rows;
    req_init(&r, &alone.app);
    assert_int_equal(db_query(&r, &rows, "SELECT COUNT(*) FROM probe", ""), -1);
    assert_int_equal(r.fail_status, 503);
    req_release(&r);
    assert_int_equal(pool_open_count(&alone.app.mysql), 0);

    galera_admin("SET GLOBAL wsrep_cluster_address = 'gcomm://'");
    wait_galera_synced();
    usleep(1100 * 1000); /* past dailyfresh-mysql-host-retry */
    assert_int_equal(next_port(&l), plain_port); /* given up after this use */
    req_init(&r, &l.app);
    assert_int_equal(server_port(&r), galera_port);
    assert_int_equal(db_query(&r, &rows, "SELECT COUNT(*) FROM probe", ""), 0);
    req_release(&r);
    req_init(&r, &alone.app);
    assert_int_equal(db_query(&r, &rows, "SELECT COUNT(*) FROM probe", ""), 0);
    req_release(&r);
    lab_close(&alone);
    lab_close(&l);
}

/* wsrep_reject_queries = ALL drains a node (one being taken out of
 * service): a pooled connection's next statement gets 1047, which is a
 * 503 and drops the connection, and the next connection goes to the next
 * host. */
static void test_drained_node_skipped(void **state) {
    struct lab l;
    char hosts[128];
    hosts_of(hosts, sizeof(hosts), galera_port, plain_port, 0);
    lab_open(&l, hosts, "1", 1);
    galera_admin("CREATE TABLE IF NOT EXISTS dailyfresh.probe (id INT PRIMARY KEY) ENGINE=InnoDB");
    assert_int_equal(next_port(&l), galera_port);
    galera_admin("SET GLOBAL wsrep_reject_queries = ALL");

    struct df_req r;
    struct db_rows rows;
    req_init(&r, &l.app);
    int rc = db_query(&r, &rows, "SELECT COUNT(*) FROM probe", "");
    int err = db_last_errno(&r), status = r.fail_status, broken = r.mysql_broken;
    req_release(&r);
    size_t open_after = pool_open_count(&l.app.mysql);
    int next = next_port(&l);
    galera_admin("SET GLOBAL wsrep_reject_queries = NONE");
    assert_int_equal(open_after, 0); /* dropped, not pooled */
    assert_int_equal(rc, -1);
    assert_int_equal(err, 1047);
    assert_int_equal(status, 503);
    assert_true(broken);
    assert_int_equal(next, plain_port);
    lab_close(&l);
}

/* On Galera a transaction can be aborted by another's write while its
 * client is idle (a replicated write set, or as here a DDL run in total
 * order): the 1213 then comes at the next statement, COMMIT included. It
 * is a roll-back, retryable, a 503 that keeps the connection. */
static void test_deadlock_at_commit_is_rolled_back(void **state) {
    struct lab l;
    char hosts[128];
    hosts_of(hosts, sizeof(hosts), galera_port, 0, 0);
    lab_open(&l, hosts, "1", 1);
    galera_admin("CREATE TABLE IF NOT EXISTS dailyfresh.counter (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB");
    galera_admin("REPLACE INTO dailyfresh.counter VALUES (1, 0)");
    struct df_req r;
    struct db_rows rows;
    req_init(&r, &l.app);
    assert_int_equal(db_begin(&r), 0);
    assert_int_equal(db_exec(&r, "UPDATE counter SET n = n + 1 WHERE id = 1", ""), 1);
    galera_admin("ALTER TABLE dailyfresh.counter COMMENT = 'aborts the open transaction'");
    assert_int_equal(db_commit(&r), -1);
    assert_int_equal(db_last_errno(&r), 1213);
    assert_true(db_retryable(&r));
    assert_int_equal(r.fail_status, 503);
    assert_false(r.mysql_broken);
    req_release(&r);
    assert_int_equal(pool_open_count(&l.app.mysql), 1); /* kept */
    req_init(&r, &l.app);
    assert_int_equal(db_query(&r, &rows, "SELECT n FROM counter WHERE id = 1", ""), 0);
    assert_int_equal(db_next(&rows), 1);
    assert_int_equal(db_ll(&rows, 0), 0); /* nothing of it applied */
    req_release(&r);
    lab_close(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_host_down_next_used),
        cmocka_unit_test(test_hung_host_skipped_after_one_timeout),
        cmocka_unit_test_teardown(test_desynced_node_skipped_then_used_again, galera_restore),
        cmocka_unit_test_teardown(test_node_not_ready_skipped, galera_restore),
        cmocka_unit_test_teardown(test_drained_node_skipped, galera_restore),
        cmocka_unit_test(test_deadlock_at_commit_is_rolled_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
