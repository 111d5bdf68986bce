"""POST /order/commit through nginx, for each locking mode: never oversell,
all or nothing, the contract's answers, distinct order ids, idempotency."""
import concurrent.futures
import subprocess
import time
import uuid

import pytest

from support import uwsgi
from support.backends import redis, sql
from support.env import MYSQL_SOCK
from support.http import Client
from support.orders import MODES, buyer, cart_hash, commit, orders_of, put_cart, race, sku_state, skus
from support.stack import uwsgi_options


UNPAID_CAP = 20


@pytest.fixture(scope="module", params=MODES)
def mode(request):
    # twenty unpaid orders per user: the tests below place that many at once
    with uwsgi_options("--dailyfresh-order-locking", request.param, "--dailyfresh-order-max-unpaid", str(UNPAID_CAP)):
        yield request.param


def test_race_200_buyers_on_stock_50(mode):
    (sku,) = skus(stock=50, price="9.90")
    answers, made = race(200, sku)
    codes = [a["res"] for a in answers]
    assert codes.count(5) == 50, (mode, codes)
    assert codes.count(6) == 150, (mode, codes)
    assert all(a["errmsg"] == "商品库存不足" and a["sku_id"] == sku for a in answers if a["res"] == 6)
    assert sku_state(sku) == (0, 50)
    rows = sql("SELECT COUNT(*), COALESCE(SUM(g.count), 0), COUNT(DISTINCT g.order_id) FROM df_order_goods g"
               " WHERE g.sku_id = @p0", sku)
    assert rows == [["50", "50", "50"]]
    ids = {a["order_id"] for a in answers if a["res"] == 5}
    assert len(ids) == 50
    info = sql("SELECT COUNT(*), SUM(total_count), SUM(total_price) FROM df_order_info o"
               " JOIN df_order_goods g ON g.order_id = o.order_id WHERE g.sku_id = @p0", sku)
    assert info == [["50", "50", "495.00"]]
    # winners' carts lost the SKU, losers' carts kept it
    winners = {b[4] for b, a in zip(made, answers) if a["res"] == 5}
    for b in made[:40]:
        assert (str(sku) in cart_hash(b[4])) == (b[4] not in winners)


def test_short_sku_in_two_sku_order_changes_nothing(mode):
    c, uid, addr = buyer()
    plenty, short = skus(2, stock=5)
    put_cart(uid, {plenty: 2, short: 3})
    sql("UPDATE df_goods_sku SET stock = 2 WHERE id = @p0", short)
    before = orders_of(uid)
    a = commit(c, addr, [plenty, short])
    assert a == {"res": 6, "errmsg": "商品库存不足", "sku_id": short}
    assert sku_state(plenty) == (5, 0) and sku_state(short) == (2, 0)
    assert orders_of(uid) == before
    assert cart_hash(uid) == {str(plenty): "2", str(short): "3"}


