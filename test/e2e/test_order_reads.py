"""The order reads: the order page before commit (/api/order/preview), the
order list and one order (/api/orders, /api/orders/<id>). Orders are made
by direct inserts, as the commit endpoint would leave them."""
import uuid

import pytest

from support.backends import redis, sql
from support.cart import make_sku, make_type, user_client

LOGIN = {"res": 0, "errmsg": "用户未登录"}
INCOMPLETE = {"res": 1, "errmsg": "参数不完整"}
BAD_PAGE = {"res": 1, "errmsg": "页码错误"}
NOT_FOUND = {"res": 2, "errmsg": "订单不存在"}


@pytest.fixture(scope="module")
def goods():
    return make_type("订单测试")


@pytest.fixture
def user():
    c, uid = user_client()
    yield c, uid
    c.close()


def make_address(uid, receiver="张三", is_default=0, created="2024-01-01 00:00:00", zip_code=None):
    rows = sql("INSERT INTO df_address (create_time, update_time, receiver, addr, zip_code, phone, is_default,"
               " user_id) VALUES (@p0, @p0, @p1, '北京市海淀区', IF(@p2 = '', NULL, @p2), '13800000000', @p3, @p4);"
               " SELECT LAST_INSERT_ID()", created, receiver, zip_code or "", is_default, uid)
    return int(rows[-1][0])


def make_order(uid, addr_id, items, created="2024-05-01 12:00:00", status=1, pay_method=3, trade_no="",
               order_id=None, transit="10.00"):
    """An order as /order/commit writes it; items: [(sku_id, count, price, comment)].
    Totals are computed here in cents; returns the order id."""
    oid = order_id or uuid.uuid4().hex
    count = sum(i[1] for i in items)
    cents = sum(i[1] * int(i[2].replace(".", "")) for i in items)
    total = f"{cents // 100}.{cents % 100:02d}"
    sql("INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
        " transit_price, order_status, trade_no, addr_id, user_id)"
        " VALUES (@p0, @p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9)",
        created, oid, pay_method, count, total, transit, status, trade_no, addr_id, uid)
    for sku, n, price, comment in items:
        sql("INSERT INTO df_order_goods (create_time, update_time, count, price, comment, order_id, sku_id)"
            " VALUES (@p0, @p0, @p1, @p2, @p3, @p4, @p5)", created, n, price, comment, oid, sku)
    return oid


def fill_cart(uid, counts):
    args = []
    for sku, n in counts.items():
        args += [sku, n]
    redis("DEL", f"cart_{uid}")
    if args:
        redis("HSET", f"cart_{uid}", *args)


def preview(c, ids, method="GET"):
    if method == "GET":
        return c.get_json("/api/order/preview", params={"sku_ids": ids})
    return c.post_form("/api/order/preview", {"sku_ids": ids})


def unknown_sku():
    return int(sql("SELECT COALESCE(MAX(id), 0) + 1000 FROM df_goods_sku")[0][0])


# ------------------------------------------------------------------ preview

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_preview_needs_login(client, method):
    r = preview(client, "1", method)
    assert r.status_code == 200
    assert r.json() == LOGIN
    client.cookies.set("sessionid", "e" * 32)
    assert preview(client, "1", method).json() == LOGIN


def test_preview_totals_exact_and_addresses_default_first(user, goods):
    c, uid = user
    a = make_sku(*goods, price="12.80", stock=50, name="扇贝")
    b = make_sku(*goods, price="0.10", stock=7, name="葱")
    fill_cart(uid, {a: 3, b: 1})
    old = make_address(uid, "旧地址", created="2024-01-01 00:00:00")
    default = make_address(uid, "默认", is_default=1, created="2023-01-01 00:00:00", zip_code="100084")
    new = make_address(uid, "新地址", created="2024-06-01 00:00:00")

    want_skus = [
        {"id": a, "name": "扇贝", "price": "12.80", "unite": "盒", "image": "images/goods/goods001.svg",
         "stock": 50, "count": 3, "amount": "38.40"},
        {"id": b, "name": "葱", "price": "0.10", "unite": "盒", "image": "images/goods/goods001.svg",
         "stock": 7, "count": 1, "amount": "0.10"},
    ]
    for method in ("GET", "POST"):
        d = preview(c, f"{a},{b}", method).json()
        assert d["res"] == 5
        assert d["skus"] == want_skus
        assert d["total_count"] == 4
        assert (d["total_price"], d["transit_price"], d["total_pay"]) == ("38.50", "10.00", "48.50")
        assert [x["id"] for x in d["addresses"]] == [default, new, old]
        assert d["addresses"][0] == {"id": default, "receiver": "默认", "addr": "北京市海淀区",
                                     "zip_code": "100084", "phone": "13800000000", "is_default": True}
        assert d["addresses"][1]["zip_code"] is None

    # repeated keys, JSON bodies and repeats all read the same list
    assert c.get_json("/api/order/preview", params=[("sku_ids", a), ("sku_ids", b)]).json() == d
    assert c.post_json("/api/order/preview", {"sku_ids": [a, b]}).json() == d
    again = preview(c, f"{b},{a},{b},{a}").json()
    assert [s["id"] for s in again["skus"]] == [b, a]
    assert again["total_price"] == "38.50"


