"""Helpers for the order tests: addresses, buyers made in bulk, committing
orders and reading what they left in MariaDB and Redis."""
import asyncio
import concurrent.futures
import json
import threading
import uuid

from bench import buyers as bench_buyers
from bench import order_race
from support.backends import redis, sql
from support.cart import cart_hash, login, make_goods, make_sku, make_type, make_user
from support.env import BASE, MYSQL_SOCK, REDIS_SOCK
from support.http import Client

MODES = ["guarded", "pessimistic", "optimistic"]
__all__ = ["cart_hash", "make_goods", "make_type", "MODES"]


def make_address(uid, receiver="收件人"):
    rows = sql("INSERT INTO df_address (create_time, update_time, is_delete, receiver, addr, zip_code, phone,"
               " is_default, user_id) VALUES (NOW(6), NOW(6), 0, @p0, '北京市', '100000', '13800000000', 1, @p1);"
               " SELECT LAST_INSERT_ID()", receiver, uid)
    return int(rows[-1][0])


def buyer():
    """(client, uid, addr_id): a logged-in user with an address."""
    uid = make_user()
    c = Client()
    login(c, uid)
    return c, uid, make_address(uid)


def skus(n=1, stock=100, price="12.80", status=1):
    type_id, goods_id = make_type()
    return [make_sku(type_id, goods_id, price=price, stock=stock, status=status) for _ in range(n)]


def put_cart(uid, counts):
    for sku, count in counts.items():
        redis("HSET", f"cart_{uid}", sku, count)


def commit(client, addr_id, sku_ids, pay_method=3, **kw):
    data = {"addr_id": addr_id, "pay_method": pay_method, "sku_ids": ",".join(str(s) for s in sku_ids)}
    data.update(kw.pop("extra", {}))
    r = client.post_form("/order/commit", data, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def commits_at_once(client, addr_id, sku_ids, keys):
    """One commit per Idempotency-Key in keys, all released at one moment,
    each from a client of its own sharing client's session (tabs of one
    browser); their answers in keys' order."""
    tabs = []
    for _ in keys:
        k = Client()
        k.cookies.update(client.cookies)
        k.csrf()
        tabs.append(k)
    start = threading.Barrier(len(keys))

    def one(tab, key):
        start.wait(timeout=10)
        return commit(tab, addr_id, sku_ids, headers={"Idempotency-Key": key})

    with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
        return list(pool.map(one, tabs, keys))


def sku_state(sku):
    stock, sales = sql("SELECT stock, sales FROM df_goods_sku WHERE id = @p0", sku)[0]
    return int(stock), int(sales)


def orders_of(uid):
    return [r[0] for r in sql("SELECT order_id FROM df_order_info WHERE user_id = @p0", uid)]


def race(n, sku, pay_method=3):
    """n buyers with 1 unit of sku each press commit at the same moment;
    returns ([res codes], [order ids])."""
    made = bench_buyers.make_buyers(MYSQL_SOCK, REDIS_SOCK, "t" + uuid.uuid4().hex[:12], n, 1, sku)
    body = f"addr_id={{addr}}&pay_method={pay_method}&sku_ids={sku}"
    _, _, results = asyncio.run(order_race.race(BASE, [b[:3] for b in made], body))
    answers = []
    for status, payload, _, _ in results:
        assert status == 200, payload
        answers.append(json.loads(payload))
    return answers, made
