/* JSON output helpers on top of cJSON. */
#ifndef DF_JSON_H
#define DF_JSON_H

#include <cjson/cJSON.h>

/* Adds an integer member. cJSON 1.7.15 prints every number through
 * sprintf("%1.15g") and checks it back with sscanf, a large share of a
 * catalog answer's CPU; an integer needs neither. Returns the item, or
 * NULL when out of memory (as cJSON's own adders do). */
cJSON *json_add_int(cJSON *o, const char *key, long long v);

#endif
