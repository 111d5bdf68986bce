/* The address object, shared by /user/address and /user/info. */
#ifndef DF_USER_ADDRESS_H
#define DF_USER_ADDRESS_H

#include <cjson/cJSON.h>

#include "db.h"

#define ADDRESS_ID_MAX 2147483647LL /* df_address.id is an int */

/* Select these columns, in this order, for address_json. */
#define ADDRESS_COLUMNS "id, receiver, addr, zip_code, phone, is_default"

/* {"id", "receiver", "addr", "zip_code" (null when none), "phone",
 * "is_default" (bool)} from the current row; the caller owns it. */
cJSON *address_json(const struct db_rows *rows);

/* user_addrs_<uid>: a set of the user's live address ids, plus "0" (no
 * address has it) so that a user with none has a set too; it lives
 * ADDRESS_CACHE_TTL seconds from its fill. The flash buy checks an address
 * against it inside its script (handlers/flash_buy.c). A missing set is
 * filled from MariaDB; the address add puts a new id into a set that
 * exists. docs/orders.md#flash-sales. */
#define ADDRESS_CACHE_KEY "user_addrs_%lld"
#define ADDRESS_CACHE_TTL 600

struct df_req;
/* Fills uid's set from df_address (the live rows); *owned: addr_id is one
 * of them. 0, or -1 failed (recorded). */
int address_cache_fill(struct df_req *r, long long uid, long long addr_id, int *owned);

#endif
