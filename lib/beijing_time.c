/* Civil dates to and from days since 1970-01-01 on the proleptic Gregorian
 * calendar (H. Hinnant's algorithms), shifted by Beijing's fixed +8 h. */
#include "beijing_time.h"

#include <stdio.h>
#include <string.h>

#define BJ_OFFSET (8 * 3600LL)

static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = y / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
    z += 719468;
    long long era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(long long y, unsigned m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at s as a number; -1 when one is not a digit */
static long long digits(const char *s, int n) {
    long long v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int parse_seconds(const char *s, size_t len, long long *t) {
    if (len < 1 || len > 12)
        return -1;
    long long v = digits(s, (int)len);
    if (v < 0 || v > BJ_TIME_MAX)
        return -1;
    *t = v;
    return 0;
}

static int parse_text(const char *s, long long *t) {
    if (s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return -1;
    long long y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    long long h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return -1;
    long long v = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - BJ_OFFSET;
    if (v < 0)
        return -1;
    *t = v;
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
    long long local = t + BJ_OFFSET, y;
    long long days = local / 86400, secs = local % 86400;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char text[64]; /* room for any long long, though t in range needs 19 */
    snprintf(text, sizeof(text), "%04lld-%02u-%02u %02lld:%02lld:%02lld", y, m, d, secs / 3600, secs / 60 % 60,
             secs % 60);
    memcpy(out, text, BJ_TIME_TEXT_LEN - 1);
    out[BJ_TIME_TEXT_LEN - 1] = '\0';
}
