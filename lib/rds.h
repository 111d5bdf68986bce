/* Redis for handlers: the request takes one pooled connection on first use
 * and keeps it until it ends. Replies belong to the request (freed with it).
 * A connection-level failure records 503 and marks the connection broken so
 * the pool drops it; an error reply records 500, or 503 when it says the
 * server cannot serve now (rds_reply_failed).
 *
 * A new connection goes to dailyfresh-redis, or with
 * dailyfresh-redis-sentinels to the master the sentinels name, once ROLE
 * has confirmed that it is one; the open fails (503) when none does. */
#ifndef DF_RDS_H
#define DF_RDS_H

#include <hiredis/hiredis.h>
#include <pthread.h>

#include "pool.h"
#include "req.h"

extern const struct pool_ops redis_pool_ops; /* cfg: struct df_config * */

/* Records an error reply: those that say the server cannot serve now
 * (LOADING its data after a restart, READONLY a replica, MASTERDOWN,
 * NOREPLICAS, TRYAGAIN) are an outage, 503, and the connection is not
 * given back, so the next request connects afresh; any other is our bug,
 * 500. rds_cmd and rds_eval record theirs themselves. */
void rds_reply_failed(struct df_req *r, const redisReply *rep);

redisContext *rds_conn(struct df_req *r);
/* One command; NULL on failure (already recorded), never an error reply. */
redisReply *rds_cmd(struct df_req *r, const char *fmt, ...);
redisReply *rds_cmdargv(struct df_req *r, int argc, const char **argv, const size_t *argvlen);
/* Pipelining: append commands, then read each reply in order. rds_reply
 * returns error replies as they are (one that says the server cannot serve
 * now marks the connection broken all the same); NULL only when the
 * connection failed. */
int rds_append(struct df_req *r, const char *fmt, ...);
redisReply *rds_reply(struct df_req *r);

/* A server-side script run by EVALSHA, loaded with EVAL when Redis does not
 * know it yet (first use, or after a restart). */
struct rds_script {
    const char *src;
    char sha[41]; /* filled on first use, under a lock */
};
#define RDS_SCRIPT(source) {.src = (source), .sha = ""}

/* argv: keys first, then args. NULL on failure; error replies become 500. */
redisReply *rds_eval(struct df_req *r, struct rds_script *s, int nkeys, int nargs, const char **argv);

/* rds_eval in two halves, so a handler can wait on MariaDB while Redis runs
 * the script: start sends it (0, or -1 recorded), finish reads its answer
 * (as rds_eval returns it). Nothing else may use the request's Redis
 * connection in between; a request that never finishes leaves a reply
 * unread, and its connection is then dropped, not pooled. argv must live
 * until finish (the arena, or the caller's frame). */
struct rds_call {
    struct rds_script *script;
    int argc;
    const char **argv;
    char nkeys[16];
};
int rds_eval_start(struct df_req *r, struct rds_call *call, struct rds_script *s, int nkeys, int nargs,
                   const char **argv);
redisReply *rds_eval_finish(struct df_req *r, struct rds_call *call);

/* rds_eval and WAIT replicas timeout_ms written together, in one write:
 * still one round trip, and the script's writes are acknowledged by
 * *acked replicas (WAIT's answer) when the reply comes. The script's
 * reply as rds_eval gives it; NULL on failure (recorded). */
redisReply *rds_eval_wait(struct df_req *r, struct rds_script *s, int nkeys, int nargs, const char **argv,
                          long replicas, long timeout_ms, long long *acked);

/* Integer value of a reply holding an integer or a decimal string. */
int rds_reply_ll(const redisReply *rep, long long *out);

#endif
