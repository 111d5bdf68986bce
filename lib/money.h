/* Money as integer cents: DECIMAL(10,2) columns arrive as text ("12.80")
 * and are summed and multiplied exactly, never through floating point. */
#ifndef DF_MONEY_H
#define DF_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define MONEY_STR_MAX 24 /* "-92233720368547758.08" and a NUL */
#define MONEY_COLUMN_MAX 9999999999LL /* cents: the largest DECIMAL(10,2), 99999999.99 */

/* Strict: digits, optionally '.' and one or two digits ("12", "12.8",
 * "12.80"); an optional leading '-'. No spaces, no exponent. 0 or -1. */
int money_parse(const char *s, int64_t *cents);
/* Always two decimals: 1280 -> "12.80", -5 -> "-0.05". */
void money_format(int64_t cents, char out[MONEY_STR_MAX]);
/* price x count and running sums; -1 on overflow, *out untouched. */
int money_mul(int64_t cents, int64_t count, int64_t *out);
int money_add(int64_t a, int64_t b, int64_t *out);

#endif
