/* dailyfresh: the uWSGI entry. The plugin struct, its options, the
 * per-worker pools opened after fork, and the glue between a uWSGI request
 * and lib/dispatch. Everything past this file is uWSGI-free. */
#include <uwsgi.h>

#ifndef UWSGI_VERSION
#error "uwsgi.h without uWSGI's own flags: build with make, which compiles the plugin with `uwsgi --cflags`"
#endif

#include <curl/curl.h>
#include <mysql.h>

#include "alipay.h"
#include "cart_claim.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "flash_expire.h"
#include "flash_sale_persist.h"
#include "handlers.h"
#include "order_expire.h"
#include "rds.h"
#include "req.h"

extern struct uwsgi_server uwsgi;
struct uwsgi_plugin dailyfresh_plugin;

#define DF_MODIFIER1 251
#define DISCARD_MAX (64u << 20) /* the largest dailyfresh-max-body allowed */

static struct df_config_raw raw;
static struct df_app app;
static struct alipay_keys alipay_keys; /* app.alipay once both are loaded */
static struct df_req *reqs; /* one per core, indexed by wsgi_req->async_id */
static int pools_ready;

/* Order expiry: a uWSGI timer signal, registered in the master, routed to
 * mule 1, whose handler sweeps (handlers/order_expire.c). The handler
 * pointer is only a tag telling our signal from anyone else's. */
static char expire_tag;
static int expire_registered;
static struct df_req mule_req;

static struct uwsgi_option df_options[] = {
#define X(field, name, type, def, min, max, help)                                                                     \
    {(char *)name, required_argument, 0, (char *)help, uwsgi_opt_set_str, &raw.field, 0},
#include "config_opts.def"
#undef X
    UWSGI_END_OF_OPTIONS};

/* A plugin compiled against another uwsgi's flags reads every field of
 * struct uwsgi_server at the wrong offset. Fields whose true value we know
 * cost nothing to check, and a mismatch caught here stops start-up with one
 * line instead of a crash loop. */
static int abi_matches(const char *where, int forked) {
    char why[160] = "";
    /* a core function, so layout-proof: the core's "version" option
     * prints the UWSGI_VERSION the running uwsgi was built with */
    struct uwsgi_option *version = uwsgi_opt_get("version");
    if (version && version->data && strcmp((const char *)version->data, UWSGI_VERSION) != 0)
        snprintf(why, sizeof(why), "the running uWSGI is %.40s", (const char *)version->data);
    else if (forked && uwsgi.mypid != getpid()) /* the master sets it only after init */
        snprintf(why, sizeof(why), "uwsgi.mypid is %d, the process is %d", (int)uwsgi.mypid, (int)getpid());
    else if (uwsgi.threads < 1 || uwsgi.threads > 4096)
        snprintf(why, sizeof(why), "uwsgi.threads is %d", uwsgi.threads);
    else if (uwsgi.mules_cnt < 0 || uwsgi.mules_cnt > 4096)
        snprintf(why, sizeof(why), "uwsgi.mules_cnt is %d", uwsgi.mules_cnt);
    else if (forked && (uwsgi.mywid < 0 || uwsgi.mywid > uwsgi.numproc))
        snprintf(why, sizeof(why), "uwsgi.mywid is %d of %d workers", uwsgi.mywid, uwsgi.numproc);
    else if (forked && (uwsgi.muleid < 0 || uwsgi.muleid > uwsgi.mules_cnt || (uwsgi.muleid > 0 && uwsgi.mywid != 0)))
        snprintf(why, sizeof(why), "uwsgi.muleid is %d of %d mules (worker id %d)", uwsgi.muleid, uwsgi.mules_cnt,
                 uwsgi.mywid);
    /* a worker's cores are its request threads; a mule serves none */
    else if (forked && uwsgi.mywid > 0 &&
             (uwsgi.cores < 1 || uwsgi.cores > 4096 || (!uwsgi.async && uwsgi.cores != uwsgi.threads)))
        snprintf(why, sizeof(why), "uwsgi.cores is %d for %d threads", uwsgi.cores, uwsgi.threads);
    if (!why[0])
        return 1;
    uwsgi_log("dailyfresh: the plugin does not match the uwsgi that loaded it (%s: %s; built for uWSGI %s): "
              "rebuild it with make clean all\n",
              where, why, UWSGI_VERSION);
    return 0;
}

