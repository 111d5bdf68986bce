#include "password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"

#define DK_LEN 32
#define DK_B64_LEN 44 /* 4 * ceil(32 / 3) */
#define SALT_MAX 64

static int derive(const char *pw, const char *salt, size_t salt_len, long iterations, unsigned char dk[DK_LEN]) {
    if (iterations < 1 || iterations > PASSWORD_MAX_ITERATIONS)
        return -1;
    return PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), (const unsigned char *)salt, (int)salt_len, (int)iterations,
                             EVP_sha256(), DK_LEN, dk) == 1
               ? 0
               : -1;
}

static int salt_ok(const char *salt, size_t len) {
    return len > 0 && len <= SALT_MAX && !memchr(salt, '$', len) && !memchr(salt, '\0', len);
}

int password_hash_salt(const char *pw, const char *salt, long iterations, char *out, size_t outlen) {
    unsigned char dk[DK_LEN];
    char b64[DK_B64_LEN + 1];
    size_t salt_len = strlen(salt);
    if (!salt_ok(salt, salt_len) || derive(pw, salt, salt_len, iterations, dk) < 0)
        return -1;
    EVP_EncodeBlock((unsigned char *)b64, dk, DK_LEN);
    int n = snprintf(out, outlen, PASSWORD_ALGORITHM "$%ld$%s$%s", iterations, salt, b64);
    OPENSSL_cleanse(dk, sizeof(dk));
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int password_hash(const char *pw, long iterations, char *out, size_t outlen) {
    char salt[PASSWORD_SALT_LEN + 1];
    if (rand_alnum(salt, PASSWORD_SALT_LEN) < 0)
        return -1;
    return password_hash_salt(pw, salt, iterations, out, outlen);
}

/* Strict decimal: digits only, no sign, no leading zero. */
static long parse_iterations(const char *s, size_t len) {
    long v = 0;
    if (len == 0 || len > 9 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* EVP_DecodeBlock skips surrounding whitespace and keeps the padding's
 * zero bytes, so the text is checked here: exactly the 44 characters that
 * 32 bytes encode to, the last one '='. */
static int decode_dk(const char *b64, unsigned char dk[DK_LEN]) {
    unsigned char buf[DK_B64_LEN];
    if (strlen(b64) != DK_B64_LEN || b64[DK_B64_LEN - 1] != '=')
        return -1;
    for (size_t i = 0; i < DK_B64_LEN - 1; i++) {
        char c = b64[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return -1;
    }
    if (EVP_DecodeBlock(buf, (const unsigned char *)b64, DK_B64_LEN) != DK_B64_LEN / 4 * 3)
        return -1;
    memcpy(dk, buf, DK_LEN);
    return 0;
}

int password_verify(const char *pw, const char *encoded) {
    static const char prefix[] = PASSWORD_ALGORITHM "$";
    unsigned char want[DK_LEN], got[DK_LEN];
    int ok = 0;
    if (!pw || !encoded || strncmp(encoded, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    const char *iter = encoded + sizeof(prefix) - 1;
    const char *salt = strchr(iter, '$');
    if (!salt)
        return 0;
    salt++;
    const char *hash = strchr(salt, '$');
    if (!hash)
        return 0;
    hash++;
    long iterations = parse_iterations(iter, (size_t)(salt - 1 - iter));
    size_t salt_len = (size_t)(hash - 1 - salt);
    if (iterations < 1 || !salt_ok(salt, salt_len) || decode_dk(hash, want) < 0)
        goto out;
    if (derive(pw, salt, salt_len, iterations, got) < 0)
        goto out;
    ok = CRYPTO_memcmp(want, got, DK_LEN) == 0;
out:
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}
