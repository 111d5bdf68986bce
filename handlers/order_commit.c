/* POST /order/commit   addr_id, pay_method, sku_ids [, idempotency_key] [, total_pay]
 *
 *   res 0 用户未登录 | 1 参数不完整 | 2 非法的支付方式 | 3 地址非法 |
 *   4 商品不存在 {"sku_id", "reason": bad_id|unknown|offline|not_in_cart} |
 *   6 商品库存不足 {"sku_id"} | 7 下单失败 {"reason"} (too_many_unpaid also
 *   carries "max_unpaid", too_many_cod "max_cod") |
 *   8 商品价格已变化 {"total_pay", "total_price", "transit_price", "skus"}
 *     (total_pay was given and the order would cost another amount) |
 *   5 {"message":"创建成功","order_id":"..."} (+ "replayed": true when an
 *     Idempotency-Key named an order made before)
 *
 * The lines are first claimed out of the cart (cart_claim.h): exactly one
 * of several concurrent commits of one cart takes them, the others answer
 * not_in_cart. One transaction at READ COMMITTED then writes df_order_info,
 * one df_order_goods row per SKU (count from the claim, price from the SKU
 * row) and takes the stock. After COMMIT the claim is dropped; any other
 * outcome gives the lines back to the cart (a COMMIT whose outcome is
 * unknown leaves them to the mule, which knows by the order row). How the
 * stock is taken is the option dailyfresh-order-locking (docs/orders.md):
 *   guarded      UPDATE ... SET stock = stock - n WHERE id = ? AND stock >= n
 *   pessimistic  SELECT ... FOR UPDATE, then UPDATE
 *   optimistic   UPDATE ... SET stock = <read - n> WHERE id = ? AND stock = <read>,
 *                read again and retried while stock suffices (bounded)
 * The stock rows are the only contended ones, so they are locked late
 * (after the order row, before the goods rows, whose foreign-key check
 * would otherwise take a shared lock on the SKU first and turn two buyers'
 * updates into a deadlock), each SKU's in ascending id order: two orders
 * never wait for each other in a cycle, and a hot row stays locked for
 * two round trips besides its own update. A deadlock or lock-wait timeout caused by some
 * other writer rolls back and runs the transaction again. */
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cart.h"
#include "cart_claim.h"
#include "handlers.h"
#include "log.h"
#include "money.h"
#include "order.h"
#include "order_lines.h"
#include "user_address.h"

#define TX_TRIES 5          /* deadlocks and lock-wait timeouts */
#define OPTIMISTIC_TRIES 64 /* each failed try means another order took stock */

struct order {
    long long uid, addr_id, pay_method;
    const char *idem_key;     /* NULL: none given */
    struct order_line *lines; /* ascending sku */
    size_t n;
    long long total_count;
    int64_t total_price;
    int64_t expected_pay; /* the total_pay the buyer was shown; -1: none given */
    int claimed;          /* the lines are in order_id's claim */
    int commit_unknown;   /* COMMIT failed: the order may stand */
    char order_id[64];
};

/* What one try of the transaction came to. */
enum tx { TX_DONE, TX_ANSWERED, TX_RETRY, TX_FAILED };

/* A step that did not go on, as the transaction's outcome. */
static enum tx tx_of(enum step s) {
    return s == STEP_ANSWERED ? TX_ANSWERED : TX_FAILED;
}

static int cmp_line(const void *a, const void *b) {
    long long x = ((const struct order_line *)a)->sku, y = ((const struct order_line *)b)->sku;
    return (x > y) - (x < y);
}

/* total_pay, optional: what the preview showed the buyer, "29.80";
 * answered when it is not an amount. */
static enum step read_expected_pay(struct df_req *r, struct order *o) {
    const char *s = req_param(r, "total_pay");
    o->expected_pay = -1;
    if (!s)
        return STEP_OK;
    if (s[0] == '-' || money_parse(s, &o->expected_pay) < 0 || o->expected_pay > MONEY_COLUMN_MAX) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "total_pay");
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

/* The form as the contract checks it, in the original's order. The SKU
 * ids end up sorted and without repeats. */