def test_preview_sums_many_cents_exactly(user, goods):
    """Ten SKUs at 0.10 and 0.20: a float sum would not land on 3.00."""
    c, uid = user
    ids = [make_sku(*goods, price="0.10" if i % 2 else "0.20") for i in range(10)]
    fill_cart(uid, {s: 2 for s in ids})
    d = preview(c, ",".join(map(str, ids))).json()
    assert d["res"] == 5
    assert (d["total_count"], d["total_price"], d["total_pay"]) == (20, "3.00", "13.00")
    assert d["addresses"] == []


@pytest.mark.parametrize("params", [{}, {"sku_ids": ""}, {"sku_ids": ","}, {"other": "1"}])
def test_preview_without_sku_ids_is_res1(user, params):
    c, _ = user
    assert c.get_json("/api/order/preview", params=params).json() == INCOMPLETE
    assert c.post_form("/api/order/preview", params).json() == INCOMPLETE


def test_preview_at_most_100_ids(user, goods):
    c, uid = user
    sku = make_sku(*goods)
    fill_cart(uid, {sku: 1})
    assert preview(c, ",".join([str(sku)] * 100)).json()["res"] == 5
    assert preview(c, ",".join([str(sku)] * 101)).json() == INCOMPLETE
    assert preview(c, ",".join(str(i) for i in range(1, 102)), "POST").json() == INCOMPLETE
    form = [("sku_ids", str(i)) for i in range(1, 102)]
    assert c.post_form("/api/order/preview", form).json() == INCOMPLETE


def no_sku(sku_id, reason):
    return {"res": 4, "errmsg": "商品不存在", "sku_id": sku_id, "reason": reason}


def test_preview_refuses_skus_it_cannot_order(user, goods):
    c, uid = user
    ok = make_sku(*goods)
    offline = make_sku(*goods, status=0)
    absent = make_sku(*goods)
    zero = make_sku(*goods)
    junk = make_sku(*goods)
    unknown = unknown_sku()
    fill_cart(uid, {ok: 2, offline: 1, zero: 0, junk: "abc", unknown: 1})
    for method in ("GET", "POST"):
        assert preview(c, f"{ok},{absent}", method).json() == no_sku(absent, "not_in_cart")
        assert preview(c, f"{ok},{zero}", method).json() == no_sku(zero, "not_in_cart")
        assert preview(c, f"{junk}", method).json() == no_sku(junk, "not_in_cart")
        assert preview(c, f"{offline},{ok}", method).json() == no_sku(offline, "offline")
        assert preview(c, f"{ok},{unknown}", method).json() == no_sku(unknown, "unknown")
        # the first offending SKU in the order asked is named
        assert preview(c, f"{unknown},{offline}", method).json() == no_sku(unknown, "unknown")
        assert preview(c, f"{absent},{unknown},{offline}", method).json() == no_sku(absent, "not_in_cart")
        assert preview(c, f"{ok},{offline},{unknown}", method).json() == no_sku(offline, "offline")


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "2147483648", "99999999999999999999", " 1", "1a"])
def test_preview_bad_id_is_res4(user, goods, bad):
    c, uid = user
    ok = make_sku(*goods)
    fill_cart(uid, {ok: 1})
    for method in ("GET", "POST"):
        r = preview(c, f"{ok},{bad}", method)
        assert r.status_code == 200
        assert r.json() == no_sku(bad, "bad_id")


# ------------------------------------------------------------------ list

def test_orders_need_login(client):
    for path in ("/api/orders", "/api/orders?page=2", "/api/orders/abc", "/api/orders/" + "x" * 80):
        r = client.get_json(path)
        assert r.status_code == 200
        assert r.json() == LOGIN


def test_no_orders_is_one_empty_page(user):
    c, _ = user
    assert c.get_json("/api/orders").json() == {"res": 5, "page": 1, "num_pages": 1, "total": 0, "orders": []}


