#include "rds.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* A connection with the short Redis timeout on connect and on every
 * command; NULL with err filled. */
static redisContext *redis_connect(const char *host, int port, const char *unix_path, struct timeval tv, char *err,
                                   size_t errlen) {
    redisContext *c = unix_path ? redisConnectUnixWithTimeout(unix_path, tv) : redisConnectWithTimeout(host, port, tv);
    if (!c) {
        snprintf(err, errlen, "cannot allocate redis context");
        return NULL;
    }
    if (c->err) {
        if (unix_path)
            snprintf(err, errlen, "connect unix:%s: %s", unix_path, c->errstr);
        else
            snprintf(err, errlen, "connect %s:%d: %s", host, port, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "set timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* The address a sentinel gives for the master: 0 with host and port, -1
 * with err filled. */
static int ask_sentinel(const struct df_config *cfg, const struct df_hostport *s, struct timeval tv, char *host,
                        size_t hostlen, int *port, char *err, size_t errlen) {
    int rc = -1;
    redisContext *c = redis_connect(s->host, s->port, NULL, tv, err, errlen);
    if (!c)
        return -1;
    redisReply *rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis_master_name);
    long p;
    if (!rep)
        snprintf(err, errlen, "%s", c->errstr);
    else if (rep->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s", rep->str);
    else if (rep->type == REDIS_REPLY_NIL)
        snprintf(err, errlen, "does not know a master named '%s'", cfg->redis_master_name);
    else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
             rep->element[1]->type != REDIS_REPLY_STRING || rep->element[0]->len == 0 ||
             rep->element[0]->len >= hostlen || config_parse_long(rep->element[1]->str, 1, 65535, &p) < 0)
        snprintf(err, errlen, "answered something that is not an address");
    else {
        memcpy(host, rep->element[0]->str, rep->element[0]->len + 1);
        *port = (int)p;
        rc = 0;
    }
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

/* ROLE, for a sentinel's answer can be stale: the server it names may have
 * been demoted (or not yet promoted). 0 when c is a master. */
static int confirm_master(redisContext *c, char *err, size_t errlen) {
    int rc = -1;
    redisReply *rep = redisCommand(c, "ROLE");
    if (!rep)
        snprintf(err, errlen, "ROLE: %s", c->errstr);
    else if (rep->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "ROLE: %s", rep->str);
    else if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || rep->element[0]->type != REDIS_REPLY_STRING)
        snprintf(err, errlen, "ROLE: unexpected answer");
    else if (strcmp(rep->element[0]->str, "master") != 0)
        snprintf(err, errlen, "not a master (ROLE says %s)", rep->element[0]->str);
    else
        rc = 0;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* The sentinel that named the master last is asked first: a dead sentinel
 * then costs its timeout once, not on every new connection. Shared by the
 * threads of a worker; a stale index only changes where the walk starts. */
static _Atomic size_t first_sentinel;

/* Asks the sentinels in turn for the master and connects to it; each step
 * (a connect, a reply) waits at most the Redis timeout, so a walk is
 * bounded by 4 timeouts a sentinel. NULL, err naming why each one failed,
 * when none led to a master. */
static redisContext *open_through_sentinels(const struct df_config *cfg, struct timeval tv, char *err,
                                            size_t errlen) {
    size_t start = first_sentinel % cfg->nsentinels;
    int used = snprintf(err, errlen, "no master '%s' found:", cfg->redis_master_name);
    size_t head = used < 0 ? 0 : (size_t)used < errlen ? (size_t)used : errlen - 1; /* where the failures start */
    for (size_t k = 0; k < cfg->nsentinels; k++) {
        size_t i = (start + k) % cfg->nsentinels;
        const struct df_hostport *s = &cfg->sentinels[i];
        char host[256], why[160];
        int port = 0;
        redisContext *c = NULL;
        if (ask_sentinel(cfg, s, tv, host, sizeof(host), &port, why, sizeof(why)) == 0 &&
            (c = redis_connect(host, port, NULL, tv, why, sizeof(why))) != NULL) {
            if (confirm_master(c, why, sizeof(why)) == 0) {
                if (k > 0) /* a sentinel that is down or names a replica is the operator's to see */
                    df_log("redis: master %s:%d named by sentinel %s:%d;%s", host, port, s->host, s->port,
                           err + head);
                first_sentinel = i;
                return c;
            }
            redisFree(c);
        }
        if (used >= 0 && (size_t)used < errlen) {
            int n = port ? snprintf(err + used, errlen - (size_t)used, " sentinel %s:%d names %s:%d: %s;", s->host,
                                    s->port, host, port, why)
                         : snprintf(err + used, errlen - (size_t)used, " sentinel %s:%d: %s;", s->host, s->port, why);
            used = n < 0 ? -1 : used + n;
        }
    }
    return NULL;
}

static void *redis_open(void *cfgp, char *err, size_t errlen) {
    const struct df_config *cfg = cfgp;
    struct timeval tv = {cfg->redis_timeout_ms / 1000, (cfg->redis_timeout_ms % 1000) * 1000};
    if (cfg->nsentinels)
        return open_through_sentinels(cfg, tv, err, errlen);
    return redis_connect(cfg->redis_host, cfg->redis_port, cfg->redis_unix, tv, err, errlen);
}

/* hiredis: "once an error is returned the context cannot be reused" */
static int redis_reset(void *conn) {
    redisContext *c = conn;
    return c->err ? -1 : 0;
}

static int redis_alive(void *conn) {
    return pool_fd_alive(((redisContext *)conn)->fd);
}

static void redis_close(void *conn) {
    redisFree(conn);
}

const struct pool_ops redis_pool_ops = {"redis", redis_open, redis_reset, redis_alive, redis_close};

redisContext *rds_conn(struct df_req *r) {
    if (r->redis_slot)
        return r->redis_broken ? NULL : r->redis_slot->conn;
    char err[1024]; /* room for a failure per sentinel */
    r->redis_slot = pool_get(&r->app->redis, err, sizeof(err));
    if (!r->redis_slot) {
        req_fail(r, 503, "redis", err);
        return NULL;
    }
    return r->redis_slot->conn;
}

static void conn_failed(struct df_req *r, redisContext *c) {
    r->redis_broken = 1;
    req_fail(r, 503, "redis", c->errstr[0] ? c->errstr : "connection lost");
}

/* An error reply that says this server cannot serve now: the connection
 * is of no more use (a demoted master answers READONLY to every write for
 * as long as it lives), and the next one asks afresh where the master is. */
static int reply_unavailable(const redisReply *rep) {
    static const char *const unavailable[] = {"LOADING", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN"};
    for (size_t i = 0; i < sizeof(unavailable) / sizeof(unavailable[0]); i++) {
        size_t n = strlen(unavailable[i]);
        if (strncmp(rep->str, unavailable[i], n) == 0 && (rep->str[n] == ' ' || rep->str[n] == '\0'))
            return 1;
    }
    return 0;
}

void rds_reply_failed(struct df_req *r, const redisReply *rep) {
    if (reply_unavailable(rep)) {
        r->redis_broken = 1;
        req_fail(r, 503, "redis", rep->str);
        return;
    }
    req_fail(r, 500, "redis", rep->str);
}

static redisReply *own(struct df_req *r, void *reply) {
    arena_defer(&r->arena, freeReplyObject, reply);
    return reply;
}

static redisReply *checked(struct df_req *r, redisContext *c, redisReply *rep) {
    if (!rep) {
        conn_failed(r, c);
        return NULL;
    }
    own(r, rep);
    if (rep->type == REDIS_REPLY_ERROR) {
        rds_reply_failed(r, rep);
        return NULL;
    }
    return rep;
}

redisReply *rds_cmd(struct df_req *r, const char *fmt, ...) {
    redisContext *c = rds_conn(r);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    return checked(r, c, rep);
}

redisReply *rds_cmdargv(struct df_req *r, int argc, const char **argv, const size_t *argvlen) {
    redisContext *c = rds_conn(r);
    if (!c)
        return NULL;
    return checked(r, c, redisCommandArgv(c, argc, argv, argvlen));
}

int rds_append(struct df_req *r, const char *fmt, ...) {
    redisContext *c = rds_conn(r);
    if (!c)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        conn_failed(r, c);
        return -1;
    }
    r->redis_pending++;
    return 0;
}

redisReply *rds_reply(struct df_req *r) {
    void *rep = NULL;
    if (!r->redis_slot || r->redis_pending <= 0)
        return NULL;
    /* read even when an earlier reply of the pipeline marked the connection
     * broken: the caller reads them all (a failed context fails at once) */
    redisContext *c = r->redis_slot->conn;
    if (redisGetReply(c, &rep) != REDIS_OK || !rep) {
        conn_failed(r, c);
        return NULL;
    }
    r->redis_pending--;
    redisReply *reply = own(r, rep);
    if (reply->type == REDIS_REPLY_ERROR && reply_unavailable(reply))
        r->redis_broken = 1; /* never pooled, whatever the caller makes of the reply */
    return reply;
}

static pthread_mutex_t sha_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *script_hash(struct rds_script *s) {
    pthread_mutex_lock(&sha_mu);
    if (!s->sha[0]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_Digest(s->src, strlen(s->src), md, &n, EVP_sha1(), NULL);
        for (unsigned int i = 0; i < n && i < 20; i++)
            snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    }
    pthread_mutex_unlock(&sha_mu);
    return s->sha;
}

int rds_eval_start(struct df_req *r, struct rds_call *call, struct rds_script *s, int nkeys, int nargs,
                   const char **argv) {
    int done = 0;
    call->script = s;
    call->argc = 3 + nkeys + nargs;
    call->argv = arena_alloc(&r->arena, sizeof(char *) * (size_t)call->argc);
    snprintf(call->nkeys, sizeof(call->nkeys), "%d", nkeys);
    call->argv[0] = "EVALSHA";
    call->argv[1] = script_hash(s);
    call->argv[2] = call->nkeys;
    for (int i = 0; i < nkeys + nargs; i++)
        call->argv[3 + i] = argv[i];
    redisContext *c = rds_conn(r);
    if (!c)
        return -1;
    if (redisAppendCommandArgv(c, call->argc, call->argv, NULL) != REDIS_OK) {
        conn_failed(r, c);
        return -1;
    }
    r->redis_pending++;
    /* on its way now, so that Redis works while the caller waits elsewhere */
    while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            conn_failed(r, c);
            return -1;
        }
    }
    return 0;
}

redisReply *rds_eval_finish(struct df_req *r, struct rds_call *call) {
    redisReply *rep = rds_reply(r);
    if (!rep)
        return NULL;
    if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        call->argv[0] = "EVAL";
        call->argv[1] = call->script->src;
        return checked(r, r->redis_slot->conn, redisCommandArgv(r->redis_slot->conn, call->argc, call->argv, NULL));
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        rds_reply_failed(r, rep);
        return NULL;
    }
    return rep;
}