static enum step read_form(struct df_req *r, struct order *o) {
    const char *ids[ORDER_SKUS_MAX + 1];
    const char *addr = req_param(r, "addr_id"), *pm = req_param(r, "pay_method");
    size_t n = req_param_list(r, "sku_ids", ids, ORDER_SKUS_MAX + 1);
    if (!addr || !*addr || !pm || !*pm || n == 0) {
        resp_res_err(r, 1, ORDER_PARAMS_MSG);
        return STEP_ANSWERED;
    }
    if (n > ORDER_SKUS_MAX) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "too_many_skus");
        return STEP_ANSWERED;
    }
    const char *idem_header = req_header(r, "Idempotency-Key");
    o->idem_key = idem_header ? idem_header : req_param(r, "idempotency_key");
    if (o->idem_key && !order_idem_key_valid(o->idem_key)) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "idempotency_key");
        return STEP_ANSWERED;
    }
    if (read_expected_pay(r, o) != STEP_OK)
        return STEP_ANSWERED;
    if (pm[0] < '1' || pm[0] > '4' || pm[1]) {
        resp_res_err(r, 2, "非法的支付方式");
        return STEP_ANSWERED;
    }
    o->pay_method = pm[0] - '0';
    o->addr_id = req_parse_id(addr);
    if (o->addr_id < 0 || o->addr_id > ADDRESS_ID_MAX) {
        resp_res_err(r, 3, ORDER_BAD_ADDRESS_MSG);
        return STEP_ANSWERED;
    }
    o->lines = arena_alloc(&r->arena, sizeof(struct order_line) * n);
    if (order_lines_parse(r, ids, n, o->lines, &o->n) != STEP_OK)
        return STEP_ANSWERED;
    qsort(o->lines, o->n, sizeof(struct order_line), cmp_line);
    return STEP_OK;
}

/* The buyer's df_user row locked, the address checked and the SKU rows
 * read, one statement: answered (res 3) when the address is not the
 * user's or is deleted. The lock serializes the commits of one user for
 * the caps (insert_order counts under it); the address row stays locked
 * too, so it cannot be deleted before the order naming it commits. The
 * SKU rows come from a subquery, which FOR UPDATE does not lock: the
 * latest committed prices, stock and status, as an unlocked read. */
static enum step lock_buyer(struct df_req *r, struct order *o) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, ORDER_BUYER_LOCK_SQL, "sii", order_lines_ids_json(r, o->lines, o->n), o->addr_id,
                 o->uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0 || db_isnull(&rows, 0)) {
        resp_res_err(r, 3, ORDER_BAD_ADDRESS_MSG);
        return STEP_ANSWERED;
    }
    return order_lines_sold_from_json(r, o->lines, o->n, db_isnull(&rows, 1) ? NULL : db_str(&rows, 1));
}

/* Takes the lines out of the cart into the order's claim, one script; their
 * counts come with them. Answered when the cart holds no count of a SKU
 * (nothing taken). */
static enum step claim_lines(struct df_req *r, struct order *o) {
    long long *skus = arena_alloc(&r->arena, sizeof(long long) * o->n);
    long long *counts = arena_alloc(&r->arena, sizeof(long long) * o->n);
    size_t missing = 0;
    for (size_t i = 0; i < o->n; i++)
        skus[i] = o->lines[i].sku;
    int rc = cart_claim_take(r, o->uid, o->order_id, o->n, skus, counts, &missing);
    if (rc < 0)
        return STEP_FAILED;
    if (rc > 0) {
        order_line_refuse(r, o->lines[missing].sku, "not_in_cart");
        return STEP_ANSWERED;
    }
    o->claimed = 1;
    for (size_t i = 0; i < o->n; i++)
        o->lines[i].count = counts[i];
    return STEP_OK;
}

