/* router_match over the real route tables with an arbitrary method and
 * path ("METHOD PATH", split at the first space), and route_pattern_match
 * with an arbitrary pattern and path ("PATTERN\nPATH"). */
#include <stdint.h>

#include "handlers.h"
#include "fuzz_common.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_args(const struct route_match *m, const char *path, size_t len) {
    FUZZ_CHECK(m->nargs >= 0 && m->nargs <= ROUTE_MAX_ARGS);
    for (int i = 0; i < m->nargs; i++) {
        const struct route_arg *arg = &m->args[i];
        FUZZ_CHECK(arg->str >= path && arg->len > 0 && arg->str + arg->len <= path + len);
        FUZZ_CHECK(!memchr(arg->str, '/', arg->len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *sp = memchr(data, ' ', size);
    size_t mlen = sp ? (size_t)(sp - data) : 0;
    char *method = fuzz_strndup(data, mlen);
    size_t plen = sp ? size - mlen - 1 : size;
    char *path = fuzz_memdup(sp ? sp + 1 : data, plen);
    struct route_match m;
    memset(&m, 0, sizeof(m));
    enum route_result rr = router_match(df_routes, method, path, plen, &m);
    FUZZ_CHECK(rr == ROUTE_FOUND || rr == ROUTE_NOT_FOUND || rr == ROUTE_BAD_METHOD);
    if (rr == ROUTE_FOUND) {
        FUZZ_CHECK(m.route && m.route->handler);
        check_args(&m, path, plen);
    }
    free(method);
    free(path);

    const uint8_t *nl = memchr(data, '\n', size);
    if (nl) {
        char *pattern = fuzz_strndup(data, (size_t)(nl - data));
        plen = size - (size_t)(nl - data) - 1;
        path = fuzz_memdup(nl + 1, plen);
        memset(&m, 0, sizeof(m));
        if (route_pattern_match(pattern, path, plen, &m))
            check_args(&m, path, plen);
        free(pattern);
        free(path);
    }
    return 0;
}
