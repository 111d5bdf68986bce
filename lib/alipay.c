/* Alipay RSA2: key loading, signing, the string-to-sign, signed queries,
 * verification of gateway answers and notifies, and trade query verdicts
 * (../docs/payment.md). */
#include "alipay.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "mem.h"
#include "money.h"

/* A key file is a few KB at most; anything far larger is the wrong file. */
#define KEY_FILE_MAX (64 * 1024)
#define RSA_MIN_BITS 2048

/* ---- a growable string ------------------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = xmalloc(cap);
        if (b->len)
            memcpy(p, b->p, b->len);
        free(b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s) {
    sb_add(b, s, strlen(s));
}

/* ---- base64 ------------------------------------------------------------ */

static int is_b64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Strict standard base64 with padding. EVP_DecodeBlock alone would skip
 * surrounding whitespace and count '=' as data, so the input is checked
 * first and the padding subtracted. NULL when s is not base64. */
static unsigned char *b64_decode(const char *s, size_t *outlen) {
    size_t n = strlen(s);
    if (n == 0 || n % 4 || n > INT_MAX / 2)
        return NULL;
    size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++)
        if (!is_b64((unsigned char)s[i]))
            return NULL;
    unsigned char *out = xmalloc(n / 4 * 3);
    int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (r < 0 || (size_t)r != n / 4 * 3) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)r - pad;
    return out;
}

static char *b64_encode(const unsigned char *p, size_t n) {
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* ---- keys -------------------------------------------------------------- */

/* Alipay's console shows keys as bare base64 without the PEM armour. */
static int looks_bare_b64(const char *s, size_t n) {
    if (n < 64)
        return 0;
    size_t i = 0;
    while (i < n && is_b64((unsigned char)s[i]))
        i++;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

static char *pem_wrap(const char *b64, size_t n, const char *label) {
    struct sbuf b = {0};
    sb_adds(&b, "-----BEGIN ");
    sb_adds(&b, label);
    sb_adds(&b, "-----\n");
    for (size_t i = 0; i < n; i += 64) {
        sb_add(&b, b64 + i, n - i < 64 ? n - i : 64);
        sb_add(&b, "\n", 1);
    }
    sb_adds(&b, "-----END ");
    sb_adds(&b, label);
    sb_adds(&b, "-----\n");
    return b.p;
}

/* The whole file, NUL-terminated, or NULL with the reason in err. */
static char *read_key_file(const char *what, const char *path, size_t *len, char *err, size_t errlen) {
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        goto out;
    }
    data = xmalloc(KEY_FILE_MAX + 1);
    size_t n = fread(data, 1, KEY_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    } else if (n == 0) {
        snprintf(err, errlen, "%s %s: empty file", what, path);
    } else if (n > KEY_FILE_MAX) {
        snprintf(err, errlen, "%s %s: larger than %d bytes, not a key file", what, path, KEY_FILE_MAX);
    } else {
        data[n] = '\0';
        *len = n;
        goto out;
    }
    free(data);
    data = NULL;
out:
    if (f)
        fclose(f);
    return data;
}

/* A passphrase prompt would block a server at start-up: refuse instead,
 * and remember that a passphrase was asked for so the error can say so. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    *(int *)u = 1;
    return -1;
}

/* Reads one key from PEM text: pem_private or pem_public. */
typedef EVP_PKEY *pem_reader(const char *pem, int *encrypted);

static EVP_PKEY *pem_private(const char *pem, int *encrypted) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, encrypted) : NULL;
    BIO_free(bio);
    return k;
}

static EVP_PKEY *pem_public(const char *pem, int *encrypted) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return k;
}

