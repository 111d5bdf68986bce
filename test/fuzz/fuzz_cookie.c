/* cookie_parse over arbitrary Cookie headers. */
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
    if (cookie_parse(&a, &p, s, size) == 0) {
        FUZZ_CHECK(p.count <= PARAMS_MAX);
        for (const struct param *e = p.head; e; e = e->next) {
            FUZZ_CHECK(*e->key != '\0');
            FUZZ_CHECK(params_get(&p, e->key) != NULL);
        }
    }
    arena_reset(&a);
    free(s);
    return 0;
}
