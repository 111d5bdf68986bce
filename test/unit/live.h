/* What the live unit tests (test_*_live.c) share: the settings of the
 * private stack's servers, whose sockets scripts/test.sh exports. */
#ifndef DF_TEST_LIVE_H
#define DF_TEST_LIVE_H

#include <stdlib.h>

#include "config.h"

/* Fills cfg's Redis and MariaDB settings; -1 (said why) when the sockets
 * are not given. Timeouts are the caller's to change. */
static inline int live_config(struct df_config *cfg) {
    cfg->redis = cfg->redis_unix = getenv("DF_TEST_REDIS_SOCK");
    cfg->redis_timeout_ms = 1000;
    cfg->mysql_socket = getenv("DF_TEST_MYSQL_SOCK");
    cfg->mysql_host = "localhost";
    cfg->mysql_user = "dailyfresh";
    cfg->mysql_password = "dailyfresh";
    cfg->mysql_database = "dailyfresh";
    cfg->mysql_timeout_s = 5;
    if (!cfg->redis || !cfg->mysql_socket) {
        print_error("DF_TEST_REDIS_SOCK and DF_TEST_MYSQL_SOCK must name the live servers\n");
        return -1;
    }
    return 0;
}

#endif
