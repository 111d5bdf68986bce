#include "dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csrf.h"

int dispatch_route(struct df_req *r, const struct route *table, long long content_length) {
    switch (router_match(table, r->method, r->path, r->path_len, &r->match)) {
    case ROUTE_NOT_FOUND:
        resp_error(r, 404, "not found");
        return -1;
    case ROUTE_BAD_METHOD:
        resp_error(r, 405, "method not allowed");
        return -1;
    case ROUTE_FOUND:
        break;
    }
    if (content_length > r->app->cfg.max_body) {
        resp_error(r, 413, "request body too large");
        return -1;
    }
    return 0;
}

static int starts_with_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int parse_body(struct df_req *r, const char *body, size_t blen) {
    if (blen == 0)
        return 0;
    if (starts_with_ci(r->content_type, "application/json"))
        return json_params_parse(&r->arena, &r->body, body, blen);
    if (!r->content_type[0] || starts_with_ci(r->content_type, "application/x-www-form-urlencoded"))
        return form_parse(&r->arena, &r->body, body, blen);
    return -2;
}

void dispatch_run(struct df_req *r, const char *query, size_t qlen, const char *cookie, size_t clen, const char *body,
                  size_t blen) {
    int post = strcmp(r->method, "POST") == 0;
    if (cookie_parse(&r->arena, &r->cookies, cookie, clen) < 0) {
        resp_error(r, 400, "unreadable cookies");
        goto out;
    }
    if (r->status) /* already answered by dispatch_route */
        goto out;
    if (form_parse(&r->arena, &r->query, query, qlen) < 0) {
        resp_error(r, 400, "unreadable query string");
        goto out;
    }
    int rc = parse_body(r, body, blen);
    if (rc == -2) {
        resp_error(r, 400, "unsupported content type");
        goto out;
    }
    if (rc < 0) {
        resp_error(r, 400, "unreadable request body");
        goto out;
    }
    if (post && !(r->match.route->flags & ROUTE_CSRF_EXEMPT) && csrf_check(r) < 0) {
        resp_error(r, 403, "CSRF verification failed");
        goto out;
    }
    r->match.route->handler(r);
    if (r->status == 0) {
        if (r->fail_status == 0) {
            req_fail(r, 500, "handler", "answered nothing");
        }
        resp_error(r, r->fail_status, r->fail_msg);
    }
out:
    if (!post)
        csrf_ensure_cookie(r);
}

char *dispatch_body(const struct df_req *r, size_t *len) {
    char *s;
    if (r->text) {
        s = strdup(r->text);
    } else if (r->json) {
        s = cJSON_PrintUnformatted(r->json);
    } else {
        s = strdup("{}");
    }
    *len = s ? strlen(s) : 0;
    return s;
}
