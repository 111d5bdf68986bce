/* Passwords in Django's format, so accounts move between the Django shop
 * and dailyfresh in both directions:
 *
 *   pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte PBKDF2-HMAC-SHA256>
 *
 * The salt is 22 characters of [a-zA-Z0-9], as Django makes them. */
#ifndef DF_PASSWORD_H
#define DF_PASSWORD_H

#include <stddef.h>

#define PASSWORD_ALGORITHM "pbkdf2_sha256"
#define PASSWORD_SALT_LEN 22
/* The df_user.password column is varchar(128). */
#define PASSWORD_HASH_MAX 129
/* Hashes claiming more are refused rather than computed: one request must
 * not hold a thread for minutes because of a corrupt row. */
#define PASSWORD_MAX_ITERATIONS 10000000L

/* Encodes pw with a fresh random salt into out. 0, or -1 when the RNG or
 * PBKDF2 failed or out is too small. */
int password_hash(const char *pw, long iterations, char *out, size_t outlen);
/* The same with a given salt (non-empty, no '$'): deterministic, for tests. */
int password_hash_salt(const char *pw, const char *salt, long iterations, char *out, size_t outlen);
/* 1 when pw matches encoded; 0 when it does not, and for anything that is
 * not a well-formed pbkdf2_sha256 hash (other algorithms, Django's "!"
 * unusable passwords, bad iteration counts, empty salts, bad base64). */
int password_verify(const char *pw, const char *encoded);

#endif
