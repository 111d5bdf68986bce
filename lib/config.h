/* The plugin's settings, parsed and validated once in the master. */
#ifndef DF_CONFIG_H
#define DF_CONFIG_H

#include <pthread.h>
#include <stddef.h>

#define DF_MAX_SENTINELS 16

struct df_hostport {
    char *host;
    int port;
};

#define DF_MYSQL_MAX_HOSTS 16

/* dailyfresh-mysql-hosts parsed. Each worker's copy (after fork) also
 * holds that worker's memory of failed nodes, locked: lib/db.c. */
struct df_mysql_host {
    char *name; /* an IPv6 address without its brackets */
    int port;
    long long skip_until_ms; /* CLOCK_MONOTONIC; 0: not failed */
};
struct df_mysql_hosts {
    pthread_mutex_t mu;
    size_t n;
    struct df_mysql_host host[DF_MYSQL_MAX_HOSTS];
};

#define STR char *
#define INT long
struct df_config {
#define X(field, name, type, def, min, max, help) type field;
#include "config_opts.def"
#undef X
    /* derived from redis */
    char *redis_host;
    int redis_port;
    char *redis_unix;
    /* derived from redis_sentinels: nsentinels == 0 when off */
    struct df_hostport *sentinels;
    size_t nsentinels;
    /* derived from mysql_hosts; NULL when it is empty */
    struct df_mysql_hosts *mysql_host_list;
    int threads; /* threads per worker, from uWSGI */
    int locking; /* enum order_locking, from order_locking */
};
#undef STR
#undef INT

enum order_locking { LOCK_GUARDED = 0, LOCK_PESSIMISTIC = 1, LOCK_OPTIMISTIC = 2 };
extern const char *const order_locking_names[3]; /* indexed by the enum */

/* Raw strings as uWSGI set them (NULL = not given). */
struct df_config_raw {
#define X(field, name, type, def, min, max, help) char *field;
#include "config_opts.def"
#undef X
};

/* Fills c from raw (defaults where NULL); -1 with one line in err when a
 * value is unusable. c owns its strings: free them with config_free. */
int config_load(struct df_config *c, const struct df_config_raw *raw, int threads, char *err, size_t errlen);
void config_free(struct df_config *c);
/* Strict integer parse: the whole string, base 10, within [min, max]. */
int config_parse_long(const char *s, long min, long max, long *out);

#endif