/* Payment is on when an app id is set: then every key must load, now,
 * rather than fail the first buyer who pays. */
static int load_payment_keys(char *err, size_t errlen) {
    const struct df_config *c = &app.cfg;
    if (!c->alipay_app_id[0]) {
        uwsgi_log("dailyfresh: payment is off (no dailyfresh-alipay-app-id)\n");
        return 0;
    }
    if (strncmp(c->alipay_gateway, "http://", 7) != 0 && strncmp(c->alipay_gateway, "https://", 8) != 0) {
        snprintf(err, errlen, "dailyfresh-alipay-gateway: '%s' is not an http(s) URL", c->alipay_gateway);
        return -1;
    }
    if (!c->alipay_app_private_key[0] || !c->alipay_public_key[0] || !c->alipay_notify_url[0]) {
        snprintf(err, errlen, "dailyfresh-alipay-app-id is set: dailyfresh-alipay-app-private-key, "
                              "dailyfresh-alipay-public-key and dailyfresh-alipay-notify-url are needed too");
        return -1;
    }
    char why[400];
    if (!(alipay_keys.app_key = alipay_load_private_key(c->alipay_app_private_key, why, sizeof(why)))) {
        snprintf(err, errlen, "dailyfresh-alipay-app-private-key: %s", why);
        return -1;
    }
    if (!(alipay_keys.alipay_key = alipay_load_public_key(c->alipay_public_key, why, sizeof(why)))) {
        snprintf(err, errlen, "dailyfresh-alipay-public-key: %s", why);
        return -1;
    }
    app.alipay = &alipay_keys;
    uwsgi_log("dailyfresh: payment through %s as app %s, at most %ld of a worker's %d threads waiting on it%s\n",
              c->alipay_gateway, c->alipay_app_id, c->alipay_max_calls, c->threads,
              c->alipay_max_calls >= c->threads ? " (all of them: a slow gateway stalls the worker)" : "");
    return 0;
}

/* In the master, before fork: validate the options (a bad value stops
 * start-up with one line) and initialise the libraries that must be set up
 * before any thread exists. No sockets here. */
static int df_init(void) {
    char err[512];
    if (!abi_matches("init", 0))
        exit(1);
    if (config_load(&app.cfg, &raw, uwsgi.threads, err, sizeof(err)) < 0 ||
        load_payment_keys(err, sizeof(err)) < 0) {
        uwsgi_log("dailyfresh: bad option: %s\n", err);
        exit(1);
    }
    if (uwsgi.mules_cnt < 1) {
        uwsgi_log("dailyfresh: no mule to expire unpaid orders: add mules = 1 to uwsgi.ini\n");
        exit(1);
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        uwsgi_log("dailyfresh: mysql_library_init failed\n");
        exit(1);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        uwsgi_log("dailyfresh: curl_global_init failed\n");
        exit(1);
    }
    const struct df_config *c = &app.cfg;
    const char *mysql = c->mysql_host_list ? c->mysql_hosts : c->mysql_socket[0] ? c->mysql_socket : c->mysql_host;
    if (c->nsentinels)
        uwsgi_log("dailyfresh: redis master '%s' of sentinels %s, mysql %s/%s, pools %ld+%ld per worker\n",
                  c->redis_master_name, c->redis_sentinels, mysql, c->mysql_database, c->redis_pool, c->mysql_pool);
    else
        uwsgi_log("dailyfresh: redis %s, mysql %s/%s, pools %ld+%ld per worker\n", c->redis, mysql,
                  c->mysql_database, c->redis_pool, c->mysql_pool);
    return 0;
}

/* Mule 1 writes the flash sales' orders (handlers/flash_sale_persist.c),
 * in a thread beside its sweeps, as the consumer host/instance/pid: a
 * respawned mule is a new consumer, and the entries the dead one held are
 * taken over after dailyfresh-flash-claim. */
static void start_flash_consumer(void) {
    char host[128] = "localhost", name[200];
    const char *inst = uwsgi.sockets && uwsgi.sockets->name ? uwsgi.sockets->name : "uwsgi", *slash;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    if ((slash = strrchr(inst, '/')))
        inst = slash + 1;
    snprintf(name, sizeof(name), "%s/%s/%d", host, inst, (int)getpid());
    if (flash_persist_start(&app, name) < 0) {
        uwsgi_log("dailyfresh: cannot start the flash-sale consumer\n");
        exit(1);
    }
}

