#include "json.h"

#include <stdio.h>

cJSON *json_add_int(cJSON *o, const char *key, long long v) {
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    return cJSON_AddRawToObject(o, key, buf);
}
