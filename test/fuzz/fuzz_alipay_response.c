/* Gateway answers: alipay_response_span and alipay_verify_response on
 * arbitrary bodies for a method chosen by the first byte (its low two bits:
 * "0..." is alipay.trade.query, the rest the body). Whenever the
 * span is a JSON object, the harness also signs it with its own key and
 * checks that the answer then verifies (ALIPAY_OK) and that a flipped
 * signature does not. alipay_trade_answer judges every body too: only a
 * signed answer can say anything but an error, and "paid" only with the
 * amount asked and a trade_no. */
#include <stdint.h>

#include "alipay.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *priv, *pub;

#define ORDER_ID "T1"
#define ORDER_CENTS 1280

static const char *const methods[] = {"alipay.trade.query", "alipay.trade.page.pay", "alipay.trade.close", "x"};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_keypair(&priv, &pub);
    return 0;
}

static void check_signed(const char *method, const char *span, size_t span_len) {
    cJSON *obj = cJSON_ParseWithLength(span, span_len);
    int is_obj = cJSON_IsObject(obj);
    cJSON_Delete(obj);
    if (!is_obj)
        return;
    char *sign = alipay_sign_rsa2(priv, span, span_len);
    FUZZ_CHECK(sign != NULL);
    size_t mlen = strlen(method);
    size_t cap = mlen + span_len + strlen(sign) + 64;
    char *body = malloc(cap);
    size_t n = 0;
    body[n++] = '{';
    body[n++] = '"';
    for (size_t i = 0; i < mlen; i++)
        body[n++] = method[i] == '.' ? '_' : method[i];
    n += (size_t)sprintf(body + n, "_response\":");
    memcpy(body + n, span, span_len);
    n += span_len;
    n += (size_t)sprintf(body + n, ",\"sign\":\"%s\"}", sign);

    cJSON *resp = NULL;
    FUZZ_CHECK(alipay_verify_response(pub, body, n, method, &resp) == ALIPAY_OK);
    FUZZ_CHECK(cJSON_IsObject(resp));
    cJSON_Delete(resp);
    if (strcmp(method, "alipay.trade.query") == 0) {
        struct alipay_trade_result t;
        enum alipay_trade tr = alipay_trade_answer(pub, body, n, 200, ORDER_ID, ORDER_CENTS, &t);
        FUZZ_CHECK(tr == t.trade && (int)tr >= 0 && tr < ALIPAY_TRADE_STATES);
        FUZZ_CHECK(tr != ALIPAY_TRADE_BAD_SIGN && tr != ALIPAY_TRADE_UNREACHABLE);
        if (tr == ALIPAY_TRADE_PAID)
            FUZZ_CHECK(t.amount == ORDER_CENTS && t.trade_no[0] && strlen(t.trade_no) <= ALIPAY_TRADE_NO_MAX);
        else
            FUZZ_CHECK(t.trade_no[0] == '\0');
    }

    /* one signature bit less: never accepted */
    char *s = strstr(body + 2 + mlen + 11 + span_len, "\"sign\":\"");
    FUZZ_CHECK(s != NULL);
    s += 8;
    s[0] = s[0] == 'A' ? 'B' : 'A';
    FUZZ_CHECK(alipay_verify_response(pub, body, n, method, NULL) == ALIPAY_BAD_SIGN);
    free(body);
    free(sign);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const char *method = methods[data[0] & 3];
    size_t len = size - 1;
    char *body = fuzz_memdup(data + 1, len);
    size_t span_len = 0;
    const char *span = alipay_response_span(body, len, method, &span_len);
    if (span) {
        FUZZ_CHECK(span >= body && span_len >= 2 && span + span_len <= body + len);
        FUZZ_CHECK(span[0] == '{');
        /* brackets are only counted, not paired ("{]" is a span), which
         * is harmless because alipay_verify_response looks for a span only
         * in a body that parsed as JSON; there the span is the object */
        cJSON *whole = cJSON_ParseWithLength(body, len);
        if (cJSON_IsObject(whole)) {
            cJSON *obj = cJSON_ParseWithLength(span, span_len);
            FUZZ_CHECK(cJSON_IsObject(obj) && span[span_len - 1] == '}');
            cJSON_Delete(obj);
        }
        cJSON_Delete(whole);
    }
    cJSON *resp = NULL;
    enum alipay_verdict v = alipay_verify_response(pub, body, len, method, &resp);
    FUZZ_CHECK(v == ALIPAY_OK || v == ALIPAY_ERROR || v == ALIPAY_BAD_SIGN || v == ALIPAY_MALFORMED);
    /* nobody but the harness holds the private key */
    FUZZ_CHECK(v != ALIPAY_OK);
    FUZZ_CHECK(v == ALIPAY_ERROR || resp == NULL);
    cJSON_Delete(resp);
    struct alipay_trade_result t;
    enum alipay_trade tr = alipay_trade_answer(pub, body, len, 200, ORDER_ID, ORDER_CENTS, &t);
    FUZZ_CHECK(tr == ALIPAY_TRADE_ERROR || tr == ALIPAY_TRADE_BAD_SIGN);
    FUZZ_CHECK(t.trade_no[0] == '\0');
    if (span)
        check_signed(method, span, span_len);
    free(body);
    return 0;
}
