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

/* One "host:port" of a list: [a, end) with the blanks around it left out.
 * An IPv6 host comes as [addr]:port; hiredis wants it bare. */
static int parse_hostport(const char *a, const char *end, struct df_hostport *hp) {
    while (a < end && (*a == ' ' || *a == '\t'))
        a++;
    while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *colon = end;
    while (colon > a && colon[-1] != ':')
        colon--;
    if (colon == a || colon - 1 == a || colon == end || end - colon > 5)
        return -1;
    char port_s[6];
    long port;
    memcpy(port_s, colon, (size_t)(end - colon));
    port_s[end - colon] = '\0';
    if (config_parse_long(port_s, 1, 65535, &port) < 0)
        return -1;
    const char *host = a, *host_end = colon - 1;
    if (*host == '[') {
        if (host_end - host < 3 || host_end[-1] != ']')
            return -1;
        host++;
        host_end--;
    }
    /* a name or an address: letters, digits, '.', '-', '_', ':' (IPv6) */
    for (const char *p = host; p < host_end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-' || *p == '_' || *p == ':'))
            return -1;
    hp->host = xmalloc((size_t)(host_end - host) + 1);
    memcpy(hp->host, host, (size_t)(host_end - host));
    hp->host[host_end - host] = '\0';
    hp->port = (int)port;
    return 0;
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
        if (parse_hostport(a, end, &c->sentinels[c->nsentinels]) < 0) {
            snprintf(err, errlen, "dailyfresh-redis-sentinels: '%.*s' is not host:port (in '%s')", (int)(end - a), a,
                     list);
            return -1;
        }
        c->nsentinels++;
        if (!*end)
            return 0;
        a = end + 1;
    }
}

static int bad_host(const char *entry, const char *why, char *err, size_t errlen) {
    snprintf(err, errlen, "dailyfresh-mysql-hosts: '%s' %s", entry, why);
    return -1;
}

/* One entry, trimmed: host, host:port, [v6] or [v6]:port. */
static int parse_mysql_host(struct df_mysql_host *h, const char *entry, long def_port, char *err, size_t errlen) {
    const char *end = entry + strlen(entry), *host = entry, *host_end, *port = NULL;
    long p = def_port;
    if (*entry == '[') {
        host = entry + 1;
        host_end = strchr(host, ']');
        if (!host_end || host_end == host)
            return bad_host(entry, "has no closing ']' or an empty address", err, errlen);
        if (host_end[1] == ':')
            port = host_end + 2;
        else if (host_end[1])
            return bad_host(entry, "has something after ']' that is not :port", err, errlen);
    } else {
        const char *colon = strchr(entry, ':');
        if (colon && strchr(colon + 1, ':'))
            return bad_host(entry, "has more than one ':' (write an IPv6 address as [addr]:port)", err, errlen);
        host_end = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    if (host_end == host)
        return bad_host(entry, "has no host", err, errlen);
    if (port && config_parse_long(port, 1, 65535, &p) < 0)
        return bad_host(entry, "has a port that is not a number from 1 to 65535", err, errlen);
    h->name = xmalloc((size_t)(host_end - host) + 1);
    memcpy(h->name, host, (size_t)(host_end - host));
    h->name[host_end - host] = '\0';
    h->port = (int)p;
    h->skip_until_ms = 0;
    return 0;
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
        if (parse_mysql_host(&hs->host[hs->n], tok, c->mysql_port, err, errlen) < 0)
            goto out;
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
