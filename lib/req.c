#include "req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void req_init(struct df_req *r, struct df_app *app) {
    memset(r, 0, sizeof(*r));
    arena_init(&r->arena);
    r->app = app;
    r->method = r->path = r->content_type = "";
    params_init(&r->query);
    params_init(&r->body);
    params_init(&r->cookies);
    params_init(&r->headers);
}

int req_rounds(struct df_req *r, struct df_app *app, const char *what, int rounds, int batch,
               int (*round)(struct df_req *r, void *ctx), void *ctx) {
    int total = 0;
    for (int i = 0; i < rounds; i++) {
        req_init(r, app);
        r->method = what;
        r->path = "sweep";
        int n = round(r, ctx);
        req_release(r);
        if (n < 0) {
            if (i == 0)
                total = -1;
            break;
        }
        total += n;
        if (n < batch)
            break;
    }
    return total;
}

const char *req_json_text(struct df_req *r, cJSON *item, const char *what) {
    char *s = cJSON_PrintUnformatted(item);
    cJSON_Delete(item);
    if (!s) {
        req_fail(r, 500, what, "out of memory");
        return NULL;
    }
    const char *copy = arena_strdup(&r->arena, s);
    free(s);
    return copy;
}

void req_release(struct df_req *r) {
    if (r->redis_slot) {
        pool_put(&r->app->redis, r->redis_slot, r->redis_broken || r->redis_pending != 0);
        r->redis_slot = NULL;
    }
    if (r->mysql_slot) {
        pool_put(&r->app->mysql, r->mysql_slot, r->mysql_broken);
        r->mysql_slot = NULL;
    }
    if (r->json) {
        cJSON_Delete(r->json);
        r->json = NULL;
    }
    arena_reset(&r->arena);
}

const char *req_param(const struct df_req *r, const char *key) {
    const char *v = params_get(&r->body, key);
    return v ? v : params_get(&r->query, key);
}

size_t req_param_list(struct df_req *r, const char *key, const char **out, size_t max) {
    const char *raw[PARAMS_MAX]; /* every value a parsed request can hold */
    size_t n = params_get_all(&r->body, key, raw, PARAMS_MAX);
    if (n == 0)
        n = params_get_all(&r->query, key, raw, PARAMS_MAX);
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        const char *s = raw[i];
        while (*s && k < max) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (len > 0)
                out[k++] = arena_strndup(&r->arena, s, len);
            s += len;
            if (*s == ',')
                s++;
        }
    }
    return k;
}

const char *req_cookie(const struct df_req *r, const char *name) {
    return params_get(&r->cookies, name);
}

/* A character of a header name as it is stored. */
static char header_char(char c) {
    if (c == '_')
        return '-';
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void req_header_add(struct df_req *r, const char *name, size_t name_len, const char *value, size_t value_len) {
    char *key = arena_strndup(&r->arena, name, name_len);
    for (size_t i = 0; i < name_len; i++)
        key[i] = header_char(key[i]);
    params_add(&r->arena, &r->headers, key, name_len, value, value_len);
}

static int header_is(const char *stored, const char *name) {
    while (*stored && header_char(*name) == *stored) {
        stored++;
        name++;
    }
    return !*stored && !*name;
}

const char *req_header(const struct df_req *r, const char *name) {
    const char *v = NULL;
    for (const struct param *e = r->headers.head; e; e = e->next)
        if (header_is(e->key, name))
            v = e->val;
    return v;
}

void req_fail(struct df_req *r, int status, const char *what, const char *detail) {
    df_log("%s %s: %s: %s", r->method, r->path, what, detail ? detail : "");
    if (r->fail_status != 503) /* an outage explains whatever followed it */
        r->fail_status = status;
    r->fail_msg = status == 503 ? arena_printf(&r->arena, "%s unavailable", what) : "internal error";
}

void req_fail_clear(struct df_req *r) {
    r->fail_status = 0;
    r->fail_msg = NULL;
}

void resp_json(struct df_req *r, int status, cJSON *body) {
    if (r->json)
        cJSON_Delete(r->json);
    r->status = status;
    r->json = body;
    r->text = NULL;
}

void resp_json_if(struct df_req *r, int ok, cJSON *body) {
    if (ok)
        resp_json(r, 200, body);
    else
        cJSON_Delete(body);
}

void resp_error(struct df_req *r, int status, const char *msg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    resp_json(r, status, o);
}

cJSON *resp_res(struct df_req *r, int code) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "res", code);
    resp_json(r, 200, o);
    return o;
}

void resp_res_err(struct df_req *r, int code, const char *msg) {
    cJSON_AddStringToObject(resp_res(r, code), "errmsg", msg);
}

cJSON *resp_res_reason(struct df_req *r, int code, const char *msg, const char *reason) {
    cJSON *o = resp_res(r, code);
    cJSON_AddStringToObject(o, "errmsg", msg);
    if (reason)
        cJSON_AddStringToObject(o, "reason", reason);
    return o;
}

cJSON *resp_res_ok(struct df_req *r, int code, const char *msg) {
    cJSON *o = resp_res(r, code);
    cJSON_AddStringToObject(o, "message", msg);
    return o;
}

void resp_text(struct df_req *r, int status, const char *text) {
    if (r->json)
        cJSON_Delete(r->json);
    r->json = NULL;
    r->status = status;
    r->text = arena_strdup(&r->arena, text);
}

void resp_cookie(struct df_req *r, const char *name, const char *value, long max_age, int http_only) {
    if (r->n_cookies >= RESP_MAX_COOKIES)
        return;
    char age[64] = "";
    if (max_age > 0)
        snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
    else if (max_age < 0)
        snprintf(age, sizeof(age), "; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT");
    r->set_cookie[r->n_cookies++] = arena_printf(&r->arena, "%s=%s%s; Path=/; SameSite=Lax%s%s", name, value, age,
                                                 http_only ? "; HttpOnly" : "",
                                                 r->app && r->app->cfg.cookie_secure ? "; Secure" : "");
}

long long req_parse_id(const char *s) {
    long long v = 0;
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s >= 16)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v > 0 && v <= 9007199254740992LL ? v : -1;
}
