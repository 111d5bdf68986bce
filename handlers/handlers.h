/* What every handler file includes: the backends' APIs and every handler
 * of the route table (routes.c), grouped by the file that defines it. */
#ifndef DF_HANDLERS_H
#define DF_HANDLERS_H

#include <cjson/cJSON.h>

#include "db.h"
#include "json.h"
#include "rds.h"
#include "req.h"
#include "router.h"
#include "session.h"

extern const struct route df_routes[];

/* res 0 of the cart, user and address answers (the orders' is
 * ORDER_LOGIN_MSG, order.h: the original words it differently there) */
#define LOGIN_MSG "请先登录"

/* Texts that answers of several resources share. */
#define INCOMPLETE_MSG "数据不完整" /* a form field missing: cart, registration, login, address */
#define NO_SKU_MSG "商品不存在"
#define NO_STOCK_MSG "商品库存不足"
#define ADDED_MSG "添加成功" /* a cart line, an address */

/* health.c */
void healthz(struct df_req *r);

/* catalog_index.c, catalog_list.c, catalog_detail.c */
void index_page(struct df_req *r);
void goods_types(struct df_req *r);
void goods_list(struct df_req *r);
void goods_detail(struct df_req *r);

/* cart_write.c, cart_read.c */
void cart_add(struct df_req *r);
void cart_update(struct df_req *r);
void cart_delete(struct df_req *r);
void cart_show(struct df_req *r);
void cart_count(struct df_req *r);

/* user_account.c, user_info.c, user_address.c */
void user_register(struct df_req *r);
void user_login(struct df_req *r);
void user_logout(struct df_req *r);
void user_info(struct df_req *r);
void address_list(struct df_req *r);
void address_add(struct df_req *r);
void address_set_default(struct df_req *r);

/* order_read.c, order_commit.c, order_comment.c */
void order_preview(struct df_req *r);
void order_commit(struct df_req *r);
void orders_list(struct df_req *r);
void order_detail(struct df_req *r);
void order_comment(struct df_req *r);

/* flash_buy.c */
void order_flash(struct df_req *r);

/* pay_alipay.c, pay_notify.c */
void order_pay(struct df_req *r);
void order_check(struct df_req *r);
void order_notify(struct df_req *r);
void order_return(struct df_req *r);

/* flash_sale_admin.c, flash_sale_read.c */
void flash_sale_create(struct df_req *r);
void flash_sale_close(struct df_req *r);
void flash_sale_show_staff(struct df_req *r);
void flash_sale_show_public(struct df_req *r);

#endif
