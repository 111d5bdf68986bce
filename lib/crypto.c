#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

static const char ALNUM[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

int rand_alnum(char *out, size_t n) {
    size_t k = 0;
    unsigned char buf[64];
    while (k < n) {
        if (RAND_bytes(buf, sizeof(buf)) != 1)
            return -1;
        for (size_t i = 0; i < sizeof(buf) && k < n; i++)
            if (buf[i] < 248) /* 248 = 4 * 62: rejecting the rest keeps it unbiased */
                out[k++] = ALNUM[buf[i] % 62];
    }
    out[n] = '\0';
    return 0;
}

int rand_hex(char *out, size_t nbytes) {
    unsigned char buf[64];
    static const char hex[] = "0123456789abcdef";
    if (nbytes > sizeof(buf) || RAND_bytes(buf, (int)nbytes) != 1)
        return -1;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}

int secure_streq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
