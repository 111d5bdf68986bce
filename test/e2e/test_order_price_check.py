"""The price the buyer saw: /api/order/preview answers total_pay, the
place-order page sends it back with /order/commit, and a commit whose order
would now cost another amount (a price changed in between) is refused with
res 8 and the new amounts, writing nothing."""
import pytest

from support.backends import redis, sql
from support.orders import buyer, cart_hash, commit, orders_of, put_cart, sku_state, skus


def preview(c, ids):
    r = c.get_json("/api/order/preview", params={"sku_ids": ",".join(str(i) for i in ids)})
    assert r.status_code == 200, r.text
    return r.json()


def claims_of(uid):
    return [m for m in redis("ZRANGE", "cart_claims", 0, -1).splitlines() if f"_{uid}_" in m]


def test_shown_total_matches_places_the_order():
    c, uid, addr = buyer()
    a, b = skus(2, price="9.90")
    put_cart(uid, {a: 2, b: 1})
    shown = preview(c, [a, b])
    assert shown["res"] == 5 and shown["total_pay"] == "39.70"
    done = commit(c, addr, [a, b], extra={"total_pay": shown["total_pay"]})
    assert done["res"] == 5, done
    assert sql("SELECT total_price, transit_price FROM df_order_info WHERE order_id = @p0",
               done["order_id"]) == [["29.70", "10.00"]]


def test_price_changed_after_the_preview_is_res_8_and_writes_nothing():
    c, uid, addr = buyer()
    a, b = skus(2, stock=10, price="9.90")
    put_cart(uid, {a: 2, b: 1})
    shown = preview(c, [a, b])
    assert shown["total_pay"] == "39.70"
    sql("UPDATE df_goods_sku SET price = '99.00' WHERE id = @p0", b)
    refused = commit(c, addr, [a, b], extra={"total_pay": shown["total_pay"]})
    assert refused == {
        "res": 8, "errmsg": "商品价格已变化", "reason": "price_changed",
        "total_pay": "128.80", "total_price": "118.80", "transit_price": "10.00", "total_count": 3,
        "skus": [{"id": a, "price": "9.90", "count": 2, "amount": "19.80"},
                 {"id": b, "price": "99.00", "count": 1, "amount": "99.00"}],
    }, refused
    assert orders_of(uid) == [] and sku_state(a) == (10, 0) and sku_state(b) == (10, 0)
    assert cart_hash(uid) == {str(a): "2", str(b): "1"} and claims_of(uid) == []
    # the buyer confirms the new amount: it is placed at that amount
    done = commit(c, addr, [a, b], extra={"total_pay": refused["total_pay"]})
    assert done["res"] == 5, done
    assert sql("SELECT total_price FROM df_order_info WHERE order_id = @p0", done["order_id"]) == [["118.80"]]
    assert sql("SELECT sku_id, price FROM df_order_goods WHERE order_id = @p0 ORDER BY sku_id",
               done["order_id"]) == [[str(a), "9.90"], [str(b), "99.00"]]


def test_count_changed_in_another_tab_is_res_8_too():
    c, uid, addr = buyer()
    (a,) = skus(1, price="1.00")
    put_cart(uid, {a: 1})
    shown = preview(c, [a])
    redis("HSET", f"cart_{uid}", a, 4)
    refused = commit(c, addr, [a], extra={"total_pay": shown["total_pay"]})
    assert refused["res"] == 8 and refused["total_pay"] == "14.00" and refused["skus"][0]["count"] == 4
    assert orders_of(uid) == [] and cart_hash(uid) == {str(a): "4"}


def test_without_total_pay_the_current_prices_are_taken_as_before():
    c, uid, addr = buyer()
    (a,) = skus(1, price="9.90")
    put_cart(uid, {a: 1})
    preview(c, [a])
    sql("UPDATE df_goods_sku SET price = '19.90' WHERE id = @p0", a)
    done = commit(c, addr, [a])
    assert done["res"] == 5, done
    assert sql("SELECT total_price FROM df_order_info WHERE order_id = @p0", done["order_id"]) == [["19.90"]]


@pytest.mark.parametrize("value", ["abc", "", "29.801", "-29.80", "1e3", " 29.80", "29.80 ", "29,80",
                                   "100000000.00", "99999999999999999999999"])
def test_malformed_total_pay_is_res_1(value):
    c, uid, addr = buyer()
    (a,) = skus(1)
    put_cart(uid, {a: 1})
    assert commit(c, addr, [a], extra={"total_pay": value}) == {"res": 1, "errmsg": "参数不完整",
                                                                "reason": "total_pay"}
    assert orders_of(uid) == [] and sku_state(a) == (100, 0) and cart_hash(uid) == {str(a): "1"}
