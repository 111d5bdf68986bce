#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mem.h"

int pool_fd_alive(int fd) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (fd < 0)
        return 0;
    /* idle request/response connections have nothing to read: any event
     * means EOF, an error, or stray bytes we cannot account for */
    return poll(&pfd, 1, 0) == 0;
}

int pool_init(struct pool *p, const struct pool_ops *ops, void *cfg, size_t size, int wait_ms) {
    pthread_condattr_t attr;
    if (size == 0)
        return -1;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return -1;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        return -1;
    }
    p->slots = xcalloc(size, sizeof(*p->slots));
    p->size = size;
    p->wait_ms = wait_ms;
    p->ops = ops;
    p->cfg = cfg;
    p->ready = 1;
    return 0;
}

void pool_destroy(struct pool *p) {
    if (!p->ready)
        return;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->size; i++) {
        if (!p->slots[i].busy && p->slots[i].conn) {
            p->ops->close(p->slots[i].conn);
            p->slots[i].conn = NULL;
        }
    }
    pthread_mutex_unlock(&p->mu);
    free(p->slots);
    p->slots = NULL;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    p->ready = 0;
}

static struct pool_slot *take_free(struct pool *p) {
    struct pool_slot *empty = NULL;
    for (size_t i = 0; i < p->size; i++) {
        struct pool_slot *s = &p->slots[i];
        if (s->busy)
            continue;
        if (s->conn)
            return s; /* prefer a slot that is already connected */
        if (!empty)
            empty = s;
    }
    return empty;
}

struct pool_slot *pool_get(struct pool *p, char *err, size_t errlen) {
    struct timespec deadline;
    struct pool_slot *s;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->wait_ms / 1000;
    deadline.tv_nsec += (long)(p->wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&p->mu);
    while ((s = take_free(p)) == NULL) {
        int rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        if (rc == ETIMEDOUT && (s = take_free(p)) == NULL) {
            pthread_mutex_unlock(&p->mu);
            snprintf(err, errlen, "no %s connection available after %d ms", p->ops->name, p->wait_ms);
            return NULL;
        }
        if (s)
            break;
    }
    s->busy = 1;
    pthread_mutex_unlock(&p->mu);

    /* an idle connection the server closed (restart, idle timeout) is
     * replaced before use rather than failing this request */
    if (s->conn && p->ops->alive && !p->ops->alive(s->conn)) {
        p->ops->close(s->conn);
        s->conn = NULL;
    }
    if (!s->conn) {
        s->conn = p->ops->open(p->cfg, err, errlen);
        if (!s->conn) {
            pool_put(p, s, 1);
            return NULL;
        }
    }
    return s;
}

void pool_put(struct pool *p, struct pool_slot *s, int broken) {
    if (s->conn && (broken || p->ops->reset(s->conn) != 0)) {
        p->ops->close(s->conn);
        s->conn = NULL;
    }
    pthread_mutex_lock(&p->mu);
    s->busy = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

size_t pool_open_count(struct pool *p) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->size; i++)
        if (p->slots[i].conn)
            n++;
    pthread_mutex_unlock(&p->mu);
    return n;
}
