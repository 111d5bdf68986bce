"""Amounts past what integer cents can hold (price x count set directly in
MariaDB and Redis): the cart read flags the line and refuses the total, the
order preview answers what the commit would (res 7 amount_too_large or
count_too_large), never a 500."""
from support.backends import redis
from support.orders import buyer, commit, put_cart, skus

TOP_PRICE = "99999999.99"  # the largest DECIMAL(10,2)
TOP_COUNT = 2147483647  # the largest count the cart takes


def test_cart_flags_the_line_and_refuses_the_total():
    c, uid, addr = buyer()
    huge, small = skus(2, price=TOP_PRICE, stock=5)
    (cheap,) = skus(1, price="1.50")
    put_cart(uid, {huge: TOP_COUNT, cheap: 2})
    r = c.get_json("/api/cart")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["res"] == 1 and d["total_count"] == TOP_COUNT + 2
    assert d["total_price"] is None and d["reason"] == "amount_too_large"
    items = {i["id"]: i for i in d["items"]}
    assert items[huge]["amount"] is None and items[huge]["reason"] == "amount_too_large"
    assert items[huge]["count"] == TOP_COUNT and items[huge]["price"] == TOP_PRICE
    assert items[cheap]["amount"] == "3.00" and "reason" not in items[cheap]
    # each line fits, their sum does not
    redis("DEL", f"cart_{uid}")
    put_cart(uid, {huge: 500000000, small: 500000000})
    d = c.get_json("/api/cart").json()
    assert d["total_price"] is None and d["reason"] == "amount_too_large"
    assert all(i["amount"] == "49999999995000000.00" for i in d["items"]), d
    # back in range: the total as before
    redis("HSET", f"cart_{uid}", huge, 1)
    redis("HDEL", f"cart_{uid}", small)
    d = c.get_json("/api/cart").json()
    assert d["total_price"] == TOP_PRICE and "reason" not in d


def test_preview_answers_what_the_commit_would():
    c, uid, addr = buyer()
    # stock enough for every count: the commit checks stock before the total
    (huge,) = skus(1, price=TOP_PRICE, stock=TOP_COUNT)
    (cheap,) = skus(1, price="0.01", stock=TOP_COUNT)
    (other,) = skus(1, price="0.01", stock=TOP_COUNT)
    put_cart(uid, {huge: TOP_COUNT, cheap: TOP_COUNT, other: TOP_COUNT})
    too_large = {"res": 7, "errmsg": "下单失败", "reason": "amount_too_large"}
    for ids in ([huge], [cheap, huge]):
        r = c.get_json("/api/order/preview", params={"sku_ids": ",".join(map(str, ids))})
        assert r.status_code == 200 and r.json() == too_large, r.text
        assert commit(c, addr, ids) == too_large
    # the product fits in cents but not in an order's DECIMAL(10,2)
    redis("HSET", f"cart_{uid}", huge, 2)
    r = c.get_json("/api/order/preview", params={"sku_ids": str(huge)})
    assert r.json() == too_large and commit(c, addr, [huge]) == too_large
    # the amounts fit, the count does not
    count = {"res": 7, "errmsg": "下单失败", "reason": "count_too_large"}
    r = c.get_json("/api/order/preview", params={"sku_ids": f"{cheap},{other}"})
    assert r.status_code == 200 and r.json() == count, r.text
    assert commit(c, addr, [cheap, other]) == count
    # an unknown SKU after the overflowing one is still named first
    r = c.get_json("/api/order/preview", params={"sku_ids": f"{huge},2147483000"})
    assert r.json() == {"res": 4, "errmsg": "商品不存在", "sku_id": 2147483000, "reason": "unknown"}
