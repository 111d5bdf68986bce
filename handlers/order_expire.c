/* Expiry of unpaid orders: how the sweep keeps order_expire.h's promise.
 *
 * Exactly once across processes: the expired orders are selected FOR UPDATE
 * SKIP LOCKED, so two sweepers take disjoint sets and neither waits for
 * the other's orders; each order is then cancelled by a conditional UPDATE
 * (WHERE order_status = 1) and only an order that this UPDATE changed gives
 * its goods back, in the same transaction. An order paid or cancelled in
 * the meantime changes nothing. The SKU rows are updated in ascending id
 * order, one UPDATE per SKU with the batch's total, so two sweepers never
 * lock SKU rows in opposite orders.
 *
 * A flash order is not restocked here: its unit was taken from the stock
 * when the sale was created, and goes back to the sale or the SKU under
 * the sale's lock (flash_expire.c). */
#include "order_expire.h"

#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "order.h"

struct sku_back {
    long long sku_id;
    long long count;
};

static int by_sku(const void *a, const void *b) {
    long long x = ((const struct sku_back *)a)->sku_id, y = ((const struct sku_back *)b)->sku_id;
    return (x > y) - (x < y);
}

/* Adds an order's goods to the batch's totals; -1 on a database error. */
static int collect_goods(struct df_req *r, const char *order_id, struct sku_back **skus, size_t *n, size_t *cap) {
    struct db_rows rows;
    if (db_query(r, &rows, "SELECT sku_id, count FROM df_order_goods WHERE order_id = ?", "s", order_id) < 0)
        return -1;
    int rc;
    while ((rc = db_next(&rows)) > 0) {
        long long sku = db_ll(&rows, 0), count = db_ll(&rows, 1);
        size_t i = 0;
        while (i < *n && (*skus)[i].sku_id != sku)
            i++;
        if (i == *n) {
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                struct sku_back *grown = arena_alloc(&r->arena, ncap * sizeof(*grown));
                for (size_t k = 0; k < *n; k++)
                    grown[k] = (*skus)[k];
                *skus = grown;
                *cap = ncap;
            }
            (*skus)[i].sku_id = sku;
            (*skus)[i].count = 0;
            (*n)++;
        }
        (*skus)[i].count += count;
    }
    return rc;
}

/* The goods back on sale, one UPDATE per SKU in ascending id order; -1 on
 * a database error. */
static int restock(struct df_req *r, struct sku_back *skus, size_t n) {
    if (n > 1)
        qsort(skus, n, sizeof(*skus), by_sku);
    for (size_t i = 0; i < n; i++)
        if (db_exec(r, "UPDATE df_goods_sku SET stock = stock + ?, sales = sales - ?, update_time = NOW(6) WHERE id = ?",
                    "iii", skus[i].count, skus[i].count, skus[i].sku_id) < 0)
            return -1;
    return 0;
}

/* Cancels the order if it is still unpaid, its goods added to the
 * totals: 1 cancelled, 0 paid or cancelled meanwhile (its goods stay
 * sold), -1 on a database error. */
static int cancel_one(struct df_req *r, const char *order_id, struct sku_back **skus, size_t *n, size_t *cap) {
    long long changed = db_exec(r,
                                "UPDATE df_order_info SET order_status = ?, update_time = NOW(6)"
                                " WHERE order_id = ? AND order_status = ?",
                                "isi", (long long)ORDER_CANCELLED, order_id, (long long)ORDER_UNPAID);
    if (changed < 0)
        return -1;
    if (changed != 1)
        return 0;
    return collect_goods(r, order_id, skus, n, cap) < 0 ? -1 : 1;
}

int order_cancel_restock(struct df_req *r, const char *order_id) {
    struct sku_back *skus = NULL;
    size_t n = 0, cap = 0;
    int rc = cancel_one(r, order_id, &skus, &n, &cap);
    if (rc <= 0)
        return rc;
    return restock(r, skus, n) < 0 ? -1 : 1;
}

int order_expire_sweep(struct df_req *r, long ttl_s, long cod_ttl_s, long batch) {
    if (batch < 1)
        return 0;
    if (db_begin(r) < 0)
        return -1;
    struct db_rows rows;
    if (db_query(r, &rows,
                 "SELECT order_id FROM df_order_info WHERE order_status = ? AND " ORDER_EXPIRED_SQL
                 " AND " ORDER_NOT_FLASH_SQL " ORDER BY create_time LIMIT ? FOR UPDATE SKIP LOCKED",
                 "iiiii", (long long)ORDER_UNPAID, (long long)ttl_s, (long long)cod_ttl_s, (long long)cod_ttl_s, (long long)batch) < 0)
        goto fail;
    const char **ids = arena_alloc(&r->arena, sizeof(*ids) * (size_t)batch);
    size_t n_ids = 0;
    int rc;
    while ((rc = db_next(&rows)) > 0 && n_ids < (size_t)batch)
        ids[n_ids++] = arena_strdup(&r->arena, db_str(&rows, 0));
    if (rc < 0)
        goto fail;

    struct sku_back *skus = NULL;
    size_t n_skus = 0, cap = 0;
    int cancelled = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if ((rc = cancel_one(r, ids[i], &skus, &n_skus, &cap)) < 0)
            goto fail;
        cancelled += rc;
    }
    if (restock(r, skus, n_skus) < 0)
        goto fail;
    if (db_commit(r) < 0)
        goto fail;
    return cancelled;
fail:
    /* a lost connection is dropped by req_release; any other is rolled
     * back here (and again by the pool if this fails) */
    if (!r->mysql_broken && r->mysql_slot)
        db_rollback(r);
    return -1;
}

static int expire_round(struct df_req *r, void *ctx) {
    (void)ctx;
    return order_expire_sweep(r, r->app->cfg.order_ttl, r->app->cfg.order_cod_ttl, ORDER_EXPIRE_BATCH);
}

int order_expire_tick(struct df_req *r, struct df_app *app) {
    long ttl = app->cfg.order_ttl;
    int total = req_rounds(r, app, "order-expiry", ORDER_EXPIRE_ROUNDS, ORDER_EXPIRE_BATCH, expire_round, NULL);
    if (total > 0)
        df_log("order expiry: cancelled %d unpaid order%s older than %ld s, stock restored", total,
               total == 1 ? "" : "s", ttl);
    return total;
}