def test_stock_taken_between_read_and_lock_rolls_back_everything(mode):
    """The second SKU runs short only inside the transaction (another
    writer holds its row, then sells it out): the first SKU's stock, the
    order rows and the cart are all left as they were."""
    c, uid, addr = buyer()
    first, second = skus(2, stock=5)
    put_cart(uid, {first: 1, second: 4})
    holder = subprocess.Popen(
        ["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "dailyfresh", "-e",
         f"BEGIN; SELECT stock FROM df_goods_sku WHERE id = {second} FOR UPDATE; DO SLEEP(1);"
         f" UPDATE df_goods_sku SET stock = 1 WHERE id = {second}; COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        a = commit(c, addr, [first, second])
    finally:
        holder.wait(timeout=30)
    assert a["res"] == 6 and a["sku_id"] == second, a
    assert sku_state(first) == (5, 0) and sku_state(second) == (1, 0)
    assert orders_of(uid) == []
    assert cart_hash(uid) == {str(first): "1", str(second): "4"}


def test_order_rows_totals_and_cart(mode):
    c, uid, addr = buyer()
    a1, a2, other = skus(3, stock=10)
    sql("UPDATE df_goods_sku SET price = '0.10' WHERE id = @p0", a2)
    put_cart(uid, {a1: 3, a2: 2, other: 1})
    a = commit(c, addr, [a2, a1, a2], pay_method=1)  # repeats and order do not matter
    assert a["res"] == 5 and a["message"] == "创建成功", a
    oid = a["order_id"]
    info = sql("SELECT user_id, addr_id, pay_method, total_count, total_price, transit_price, order_status,"
               " trade_no FROM df_order_info WHERE order_id = @p0", oid)
    assert info == [[str(uid), str(addr), "1", "5", "38.60", "10.00", "1", ""]]
    goods = sql("SELECT sku_id, count, price FROM df_order_goods WHERE order_id = @p0 ORDER BY sku_id", oid)
    assert goods == sorted([[str(a1), "3", "12.80"], [str(a2), "2", "0.10"]], key=lambda g: int(g[0]))
    assert sku_state(a1) == (7, 3) and sku_state(a2) == (8, 2) and sku_state(other) == (10, 0)
    assert cart_hash(uid) == {str(other): "1"}


def test_another_users_address_is_refused(mode):
    c, uid, _ = buyer()
    _, _, foreign = buyer()
    (sku,) = skus()
    put_cart(uid, {sku: 1})
    assert commit(c, foreign, [sku]) == {"res": 3, "errmsg": "地址非法"}
    assert sku_state(sku) == (100, 0) and orders_of(uid) == []


def test_orders_at_once_past_the_unpaid_cap(mode):
    # thirty commits of one user at the same moment, each of its own SKU:
    # the cap holds however they interleave
    c, uid, addr = buyer()
    ids = skus(UNPAID_CAP + 10, stock=3)
    put_cart(uid, {s: 1 for s in ids})
    with concurrent.futures.ThreadPoolExecutor(len(ids)) as pool:
        answers = list(pool.map(lambda s: commit(c, addr, [s]), ids))
    codes = [a["res"] for a in answers]
    assert codes.count(5) == UNPAID_CAP, (mode, answers)
    refused = [a for a in answers if a["res"] != 5]
    assert refused == [{"res": 7, "errmsg": "下单失败", "reason": "too_many_unpaid", "max_unpaid": UNPAID_CAP}] * 10
    assert len(orders_of(uid)) == UNPAID_CAP
    taken = [s for s in ids if sku_state(s) == (2, 1)]
    assert len(taken) == UNPAID_CAP and all(sku_state(s) == (3, 0) for s in ids if s not in taken)


def test_twenty_orders_at_once_get_twenty_ids(mode):
    c, uid, addr = buyer()
    ids = skus(20, stock=3)
    put_cart(uid, {s: 1 for s in ids})
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda s: commit(c, addr, [s]), ids))
    assert [a["res"] for a in answers] == [5] * 20, answers
    order_ids = [a["order_id"] for a in answers]
    assert len(set(order_ids)) == 20
    assert all(len(o) <= 64 and o.replace("_", "").isalnum() and o.isascii() for o in order_ids)
    assert sorted(orders_of(uid)) == sorted(order_ids)
    assert cart_hash(uid) == {}


def test_idempotency_key_sequential_and_concurrent(mode):
    c, uid, addr = buyer()
    sku, sku2 = skus(2, stock=10)
    put_cart(uid, {sku: 2})
    key = uuid.uuid4().hex
    first = commit(c, addr, [sku], headers={"Idempotency-Key": key})
    assert first["res"] == 5
    put_cart(uid, {sku: 2})  # the page still shows it: a retry must not buy again
    again = commit(c, addr, [sku], headers={"Idempotency-Key": key})
    assert again["res"] == 5 and again["order_id"] == first["order_id"] and again["replayed"] is True
    assert sku_state(sku) == (8, 2) and len(orders_of(uid)) == 1

    # five at the same moment, through nginx to both instances: one order
    put_cart(uid, {sku2: 1})
    key2 = "k_" + uuid.uuid4().hex
    clients = []
    for _ in range(5):
        k = Client()
        k.cookies.update(c.cookies)
        clients.append(k)
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda k: commit(k, addr, [sku2], extra={"idempotency_key": key2}), clients))
    assert [a["res"] for a in answers] == [5] * 5, answers
    assert len({a["order_id"] for a in answers}) == 1
    assert sku_state(sku2) == (9, 1) and len(orders_of(uid)) == 2
    # the key is the user's: another user's same key makes its own order
    c2, uid2, addr2 = buyer()
    put_cart(uid2, {sku2: 1})
    other = commit(c2, addr2, [sku2], headers={"Idempotency-Key": key2})
    assert other["res"] == 5 and other["order_id"] not in {a["order_id"] for a in answers}


