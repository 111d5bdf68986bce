/* The flash-sale consumer. One loop: the sales to read (flash_sales, tidied
 * in the same script), one XREADGROUP over all their streams that returns
 * as soon as any entry arrives (the BLOCK only bounds an idle wait, so an
 * order is written within a transaction's time of its purchase), then per
 * sale, under the sale's lock, one MariaDB transaction for the whole batch
 * and after its COMMIT one script that XACKs and XDELs the entries and
 * counts them written. An entry is acked only after its rows are
 * committed, so a crash anywhere leaves it pending and it is written again
 * by whoever takes it over (XAUTOCLAIM after dailyfresh-flash-claim); the
 * order id is the rows' key, so writing it again adds nothing. */
#include "flash_sale_persist.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "flash_sale.h"
#include "log.h"
#include "order.h"
#include "rds.h"

#define LOCK_TTL_MS 5000
#define LOCK_WAIT_MS 1000
#define FAIL_PAUSE_MS 500
#define TX_TRIES 3
#define CLAIM_PAGES 10
#define CONSUMER_MAX 200

static pthread_t thread;
static int started;
static atomic_int stopping;
static struct df_app papp; /* the consumer's own options and pools */
static char consumer[CONSUMER_MAX];

struct entry {
    const char *id; /* the stream's */
    const char *o, *u, *a, *p, *pr, *t;
};

static void pause_ms(long ms) {
    while (ms > 0 && !atomic_load(&stopping)) {
        long step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An entry of a stream reply ([id, [field, value, ...]]) into *e; 0, or -1
 * when it is not one (an entry deleted under a pending id reads nil). */
static int entry_parse(const redisReply *rep, struct entry *e) {
    memset(e, 0, sizeof(*e));
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    e->id = rep->element[0]->str;
    const redisReply *f = rep->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        const char **slot = !strcmp(k->str, "o")    ? &e->o
                            : !strcmp(k->str, "u")  ? &e->u
                            : !strcmp(k->str, "a")  ? &e->a
                            : !strcmp(k->str, "p")  ? &e->p
                            : !strcmp(k->str, "pr") ? &e->pr
                            : !strcmp(k->str, "t")  ? &e->t
                                                    : NULL;
        if (slot)
            *slot = v->str;
    }
    return 0;
}

static int number(const char *s, long long *v) {
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

/* Why an entry cannot be an order at all (a field missing or not a
 * number), or NULL. MariaDB judges the rest (the user, the address). */
static const char *entry_refusal(const struct entry *e) {
    long long v;
    if (!e->o || !*e->o || strlen(e->o) > 128)
        return "no order id";
    if (number(e->u, &v) < 0 || number(e->a, &v) < 0 || number(e->p, &v) < 0 || number(e->t, &v) < 0)
        return "u, a, p or t missing or not a number";
    if (!e->pr || !*e->pr)
        return "no price";
    return NULL;
}

/* The entries as one JSON array of [o, u, a, p, pr, t]. */
static const char *entries_json(struct df_req *r, struct entry *const *es, size_t n) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        long long u, a, p, t;
        number(es[i]->u, &u);
        number(es[i]->a, &a);
        number(es[i]->p, &p);
        number(es[i]->t, &t);
        cJSON *row = cJSON_CreateArray();
        if (!row) {
            cJSON_Delete(arr);
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, row);
        cJSON_AddItemToArray(row, cJSON_CreateString(es[i]->o));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)u));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)a));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)p));
        cJSON_AddItemToArray(row, cJSON_CreateString(es[i]->pr));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)t));
    }
    if (!arr) {
        req_fail(r, 500, "flash persist", "out of memory");
        return NULL;
    }
    return req_json_text(r, arr, "flash persist");
}

#define ENTRIES_TABLE                                                                                              \
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (o VARCHAR(128) CHARACTER SET utf8mb4 PATH '$[0]', u INT PATH '$[1]',"    \
    " a INT PATH '$[2]', p INT PATH '$[3]', pr DECIMAL(10,2) PATH '$[4]', t BIGINT PATH '$[5]')) AS j"           \
    " WHERE NOT EXISTS (SELECT 1 FROM df_flash_sale_order f WHERE f.order_id = j.o)"