/* In each worker (and respawned worker) before its threads start: the
 * pools are per process, connections opened lazily on first use. */
static void df_post_fork(void) {
    if (pools_ready)
        return;
    if (!abi_matches("post_fork", 1)) {
        /* exiting alone would only make the master respawn us forever */
        kill(getppid(), SIGINT);
        exit(1);
    }
    /* a mule serves no request: one connection of each kind, for its sweeps */
    size_t redis_n = uwsgi.muleid > 0 ? 1 : (size_t)app.cfg.redis_pool;
    size_t mysql_n = uwsgi.muleid > 0 ? 1 : (size_t)app.cfg.mysql_pool;
    if (uwsgi.muleid == 0)
        reqs = uwsgi_calloc(sizeof(struct df_req) * (size_t)uwsgi.cores);
    if (pool_init(&app.redis, &redis_pool_ops, &app.cfg, redis_n, (int)app.cfg.pool_wait_ms) < 0 ||
        pool_init(&app.mysql, &mysql_pool_ops, &app.cfg, mysql_n, (int)app.cfg.pool_wait_ms) < 0) {
        uwsgi_log("dailyfresh: cannot create connection pools\n");
        exit(1);
    }
    pools_ready = 1;
    if (uwsgi.muleid == 1)
        start_flash_consumer();
}

/* In the master before the workers and mules are forked: the expiry timer.
 * Signal numbers are shared with anything else the instance registers, so
 * take the highest free one. */
static void df_master_fixup(int step) {
    if (step != 0 || expire_registered || uwsgi.mywid != 0 || uwsgi.muleid != 0)
        return;
    expire_registered = 1;
    int sig = 255;
    while (sig > 0 && uwsgi_signal_registered((uint8_t)sig))
        sig--;
    if (sig == 0 || uwsgi_register_signal((uint8_t)sig, "mule1", &expire_tag, DF_MODIFIER1) != 0 ||
        uwsgi_add_timer((uint8_t)sig, (int)app.cfg.order_expire_interval) != 0) {
        uwsgi_log("dailyfresh: cannot register the order expiry timer\n");
        exit(1);
    }
    char cod[40] = "never";
    if (app.cfg.order_cod_ttl > 0)
        snprintf(cod, sizeof(cod), "after %ld s", app.cfg.order_cod_ttl);
    uwsgi_log("dailyfresh: unpaid orders expire after %ld s (cash on delivery %s), swept every %ld s by mule 1 "
              "(signal %d)\n",
              app.cfg.order_ttl, cod, app.cfg.order_expire_interval, sig);
}

/* In the mule, for each timer tick: the expiry sweep, the flash orders'
 * expiry and the close of the flash sales that ended, then the cart claims
 * left by commits that never finished. Never in a worker: the sweeps wait
 * on row locks and must not hold a request thread. */
static int df_signal_handler(uint8_t sig, void *handler) {
    (void)sig;
    if (handler != &expire_tag)
        return -1;
    if (uwsgi.muleid < 1)
        return 0;
    if (!pools_ready)
        df_post_fork();
    order_expire_tick(&mule_req, &app);
    flash_expire_tick(&mule_req, &app);
    cart_claim_tick(&mule_req, &app);
    return 0;
}

static void df_init_thread(int core_id) {
    (void)core_id;
    mysql_thread_init();
}

static char *var_dup(struct df_req *r, char *v, uint16_t len) {
    return v ? arena_strndup(&r->arena, v, len) : NULL;
}

/* Every HTTP_* variable, as the header it came from (req_header_add). */
static void add_headers(struct wsgi_request *wsgi_req, struct df_req *r) {
    for (int i = 0; i + 1 < wsgi_req->var_cnt; i += 2) {
        const struct iovec *k = &wsgi_req->hvec[i], *v = &wsgi_req->hvec[i + 1];
        if (k->iov_len > 5 && memcmp(k->iov_base, "HTTP_", 5) == 0)
            req_header_add(r, (const char *)k->iov_base + 5, k->iov_len - 5, v->iov_base, v->iov_len);
    }
}

