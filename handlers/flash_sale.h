/* A flash sale (秒杀) of one SKU: the row df_flash_sale, its state in
 * Redis, and what the staff endpoints (flash_sale_admin.c) and the public
 * read (flash_sale_read.c) share. docs/orders.md#flash-sales has the keys
 * and what creating and closing a sale guarantee. */
#ifndef DF_FLASH_SALE_H
#define DF_FLASH_SALE_H

#include "handlers.h"
#include "money.h"

#define FLASH_NOT_FOUND_MSG "秒杀活动不存在"

/* The Redis keys of sale <id>, order <oid>, user <uid>:
 *   flash_sale_<id>         hash: sku_id, price (the SKU's at creation),
 *                           allotted, units_left, starts_at, ends_at, limit,
 *                           status on|closed, written, returned, and once
 *                           closed drained (the units the close took)
 *   flash_sale_users_<id>   hash: uid -> units the user holds in the sale
 *   flash_sale_orders_<id>  stream of the orders not yet written to MariaDB,
 *                           consumer group "persist"; an entry (fields o
 *                           order id, u uid, a addr_id, p pay_method, pr
 *                           price, t reservation time in Unix ms) is
 *                           XACKed and XDELed in the script that counts it
 *                           written, so XLEN is what is pending
 *   flash_order_<oid>       hash: the entry's fields and "sale", for the
 *                           order's read until its row exists
 *   flash_sale_lock_<id>    a token: who may change written or returned
 *   flash_sales             set: the sales consumers look at
 * Every script keeps, for an existing hash,
 *   allotted = units_left + XLEN(stream) + written + returned
 * and MariaDB, once consistent, has written = the sale's df_flash_sale_order
 * rows with released = 0 and returned = df_flash_sale.returned (units given
 * back to the SKU). Reconciliation checks both under the lock. */
#define FLASH_SALE_KEY "flash_sale_%lld"
#define FLASH_USERS_KEY "flash_sale_users_%lld"
#define FLASH_ORDERS_KEY "flash_sale_orders_%lld"
#define FLASH_ORDER_KEY "flash_order_%s"
#define FLASH_LOCK_KEY "flash_sale_lock_%lld"
#define FLASH_SALES_SET "flash_sales"
#define FLASH_GROUP "persist"

/* df_flash_sale_order.released */
enum flash_released {
    FLASH_LIVE = 0,
    FLASH_TO_SALE = 1,
    FLASH_TO_SKU = 2,
};

/* df_flash_sale.status */
enum flash_status {
    FLASH_ON = 1,
    FLASH_CLOSED = 2,
};

struct flash_sale {
    long long id, sku_id, stock, starts_at, ends_at, limit_per_user, returned;
    int status;
    char price[MONEY_STR_MAX]; /* the SKU's, as MariaDB gives DECIMAL */
};

/* Sale id's row into *s (FOR UPDATE with lock): 1 found, 0 none, -1 failed. */
int flash_sale_row(struct df_req *r, long long id, int lock, struct flash_sale *s);

/* What a buyer would see the sale as at now: "ended" (from ends_at on,
 * closed by the mule or not), "closed" (by staff before its end),
 * "scheduled" (before starts_at), "open". */
const char *flash_sale_phase(int closed, long long starts_at, long long ends_at, long long now);

/* Sale s's Redis hash, built from its row when it is missing (a new sale,
 * or Redis lost it): written = its live rows, returned = the row's,
 * units_left = allotted - written - returned - orders in the stream (0
 * once closed); the sale joins flash_sales and its stream gets the group. A hash that exists is left as it is, so no
 * unit is ever counted twice. 0, or -1 failed (recorded). */
int flash_sale_state_build(struct df_req *r, const struct flash_sale *s);

/* The sale's live orders in MariaDB (df_flash_sale_order, released 0);
 * -1 failed. */
long long flash_sale_persisted(struct df_req *r, long long id);

/* s's Redis state: units_left, status ("on" / "closed") and the units the
 * close drained, built from the row first when missing. 0, or -1 failed. */
struct flash_state {
    long long units_left, returned;
    int closed;
};
int flash_sale_state(struct df_req *r, const struct flash_sale *s, struct flash_state *st);

/* The sale's lock, for whoever changes written or returned (the consumer's
 * batch, an expired order's unit, reconciliation): SET NX PX ttl_ms with a
 * random token. 1 taken (token filled), 0 held by another, -1 failed. A
 * holder that died frees it after ttl_ms. */
#define FLASH_TOKEN_LEN 33
int flash_sale_lock(struct df_req *r, long long id, long ttl_ms, char token[FLASH_TOKEN_LEN]);
/* flash_sale_lock tried every 10 ms for up to wait_ms: 1 taken, 0 still
 * held by another, -1 failed. */
int flash_sale_lock_wait(struct df_req *r, long long id, long ttl_ms, long wait_ms, char token[FLASH_TOKEN_LEN]);
/* Frees the lock if token still holds it: 1 freed, 0 not held, -1 failed. */
int flash_sale_unlock(struct df_req *r, long long id, const char *token);

/* Reconciliation of sale s under its lock: the Redis numbers read in one
 * script, MariaDB's live rows and returned, both equations checked
 *   allotted = units_left + pending + written + returned
 *   written = live - live_pending, returned = the row's returned
 * (live_pending: entries still in the stream whose rows are committed, a
 * batch acked after its COMMIT) and what is off repaired: written and
 * returned from MariaDB, units_left from the first equation while the sale
 * is on; for a closed sale the units unaccounted for go back to the SKU,
 * once (guarded by the row's returned). The hash is built first when
 * missing. A log line names the sale and the numbers when anything was
 * off. 0, or -1 failed (recorded; 503 when the lock stayed taken). */
struct flash_recon {
    int rebuilt;     /* the hash was missing and built from the row */
    int closed;      /* the row's status */
    int hash_closed; /* the hash's status as found */
    /* found */
    long long allotted, units_left, pending, written, returned;
    long long live, live_pending, row_returned;
    /* allotted - units_left - pending - written - returned; written -
     * (live - live_pending); returned - row_returned */
    long long drift_units, drift_written, drift_returned;
    /* after the repair */
    int repaired;
    long long units_left_after, written_after, returned_after, to_sku;
};
int flash_sale_reconcile(struct df_req *r, const struct flash_sale *s, struct flash_recon *rc);

/* Adds a time as "<key>": Unix seconds and "<key>_text": Beijing time. */
void flash_add_time(cJSON *o, const char *key, long long t);

/* {"res": 2, "errmsg": FLASH_NOT_FOUND_MSG} with HTTP status: 404 for the
 * reads, as an order's; 200 for the close, an action. */
void flash_sale_not_found(struct df_req *r, int status);

/* The sale id of the path's one <int>, or -1 when it cannot be a row's. */
long long flash_sale_path_id(const struct df_req *r);

#endif