/* The batch's rows, in the open transaction: each order that has none
 * (no df_flash_sale_order row, written last) gets its df_order_info,
 * df_order_goods and df_flash_sale_order rows, all created at the
 * reservation time t but the last, stamped when written (the lag), and
 * the SKU's sales grow by them. Rows written, or -1. */
static long long write_rows(struct df_req *r, const struct flash_sale *s, const char *json) {
    char transit[MONEY_STR_MAX];
    money_format(ORDER_TRANSIT_CENTS, transit);
    long long info = db_exec(r,
                             "INSERT INTO df_order_info (create_time, update_time, is_delete, order_id, pay_method,"
                             " total_count, total_price, transit_price, order_status, trade_no, addr_id, user_id)"
                             " SELECT FROM_UNIXTIME(j.t / 1000), FROM_UNIXTIME(j.t / 1000), 0, j.o, j.p, 1, j.pr, ?,"
                             " ?, '', j.a, j.u" ENTRIES_TABLE,
                             "sis", transit, (long long)ORDER_UNPAID, json);
    if (info < 0)
        return -1;
    long long goods = db_exec(r,
                              "INSERT INTO df_order_goods (create_time, update_time, is_delete, count, price, comment,"
                              " order_id, sku_id)"
                              " SELECT FROM_UNIXTIME(j.t / 1000), FROM_UNIXTIME(j.t / 1000), 0, 1, j.pr, '', j.o, ?"
                              ENTRIES_TABLE,
                              "is", s->sku_id, json);
    if (goods < 0)
        return -1;
    long long sold = db_exec(r,
                             "INSERT INTO df_flash_sale_order (order_id, sale_id, user_id, create_time, released)"
                             " SELECT j.o, ?, j.u, NOW(6), ?" ENTRIES_TABLE,
                             "iis", s->id, (long long)FLASH_LIVE, json);
    if (sold < 0)
        return -1;
    if (info != sold || goods != sold) {
        req_fail(r, 500, "flash persist", "order rows of a batch differ in number");
        return -1;
    }
    if (sold > 0 && db_exec(r, "UPDATE df_goods_sku SET sales = sales + ?, update_time = NOW(6) WHERE id = ?", "ii",
                            sold, s->sku_id) < 0)
        return -1;
    return sold;
}

/* What one transaction came to. */
enum tx { TX_OK, TX_DATA, TX_DOWN };

/* One transaction for entries es: TX_OK committed, TX_DATA refused on the
 * data (rolled back, failure forgotten; *why says what), TX_DOWN the
 * connection failed (the request must end). */
static enum tx write_batch(struct df_req *r, const struct flash_sale *s, struct entry *const *es, size_t n,
                           const char **why) {
    const char *json = entries_json(r, es, n);
    if (!json)
        return TX_DOWN;
    for (int tries = 0;; tries++) {
        if (db_begin(r) == 0 && write_rows(r, s, json) >= 0 && db_commit(r) == 0)
            return TX_OK;
        if (r->mysql_broken || r->fail_status == 503)
            return TX_DOWN;
        int retry = db_retryable(r) && tries + 1 < TX_TRIES;
        *why = arena_printf(&r->arena, "MariaDB error %d", db_last_errno(r));
        if (db_rollback(r) < 0)
            return TX_DOWN;
        req_fail_clear(r);
        if (!retry)
            return TX_DATA;
    }
}

/* KEYS: the lock, the sale's hash, its stream, the flash_order_<oid>
 * hashes. ARGV: the lock's token, the entry ids. Only while the token
 * holds: a batch whose lock expired is left pending and written again (as
 * nothing). The entries leave the stream and count as written. */