/* [[sku, count, "price"], ...] for the one INSERT of the order's goods. */
static const char *goods_json(struct df_req *r, const struct order *o) {
    size_t cap = o->n * (22 + 22 + MONEY_STR_MAX + 8) + 3, len = 0;
    char *s = arena_alloc(&r->arena, cap), price[MONEY_STR_MAX];
    s[len++] = '[';
    for (size_t i = 0; i < o->n; i++) {
        money_format(o->lines[i].price, price);
        len += (size_t)snprintf(s + len, cap - len, "%s[%lld,%lld,\"%s\"]", i ? "," : "", o->lines[i].sku,
                                o->lines[i].count, price);
    }
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

/* Answers res 4 or 6 for the first SKU that cannot be sold, by the rows
 * lock_buyer read. */
static enum step check_skus(struct df_req *r, const struct order *o) {
    return order_lines_check(r, o->lines, o->n, LINES_SOLD, "order");
}

/* Answered when the total does not fit the column. */
static enum step add_up(struct df_req *r, struct order *o) {
    const char *why = order_lines_total(o->lines, o->n, &o->total_price, &o->total_count);
    if (!why)
        return STEP_OK;
    resp_res_reason(r, 7, ORDER_FAILED_MSG, why);
    return STEP_ANSWERED;
}

/* res 8 when the buyer was shown another total_pay than this order would
 * cost: the new totals and every line's price and amount, for the page to
 * show before the buyer confirms again. */
static enum step check_expected_pay(struct df_req *r, const struct order *o) {
    char money[MONEY_STR_MAX];
    int64_t pay = o->total_price + ORDER_TRANSIT_CENTS, amount;
    if (o->expected_pay < 0 || o->expected_pay == pay)
        return STEP_OK;
    cJSON *a = resp_res_reason(r, 8, "商品价格已变化", "price_changed");
    money_format(pay, money);
    cJSON_AddStringToObject(a, "total_pay", money);
    money_format(o->total_price, money);
    cJSON_AddStringToObject(a, "total_price", money);
    money_format(ORDER_TRANSIT_CENTS, money);
    cJSON_AddStringToObject(a, "transit_price", money);
    cJSON_AddNumberToObject(a, "total_count", (double)o->total_count);
    cJSON *skus = cJSON_AddArrayToObject(a, "skus");
    for (size_t i = 0; i < o->n; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "id", (double)o->lines[i].sku);
        money_format(o->lines[i].price, money);
        cJSON_AddStringToObject(l, "price", money);
        cJSON_AddNumberToObject(l, "count", (double)o->lines[i].count);
        money_mul(o->lines[i].price, o->lines[i].count, &amount); /* add_up checked it fits */
        money_format(amount, money);
        cJSON_AddStringToObject(l, "amount", money);
        cJSON_AddItemToArray(skus, l);
    }
    return STEP_ANSWERED;
}

int order_id_parts(struct df_req *r, char stamp[ORDER_STAMP_LEN], char rnd[ORDER_RND_LEN]) {
    struct timeval tv;
    struct tm tm;
    unsigned char b[6];
    char secs[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        req_fail(r, 500, "order", "RAND_bytes failed");
        return -1;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(secs, sizeof(secs), "%Y%m%d%H%M%S", &tm);
    snprintf(stamp, ORDER_STAMP_LEN, "%s%06ld", secs, (long)tv.tv_usec);
    snprintf(rnd, ORDER_RND_LEN, "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return 0;
}

/* UTC time to the microsecond, the user id and 48 random bits: sorts by
 * time, unique however many orders one user sends in one microsecond, and
 * fits Alipay's out_trade_no (at most 64 of [A-Za-z0-9_]). */
static int new_order_id(struct df_req *r, struct order *o) {
    char stamp[ORDER_STAMP_LEN], rnd[ORDER_RND_LEN];
    if (order_id_parts(r, stamp, rnd) < 0)
        return -1;
    snprintf(o->order_id, sizeof(o->order_id), "%s_%lld_%s", stamp, o->uid, rnd);
    return 0;
}

/* The order a key already made, answered as a success; STEP_OK when there
 * is none (its transaction rolled back after all: try again). A locking
 * read: a request with this key still in its transaction holds the key's
 * row, so this waits for its outcome instead of missing it. */
static enum step replay(struct df_req *r, const struct order *o) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT order_id FROM df_order_idempotency WHERE user_id = ? AND idem_key = ? LOCK IN SHARE MODE",
                 "is", o->uid, o->idem_key) < 0 ||
        (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    if (rc == 0)
        return STEP_OK;
    cJSON *ok = resp_res_ok(r, 5, ORDER_CREATED_MSG);
    cJSON_AddStringToObject(ok, "order_id", db_str(&rows, 0));
    cJSON_AddBoolToObject(ok, "replayed", 1);
    return STEP_ANSWERED;
}

/* The SKU's stock and status read again by sql (binds its id), refused as
 * the first read refuses them; STEP_OK with l->stock the stock read. */
static enum step sku_refusal(struct df_req *r, struct order_line *l, const char *sql) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, sql, "i", l->sku) < 0 || (rc = db_next(&rows)) < 0)
        return STEP_FAILED;
    struct order_line now = *l;
    now.found = rc > 0;
    if (now.found) {
        now.stock = db_ll(&rows, 0);
        now.status = db_ll(&rows, 1);
    }
    enum step s = order_lines_check(r, &now, 1, LINES_SOLD, "order");
    l->stock = now.stock;
    return s;
}

