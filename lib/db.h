/* MariaDB for handlers: prepared statements only, cached per connection by
 * their SQL text, every column fetched as text (DECIMAL stays exact).
 *
 *   struct db_rows rows;
 *   if (db_query(r, &rows, "SELECT id, name FROM t WHERE id = ?", "i", id) < 0) goto out;
 *   while ((rc = db_next(&rows)) > 0) use(db_ll(&rows, 0), db_str(&rows, 1));
 *
 * Statements are cached per connection by their text, so keep SQL text
 * constant: for a list of ids bind one JSON array and join JSON_TABLE
 *   ... FROM JSON_TABLE(?, '$[*]' COLUMNS (id INT PATH '$')) j
 *       JOIN df_goods_sku s ON s.id = j.id
 * rather than building "IN (?, ?, ...)" of varying length.
 *
 * A result need not be read to its end: the rows are stored client-side
 * and released when the statement runs again or the connection goes back.
 *
 * Parameter formats, one char per '?': 'i' long long, 's' const char *
 * (NULL binds SQL NULL). Column values are valid until the next db_next. A
 * failure records 503 (connection lost, or a Galera node that refuses
 * to serve: the connection is dropped, not pooled) or 500, like the Redis helpers; db_last_errno() keeps the
 * server's error number, which db_retryable() and db_duplicate() sort for
 * handlers that expect one (a deadlock to retry, a duplicate key). */
#ifndef DF_DB_H
#define DF_DB_H

#include <mysql.h>

#include "pool.h"
#include "req.h"

extern const struct pool_ops mysql_pool_ops; /* cfg: struct df_config * */

struct db_rows {
    struct df_req *r;
    MYSQL_STMT *st;
    unsigned ncols;
    MYSQL_BIND *bind;
    unsigned long *len;
    my_bool *isnull;
    my_bool *error;
    unsigned long *size;
    unsigned long long nrows;
};

int db_query(struct df_req *r, struct db_rows *rows, const char *sql, const char *fmt, ...);
int db_next(struct db_rows *rows); /* 1 row, 0 no more, -1 error */
const char *db_str(const struct db_rows *rows, unsigned col); /* "" for NULL */
int db_isnull(const struct db_rows *rows, unsigned col);
long long db_ll(const struct db_rows *rows, unsigned col);
/* A statement without a result set; returns affected rows, or -1. */
long long db_exec(struct df_req *r, const char *sql, const char *fmt, ...);
unsigned long long db_last_insert_id(struct df_req *r);
int db_begin(struct df_req *r);
int db_commit(struct df_req *r);
int db_rollback(struct df_req *r);
int db_last_errno(const struct df_req *r);
/* Whether the last statement failed in a way that running its transaction
 * again can cure: a deadlock or a lock-wait timeout (rolled back). */
int db_retryable(const struct df_req *r);
/* Whether the last statement failed on a unique key (a duplicate entry). */
int db_duplicate(const struct df_req *r);
int db_ping(struct df_req *r);

#endif