static struct rds_script ack_script = RDS_SCRIPT(
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
    "local ids = {}\n"
    "for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end\n"
    "redis.call('XACK', KEYS[3], 'persist', unpack(ids))\n"
    "local n = redis.call('XDEL', KEYS[3], unpack(ids))\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'written', n) end\n"
    "for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end\n"
    "return n\n");

static int ack(struct df_req *r, long long sale, const char *token, struct entry *const *es, size_t n) {
    struct arena *a = &r->arena;
    const char **argv = arena_alloc(a, sizeof(*argv) * (2 * n + 4));
    argv[0] = arena_printf(a, FLASH_LOCK_KEY, sale);
    argv[1] = arena_printf(a, FLASH_SALE_KEY, sale);
    argv[2] = arena_printf(a, FLASH_ORDERS_KEY, sale);
    for (size_t i = 0; i < n; i++)
        argv[3 + i] = arena_printf(a, FLASH_ORDER_KEY, es[i]->o);
    argv[3 + n] = token;
    for (size_t i = 0; i < n; i++)
        argv[4 + n + i] = es[i]->id;
    redisReply *rep = rds_eval(r, &ack_script, (int)(3 + n), (int)(n + 1), argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_INTEGER) {
        req_fail(r, 500, "flash persist", "ack: unexpected reply");
        return -1;
    }
    if (rep->integer < 0)
        df_log("flash persist: sale %lld: the lock expired before the ack of %zu orders: they are written and "
               "stay pending, to be acked when taken over",
               sale, n);
    return 0;
}

/* The sale's lock, waited for a little (an expiry or a reconciliation
 * holds it briefly): 1 taken, 0 not within LOCK_WAIT_MS, -1 failed. */
static int lock_wait(struct df_req *r, long long sale, char token[FLASH_TOKEN_LEN]) {
    long long until = now_ms() + LOCK_WAIT_MS;
    for (;;) {
        int rc = flash_sale_lock(r, sale, LOCK_TTL_MS, token);
        if (rc != 0 || now_ms() >= until || atomic_load(&stopping))
            return rc;
        pause_ms(10);
    }
}

/* Writes one sale's entries and acks those whose rows are committed: the
 * batch in one transaction; when MariaDB refuses it on the data, entry by
 * entry, so one bad entry stays pending (logged) and the others go
 * through. 0, or -1 when a connection failed (the entries stay pending). */
static int persist_sale(struct df_req *r, long long sale, const redisReply *entries) {
    size_t n = 0;
    struct entry *all = arena_alloc(&r->arena, sizeof(*all) * (entries->elements + 1));
    struct entry **good = arena_alloc(&r->arena, sizeof(*good) * (entries->elements + 1));
    for (size_t i = 0; i < entries->elements; i++) {
        struct entry *e = &all[i];
        const char *why;
        if (entry_parse(entries->element[i], e) < 0)
            continue;
        if ((why = entry_refusal(e))) {
            df_log("flash persist: sale %lld: entry %s (order %s) cannot be written: %s; it stays pending", sale,
                   e->id, e->o ? e->o : "-", why);
            continue;
        }
        good[n++] = e;
    }
    if (n == 0)
        return 0;
    struct flash_sale s;
    char token[FLASH_TOKEN_LEN];
    int found = flash_sale_row(r, sale, 0, &s), rc = -1, locked = 0;
    if (found < 0)
        return -1;
    if (found == 0) {
        df_log("flash persist: sale %lld has no row: its %zu orders stay pending", sale, n);
        return 0;
    }
    if ((locked = lock_wait(r, sale, token)) <= 0) {
        if (locked == 0)
            rc = 0; /* pending: taken over once idle past the claim time */
        goto out;
    }
    const char *why = "";
    enum tx t = write_batch(r, &s, good, n, &why);
    if (t == TX_DOWN)
        goto out;
    if (t == TX_DATA) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            t = write_batch(r, &s, &good[i], 1, &why);
            if (t == TX_DOWN)
                goto out;
            if (t == TX_OK)
                good[ok++] = good[i];
            else
                df_log("flash persist: sale %lld: entry %s (order %s, user %s) refused by MariaDB (%s); it stays "
                       "pending",
                       sale, good[i]->id, good[i]->o, good[i]->u, why);
        }
        n = ok;
    }
    rc = n > 0 ? ack(r, sale, token, good, n) : 0;
