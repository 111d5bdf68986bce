#include "validate.h"

#include <string.h>
#include <strings.h>

#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define DOMAIN_LABEL_MAX 63

size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) /* not a continuation byte */
            n++;
    return n;
}

static int is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int digits(const char *s, size_t n) {
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int valid_username(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n < 5 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static int email_local_ok(const char *s, size_t n) {
    if (n == 0 || n > EMAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && s[i + 1] == '.')
            return 0;
        if (!is_alnum(s[i]) && !strchr("!#$%&'*+/=?^_`{|}~.-", s[i]))
            return 0;
    }
    return 1;
}

static int email_domain_ok(const char *s) {
    size_t labels = 0;
    const char *label = s;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t n = dot ? (size_t)(dot - label) : strlen(label);
        if (n == 0 || n > DOMAIN_LABEL_MAX || label[0] == '-' || label[n - 1] == '-')
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!is_alnum(label[i]) && label[i] != '-')
                return 0;
        labels++;
        if (!dot)
            break;
        label = dot + 1;
    }
    /* the top-level domain: letters only, at least two */
    if (labels < 2 || strlen(label) < 2)
        return 0;
    for (const char *p = label; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

int valid_email(const char *s) {
    if (!s || strlen(s) > EMAIL_MAX)
        return 0;
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return 0;
    return email_local_ok(s, (size_t)(at - s)) && email_domain_ok(at + 1);
}

int valid_phone(const char *s) {
    return digits(s, 11) && s[0] == '1';
}

int valid_zip(const char *s) {
    return digits(s, 6);
}

int is_truthy(const char *s) {
    return s && (strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0);
}