def test_orders_newest_first_in_pages_of_ten(user, goods):
    c, uid = user
    sku = make_sku(*goods, price="1.00")
    addr = make_address(uid)
    made = [make_order(uid, addr, [(sku, 1, "1.00", "")], created=f"2024-05-01 12:{m:02d}:00") for m in range(12)]
    # two orders in the same second: the larger order id first
    same = sorted([make_order(uid, addr, [(sku, 1, "1.00", "")], created="2024-04-01 00:00:00",
                              order_id=f"tie{uid}_{k}") for k in "ab"], reverse=True)
    newest = list(reversed(made)) + same

    d1 = c.get_json("/api/orders").json()
    assert (d1["res"], d1["page"], d1["num_pages"], d1["total"]) == (5, 1, 2, 14)
    assert [o["order_id"] for o in d1["orders"]] == newest[:10]
    assert c.get_json("/api/orders?page=1").json() == d1
    d2 = c.get_json("/api/orders?page=2").json()
    assert (d2["page"], d2["num_pages"], d2["total"]) == (2, 2, 14)
    assert [o["order_id"] for o in d2["orders"]] == newest[10:]
    d3 = c.get_json("/api/orders?page=3").json()
    assert (d3["res"], d3["page"], d3["num_pages"], d3["total"], d3["orders"]) == (5, 3, 2, 14, [])


def test_twelve_orders_make_two_pages(user, goods):
    c, uid = user
    sku = make_sku(*goods, price="1.00")
    addr = make_address(uid)
    for m in range(12):
        make_order(uid, addr, [(sku, 1, "1.00", "")], created=f"2024-05-01 12:{m:02d}:00")
    d = c.get_json("/api/orders?page=2").json()
    assert (d["page"], d["num_pages"], d["total"], len(d["orders"])) == (2, 2, 12, 2)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "", "1.5", "+1", "99999999999999999999"])
def test_bad_page_is_res1(user, page):
    c, _ = user
    r = c.get_json("/api/orders", params={"page": page})
    assert r.status_code == 200
    assert r.json() == BAD_PAGE


def order_object(oid, addr, sku_a, sku_b, **over):
    o = {"order_id": oid, "create_time": "2024-05-01 12:34:56", "status": 4, "status_name": "待评价",
         "pay_method": 3, "pay_method_name": "支付宝", "total_count": 4, "total_price": "38.50",
         "transit_price": "10.00", "total_pay": "48.50", "trade_no": "2024050122001",
         "address": {"id": addr, "receiver": "李四", "addr": "北京市海淀区", "phone": "13800000000",
                     "zip_code": "100084"},
         "items": [{"sku_id": sku_a, "name": "扇贝", "image": "images/goods/goods001.svg", "unite": "盒",
                    "price": "12.80", "count": 3, "amount": "38.40", "comment": "很新鲜"},
                   {"sku_id": sku_b, "name": "葱", "image": "images/goods/goods001.svg", "unite": "盒",
                    "price": "0.10", "count": 1, "amount": "0.10", "comment": ""}]}
    o.update(over)
    return o


def test_order_items_and_totals(user, goods):
    c, uid = user
    a = make_sku(*goods, price="15.00", name="扇贝")  # the order keeps the price paid
    b = make_sku(*goods, price="0.10", name="葱")
    addr = make_address(uid, "李四", zip_code="100084")
    oid = make_order(uid, addr, [(a, 3, "12.80", "很新鲜"), (b, 1, "0.10", "")], created="2024-05-01 12:34:56.789",
                     status=4, pay_method=3, trade_no="2024050122001")
    want = order_object(oid, addr, a, b)
    d = c.get_json("/api/orders").json()
    assert d["orders"] == [want]
    assert c.get_json(f"/api/orders/{oid}").json() == {"res": 5, "order": want}
    assert c.get_json(f"/api/orders/{oid}/").json() == {"res": 5, "order": want}


@pytest.mark.parametrize("status,name", [(1, "待支付"), (2, "待发货"), (3, "待收货"), (4, "待评价"), (5, "已完成"),
                                         (6, "已取消")])
def test_status_names(user, goods, status, name):
    c, uid = user
    sku = make_sku(*goods, price="2.00")
    oid = make_order(uid, make_address(uid), [(sku, 1, "2.00", "")], status=status)
    assert c.get_json("/api/orders").json()["orders"][0]["status_name"] == name
    o = c.get_json(f"/api/orders/{oid}").json()["order"]
    assert (o["status"], o["status_name"]) == (status, name)


@pytest.mark.parametrize("method,name", [(1, "货到付款"), (2, "微信支付"), (3, "支付宝"), (4, "银联支付")])
def test_pay_method_names(user, goods, method, name):
    c, uid = user
    sku = make_sku(*goods, price="2.00")
    oid = make_order(uid, make_address(uid), [(sku, 1, "2.00", "")], pay_method=method)
    o = c.get_json(f"/api/orders/{oid}").json()["order"]
    assert (o["pay_method"], o["pay_method_name"]) == (method, name)


