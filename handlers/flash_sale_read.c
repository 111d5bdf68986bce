/* GET /api/flash/<sale_id> — a sale as its page shows it, to anyone (no
 * login): {"res": 5, "sale_id", "sku_id", "status": scheduled|open|ended|closed,
 * "starts_at", "starts_at_text", "ends_at", "ends_at_text", "limit_per_user",
 * "units_left", "now", "now_text"}; times are Unix seconds and their
 * "_text" Beijing time, now the server's clock for the page's countdown.
 * 404 {"res": 2, "errmsg": "秒杀活动不存在"} for a sale that does not exist. */
#include <time.h>

#include "flash_sale.h"

void flash_sale_show_public(struct df_req *r) {
    struct flash_sale s;
    struct flash_state st;
    long long id = flash_sale_path_id(r);
    int found = id > 0 ? flash_sale_row(r, id, 0, &s) : 0;
    if (found < 0)
        return;
    if (found == 0) {
        flash_sale_not_found(r, 404);
        return;
    }
    if (flash_sale_state(r, &s, &st) < 0)
        return;
    long long now = (long long)time(NULL);
    cJSON *o = resp_res(r, 5);
    json_add_int(o, "sale_id", s.id);
    json_add_int(o, "sku_id", s.sku_id);
    cJSON_AddStringToObject(o, "status",
                            flash_sale_phase(st.closed || s.status == FLASH_CLOSED, s.starts_at, s.ends_at, now));
    flash_add_time(o, "starts_at", s.starts_at);
    flash_add_time(o, "ends_at", s.ends_at);
    json_add_int(o, "limit_per_user", s.limit_per_user);
    json_add_int(o, "units_left", st.units_left);
    flash_add_time(o, "now", now);
}
