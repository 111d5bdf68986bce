/* The request pipeline without uWSGI: routing, 413, body parsing, CSRF,
 * recorded backend failures, the csrftoken cookie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

static struct df_app app;
static const char *TOKEN = "abcdefghijklmnopqrstuvwxyz012345";

static void h_echo(struct df_req *r) {
    const char *v = req_param(r, "v");
    cJSON *o = resp_res_ok(r, 5, "ok");
    cJSON_AddStringToObject(o, "v", v ? v : "(none)");
}

static void h_list(struct df_req *r) {
    const char *v[8];
    size_t n = req_param_list(r, "ids", v, 8);
    cJSON *arr = cJSON_AddArrayToObject(resp_res(r, 1), "ids");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
}

static void h_silent_outage(struct df_req *r) {
    req_fail(r, 503, "redis", "connection refused");
}

static void h_silent_bug(struct df_req *r) {
    (void)r;
}

static const struct route t[] = {
    {"POST", "/echo", h_echo, 0},
    {"GET", "/echo", h_echo, 0},
    {"POST", "/exempt", h_echo, ROUTE_CSRF_EXEMPT},
    {"GET", "/down", h_silent_outage, 0},
    {"POST", "/list", h_list, 0},
    {"GET", "/bug", h_silent_bug, 0},
    {NULL, NULL, NULL, 0},
};

static struct df_req R;

static int setup(void **state) {
    memset(&app, 0, sizeof(app));
    app.cfg.max_body = 64;
    return 0;
}

static void run(const char *method, const char *path, const char *ctype, const char *csrf_header,
                const char *cookie, const char *body) {
    req_init(&R, &app);
    R.method = method;
    R.path = path;
    R.path_len = strlen(path);
    R.content_type = ctype ? ctype : "";
    if (csrf_header) /* as the plugin adds HTTP_X_CSRFTOKEN */
        req_header_add(&R, "X_CSRFTOKEN", 11, csrf_header, strlen(csrf_header));
    size_t blen = body ? strlen(body) : 0;
    if (dispatch_route(&R, t, (long long)blen) < 0)
        body = NULL, blen = 0;
    dispatch_run(&R, "", 0, cookie ? cookie : "", cookie ? strlen(cookie) : 0, body, blen);
}

static const char *field(const char *name) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(R.json, name);
    return v && cJSON_IsString(v) ? v->valuestring : NULL;
}

static char cookie_ok[128];

static void test_not_found_and_method(void **state) {
    run("GET", "/nope", NULL, NULL, NULL, NULL);
    assert_int_equal(R.status, 404);
    assert_string_equal(field("error"), "not found");
    assert_int_equal(R.n_cookies, 1); /* a GET without csrftoken gets one */
    assert_true(strncmp(R.set_cookie[0], "csrftoken=", 10) == 0);
    req_release(&R);
    run("DELETE", "/echo", NULL, NULL, NULL, NULL);
    assert_int_equal(R.status, 405);
    req_release(&R);
}

static void test_too_large(void **state) {
    run("POST", "/echo", NULL, TOKEN, cookie_ok, "v=0123456789012345678901234567890123456789012345678901234567890123456789");
    assert_int_equal(R.status, 413);
    req_release(&R);
}

static void test_csrf(void **state) {
    run("POST", "/echo", NULL, NULL, NULL, "v=1");
    assert_int_equal(R.status, 403);
    assert_string_equal(field("error"), "CSRF verification failed");
    assert_int_equal(R.n_cookies, 0); /* POSTs are not given cookies */
    req_release(&R);
    run("POST", "/echo", NULL, "wrongwrongwrongwrongwrongwrong12", cookie_ok, "v=1");
    assert_int_equal(R.status, 403);
    req_release(&R);
    run("POST", "/echo", NULL, "short", "csrftoken=short", "v=1"); /* malformed cookie */
    assert_int_equal(R.status, 403);
    req_release(&R);
    run("POST", "/echo", NULL, TOKEN, cookie_ok, "v=1");
    assert_int_equal(R.status, 200);
    assert_string_equal(field("v"), "1");
    req_release(&R);
    /* the form field instead of the header */
    char body[128];
    snprintf(body, sizeof(body), "v=2&csrfmiddlewaretoken=%s", TOKEN);
    run("POST", "/echo", "application/x-www-form-urlencoded; charset=UTF-8", NULL, cookie_ok, body);
    assert_int_equal(R.status, 200);
    assert_string_equal(field("v"), "2");
    req_release(&R);
    run("POST", "/exempt", NULL, NULL, NULL, "v=3");
    assert_int_equal(R.status, 200);
    req_release(&R);
}

static void test_bodies(void **state) {
    run("POST", "/echo", "application/json", TOKEN, cookie_ok, "{\"v\": 7}");
    assert_int_equal(R.status, 200);
    assert_string_equal(field("v"), "7");
    req_release(&R);
    run("POST", "/echo", "application/json", TOKEN, cookie_ok, "{\"v\": ");
    assert_int_equal(R.status, 400);
    assert_string_equal(field("error"), "unreadable request body");
    req_release(&R);
    run("POST", "/echo", NULL, TOKEN, cookie_ok, "v=%ff");
    assert_int_equal(R.status, 400);
    req_release(&R);
    run("POST", "/echo", "multipart/form-data; boundary=x", TOKEN, cookie_ok, "--x");
    assert_int_equal(R.status, 400);
    assert_string_equal(field("error"), "unsupported content type");
    req_release(&R);
}

