/* Random tokens from OpenSSL's CSPRNG. */
#ifndef DF_CRYPTO_H
#define DF_CRYPTO_H

#include <stddef.h>

/* n characters from [a-zA-Z0-9], unbiased; out gets n+1 bytes. -1 if the
 * RNG failed. */
int rand_alnum(char *out, size_t n);
/* 2*nbytes lowercase hex characters; out gets 2*nbytes+1 bytes. */
int rand_hex(char *out, size_t nbytes);
/* Constant-time equality of two NUL-terminated strings. */
int secure_streq(const char *a, const char *b);

#endif
