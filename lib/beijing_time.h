/* Instants as staff type them: Unix seconds, or a wall-clock time in
 * Beijing (UTC+8 all year: China has had no daylight saving since 1991).
 * Pure functions, no locale or TZ involved (the C library's UTC calendar). */
#ifndef DF_BEIJING_TIME_H
#define DF_BEIJING_TIME_H

#define BJ_TIME_TEXT_LEN 20           /* "YYYY-MM-DD HH:MM:SS" and a NUL */
#define BJ_TIME_MAX 253402271999LL    /* 9999-12-31 23:59:59 in Beijing */

/* s is either 1-12 decimal digits (Unix seconds, 0..BJ_TIME_MAX) or exactly
 * "YYYY-MM-DD HH:MM:SS" (a real date of the years 1970-9999, Beijing time,
 * not before 1970-01-01 08:00:00, the epoch). 0 and *t set, or -1 (*t untouched). */
int bj_time_parse(const char *s, long long *t);
/* t (0..BJ_TIME_MAX) as "YYYY-MM-DD HH:MM:SS" in Beijing time. */
void bj_time_format(long long t, char out[BJ_TIME_TEXT_LEN]);

#endif
