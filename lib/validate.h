/* Checks on what users type into the shop's forms. Pure functions over
 * NUL-terminated strings (NULL is never valid); 1 valid, 0 not. */
#ifndef DF_VALIDATE_H
#define DF_VALIDATE_H

#include <stddef.h>

/* Characters, not bytes, of valid UTF-8 text (columns count characters). */
size_t utf8_chars(const char *s);
/* 5-20 of [A-Za-z0-9_]. */
int valid_username(const char *s);
/* local@domain.tld within the 254 characters of df_user.email. */
int valid_email(const char *s);
/* Mainland mobile number: 11 digits, the first one 1. */
int valid_phone(const char *s);
/* Postal code: 6 digits. */
int valid_zip(const char *s);
/* A ticked checkbox or a true flag: "on", "1" or "true" (any case). */
int is_truthy(const char *s);

#endif