/* Only RSA of 2048 bits or more: that is what RSA2 means. Takes k. */
static EVP_PKEY *check_rsa(EVP_PKEY *k, const char *what, const char *where, char *err, size_t errlen) {
    if (!EVP_PKEY_is_a(k, "RSA")) {
        snprintf(err, errlen, "%s %s: a %s key, not RSA", what, where, EVP_PKEY_get0_type_name(k));
        EVP_PKEY_free(k);
        return NULL;
    }
    if (EVP_PKEY_get_bits(k) < RSA_MIN_BITS) {
        snprintf(err, errlen, "%s %s: RSA key of %d bits, RSA2 needs at least %d", what, where, EVP_PKEY_get_bits(k),
                 RSA_MIN_BITS);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

/* Surrounding whitespace (a trailing newline in a file) is not part of a key. */
static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *trim(const char *s, size_t *n) {
    while (*n && is_space(s[0])) {
        s++;
        (*n)--;
    }
    while (*n && is_space(s[*n - 1]))
        (*n)--;
    return s;
}

/* A key from PEM text, or from the bare base64 the console shows, armoured
 * with each of labels (NULL-terminated) in turn until one reads. */
static EVP_PKEY *key_from_text(const char *text, size_t len, pem_reader *read, const char *const *labels,
                               int *encrypted) {
    EVP_PKEY *k = NULL;
    size_t n = len;
    const char *body = trim(text, &n);
    if (strstr(text, "-----BEGIN"))
        return read(text, encrypted);
    if (!looks_bare_b64(body, n))
        return NULL;
    for (size_t i = 0; !k && labels[i]; i++) {
        char *pem = pem_wrap(body, n, labels[i]);
        k = read(pem, encrypted);
        free(pem);
    }
    return k;
}

/* the console's one-line private key: PKCS#8, or PKCS#1 ("non-Java") */
static const char *const private_labels[] = {"PRIVATE KEY", "RSA PRIVATE KEY", NULL};
static const char *const public_labels[] = {"PUBLIC KEY", NULL};

/* k when it is an RSA2 key, else NULL with the reason in err (unreadable
 * when there is no k at all). Takes k. */
static EVP_PKEY *usable_key(EVP_PKEY *k, const char *what, const char *where, const char *unreadable, char *err,
                            size_t errlen) {
    if (!k) {
        snprintf(err, errlen, "%s %s: %s", what, where, unreadable);
        return NULL;
    }
    return check_rsa(k, what, where, err, errlen);
}

EVP_PKEY *alipay_load_private_key(const char *path, char *err, size_t errlen) {
    static const char what[] = "alipay app private key";
    EVP_PKEY *k = NULL;
    size_t len = 0;
    int encrypted = 0;
    char *data = read_key_file(what, path, &len, err, errlen);
    if (data) {
        EVP_PKEY *read = key_from_text(data, len, pem_private, private_labels, &encrypted);
        k = usable_key(read, what, path,
                       encrypted ? "encrypted with a passphrase, which is not supported"
                                 : "not a PEM private key (PKCS#8 or PKCS#1)",
                       err, errlen);
    }
    /* a failed parse leaves errors queued for this thread; they would
     * confuse the next OpenSSL caller (TLS) that looks at the queue */
    ERR_clear_error();
    free(data);
    return k;
}

static EVP_PKEY *public_from_text(const char *text, size_t len) {
    int encrypted = 0;
    return key_from_text(text, len, pem_public, public_labels, &encrypted);
}

EVP_PKEY *alipay_load_public_key(const char *path_or_base64, char *err, size_t errlen) {
    static const char what[] = "alipay public key";
    EVP_PKEY *k = NULL;
    char *data = NULL;
    char where[64];
    size_t len = strlen(path_or_base64);
    /* the console's base64 is taken as such only when no file has that
     * name, so an existing key file is never read as a key string */
    if (looks_bare_b64(path_or_base64, len) && access(path_or_base64, F_OK) != 0) {
        /* the key itself stays out of the error line; its length is enough
         * to tell which setting was meant */
        snprintf(where, sizeof(where), "(bare base64, %zu characters)", len);
        k = usable_key(public_from_text(path_or_base64, len), what, where,
                       "not the base64 of an X.509 SubjectPublicKeyInfo", err, errlen);
    } else if ((data = read_key_file(what, path_or_base64, &len, err, errlen))) {
        k = usable_key(public_from_text(data, len), what, path_or_base64,
                       "not a PEM public key (X.509 SubjectPublicKeyInfo)", err, errlen);
    }
    ERR_clear_error();
    free(data);
    return k;
}

/* ---- RSA2 -------------------------------------------------------------- */

char *alipay_sign_rsa2(EVP_PKEY *key, const char *data, size_t len) {
    char *out = NULL;
    unsigned char *sig = NULL;
    EVP_MD_CTX *ctx = NULL;
    int size = key ? EVP_PKEY_get_size(key) : 0;
    if (size <= 0)
        goto out;
    size_t siglen = (size_t)size;
    sig = xmalloc(siglen);
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
        goto out;
    out = b64_encode(sig, siglen);
out:
    if (!out)
        ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    free(sig);
    return out;
}

int alipay_verify_rsa2(EVP_PKEY *key, const char *data, size_t len, const char *sign_b64) {
    int ok = 0;
    size_t siglen = 0;
    EVP_MD_CTX *ctx = NULL;
    unsigned char *sig = key && sign_b64 ? b64_decode(sign_b64, &siglen) : NULL;
    /* an RSA signature is exactly the modulus size; anything else is not one */
    if (!sig || siglen != (size_t)EVP_PKEY_get_size(key))
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto out;
    ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, len) == 1;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    free(sig);
    return ok;
}

/* ---- the string-to-sign -------------------------------------------------- */

static int param_cmp(const void *a, const void *b) {
    const struct alipay_param *x = *(const struct alipay_param *const *)a;
    const struct alipay_param *y = *(const struct alipay_param *const *)b;
    return strcmp(x->key, y->key);
}

static const char *val(const struct alipay_param *p) {
    return p->value ? p->value : "";
}

/* The parameters that are signed, sorted by key; *k of them (malloc'd). */
static const struct alipay_param **signed_params(const struct alipay_param *p, size_t n, int for_notify, size_t *k) {
    const struct alipay_param **v = xmalloc((n ? n : 1) * sizeof(*v));
    *k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].key || !strcmp(p[i].key, "sign"))
            continue;
        if (for_notify ? !strcmp(p[i].key, "sign_type") : !*val(&p[i]))
            continue;
        v[(*k)++] = &p[i];
    }
    qsort(v, *k, sizeof(*v), param_cmp);
    return v;
}