out:
    if (locked > 0 && flash_sale_unlock(r, sale, token) < 0)
        rc = -1;
    return rc;
}

/* KEYS: flash_sales. The sales whose streams can be read, each stream
 * given the group if it lacks it; a sale closed (or whose hash is gone)
 * with nothing pending leaves the set (building the hash adds it again).
 * A key that is not a stream is skipped. */
static struct rds_script sales_script = RDS_SCRIPT(
    "local out = {}\n"
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local stream = 'flash_sale_orders_' .. id\n"
    "  local kind = redis.call('TYPE', stream).ok\n"
    "  local status = redis.call('HGET', 'flash_sale_' .. id, 'status')\n"
    "  if kind == 'stream' then\n"
    "    if status ~= 'on' and redis.call('XLEN', stream) == 0 then\n"
    "      redis.call('SREM', KEYS[1], id)\n"
    "    else\n"
    "      pcall(redis.call, 'XGROUP', 'CREATE', stream, 'persist', '0')\n"
    "      out[#out + 1] = id\n"
    "    end\n"
    "  elseif kind == 'none' then\n"
    "    if status == 'on' then\n"
    "      redis.call('XGROUP', 'CREATE', stream, 'persist', '0', 'MKSTREAM')\n"
    "      out[#out + 1] = id\n"
    "    else\n"
    "      redis.call('SREM', KEYS[1], id)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n");

/* The sales to read, ids in the arena; -1 failed. */
static long long sales_list(struct df_req *r, long long **ids) {
    const char *argv[] = {FLASH_SALES_SET};
    redisReply *rep = rds_eval(r, &sales_script, 1, 0, argv);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY) {
        req_fail(r, 500, "flash persist", "sales: unexpected reply");
        return -1;
    }
    *ids = arena_alloc(&r->arena, sizeof(**ids) * (rep->elements + 1));
    long long n = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if (rds_reply_ll(rep->element[i], &(*ids)[n]) == 0 && (*ids)[n] > 0)
            n++;
    return n;
}

/* The sale id of a stream's key; -1 when it is not one. */
static long long stream_sale(const redisReply *key) {
    long long id;
    const char *prefix = "flash_sale_orders_";
    if (key->type != REDIS_REPLY_STRING || strncmp(key->str, prefix, strlen(prefix)) != 0 ||
        number(key->str + strlen(prefix), &id) < 0)
        return -1;
    return id;
}

/* New entries of every sale, written. 0, or -1 failed. */
static int read_new(struct df_req *r, const long long *ids, long long n) {
    const struct df_config *c = &r->app->cfg;
    int argc = 0;
    const char **argv = arena_alloc(&r->arena, sizeof(*argv) * (size_t)(2 * n + 9));
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = FLASH_GROUP;
    argv[argc++] = consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = arena_printf(&r->arena, "%ld", c->flash_batch);
    argv[argc++] = "BLOCK";
    argv[argc++] = arena_printf(&r->arena, "%ld", c->flash_block_ms);
    argv[argc++] = "STREAMS";
    for (long long i = 0; i < n; i++)
        argv[argc++] = arena_printf(&r->arena, FLASH_ORDERS_KEY, ids[i]);
    for (long long i = 0; i < n; i++)
        argv[argc++] = ">";
    redisReply *rep = rds_cmdargv(r, argc, argv, NULL);
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_NIL)
        return 0;
    if (rep->type != REDIS_REPLY_ARRAY) {
        req_fail(r, 500, "flash persist", "XREADGROUP: unexpected reply");
        return -1;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *s = rep->element[i];
        long long sale;
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || (sale = stream_sale(s->element[0])) < 0 ||
            s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        if (persist_sale(r, sale, s->element[1]) < 0)
            return -1;
    }
    return 0;
}

