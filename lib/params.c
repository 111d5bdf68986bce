#include "params.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void params_init(struct params *p) {
    p->head = p->tail = NULL;
    p->count = 0;
}

void params_add(struct arena *a, struct params *p, const char *key, size_t klen, const char *val, size_t vlen) {
    struct param *e = arena_alloc(a, sizeof(*e));
    e->key = arena_strndup(a, key, klen);
    e->val = arena_strndup(a, val, vlen);
    e->val_len = vlen;
    e->next = NULL;
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    p->count++;
}

const char *params_get(const struct params *p, const char *key) {
    for (const struct param *e = p->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->val;
    return NULL;
}

size_t params_get_all(const struct params *p, const char *key, const char **out, size_t max) {
    size_t n = 0;
    for (const struct param *e = p->head; e && n < max; e = e->next)
        if (strcmp(e->key, key) == 0)
            out[n++] = e->val;
    return n;
}

int utf8_valid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        size_t n;
        unsigned int cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and values past U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Decodes one form component into the arena; -1 when the result is not
 * text we can carry (NUL byte or invalid UTF-8). */
static int form_decode(struct arena *a, const char *s, size_t len, const char **out, size_t *outlen) {
    char *tmp = arena_strndup(a, s, len);
    for (size_t i = 0; i < len; i++)
        if (tmp[i] == '+')
            tmp[i] = ' ';
    if (!memchr(tmp, '%', len)) {
        /* a raw NUL byte is refused like an escaped one */
        if (memchr(tmp, '\0', len) || !utf8_valid(tmp, len))
            return -1;
        *out = tmp;
        *outlen = len;
        return 0;
    }
    int n = 0;
    char *dec = curl_easy_unescape(NULL, tmp, (int)len, &n);
    if (!dec)
        return -1;
    int ok = n >= 0 && memchr(dec, '\0', (size_t)n) == NULL && utf8_valid(dec, (size_t)n);
    if (ok) {
        *out = arena_strndup(a, dec, (size_t)n);
        *outlen = (size_t)n;
    }
    curl_free(dec);
    return ok ? 0 : -1;
}

int form_parse(struct arena *a, struct params *p, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t kend = eq ? (size_t)(eq - s) : end;
            const char *k, *v = "";
            size_t kl, vl = 0;
            if (p->count >= PARAMS_MAX)
                return -1;
            if (form_decode(a, s + i, kend - i, &k, &kl) < 0)
                return -1;
            if (eq && form_decode(a, eq + 1, end - kend - 1, &v, &vl) < 0)
                return -1;
            if (kl > 0)
                params_add(a, p, k, kl, v, vl);
        }
        i = end + 1;
    }
    return 0;
}

int cookie_parse(struct arena *a, struct params *p, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        const char *semi = memchr(s + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - s) : len;
        size_t ks = i;
        while (ks < end && (s[ks] == ' ' || s[ks] == '\t'))
            ks++;
        const char *eq = memchr(s + ks, '=', end - ks);
        if (eq) {
            size_t kend = (size_t)(eq - s);
            size_t vs = kend + 1, ve = end;
            while (kend > ks && (s[kend - 1] == ' ' || s[kend - 1] == '\t'))
                kend--;
            while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
                vs++;
            while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
                ve--;
            if (ve - vs >= 2 && s[vs] == '"' && s[ve - 1] == '"') {
                vs++;
                ve--;
            }
            if (kend > ks && !memchr(s + ks, '\0', end - ks)) {
                if (p->count >= PARAMS_MAX)
                    return -1;
                params_add(a, p, s + ks, kend - ks, s + vs, ve - vs);
            }
        }
        i = end + 1;
    }
    return 0;
}

static int json_scalar(struct arena *a, const cJSON *v, const char **out) {
    if (cJSON_IsString(v)) {
        if (!utf8_valid(v->valuestring, strlen(v->valuestring)))
            return -1;
        *out = arena_strdup(a, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? "true" : "false";
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d))
            return -1;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            *out = arena_printf(a, "%lld", (long long)d);
        else
            *out = arena_printf(a, "%.17g", d);
    } else {
        return 1; /* not a scalar: skipped */
    }
    return 0;
}

/* key=v when v is a scalar (anything else is skipped); -1 when v cannot be
 * carried or the map is full. */
static int add_json_scalar(struct arena *a, struct params *p, const char *key, const cJSON *v) {
    const char *val;
    int rc = json_scalar(a, v, &val);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (p->count >= PARAMS_MAX)
        return -1;
    params_add(a, p, key, strlen(key), val, strlen(val));
    return 0;
}

static void json_delete(void *root) {
    cJSON_Delete(root);
}

/* A NUL byte, raw or escaped as \u0000, would silently cut a string short in
 * cJSON's NUL-terminated copy ("ab\u0000cd" read as "ab"): refused, like a
 * NUL byte in a form. */
static int json_has_nul(const char *s, size_t len) {
    if (memchr(s, '\0', len))
        return 1;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* the escaped character: "\\u0000" is a backslash, then text */
    }
    return 0;
}

int json_params_parse(struct arena *a, struct params *p, const char *s, size_t len) {
    const char *end = NULL;
    if (json_has_nul(s, len))
        return -1;
    cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!root)
        return -1;
    arena_defer(a, json_delete, root);
    while (end && end < s + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (!cJSON_IsObject(root) || end != s + len) /* one object, nothing after it */
        return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (!item->string)
            continue;
        if (cJSON_IsArray(item)) {
            const cJSON *el;
            cJSON_ArrayForEach(el, item) {
                if (add_json_scalar(a, p, item->string, el) < 0)
                    return -1;
            }
        } else if (add_json_scalar(a, p, item->string, item) < 0) {
            return -1;
        }
    }
    return 0;
}
