/* Alipay RSA2: signatures equal to the openssl CLI's, the string-to-sign and
 * query of the worked examples byte for byte, response spans, verification
 * of answers and notifies, key loading. Keys are made in a temp dir by the
 * openssl CLI at start and removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alipay.h"

static char dir[] = "/tmp/df_alipay_XXXXXX";
static EVP_PKEY *app_priv, *app_pub, *ali_priv, *ali_pub;

static char *path(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void run(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

/* Standard output of a shell command, NUL-terminated (malloc'd). */
static char *capture(const char *cmd) {
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    size_t r;
    while ((r = fread(out + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2)
            out = realloc(out, cap *= 2);
    }
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

static void write_file(const char *p, const char *data, size_t len) {
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_file(const char *p) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cat '%s'", p);
    return capture(cmd);
}

static EVP_PKEY *load_priv(const char *name) {
    char err[512] = "";
    EVP_PKEY *k = alipay_load_private_key(path(name), err, sizeof(err));
    if (!k)
        fail_msg("%s", err);
    return k;
}

static EVP_PKEY *load_pub(const char *name) {
    char err[512] = "";
    EVP_PKEY *k = alipay_load_public_key(path(name), err, sizeof(err));
    if (!k)
        fail_msg("%s", err);
    return k;
}

static int setup(void **state) {
    if (!mkdtemp(dir))
        return -1;
    const char *genkey = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d -out %s 2>/dev/null";
    run(genkey, 2048, path("app.pem"));
    run(genkey, 2048, path("alipay.pem"));
    run(genkey, 1024, path("small.pem"));
    run("openssl pkey -in %s -pubout -out %s", path("app.pem"), path("app_pub.pem"));
    run("openssl pkey -in %s -pubout -out %s", path("alipay.pem"), path("alipay_pub.pem"));
    run("openssl pkey -in %s -pubout -out %s", path("small.pem"), path("small_pub.pem"));
    run("openssl rsa -traditional -in %s -out %s 2>/dev/null", path("app.pem"), path("app_pkcs1.pem"));
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s", path("ec.pem"));
    run("openssl pkey -in %s -aes256 -passout pass:secret -out %s", path("app.pem"), path("enc.pem"));
    app_priv = load_priv("app.pem");
    app_pub = load_pub("app_pub.pem");
    ali_priv = load_priv("alipay.pem");
    ali_pub = load_pub("alipay_pub.pem");
    return 0;
}

static int teardown(void **state) {
    EVP_PKEY_free(app_priv);
    EVP_PKEY_free(app_pub);
    EVP_PKEY_free(ali_priv);
    EVP_PKEY_free(ali_pub);
    run("rm -rf '%s'", dir);
    return 0;
}

/* ---- 1, 2: RSA2 -------------------------------------------------------- */

static char *cli_sign(const char *data, size_t len) {
    write_file(path("msg"), data, len);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -sign %s %s | openssl base64 -A", path("app.pem"), path("msg"));
    return capture(cmd);
}

static void test_sign_matches_openssl_cli(void **state) {
    char *big = malloc(10241);
    for (int i = 0; i < 10240; i++)
        big[i] = (char)(' ' + i % 95);
    big[10240] = '\0';
    const char *msgs[] = {"app_id=2021000117600000&method=alipay.trade.query", "测试订单 #1 交易不存在", "", big};
    for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
        char *mine = alipay_sign_rsa2(app_priv, msgs[i], strlen(msgs[i]));
        char *cli = cli_sign(msgs[i], strlen(msgs[i]));
        assert_non_null(mine);
        assert_int_equal(strlen(mine), 344);
        assert_string_equal(mine, cli);
        assert_true(alipay_verify_rsa2(app_pub, msgs[i], strlen(msgs[i]), mine));
        free(mine);
        free(cli);
    }
    /* the length counts, not the NUL: a message with a NUL inside */
    char *a = alipay_sign_rsa2(app_priv, "a\0b", 3), *b = cli_sign("a\0b", 3);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(big);
}

static void test_verify_rejects(void **state) {
    const char *msg = "out_trade_no=ORDER_1&total_amount=88.88";
    size_t len = strlen(msg);
    char *sig = alipay_sign_rsa2(app_priv, msg, len);
    assert_true(alipay_verify_rsa2(app_pub, msg, len, sig));
    assert_false(alipay_verify_rsa2(ali_pub, msg, len, sig)); /* another key */

    char *m = strdup(msg);
    m[len - 1] = '9';
    assert_false(alipay_verify_rsa2(app_pub, m, len, sig));
    assert_false(alipay_verify_rsa2(app_pub, msg, len - 1, sig));
    free(m);

    char *s = strdup(sig);
    s[100] = s[100] == 'A' ? 'B' : 'A';
    assert_false(alipay_verify_rsa2(app_pub, msg, len, s));
    strcpy(s, sig);
    s[340] = '\0'; /* still a multiple of 4, 255 bytes */
    assert_false(alipay_verify_rsa2(app_pub, msg, len, s));
    strcpy(s, sig);
    s[343] = '\0'; /* the '=' padding dropped */
    assert_false(alipay_verify_rsa2(app_pub, msg, len, s));
    free(s);

    char spaced[400];
    snprintf(spaced, sizeof(spaced), " %s", sig);
    assert_false(alipay_verify_rsa2(app_pub, msg, len, spaced));
    snprintf(spaced, sizeof(spaced), "%.100s\n%s", sig, sig + 100);
    assert_false(alipay_verify_rsa2(app_pub, msg, len, spaced));
    snprintf(spaced, sizeof(spaced), "%sAAAA", sig);
    assert_false(alipay_verify_rsa2(app_pub, msg, len, spaced));
    const char *garbage[] = {"", "!!!!", "not base64 at all", "====", "QQ=A", "QUJD", NULL};
    for (int i = 0; garbage[i]; i++)
        assert_false(alipay_verify_rsa2(app_pub, msg, len, garbage[i]));
    assert_false(alipay_verify_rsa2(app_pub, msg, len, NULL));
    free(sig);
}

/* ---- 3: string-to-sign and query ----------------------------------------- */

static const char BIZ[] = "{\"subject\":\"\\u6d4b\\u8bd5\\u8ba2\\u5355 #1\",\"out_trade_no\":\"ORDER_20240520_0001\","
                          "\"total_amount\":\"88.88\",\"product_code\":\"FAST_INSTANT_TRADE_PAY\"}";

static const struct alipay_param WORKED[] = {
    {"app_id", "2021000117600000"},
    {"method", "alipay.trade.page.pay"},
    {"charset", "utf-8"},
    {"sign_type", "RSA2"},
    {"timestamp", "2024-05-20 13:14:15"},
    {"version", "1.0"},
    {"notify_url", "http://127.0.0.1:8080/alipay/notify"},
    {"return_url", "http://127.0.0.1:8080/alipay/return"},
    {"biz_content", BIZ},
};
#define NWORKED (sizeof(WORKED) / sizeof(*WORKED))

static const char WORKED_S2S[] =
    "app_id=2021000117600000&biz_content={\"subject\":\"\\u6d4b\\u8bd5\\u8ba2\\u5355 "
    "#1\",\"out_trade_no\":\"ORDER_20240520_0001\",\"total_amount\":\"88.88\",\"product_code\":\"FAST_INSTANT_"
    "TRADE_PAY\"}&charset=utf-8&method=alipay.trade.page.pay&notify_url=http://127.0.0.1:8080/alipay/"
    "notify&return_url=http://127.0.0.1:8080/alipay/return&sign_type=RSA2&timestamp=2024-05-20 "
    "13:14:15&version=1.0";

static const char WORKED_QUERY[] =
    "app_id=2021000117600000&biz_content=%7B%22subject%22%3A%22%5Cu6d4b%5Cu8bd5%5Cu8ba2%5Cu5355+%231%22%2C%22out_"
    "trade_no%22%3A%22ORDER_20240520_0001%22%2C%22total_amount%22%3A%2288.88%22%2C%22product_code%22%3A%22FAST_"
    "INSTANT_TRADE_PAY%22%7D&charset=utf-8&method=alipay.trade.page.pay&notify_url=http%3A%2F%2F127.0.0.1%3A8080%"
    "2Falipay%2Fnotify&return_url=http%3A%2F%2F127.0.0.1%3A8080%2Falipay%2Freturn&sign_type=RSA2&timestamp=2024-05-"
    "20+13%3A14%3A15&version=1.0";

static void test_sign_string_worked_example(void **state) {
    assert_int_equal(strlen(WORKED_S2S), 371);
    char *s = alipay_sign_string(WORKED, NWORKED, 0);
    assert_string_equal(s, WORKED_S2S);
    free(s);

    /* an existing sign and empty values are not signed; order is irrelevant */
    struct alipay_param p[NWORKED + 3];
    for (size_t i = 0; i < NWORKED; i++)
        p[NWORKED - 1 - i] = WORKED[i];
    p[NWORKED] = (struct alipay_param){"sign", "abc="};
    p[NWORKED + 1] = (struct alipay_param){"app_auth_token", ""};
    p[NWORKED + 2] = (struct alipay_param){"zz_empty", ""};
    s = alipay_sign_string(p, NWORKED + 3, 0);
    assert_string_equal(s, WORKED_S2S);
    free(s);

    /* notify rules: sign and sign_type out, empty values in */
    s = alipay_sign_string(p, NWORKED + 3, 1);
    assert_int_equal(strncmp(s, "app_auth_token=&app_id=2021000117600000&biz_content=", 52), 0);
    assert_null(strstr(s, "sign"));
    assert_int_equal(strcmp(s + strlen(s) - strlen("&version=1.0&zz_empty="), "&version=1.0&zz_empty="), 0);
    free(s);

    s = alipay_sign_string(NULL, 0, 0);
    assert_string_equal(s, "");
    free(s);
}

/* quote_plus as a second, independent implementation */
static char *quote_plus(const char *s) {
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_.-~", *p))
            *o++ = (char)*p;
        else if (*p == ' ')
            *o++ = '+';
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = '\0';
    return out;
}

static void test_signed_query_worked_example(void **state) {
    char *q = alipay_signed_query(app_priv, WORKED, NWORKED);
    assert_non_null(q);
    char *amp = strstr(q, "&sign=");
    assert_non_null(amp);
    assert_int_equal(amp - q, strlen(WORKED_QUERY));
    assert_memory_equal(q, WORKED_QUERY, strlen(WORKED_QUERY));

    char *sig = alipay_sign_rsa2(app_priv, WORKED_S2S, strlen(WORKED_S2S));
    char *quoted = quote_plus(sig);
    assert_string_equal(amp + strlen("&sign="), quoted);
    /* a 2048-bit signature always ends in one '='; nearly always has + and / */
    assert_non_null(strstr(quoted, "%3D"));
    assert_null(strchr(amp + 6, '='));
    assert_null(strchr(amp + 6, '+'));
    assert_null(strchr(amp + 6, '/'));
    assert_int_equal(strchr(sig, '+') != NULL, strstr(quoted, "%2B") != NULL);
    assert_int_equal(strchr(sig, '/') != NULL, strstr(quoted, "%2F") != NULL);
    assert_true(alipay_verify_rsa2(app_pub, WORKED_S2S, strlen(WORKED_S2S), sig));
    free(quoted);
    free(sig);
    free(q);

    /* raw UTF-8, '~', '+', '&' and '=' in a value; empty values left out */
    struct alipay_param p[] = {{"b", "测试订单 #1"}, {"a", "x~y+z&k=v/w"}, {"c", ""}};
    q = alipay_signed_query(app_priv, p, 3);
    const char *want = "a=x~y%2Bz%26k%3Dv%2Fw&b=%E6%B5%8B%E8%AF%95%E8%AE%A2%E5%8D%95+%231&sign=";
    assert_memory_equal(q, want, strlen(want));
    free(q);
}

/* ---- 4: response spans --------------------------------------------------- */

static const char EX1_SPAN[] =
    "{\"code\":\"10000\",\"msg\":\"Success\",\"buyer_pay_amount\":\"0.00\",\"invoice_amount\":\"0.00\",\"out_trade_"
    "no\":\"ORDER_20240520_0001\",\"point_amount\":\"0.00\",\"receipt_amount\":\"0.00\",\"total_amount\":\"88.88\","
    "\"trade_no\":\"2026112422001414261823591535\",\"trade_status\":\"WAIT_BUYER_PAY\"}";
static const char EX2_SPAN[] =
    "{\"code\":\"10000\",\"msg\":\"Success\",\"buyer_logon_id\":\"tes***@sandbox.com\",\"buyer_pay_amount\":\"88."
    "88\",\"buyer_user_id\":\"2088102177846875\",\"buyer_user_type\":\"PRIVATE\",\"fund_bill_list\":[{\"amount\":"
    "\"88.88\",\"fund_channel\":\"ALIPAYACCOUNT\"}],\"invoice_amount\":\"88.88\",\"out_trade_no\":\"ORDER_20240520_"
    "0001\",\"point_amount\":\"0.00\",\"receipt_amount\":\"88.88\",\"send_pay_date\":\"2026-11-24 "
    "23:58:36\",\"total_amount\":\"88.88\",\"trade_no\":\"2026112422001414261823591535\",\"trade_status\":\"TRADE_"
    "SUCCESS\"}";
static const char EX3_SPAN[] =
    "{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":\"ACQ.TRADE_NOT_EXIST\",\"sub_msg\":\"交易不存在\","
    "\"buyer_pay_amount\":\"0.00\",\"invoice_amount\":\"0.00\",\"out_trade_no\":\"NOPE_1\",\"point_amount\":\"0."
    "00\",\"receipt_amount\":\"0.00\"}";
/* escaped slashes and quotes, braces and brackets inside strings */
static const char TRICKY_SPAN[] =
    "{\"code\":\"10000\",\"msg\":\"Success\",\"url\":\"https:\\/\\/example.com\\/a?b={c}\",\"note\":\"say "
    "\\\"}]\\\" {[\",\"sub_msg\":\"交易不存在\",\"fund_bill_list\":[{\"amount\":\"1.00\",\"fund_channel\":"
    "\"PCREDIT\"},{\"amount\":\"87.88\",\"fund_channel\":\"ALIPAYACCOUNT\"}],\"total_amount\":\"88.88\","
    "\"trade_status\":\"TRADE_SUCCESS\",\"esc\":\"\\\\\"}";

static char *body_of(const char *prefix, const char *span, const char *suffix) {
    size_t n = strlen(prefix) + strlen(span) + strlen(suffix) + 1;
    char *b = malloc(n);
    snprintf(b, n, "%s%s%s", prefix, span, suffix);
    return b;
}

static void expect_span(const char *body, const char *method, const char *want) {
    size_t n = 0;
    const char *s = alipay_response_span(body, strlen(body), method, &n);
    assert_non_null(s);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
    /* the span points into the body, it is not a copy */
    assert_true(s >= body && s + n <= body + strlen(body));
    /* every body cut short of the closing brace has no span */
    size_t end = (size_t)(s - body) + n;
    for (size_t cut = 0; cut < end; cut++)
        assert_null(alipay_response_span(body, cut, method, &n));
}

static void test_response_span(void **state) {
    const char *q = "alipay.trade.query";
    const char *spans[] = {EX1_SPAN, EX2_SPAN, EX3_SPAN, TRICKY_SPAN};
    for (size_t i = 0; i < 4; i++) {
        char *b = body_of("{\"alipay_trade_query_response\":", spans[i], ",\"sign\":\"iPCu+/AB==\"}");
        expect_span(b, q, spans[i]);
        free(b);
        /* whitespace around the colon and the braces, sign first */
        b = body_of(" {\n \"sign\" : \"i\\/zh==\" ,\n  \"alipay_trade_query_response\" \t:\r\n ", spans[i], " \n}\n");
        expect_span(b, q, spans[i]);
        free(b);
    }
    /* the key's text in a value or a nested object is not the key */
    char *b = body_of("{\"note\":\"\\\"alipay_trade_query_response\\\":{}\",\"x\":{\"alipay_trade_query_response\":{"
                      "\"code\":\"1\"}},\"alipay_trade_query_response\":",
                      EX2_SPAN, ",\"alipay_cert_sn\":\"abc\",\"sign\":\"x\"}");
    expect_span(b, q, EX2_SPAN);
    free(b);
    /* another method, another key */
    b = body_of("{\"alipay_trade_page_pay_response\":", EX1_SPAN, "}");
    expect_span(b, "alipay.trade.page.pay", EX1_SPAN);
    size_t n;
    assert_null(alipay_response_span(b, strlen(b), q, &n));
    free(b);

    const char *none[] = {
        "{\"error_response\":{\"code\":\"40002\",\"msg\":\"Invalid Arguments\",\"sub_code\":\"isv.invalid-app-id\"}}",
        "{\"alipay_trade_query_responsex\":{\"code\":\"10000\"}}",
        "{\"alipay_trade_query_response\":\"{not an object}\",\"sign\":\"x\"}",
        "{\"alipay_trade_query_response\":[{\"code\":\"10000\"}]}",
        "[{\"alipay_trade_query_response\":{\"code\":\"10000\"}}]",
        "\"alipay_trade_query_response\":{\"code\":\"10000\"}",
        "{\"alipay_trade_query_response\":{\"code\":\"10000\",\"msg\":\"}\"",
        "{\"alipay_trade_query_response\":{\"code\":\"10000\",\"x\":{}",
        "{\"alipay_trade_query_response\":{\"code\":\"10000\\\"}",
        "<html>502 Bad Gateway</html>",
        "",
        NULL,
    };
    for (int i = 0; none[i]; i++)
        assert_null(alipay_response_span(none[i], strlen(none[i]), q, &n));
}

/* cJSON takes every byte up to ' ' for white space, NUL included: the span
 * is looked for in the object cJSON reads, never in the bytes after it. */
static void test_response_span_white_space_as_cjson(void **state) {
    (void)state;
    const char *q = "alipay.trade.query";
    size_t n = 0;
    /* cJSON reads {"e":"0,"} and stops: the key after it is not the object's */
    static const char past[] = "{\"e\":\0\"0,\"\0},\"alipay_trade_query_response\":{\"code\":\"10000\"}}";
    assert_null(alipay_response_span(past, sizeof(past) - 1, q, &n));
    /* control characters between tokens are white space to both */
    static const char ctl[] = "{\"e\":\x01\"v\",\x0c\"alipay_trade_query_response\"\0:\0{\"code\":\"10000\"}}";
    const char *span = alipay_response_span(ctl, sizeof(ctl) - 1, q, &n);
    assert_non_null(span);
    assert_int_equal(n, strlen("{\"code\":\"10000\"}"));
    assert_memory_equal(span, "{\"code\":\"10000\"}", n);
}

/* ---- 5: verifying answers ------------------------------------------------ */

/* The body Alipay would send: the span as given, signed with "Alipay's"
 * key, the sign written with JSON's optional "\/" escape. */
static char *signed_body(const char *span) {
    char *sig = alipay_sign_rsa2(ali_priv, span, strlen(span));
    char esc[800], *o = esc;
    for (const char *p = sig; *p; p++) {
        if (*p == '/')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    free(sig);
    size_t n = strlen(span) + strlen(esc) + 100;
    char *b = malloc(n);
    snprintf(b, n, "{\"alipay_trade_query_response\":%s,\"sign\":\"%s\"}", span, esc);
    return b;
}

static enum alipay_verdict verdict(const char *body, cJSON **resp) {
    return alipay_verify_response(ali_pub, body, strlen(body), "alipay.trade.query", resp);
}

static const char *field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_verify_response(void **state) {
    cJSON *resp = NULL;
    char *b = signed_body(TRICKY_SPAN);
    assert_int_equal(verdict(b, &resp), ALIPAY_OK);
    assert_non_null(resp);
    assert_string_equal(field(resp, "code"), "10000");
    assert_string_equal(field(resp, "trade_status"), "TRADE_SUCCESS");
    assert_string_equal(field(resp, "total_amount"), "88.88");
    assert_string_equal(field(resp, "url"), "https://example.com/a?b={c}");
    assert_string_equal(field(resp, "sub_msg"), "交易不存在");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp, "fund_bill_list")), 2);
    cJSON_Delete(resp);
    assert_int_equal(alipay_verify_response(ali_pub, b, strlen(b), "alipay.trade.query", NULL), ALIPAY_OK);
    /* signed by the wrong key */
    assert_int_equal(alipay_verify_response(app_pub, b, strlen(b), "alipay.trade.query", &resp), ALIPAY_BAD_SIGN);
    assert_null(resp);

    /* any one byte of the span changed */
    char *amount = strstr(b, "88.88");
    amount[4] = '9';
    resp = (cJSON *)1;
    assert_int_equal(verdict(b, &resp), ALIPAY_BAD_SIGN);
    assert_null(resp);
    amount[4] = '8';
    char *slash = strstr(b, "https:\\/\\/");
    memmove(slash + 6, slash + 7, strlen(slash + 7) + 1); /* "\/" to "/": same JSON, other bytes */
    assert_int_equal(verdict(b, &resp), ALIPAY_BAD_SIGN);
    free(b);

    /* only the received bytes count: a re-serialisation verifies only when
     * it happens to give the same bytes, pretty-printing or reordering never */
    const char *spans[] = {EX1_SPAN, EX2_SPAN, EX3_SPAN, TRICKY_SPAN};
    for (int i = 0; i < 4; i++) {
        b = signed_body(spans[i]);
        assert_int_equal(verdict(b, NULL), ALIPAY_OK);
        cJSON *root = cJSON_Parse(b);
        char *re = cJSON_PrintUnformatted(root);
        size_t n = 0;
        const char *span = alipay_response_span(re, strlen(re), "alipay.trade.query", &n);
        int same = n == strlen(spans[i]) && !memcmp(span, spans[i], n);
        assert_int_equal(same, i < 3); /* cJSON writes "\/" as "/" */
        assert_int_equal(verdict(re, &resp), same ? ALIPAY_OK : ALIPAY_BAD_SIGN);
        cJSON_Delete(resp);
        char *pretty = cJSON_Print(root);
        assert_int_equal(verdict(pretty, &resp), ALIPAY_BAD_SIGN);
        assert_null(resp);
        cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "alipay_trade_query_response");
        cJSON *code = cJSON_DetachItemFromObjectCaseSensitive(inner, "code");
        cJSON_AddItemToObject(inner, "code", code); /* now last */
        char *swapped = cJSON_PrintUnformatted(root);
        assert_int_equal(verdict(swapped, &resp), ALIPAY_BAD_SIGN);
        assert_null(resp);
        free(swapped);
        free(pretty);
        free(re);
        cJSON_Delete(root);
        free(b);
    }

    /* unsigned gateway errors: the caller may read code and sub_code */
    const char *err1 = "{\"error_response\":{\"code\":\"40002\",\"msg\":\"Invalid Arguments\",\"sub_code\":\"isv."
                       "invalid-app-id\",\"sub_msg\":\"无效的AppID参数\"}}";
    assert_int_equal(verdict(err1, &resp), ALIPAY_ERROR);
    assert_string_equal(field(resp, "code"), "40002");
    assert_string_equal(field(resp, "sub_code"), "isv.invalid-app-id");
    cJSON_Delete(resp);
    const char *err2 = "{\"alipay_trade_query_response\":{\"code\":\"40001\",\"msg\":\"Missing Required Arguments\","
                       "\"sub_code\":\"isv.missing-signature\"}}";
    assert_int_equal(verdict(err2, &resp), ALIPAY_ERROR);
    assert_string_equal(field(resp, "sub_code"), "isv.missing-signature");
    cJSON_Delete(resp);
    /* an error_response wins even when a sign is there */
    const char *err3 = "{\"error_response\":{\"code\":\"20000\"},\"sign\":\"QUJD\"}";
    assert_int_equal(verdict(err3, &resp), ALIPAY_ERROR);
    assert_string_equal(field(resp, "code"), "20000");
    cJSON_Delete(resp);
    assert_int_equal(verdict("{\"error_response\":\"down\"}", &resp), ALIPAY_ERROR);
    assert_null(resp);

    const char *bad_sign[] = {
        "{\"alipay_trade_query_response\":{\"code\":\"10000\"},\"sign\":\"\"}",
        "{\"alipay_trade_query_response\":{\"code\":\"10000\"},\"sign\":\"!!!!\"}",
        NULL,
    };
    for (int i = 0; bad_sign[i]; i++) {
        assert_int_equal(verdict(bad_sign[i], &resp), ALIPAY_BAD_SIGN);
        assert_null(resp);
    }
    const char *malformed[] = {
        "<html>502 Bad Gateway</html>",
        "",
        "{\"alipay_trade_query_response\":{\"code\":\"10000\"},\"sign\":\"QUJD\"",
        "{\"alipay_trade_page_pay_response\":{\"code\":\"10000\"},\"sign\":\"QUJD\"}",
        "{\"alipay_trade_query_response\":\"10000\",\"sign\":\"QUJD\"}",
        "[1,2]",
        NULL,
    };
    for (int i = 0; malformed[i]; i++) {
        resp = (cJSON *)1;
        assert_int_equal(verdict(malformed[i], &resp), ALIPAY_MALFORMED);
        assert_null(resp);
    }
    /* the length is honoured: a valid body followed by junk it does not cover */
    b = signed_body(EX1_SPAN);
    size_t blen = strlen(b);
    char *longer = body_of(b, "garbage", "");
    assert_int_equal(alipay_verify_response(ali_pub, longer, blen, "alipay.trade.query", NULL), ALIPAY_OK);
    free(longer);
    free(b);
}

