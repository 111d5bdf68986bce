/* The lines of an order as the preview shows them and the commit writes
 * them: the SKU ids the buyer names, parsed and without repeats; their
 * counts in the cart (one HMGET); their SKU rows (one statement, which the
 * cart page reads too); and the one refusal of the contract
 * (docs/api-orders.md) for the first line that cannot be ordered:
 *   res 4 商品不存在 {"sku_id", "reason": bad_id|unknown|offline|not_in_cart}
 *   res 6 商品库存不足 {"sku_id"} */
#ifndef DF_ORDER_LINES_H
#define DF_ORDER_LINES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "order.h"
#include "req.h"

#define SKU_ID_MAX 2147483647LL /* df_goods_sku.id is an int */
#define ORDER_SKUS_MAX 100      /* sku_ids of one preview or order */

struct order_line {
    long long sku;
    long long count; /* the cart's (preview) or the claim's (commit); 0: none */
    /* the SKU's row (order_lines_read_skus); found 0: no such row */
    int found;
    int price_ok;  /* the price column could be read */
    int64_t price; /* cents */
    long long stock, status;
    const char *name, *price_text, *unite, *image; /* in the request's arena */
};

/* What order_lines_check refuses besides unknown SKUs and lines the cart
 * holds no count of. */
enum order_lines_rules {
    /* the preview: offline is status 0 (docs/api-orders.md) */
    LINES_SHOWN = 0,
    /* the commit: any status but 1 is offline, as its stock UPDATEs sell
     * only status 1, and a stock short of the count is res 6 */
    LINES_SOLD = 1,
};

/* The refusal of a line: res 4 NO_SKU_MSG with reason, or res 6
 * NO_STOCK_MSG when reason is NULL. */
void order_line_refuse(struct df_req *r, long long sku, const char *reason);

/* raw[0..n) as sent (sku_ids) into lines[0..*nlines), repeats dropped,
 * the first place kept. STEP_ANSWERED: res 4 bad_id, sku_id the text sent,
 * for the first one that is no SKU id. */
enum step order_lines_parse(struct df_req *r, const char *const *raw, size_t n, struct order_line *lines,
                            size_t *nlines);

/* Each line's count in cart_<uid>, one HMGET; 0 where the cart holds none
 * (no field, no count, or 0). STEP_OK or STEP_FAILED (recorded). */
enum step order_lines_cart_counts(struct df_req *r, long long uid, struct order_line *l, size_t n);

/* The SKU rows of lines[0..n), one statement (ids 0 name no row). STEP_OK
 * or STEP_FAILED (recorded). */
enum step order_lines_read_skus(struct df_req *r, struct order_line *l, size_t n);

/* What the commit reads of the lines' SKU rows (price, stock, status) as
 * one JSON text, [[ord, "price", stock, status], ...] (NULL: no row): a
 * scalar subquery, so that the statement around it can lock rows of its
 * own (FOR UPDATE) while these are read with no lock. Its one parameter
 * is order_lines_ids_json's. */
#define ORDER_LINES_SOLD_JSON_SQL                                                                                   \
    "(SELECT JSON_ARRAYAGG(JSON_ARRAY(j.ord, CAST(s.price AS CHAR), s.stock, s.status))"                            \
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, id BIGINT PATH '$')) AS j"                             \
    " JOIN df_goods_sku s ON s.id = j.id)"

/* The commit's first read (handlers/order_commit.c: lock_buyer): the
 * buyer's df_user row locked, the address (NULL: not the user's, or
 * deleted; its row locked too) and the SKU rows, unlocked. Parameters: the
 * ids (order_lines_ids_json), the address id, the user id. */
#define ORDER_BUYER_LOCK_SQL                                                                                        \
    "SELECT a.id, " ORDER_LINES_SOLD_JSON_SQL " FROM df_user u LEFT JOIN df_address a ON a.id = ?"                 \
    " AND a.user_id = u.id AND a.is_delete = 0 WHERE u.id = ? FOR UPDATE"

/* The lines' SKU ids as a JSON array, in the arena. */
const char *order_lines_ids_json(struct df_req *r, const struct order_line *l, size_t n);

/* The lines' SKU rows from ORDER_LINES_SOLD_JSON_SQL's text (NULL: none
 * of them exists); name, unite and image are left empty. STEP_OK or
 * STEP_FAILED (recorded). */
enum step order_lines_sold_from_json(struct df_req *r, struct order_line *l, size_t n, const char *json);

/* The first line, in their order, that cannot be ordered under rules,
 * refused (STEP_ANSWERED); each is checked for: unknown, offline, not in
 * the cart, a readable price (else a 500 of what: STEP_FAILED), and with
 * LINES_SOLD enough stock. */
enum step order_lines_check(struct df_req *r, const struct order_line *l, size_t n, enum order_lines_rules rules,
                            const char *what);

/* The preview's lines: sku_ids (1..ORDER_SKUS_MAX of them, else res 1),
 * parsed, counted in the cart, read and checked. *lines in the arena. */
enum step order_lines_read(struct df_req *r, long long uid, struct order_line **lines, size_t *n);

/* The sum of the lines' amounts and counts; NULL, or why an order of them
 * cannot be written (order_totals_refusal's reasons). */
const char *order_lines_total(const struct order_line *l, size_t n, int64_t *total_price, long long *total_count);

/* A line as the cart and the preview show it: {"id","name","price",
 * "unite","image","stock"[,"status"],"count","amount"}; amount NULL
 * (too large) is "amount": null with "reason": "amount_too_large". */
cJSON *order_line_json(const struct order_line *l, const char *amount, int with_status);

#endif
