/* json_params_parse over arbitrary bodies (not NUL-terminated, as a request
 * body is not). */
#include <stdint.h>

#include "fuzz_common.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct arena a;
    struct params p;
    char *s = fuzz_memdup(data, size);
    arena_init(&a);
    params_init(&p);
    if (json_params_parse(&a, &p, s, size) == 0) {
        FUZZ_CHECK(p.count <= PARAMS_MAX);
        for (const struct param *e = p.head; e; e = e->next) {
            const char *all[4];
            FUZZ_CHECK(e->val != NULL && strlen(e->val) == e->val_len);
            FUZZ_CHECK(params_get_all(&p, e->key, all, 4) >= 1);
        }
    }
    arena_reset(&a);
    free(s);
    return 0;
}