/* ---- 6: notifies --------------------------------------------------------- */

static const char NOTIFY_S2V[] =
    "app_id=2021000117600000&auth_app_id=2021000117600000&buyer_id=2088102177846875&buyer_logon_id=tes***@sandbox."
    "com&buyer_pay_amount=88.88&charset=utf-8&fund_bill_list=[{\"amount\":\"88.88\",\"fundChannel\":"
    "\"ALIPAYACCOUNT\"}]&gmt_create=2024-05-20 13:14:20&gmt_payment=2024-05-20 "
    "13:15:02&invoice_amount=88.88&notify_id=2024052001222131502012345678901234&notify_time=2024-05-20 "
    "13:15:03&notify_type=trade_status_sync&out_trade_no=ORDER_20240520_0001&point_amount=0.00&receipt_amount=88."
    "88&seller_id=2088102177846880&subject=测试订单 #1&total_amount=88.88&trade_no=2024052022001400001234567890&"
    "trade_status=TRADE_SUCCESS&version=1.0";

#define NNOTIFY 24
static void notify_fields(struct alipay_param *p, const char *sign) {
    /* Alipay's order, not sorted */
    const struct alipay_param f[NNOTIFY] = {
        {"gmt_create", "2024-05-20 13:14:20"},
        {"charset", "utf-8"},
        {"seller_id", "2088102177846880"},
        {"subject", "测试订单 #1"},
        {"sign", sign},
        {"buyer_id", "2088102177846875"},
        {"invoice_amount", "88.88"},
        {"notify_id", "2024052001222131502012345678901234"},
        {"fund_bill_list", "[{\"amount\":\"88.88\",\"fundChannel\":\"ALIPAYACCOUNT\"}]"},
        {"notify_type", "trade_status_sync"},
        {"trade_status", "TRADE_SUCCESS"},
        {"receipt_amount", "88.88"},
        {"buyer_pay_amount", "88.88"},
        {"app_id", "2021000117600000"},
        {"sign_type", "RSA2"},
        {"notify_time", "2024-05-20 13:15:03"},
        {"point_amount", "0.00"},
        {"total_amount", "88.88"},
        {"gmt_payment", "2024-05-20 13:15:02"},
        {"trade_no", "2024052022001400001234567890"},
        {"auth_app_id", "2021000117600000"},
        {"buyer_logon_id", "tes***@sandbox.com"},
        {"out_trade_no", "ORDER_20240520_0001"},
        {"version", "1.0"},
    };
    memcpy(p, f, sizeof(f));
}

