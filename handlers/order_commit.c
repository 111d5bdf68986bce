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

#define ORDER_SKUS_MAX 100
#define SKU_ID_MAX 2147483647LL          /* df_goods_sku.id is an int */
#define TX_TRIES 5                       /* deadlocks and lock-wait timeouts */
#define OPTIMISTIC_TRIES 64              /* each failed try means another order took stock */
#define IDEM_KEY_MAX 64

#define ER_DUP_ENTRY 1062
#define ER_LOCK_WAIT_TIMEOUT 1205
#define ER_LOCK_DEADLOCK 1213

struct line {
    long long sku, count, stock;
    int64_t price; /* cents */
};

struct order {
    long long uid, addr_id, pay_method;
    const char *idem_key; /* NULL: none given */
    struct line *lines;   /* ascending sku */
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

static void answer_sku(struct df_req *r, int res, const char *msg, long long sku, const char *reason) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "res", res);
    cJSON_AddStringToObject(o, "errmsg", msg);
    cJSON_AddNumberToObject(o, "sku_id", (double)sku);
    if (reason)
        cJSON_AddStringToObject(o, "reason", reason);
    resp_json(r, 200, o);
}

static int idem_key_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > IDEM_KEY_MAX)
        return 0;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:") == n;
}

static int cmp_line(const void *a, const void *b) {
    long long x = ((const struct line *)a)->sku, y = ((const struct line *)b)->sku;
    return (x > y) - (x < y);
}

/* total_pay, optional: what the preview showed the buyer, "29.80"; 1 when
 * answered (not an amount), else 0. */
static int read_expected_pay(struct df_req *r, struct order *o) {
    const char *s = req_param(r, "total_pay");
    o->expected_pay = -1;
    if (!s)
        return 0;
    if (s[0] == '-' || money_parse(s, &o->expected_pay) < 0 || o->expected_pay > MONEY_COLUMN_MAX) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "total_pay");
        return 1;
    }
    return 0;
}

/* The form as the contract checks it, in the original's order; 1 when an
 * answer was given. The SKU ids end up sorted and without repeats. */
static int read_form(struct df_req *r, struct order *o) {
    const char *ids[ORDER_SKUS_MAX + 1];
    const char *addr = req_param(r, "addr_id"), *pm = req_param(r, "pay_method");
    size_t n = req_param_list(r, "sku_ids", ids, ORDER_SKUS_MAX + 1);
    if (!addr || !*addr || !pm || !*pm || n == 0) {
        resp_res_err(r, 1, ORDER_PARAMS_MSG);
        return 1;
    }
    if (n > ORDER_SKUS_MAX) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "too_many_skus");
        return 1;
    }
    const char *idem_header = req_header(r, "Idempotency-Key");
    o->idem_key = idem_header ? idem_header : req_param(r, "idempotency_key");
    if (o->idem_key && !idem_key_valid(o->idem_key)) {
        resp_res_reason(r, 1, ORDER_PARAMS_MSG, "idempotency_key");
        return 1;
    }
    if (read_expected_pay(r, o) != 0)
        return 1;
    if (pm[0] < '1' || pm[0] > '4' || pm[1]) {
        resp_res_err(r, 2, "非法的支付方式");
        return 1;
    }
    o->pay_method = pm[0] - '0';
    o->addr_id = parse_id(addr);
    if (o->addr_id < 0 || o->addr_id > SKU_ID_MAX) {
        resp_res_err(r, 3, "地址非法");
        return 1;
    }
    o->lines = arena_alloc(&r->arena, sizeof(struct line) * n);
    for (size_t i = 0; i < n; i++) {
        long long id = parse_id(ids[i]);
        if (id < 0 || id > SKU_ID_MAX) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "res", 4);
            cJSON_AddStringToObject(e, "errmsg", ORDER_NO_SKU_MSG);
            cJSON_AddStringToObject(e, "sku_id", ids[i]);
            cJSON_AddStringToObject(e, "reason", "bad_id");
            resp_json(r, 200, e);
            return 1;
        }
        o->lines[i] = (struct line){.sku = id};
    }
    qsort(o->lines, n, sizeof(struct line), cmp_line);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || o->lines[k - 1].sku != o->lines[i].sku)
            o->lines[k++] = o->lines[i];
    o->n = k;
    return 0;
}

