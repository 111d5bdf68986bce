"""Helpers for the catalog and cart tests: users, sessions and goods made
directly in MariaDB and Redis, so these tests need no login endpoint."""
import uuid

from support.backends import redis, sql
from support.http import Client, unique_name

NOW = "NOW(6)"


def make_user():
    """A df_user row; returns its id."""
    name = unique_name("cart")
    rows = sql("INSERT INTO df_user (password, username, email, is_active, date_joined, create_time, update_time)"
               " VALUES ('x', @p0, @p1, 1, NOW(6), NOW(6), NOW(6)); SELECT LAST_INSERT_ID()",
               name, name + "@localhost")
    return int(rows[-1][0])


def login(client, uid):
    """Stores a session for uid in Redis and gives client its cookie."""
    sid = uuid.uuid4().hex
    redis("SET", "session_" + sid, uid, "EX", 3600)
    client.cookies.set("sessionid", sid)
    return sid


def user_client():
    """(client, uid) for a fresh logged-in user."""
    uid = make_user()
    c = Client()
    login(c, uid)
    return c, uid


def make_type(name="测试"):
    """A goods type of its own, with one SPU; returns (type_id, goods_id)."""
    rows = sql("INSERT INTO df_goods_type (create_time, update_time, name, logo, image)"
               " VALUES (NOW(6), NOW(6), @p0, 'test', 'images/types/fruit.svg'); SELECT LAST_INSERT_ID()", name)
    type_id = int(rows[-1][0])
    return type_id, make_goods()


def make_goods(name="测试商品", detail="<p>测试</p>"):
    rows = sql("INSERT INTO df_goods (create_time, update_time, name, detail)"
               " VALUES (NOW(6), NOW(6), @p0, @p1); SELECT LAST_INSERT_ID()", name, detail)
    return int(rows[-1][0])


def make_sku(type_id, goods_id, price="12.80", stock=100, sales=0, status=1, name="测试SKU"):
    """A df_goods_sku row; returns its id."""
    rows = sql("INSERT INTO df_goods_sku (create_time, update_time, name, `desc`, price, unite, image, stock,"
               " sales, status, goods_id, type_id) VALUES (NOW(6), NOW(6), @p0, @p1, @p2, '盒',"
               " 'images/goods/goods001.svg', @p3, @p4, @p5, @p6, @p7); SELECT LAST_INSERT_ID()",
               name, name + " desc", price, stock, sales, status, goods_id, type_id)
    return int(rows[-1][0])


def cart_hash(uid):
    """The cart hash as a dict of str -> str, as redis-cli shows it."""
    out = redis("HGETALL", f"cart_{uid}").splitlines()
    return dict(zip(out[0::2], out[1::2]))


def make_skus(type_id, goods_id, n, status=1):
    """n SKUs in one statement: the i-th (1-based) costs i.05 and has sold
    (n - i) * 3 % 17 (so price, sales and id orders all differ); returns
    their ids in insertion order."""
    rows = sql("INSERT INTO df_goods_sku (create_time, update_time, name, `desc`, price, unite, image, stock,"
               " sales, status, goods_id, type_id)"
               " SELECT NOW(6), NOW(6), CONCAT('批量', seq), 'd', seq + 0.05, '袋', 'images/goods/goods002.svg',"
               " 100, ((@p0 - seq) * 3) % 17, @p1, @p2, @p3 FROM seq_1_to_" + str(int(n)) +
               " ORDER BY seq; SELECT id FROM df_goods_sku WHERE type_id = @p3 AND name LIKE '批量%' ORDER BY id",
               n, status, goods_id, type_id)
    return [int(r[0]) for r in rows]


def add_comment(sku_id, uid, comment, price="9.90"):
    """An order of uid holding sku_id with a comment (status 5, 已完成)."""
    oid = uuid.uuid4().hex
    sql("INSERT INTO df_address (create_time, update_time, receiver, addr, phone, user_id)"
        " VALUES (NOW(6), NOW(6), '张三', '北京', '13800000000', @p0);"
        "INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
        " transit_price, order_status, addr_id, user_id)"
        " VALUES (NOW(6), NOW(6), @p1, 3, 1, @p2, 10.00, 5, LAST_INSERT_ID(), @p0);"
        "INSERT INTO df_order_goods (create_time, update_time, count, price, comment, order_id, sku_id)"
        " VALUES (NOW(6), NOW(6), 1, @p2, @p3, @p1, @p4)", uid, oid, price, comment, sku_id)