static void test_verify_notify(void **state) {
    char *sig = alipay_sign_rsa2(ali_priv, NOTIFY_S2V, strlen(NOTIFY_S2V));
    struct alipay_param p[NNOTIFY + 1];
    notify_fields(p, sig);
    char *s = alipay_sign_string(p, NNOTIFY, 1);
    assert_string_equal(s, NOTIFY_S2V);
    free(s);
    assert_true(alipay_verify_notify(ali_pub, p, NNOTIFY));
    assert_false(alipay_verify_notify(app_pub, p, NNOTIFY));

    /* an unknown field is signed too: adding one after signing breaks it */
    p[NNOTIFY] = (struct alipay_param){"passback_params", "x"};
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));
    p[NNOTIFY] = (struct alipay_param){"zz_new_field", ""}; /* even an empty one */
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));
    p[NNOTIFY] = (struct alipay_param){"total_amount", "88.88"}; /* a repeated field */
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));
    p[NNOTIFY] = (struct alipay_param){"sign_type", "RSA2"};
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));
    p[NNOTIFY] = (struct alipay_param){"sign", sig};
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));

    notify_fields(p, sig);
    p[14].value = "RSA";
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY));
    p[14].value = "rsa2";
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY));
    p[14].value = "RSA2";
    p[17].value = "0.01";
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY));
    p[17].value = "88.88";
    p[3].value = "测试订单+#1"; /* decoded twice or not at all */
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY));
    notify_fields(p, "");
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY));
    notify_fields(p, sig);
    p[14] = p[NNOTIFY - 1]; /* no sign_type at all */
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY - 1));
    notify_fields(p, sig);
    p[4] = p[NNOTIFY - 1]; /* no sign at all */
    assert_false(alipay_verify_notify(ali_pub, p, NNOTIFY - 1));

    /* empty fields are kept in the string a notify is verified over */
    notify_fields(p, sig);
    p[NNOTIFY] = (struct alipay_param){"body", ""};
    s = alipay_sign_string(p, NNOTIFY + 1, 1);
    assert_non_null(strstr(s, "&auth_app_id=2021000117600000&body=&buyer_id="));
    char *sig2 = alipay_sign_rsa2(ali_priv, s, strlen(s));
    p[4].value = sig2;
    assert_true(alipay_verify_notify(ali_pub, p, NNOTIFY + 1));
    free(sig2);
    free(s);
    free(sig);
}