/* The stock of one line taken as the locking mode says (the file's top
 * comment): answered (res 6, res 4, res 7 contention) and the caller rolls
 * back. */
static enum step take_guarded(struct df_req *r, struct order_line *l) {
    long long n = db_exec(r,
                          "UPDATE df_goods_sku SET stock = stock - ?, sales = sales + ?"
                          " WHERE id = ? AND stock >= ? AND status = 1",
                          "iiii", l->count, l->count, l->sku, l->count);
    if (n < 0)
        return STEP_FAILED;
    if (n == 0) {
        order_line_refuse(r, l->sku, NULL);
        return STEP_ANSWERED;
    }
    return STEP_OK;
}

static enum step take_pessimistic(struct df_req *r, struct order_line *l) {
    enum step s = sku_refusal(r, l, "SELECT stock, status FROM df_goods_sku WHERE id = ? FOR UPDATE");
    if (s != STEP_OK)
        return s;
    if (db_exec(r, "UPDATE df_goods_sku SET stock = stock - ?, sales = sales + ? WHERE id = ?", "iii", l->count,
                l->count, l->sku) < 0)
        return STEP_FAILED;
    return STEP_OK;
}

/* The first try uses the stock lock_buyer read. */
static enum step take_optimistic(struct df_req *r, struct order_line *l) {
    enum step s;
    for (int i = 0; i < OPTIMISTIC_TRIES; i++) {
        if (i > 0 && (s = sku_refusal(r, l, "SELECT stock, status FROM df_goods_sku WHERE id = ?")) != STEP_OK)
            return s;
        long long n = db_exec(r,
                              "UPDATE df_goods_sku SET stock = ?, sales = sales + ?"
                              " WHERE id = ? AND stock = ? AND status = 1",
                              "iiii", l->stock - l->count, l->count, l->sku, l->stock);
        if (n < 0)
            return STEP_FAILED;
        if (n == 1)
            return STEP_OK;
    }
    resp_res_reason(r, 7, ORDER_FAILED_MSG, "contention");
    return STEP_ANSWERED;
}

static enum step (*const take_stock[])(struct df_req *r, struct order_line *l) = {
    [LOCK_GUARDED] = take_guarded,
    [LOCK_PESSIMISTIC] = take_pessimistic,
    [LOCK_OPTIMISTIC] = take_optimistic,
};

/* Another order id, the claim (when there is one yet) moved to it. */
static int new_id(struct df_req *r, struct order *o) {
    char was[sizeof(o->order_id)];
    memcpy(was, o->order_id, sizeof(was));
    if (new_order_id(r, o) < 0)
        return -1;
    if (o->claimed && cart_claim_rename(r, was, o->order_id) != 1) {
        req_fail(r, 500, "order", "cart claim lost");
        return -1;
    }
    return 0;
}

/* First in the transaction, so that a repeat of this key waits here for
 * this order, and claims nothing while this one holds the lines. */
static int insert_key(struct df_req *r, const struct order *o) {
    if (!o->idem_key)
        return 0;
    long long n = db_exec(r,
                          "INSERT INTO df_order_idempotency (user_id, idem_key, order_id, create_time)"
                          " VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
                          "iss", o->uid, o->idem_key, o->order_id);
    return n < 0 ? -1 : 0;
}

