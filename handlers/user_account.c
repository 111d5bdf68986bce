/* Accounts: registration, login, logout. Parameters form-encoded or JSON.
 *
 * POST /user/register  user_name, pwd, cpwd (optional), email, allow
 *   {"res": 1, "errmsg": "数据不完整"}        user_name, pwd or email missing
 *   {"res": 2, "errmsg": "用户名不合法"}      not 5-20 of [A-Za-z0-9_]
 *   {"res": 3, "errmsg": "密码不合法"}        not 8-20 characters
 *   {"res": 4, "errmsg": "两次密码不一致"}    cpwd sent and different
 *   {"res": 5, "errmsg": "邮箱格式不正确"}
 *   {"res": 6, "errmsg": "请同意协议"}        allow not "on"/"1"/"true"
 *   {"res": 7, "errmsg": "用户名已存在"}
 *   {"res": 8, "message": "注册成功", "user_id": 12}
 *
 * POST /user/login  username, pwd, remember (optional: "on"/"1"/"true")
 *   {"res": 1, "errmsg": "数据不完整"}
 *   {"res": 2, "errmsg": "用户名或密码错误"}  unknown user, deleted user or wrong password
 *   {"res": 3, "errmsg": "账户未激活"}        right password, is_active = 0
 *   {"res": 4, "errmsg": "登录失败次数过多，请稍后再试"}
 *   {"res": 5, "message": "登录成功", "user_id": 12, "username": "alice"}
 *
 * POST /user/logout
 *   {"res": 1, "message": "已退出"}           also when not logged in
 *
 * Failed logins are throttled in Redis (docs/security.md section 4):
 *   login_fail_addr_<address>/<username>  per client address and account;
 *     at login_max_failures that address is refused that account until
 *     the counter expires, login_lockout seconds after its last failure
 *   login_fail_user_<username>  per account from all addresses; at
 *     login_user_max_failures the account is refused to everyone for
 *     login_user_block seconds, then counting starts again
 * The kinds have prefixes of their own and an address never holds a '/',
 * so no typed name can make one counter's key another's.
 * An attempt is counted before its password is checked, in one script with
 * the checks, so concurrent attempts cannot pass a limit; a success takes
 * its own count back. */
#include <stdio.h>
#include <string.h>

#include "csrf.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "validate.h"

#define USERNAME_COLUMN_MAX 150
#define NAME_TAKEN_MSG "用户名已存在"
#define BAD_LOGIN_MSG "用户名或密码错误" /* one answer for no such user and a wrong password */

/* The gate before a password check. KEYS: the address counter, the
 * account counter; ARGV: login_max_failures, login_lockout,
 * login_user_max_failures, login_user_block. Returns {-1, 0} when the
 * address is locked out of the account, {-2, 0} when the account is
 * blocked, else counts this attempt as a failure (restarting the counters'
 * clocks; the account's short block starts when it reaches its limit) and
 * returns both new counts. Refused attempts change nothing. */
static struct rds_script login_gate = RDS_SCRIPT(
    "local p = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if p >= tonumber(ARGV[1]) then return {-1, 0} end "
    "local u = tonumber(redis.call('GET', KEYS[2]) or '0') "
    "if u >= tonumber(ARGV[3]) then return {-2, 0} end "
    "redis.call('SET', KEYS[1], p + 1, 'EX', ARGV[2]) "
    "u = u + 1 "
    "redis.call('SET', KEYS[2], u, 'EX', u >= tonumber(ARGV[3]) and ARGV[4] or ARGV[2]) "
    "return {p + 1, u}");

/* A success: the address's failures are forgiven, and the account counter
 * loses the attempt the gate counted (its clock is left alone, so a block
 * this attempt started ends by itself soon after). */
static struct rds_script login_ok = RDS_SCRIPT(
    "redis.call('DEL', KEYS[1]) "
    "if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end "
    "return 0");

static int present(const char *s) {
    return s && *s;
}