/* ---- 7: keys ------------------------------------------------------------- */

static void expect_key_error(EVP_PKEY *(*load)(const char *, char *, size_t), const char *p, const char *reason) {
    char err[512] = "";
    EVP_PKEY *k = load(p, err, sizeof(err));
    assert_null(k);
    if (!strstr(err, p) || !strstr(err, reason))
        fail_msg("err '%s' should name '%s' and say '%s'", err, p, reason);
    assert_null(strchr(err, '\n'));
}

/* The PEM body on one line, as Alipay's console shows it. */
static char *bare_b64(const char *name) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "grep -v -- ----- '%s' | tr -d '\\n'", path(name));
    return capture(cmd);
}

static void same_key(EVP_PKEY *priv, EVP_PKEY *pub) {
    char *s = alipay_sign_rsa2(priv, "x", 1);
    assert_non_null(s);
    assert_true(alipay_verify_rsa2(pub, "x", 1, s));
    free(s);
}

static void test_load_keys(void **state) {
    char *pk1 = read_file(path("app_pkcs1.pem"));
    assert_non_null(strstr(pk1, "-----BEGIN RSA PRIVATE KEY-----"));
    free(pk1);
    EVP_PKEY *k = load_priv("app_pkcs1.pem");
    same_key(k, app_pub);
    /* the same key in both formats signs identically */
    char *a = alipay_sign_rsa2(k, "abc", 3), *b = alipay_sign_rsa2(app_priv, "abc", 3);
    assert_string_equal(a, b);
    free(a);
    free(b);
    EVP_PKEY_free(k);

    /* private keys as the console's one-line base64, in a file */
    const char *privs[] = {"app.pem", "app_pkcs1.pem"};
    for (int i = 0; i < 2; i++) {
        char *bare = bare_b64(privs[i]);
        write_file(path("bare_priv.txt"), bare, strlen(bare));
        free(bare);
        k = load_priv("bare_priv.txt");
        same_key(k, app_pub);
        EVP_PKEY_free(k);
    }

    /* Alipay's public key as the console's one-line base64, given inline
     * or in a file (with a newline after it) */
    char err[512] = "";
    char *bare = bare_b64("alipay_pub.pem");
    assert_int_equal(strlen(bare), 392);
    k = alipay_load_public_key(bare, err, sizeof(err));
    if (!k)
        fail_msg("%s", err);
    same_key(ali_priv, k);
    EVP_PKEY_free(k);
    char *nl = body_of(bare, "\n", "");
    write_file(path("bare_pub.txt"), nl, strlen(nl));
    free(nl);
    k = load_pub("bare_pub.txt");
    same_key(ali_priv, k);
    EVP_PKEY_free(k);

    /* not base64 and no such file: taken for a path. The slashes keep
     * every path component under NAME_MAX, else the random key decides
     * between ENOENT and ENAMETOOLONG. */
    bare[100] = '!';
    bare[200] = bare[300] = '/';
    expect_key_error(alipay_load_public_key, bare, "No such file");
    free(bare);
    /* base64, but not of a key: the error does not echo the key */
    char junk[400];
    memset(junk, 'z', 392);
    memcpy(junk, "MIIBIjAN", 8);
    junk[392] = '\0';
    err[0] = '\0';
    assert_null(alipay_load_public_key(junk, err, sizeof(err)));
    assert_non_null(strstr(err, "bare base64, 392 characters"));
    assert_null(strstr(err, "MIIBIjAN"));

    write_file(path("empty.pem"), "", 0);
    write_file(path("garbage.pem"), "\x01\x02garbage\x00\xff not a key\n", 22);
    const char *half = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
    write_file(path("half.pem"), half, strlen(half));
    EVP_PKEY *(*priv)(const char *, char *, size_t) = alipay_load_private_key;
    EVP_PKEY *(*pub)(const char *, char *, size_t) = alipay_load_public_key;
    expect_key_error(priv, path("missing.pem"), "No such file or directory");
    expect_key_error(pub, path("missing.pem"), "No such file or directory");
    expect_key_error(priv, path("empty.pem"), "empty");
    expect_key_error(pub, path("empty.pem"), "empty");
    expect_key_error(priv, path("garbage.pem"), "not a PEM private key");
    expect_key_error(pub, path("garbage.pem"), "not a PEM public key");
    expect_key_error(priv, path("half.pem"), "not a PEM private key");
    expect_key_error(priv, path("small.pem"), "1024 bits");
    expect_key_error(pub, path("small_pub.pem"), "1024 bits");
    expect_key_error(priv, path("ec.pem"), "not RSA");
    expect_key_error(priv, path("enc.pem"), "passphrase");
    expect_key_error(priv, path("app_pub.pem"), "not a PEM private key");
    expect_key_error(pub, path("app.pem"), "not a PEM public key");
    expect_key_error(priv, dir, "directory");
}