@pytest.mark.parametrize("data, expect", [
    ({}, {"res": 1, "errmsg": "参数不完整"}),
    ({"pay_method": 3, "sku_ids": "1"}, {"res": 1, "errmsg": "参数不完整"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": ""}, {"res": 1, "errmsg": "参数不完整"}),
    ({"addr_id": "{addr}", "pay_method": 0, "sku_ids": "{sku}"}, {"res": 2, "errmsg": "非法的支付方式"}),
    ({"addr_id": "{addr}", "pay_method": 5, "sku_ids": "{sku}"}, {"res": 2, "errmsg": "非法的支付方式"}),
    ({"addr_id": "{addr}", "pay_method": "3 ", "sku_ids": "{sku}"}, {"res": 2, "errmsg": "非法的支付方式"}),
    ({"addr_id": "x1", "pay_method": 3, "sku_ids": "{sku}"}, {"res": 3, "errmsg": "地址非法"}),
    ({"addr_id": "99999999", "pay_method": 3, "sku_ids": "{sku}"}, {"res": 3, "errmsg": "地址非法"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": "abc"},
     {"res": 4, "errmsg": "商品不存在", "sku_id": "abc", "reason": "bad_id"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": "-1"},
     {"res": 4, "errmsg": "商品不存在", "sku_id": "-1", "reason": "bad_id"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": "99999999999999999999"},
     {"res": 4, "errmsg": "商品不存在", "sku_id": "99999999999999999999", "reason": "bad_id"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": "{sku},2147483000"},
     {"res": 4, "errmsg": "商品不存在", "sku_id": 2147483000, "reason": "not_in_cart"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": "{sku}", "idempotency_key": "bad key!"},
     {"res": 1, "errmsg": "参数不完整", "reason": "idempotency_key"}),
    ({"addr_id": "{addr}", "pay_method": 3, "sku_ids": ",".join(str(i) for i in range(1, 102))},
     {"res": 1, "errmsg": "参数不完整", "reason": "too_many_skus"}),
])
def test_bad_forms(data, expect):
    c, uid, addr = buyer()
    (sku,) = skus()
    put_cart(uid, {sku: 1})
    form = {k: str(v).replace("{addr}", str(addr)).replace("{sku}", str(sku)) for k, v in data.items()}
    r = c.post_form("/order/commit", form)
    assert r.status_code == 200 and r.json() == expect, r.text
    assert sku_state(sku) == (100, 0) and orders_of(uid) == []


def test_unknown_offline_and_missing_from_cart():
    c, uid, addr = buyer()
    good, offline = skus(2)
    sql("UPDATE df_goods_sku SET status = 0 WHERE id = @p0", offline)
    put_cart(uid, {good: 1, offline: 1, 2147483000: 1})
    assert commit(c, addr, [good, offline]) == {"res": 4, "errmsg": "商品不存在", "sku_id": offline,
                                                  "reason": "offline"}
    assert commit(c, addr, [good, 2147483000]) == {"res": 4, "errmsg": "商品不存在", "sku_id": 2147483000,
                                                     "reason": "unknown"}
    redis("HSET", f"cart_{uid}", good, "lots")
    assert commit(c, addr, [good]) == {"res": 4, "errmsg": "商品不存在", "sku_id": good, "reason": "not_in_cart"}
    assert sku_state(good) == (100, 0) and orders_of(uid) == []


def test_login_and_csrf_required():
    anon = Client()
    r = anon.post_form("/order/commit", {"addr_id": 1, "pay_method": 3, "sku_ids": "1"})
    assert r.status_code == 200 and r.json() == {"res": 0, "errmsg": "用户未登录"}
    c, uid, addr = buyer()
    r = c.post(c.url("/order/commit"), data={"addr_id": addr, "pay_method": 3, "sku_ids": "1"}, timeout=10)
    assert r.status_code == 403


def test_redis_failure_after_commit_still_answers_res_5():
    """Redis refuses DEL (an ACL rule) when the committed order's cart claim
    is dropped: the order stands, the answer is res 5, the claim is left for
    the mule's sweep and logged."""
    c, uid, addr = buyer()
    (sku,) = skus(stock=4)
    put_cart(uid, {sku: 1})
    redis("ACL", "SETUSER", "default", "-del")
    try:
        a = commit(c, addr, [sku])
    finally:
        redis("ACL", "SETUSER", "default", "+@all")
    assert a["res"] == 5, a
    assert orders_of(uid) == [a["order_id"]] and sku_state(sku) == (3, 1)
    assert cart_hash(uid) == {}
    assert redis("HGET", f"cart_claim_{a['order_id']}", sku) == "1"
    redis("DEL", f"cart_claim_{a['order_id']}")
    redis("ZREM", "cart_claims", a["order_id"])
    logs = uwsgi.logs()
    assert f"order {a['order_id']}: cart claim not dropped (Redis failed); the sweep settles it" in logs


def test_lock_wait_timeout_is_retried():
    """Another writer holds the SKU's row longer than the lock wait: the
    commit times out, rolls back, tries again and succeeds — never a 500."""
    with uwsgi_options("--dailyfresh-mysql-lock-wait", "1"):
        c, uid, addr = buyer()
        (sku,) = skus(stock=5)
        put_cart(uid, {sku: 1})
        holder = subprocess.Popen(
            ["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "dailyfresh", "-e",
             f"BEGIN; SELECT stock FROM df_goods_sku WHERE id = {sku} FOR UPDATE; DO SLEEP(2.5); COMMIT;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            t0 = time.monotonic()
            a = commit(c, addr, [sku])
            waited = time.monotonic() - t0
        finally:
            holder.wait(timeout=30)
        assert a["res"] == 5, a
        assert waited > 1.5  # it did wait out at least one timeout
        assert sku_state(sku) == (4, 1) and len(orders_of(uid)) == 1