static const char *list_of(const char *ctype, const char *body) {
    run("POST", "/list", ctype, TOKEN, cookie_ok, body);
    static char out[256];
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(R.json, "ids"));
    snprintf(out, sizeof(out), "%s", s);
    free(s);
    req_release(&R);
    return out;
}

static void test_list_parameters(void **state) {
    /* repeated keys, comma lists and JSON arrays all make one list */
    assert_string_equal(list_of(NULL, "ids=1&ids=6"), "[\"1\",\"6\"]");
    assert_string_equal(list_of(NULL, "ids=1,6,,9"), "[\"1\",\"6\",\"9\"]");
    assert_string_equal(list_of(NULL, "ids=1,6&ids=7"), "[\"1\",\"6\",\"7\"]");
    assert_string_equal(list_of("application/json", "{\"ids\": [1, \"6\"]}"), "[\"1\",\"6\"]");
    assert_string_equal(list_of(NULL, "other=1"), "[]");
    assert_string_equal(list_of(NULL, "ids=1,2,3,4,5,6,7,8,9,10"), "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]");
}

static void test_many_repeated_keys(void **state) {
    /* as many repeated keys as a request may carry: none is dropped */
    req_init(&R, &app);
    for (int i = 0; i < PARAMS_MAX; i++) {
        char v[8];
        int len = snprintf(v, sizeof(v), "%d", i + 1);
        params_add(&R.arena, &R.query, "ids", 3, v, (size_t)len);
    }
    const char *out[PARAMS_MAX + 1];
    assert_int_equal(req_param_list(&R, "ids", out, PARAMS_MAX + 1), PARAMS_MAX);
    assert_string_equal(out[0], "1");
    assert_string_equal(out[PARAMS_MAX - 1], "256");
    req_release(&R);
}

static void test_recorded_failures(void **state) {
    run("GET", "/down", NULL, NULL, cookie_ok, NULL);
    assert_int_equal(R.status, 503);
    assert_string_equal(field("error"), "redis unavailable");
    assert_int_equal(R.n_cookies, 0); /* it has a token already */
    req_release(&R);
    run("GET", "/bug", NULL, NULL, cookie_ok, NULL);
    assert_int_equal(R.status, 500);
    assert_string_equal(field("error"), "internal error");
    req_release(&R);
}

static void add_header(const char *name, const char *value) {
    req_header_add(&R, name, strlen(name), value, strlen(value));
}

static void test_req_header(void **state) {
    req_init(&R, &app);
    assert_null(req_header(&R, "X-CSRFToken")); /* no headers at all */
    add_header("X_CSRFTOKEN", "tok");
    add_header("IDEMPOTENCY_KEY", "k1");
    add_header("ACCEPT", "");
    /* any case, '-' or '_': the spelling uWSGI passes, or the wire's */
    assert_string_equal(req_header(&R, "X-CSRFToken"), "tok");
    assert_string_equal(req_header(&R, "x-csrftoken"), "tok");
    assert_string_equal(req_header(&R, "X_CSRFTOKEN"), "tok");
    assert_string_equal(req_header(&R, "idempotency-key"), "k1");
    assert_string_equal(req_header(&R, "Accept"), ""); /* present, empty */
    /* absent, and names that only start or end alike */
    assert_null(req_header(&R, "X-Forwarded-For"));
    assert_null(req_header(&R, "X-CSRF"));
    assert_null(req_header(&R, "X-CSRFTokens"));
    assert_null(req_header(&R, ""));
    /* sent twice: the last one, as uwsgi_get_var answered */
    add_header("IDEMPOTENCY_KEY", "k2");
    assert_string_equal(req_header(&R, "Idempotency-Key"), "k2");
    assert_string_equal(R.headers.head->key, "x-csrftoken"); /* stored once, normalised */
    req_release(&R);
    req_init(&R, &app);
    assert_null(req_header(&R, "X-CSRFToken")); /* the next request starts without them */
    req_release(&R);
}

static void test_many_headers(void **state) {
    req_init(&R, &app);
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "X_H%d", i);
        add_header(name, "v");
    }
    add_header("X_CSRFTOKEN", TOKEN);
    assert_int_equal(R.headers.count, 3001);
    assert_string_equal(req_header(&R, "x-h2999"), "v");
    assert_string_equal(req_header(&R, "X-CSRFToken"), TOKEN);
    req_release(&R);
}

/* The CSRF check reads the header whatever case it was sent in. */
static void test_csrf_header_any_case(void **state) {
    req_init(&R, &app);
    R.method = "POST";
    R.path = "/echo";
    R.path_len = 5;
    add_header("x-csrftoken", TOKEN);
    assert_int_equal(dispatch_route(&R, t, 3), 0);
    dispatch_run(&R, "", 0, cookie_ok, strlen(cookie_ok), "v=9", 3);
    assert_int_equal(R.status, 200);
    assert_string_equal(field("v"), "9");
    req_release(&R);
}

int main(void) {
    snprintf(cookie_ok, sizeof(cookie_ok), "sessionid=x; csrftoken=%s", TOKEN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_not_found_and_method, setup),
        cmocka_unit_test_setup(test_too_large, setup),
        cmocka_unit_test_setup(test_csrf, setup),
        cmocka_unit_test_setup(test_bodies, setup),
        cmocka_unit_test_setup(test_recorded_failures, setup),
        cmocka_unit_test_setup(test_list_parameters, setup),
        cmocka_unit_test_setup(test_many_repeated_keys, setup),
        cmocka_unit_test_setup(test_req_header, setup),
        cmocka_unit_test_setup(test_many_headers, setup),
        cmocka_unit_test_setup(test_csrf_header_any_case, setup),
    };
    return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
