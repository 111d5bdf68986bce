/* Async notifies: an arbitrary form body -> form_parse -> the parameters
 * -> alipay_sign_string (both rules) and alipay_verify_notify. A forged
 * notify never verifies; the same fields signed by the harness's key (sign
 * and sign_type replaced) always do, unless a field is repeated. */
#include <stdint.h>

#include "alipay.h"
#include "fuzz_common.h"
#include "params.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *priv, *pub;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_keypair(&priv, &pub);
    return 0;
}

static int has_repeat(const struct alipay_param *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!strcmp(p[i].key, p[j].key))
                return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct arena a;
    struct params p;
    char *s = fuzz_memdup(data, size);
    arena_init(&a);
    params_init(&p);
    if (form_parse(&a, &p, s, size) == 0) {
        struct alipay_param *ap = calloc(p.count + 2, sizeof(*ap));
        size_t n = 0, kept = 0;
        for (const struct param *e = p.head; e; e = e->next, n++) {
            ap[n].key = e->key;
            ap[n].value = e->val;
        }
        for (int rule = 0; rule < 2; rule++) {
            char *str = alipay_sign_string(ap, n, rule);
            FUZZ_CHECK(str != NULL);
            free(str);
        }
        FUZZ_CHECK(alipay_verify_notify(pub, ap, n) == 0);

        /* the fields without sign/sign_type, then signed by the harness */
        for (size_t i = 0; i < n; i++)
            if (strcmp(ap[i].key, "sign") && strcmp(ap[i].key, "sign_type"))
                ap[kept++] = ap[i];
        char *str = alipay_sign_string(ap, kept, 1);
        char *sign = alipay_sign_rsa2(priv, str, strlen(str));
        FUZZ_CHECK(sign != NULL);
        ap[kept].key = "sign_type";
        ap[kept].value = "RSA2";
        ap[kept + 1].key = "sign";
        ap[kept + 1].value = sign;
        int ok = alipay_verify_notify(pub, ap, kept + 2);
        FUZZ_CHECK(ok == !has_repeat(ap, kept));
        free(sign);
        free(str);
        free(ap);
    }
    arena_reset(&a);
    free(s);
    return 0;
}
