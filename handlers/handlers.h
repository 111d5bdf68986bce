/* What every handler file includes, and the route tables they export. */
#ifndef DF_HANDLERS_H
#define DF_HANDLERS_H

#include <cjson/cJSON.h>

#include "db.h"
#include "json.h"
#include "rds.h"
#include "req.h"
#include "router.h"
#include "session.h"

extern const struct route health_routes[];
extern const struct route cart_routes[];
extern const struct route goods_routes[];
extern const struct route index_routes[];
extern const struct route user_routes[];
extern const struct route user_info_routes[];
extern const struct route address_routes[];
extern const struct route order_commit_routes[];
extern const struct route order_view_routes[];
extern const struct route order_pay_routes[];
extern const struct route order_notify_routes[];
extern const struct route order_comment_routes[];

#endif
