/* GET /api/flash/<sale_id> — a sale as its page shows it, to anyone (no
 * login): {"res": 5, "sale_id", "sku_id", "status": scheduled|open|ended|closed,
 * "starts_at", "starts_at_text", "ends_at", "ends_at_text", "limit_per_user",
 * "units_left", "now", "now_text"}; times are Unix seconds and their
 * "_text" Beijing time, now the server's clock for the page's countdown.
 * 404 {"res": 2, "errmsg": "秒杀活动不存在"} for a sale that does not exist.
 *
 * The page polls this while it counts down, so it is answered from the
 * sale's Redis hash alone (one HMGET); the row is read only when the hash
 * is missing, to build it again. */
#include <string.h>
#include <time.h>

#include "flash_sale.h"

static const char *const page_fields[] = {"sku_id", "starts_at", "ends_at", "limit", "units_left"};
#define PAGE_FIELDS 5

/* The hash's fields into *s and *st: 1 read, 0 missing, -1 failed. */
static int page_read(struct df_req *r, long long id, struct flash_sale *s, struct flash_state *st) {
    redisReply *rep = rds_cmd(r, "HMGET " FLASH_SALE_KEY " sku_id starts_at ends_at limit units_left status", id);
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != PAGE_FIELDS + 1) {
        req_fail(r, 500, "flash sale", "HMGET: unexpected reply");
        return -1;
    }
    const redisReply *status = rep->element[PAGE_FIELDS];
    if (status->type != REDIS_REPLY_STRING)
        return 0;
    long long *into[PAGE_FIELDS] = {&s->sku_id, &s->starts_at, &s->ends_at, &s->limit_per_user, &st->units_left};
    for (int i = 0; i < PAGE_FIELDS; i++)
        if (rds_reply_ll(rep->element[i], into[i]) < 0) {
            req_fail(r, 500, "flash sale", page_fields[i]);
            return -1;
        }
    s->id = id;
    st->closed = strcmp(status->str, "closed") == 0;
    return 1;
}

/* Sale id for the page: 1 read, 0 no such sale, -1 failed. */
static int sale_for_page(struct df_req *r, long long id, struct flash_sale *s, struct flash_state *st) {
    int rc = page_read(r, id, s, st);
    if (rc != 0)
        return rc;
    if ((rc = flash_sale_row(r, id, 0, s)) <= 0)
        return rc;
    if (flash_sale_state_build(r, s) < 0 || (rc = page_read(r, id, s, st)) < 0)
        return -1;
    if (rc == 0)
        req_fail(r, 500, "flash sale", "hash missing right after it was built");
    return rc > 0 ? 1 : -1;
}

void flash_sale_show_public(struct df_req *r) {
    struct flash_sale s;
    struct flash_state st;
    long long id = flash_sale_path_id(r);
    int rc = id > 0 ? sale_for_page(r, id, &s, &st) : 0;
    if (rc < 0)
        return;
    if (rc == 0) {
        flash_sale_not_found(r, 404);
        return;
    }
    long long now = (long long)time(NULL);
    cJSON *o = resp_res(r, 5);
    json_add_int(o, "sale_id", s.id);
    json_add_int(o, "sku_id", s.sku_id);
    cJSON_AddStringToObject(o, "status", flash_sale_phase(st.closed, s.starts_at, s.ends_at, now));
    flash_add_time(o, "starts_at", s.starts_at);
    flash_add_time(o, "ends_at", s.ends_at);
    json_add_int(o, "limit_per_user", s.limit_per_user);
    json_add_int(o, "units_left", st.units_left);
    flash_add_time(o, "now", now);
}
