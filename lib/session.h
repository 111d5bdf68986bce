/* Sessions in Redis: key session_<id> holds the user id, with a TTL, so
 * every instance sees every session. The id is 128 random bits in hex,
 * carried in the sessionid cookie (HttpOnly, SameSite=Lax, Path=/). */
#ifndef DF_SESSION_H
#define DF_SESSION_H

#include "req.h"

#define SESSION_COOKIE "sessionid"

/* The Redis key of the request's session ("session_<id>"), or NULL when
 * the request carries no well-formed sessionid cookie. Its value is the
 * user id in decimal: server-side scripts may resolve it themselves to
 * save a round trip (the cart add does). */
const char *session_key(struct df_req *r);
/* The logged-in user's id in *uid (0: anonymous). -1: Redis failed (the
 * failure is recorded: the answer is 503, never "logged out"). */
int session_user(struct df_req *r, long long *uid);
/* Records the request's user (0: anonymous), so that session_user answers
 * it without asking Redis again: for a caller that resolved the session in
 * a script of its own (the cart's). */
void session_set_user(struct df_req *r, long long uid);
/* 1 when the request's user is already known to be anonymous, so a caller
 * can skip asking Redis. */
int session_known_anonymous(const struct df_req *r);
/* For endpoints that need a login: STEP_OK logged in (*uid set);
 * STEP_ANSWERED anonymous, answered {"res": 0, "errmsg": msg};
 * STEP_FAILED backend failure (recorded). */
enum step session_require(struct df_req *r, long long *uid, const char *msg);
/* Stores a new session and sets the cookie: with remember, for the
 * remember TTL; else a browser-session cookie and the short TTL. */
int session_start(struct df_req *r, long long uid, int remember);
/* Deletes the request's session (if any) and expires the cookie. */
int session_end(struct df_req *r);

#endif