static char *join_raw(const struct alipay_param **v, size_t k) {
    struct sbuf b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < k; i++) {
        if (i)
            sb_add(&b, "&", 1);
        sb_adds(&b, v[i]->key);
        sb_add(&b, "=", 1);
        sb_adds(&b, val(v[i]));
    }
    return b.p;
}

char *alipay_sign_string(const struct alipay_param *p, size_t n, int for_notify) {
    size_t k;
    const struct alipay_param **v = signed_params(p, n, for_notify, &k);
    char *s = join_raw(v, k);
    free(v);
    return s;
}

/* Python's urllib.parse.quote_plus(s) with safe='': curl keeps exactly the
 * same unreserved set (A-Za-z0-9-._~) and writes uppercase hex, so only the
 * space differs ("%20" there, '+' here). */
static int add_quote_plus(struct sbuf *b, const char *s) {
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return -1;
    for (const char *q = e; *q; q++) {
        if (q[0] == '%' && q[1] == '2' && q[2] == '0') {
            sb_add(b, "+", 1);
            q += 2;
        } else {
            sb_add(b, q, 1);
        }
    }
    curl_free(e);
    return 0;
}

char *alipay_signed_query(EVP_PKEY *app_key, const struct alipay_param *p, size_t n) {
    struct sbuf b = {0};
    char *sign = NULL, *ret = NULL;
    size_t k;
    const struct alipay_param **v = signed_params(p, n, 0, &k);
    char *s = join_raw(v, k);
    sign = alipay_sign_rsa2(app_key, s, strlen(s));
    if (!sign)
        goto out;
    for (size_t i = 0; i < k; i++) {
        if (i)
            sb_add(&b, "&", 1);
        sb_adds(&b, v[i]->key);
        sb_add(&b, "=", 1);
        if (add_quote_plus(&b, val(v[i])) < 0)
            goto out;
    }
    sb_adds(&b, "&sign=");
    if (add_quote_plus(&b, sign) < 0)
        goto out;
    ret = b.p;
    b.p = NULL;
out:
    free(b.p);
    free(sign);
    free(s);
    free(v);
    return ret;
}

