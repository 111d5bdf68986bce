"""The cart actions and reads: every res code of every endpoint, atomic
adds under concurrency, stock limits, exact totals, and carts written by
the Django site (plain HSETs) read back correctly."""
import threading

import pytest
import requests

from support.backends import redis, sql
from support.cart import cart_hash, login, make_sku, make_type, make_user, user_client
from support.env import BASE
from support.http import Client
from support.stack import stack

LOGIN = {"res": 0, "errmsg": "请先登录"}


@pytest.fixture(scope="module")
def goods():
    """A type of its own so catalog tests on the demo types are not disturbed."""
    return make_type("购物车测试")


@pytest.fixture
def user():
    c, uid = user_client()
    yield c, uid
    c.close()


def add(c, sku, count):
    return c.post_form("/cart/add", {"sku_id": sku, "count": count})


# ------------------------------------------------------------------ res 0

@pytest.mark.parametrize("path", ["/cart/add", "/cart/update", "/cart/delete"])
def test_actions_need_login(client, path):
    r = client.post_form(path, {"sku_id": 1, "count": 1})
    assert r.status_code == 200
    assert r.json() == LOGIN


@pytest.mark.parametrize("path", ["/api/cart", "/api/cart/count"])
def test_reads_need_login(client, path):
    r = client.get_json(path)
    assert r.status_code == 200
    assert r.json() == LOGIN


def test_unknown_session_is_not_logged_in(client):
    client.cookies.set("sessionid", "0" * 32)
    assert add(client, 1, 1).json() == LOGIN


@pytest.mark.parametrize("data", [{"sku_id": 1}, {"sku_id": 1, "count": 0}, {"sku_id": 999999, "count": 1},
                                  {"sku_id": 33, "count": 1}, {"sku_id": 1, "count": 2000000000}])
def test_login_is_checked_before_everything_else(client, data):
    """The original's order: res 0 wins over 1-4 even when the cookie looks fine."""
    client.cookies.set("sessionid", "f" * 32)
    for path in ("/cart/add", "/cart/update"):
        assert client.post_form(path, data).json() == LOGIN, (path, data)


# ------------------------------------------------------------------ /cart/add

def test_add_incomplete_is_res1(user):
    c, uid = user
    for data in ({"count": 1}, {"sku_id": 1}, {}, {"sku_id": "", "count": 1}, {"sku_id": 1, "count": ""}):
        assert c.post_form("/cart/add", data).json() == {"res": 1, "errmsg": "数据不完整"}, data
    assert cart_hash(uid) == {}


@pytest.mark.parametrize("count", ["0", "-1", "-5", "abc", "1.5", "1e2", " 1", "+1",
                                   "2147483648", "99999999999999999999999"])
def test_add_bad_count_is_res2(user, count):
    c, uid = user
    assert add(c, 1, count).json() == {"res": 2, "errmsg": "商品数目出错"}
    assert cart_hash(uid) == {}


def test_add_bad_count_in_json_body_is_res2(user):
    c, uid = user
    for count in (0, -3, 1.5, True):
        r = c.post_json("/cart/add", {"sku_id": 1, "count": count})
        assert r.json() == {"res": 2, "errmsg": "商品数目出错"}, count
    assert cart_hash(uid) == {}


@pytest.mark.parametrize("sku", ["abc", "0", "-1", "1.0", "999999999", "99999999999999999999", "33"])
def test_add_unknown_or_offline_sku_is_res3(user, sku):
    c, uid = user
    assert add(c, sku, 1).json() == {"res": 3, "errmsg": "商品不存在"}
    assert cart_hash(uid) == {}


def test_add_accumulates_and_totals_are_sums(user, goods):
    c, uid = user
    a = make_sku(*goods, stock=50)
    b = make_sku(*goods, stock=50)
    assert add(c, a, 2).json() == {"res": 5, "message": "添加成功", "total_count": 2}
    assert add(c, a, 3).json() == {"res": 5, "message": "添加成功", "total_count": 5}
    # total_count is the sum of counts, not the number of SKUs
    assert add(c, b, 4).json() == {"res": 5, "message": "添加成功", "total_count": 9}
    assert cart_hash(uid) == {str(a): "5", str(b): "4"}


