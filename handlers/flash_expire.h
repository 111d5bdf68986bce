/* The end of a flash order's unit and of a flash sale, outside any staff
 * request: an unpaid flash order that expires gives its unit back to the
 * sale while the sale is open, to the SKU's stock otherwise; a sale whose
 * ends_at has passed is closed by the mule as staff would close it. Both
 * exactly once, whoever else sweeps or closes at the same moment
 * (docs/orders.md#flash-sales). */
#ifndef DF_FLASH_EXPIRE_H
#define DF_FLASH_EXPIRE_H

#include "req.h"

/* How long the sale's lock is held at most by an expiry or a close (a
 * holder that died frees it after this), and how long a staff close waits
 * for it before answering busy. */
#define FLASH_END_LOCK_MS 10000L
#define FLASH_CLOSE_WAIT_MS 3000L

/* What flash_sale_end came to. */
enum flash_end {
    FLASH_END_FAILED = -1, /* recorded */
    FLASH_END_NONE = 0,    /* no such sale */
    FLASH_END_CLOSED = 1,  /* closed now: *returned units back to the SKU */
    FLASH_END_ALREADY = 2, /* it was closed before */
    FLASH_END_BUSY = 3,    /* the sale's lock stayed held for wait_ms */
};

/* Closes sale id (flash_sale_admin.c): under the sale's lock (waited for
 * up to wait_ms) and its row lock, one transaction sets the row's status 2
 * and gives the units left in the hash back to the SKU's stock. */
enum flash_end flash_sale_end(struct df_req *r, long long id, long wait_ms, long long *returned);


/* Frees the sale's lock if token holds it; a failure is only logged (the
 * lock frees itself after its TTL) and leaves r's recorded failure as it
 * was, so that what the holder did still stands or is still answered. */
void flash_sale_unlock_quietly(struct df_req *r, long long id, const char *token);

/* The live flash sale order_id belongs to (df_flash_sale_order, released
 * 0): its sale id, 0 when it is none, -1 failed. */
long long flash_order_sale(struct df_req *r, const char *order_id);

/* Releases order_id of sale sale_id if it is still unpaid and expired,
 * as the sweep would (for a payment that came after the time limit).
 * 1 released, 0 nothing to do or the sale's lock was busy (the sweep
 * takes it later), -1 failed (recorded). */
int flash_order_expire(struct df_req *r, long long sale_id, const char *order_id);

/* The mule's tick: releases the expired unpaid flash orders, then closes
 * the sales still on whose ends_at has passed; one log line for each that
 * did anything. */
void flash_expire_tick(struct df_req *r, struct df_app *app);

#endif