/* ---- gateway answers --------------------------------------------------- */

/* White space as cJSON skips it (every byte up to ' ', NUL and control
 * characters too), so that the span is found in the object cJSON parsed,
 * never in bytes cJSON took for white space or left unread after it. */
static size_t skip_ws(const char *s, size_t i, size_t len) {
    while (i < len && (unsigned char)s[i] <= ' ')
        i++;
    return i;
}

/* i is at an opening '"': the index just past the closing one, or len. */
static size_t skip_string(const char *s, size_t i, size_t len) {
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* i is at '{' or '[': the index just past the matching close, or 0. */
static size_t skip_nested(const char *s, size_t i, size_t len) {
    size_t depth = 0;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, i, len);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return 0;
}

/* Only keys of the top-level object are looked at, so the key's text inside
 * a string value (a sub_msg, say) or a nested object is never taken for it. */
const char *alipay_response_span(const char *body, size_t len, const char *method, size_t *span_len) {
    const char *ret = NULL;
    size_t mlen = strlen(method);
    char *key = xmalloc(mlen + sizeof("_response"));
    for (size_t i = 0; i < mlen; i++)
        key[i] = method[i] == '.' ? '_' : method[i];
    memcpy(key + mlen, "_response", sizeof("_response"));
    size_t klen = strlen(key);

    size_t i = skip_ws(body, 0, len);
    if (i >= len || body[i] != '{')
        goto out;
    i++;
    for (;;) {
        i = skip_ws(body, i, len);
        if (i >= len || body[i] != '"')
            goto out;
        size_t kstart = i + 1;
        i = skip_string(body, i, len);
        if (i >= len)
            goto out;
        size_t kend = i - 1;
        i = skip_ws(body, i, len);
        if (i >= len || body[i] != ':')
            goto out;
        i = skip_ws(body, i + 1, len);
        if (i >= len)
            goto out;
        int match = kend - kstart == klen && !memcmp(body + kstart, key, klen);
        if (body[i] == '{' || body[i] == '[') {
            size_t end = skip_nested(body, i, len);
            if (!end)
                goto out;
            if (match && body[i] == '{') {
                ret = body + i;
                *span_len = end - i;
                goto out;
            }
            i = end;
        } else if (match) {
            goto out; /* the key holds no object */
        } else if (body[i] == '"') {
            i = skip_string(body, i, len);
        } else {
            while (i < len && body[i] != ',' && body[i] != '}')
                i++;
        }
        i = skip_ws(body, i, len);
        if (i >= len || body[i] != ',')
            goto out;
        i++;
    }
out:
    free(key);
    return ret;
}

enum alipay_verdict alipay_verify_response(EVP_PKEY *alipay_key, const char *body, size_t len, const char *method,
                                           cJSON **resp) {
    enum alipay_verdict v = ALIPAY_MALFORMED;
    cJSON *obj = NULL;
    size_t span_len = 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root))
        goto out;
    cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error_response");
    if (error) {
        /* gateway errors come unsigned: only code/sub_code may be read */
        if (cJSON_IsObject(error))
            obj = cJSON_DetachItemViaPointer(root, error);
        v = ALIPAY_ERROR;
        goto out;
    }
    const char *span = alipay_response_span(body, len, method, &span_len);
    if (!span)
        goto out;
    cJSON *sign = cJSON_GetObjectItemCaseSensitive(root, "sign");
    if (!cJSON_IsString(sign) || !sign->valuestring) {
        obj = cJSON_ParseWithLength(span, span_len);
        v = ALIPAY_ERROR;
        goto out;
    }
    /* the sign is read through the JSON parser ("\/" is '/'), while the
     * signed bytes are the response object exactly as it was received */
    if (!alipay_verify_rsa2(alipay_key, span, span_len, sign->valuestring)) {
        v = ALIPAY_BAD_SIGN;
        goto out;
    }
    obj = cJSON_ParseWithLength(span, span_len);
    v = cJSON_IsObject(obj) ? ALIPAY_OK : ALIPAY_MALFORMED;