void user_register(struct df_req *r) {
    const char *name = req_param(r, "user_name"), *pw = req_param(r, "pwd"), *cpw = req_param(r, "cpwd");
    const char *email = req_param(r, "email"), *allow = req_param(r, "allow");
    char hash[PASSWORD_HASH_MAX];
    struct db_rows rows;
    int rc;

    if (!present(name) || !present(pw) || !present(email)) {
        resp_res_err(r, 1, INCOMPLETE_MSG);
        return;
    }
    if (!valid_username(name)) {
        resp_res_err(r, 2, "用户名不合法");
        return;
    }
    size_t pwlen = utf8_chars(pw);
    if (pwlen < 8 || pwlen > 20) {
        resp_res_err(r, 3, "密码不合法");
        return;
    }
    if (cpw && strcmp(pw, cpw) != 0) {
        resp_res_err(r, 4, "两次密码不一致");
        return;
    }
    if (!valid_email(email)) {
        resp_res_err(r, 5, "邮箱格式不正确");
        return;
    }
    if (!is_truthy(allow)) {
        resp_res_err(r, 6, "请同意协议");
        return;
    }
    /* checked first so a taken name costs no hashing; the unique key
     * below still decides a race between two registrations */
    if (db_query(r, &rows, "SELECT id FROM df_user WHERE username = ?", "s", name) < 0 ||
        (rc = db_next(&rows)) < 0)
        return;
    if (rc > 0) {
        resp_res_err(r, 7, NAME_TAKEN_MSG);
        return;
    }
    if (password_hash(pw, r->app->cfg.password_iterations, hash, sizeof(hash)) < 0) {
        req_fail(r, 500, "password", "hashing failed");
        return;
    }
    if (db_exec(r,
                "INSERT INTO df_user (password, last_login, is_superuser, username, first_name, last_name, email, "
                "is_staff, is_active, date_joined, create_time, update_time, is_delete) "
                "VALUES (?, NULL, 0, ?, '', '', ?, 0, 1, NOW(6), NOW(6), NOW(6), 0)",
                "sss", hash, name, email) < 0) {
        if (db_duplicate(r))
            resp_res_err(r, 7, NAME_TAKEN_MSG);
        return;
    }
    cJSON_AddNumberToObject(resp_res_ok(r, 8, "注册成功"), "user_id", (double)db_last_insert_id(r));
}

struct account {
    long long id; /* 0: no such (live) user */
    const char *username, *password;
    int active;
};