/* Entries of the sale's stream read by a consumer (one that died, or this
 * one after a failed write) and idle past the claim time: taken over and
 * written. 0, or -1 failed. */
static int claim_idle(struct df_req *r, long long sale) {
    const char *cursor = "0-0";
    for (int page = 0; page < CLAIM_PAGES; page++) {
        redisReply *rep = rds_cmd(r, "XAUTOCLAIM " FLASH_ORDERS_KEY " %s %s %ld %s COUNT %ld", sale, FLASH_GROUP,
                                  consumer, r->app->cfg.flash_claim_ms, cursor, r->app->cfg.flash_batch);
        if (!rep)
            return -1;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            req_fail(r, 500, "flash persist", "XAUTOCLAIM: unexpected reply");
            return -1;
        }
        if (rep->element[1]->elements > 0) {
            df_log("flash persist: sale %lld: took over %zu orders idle for %ld ms", sale,
                   rep->element[1]->elements, r->app->cfg.flash_claim_ms);
            if (persist_sale(r, sale, rep->element[1]) < 0)
                return -1;
        }
        cursor = rep->element[0]->str;
        if (!strcmp(cursor, "0-0"))
            break;
    }
    return 0;
}

/* A field of an XINFO CONSUMERS entry (flat name, value pairs). */
static const redisReply *info_field(const redisReply *c, const char *name) {
    for (size_t i = 0; c->type == REDIS_REPLY_ARRAY && i + 1 < c->elements; i += 2)
        if (c->element[i]->type == REDIS_REPLY_STRING && !strcmp(c->element[i]->str, name))
            return c->element[i + 1];
    return NULL;
}

/* Consumers of the sale's group with nothing pending and idle past
 * dailyfresh-flash-consumer-idle (processes gone: a pid is in each name)
 * are removed. 0, or -1 failed. */
static int drop_idle_consumers(struct df_req *r, long long sale) {
    redisReply *rep = rds_cmd(r, "XINFO CONSUMERS " FLASH_ORDERS_KEY " %s", sale, FLASH_GROUP);
    if (!rep)
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *name = info_field(rep->element[i], "name");
        long long pending, idle;
        if (!name || name->type != REDIS_REPLY_STRING || !strcmp(name->str, consumer) ||
            rds_reply_ll(info_field(rep->element[i], "pending"), &pending) < 0 ||
            rds_reply_ll(info_field(rep->element[i], "idle"), &idle) < 0 || pending != 0 ||
            idle < r->app->cfg.flash_consumer_idle_ms)
            continue;
        if (!rds_cmd(r, "XGROUP DELCONSUMER " FLASH_ORDERS_KEY " %s %s", sale, FLASH_GROUP, name->str))
            return -1;
        df_log("flash persist: sale %lld: removed the consumer %s (nothing pending, idle %lld ms)", sale, name->str,
               idle);
    }
    return 0;
}

static int round_tidy(struct df_req *r, const long long *ids, long long n) {
    for (long long i = 0; i < n && !atomic_load(&stopping); i++)
        if (claim_idle(r, ids[i]) < 0 || drop_idle_consumers(r, ids[i]) < 0)
            return -1;
    return 0;
}

/* One pass: 0, or -1 failed (the caller pauses). */
static int round_run(struct df_req *r, int tidy) {
    long long *ids;
    long long n = sales_list(r, &ids);
    if (n < 0)
        return -1;
    if (tidy && round_tidy(r, ids, n) < 0)
        return -1;
    if (n == 0) {
        pause_ms(r->app->cfg.flash_block_ms);
        return 0;
    }
    return read_new(r, ids, n);
}

/* Reconciles sale id on a fresh request; logged. */
static void reconcile_one(struct df_req *r, long long id) {
    struct flash_sale s;
    struct flash_recon rc;
    req_init(r, &papp);
    r->method = "flash persist";
    r->path = "reconcile";
    if (flash_sale_row(r, id, 0, &s) > 0)
        flash_sale_reconcile(r, &s, &rc);
    req_release(r);
}

