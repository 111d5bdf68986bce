#include "session.h"

#include <string.h>

#include "crypto.h"
#include "rds.h"

/* Every session is also listed in user_sessions_by_expiry_<uid>, a sorted
 * set scored by the session's expiry (Unix time by Redis's clock, in
 * milliseconds, whichever host the login ran on), so an
 * operator can end all of a user's sessions at once (scripts/stack.sh
 * end-sessions). A login costs a few steps in Redis however many sessions
 * the user has: it drops at most SESSION_STEP entries whose session has
 * expired, moves at most SESSION_STEP ids of the set the shop kept before
 * (user_sessions_<uid>, without expiries) into the index, and past
 * dailyfresh-max-sessions-per-user ends at most SESSION_STEP of the
 * sessions that expire first; so an index of any size shrinks over
 * logins, a few entries each. */
#define SESSION_STEP 16
#define SESSION_INDEX "user_sessions_by_expiry_"
#define SESSION_OLD_SET "user_sessions_"

/* KEYS: session_<sid>, the index, the old set; ARGV: uid, ttl, sid, index
 * ttl, max sessions, step. */
static struct rds_script start_script = RDS_SCRIPT(
    "local clock = redis.call('TIME') "
    "local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) "
    "local cap, step = tonumber(ARGV[5]), tonumber(ARGV[6]) "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, step) "
    "if #dead > 0 then redis.call('ZREM', KEYS[2], unpack(dead)) end "
    "if redis.call('TYPE', KEYS[3]).ok == 'set' then "
    "  for _, m in ipairs(redis.call('SPOP', KEYS[3], step)) do "
    "    local t = redis.call('PTTL', 'session_' .. m) "
    "    if t > 0 then redis.call('ZADD', KEYS[2], now + t, m) end "
    "  end "
    "end "
    "local over = redis.call('ZCARD', KEYS[2]) - cap + 1 "
    "if over > 0 then "
    "  local first = redis.call('ZPOPMIN', KEYS[2], math.min(over, step)) "
    "  for i = 1, #first, 2 do redis.call('DEL', 'session_' .. first[i]) end "
    "end "
    "redis.call('ZADD', KEYS[2], now + 1000 * tonumber(ARGV[2]), ARGV[3]) "
    "if redis.call('TTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end "
    "return 0");

/* KEYS: session_<sid>; ARGV: sid. An id left in the old set is dropped
 * when a login moves it (its session is gone by then). */
static struct rds_script end_script = RDS_SCRIPT(
    "local u = redis.call('GET', KEYS[1]) "
    "redis.call('DEL', KEYS[1]) "
    "if u then redis.call('ZREM', '" SESSION_INDEX "' .. u, ARGV[1]) end "
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

void session_set_user(struct df_req *r, long long uid) {
    r->user_checked = 1;
    r->user_id = uid;
}

int session_known_anonymous(const struct df_req *r) {
    return r->user_checked && r->user_id == 0;
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
    session_set_user(r, id);
    *uid = id;
    return 0;
}

enum step session_require(struct df_req *r, long long *uid, const char *msg) {
    if (session_user(r, uid) < 0)
        return STEP_FAILED;
    if (*uid == 0) {
        resp_res_err(r, 0, msg);
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

/* Deletes the session sid names, if it is one, and its index entry. */
static int session_drop(struct df_req *r, const char *sid) {
    if (!sid_valid(sid))
        return 0;
    const char *argv[] = {arena_printf(&r->arena, "session_%s", sid), sid};
    return rds_eval(r, &end_script, 1, 1, argv) ? 0 : -1;
}

int session_start(struct df_req *r, long long uid, int remember) {
    char sid[33];
    long ttl = remember ? r->app->cfg.session_remember_ttl : r->app->cfg.session_ttl;
    if (rand_hex(sid, 16) < 0) {
        req_fail(r, 500, "session", "RAND_bytes failed");
        return -1;
    }
    /* a session fixed by an old cookie is replaced, not reused */
    if (session_drop(r, req_cookie(r, SESSION_COOKIE)) < 0)
        return -1;
    const struct df_config *c = &r->app->cfg;
    long index_ttl = c->session_remember_ttl > c->session_ttl ? c->session_remember_ttl : c->session_ttl;
    const char *argv[] = {arena_printf(&r->arena, "session_%s", sid),
                          arena_printf(&r->arena, SESSION_INDEX "%lld", uid),
                          arena_printf(&r->arena, SESSION_OLD_SET "%lld", uid),
                          arena_printf(&r->arena, "%lld", uid),
                          arena_printf(&r->arena, "%ld", ttl),
                          sid,
                          arena_printf(&r->arena, "%ld", index_ttl),
                          arena_printf(&r->arena, "%ld", c->max_sessions_per_user),
                          arena_printf(&r->arena, "%d", SESSION_STEP)};
    if (!rds_eval(r, &start_script, 3, 6, argv))
        return -1;
    resp_cookie(r, SESSION_COOKIE, sid, remember ? ttl : 0, 1);
    session_set_user(r, uid);
    return 0;
}

int session_end(struct df_req *r) {
    if (session_drop(r, req_cookie(r, SESSION_COOKIE)) < 0)
        return -1;
    resp_cookie(r, SESSION_COOKIE, "", -1, 1);
    session_set_user(r, 0);
    return 0;
}
