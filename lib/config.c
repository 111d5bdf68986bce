#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

const char *const order_locking_names[3] = {"guarded", "pessimistic", "optimistic"};

static int parse_locking(struct df_config *c, char *err, size_t errlen) {
    for (int i = 0; i < 3; i++)
        if (strcmp(c->order_locking, order_locking_names[i]) == 0) {
            c->locking = i;
            return 0;
        }
    snprintf(err, errlen, "dailyfresh-order-locking: '%s' is not guarded, pessimistic or optimistic",
             c->order_locking);
    return -1;
}

int config_parse_long(const char *s, long min, long max, long *out) {
    char *end;
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int load_str(char **dst, const char *raw, const char *def) {
    *dst = xstrdup(raw ? raw : def);
    return 0;
}

static int load_int(long *dst, const char *raw, const char *def, long min, long max, const char *name, char *err,
                    size_t errlen) {
    const char *s = raw ? raw : def;
    if (config_parse_long(s, min, max, dst) < 0) {
        snprintf(err, errlen, "%s: '%s' is not a whole number from %ld to %ld", name, s, min, max);
        return -1;
    }
    return 0;
}

static int parse_redis_addr(struct df_config *c, char *err, size_t errlen) {
    const char *a = c->redis;
    if (strncmp(a, "unix:", 5) == 0 || a[0] == '/') {
        const char *path = a[0] == '/' ? a : a + 5;
        if (!*path || strlen(path) >= 108) {
            snprintf(err, errlen, "dailyfresh-redis: bad unix socket path '%s'", path);
            return -1;
        }
        c->redis_unix = xstrdup(path);
        return 0;
    }
    const char *colon = strrchr(a, ':');
    long port;
    if (!colon || colon == a || config_parse_long(colon + 1, 1, 65535, &port) < 0) {
        snprintf(err, errlen, "dailyfresh-redis: '%s' is not host:port or unix:/path", a);
        return -1;
    }
    char *host = xmalloc((size_t)(colon - a) + 1);
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    c->redis_host = host;
    c->redis_port = (int)port;
    return 0;
}

/* One host[:port] of a list, trimmed: a name or an IPv4 address, or an
 * IPv6 address in brackets ([addr] or [addr]:port; the host comes out
 * bare, as hiredis and libmariadb want it). The port is def_port when left
 * out (0: it may not be). NULL, or why the entry is not one. */
static const char *host_port(const char *entry, long def_port, char **host_out, int *port_out) {
    const char *end = entry + strlen(entry), *host = entry, *host_end, *port = NULL;
    long p = def_port;
    if (*entry == '[') {
        host = entry + 1;
        host_end = strchr(host, ']');
        if (!host_end || host_end == host)
            return "has no closing ']' or an empty address";
        if (host_end[1] == ':')
            port = host_end + 2;
        else if (host_end[1])
            return "has something after ']' that is not :port";
    } else {
        const char *colon = strchr(entry, ':');
        if (colon && strchr(colon + 1, ':'))
            return "has more than one ':' (write an IPv6 address as [addr]:port)";
        host_end = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    if (host_end == host)
        return "has no host";
    for (const char *c = host; c < host_end; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
              *c == '-' || *c == '_' || (*c == ':' && host != entry)))
            return "has a host that is not a name or an address";
    if (!port && !def_port)
        return "has no port";
    if (port && (strlen(port) > 5 || config_parse_long(port, 1, 65535, &p) < 0))
        return "has a port that is not a number from 1 to 65535";
    *host_out = xmalloc((size_t)(host_end - host) + 1);
    memcpy(*host_out, host, (size_t)(host_end - host));
    (*host_out)[host_end - host] = '\0';
    *port_out = (int)p;
    return NULL;
}

static void free_sentinels(struct df_config *c) {
    for (size_t i = 0; i < c->nsentinels; i++)
        free(c->sentinels[i].host);
    free(c->sentinels);
    c->sentinels = NULL;
    c->nsentinels = 0;
}

static int parse_sentinels(struct df_config *c, char *err, size_t errlen) {
    const char *list = c->redis_sentinels;
    if (strspn(list, " \t") == strlen(list))
        return 0;
    if (!*c->redis_master_name) {
        snprintf(err, errlen, "dailyfresh-redis-master-name must not be empty when dailyfresh-redis-sentinels is set");
        return -1;
    }
    c->sentinels = xcalloc(DF_MAX_SENTINELS, sizeof(*c->sentinels));
    for (const char *a = list;;) {
        const char *end = strchr(a, ',');
        if (!end)
            end = a + strlen(a);
        if (c->nsentinels == DF_MAX_SENTINELS) {
            snprintf(err, errlen, "dailyfresh-redis-sentinels: more than %d sentinels", DF_MAX_SENTINELS);
            return -1;
        }
        const char *from = a, *to = end;
        while (from < to && (*from == ' ' || *from == '\t'))
            from++;
        while (to > from && (to[-1] == ' ' || to[-1] == '\t'))
            to--;
        char *item = xmalloc((size_t)(to - from) + 1);
        memcpy(item, from, (size_t)(to - from));
        item[to - from] = '\0';
        struct df_hostport *hp = &c->sentinels[c->nsentinels];
        const char *why = host_port(item, 0, &hp->host, &hp->port);
        free(item);
        if (why) {
            snprintf(err, errlen, "dailyfresh-redis-sentinels: '%.*s' is not host:port (in '%s'): it %s",
                     (int)(end - a), a, list, why);
            return -1;
        }
        c->nsentinels++;
        if (!*end)
            return 0;
        a = end + 1;
    }
}

static void free_mysql_hosts(struct df_mysql_hosts *hs) {
    if (!hs)
        return;
    for (size_t i = 0; i < hs->n; i++)
        free(hs->host[i].name);
    pthread_mutex_destroy(&hs->mu);
    free(hs);
}

/* Comma-separated, spaces around entries allowed; empty: none. */
static int parse_mysql_hosts(struct df_config *c, char *err, size_t errlen) {
    char *list = xstrdup(c->mysql_hosts), *save = NULL, *tok;
    struct df_mysql_hosts *hs = NULL;
    int rc = -1;
    const char *s = list;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        rc = 0;
        goto out;
    }
    hs = xcalloc(1, sizeof(*hs));
    pthread_mutex_init(&hs->mu, NULL);
    size_t len = strlen(list);
    if (list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,")) {
        snprintf(err, errlen, "dailyfresh-mysql-hosts: '%s' has an empty entry", c->mysql_hosts);
        goto out;
    }
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *e = tok + strlen(tok);
        while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*tok) {
            snprintf(err, errlen, "dailyfresh-mysql-hosts: '%s' has an empty entry", c->mysql_hosts);
            goto out;
        }
        if (hs->n == DF_MYSQL_MAX_HOSTS) {
            snprintf(err, errlen, "dailyfresh-mysql-hosts: more than %d hosts", DF_MYSQL_MAX_HOSTS);
            goto out;
        }
        const char *why = host_port(tok, c->mysql_port, &hs->host[hs->n].name, &hs->host[hs->n].port);
        if (why) {
            snprintf(err, errlen, "dailyfresh-mysql-hosts: '%s' %s", tok, why);
            goto out;
        }
        for (size_t i = 0; i < hs->n; i++)
            if (strcmp(hs->host[i].name, hs->host[hs->n].name) == 0 && hs->host[i].port == hs->host[hs->n].port) {
                free(hs->host[hs->n].name);
                snprintf(err, errlen, "dailyfresh-mysql-hosts: '%s' is listed twice", tok);
                goto out;
            }
        hs->n++;
    }
    c->mysql_host_list = hs;
    hs = NULL;
    rc = 0;
