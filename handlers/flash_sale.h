/* A flash sale (秒杀) of one SKU: the row df_flash_sale, its state in
 * Redis, and what the staff endpoints (flash_sale_admin.c) and the public
 * read (flash_sale_read.c) share. docs/orders.md#flash-sales has the keys
 * and what creating and closing a sale guarantee. */
#ifndef DF_FLASH_SALE_H
#define DF_FLASH_SALE_H

#include "handlers.h"

#define FLASH_NOT_FOUND_MSG "秒杀活动不存在"

/* The Redis keys of sale <id>: the hash holding its state (fields sku_id,
 * allotted, units_left, starts_at, ends_at, limit, status on|closed,
 * returned); and the names kept for the per-user counts (hash user id ->
 * units taken) and for the stream of its orders not yet written to
 * MariaDB, which the staff read counts as pending and a build of the hash
 * as taken. */
#define FLASH_SALE_KEY "flash_sale_%lld"
#define FLASH_USERS_KEY "flash_sale_users_%lld"
#define FLASH_ORDERS_KEY "flash_sale_orders_%lld"

/* df_flash_sale.status */
enum flash_status {
    FLASH_ON = 1,
    FLASH_CLOSED = 2,
};

struct flash_sale {
    long long id, sku_id, stock, starts_at, ends_at, limit_per_user, returned;
    int status;
};

/* Sale id's row into *s (FOR UPDATE with lock): 1 found, 0 none, -1 failed. */
int flash_sale_row(struct df_req *r, long long id, int lock, struct flash_sale *s);

/* What a buyer would see the sale as at now: "closed" (by staff),
 * "scheduled" (before starts_at), "open", "ended" (from ends_at on). */
const char *flash_sale_phase(int closed, long long starts_at, long long ends_at, long long now);

/* Sale s's Redis hash, built from its row when it is missing (a new sale,
 * or Redis lost it): units_left = allotted - orders written - orders in
 * the stream, 0 once closed. A hash that exists is left as it is, so no
 * unit is ever counted twice. 0, or -1 failed (recorded). */
int flash_sale_state_build(struct df_req *r, const struct flash_sale *s);

/* The sale's orders written to MariaDB (df_flash_sale_order); -1 failed. */
long long flash_sale_persisted(struct df_req *r, long long id);

/* s's Redis state: units_left, status ("on" / "closed") and the units the
 * close drained, built from the row first when missing. 0, or -1 failed. */
struct flash_state {
    long long units_left, returned;
    int closed;
};
int flash_sale_state(struct df_req *r, const struct flash_sale *s, struct flash_state *st);

/* Adds a time as "<key>": Unix seconds and "<key>_text": Beijing time. */
void flash_add_time(cJSON *o, const char *key, long long t);

/* {"res": 2, "errmsg": FLASH_NOT_FOUND_MSG} with HTTP status: 404 for the
 * reads, as an order's; 200 for the close, an action. */
void flash_sale_not_found(struct df_req *r, int status);

/* The sale id of the path's one <int>, or -1 when it cannot be a row's. */
long long flash_sale_path_id(const struct df_req *r);

#endif