redisReply *rds_eval(struct df_req *r, struct rds_script *s, int nkeys, int nargs, const char **argv) {
    struct rds_call call;
    if (rds_eval_start(r, &call, s, nkeys, nargs, argv) < 0)
        return NULL;
    return rds_eval_finish(r, &call);
}

/* Appends the call (as EVALSHA, or EVAL with the source) and the WAIT,
 * then reads both replies, whatever the first was, so that the
 * connection goes back to the pool clean. */
static redisReply *eval_then_wait(struct df_req *r, struct rds_call *call, long replicas, long timeout_ms,
                                  long long *acked) {
    redisContext *c = rds_conn(r);
    if (!c)
        return NULL;
    if (redisAppendCommandArgv(c, call->argc, call->argv, NULL) != REDIS_OK) {
        conn_failed(r, c);
        return NULL;
    }
    r->redis_pending++;
    if (rds_append(r, "WAIT %ld %ld", replicas, timeout_ms) < 0)
        return NULL;
    redisReply *rep = rds_reply(r), *wait = rds_reply(r);
    if (!rep || !wait)
        return NULL;
    if (wait->type != REDIS_REPLY_INTEGER) {
        if (wait->type == REDIS_REPLY_ERROR)
            rds_reply_failed(r, wait);
        else
            req_fail(r, 500, "redis", "WAIT: unexpected reply");
        return NULL;
    }
    *acked = wait->integer;
    return rep;
}

