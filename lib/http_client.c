#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    char *buf;
    size_t len;
    int too_large;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *userp) {
    struct sink *s = userp;
    size_t n = size * nmemb;
    if (s->len + n > HTTP_ANSWER_MAX) {
        s->too_large = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(s->buf, s->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + s->len, data, n);
    s->buf = grown;
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

int http_post_form(const char *url, const char *body, long timeout_ms, struct http_answer *out, char *err,
                   size_t errlen) {
    struct sink s = {0};
    struct curl_slist *headers = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto out;
    }
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded;charset=utf-8");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    /* the whole call, connect included, within the timeout; no signals in
     * a threaded worker */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", s.too_large ? "answer too large" : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = s.buf ? s.buf : calloc(1, 1);
    out->len = s.len;
    s.buf = NULL;
    rc = out->body ? 0 : -1;
out:
    free(s.buf);
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

int http_gate_enter(struct http_gate *g, int max) {
    if (atomic_fetch_add(&g->in_flight, 1) < max)
        return 1;
    atomic_fetch_sub(&g->in_flight, 1);
    return 0;
}

void http_gate_leave(struct http_gate *g) {
    atomic_fetch_sub(&g->in_flight, 1);
}
