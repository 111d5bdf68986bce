"""Flash orders made directly in MariaDB and Redis, as the consumer leaves
them once it has written them."""
import uuid

from support.backends import redis, sql


def flash_orders(sale, buyers, age_s=0, status=1, pay_method=3):
    """One flash order for each (uid, addr) of buyers, as the consumer
    writes it: df_order_info (unpaid, one unit at the sale's price, transit
    10.00, created age_s ago), df_order_goods, df_flash_sale_order
    (released 0), the SKU's sales raised; in Redis units_left - n,
    written + n and each buyer's count + 1. Returns the order ids."""
    out = redis("HGETALL", f"flash_sale_{sale}").splitlines()
    h = dict(zip(out[0::2], out[1::2]))
    sku, price = int(h["sku_id"]), h["price"]
    ids = []
    for uid, addr in buyers:
        oid = "fl" + uuid.uuid4().hex
        sql("START TRANSACTION;"
            "INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
            " transit_price, order_status, addr_id, user_id) VALUES (NOW(6) - INTERVAL @p0 SECOND, NOW(6), @p1,"
            " @p2, 1, @p3, 10.00, @p4, @p5, @p6);"
            "INSERT INTO df_order_goods (create_time, update_time, count, price, order_id, sku_id)"
            " VALUES (NOW(6), NOW(6), 1, @p3, @p1, @p7);"
            "INSERT INTO df_flash_sale_order (order_id, sale_id, user_id, create_time, released)"
            " VALUES (@p1, @p8, @p6, NOW(6) - INTERVAL @p0 SECOND, 0);"
            "UPDATE df_goods_sku SET sales = sales + 1 WHERE id = @p7;"
            "COMMIT", age_s, oid, pay_method, price, status, addr, uid, sku, sale)
        ids.append(oid)
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", -len(buyers))
    redis("HINCRBY", f"flash_sale_{sale}", "written", len(buyers))
    for uid, _ in buyers:
        redis("HINCRBY", f"flash_sale_users_{sale}", uid, 1)
    return ids
