/* Django-style CSRF: a csrftoken cookie, echoed by every POST in the
 * X-CSRFToken header or the csrfmiddlewaretoken field. */
#ifndef DF_CSRF_H
#define DF_CSRF_H

#include "req.h"

#define CSRF_COOKIE "csrftoken"
#define CSRF_FIELD "csrfmiddlewaretoken"
#define CSRF_HEADER "X-CSRFToken"

/* 0 when the request carries a well-formed cookie and the same token. */
int csrf_check(const struct df_req *r);
/* Sets a new csrftoken cookie when the request has no valid one. */
void csrf_ensure_cookie(struct df_req *r);
/* Sets a new csrftoken cookie whatever the request carries (at login). */
void csrf_rotate(struct df_req *r);
int csrf_token_valid(const char *t);

#endif