redisReply *rds_eval_wait(struct df_req *r, struct rds_script *s, int nkeys, int nargs, const char **argv,
                          long replicas, long timeout_ms, long long *acked) {
    struct rds_call call = {.script = s, .argc = 3 + nkeys + nargs};
    call.argv = arena_alloc(&r->arena, sizeof(char *) * (size_t)call.argc);
    snprintf(call.nkeys, sizeof(call.nkeys), "%d", nkeys);
    call.argv[0] = "EVALSHA";
    call.argv[1] = script_hash(s);
    call.argv[2] = call.nkeys;
    for (int i = 0; i < nkeys + nargs; i++)
        call.argv[3 + i] = argv[i];
    redisReply *rep = eval_then_wait(r, &call, replicas, timeout_ms, acked);
    if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        call.argv[0] = "EVAL";
        call.argv[1] = s->src;
        rep = eval_then_wait(r, &call, replicas, timeout_ms, acked);
    }
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        rds_reply_failed(r, rep);
        return NULL;
    }
    return rep;
}

int rds_reply_ll(const redisReply *rep, long long *out) {
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER) {
        *out = rep->integer;
        return 0;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        char *end;
        if (rep->len == 0 || rep->len > 20)
            return -1;
        long long v = strtoll(rep->str, &end, 10);
        if (end != rep->str + rep->len)
            return -1;
        *out = v;
        return 0;
    }
    return -1;
}