out:
    if (v != ALIPAY_OK && v != ALIPAY_ERROR) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    if (resp)
        *resp = obj;
    else
        cJSON_Delete(obj);
    cJSON_Delete(root);
    return v;
}

int alipay_verify_notify(EVP_PKEY *alipay_key, const struct alipay_param *p, size_t n) {
    int ok = 0;
    const char *sign = NULL, *sign_type = NULL;
    char *s = NULL;
    size_t k = 0;
    const struct alipay_param **v = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].key)
            continue;
        if (!strcmp(p[i].key, "sign")) {
            if (sign)
                goto out;
            sign = val(&p[i]);
        } else if (!strcmp(p[i].key, "sign_type")) {
            if (sign_type)
                goto out;
            sign_type = val(&p[i]);
        }
    }
    if (!sign || !sign_type || strcmp(sign_type, "RSA2"))
        goto out;
    v = signed_params(p, n, 1, &k);
    /* a repeated field has no defined place in the sorted string */
    for (size_t i = 1; i < k; i++)
        if (!strcmp(v[i - 1]->key, v[i]->key))
            goto out;
    s = join_raw(v, k);
    ok = alipay_verify_rsa2(alipay_key, s, strlen(s), sign);
out:
    free(s);
    free(v);
    return ok;
}

/* ---- the common parameters, amounts ----------------------------------------- */

size_t alipay_common_params(const struct df_config *c, struct alipay_param *p, const char *method,
                            const char *biz_content, char *timestamp) {
    /* Alipay wants Beijing time, whatever the server's zone */
    time_t now = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(timestamp, 20, "%Y-%m-%d %H:%M:%S", &tm);
    size_t n = 0;
    p[n++] = (struct alipay_param){"app_id", c->alipay_app_id};
    p[n++] = (struct alipay_param){"method", method};
    p[n++] = (struct alipay_param){"charset", "utf-8"};
    p[n++] = (struct alipay_param){"sign_type", "RSA2"};
    p[n++] = (struct alipay_param){"timestamp", timestamp};
    p[n++] = (struct alipay_param){"version", "1.0"};
    p[n++] = (struct alipay_param){"biz_content", biz_content};
    return n;
}

int alipay_amount(const char *s, int64_t *cents) {
    size_t len = s ? strlen(s) : 0;
    if (len < 4 || s[len - 3] != '.' || s[0] == '-')
        return -1;
    return money_parse(s, cents);
}

/* ---- trade queries -------------------------------------------------------- */

#define TRADE_QUERY "alipay.trade.query"

__attribute__((format(printf, 3, 4))) static enum alipay_trade judged(struct alipay_trade_result *t,
                                                                      enum alipay_trade trade, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof(t->why), fmt, ap);
    va_end(ap);
    return t->trade = trade;
}