out:
    free_mysql_hosts(hs);
    free(list);
    return rc;
}

int config_load(struct df_config *c, const struct df_config_raw *raw, int threads, char *err, size_t errlen) {
    memset(c, 0, sizeof(*c));
#define STR(field, name, def, min, max) load_str(&c->field, raw->field, def)
#define INT(field, name, def, min, max) load_int(&c->field, raw->field, def, min, max, name, err, errlen)
#define X(field, name, type, def, min, max, help)                                                                     \
    if (type(field, name, def, min, max) < 0)                                                                       \
        goto fail;
#include "config_opts.def"
#undef X
#undef STR
#undef INT
    if (parse_redis_addr(c, err, errlen) < 0 || parse_sentinels(c, err, errlen) < 0 ||
        parse_locking(c, err, errlen) < 0 || parse_mysql_hosts(c, err, errlen) < 0)
        goto fail;
    if (!*c->mysql_user || !*c->mysql_database) {
        snprintf(err, errlen, "dailyfresh-mysql-user and dailyfresh-mysql-database must not be empty");
        goto fail;
    }
    if (c->mysql_lock_wait_s >= c->mysql_timeout_s) {
        snprintf(err, errlen, "dailyfresh-mysql-lock-wait (%ld s) must be shorter than dailyfresh-mysql-timeout (%ld s)",
                 c->mysql_lock_wait_s, c->mysql_timeout_s);
        goto fail;
    }
    if (c->flash_wait_replicas > 0 && c->flash_wait_timeout_ms >= c->redis_timeout_ms) {
        snprintf(err, errlen,
                 "dailyfresh-flash-wait-timeout (%ld ms) must be shorter than dailyfresh-redis-timeout (%ld ms)",
                 c->flash_wait_timeout_ms, c->redis_timeout_ms);
        goto fail;
    }
    if (c->flash_block_ms >= c->redis_timeout_ms) {
        snprintf(err, errlen, "dailyfresh-flash-block (%ld ms) must be shorter than dailyfresh-redis-timeout (%ld ms)",
                 c->flash_block_ms, c->redis_timeout_ms);
        goto fail;
    }
    c->threads = threads > 0 ? threads : 1;
    if (c->redis_pool == 0)
        c->redis_pool = c->threads;
    if (c->mysql_pool == 0)
        c->mysql_pool = c->threads;
    return 0;
fail:
    config_free(c);
    return -1;
}

void config_free(struct df_config *c) {
#define STR(field) free(c->field), c->field = NULL
#define INT(field) (void)0
#define X(field, name, type, def, min, max, help) type(field);
#include "config_opts.def"
#undef X
#undef STR
#undef INT
    free(c->redis_host);
    free(c->redis_unix);
    c->redis_host = c->redis_unix = NULL;
    free_sentinels(c);
    free_mysql_hosts(c->mysql_host_list);
    c->mysql_host_list = NULL;
}