/* The order's row, written only under the cap on the user's orders at
 * status 1 of its kind: unpaid online-payment orders
 * (dailyfresh-order-max-unpaid) and unconfirmed cash-on-delivery orders
 * (dailyfresh-order-max-cod), each counted apart, so orders of one kind
 * never lock the buyer out of the other. The count is a subquery of the
 * insert, which at READ COMMITTED reads the latest committed orders; the
 * user's row is locked (lock_buyer), so two commits of one user count one
 * after the other and cannot both pass at the cap. Answered (res 7) when
 * the cap is reached. */
static enum step insert_order(struct df_req *r, const struct order *o) {
    char total[MONEY_STR_MAX], transit[MONEY_STR_MAX];
    int cod = o->pay_method == PAY_CASH;
    long max = cod ? r->app->cfg.order_max_cod : r->app->cfg.order_max_unpaid;
    long long n;
    money_format(o->total_price, total);
    money_format(ORDER_TRANSIT_CENTS, transit);
    /* a cap of 0 is no cap: the first term decides, the count is not needed */
    n = db_exec(r,
                "INSERT INTO df_order_info (create_time, update_time, is_delete, order_id, pay_method,"
                " total_count, total_price, transit_price, order_status, trade_no, addr_id, user_id)"
                " SELECT NOW(6), NOW(6), 0, ?, ?, ?, ?, ?, ?, '', ?, ? FROM DUAL"
                " WHERE ? = 0 OR (SELECT COUNT(*) FROM df_order_info WHERE user_id = ? AND order_status = ?"
                " AND (pay_method = ?) = ?) < ?",
                "siissiiiiiiiii", o->order_id, o->pay_method, o->total_count, total, transit,
                (long long)ORDER_UNPAID, o->addr_id, o->uid, (long long)max, o->uid, (long long)ORDER_UNPAID,
                (long long)PAY_CASH, (long long)cod, (long long)max);
    if (n < 0)
        return STEP_FAILED;
    if (n == 1)
        return STEP_OK;
    cJSON_AddNumberToObject(resp_res_reason(r, 7, ORDER_FAILED_MSG, cod ? "too_many_cod" : "too_many_unpaid"),
                            cod ? "max_cod" : "max_unpaid", (double)max);
    return STEP_ANSWERED;
}

/* One df_order_goods row a line, one statement. */
static int insert_goods(struct df_req *r, const struct order *o) {
    long long n = db_exec(r,
                          "INSERT INTO df_order_goods (create_time, update_time, is_delete, count, price, comment,"
                          " order_id, sku_id)"
                          " SELECT NOW(6), NOW(6), 0, j.n, j.price, '', ?, j.id FROM JSON_TABLE(?, '$[*]' COLUMNS"
                          " (id INT PATH '$[0]', n INT PATH '$[1]', price DECIMAL(10,2) PATH '$[2]')) AS j",
                          "ss", o->order_id, goods_json(r, o));
    if (n < 0)
        return -1;
    if ((size_t)n != o->n) {
        req_fail(r, 500, "order", "order goods rows missing");
        return -1;
    }
    return 0;
}

/* After a failed statement, rolled back: a deadlock or lock-wait timeout
 * runs the transaction again; so does a duplicate key, unless it is the
 * idempotency key's and its order stands (answered). */
static enum tx after_failure(struct df_req *r, struct order *o) {
    int retryable = db_retryable(r), duplicate = db_duplicate(r);
    enum step s;
    if (!r->mysql_broken)
        db_rollback(r);
    if (retryable) {
        req_fail_clear(r);
        return TX_RETRY;
    }
    if (!duplicate || r->mysql_broken)
        return TX_FAILED;
    req_fail_clear(r);
    /* the key's order, or (one in 2^48) an order id taken: try again */
    if (o->idem_key && (s = replay(r, o)) != STEP_OK)
        return tx_of(s);
    return new_id(r, o) < 0 ? TX_FAILED : TX_RETRY;
}