static const char *member(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* TRADE_SUCCESS / TRADE_FINISHED: paid, if of the amount asked. */
static enum alipay_trade judge_paid(const cJSON *resp, int64_t amount, struct alipay_trade_result *t) {
    const char *total = member(resp, "total_amount"), *trade_no = member(resp, "trade_no");
    int64_t cents = -1;
    if (!total || alipay_amount(total, &cents) < 0)
        cents = -1;
    t->amount = cents;
    if (cents < 0 || cents != amount || !trade_no || !*trade_no || strlen(trade_no) > ALIPAY_TRADE_NO_MAX)
        return judged(t, ALIPAY_TRADE_WRONG_AMOUNT, "paid %s, but the order is %lld cents: refused",
                      total ? total : "-", (long long)amount);
    snprintf(t->trade_no, sizeof(t->trade_no), "%s", trade_no);
    return t->trade = ALIPAY_TRADE_PAID;
}

/* A verified answer (or an unsigned error) read for what it says. */
static enum alipay_trade judge_response(enum alipay_verdict av, const cJSON *resp, long http_status,
                                        const char *out_trade_no, int64_t amount, struct alipay_trade_result *t) {
    if (av == ALIPAY_BAD_SIGN || av == ALIPAY_MALFORMED)
        return judged(t, av == ALIPAY_BAD_SIGN ? ALIPAY_TRADE_BAD_SIGN : ALIPAY_TRADE_ERROR,
                      "gateway answer (HTTP %ld) %s: refused", http_status,
                      av == ALIPAY_BAD_SIGN ? "with a bad signature" : "unreadable");
    const char *code = member(resp, "code"), *sub = member(resp, "sub_code");
    if (av == ALIPAY_ERROR || !code)
        return judged(t, ALIPAY_TRADE_ERROR, "gateway error %s %s", code ? code : "-", sub ? sub : "");
    if (strcmp(code, "40004") == 0 && sub && strcmp(sub, "ACQ.TRADE_NOT_EXIST") == 0)
        return t->trade = ALIPAY_TRADE_NOT_EXIST;
    if (strcmp(code, "10000") != 0)
        return judged(t, ALIPAY_TRADE_ERROR, "gateway answered %s %s", code, sub ? sub : "");
    const char *status = member(resp, "trade_status"), *out_no = member(resp, "out_trade_no");
    if (!status || !out_no || strcmp(out_no, out_trade_no) != 0)
        return judged(t, ALIPAY_TRADE_ERROR, "the answer is about another trade");
    if (strcmp(status, "WAIT_BUYER_PAY") == 0)
        return t->trade = ALIPAY_TRADE_WAITING;
    if (strcmp(status, "TRADE_SUCCESS") == 0 || strcmp(status, "TRADE_FINISHED") == 0)
        return judge_paid(resp, amount, t);
    return judged(t, strcmp(status, "TRADE_CLOSED") == 0 ? ALIPAY_TRADE_CLOSED : ALIPAY_TRADE_ERROR, "trade %s",
                  status);
}

static void trade_result_init(struct alipay_trade_result *t) {
    t->trade = ALIPAY_TRADE_ERROR;
    t->trade_no[0] = '\0';
    t->amount = -1;
    t->why[0] = '\0';
}

enum alipay_trade alipay_trade_answer(EVP_PKEY *alipay_key, const char *body, size_t len, long http_status,
                                      const char *out_trade_no, int64_t amount, struct alipay_trade_result *t) {
    cJSON *resp = NULL;
    trade_result_init(t);
    enum alipay_verdict av = alipay_verify_response(alipay_key, body, len, TRADE_QUERY, &resp);
    judge_response(av, resp, http_status, out_trade_no, amount, t);
    cJSON_Delete(resp);
    return t->trade;
}

enum alipay_trade alipay_trade_query(const struct df_config *c, const struct alipay_keys *k, const char *out_trade_no,
                                     int64_t amount, struct alipay_trade_result *t) {
    struct alipay_param p[8];
    struct http_answer a = {0};
    char ts[20], err[256], *query = NULL;
    trade_result_init(t);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "out_trade_no", out_trade_no);
    char *biz = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    size_t n = alipay_common_params(c, p, TRADE_QUERY, biz, ts);
    if (!biz || !(query = alipay_signed_query(k->app_key, p, n)))
        judged(t, ALIPAY_TRADE_ERROR, "cannot sign the query");
    else if (http_post_form(c->alipay_gateway, query, c->alipay_timeout_ms, &a, err, sizeof(err)) < 0)
        judged(t, ALIPAY_TRADE_UNREACHABLE, "gateway: %s", err);
    else
        alipay_trade_answer(k->alipay_key, a.body, a.len, a.status, out_trade_no, amount, t);
    free(a.body);
    free(query);
    free(biz);
    return t->trade;
}