static int send_answer(struct wsgi_request *wsgi_req, struct df_req *r) {
    size_t len = 0;
    char *body = dispatch_body(r, &len);
    int rc = -1;
    if (!body)
        goto out;
    if (uwsgi_response_prepare_headers_int(wsgi_req, r->status))
        goto out;
    if (r->text) {
        if (uwsgi_response_add_content_type(wsgi_req, "text/plain; charset=utf-8", 25))
            goto out;
    } else if (uwsgi_response_add_content_type(wsgi_req, "application/json; charset=utf-8", 31)) {
        goto out;
    }
    for (int i = 0; i < r->n_cookies; i++)
        if (uwsgi_response_add_header(wsgi_req, "Set-Cookie", 10, (char *)r->set_cookie[i],
                                      (uint16_t)strlen(r->set_cookie[i])))
            goto out;
    if (uwsgi_response_add_content_length(wsgi_req, len))
        goto out;
    if (uwsgi_response_write_body_do(wsgi_req, body, len))
        goto out;
    rc = 0;
out:
    free(body);
    return rc;
}

/* A body we refuse is still read (up to a bound) before answering: nginx
 * is still sending it, and a socket closed under it turns our 404/405/413
 * into a 502. */
static void discard_body(struct wsgi_request *wsgi_req) {
    size_t left = wsgi_req->post_cl;
    if (left > DISCARD_MAX)
        return;
    while (left > 0) {
        ssize_t rlen = 0;
        char *chunk = uwsgi_request_body_read(wsgi_req, left > 65536 ? 65536 : (ssize_t)left, &rlen);
        if (!chunk || rlen <= 0)
            return;
        left -= (size_t)rlen;
    }
}

static int df_request(struct wsgi_request *wsgi_req) {
    if (!wsgi_req->uh->pktsize) {
        uwsgi_log("dailyfresh: empty request\n");
        return -1;
    }
    if (uwsgi_parse_vars(wsgi_req))
        return -1;
    if (!pools_ready)
        df_post_fork();

    struct df_req *r = &reqs[wsgi_req->async_id];
    req_init(r, &app);
    r->method = var_dup(r, wsgi_req->method, wsgi_req->method_len);
    r->path = var_dup(r, wsgi_req->path_info, wsgi_req->path_info_len);
    r->path_len = wsgi_req->path_info_len;
    if (!r->path || !r->path_len) {
        r->path = "/";
        r->path_len = 1;
    }
    if (wsgi_req->content_type_len)
        r->content_type = var_dup(r, wsgi_req->content_type, wsgi_req->content_type_len);
    r->remote_addr = var_dup(r, wsgi_req->remote_addr, wsgi_req->remote_addr_len);
    add_headers(wsgi_req, r);

    const char *body = NULL;
    ssize_t blen = 0;
    if (dispatch_route(r, df_routes, (long long)wsgi_req->post_cl) < 0) {
        discard_body(wsgi_req);
    } else if (wsgi_req->post_cl > 0) {
        body = uwsgi_request_body_read(wsgi_req, 0, &blen);
        if (!body || blen < 0 || (size_t)blen != wsgi_req->post_cl) {
            resp_error(r, 400, "incomplete request body");
            body = NULL;
            blen = 0;
        }
    }
    dispatch_run(r, wsgi_req->query_string, wsgi_req->query_string_len, wsgi_req->cookie, wsgi_req->cookie_len,
                 body, (size_t)blen);
    send_answer(wsgi_req, r);
    req_release(r);
    return UWSGI_OK;
}

static void df_after_request(struct wsgi_request *wsgi_req) {
    log_request(wsgi_req);
}

static void df_atexit(void) {
    if (uwsgi.muleid == 1)
        flash_persist_stop();
    app.alipay = NULL;
    EVP_PKEY_free(alipay_keys.app_key);
    EVP_PKEY_free(alipay_keys.alipay_key);
    alipay_keys.app_key = alipay_keys.alipay_key = NULL;
    if (!pools_ready)
        return;
    pool_destroy(&app.redis);
    pool_destroy(&app.mysql);
    pools_ready = 0;
}

struct uwsgi_plugin dailyfresh_plugin = {
    .name = "dailyfresh",
    .modifier1 = DF_MODIFIER1,
    .options = df_options,
    .init = df_init,
    .post_fork = df_post_fork,
    .init_thread = df_init_thread,
    .master_fixup = df_master_fixup,
    .signal_handler = df_signal_handler,
    .request = df_request,
    .after_request = df_after_request,
    .atexit = df_atexit,
};