def test_add_accepts_json_body(user, goods):
    c, uid = user
    a = make_sku(*goods)
    r = c.post_json("/cart/add", {"sku_id": a, "count": 2})
    assert r.json() == {"res": 5, "message": "添加成功", "total_count": 2}


def test_add_beyond_stock_is_res4_and_changes_nothing(user, goods):
    c, uid = user
    a = make_sku(*goods, stock=5)
    assert add(c, a, 3).json()["res"] == 5
    assert add(c, a, 3).json() == {"res": 4, "errmsg": "商品库存不足"}
    assert add(c, a, 6).json() == {"res": 4, "errmsg": "商品库存不足"}
    assert cart_hash(uid) == {str(a): "3"}
    assert add(c, a, 2).json() == {"res": 5, "message": "添加成功", "total_count": 5}
    assert add(c, a, 1).json()["res"] == 4
    assert cart_hash(uid) == {str(a): "5"}


def test_add_over_a_garbage_stored_value_does_not_crash(user, goods):
    c, uid = user
    a = make_sku(*goods)
    b = make_sku(*goods)
    redis("HSET", f"cart_{uid}", a, "abc", b, "x1")
    assert add(c, a, 2).json() == {"res": 5, "message": "添加成功", "total_count": 2}
    assert cart_hash(uid)[str(a)] == "2"


def test_concurrent_adds_lose_nothing(goods):
    """32 clients x 25 adds of 1, one session: the original ended at 427."""
    a = make_sku(*goods, stock=100000)
    uid = make_user()
    base = Client()
    sid = login(base, uid)
    token = base.csrf()
    errors = []

    def worker():
        s = requests.Session()  # a connection of its own
        s.cookies.set("sessionid", sid)
        s.cookies.set("csrftoken", token)
        try:
            for _ in range(25):
                r = s.post(BASE + "/cart/add", data={"sku_id": a, "count": 1},
                           headers={"X-CSRFToken": token}, timeout=30)
                if r.status_code != 200 or r.json().get("res") != 5:
                    errors.append((r.status_code, r.text))
        finally:
            s.close()

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cart_hash(uid) == {str(a): "800"}
    assert base.get_json("/api/cart/count").json() == {"res": 1, "total_count": 800}


def test_concurrent_adds_never_pass_stock(goods):
    a = make_sku(*goods, stock=30)
    uid = make_user()
    base = Client()
    sid = login(base, uid)
    token = base.csrf()
    results = []

    def worker():
        s = requests.Session()
        s.cookies.set("sessionid", sid)
        s.cookies.set("csrftoken", token)
        for _ in range(5):
            r = s.post(BASE + "/cart/add", data={"sku_id": a, "count": 1}, headers={"X-CSRFToken": token},
                       timeout=30)
            results.append(r.json()["res"])
        s.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(5) == 30 and results.count(4) == 20
    assert cart_hash(uid) == {str(a): "30"}


# ------------------------------------------------------------------ /cart/update

def test_update_codes(user, goods):
    c, uid = user
    a = make_sku(*goods, stock=10)
    b = make_sku(*goods, stock=10)
    up = lambda sku, count: c.post_form("/cart/update", {"sku_id": sku, "count": count}).json()
    assert c.post_form("/cart/update", {"sku_id": a}).json() == {"res": 1, "errmsg": "数据不完整"}
    assert c.post_form("/cart/update", {"count": 1}).json() == {"res": 1, "errmsg": "数据不完整"}
    for bad in ("0", "-2", "x", "2.5", "99999999999"):
        assert up(a, bad) == {"res": 2, "errmsg": "商品数目出错"}, bad
    for bad in ("x", "0", "999999999", "33"):
        assert up(bad, 1) == {"res": 3, "errmsg": "商品不存在"}, bad
    assert up(b, 4) == {"res": 5, "message": "更新成功", "total_count": 4}
    assert up(a, 7) == {"res": 5, "message": "更新成功", "total_count": 11}
    # update sets, it does not add
    assert up(a, 2) == {"res": 5, "message": "更新成功", "total_count": 6}
    assert up(a, 11) == {"res": 4, "errmsg": "商品库存不足"}
    assert cart_hash(uid) == {str(a): "2", str(b): "4"}
    assert up(a, 10)["res"] == 5


