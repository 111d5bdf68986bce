#include "json.h"

#include <stdio.h>

cJSON *json_add_int(cJSON *o, const char *key, long long v) {
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    return cJSON_AddRawToObject(o, key, buf);
}

const char *json_ids(struct arena *a, const long long *ids, size_t n) {
    size_t cap = n * 21 + 3, len = 0; /* 20 characters a long long, a comma each, the brackets, NUL */
    char *s = arena_alloc(a, cap);
    s[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", ids[i]);
    s[len++] = ']';
    s[len] = '\0';
    return s;
}