def test_cancelled_order_is_listed_as_cancelled(user, goods):
    c, uid = user
    sku = make_sku(*goods, price="3.30")
    addr = make_address(uid)
    live = make_order(uid, addr, [(sku, 1, "3.30", "")], created="2024-05-02 00:00:00", status=1)
    gone = make_order(uid, addr, [(sku, 2, "3.30", "")], created="2024-05-01 00:00:00", status=6)
    orders = c.get_json("/api/orders").json()["orders"]
    assert [(o["order_id"], o["status"], o["status_name"]) for o in orders] == \
        [(live, 1, "待支付"), (gone, 6, "已取消")]
    assert orders[1]["total_pay"] == "16.60"


# ------------------------------------------------------------------ ownership

def test_other_users_orders_are_invisible(goods):
    alice, alice_id = user_client()
    bob, bob_id = user_client()
    try:
        sku = make_sku(*goods, price="5.00")
        oid = make_order(alice_id, make_address(alice_id), [(sku, 1, "5.00", "")])
        assert alice.get_json(f"/api/orders/{oid}").json()["res"] == 5
        assert bob.get_json("/api/orders").json() == {"res": 5, "page": 1, "num_pages": 1, "total": 0,
                                                      "orders": []}
        theirs = bob.get_json(f"/api/orders/{oid}")
        missing = bob.get_json("/api/orders/" + uuid.uuid4().hex)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json() == NOT_FOUND
        assert theirs.content == missing.content
        assert theirs.headers["Content-Type"] == missing.headers["Content-Type"] == "application/json; charset=utf-8"
        # the id's case matters: another case is another (missing) order
        assert alice.get_json(f"/api/orders/{oid.upper()}").json() == NOT_FOUND
    finally:
        alice.close()
        bob.close()


@pytest.mark.parametrize("bad", ["a" * 65, "a-b", "a.b", "ab%20c", "%E4%B8%AD", "a%27%20OR%201=1", "a;b"])
def test_bad_order_ids_are_not_found(user, bad):
    c, _ = user
    r = c.get_json("/api/orders/" + bad)
    assert r.status_code == 404
    assert r.json() == NOT_FOUND


def test_longest_order_id_is_looked_up(user, goods):
    c, uid = user
    sku = make_sku(*goods, price="1.00")
    oid = make_order(uid, make_address(uid), [(sku, 1, "1.00", "")], order_id=("L%d_" % uid).ljust(64, "x"))
    assert c.get_json(f"/api/orders/{oid}").json()["order"]["order_id"] == oid
    assert c.get_json(f"/api/orders/{oid}x").json() == NOT_FOUND


@pytest.mark.parametrize("path", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..%2f", "a%2Fb"])
def test_traversal_is_a_json_404(user, path):
    c, _ = user
    r = c.get(c.url("/api/orders/" + path), timeout=10)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.json() in (NOT_FOUND, {"error": "not found"})


# ------------------------------------------------------------------ statements per answer

def stmt_executes():
    return int(sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")[0][1])


def statements(c, path, **kw):
    """Prepared statements executed by one request: the fewest over three
    tries, so that a stray statement from elsewhere cannot count."""
    seen = []
    for _ in range(3):
        before = stmt_executes()
        r = c.get_json(path, **kw)
        assert r.status_code in (200, 404)
        seen.append(stmt_executes() - before)
    return min(seen)


def test_fixed_number_of_statements(goods):
    small, small_id = user_client()
    big, big_id = user_client()
    try:
        skus = [make_sku(*goods, price=p) for p in ("1.10", "2.20", "3.30")]
        a = make_address(small_id)
        one = make_order(small_id, a, [(skus[0], 1, "1.10", "")])
        b = make_address(big_id)
        ten = [make_order(big_id, b, [(s, 2, "1.10", "") for s in skus], created=f"2024-05-01 12:00:{k:02d}")
               for k in range(10)]
        fill_cart(small_id, {skus[0]: 1})
        fill_cart(big_id, {s: 1 for s in skus})

        d = big.get_json("/api/orders").json()
        assert len(d["orders"]) == 10 and all(len(o["items"]) == 3 for o in d["orders"])

        # the count, the page with its addresses, the items of the whole page
        assert statements(small, "/api/orders") == statements(big, "/api/orders") == 3
        # past the end: the count only
        assert statements(big, "/api/orders?page=9") == 1
        # the order with its address, its items; a miss stops after the first
        assert statements(small, f"/api/orders/{one}") == statements(big, f"/api/orders/{ten[0]}") == 2
        assert statements(big, f"/api/orders/{one}") == 1
        # the SKUs, the addresses
        assert statements(small, "/api/order/preview", params={"sku_ids": skus[0]}) == 2
        assert statements(big, "/api/order/preview", params={"sku_ids": ",".join(map(str, skus))}) == 2
    finally:
        small.close()
        big.close()
