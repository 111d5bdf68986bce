/* Beijing wall-clock time is UTC shifted by a fixed 8 h, so the C library's
 * UTC calendar (timegm, gmtime_r) does the work with no TZ or locale. */
#include "beijing_time.h"

#include <string.h>
#include <time.h>

#define BJ_OFFSET (8 * 3600LL)

static int parse_seconds(const char *s, size_t len, long long *t) {
    if (len < 1 || len > 12 || strspn(s, "0123456789") != len)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    if (v > BJ_TIME_MAX)
        return -1;
    *t = v;
    return 0;
}

static int same_time(const struct tm *a, const struct tm *b) {
    return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
           a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

static int parse_text(const char *s, long long *t) {
    /* strptime also takes one-digit fields and blanks: the exact shape first */
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
            return -1;
    struct tm tm = {0}, back;
    const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || *end || tm.tm_year < 70)
        return -1;
    struct tm want = tm;
    time_t v = timegm(&tm);
    /* timegm carries 02-30 into March and :60 into the next minute: a time
     * that does not come back the same did not exist */
    if (!gmtime_r(&v, &back) || !same_time(&back, &want) || v - BJ_OFFSET < 0)
        return -1;
    *t = (long long)v - BJ_OFFSET;
    return 0;
}

int bj_time_parse(const char *s, long long *t) {
    if (!s)
        return -1;
    size_t len = strlen(s);
    if (len == BJ_TIME_TEXT_LEN - 1)
        return parse_text(s, t);
    return parse_seconds(s, len, t);
}

void bj_time_format(long long t, char out[BJ_TIME_TEXT_LEN]) {
    time_t local = (time_t)(t + BJ_OFFSET);
    struct tm tm;
    if (t < 0 || t > BJ_TIME_MAX || !gmtime_r(&local, &tm) ||
        strftime(out, BJ_TIME_TEXT_LEN, "%Y-%m-%d %H:%M:%S", &tm) != BJ_TIME_TEXT_LEN - 1)
        strcpy(out, "0000-00-00 00:00:00"); /* outside the documented range */
}
