/* money_parse over arbitrary strings; whatever it accepts must survive
 * money_format -> money_parse unchanged. */
#include <stdint.h>

#include "fuzz_common.h"
#include "money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_strndup(data, size);
    int64_t cents = 0, again = 0, sum;
    if (money_parse(s, &cents) == 0) {
        char out[MONEY_STR_MAX];
        money_format(cents, out);
        size_t n = strlen(out);
        FUZZ_CHECK(n >= 4 && out[n - 3] == '.'); /* always two decimals */
        FUZZ_CHECK(money_parse(out, &again) == 0);
        FUZZ_CHECK(again == cents);
        /* the arithmetic helpers refuse overflow instead of wrapping */
        (void)money_mul(cents, cents, &sum);
        (void)money_add(cents, cents, &sum);
    }
    free(s);
    return 0;
}