/* ---- 7: what a trade query answer means ------------------------------------ */

#define PAID_SPAN(status, out_no, total, trade_no)                                                                    \
    "{\"code\":\"10000\",\"msg\":\"Success\",\"trade_status\":\"" status "\",\"out_trade_no\":\"" out_no            \
    "\",\"total_amount\":\"" total "\",\"trade_no\":\"" trade_no "\"}"

static enum alipay_trade trade_of(const char *body, struct alipay_trade_result *t) {
    return alipay_trade_answer(ali_pub, body, strlen(body), 200, "T1", 1280, t);
}

/* The span signed as Alipay would, judged for order T1 of 12.80. */
static enum alipay_trade signed_trade(const char *span, struct alipay_trade_result *t) {
    char *b = signed_body(span);
    enum alipay_trade v = trade_of(b, t);
    free(b);
    return v;
}

static void test_trade_answer_states(void **state) {
    struct alipay_trade_result t;
    static const struct {
        const char *span;
        enum alipay_trade want;
        const char *why; /* the start of the log text, NULL for none */
    } cases[] = {
        {PAID_SPAN("WAIT_BUYER_PAY", "T1", "12.80", ""), ALIPAY_TRADE_WAITING, NULL},
        {"{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":\"ACQ.TRADE_NOT_EXIST\"}",
         ALIPAY_TRADE_NOT_EXIST, NULL},
        {PAID_SPAN("TRADE_CLOSED", "T1", "12.80", "2026"), ALIPAY_TRADE_CLOSED, "trade TRADE_CLOSED"},
        {PAID_SPAN("TRADE_PENDING", "T1", "12.80", "2026"), ALIPAY_TRADE_ERROR, "trade TRADE_PENDING"},
        /* another 40004, another code */
        {"{\"code\":\"40004\",\"sub_code\":\"ACQ.SYSTEM_ERROR\"}", ALIPAY_TRADE_ERROR,
         "gateway answered 40004 ACQ.SYSTEM_ERROR"},
        {"{\"code\":\"40004\"}", ALIPAY_TRADE_ERROR, "gateway answered 40004 "},
        {"{\"code\":\"20000\",\"sub_code\":\"isp.unknow-error\"}", ALIPAY_TRADE_ERROR,
         "gateway answered 20000 isp.unknow-error"},
        {"{\"msg\":\"no code\"}", ALIPAY_TRADE_ERROR, "gateway error - "},
        /* a success about another trade, or without a status */
        {PAID_SPAN("TRADE_SUCCESS", "T2", "12.80", "2026"), ALIPAY_TRADE_ERROR, "the answer is about another trade"},
        {"{\"code\":\"10000\",\"out_trade_no\":\"T1\"}", ALIPAY_TRADE_ERROR, "the answer is about another trade"},
        /* paid, but not what was asked */
        {PAID_SPAN("TRADE_SUCCESS", "T1", "12.81", "2026"), ALIPAY_TRADE_WRONG_AMOUNT,
         "paid 12.81, but the order is 1280 cents: refused"},
        {PAID_SPAN("TRADE_SUCCESS", "T1", "12.8", "2026"), ALIPAY_TRADE_WRONG_AMOUNT, "paid 12.8, but"},
        {PAID_SPAN("TRADE_FINISHED", "T1", "12.80", ""), ALIPAY_TRADE_WRONG_AMOUNT, "paid 12.80, but"},
        {"{\"code\":\"10000\",\"trade_status\":\"TRADE_SUCCESS\",\"out_trade_no\":\"T1\",\"trade_no\":\"9\"}",
         ALIPAY_TRADE_WRONG_AMOUNT, "paid -, but"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum alipay_trade v = signed_trade(cases[i].span, &t);
        if (v != cases[i].want)
            fail_msg("case %zu: %d, not %d (%s)", i, v, cases[i].want, t.why);
        assert_int_equal(t.trade, v);
        assert_string_equal(t.trade_no, "");
        if (cases[i].why)
            assert_memory_equal(t.why, cases[i].why, strlen(cases[i].why));
        else
            assert_string_equal(t.why, "");
    }
    signed_trade(PAID_SPAN("TRADE_SUCCESS", "T1", "12.81", "2026"), &t);
    assert_int_equal(t.amount, 1281); /* what Alipay said was paid */
    signed_trade(PAID_SPAN("TRADE_SUCCESS", "T1", "12.8", "2026"), &t);
    assert_int_equal(t.amount, -1);
}

static void test_trade_answer_paid(void **state) {
    struct alipay_trade_result t;
    assert_int_equal(signed_trade(PAID_SPAN("TRADE_SUCCESS", "T1", "12.80", "2026120122001"), &t), ALIPAY_TRADE_PAID);
    assert_string_equal(t.trade_no, "2026120122001");
    assert_int_equal(t.amount, 1280);
    assert_string_equal(t.why, "");
    assert_int_equal(signed_trade(PAID_SPAN("TRADE_FINISHED", "T1", "12.80", "7"), &t), ALIPAY_TRADE_PAID);
    assert_string_equal(t.trade_no, "7");
    /* a trade_no of ALIPAY_TRADE_NO_MAX fits, one more does not */
    char span[600], no[ALIPAY_TRADE_NO_MAX + 2];
    memset(no, '8', sizeof(no) - 1);
    no[ALIPAY_TRADE_NO_MAX] = '\0';
    snprintf(span, sizeof(span), PAID_SPAN("TRADE_SUCCESS", "T1", "12.80", "%s"), no);
    assert_int_equal(signed_trade(span, &t), ALIPAY_TRADE_PAID);
    assert_string_equal(t.trade_no, no);
    no[ALIPAY_TRADE_NO_MAX] = '8';
    no[ALIPAY_TRADE_NO_MAX + 1] = '\0';
    snprintf(span, sizeof(span), PAID_SPAN("TRADE_SUCCESS", "T1", "12.80", "%s"), no);
    assert_int_equal(signed_trade(span, &t), ALIPAY_TRADE_WRONG_AMOUNT);
}

/* Nothing unsigned or badly signed is ever taken for a payment. */
static void test_trade_answer_untrusted(void **state) {
    struct alipay_trade_result t;
    const char *paid = PAID_SPAN("TRADE_SUCCESS", "T1", "12.80", "2026");
    char body[800];
    snprintf(body, sizeof(body), "{\"alipay_trade_query_response\":%s}", paid); /* no sign */
    assert_int_equal(trade_of(body, &t), ALIPAY_TRADE_ERROR);
    assert_string_equal(t.why, "gateway error 10000 ");
    /* unsigned gateway errors: even ACQ.TRADE_NOT_EXIST is not believed */
    const char *err = "{\"error_response\":{\"code\":\"40004\",\"sub_code\":\"ACQ.TRADE_NOT_EXIST\"}}";
    assert_int_equal(trade_of(err, &t), ALIPAY_TRADE_ERROR);
    assert_string_equal(t.why, "gateway error 40004 ACQ.TRADE_NOT_EXIST");
    /* signed with another key */
    char *sig = alipay_sign_rsa2(app_priv, paid, strlen(paid));
    snprintf(body, sizeof(body), "{\"alipay_trade_query_response\":%s,\"sign\":\"%s\"}", paid, sig);
    free(sig);
    assert_int_equal(alipay_trade_answer(ali_pub, body, strlen(body), 502, "T1", 1280, &t), ALIPAY_TRADE_BAD_SIGN);
    assert_string_equal(t.why, "gateway answer (HTTP 502) with a bad signature: refused");
    assert_string_equal(t.trade_no, "");
    assert_int_equal(trade_of("<html>502 Bad Gateway</html>", &t), ALIPAY_TRADE_ERROR);
    assert_string_equal(t.why, "gateway answer (HTTP 200) unreadable: refused");
    assert_int_equal(trade_of("{\"other_response\":{}}", &t), ALIPAY_TRADE_ERROR);
}

/* The query itself: one it cannot sign, and a gateway that is not there. */
static void test_trade_query_failures(void **state) {
    struct alipay_trade_result t;
    struct df_config c;
    memset(&c, 0, sizeof(c));
    c.alipay_app_id = "2021000000000000";
    c.alipay_gateway = "http://127.0.0.1:1/gateway.do"; /* nothing listens on port 1 */
    c.alipay_timeout_ms = 2000;
    struct alipay_keys unsigned_keys = {NULL, ali_pub};
    assert_int_equal(alipay_trade_query(&c, &unsigned_keys, "T1", 1280, &t), ALIPAY_TRADE_ERROR);
    assert_string_equal(t.why, "cannot sign the query");
    struct alipay_keys keys = {app_priv, ali_pub};
    assert_int_equal(alipay_trade_query(&c, &keys, "T1", 1280, &t), ALIPAY_TRADE_UNREACHABLE);
    assert_memory_equal(t.why, "gateway: ", 9);
    assert_true(strlen(t.why) > 9);
}

static void test_amount_format(void **state) {
    int64_t c = -7;
    assert_int_equal(alipay_amount("12.80", &c), 0);
    assert_int_equal(c, 1280);
    assert_int_equal(alipay_amount("0.01", &c), 0);
    assert_int_equal(c, 1);
    assert_int_equal(alipay_amount("99999999.99", &c), 0);
    assert_int_equal(c, 9999999999LL);
    static const char *bad[] = {"12.8", "12", "12.800", ".80", "-1.00", "", "1,280.00", "12.8O", "abc.de"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (alipay_amount(bad[i], &c) == 0)
            fail_msg("'%s' read as %lld cents", bad[i], (long long)c);
    assert_int_equal(alipay_amount(NULL, &c), -1);
}

/* Every call's common fields, the timestamp in Beijing time (UTC+8). */
static void test_common_params(void **state) {
    struct df_config c;
    memset(&c, 0, sizeof(c));
    c.alipay_app_id = "2021000000000000";
    struct alipay_param p[8];
    char ts[20], before[20], after[20];
    struct tm tm;
    time_t now = time(NULL) + 8 * 3600;
    strftime(before, sizeof(before), "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
    size_t n = alipay_common_params(&c, p, "alipay.trade.query", "{}", ts);
    now = time(NULL) + 8 * 3600;
    strftime(after, sizeof(after), "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
    assert_int_equal(n, 7);
    static const char *want[][2] = {{"app_id", "2021000000000000"}, {"method", "alipay.trade.query"},
                                    {"charset", "utf-8"},           {"sign_type", "RSA2"},
                                    {"timestamp", NULL},            {"version", "1.0"},
                                    {"biz_content", "{}"}};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].key, want[i][0]);
        if (want[i][1])
            assert_string_equal(p[i].value, want[i][1]);
    }
    assert_ptr_equal(p[4].value, ts);
    assert_true(strcmp(ts, before) >= 0 && strcmp(ts, after) <= 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_openssl_cli),    cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_sign_string_worked_example), cmocka_unit_test(test_signed_query_worked_example),
        cmocka_unit_test(test_response_span), cmocka_unit_test(test_response_span_white_space_as_cjson),               cmocka_unit_test(test_verify_response),
        cmocka_unit_test(test_verify_notify),               cmocka_unit_test(test_load_keys),
        cmocka_unit_test(test_trade_answer_states),         cmocka_unit_test(test_trade_answer_paid),
        cmocka_unit_test(test_trade_answer_untrusted),      cmocka_unit_test(test_trade_query_failures),
        cmocka_unit_test(test_amount_format),               cmocka_unit_test(test_common_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
