/* What the cart handlers share: the texts of the contract, the rules for
 * counts (sent by clients and stored in Redis) and the hash's totals. */
#ifndef DF_CART_H
#define DF_CART_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "rds.h"
#include "req.h"

#define CART_COUNT_MAX 2147483647LL /* df_goods_sku.stock is an int */

/* A count sent by a client: decimal digits only, 1..CART_COUNT_MAX. */
int cart_count_parse(const char *s, long long *out);
/* A count stored in the hash: decimal digits, at most 15 (the rule the
 * add script applies too, so C and Lua agree on what counts). */
int cart_value_parse(const char *s, size_t len, long long *out);
/* cart_value_parse's rule in Lua, for the cart's scripts (and the session's
 * user id they read): count(v) is the number, or nil. */
#define CART_LUA_COUNT                                                                                        \
    "local function count(v)\n"                                                                              \
    "  if type(v) == 'string' and #v <= 15 and string.find(v, '^%d+$') then return tonumber(v) end\n"        \
    "  return nil\n"                                                                                         \
    "end\n"

/* CMD cart_<uid> field... in one round trip (HMGET, HDEL): fields[i] of
 * lens[i] bytes, or strlen(fields[i]) when lens is NULL. The reply, or
 * NULL on failure (recorded). */
redisReply *cart_fields_cmd(struct df_req *r, const char *cmd, long long uid, const char *const *fields,
                            const size_t *lens, size_t n);

/* Sum of the stored counts in an HVALS reply; unreadable values count 0. */
long long cart_hvals_sum(const redisReply *vals);

/* The session's user (0 without a session) and its cart, in one round
 * trip: cmd "HVALS" or "HGETALL" gives *cart that reply (NULL without a
 * session). viewed_sku > 0 also records a view in the user's history.
 * 0, or -1 on failure (recorded). Sets the request's user as
 * session_user does. */
int cart_session_read(struct df_req *r, const char *cmd, long long viewed_sku, long long *uid,
                      redisReply **cart);
/* The same in two halves (lib/rds.h: rds_eval_start), so a statement can
 * run while Redis works. */
int cart_session_start(struct df_req *r, struct rds_call *call, const char *cmd, long long viewed_sku);
int cart_session_finish(struct df_req *r, struct rds_call *call, long long *uid, redisReply **cart);

#endif
