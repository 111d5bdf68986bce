/* Request parameters: query strings, form bodies, JSON bodies and cookies all
 * become one ordered multi-map of NUL-terminated strings living in the
 * request's arena. Parsers return 0, or -1 for input that cannot be read
 * (the caller answers 400). */
#ifndef DF_PARAMS_H
#define DF_PARAMS_H

#include <stddef.h>

#include "mem.h"

#define PARAMS_MAX 256 /* more pairs than this is not a shop form */

struct param {
    const char *key;
    const char *val;
    size_t val_len;
    struct param *next;
};

struct params {
    struct param *head, *tail;
    size_t count;
};

void params_init(struct params *p);
void params_add(struct arena *a, struct params *p, const char *key, size_t klen, const char *val, size_t vlen);
const char *params_get(const struct params *p, const char *key);
/* Every value of key, in order; returns how many were stored in out. */
size_t params_get_all(const struct params *p, const char *key, const char **out, size_t max);

/* application/x-www-form-urlencoded (and query strings): '+' is a space,
 * %XX escapes are decoded; decoded text must be valid UTF-8 without NUL. */
int form_parse(struct arena *a, struct params *p, const char *s, size_t len);
/* Cookie header: "a=b; c=d"; values are taken as sent (optionally quoted). */
int cookie_parse(struct arena *a, struct params *p, const char *s, size_t len);
/* A JSON object: strings as they are, numbers in their shortest exact form,
 * booleans as "true"/"false", arrays of scalars as repeated keys; null and
 * nested objects are skipped. Anything but an object is -1. */
int json_params_parse(struct arena *a, struct params *p, const char *s, size_t len);

int utf8_valid(const char *s, size_t len);

#endif
