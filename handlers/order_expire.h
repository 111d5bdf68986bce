/* Expiry of unpaid orders: an online-payment order (pay_method 2, 3, 4)
 * still unpaid (order_status 1) longer than the TTL is cancelled
 * (order_status 6, 已取消) and, in the same transaction, its goods go back
 * to stock (stock += count, sales -= count), exactly once however many
 * processes sweep at the same moment. Cash on delivery (1) expires the same
 * way after its own TTL (dailyfresh-order-cod-ttl), or never when it is 0.
 * Flash orders expire by the same rule but give their unit back to the
 * sale or the SKU instead (flash_expire.h).
 *
 * Runs outside any request (the plugin calls order_expire_tick from the
 * mule); r is a request object of its own, so the db_* helpers work as in a
 * handler. Payment refuses an order that has expired by the same rule
 * even if no sweep has cancelled it yet (pay.c: order_mark_paid). */
#ifndef DF_ORDER_EXPIRE_H
#define DF_ORDER_EXPIRE_H

#include "order.h"
#include "req.h"

/* The one expiry rule, for the sweep and for payment: true for an order
 * past its time limit. Binds "iii": ttl, cod_ttl, cod_ttl. The pay
 * methods are written out (SQL text is constant); the assertion ties them
 * to enum pay_method. */
_Static_assert(PAY_CASH == 1 && PAY_WECHAT == 2 && PAY_ALIPAY == 3 && PAY_UNIONPAY == 4,
               "ORDER_EXPIRED_SQL spells out the pay methods");
#define ORDER_EXPIRED_SQL                                                            \
    "((pay_method IN (2, 3, 4) AND create_time < NOW(6) - INTERVAL ? SECOND)"        \
    " OR (? > 0 AND pay_method = 1 AND create_time < NOW(6) - INTERVAL ? SECOND))"

/* True for an order of df_order_info that no flash sale sold: expiry of
 * flash orders is flash_expire.c's. */
#define ORDER_NOT_FLASH_SQL "NOT EXISTS (SELECT 1 FROM df_flash_sale_order f WHERE f.order_id = df_order_info.order_id)"

/* Orders taken per transaction, and transactions per tick at most. */
#define ORDER_EXPIRE_BATCH 100
#define ORDER_EXPIRE_ROUNDS 20

/* One transaction: cancels up to batch expired orders (online payment
 * older than ttl_s seconds, cash on delivery older than cod_ttl_s when it
 * is not 0) that no other transaction holds, restores their goods, commits.
 * Returns how many were cancelled, or -1 when it failed (rolled back, the
 * reason logged and in db_last_errno: 1213 deadlock, 1205 lock wait
 * timeout, a lost connection...); the orders are simply taken again by a
 * later sweep. r must be fresh (req_init) and is not released here. */
int order_expire_sweep(struct df_req *r, long ttl_s, long cod_ttl_s, long batch);

/* In the caller's transaction: cancels the order if it is still at
 * status 1 (conditional UPDATE) and then, only then, gives its goods back.
 * 1 cancelled, 0 it was not at status 1 (nothing changed), -1 failure.
 * Not for a flash order (flash_order_expire). */
int order_cancel_restock(struct df_req *r, const char *order_id);

/* What the mule runs on each timer tick: sweeps until a sweep finds less
 * than a full batch (at most ORDER_EXPIRE_ROUNDS), each on a fresh r, and
 * logs one line with the count when it cancelled anything. Returns the
 * number cancelled (-1 if the first sweep failed). */
int order_expire_tick(struct df_req *r, struct df_app *app);

#endif
