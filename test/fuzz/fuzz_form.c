/* form_parse over arbitrary bodies: every stored pair is NUL-free UTF-8 of
 * the length recorded, and can be found again by its key. */
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
    if (form_parse(&a, &p, s, size) == 0) {
        size_t count = 0;
        FUZZ_CHECK(p.count <= PARAMS_MAX);
        for (const struct param *e = p.head; e; e = e->next, count++) {
            const char *all[PARAMS_MAX];
            FUZZ_CHECK(*e->key != '\0');
            FUZZ_CHECK(strlen(e->val) == e->val_len);
            FUZZ_CHECK(utf8_valid(e->key, strlen(e->key)) && utf8_valid(e->val, e->val_len));
            size_t n = params_get_all(&p, e->key, all, PARAMS_MAX);
            FUZZ_CHECK(n >= 1);
            FUZZ_CHECK(params_get(&p, e->key) == all[0]);
        }
        FUZZ_CHECK(count == p.count);
    }
    arena_reset(&a);
    free(s);
    return 0;
}
