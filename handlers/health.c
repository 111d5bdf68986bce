/* GET /healthz
 *   200 {"redis": "ok", "mysql": "ok"}
 *   503 {"redis": "down", "mysql": "ok"}   (whichever is down says so)
 * Each check takes a pooled connection, so a server that came back is
 * noticed on the next call without restarting anything. */
#include "handlers.h"

void healthz(struct df_req *r) {
    redisReply *pong = rds_cmd(r, "PING");
    int redis_ok = pong && pong->type == REDIS_REPLY_STATUS;
    int mysql_ok = db_ping(r) == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "redis", redis_ok ? "ok" : "down");
    cJSON_AddStringToObject(o, "mysql", mysql_ok ? "ok" : "down");
    resp_json(r, redis_ok && mysql_ok ? 200 : 503, o);
}
