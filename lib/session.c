#include "session.h"

#include <string.h>

#include "crypto.h"
#include "rds.h"

/* Every session is also listed in user_sessions_<uid>, so an operator can
 * end all of a user's sessions at once (scripts/stack.sh end-sessions);
 * ids whose session has expired are dropped from the set here, at login.
 * KEYS: session_<sid>, user_sessions_<uid>; ARGV: uid, ttl, sid, set ttl. */
static struct rds_script start_script = RDS_SCRIPT(
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
    "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do "
    "  if redis.call('EXISTS', 'session_' .. m) == 0 then redis.call('SREM', KEYS[2], m) end "
    "end "
    "redis.call('SADD', KEYS[2], ARGV[3]) "
    "if redis.call('TTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end "
    "return 0");

/* KEYS: session_<sid>; ARGV: sid. */
static struct rds_script end_script = RDS_SCRIPT(
    "local u = redis.call('GET', KEYS[1]) "
    "redis.call('DEL', KEYS[1]) "
    "if u then redis.call('SREM', 'user_sessions_' .. u, ARGV[1]) end "
    "return 0");

static int sid_valid(const char *sid) {
    if (!sid || strlen(sid) != 32)
        return 0;
    for (const char *p = sid; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

const char *session_key(struct df_req *r) {
    const char *sid = req_cookie(r, SESSION_COOKIE);
    return sid_valid(sid) ? arena_printf(&r->arena, "session_%s", sid) : NULL;
}

int session_user(struct df_req *r, long long *uid) {
    if (r->user_checked) {
        *uid = r->user_id;
        return 0;
    }
    const char *sid = req_cookie(r, SESSION_COOKIE);
    long long id = 0;
    if (sid_valid(sid)) {
        redisReply *rep = rds_cmd(r, "GET session_%s", sid);
        if (!rep)
            return -1;
        if (rep->type == REDIS_REPLY_STRING && (rds_reply_ll(rep, &id) < 0 || id < 0))
            id = 0;
    }
    r->user_checked = 1;
    r->user_id = id;
    *uid = id;
    return 0;
}

int session_require(struct df_req *r, long long *uid, const char *msg) {
    if (session_user(r, uid) < 0)
        return -1;
    if (*uid == 0) {
        resp_res_err(r, 0, msg);
        return 0;
    }
    return 1;
}

int session_start(struct df_req *r, long long uid, int remember) {
    char sid[33];
    long ttl = remember ? r->app->cfg.session_remember_ttl : r->app->cfg.session_ttl;
    if (rand_hex(sid, 16) < 0) {
        req_fail(r, 500, "session", "RAND_bytes failed");
        return -1;
    }
    /* a session fixed by an old cookie is replaced, not reused */
    const char *old = req_cookie(r, SESSION_COOKIE);
    if (sid_valid(old) && !rds_cmd(r, "DEL session_%s", old))
        return -1;
    long set_ttl = r->app->cfg.session_remember_ttl > r->app->cfg.session_ttl ? r->app->cfg.session_remember_ttl
                                                                              : r->app->cfg.session_ttl;
    const char *argv[] = {arena_printf(&r->arena, "session_%s", sid), arena_printf(&r->arena, "user_sessions_%lld", uid),
                          arena_printf(&r->arena, "%lld", uid),       arena_printf(&r->arena, "%ld", ttl),
                          sid,                                          arena_printf(&r->arena, "%ld", set_ttl)};
    if (!rds_eval(r, &start_script, 2, 4, argv))
        return -1;
    resp_cookie(r, SESSION_COOKIE, sid, remember ? ttl : 0, 1);
    r->user_checked = 1;
    r->user_id = uid;
    return 0;
}

int session_end(struct df_req *r) {
    const char *sid = req_cookie(r, SESSION_COOKIE);
    if (sid_valid(sid)) {
        const char *argv[] = {arena_printf(&r->arena, "session_%s", sid), sid};
        if (!rds_eval(r, &end_script, 1, 1, argv))
            return -1;
    }
    resp_cookie(r, SESSION_COOKIE, "", -1, 1);
    r->user_checked = 1;
    r->user_id = 0;
    return 0;
}