/* 1 answered (not the user's address), 0 fine, -1 failure. */
static int check_address(struct df_req *r, const struct order *o) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows, "SELECT id FROM df_address WHERE id = ? AND user_id = ? AND is_delete = 0", "ii",
                 o->addr_id, o->uid) < 0)
        return -1;
    if ((rc = db_next(&rows)) < 0)
        return -1;
    if (rc == 0) {
        resp_res_err(r, 3, "地址非法");
        return 1;
    }
    return 0;
}

/* Takes the lines out of the cart into the order's claim, one script; their
 * counts come with them. 1 answered (a SKU the cart holds no count of:
 * nothing taken), 0 claimed, -1 failure. */
static int claim_lines(struct df_req *r, struct order *o) {
    long long *skus = arena_alloc(&r->arena, sizeof(long long) * o->n);
    long long *counts = arena_alloc(&r->arena, sizeof(long long) * o->n);
    size_t missing = 0;
    for (size_t i = 0; i < o->n; i++)
        skus[i] = o->lines[i].sku;
    int rc = cart_claim_take(r, o->uid, o->order_id, o->n, skus, counts, &missing);
    if (rc == 1)
        answer_sku(r, 4, ORDER_NO_SKU_MSG, o->lines[missing].sku, "not_in_cart");
    if (rc != 0)
        return rc;
    o->claimed = 1;
    for (size_t i = 0; i < o->n; i++)
        o->lines[i].count = counts[i];
    return 0;
}

