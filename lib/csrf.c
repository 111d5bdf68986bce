#include "csrf.h"

#include <string.h>

#include "crypto.h"

#define CSRF_COOKIE_AGE 31449600 /* Django's default: one year */

int csrf_token_valid(const char *t) {
    size_t n = t ? strlen(t) : 0;
    if (n < 32 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

int csrf_check(const struct df_req *r) {
    const char *cookie = req_cookie(r, CSRF_COOKIE);
    const char *header = req_header(r, CSRF_HEADER);
    const char *sent = header ? header : params_get(&r->body, CSRF_FIELD);
    if (!csrf_token_valid(cookie) || !sent)
        return -1;
    return secure_streq(cookie, sent) ? 0 : -1;
}

void csrf_rotate(struct df_req *r) {
    char tok[33];
    if (rand_alnum(tok, 32) < 0)
        return;
    /* not HttpOnly: the pages' JavaScript reads it to echo it */
    resp_cookie(r, CSRF_COOKIE, tok, CSRF_COOKIE_AGE, 0);
}

void csrf_ensure_cookie(struct df_req *r) {
    if (!csrf_token_valid(req_cookie(r, CSRF_COOKIE)))
        csrf_rotate(r);
}
