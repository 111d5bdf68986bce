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
 * Failed logins are counted per account in Redis (login_fail_<username>,
 * living login_lockout seconds after the last failure); at
 * login_max_failures the password is no longer even checked. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "password.h"
#include "validate.h"

#define USERNAME_COLUMN_MAX 150
#define ER_DUP_ENTRY 1062

/* Counts one failure and restarts the lockout clock in one step, so a
 * counter can never be left without its expiry. */
static struct rds_script login_fail_incr = RDS_SCRIPT(
    "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return n");

static int present(const char *s) {
    return s && *s;
}

static void user_register(struct df_req *r) {
    const char *name = req_param(r, "user_name"), *pw = req_param(r, "pwd"), *cpw = req_param(r, "cpwd");
    const char *email = req_param(r, "email"), *allow = req_param(r, "allow");
    char hash[PASSWORD_HASH_MAX];
    struct db_rows rows;
    int rc;

    if (!present(name) || !present(pw) || !present(email)) {
        resp_res_err(r, 1, "数据不完整");
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
        resp_res_err(r, 7, "用户名已存在");
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
        if (db_last_errno(r) == ER_DUP_ENTRY)
            resp_res_err(r, 7, "用户名已存在");
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

static void user_login(struct df_req *r) {
    const char *name = req_param(r, "username"), *pw = req_param(r, "pwd");
    int remember = is_truthy(req_param(r, "remember"));
    struct account acct;
    long long failures = 0;
    redisReply *rep;

    if (!present(name) || !present(pw)) {
        resp_res_err(r, 1, "数据不完整");
        return;
    }
    if (strlen(name) > USERNAME_COLUMN_MAX) { /* cannot exist; keeps Redis keys short */
        resp_res_err(r, 2, "用户名或密码错误");
        return;
    }
    if (account_find(r, name, &acct) < 0)
        return;
    /* keyed by the stored spelling: the column's collation ignores case,
     * so "Alice" and "alice" must share one counter */
    const char *key = arena_printf(&r->arena, "login_fail_%s", acct.id ? acct.username : name);
    if (!(rep = rds_cmd(r, "GET %s", key)))
        return;
    if (rep->type == REDIS_REPLY_STRING && rds_reply_ll(rep, &failures) < 0)
        failures = 0;
    if (failures >= r->app->cfg.login_max_failures) {
        resp_res_err(r, 4, "登录失败次数过多，请稍后再试");
        return;
    }
    if (!password_verify(pw, acct.id ? acct.password : decoy_hash(r))) {
        char ttl[24];
        snprintf(ttl, sizeof(ttl), "%ld", r->app->cfg.login_lockout);
        const char *argv[] = {key, ttl};
        if (!rds_eval(r, &login_fail_incr, 1, 1, argv))
            return;
        resp_res_err(r, 2, "用户名或密码错误");
        return;
    }
    if (!acct.active) {
        resp_res_err(r, 3, "账户未激活");
        return;
    }
    if (db_exec(r, "UPDATE df_user SET last_login = NOW(6) WHERE id = ?", "i", acct.id) < 0)
        return;
    if (!rds_cmd(r, "DEL %s", key) || session_start(r, acct.id, remember) < 0)
        return;
    cJSON *o = resp_res_ok(r, 5, "登录成功");
    cJSON_AddNumberToObject(o, "user_id", (double)acct.id);
    cJSON_AddStringToObject(o, "username", acct.username);
}

static void user_logout(struct df_req *r) {
    if (session_end(r) < 0)
        return;
    resp_res_ok(r, 1, "已退出");
}

const struct route user_routes[] = {
    {"POST", "/user/register", user_register, 0},
    {"POST", "/user/login", user_login, 0},
    {"POST", "/user/logout", user_logout, 0},
    {NULL, NULL, NULL, 0},
};
