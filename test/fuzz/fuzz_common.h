/* Shared by the libFuzzer harnesses: a trap that names the broken property,
 * and an RSA-2048 key pair made once per process (never stored anywhere). */
#ifndef DF_FUZZ_COMMON_H
#define DF_FUZZ_COMMON_H

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);                            \
            __builtin_trap();                                                                                        \
        }                                                                                                            \
    } while (0)

/* A NUL-terminated copy of data (malloc'd). */
static inline char *fuzz_strndup(const unsigned char *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* An exact-size copy, not NUL-terminated: ASan sees any read past its end. */
static inline char *fuzz_memdup(const unsigned char *data, size_t size) {
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    return s;
}

/* The private half signs, the public half (a separate EVP_PKEY holding only
 * the public key, like the configured Alipay key) verifies. */
static inline void fuzz_keypair(EVP_PKEY **priv, EVP_PKEY **pub) {
    *priv = EVP_RSA_gen(2048);
    if (!*priv)
        abort();
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(*priv, &der);
    const unsigned char *q = der;
    *pub = n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
    OPENSSL_free(der);
    if (!*pub)
        abort();
}

#endif
