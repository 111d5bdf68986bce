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

#endif
