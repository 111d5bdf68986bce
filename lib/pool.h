/* A bounded pool of connections shared by the threads of one worker.
 *
 * pool_get() hands out a slot, waiting at most wait_ms for one to be free;
 * a slot whose connection is missing (never opened, or dropped after a
 * failure) is (re)connected lazily by the thread that takes it, outside the
 * lock. pool_put() gives the slot back: a connection marked broken, or one
 * the reset hook refuses (e.g. a transaction it cannot roll back), is closed
 * instead of being kept. */
#ifndef DF_POOL_H
#define DF_POOL_H

#include <pthread.h>
#include <stddef.h>

struct pool_ops {
    const char *name;                                       /* "redis", "mysql": for messages */
    void *(*open)(void *cfg, char *err, size_t errlen);     /* NULL on failure, err filled */
    int (*reset)(void *conn);                               /* 0 reusable, -1 drop */
    int (*alive)(void *conn);                               /* 0 when the server hung up while idle */
    void (*close)(void *conn);
};

struct pool_slot {
    void *conn;
    int busy;
};

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pool_slot *slots;
    size_t size;
    int wait_ms;
    const struct pool_ops *ops;
    void *cfg; /* borrowed: outlives the pool */
    int ready;
};

int pool_init(struct pool *p, const struct pool_ops *ops, void *cfg, size_t size, int wait_ms);
/* Closes every idle connection and frees the slots. Slots still out are
 * leaked on purpose: their threads are being cancelled. Safe to call twice. */
void pool_destroy(struct pool *p);
/* NULL on timeout (err says so) or when connecting failed (err says why). */
struct pool_slot *pool_get(struct pool *p, char *err, size_t errlen);
void pool_put(struct pool *p, struct pool_slot *s, int broken);
/* Idle slots holding an open connection, for tests and health. */
size_t pool_open_count(struct pool *p);
/* 1 when an idle socket shows no sign of being closed by the peer. */
int pool_fd_alive(int fd);

#endif
