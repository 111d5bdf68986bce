/* JSON output helpers on top of cJSON. */
#ifndef DF_JSON_H
#define DF_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "mem.h"

/* Adds an integer member. cJSON 1.7.15 prints every number through
 * sprintf("%1.15g") and checks it back with sscanf, a large share of a
 * catalog answer's CPU; an integer needs neither. Returns the item, or
 * NULL when out of memory (as cJSON's own adders do). */
cJSON *json_add_int(cJSON *o, const char *key, long long v);

/* ids[0..n) as the JSON array text "[1,2,3]" in arena a, for a statement
 * that binds a list of ids as one JSON_TABLE argument (db.h). */
const char *json_ids(struct arena *a, const long long *ids, size_t n);

#endif