# ------------------------------------------------------------------ /cart/delete

def test_delete_codes(user, goods):
    c, uid = user
    a = make_sku(*goods)
    b = make_sku(*goods)
    rm = lambda sku: c.post_form("/cart/delete", {"sku_id": sku}).json()
    assert c.post_form("/cart/delete", {}).json() == {"res": 1, "errmsg": "无效的商品id"}
    for bad in ("", "abc", "0", "-1", "1.5"):
        assert rm(bad) == {"res": 1, "errmsg": "无效的商品id"}, bad
    assert rm(999999999) == {"res": 2, "errmsg": "商品不存在"}
    add(c, a, 2)
    add(c, b, 3)
    assert rm(a) == {"res": 3, "message": "删除成功", "total_count": 3}
    assert cart_hash(uid) == {str(b): "3"}
    # deleting what is not in the cart is fine
    assert rm(a) == {"res": 3, "message": "删除成功", "total_count": 3}


def test_delete_offline_sku_is_allowed(user, goods):
    c, uid = user
    off = make_sku(*goods, status=0)
    redis("HSET", f"cart_{uid}", off, 2, "33", 1)
    assert c.post_form("/cart/delete", {"sku_id": off}).json() == {"res": 3, "message": "删除成功",
                                                                   "total_count": 1}
    assert c.post_form("/cart/delete", {"sku_id": 33}).json()["res"] == 3
    assert cart_hash(uid) == {}


# ------------------------------------------------------------------ GET /cart

def test_cart_read_of_a_hash_written_directly(user, goods):
    c, uid = user
    a = make_sku(*goods, price="0.10", stock=99)
    b = make_sku(*goods, price="12.80", stock=99)
    off = make_sku(*goods, price="45.00", status=0)
    redis("HSET", f"cart_{uid}", a, 3, b, 7, 999999999, 4, "abc", 1, off, 1)
    r = c.get_json("/api/cart")
    assert r.status_code == 200
    body = r.json()
    assert body["res"] == 1
    items = {i["id"]: i for i in body["items"]}
    assert set(items) == {a, b, off}
    assert items[a]["count"] == 3 and items[a]["amount"] == "0.30" and items[a]["price"] == "0.10"
    assert items[b]["count"] == 7 and items[b]["amount"] == "89.60" and items[b]["price"] == "12.80"
    assert items[off]["status"] == 0 and items[off]["amount"] == "45.00"
    assert set(items[a]) == {"id", "name", "price", "unite", "image", "stock", "status", "count", "amount"}
    assert items[a]["image"] == "images/goods/goods001.svg" and items[a]["stock"] == 99
    assert body["total_count"] == 11
    assert body["total_price"] == "134.90"
    # the SKUs that do not exist are gone from the hash too
    assert cart_hash(uid) == {str(a): "3", str(b): "7", str(off): "1"}


def test_cart_read_keeps_the_hash_order_and_empty_cart(user, goods):
    c, uid = user
    assert c.get_json("/api/cart").json() == {"res": 1, "items": [], "total_count": 0, "total_price": "0.00"}
    skus = [make_sku(*goods, price="1.01") for _ in range(3)]
    for s in skus:
        add(c, s, 1)
    order = [int(f) for f in redis("HKEYS", f"cart_{uid}").splitlines()]
    body = c.get_json("/api/cart").json()
    assert [i["id"] for i in body["items"]] == order
    assert body["total_price"] == "3.03"


def test_cart_count(user, goods):
    c, uid = user
    assert c.get_json("/api/cart/count").json() == {"res": 1, "total_count": 0}
    a = make_sku(*goods)
    add(c, a, 4)
    redis("HSET", f"cart_{uid}", "1", 2, "2", "junk")
    assert c.get_json("/api/cart/count").json() == {"res": 1, "total_count": 6}


@pytest.mark.destructive
def test_redis_outage_is_503(user, goods):
    c, uid = user
    a = make_sku(*goods)
    c.csrf()
    stack("stop-redis")
    try:
        for r in (add(c, a, 1), c.get_json("/api/cart"), c.get_json("/api/cart/count")):
            assert r.status_code == 503
            assert r.json() == {"error": "redis unavailable"}
    finally:
        stack("start-redis")
    assert add(c, a, 1).json()["res"] == 5
