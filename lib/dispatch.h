/* What happens to every request between uWSGI and a handler:
 * route (404/405) -> size (413) -> body parse (400) -> CSRF (403) ->
 * handler -> recorded backend failure (503/500) -> csrftoken cookie. */
#ifndef DF_DISPATCH_H
#define DF_DISPATCH_H

#include "req.h"

/* Routing and the size limit. 0: go on and read the body; -1: answered. */
int dispatch_route(struct df_req *r, const struct route *table, long long content_length);
/* Parses cookies, query and body, checks CSRF, runs the handler; always
 * answers. Called for every request, answered by dispatch_route or not. */
void dispatch_run(struct df_req *r, const char *query, size_t qlen, const char *cookie, size_t clen, const char *body,
                  size_t blen);
/* JSON text of the answer (malloc'd, caller frees). */
char *dispatch_body(const struct df_req *r, size_t *len);

#endif