/* At start-up: every sale consumers poll and every sale still on. */
static void reconcile_all(struct df_req *r) {
    long long *ids = NULL;
    size_t n = 0, cap = 0;
    req_init(r, &papp);
    r->method = "flash persist";
    r->path = "reconcile";
    redisReply *rep = rds_cmd(r, "SMEMBERS " FLASH_SALES_SET);
    struct db_rows rows;
    int more = 0;
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        cap = rep->elements + 16;
        ids = calloc(cap, sizeof(*ids));
        for (size_t i = 0; ids && i < rep->elements; i++)
            if (rds_reply_ll(rep->element[i], &ids[n]) == 0 && ids[n] > 0)
                n++;
    }
    if (ids && db_query(r, &rows, "SELECT id FROM df_flash_sale WHERE status = ? AND is_delete = 0", "i",
                        (long long)FLASH_ON) == 0) {
        while ((more = db_next(&rows)) > 0) {
            long long id = db_ll(&rows, 0);
            size_t k = 0;
            while (k < n && ids[k] != id)
                k++;
            if (k < n)
                continue;
            if (n == cap) {
                long long *grown = realloc(ids, sizeof(*ids) * cap * 2);
                if (!grown)
                    break;
                ids = grown;
                cap *= 2;
            }
            ids[n++] = id;
        }
    }
    req_release(r);
    for (size_t i = 0; i < n && !atomic_load(&stopping); i++)
        reconcile_one(r, ids[i]);
    free(ids);
}

static void *consumer_main(void *arg) {
    (void)arg;
    struct df_req r;
    mysql_thread_init();
    reconcile_all(&r);
    long long next_tidy = 0;
    while (!atomic_load(&stopping)) {
        long long now = now_ms();
        int tidy = now >= next_tidy;
        if (tidy)
            next_tidy = now + papp.cfg.flash_claim_ms / 2;
        req_init(&r, &papp);
        r.method = "flash persist";
        r.path = "consumer";
        int rc = round_run(&r, tidy);
        req_release(&r);
        if (rc < 0)
            pause_ms(FAIL_PAUSE_MS);
    }
    pool_destroy(&papp.redis);
    pool_destroy(&papp.mysql);
    mysql_thread_end();
    df_log("flash persist: consumer %s stopped", consumer);
    return NULL;
}

int flash_persist_start(const struct df_app *app, const char *name) {
    if (started)
        return 0;
    papp = (struct df_app){.cfg = app->cfg};
    snprintf(consumer, sizeof(consumer), "%s", name);
    if (pool_init(&papp.redis, &redis_pool_ops, &papp.cfg, 1, (int)papp.cfg.pool_wait_ms) < 0 ||
        pool_init(&papp.mysql, &mysql_pool_ops, &papp.cfg, 1, (int)papp.cfg.pool_wait_ms) < 0) {
        df_log("flash persist: cannot create the consumer's connection pools");
        return -1;
    }
    atomic_store(&stopping, 0);
    if (pthread_create(&thread, NULL, consumer_main, NULL) != 0) {
        df_log("flash persist: cannot start the consumer thread");
        pool_destroy(&papp.redis);
        pool_destroy(&papp.mysql);
        return -1;
    }
    started = 1;
    df_log("flash persist: consumer %s: batches of %ld, block %ld ms, orders idle %ld ms taken over, consumers idle "
           "%ld ms removed",
           consumer, papp.cfg.flash_batch, papp.cfg.flash_block_ms, papp.cfg.flash_claim_ms,
           papp.cfg.flash_consumer_idle_ms);
    return 0;
}

void flash_persist_stop(void) {
    if (!started)
        return;
    started = 0;
    atomic_store(&stopping, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1 + papp.cfg.flash_block_ms / 1000 + 1;
    if (pthread_timedjoin_np(thread, NULL, &until) != 0)
        df_log("flash persist: the consumer did not stop in time; its batch stays pending");
}
