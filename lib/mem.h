/* Allocation wrappers that abort on out-of-memory, and the per-request arena.
 *
 * Everything a request allocates comes from its arena and is released in one
 * go when the request ends, so no error path can leak. Objects owned by a
 * library (cJSON trees, hiredis replies) are handed to the arena with
 * arena_defer() and freed the same way. */
#ifndef DF_MEM_H
#define DF_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

struct arena_chunk;
struct arena_cleanup;

struct arena {
    struct arena_chunk *chunks;
    struct arena_cleanup *cleanups;
};

void arena_init(struct arena *a);
/* Runs the deferred cleanups (newest first) and frees every chunk; the arena
 * is ready for reuse afterwards. Safe to call twice. */
void arena_reset(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_defer(struct arena *a, void (*fn)(void *), void *ptr);

#endif