static const char *ids_json(struct df_req *r, const struct order *o) {
    size_t cap = o->n * 22 + 3, len = 0;
    char *s = arena_alloc(&r->arena, cap);
    s[len++] = '[';
    for (size_t i = 0; i < o->n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", o->lines[i].sku);
    s[len++] = ']';
    s[len] = '\0';
    return s;
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

/* Prices, status and stock of every SKU in one unlocked read (the latest
 * committed values); answers res 4 or 6 for the first SKU that cannot be
 * sold. 1 answered, 0 fine, -1 failure. */
static int read_skus(struct df_req *r, struct order *o) {
    struct db_rows rows;
    int rc;
    size_t found = 0;
    if (db_query(r, &rows,
                 "SELECT s.id, s.price, s.stock, s.status FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j"
                 " JOIN df_goods_sku s ON s.id = j.id ORDER BY s.id",
                 "s", ids_json(r, o)) < 0)
        return -1;
    /* rows come in ascending id, as the lines are: a gap is a missing SKU */
    while ((rc = db_next(&rows)) > 0) {
        long long id = db_ll(&rows, 0);
        if (found < o->n && o->lines[found].sku < id) {
            answer_sku(r, 4, ORDER_NO_SKU_MSG, o->lines[found].sku, "unknown");
            return 1;
        }
        if (found >= o->n || o->lines[found].sku != id)
            continue;
        struct line *l = &o->lines[found++];
        if (db_ll(&rows, 3) != 1) {
            answer_sku(r, 4, ORDER_NO_SKU_MSG, l->sku, "offline");
            return 1;
        }
        if (money_parse(db_str(&rows, 1), &l->price) < 0) {
            req_fail(r, 500, "order", "unreadable price");
            return -1;
        }
        l->stock = db_ll(&rows, 2);
        if (l->stock < l->count) {
            answer_sku(r, 6, "商品库存不足", l->sku, NULL);
            return 1;
        }
    }
    if (rc < 0)
        return -1;
    if (found < o->n) {
        answer_sku(r, 4, ORDER_NO_SKU_MSG, o->lines[found].sku, "unknown");
        return 1;
    }
    return 0;
}

/* 1 answered (the total does not fit the column), 0 fine. */
static int add_up(struct df_req *r, struct order *o) {
    int64_t amount, total = 0;
    long long count = 0; /* each count at most CART_COUNT_MAX, at most ORDER_SKUS_MAX of them */
    const char *why = NULL;
    for (size_t i = 0; i < o->n && !why; i++) {
        if (money_mul(o->lines[i].price, o->lines[i].count, &amount) < 0 || money_add(total, amount, &total) < 0)
            why = "amount_too_large";
        count += o->lines[i].count;
    }
    if (why || (why = order_totals_refusal(total, count))) {
        resp_res_reason(r, 7, ORDER_FAILED_MSG, why);
        return 1;
    }
    o->total_count = count;
    o->total_price = total;
    return 0;
}

/* res 8 when the buyer was shown another total_pay than this order would
 * cost: the new totals and every line's price and amount, for the page to
 * show before the buyer confirms again. 1 answered, 0 the same amount. */
static int check_expected_pay(struct df_req *r, const struct order *o) {
    char money[MONEY_STR_MAX];
    int64_t pay = o->total_price + ORDER_TRANSIT_CENTS, amount;
    if (o->expected_pay < 0 || o->expected_pay == pay)
        return 0;
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
    return 1;
}

/* UTC time to the microsecond, the user id and 48 random bits: sorts by
 * time, unique however many orders one user sends in one microsecond, and
 * fits Alipay's out_trade_no (at most 64 of [A-Za-z0-9_]). */
static int new_order_id(struct df_req *r, struct order *o) {
    struct timeval tv;
    struct tm tm;
    unsigned char rnd[6];
    char stamp[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        req_fail(r, 500, "order", "RAND_bytes failed");
        return -1;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(o->order_id, sizeof(o->order_id), "%s%06ld_%lld_%02x%02x%02x%02x%02x%02x", stamp, (long)tv.tv_usec,
             o->uid, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    return 0;
}

/* The order a key already made, answered as a success; 1 answered, 0 not
 * found (its transaction rolled back after all: try again), -1 failure.
 * A locking read: a request with this key still in its transaction holds
 * the key's row, so this waits for its outcome instead of missing it. */
static int replay(struct df_req *r, const struct order *o) {
    struct db_rows rows;
    int rc;
    if (db_query(r, &rows,
                 "SELECT order_id FROM df_order_idempotency WHERE user_id = ? AND idem_key = ? LOCK IN SHARE MODE",
                 "is", o->uid, o->idem_key) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (rc == 0)
        return 0;
    cJSON *ok = resp_res_ok(r, 5, "创建成功");
    cJSON_AddStringToObject(ok, "order_id", db_str(&rows, 0));
    cJSON_AddBoolToObject(ok, "replayed", 1);
    return 1;
}

/* Takes the stock of one line as the locking mode says: 1 answered (and
 * the caller rolls back), 0 taken, -1 failure. */
static int take_stock(struct df_req *r, struct line *l, int mode) {
    struct db_rows rows;
    long long n;
    int rc;
    switch (mode) {
    case LOCK_GUARDED:
        if ((n = db_exec(r,
                         "UPDATE df_goods_sku SET stock = stock - ?, sales = sales + ?"
                         " WHERE id = ? AND stock >= ? AND status = 1",
                         "iiii", l->count, l->count, l->sku, l->count)) < 0)
            return -1;
        if (n == 0) {
            answer_sku(r, 6, "商品库存不足", l->sku, NULL);
            return 1;
        }
        return 0;
    case LOCK_PESSIMISTIC:
        if (db_query(r, &rows, "SELECT stock, status FROM df_goods_sku WHERE id = ? FOR UPDATE", "i", l->sku) < 0 ||
            (rc = db_next(&rows)) < 0)
            return -1;
        if (rc == 0 || db_ll(&rows, 1) != 1) {
            answer_sku(r, 4, ORDER_NO_SKU_MSG, l->sku, rc == 0 ? "unknown" : "offline");
            return 1;
        }
        if (db_ll(&rows, 0) < l->count) {
            answer_sku(r, 6, "商品库存不足", l->sku, NULL);
            return 1;
        }
        if (db_exec(r, "UPDATE df_goods_sku SET stock = stock - ?, sales = sales + ? WHERE id = ?", "iii", l->count,
                    l->count, l->sku) < 0)
            return -1;
        return 0;
    default: /* LOCK_OPTIMISTIC: the first try uses the stock read before */
        for (int i = 0; i < OPTIMISTIC_TRIES; i++) {
            if (i > 0) {
                if (db_query(r, &rows, "SELECT stock, status FROM df_goods_sku WHERE id = ?", "i", l->sku) < 0 ||
                    (rc = db_next(&rows)) < 0)
                    return -1;
                if (rc == 0 || db_ll(&rows, 1) != 1) {
                    answer_sku(r, 4, ORDER_NO_SKU_MSG, l->sku, rc == 0 ? "unknown" : "offline");
                    return 1;
                }
                l->stock = db_ll(&rows, 0);
                if (l->stock < l->count) {
                    answer_sku(r, 6, "商品库存不足", l->sku, NULL);
                    return 1;
                }
            }
            if ((n = db_exec(r,
                             "UPDATE df_goods_sku SET stock = ?, sales = sales + ?"
                             " WHERE id = ? AND stock = ? AND status = 1",
                             "iiii", l->stock - l->count, l->count, l->sku, l->stock)) < 0)
                return -1;
            if (n == 1)
                return 0;
        }
        resp_res_reason(r, 7, ORDER_FAILED_MSG, "contention");
        return 1;
    }
}

/* The caps on a user's orders at status 1, inside the transaction: unpaid
 * online-payment orders (dailyfresh-order-max-unpaid) and unconfirmed
 * cash-on-delivery orders (dailyfresh-order-max-cod), each counted apart,
 * so orders of one kind never lock the buyer out of the other. The user's
 * row is locked first, so two commits of one user count one after the
 * other and cannot both pass at the cap. 1 answered, 0 fine, -1 failure. */
static int check_unpaid(struct df_req *r, const struct order *o) {
    int cod = o->pay_method == PAY_CASH;
    long max = cod ? r->app->cfg.order_max_cod : r->app->cfg.order_max_unpaid;
    struct db_rows rows;
    int rc;
    if (max == 0)
        return 0;
    if (db_query(r, &rows, "SELECT id FROM df_user WHERE id = ? FOR UPDATE", "i", o->uid) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (db_query(r, &rows,
                 "SELECT COUNT(*) FROM df_order_info WHERE user_id = ? AND order_status = 1 AND (pay_method = 1) = ?",
                 "ii", o->uid, (long long)cod) < 0 ||
        (rc = db_next(&rows)) < 0)
        return -1;
    if (rc == 0) {
        req_fail(r, 500, "order", "COUNT(*) returned no row");
        return -1;
    }
    if (db_ll(&rows, 0) < max)
        return 0;
    cJSON_AddNumberToObject(resp_res_reason(r, 7, ORDER_FAILED_MSG, cod ? "too_many_cod" : "too_many_unpaid"),
                            cod ? "max_cod" : "max_unpaid", (double)max);
    return 1;
}

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

/* One try of the whole transaction. */
static enum tx commit_once(struct df_req *r, struct order *o) {
    int rc;
    long long n;
    char total[MONEY_STR_MAX], transit[MONEY_STR_MAX];
    if (db_begin(r) < 0)
        return TX_FAILED;
    /* first, so that a repeat of this key waits here for this order, and
     * claims nothing while this one holds the lines */
    if (o->idem_key && db_exec(r,
                               "INSERT INTO df_order_idempotency (user_id, idem_key, order_id, create_time)"
                               " VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
                               "iss", o->uid, o->idem_key, o->order_id) < 0)
        goto failed;
    if (!o->claimed && (rc = claim_lines(r, o)) != 0) {
        if (!r->mysql_broken)
            db_rollback(r);
        return rc > 0 ? TX_ANSWERED : TX_FAILED;
    }
    /* the total compared is the one this try writes: prices read again on
     * a retry are compared again */
    if ((rc = read_skus(r, o)) != 0 || (rc = add_up(r, o)) != 0 || (rc = check_expected_pay(r, o)) != 0) {
        if (rc < 0)
            goto failed;
        db_rollback(r);
        return TX_ANSWERED;
    }
    /* after the key, so that a repeat of a key that made an order is
     * answered that order even at the cap */
    if ((rc = check_unpaid(r, o)) != 0) {
        if (rc < 0)
            goto failed;
        db_rollback(r);
        return TX_ANSWERED;
    }
    money_format(o->total_price, total);
    money_format(ORDER_TRANSIT_CENTS, transit);
    if (db_exec(r,
                "INSERT INTO df_order_info (create_time, update_time, is_delete, order_id, pay_method, total_count,"
                " total_price, transit_price, order_status, trade_no, addr_id, user_id)"
                " VALUES (NOW(6), NOW(6), 0, ?, ?, ?, ?, ?, 1, '', ?, ?)",
                "siissii", o->order_id, o->pay_method, o->total_count, total, transit, o->addr_id, o->uid) < 0)
        goto failed;
    for (size_t i = 0; i < o->n; i++)
        if ((rc = take_stock(r, &o->lines[i], r->app->cfg.locking)) != 0) {
            if (rc < 0)
                goto failed;
            db_rollback(r);
            return TX_ANSWERED;
        }
    if ((n = db_exec(r,
                     "INSERT INTO df_order_goods (create_time, update_time, is_delete, count, price, comment,"
                     " order_id, sku_id)"
                     " SELECT NOW(6), NOW(6), 0, j.n, j.price, '', ?, j.id FROM JSON_TABLE(?, '$[*]' COLUMNS"
                     " (id INT PATH '$[0]', n INT PATH '$[1]', price DECIMAL(10,2) PATH '$[2]')) AS j",
                     "ss", o->order_id, goods_json(r, o))) < 0)
        goto failed;
    if ((size_t)n != o->n) {
        req_fail(r, 500, "order", "order goods rows missing");
        goto failed;
    }
    if (db_commit(r) < 0) {
        o->commit_unknown = 1;
        return TX_FAILED;
    }
    return TX_DONE;
failed:
    rc = db_last_errno(r);
    if (!r->mysql_broken)
        db_rollback(r);
    if (rc == ER_LOCK_DEADLOCK || rc == ER_LOCK_WAIT_TIMEOUT) {
        req_fail_clear(r);
        return TX_RETRY;
    }
    if (rc == ER_DUP_ENTRY && !r->mysql_broken) {
        req_fail_clear(r);
        /* the key's order, or (one in 2^48) an order id taken: try again */
        if (o->idem_key && (rc = replay(r, o)) != 0)
            return rc > 0 ? TX_ANSWERED : TX_FAILED;
        return new_id(r, o) < 0 ? TX_FAILED : TX_RETRY;
    }
    return TX_FAILED;
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

void order_commit(struct df_req *r) {
    struct order o = {0};
    enum tx t = TX_RETRY;
    int rc;
    if (session_require(r, &o.uid, ORDER_LOGIN_MSG) <= 0 || read_form(r, &o) != 0)
        goto out;
    if ((rc = check_address(r, &o)) == 0 && (rc = new_order_id(r, &o)) == 0) {
        for (int i = 0; i < TX_TRIES && t == TX_RETRY; i++)
            t = commit_once(r, &o);
        if (t == TX_RETRY)
            resp_res_reason(r, 7, ORDER_FAILED_MSG, "busy");
        rc = t == TX_DONE ? 0 : t == TX_FAILED ? -1 : 1;
    }
    settle_claim(r, &o, rc == 0);
    if (rc > 0 && o.idem_key) {
        /* an order this key made is the answer, whatever this request
         * ran into (the lines already ordered by it, say) */
        replay(r, &o);
        goto out;
    }
    if (rc != 0)
        goto out;
    cJSON_AddStringToObject(resp_res_ok(r, 5, "创建成功"), "order_id", o.order_id);
out:
    return;
}
