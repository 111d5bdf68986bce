/* The request as handlers see it: NUL-terminated copies of what uWSGI
 * parsed, the parameters, the response being built, and the pooled
 * connections this request has taken (given back when it ends).
 *
 * Handler contract: answer with resp_*(); on a backend failure just return
 * (or goto out) without answering — the failing helper has recorded
 * whether that is a 503 (server down) or a 500 (our bug), and the
 * dispatcher sends that. */
#ifndef DF_REQ_H
#define DF_REQ_H

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config.h"
#include "http_client.h"
#include "mem.h"
#include "params.h"
#include "pool.h"
#include "router.h"

struct alipay_keys; /* alipay.h */

struct df_app {
    struct df_config cfg;
    struct pool redis;
    struct pool mysql;
    /* loaded once in the master; NULL when payment is off (no app id) */
    const struct alipay_keys *alipay;
    struct http_gate alipay_calls; /* the worker's gateway calls in flight (dailyfresh-alipay-max-calls) */
};

#define RESP_MAX_COOKIES 4

struct df_req {
    struct arena arena;
    struct df_app *app; /* borrowed: the worker's */

    const char *method;
    const char *path;
    size_t path_len;
    const char *content_type; /* "" when absent */
    const char *remote_addr;
    struct params query, body, cookies;
    struct params headers; /* see req_header_add */
    struct route_match match;

    /* response */
    int status;          /* 0 until a handler answers */
    cJSON *json;         /* owned: freed by req_release */
    const char *text;    /* plain-text body (payment notify) */
    const char *set_cookie[RESP_MAX_COOKIES];
    int n_cookies;

    /* failure recorded by a backend helper, sent when nothing answered */
    int fail_status;
    const char *fail_msg;

    /* connections taken from the pools, returned by req_release */
    struct pool_slot *redis_slot;
    int redis_pending; /* appended commands whose replies are unread */
    int redis_broken;
    struct pool_slot *mysql_slot;
    int mysql_broken;

    /* session, resolved once */
    int user_checked;
    long long user_id; /* 0: anonymous */
};

/* What a step of a handler (a check, a read) tells the handler: go on,
 * or return because the step answered (a refusal in the contract's form)
 * or because a backend failed (recorded, the dispatcher answers). */
enum step {
    STEP_OK = 0,
    STEP_ANSWERED,
    STEP_FAILED,
};

void req_init(struct df_req *r, struct df_app *app);
/* Gives back connections and frees everything the request allocated. */
void req_release(struct df_req *r);

/* Work outside any request (the mule's sweeps): round runs on a fresh r
 * (req_init .. req_release, method what) until it does less than batch or
 * fails, at most rounds times. Returns the sum of what the rounds did, or
 * -1 when the first one failed. */
int req_rounds(struct df_req *r, struct df_app *app, const char *what, int rounds, int batch,
               int (*round)(struct df_req *r, void *ctx), void *ctx);

/* item as unformatted JSON text in r's arena; item is freed. NULL when out
 * of memory (recorded as a 500 of what). */
const char *req_json_text(struct df_req *r, cJSON *item, const char *what);

/* A parameter from the body, else from the query string. */
const char *req_param(const struct df_req *r, const char *key);
/* A list parameter: repeated keys and comma-separated values both count. */
size_t req_param_list(struct df_req *r, const char *key, const char **out, size_t max);
const char *req_cookie(const struct df_req *r, const char *name);

/* Request headers. The plugin adds every HTTP_* variable uWSGI passes,
 * without the prefix ("X_CSRFTOKEN"); the name is stored once in the one
 * spelling kept here, lower case with '-' ("x-csrftoken"). As many as the
 * request carried: uWSGI's buffer-size bounds them, the arena holds them. */
void req_header_add(struct df_req *r, const char *name, size_t name_len, const char *value, size_t value_len);
/* A header by name in any case, with '-' or '_' ("X-CSRFToken"): the last
 * one when it came more than once (as uWSGI's own lookup); NULL when absent. */
const char *req_header(const struct df_req *r, const char *name);

/* Records a backend failure: status 503 (unavailable) or 500; logs msg. */
void req_fail(struct df_req *r, int status, const char *what, const char *detail);
/* Forgets a recorded failure the handler has dealt with (a retried
 * deadlock, a cart clean-up after an order that stands). */
void req_fail_clear(struct df_req *r);

/* Responses. */
void resp_json(struct df_req *r, int status, cJSON *body);   /* takes body */
/* 200 with body when ok; else frees body, leaving the recorded failure
 * (or an answer already given) to be sent. */
void resp_json_if(struct df_req *r, int ok, cJSON *body);
void resp_error(struct df_req *r, int status, const char *msg); /* {"error": msg} */
/* 200 {"res": code, "errmsg": msg} */
void resp_res_err(struct df_req *r, int code, const char *msg);
/* 200 {"res": code, "errmsg": msg, "reason": reason} (no reason when NULL);
 * returns the answer, still the request's, for more members */
cJSON *resp_res_reason(struct df_req *r, int code, const char *msg, const char *reason);
/* 200 {"res": code, "message": msg}; returns the object for extra fields */
cJSON *resp_res_ok(struct df_req *r, int code, const char *msg);
/* 200 {"res": code}; returns the object for the payload */
cJSON *resp_res(struct df_req *r, int code);
void resp_text(struct df_req *r, int status, const char *text);
void resp_cookie(struct df_req *r, const char *name, const char *value, long max_age, int http_only);

/* Strict positive id from a parameter: 1..2^53. -1 when absent or bad. */
long long req_parse_id(const char *s);

#endif
