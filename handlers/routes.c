/* Every route of the API, in one table: method, pattern, handler, flags.
 * The router walks it in order and the first match wins; no two patterns
 * here match the same path. Handlers are declared in handlers.h and live in
 * the file named beside each group; docs/api*.md documents each answer. */
#include "handlers.h"

const struct route df_routes[] = {
    /* health.c */
    {"GET", "/healthz", healthz, 0},

    /* catalog_index.c, catalog_list.c, catalog_detail.c */
    {"GET", "/api/index", index_page, 0},
    {"GET", "/api/goods/types", goods_types, 0},
    {"GET", "/api/list/<int>/<str>", goods_list, 0},
    {"GET", "/api/goods/<int>", goods_detail, 0},

    /* cart_write.c, cart_read.c */
    {"POST", "/cart/add", cart_add, 0},
    {"POST", "/cart/update", cart_update, 0},
    {"POST", "/cart/delete", cart_delete, 0},
    {"GET", "/api/cart", cart_show, 0},
    {"GET", "/api/cart/count", cart_count, 0},

    /* user_account.c, user_info.c, user_address.c */
    {"POST", "/user/register", user_register, 0},
    {"POST", "/user/login", user_login, 0},
    {"POST", "/user/logout", user_logout, 0},
    {"GET", "/api/user/info", user_info, 0},
    {"GET", "/api/user/address", address_list, 0},
    {"POST", "/user/address", address_add, 0},
    {"POST", "/user/address/default", address_set_default, 0},

    /* order_read.c, order_commit.c, order_comment.c */
    {"GET", "/api/order/preview", order_preview, 0},
    {"POST", "/api/order/preview", order_preview, 0},
    {"POST", "/order/commit", order_commit, 0},
    {"GET", "/api/orders", orders_list, 0},
    {"GET", "/api/orders/<str>", order_detail, 0},
    {"POST", "/order/comment/<str>", order_comment, 0},

    /* pay_alipay.c, pay_notify.c */
    {"POST", "/order/pay", order_pay, 0},
    {"POST", "/order/check", order_check, 0},
    {"POST", "/order/notify", order_notify, ROUTE_CSRF_EXEMPT}, /* signed by Alipay, not the page */
    {"GET", "/api/order/return", order_return, 0},

    /* flash_sale_admin.c (staff), flash_sale_read.c */
    {"POST", "/api/admin/flash-sales", flash_sale_create, 0},
    {"POST", "/api/admin/flash-sales/<int>/close", flash_sale_close, 0},
    {"GET", "/api/admin/flash-sales/<int>", flash_sale_show_staff, 0},
    {"GET", "/api/flash/<int>", flash_sale_show_public, 0},

    /* flash_buy.c */
    {"POST", "/order/flash", order_flash, 0},

    {NULL, NULL, NULL, 0},
};
