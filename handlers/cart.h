/* What the cart handlers share: the texts of the contract, the rules for
 * counts (sent by clients and stored in Redis) and the hash's totals. */
#ifndef DF_CART_H
#define DF_CART_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "req.h"

#define CART_LOGIN_MSG "请先登录"
#define CART_COUNT_MAX 2147483647LL /* df_goods_sku.stock is an int */

/* A count sent by a client: decimal digits only, 1..CART_COUNT_MAX. */
int cart_count_parse(const char *s, long long *out);
/* A count stored in the hash: decimal digits, at most 15 (the rule the
 * add script applies too, so C and Lua agree on what counts). */
int cart_value_parse(const char *s, size_t len, long long *out);
/* Sum of the stored counts in an HVALS reply; unreadable values count 0. */
long long cart_hvals_sum(const redisReply *vals);

/* The sum of the counts in cart_<uid> into *total: 0, or -1 on failure
 * (recorded). The header badge and the index page show it. */
int cart_total(struct df_req *r, long long uid, long long *total);

/* GET /cart and GET /cart/count (cart_view.c) */
void cart_show(struct df_req *r);
void cart_count(struct df_req *r);

#endif
