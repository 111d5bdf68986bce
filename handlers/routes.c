/* Every resource's route table, walked in order by the dispatcher. */
#include "dispatch.h"
#include "handlers.h"

const struct route *const df_routes[] = {
    health_routes,
    cart_routes,
    goods_routes,
    index_routes,
    user_routes,
    user_info_routes,
    address_routes,
    order_commit_routes,
    order_view_routes,
    order_pay_routes,
    order_notify_routes,
    order_comment_routes,
    NULL,
};
