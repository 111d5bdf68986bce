/* Alipay OpenAPI with RSA2 (SHA256withRSA, PKCS#1 v1.5, base64): keys,
 * the string-to-sign, signed request queries, verification of gateway
 * answers and async notifies, byte for byte as Alipay does them, and what
 * a trade query answer means (../docs/payment.md). No I/O besides reading
 * key files and the one gateway call of alipay_trade_query. */
#ifndef DF_ALIPAY_H
#define DF_ALIPAY_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ALIPAY_TRADE_NO_MAX 128 /* Alipay's trade_no: 1..64 today, room for growth */

/* The keys of payment, loaded once in the master (struct df_app). */
struct alipay_keys {
    EVP_PKEY *app_key;    /* ours: signs our requests */
    EVP_PKEY *alipay_key; /* Alipay's public key: verifies its answers and notifies */
};

/* One request or notify parameter: plain (decoded) UTF-8 strings. */
struct alipay_param {
    const char *key;
    const char *value;
};

/* The common parameters of every gateway call, with method and
 * biz_content: fills p (at least 7 slots), returns how many. timestamp
 * (Beijing time, as Alipay wants it) must hold 20 bytes and outlive p. */
size_t alipay_common_params(const struct df_config *c, struct alipay_param *p, const char *method,
                            const char *biz_content, char *timestamp);
/* "12.80" -> cents of an amount Alipay sends (always two decimals, never
 * negative); -1 when not one. */
int alipay_amount(const char *s, int64_t *cents);

/* The app private key from a PEM file (PKCS#8 or PKCS#1). NULL with one
 * line in err when the file is missing, unreadable or not an RSA key. */
EVP_PKEY *alipay_load_private_key(const char *path, char *err, size_t errlen);
/* Alipay's public key: a PEM file, or the bare one-line base64 of an X.509
 * SubjectPublicKeyInfo that Alipay's console shows. NULL with err. */
EVP_PKEY *alipay_load_public_key(const char *path_or_base64, char *err, size_t errlen);

/* RSA2 signature of data as one line of standard base64 (malloc'd), or
 * NULL. Equal to `openssl dgst -sha256 -sign key | openssl base64 -A`. */
char *alipay_sign_rsa2(EVP_PKEY *key, const char *data, size_t len);
/* 1 when sign_b64 is a valid RSA2 signature of data, else 0. */
int alipay_verify_rsa2(EVP_PKEY *key, const char *data, size_t len, const char *sign_b64);

/* The string-to-sign (malloc'd): the parameters sorted by key (strcmp),
 * "key=value" joined by '&', raw values. Always drops "sign"; drops
 * "sign_type" too when for_notify; drops empty values when !for_notify
 * (Alipay's rule for requests). */
char *alipay_sign_string(const struct alipay_param *p, size_t n, int for_notify);
/* Signs the parameters with the app key and returns the query string
 * (malloc'd): the same sorted parameters, key=quote_plus(value) joined by
 * '&', then "&sign=" quote_plus(sign). NULL on failure. */
char *alipay_signed_query(EVP_PKEY *app_key, const struct alipay_param *p, size_t n);

/* Where the signed bytes of a gateway answer are: the value of
 * "<method with . as _>_response" from its '{' to the matching '}', as
 * received. NULL when the body has no such object. */
const char *alipay_response_span(const char *body, size_t len, const char *method, size_t *span_len);

enum alipay_verdict {
    ALIPAY_OK = 0,        /* signature valid: *resp holds the response object */
    ALIPAY_ERROR = 1,     /* an unsigned error_response or no sign: *resp may hold it, trust only code/sub_code */
    ALIPAY_BAD_SIGN = 2,  /* signature missing from the span or invalid: use nothing */
    ALIPAY_MALFORMED = 3, /* not JSON, or no response object */
};
/* Verifies a gateway answer for method (e.g. "alipay.trade.query") with
 * Alipay's public key over the exact received bytes of its response
 * object; *resp (caller frees, may be NULL) is that object parsed. */
enum alipay_verdict alipay_verify_response(EVP_PKEY *alipay_key, const char *body, size_t len, const char *method,
                                           cJSON **resp);
/* Verifies an async notify (or return) given as decoded form fields:
 * sign_type must be RSA2; sign and sign_type excluded, every other field
 * kept, sorted, joined, verified. 1 valid, 0 not. */
int alipay_verify_notify(EVP_PKEY *alipay_key, const struct alipay_param *p, size_t n);

/* What alipay.trade.query says of a trade we asked about. */
enum alipay_trade {
    ALIPAY_TRADE_PAID = 0,     /* TRADE_SUCCESS or TRADE_FINISHED, of the amount asked: trade_no is set */
    ALIPAY_TRADE_WAITING,      /* WAIT_BUYER_PAY */
    ALIPAY_TRADE_NOT_EXIST,    /* 40004 ACQ.TRADE_NOT_EXIST: the buyer has not opened the cashier yet */
    ALIPAY_TRADE_CLOSED,       /* TRADE_CLOSED: never paid in time, or refunded in full */
    ALIPAY_TRADE_WRONG_AMOUNT, /* paid, but not the amount asked, or without a usable trade_no */
    ALIPAY_TRADE_BAD_SIGN,     /* the answer's signature is not Alipay's */
    ALIPAY_TRADE_UNREACHABLE,  /* no answer within the timeout */
    ALIPAY_TRADE_ERROR,        /* anything else: an error code, an unreadable answer, another trade,
                                  an unknown status, a query we could not sign */
};
#define ALIPAY_TRADE_STATES (ALIPAY_TRADE_ERROR + 1)

struct alipay_trade_result {
    enum alipay_trade trade;
    char trade_no[ALIPAY_TRADE_NO_MAX + 1]; /* ALIPAY_TRADE_PAID; "" otherwise */
    int64_t amount;                          /* what Alipay says was paid, cents; -1 when it said nothing readable */
    char why[1024]; /* for the log, when the answer is refused or is an error ("" otherwise) */
};

/* Judges the gateway's answer (body, HTTP status) to a query about the
 * trade out_trade_no of amount cents: verified with Alipay's key, then
 * its code, sub_code and trade_status. Fills *t and returns t->trade. */
enum alipay_trade alipay_trade_answer(EVP_PKEY *alipay_key, const char *body, size_t len, long http_status,
                                      const char *out_trade_no, int64_t amount, struct alipay_trade_result *t);
/* Asks the gateway (c->alipay_gateway, one POST within c->alipay_timeout,
 * never retried) about out_trade_no and judges the answer as above. */
enum alipay_trade alipay_trade_query(const struct df_config *c, const struct alipay_keys *k, const char *out_trade_no,
                                     int64_t amount, struct alipay_trade_result *t);

#endif