static int account_find(struct df_req *r, const char *name, struct account *a) {
    struct db_rows rows;
    int rc;
    memset(a, 0, sizeof(*a));
    if (db_query(r, &rows,
                 "SELECT id, username, password, is_active FROM df_user WHERE username = ? AND is_delete = 0", "s",
                 name) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (rc > 0) {
        a->id = db_ll(&rows, 0);
        a->username = arena_strdup(&r->arena, db_str(&rows, 1));
        a->password = arena_strdup(&r->arena, db_str(&rows, 2));
        a->active = db_ll(&rows, 3) != 0;
    }
    return 0;
}

/* A hash of the configured cost that nothing matches: an unknown user
 * takes as long to refuse as a wrong password, so timing does not tell
 * which usernames exist. */
static const char *decoy_hash(struct df_req *r) {
    return arena_printf(&r->arena, PASSWORD_ALGORITHM "$%ld$decoydecoydecoydecoyde$%s",
                        r->app->cfg.password_iterations, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

/* At most 64 printable ASCII characters of a name for the log: a typed
 * name is the client's, and must not be able to forge log lines. */
static const char *loggable(struct df_req *r, const char *s) {
    size_t n = strnlen(s, 64);
    char *o = arena_alloc(&r->arena, n + 1);
    for (size_t i = 0; i < n; i++)
        o[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    o[n] = '\0';
    return o;
}

/* The counters' keys: a prefix per kind, and in the address counter's the
 * address ends at the first '/', which no address holds. */
#define ADDR_KEY_PREFIX "login_fail_addr_"
#define USER_KEY_PREFIX "login_fail_user_"
#define ADDR_KEY_SEP '/'

struct throttle {
    const char *addr, *name; /* client address, account as keyed */
    const char *keys[6];     /* address key, account key, then ARGV */
    char argv[4][24];
    long long addr_fails, user_fails;
};

/* The client's address as the counters key it: nginx's REMOTE_ADDR, an
 * IP literal; anything else (none, or a '/' that would end the address
 * part of a key early) is "-". */
static const char *client_addr(const struct df_req *r) {
    const char *a = r->remote_addr;
    return a && *a && !strchr(a, ADDR_KEY_SEP) ? a : "-";
}

/* The gate: answered when the attempt is refused; STEP_OK when it was
 * counted and the password may be checked. */
static enum step throttle_gate(struct df_req *r, struct throttle *t) {
    const struct df_config *c = &r->app->cfg;
    t->keys[0] = arena_printf(&r->arena, ADDR_KEY_PREFIX "%s%c%s", t->addr, ADDR_KEY_SEP, t->name);
    t->keys[1] = arena_printf(&r->arena, USER_KEY_PREFIX "%s", t->name);
    snprintf(t->argv[0], sizeof(t->argv[0]), "%ld", c->login_max_failures);
    snprintf(t->argv[1], sizeof(t->argv[1]), "%ld", c->login_lockout);
    snprintf(t->argv[2], sizeof(t->argv[2]), "%ld", c->login_user_max_failures);
    snprintf(t->argv[3], sizeof(t->argv[3]), "%ld", c->login_user_block);
    for (int i = 0; i < 4; i++)
        t->keys[2 + i] = t->argv[i];
    redisReply *rep = rds_eval(r, &login_gate, 2, 4, t->keys);
    if (!rep)
        return STEP_FAILED;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_INTEGER ||
        rep->element[1]->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "redis", "login gate: unexpected reply");
        return STEP_FAILED;
    }
    t->addr_fails = rep->element[0]->integer;
    t->user_fails = rep->element[1]->integer;
    if (t->addr_fails < 0) {
        resp_res_err(r, 4, "登录失败次数过多，请稍后再试");
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

/* A failure was counted by the gate: log the lockouts it started. */
static void throttle_log(struct df_req *r, const struct throttle *t) {
    const struct df_config *c = &r->app->cfg;
    const char *name = loggable(r, t->name);
    if (t->addr_fails == c->login_max_failures)
        df_log("login: %s locked out of account '%s' for %ld s after %lld failed logins; counter " ADDR_KEY_PREFIX
               "%s%c%s",
               t->addr, name, c->login_lockout, t->addr_fails, t->addr, ADDR_KEY_SEP, name);
    if (t->user_fails == c->login_user_max_failures)
        df_log("login: account '%s' refused to every address for %ld s after %lld failed logins (the last from %s); "
               "counter " USER_KEY_PREFIX "%s",
               name, c->login_user_block, t->user_fails, t->addr, name);
}

void user_login(struct df_req *r) {
    const char *name = req_param(r, "username"), *pw = req_param(r, "pwd");
    int remember = is_truthy(req_param(r, "remember"));
    struct account acct;
    struct throttle t = {0};

    if (!present(name) || !present(pw)) {
        resp_res_err(r, 1, INCOMPLETE_MSG);
        return;
    }
    if (strlen(name) > USERNAME_COLUMN_MAX) { /* cannot exist; keeps Redis keys short */
        resp_res_err(r, 2, BAD_LOGIN_MSG);
        return;
    }
    if (account_find(r, name, &acct) < 0)
        return;
    /* keyed by the stored spelling: the column's collation ignores case,
     * so "Alice" and "alice" must share one counter */
    t.name = acct.id ? acct.username : name;
    t.addr = client_addr(r);
    if (throttle_gate(r, &t) != STEP_OK)
        return;
    if (!password_verify(pw, acct.id ? acct.password : decoy_hash(r))) {
        throttle_log(r, &t);
        resp_res_err(r, 2, BAD_LOGIN_MSG);
        return;
    }
    if (!rds_eval(r, &login_ok, 2, 0, t.keys))
        return;
    if (!acct.active) {
        resp_res_err(r, 3, "账户未激活");
        return;
    }
    if (db_exec(r, "UPDATE df_user SET last_login = NOW(6) WHERE id = ?", "i", acct.id) < 0 ||
        session_start(r, acct.id, remember) < 0)
        return;
    /* a token planted before login (a sibling domain, plain HTTP) does not
     * carry over into the session */
    csrf_rotate(r);
    cJSON *o = resp_res_ok(r, 5, "登录成功");
    cJSON_AddNumberToObject(o, "user_id", (double)acct.id);
    cJSON_AddStringToObject(o, "username", acct.username);
}

void user_logout(struct df_req *r) {
    if (session_end(r) < 0)
        return;
    resp_res_ok(r, 1, "已退出");
}