/* One try of the whole transaction: START TRANSACTION, the key, the
 * buyer's lock with the address and the SKU rows, the order row (under
 * the cap), each SKU's stock, the goods rows, COMMIT; the claim goes to
 * Redis after the lock. Every check that can refuse is folded
 * into a statement the order needs anyway, so each costs no round trip of
 * its own (docs/orders.md). */
static enum tx commit_once(struct df_req *r, struct order *o) {
    enum step s = STEP_FAILED;
    if (db_begin(r) < 0)
        return TX_FAILED;
    /* the address before the claim, so that a bad one is answered before
     * a line missing from the cart, as the form's fields come */
    if (insert_key(r, o) < 0 || (s = lock_buyer(r, o)) != STEP_OK ||
        (!o->claimed && (s = claim_lines(r, o)) != STEP_OK))
        goto failed;
    /* the total compared is the one this try writes: prices read again on
     * a retry are compared again; the caps after the key, so that a repeat
     * of a key that made an order is answered that order even at the cap */
    if ((s = check_skus(r, o)) != STEP_OK || (s = add_up(r, o)) != STEP_OK ||
        (s = check_expected_pay(r, o)) != STEP_OK || (s = insert_order(r, o)) != STEP_OK)
        goto failed;
    for (size_t i = 0; i < o->n; i++)
        if ((s = take_stock[r->app->cfg.locking](r, &o->lines[i])) != STEP_OK)
            goto failed;
    s = STEP_FAILED;
    if (insert_goods(r, o) < 0)
        goto failed;
    if (db_commit(r) < 0) {
        /* a deadlock at COMMIT is Galera's certification failure: rolled
         * back everywhere, so tried again like one at any other statement */
        if (db_retryable(r))
            return after_failure(r, o);
        o->commit_unknown = 1;
        return TX_FAILED;
    }
    return TX_DONE;
failed:
    if (s != STEP_ANSWERED)
        return after_failure(r, o);
    db_rollback(r);
    return TX_ANSWERED;
}

/* The claim's end. After COMMIT the order stands whatever happens here: a
 * claim Redis could not drop is logged, not answered, and the mule drops it
 * later. Otherwise the lines go back to the cart, unless the outcome of
 * COMMIT is unknown: then only the mule can tell, by the order row. */
static void settle_claim(struct df_req *r, const struct order *o, int committed) {
    if (!o->claimed)
        return;
    if (!committed && o->commit_unknown) {
        df_log("order %s: COMMIT failed, its cart lines stay claimed until the sweep settles them", o->order_id);
        return;
    }
    int had_failure = r->fail_status != 0;
    if (cart_claim_release(r, o->order_id, !committed) >= 0)
        return;
    if (committed || !had_failure)
        req_fail_clear(r);
    df_log("order %s: cart claim not %s (Redis failed); the sweep settles it", o->order_id,
           committed ? "dropped" : "given back");
}

/* An order id, then the transaction until it is done, answered or failed
 * (res 7 busy after TX_TRIES deadlocks). */
static enum tx place(struct df_req *r, struct order *o) {
    enum tx t = TX_RETRY;
    if (new_order_id(r, o) < 0)
        return TX_FAILED;
    for (int i = 0; i < TX_TRIES && t == TX_RETRY; i++)
        t = commit_once(r, o);
    if (t != TX_RETRY)
        return t;
    resp_res_reason(r, 7, ORDER_FAILED_MSG, "busy");
    return TX_ANSWERED;
}

void order_commit(struct df_req *r) {
    struct order o = {0};
    if (session_require(r, &o.uid, ORDER_LOGIN_MSG) != STEP_OK || read_form(r, &o) != STEP_OK)
        return;
    enum tx t = place(r, &o);
    settle_claim(r, &o, t == TX_DONE);
    if (t == TX_ANSWERED && o.idem_key) {
        /* an order this key made is the answer, whatever this request ran
         * into (the lines already ordered by it, say) */
        replay(r, &o);
    } else if (t == TX_DONE) {
        cJSON_AddStringToObject(resp_res_ok(r, 5, ORDER_CREATED_MSG), "order_id", o.order_id);
    }
}
