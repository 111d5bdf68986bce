/* Outgoing HTTP for the payment gateway: one bounded POST, answered or
 * failed within the timeout, never retried here. */
#ifndef DF_HTTP_CLIENT_H
#define DF_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#define HTTP_ANSWER_MAX (256 * 1024) /* a trade query answer is a few KB */

struct http_answer {
    long status;
    char *body; /* malloc'd, NUL-terminated; the caller frees */
    size_t len;
};

/* POSTs an application/x-www-form-urlencoded body to url. 0 with the
 * answer (any HTTP status), or -1 with one line in err: unreachable,
 * timed out (connect and answer together within timeout_ms), too large. */
int http_post_form(const char *url, const char *body, long timeout_ms, struct http_answer *out, char *err,
                   size_t errlen);

/* How many calls a process has in flight, shared by its threads: a slow
 * remote end can then hold at most that many of them. */
struct http_gate {
    atomic_int in_flight;
};

/* Takes a slot: 1 when fewer than max calls were in flight (the caller
 * gives it back with http_gate_leave), 0 when max are in flight already. */
int http_gate_enter(struct http_gate *g, int max);
void http_gate_leave(struct http_gate *g);

#endif
