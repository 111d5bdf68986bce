/* Alipay OpenAPI with RSA2 (SHA256withRSA, PKCS#1 v1.5, base64): keys,
 * the string-to-sign, signed request queries, and verification of trade
 * query answers and async notifies, byte for byte as Alipay does them
 * (../docs/payment.md). No I/O besides reading key files. */
#ifndef DF_ALIPAY_H
#define DF_ALIPAY_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stddef.h>

/* One request or notify parameter: plain (decoded) UTF-8 strings. */
struct alipay_param {
    const char *key;
    const char *value;
};

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

#endif
