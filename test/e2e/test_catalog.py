"""The catalog: goods types, paginated and sorted lists, SKU details with
the viewing history, and the index page's data."""
import time

import pytest
import requests

from support.backends import redis, sql
from support.cart import add_comment, make_goods, make_sku, make_skus, make_type, make_user, user_client
from support.env import BASE
from support.http import Client

SKU_KEYS = {"id", "name", "desc", "price", "unite", "image", "stock", "sales"}
PAGE_SIZE = 10  # dailyfresh-page-size default


@pytest.fixture(scope="module")
def big_type():
    """65 sellable SKUs (7 pages) and 2 offline ones, in a type of its own."""
    type_id, goods_id = make_type("分页测试")
    ids = make_skus(type_id, goods_id, 65)
    off = [make_sku(type_id, goods_id, status=0, price="0.01", sales=999) for _ in range(2)]
    return type_id, ids, off


def get(c, path):
    r = c.get_json(path)
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    return r


# ------------------------------------------------------------------ types

def test_goods_types(client):
    r = get(client, "/api/goods/types")
    assert r.status_code == 200
    types = r.json()["types"]
    assert [t["id"] for t in types[:6]] == [1, 2, 3, 4, 5, 6]
    assert types[0] == {"id": 1, "name": "新鲜水果", "logo": "fruit", "image": "images/types/fruit.svg"}


# ------------------------------------------------------------------ lists

def test_list_default_sort_is_newest_first(client, big_type):
    type_id, ids, off = big_type
    body = get(client, f"/api/list/{type_id}/1").json()
    assert body["type"]["id"] == type_id and body["type"]["name"] == "分页测试"
    assert body["sort"] == "default"
    assert body["page"] == 1 and body["num_pages"] == 7
    assert [s["id"] for s in body["skus"]] == sorted(ids, reverse=True)[:PAGE_SIZE]
    assert set(body["skus"][0]) == SKU_KEYS
    assert [s["id"] for s in body["new_skus"]] == sorted(ids, reverse=True)[:2]


def test_list_pages_cover_every_sellable_sku_once(client, big_type):
    type_id, ids, off = big_type
    seen = []
    for page in range(1, 8):
        body = get(client, f"/api/list/{type_id}/{page}?sort=price").json()
        assert body["page"] == page
        seen += [s["id"] for s in body["skus"]]
    assert sorted(seen) == sorted(ids)
    assert not set(off) & set(seen)  # offline SKUs are never listed


def test_list_sort_by_price_and_hot(client, big_type):
    type_id, ids, off = big_type
    body = get(client, f"/api/list/{type_id}/1?sort=price").json()
    assert body["sort"] == "price"
    assert [s["price"] for s in body["skus"]] == ["%d.05" % i for i in range(1, 11)]
    all_hot = []
    for page in range(1, 8):
        all_hot += get(client, f"/api/list/{type_id}/{page}?sort=hot").json()["skus"]
    sales = [s["sales"] for s in all_hot]
    assert sales == sorted(sales, reverse=True)
    alias = get(client, f"/api/list/{type_id}/1?sort=sales").json()
    assert alias["sort"] == "hot"
    assert alias["skus"] == all_hot[:PAGE_SIZE]
    other = get(client, f"/api/list/{type_id}/1?sort=bogus").json()
    assert other["sort"] == "default"


@pytest.mark.parametrize("page,expect", [(1, [1, 2, 3, 4, 5]), (3, [1, 2, 3, 4, 5]), (4, [2, 3, 4, 5, 6]),
                                         (5, [3, 4, 5, 6, 7]), (7, [3, 4, 5, 6, 7])])
def test_list_page_links(client, big_type, page, expect):
    body = get(client, f"/api/list/{big_type[0]}/{page}").json()
    assert body["page"] == page and body["pages"] == expect


def test_list_last_page_is_partial(client, big_type):
    type_id, ids, off = big_type
    body = get(client, f"/api/list/{type_id}/7").json()
    assert [s["id"] for s in body["skus"]] == sorted(ids, reverse=True)[60:]


@pytest.mark.parametrize("page", ["8", "0", "999999", "abc", "99999999999999999999999"])
def test_list_page_out_of_range_is_page_1(client, big_type, page):
    body = get(client, f"/api/list/{big_type[0]}/{page}").json()
    assert body["page"] == 1
    assert [s["id"] for s in body["skus"]] == sorted(big_type[1], reverse=True)[:PAGE_SIZE]


def test_list_of_a_small_and_an_empty_type(client):
    type_id, goods_id = make_type("空类型")
    body = get(client, f"/api/list/{type_id}/1").json()
    assert body["skus"] == [] and body["num_pages"] == 1 and body["pages"] == [1] and body["new_skus"] == []
    a = make_sku(type_id, goods_id, price="12.80")
    b = make_sku(type_id, goods_id, price="3.00")
    body = get(client, f"/api/list/{type_id}/1?sort=price").json()
    assert [(s["id"], s["price"]) for s in body["skus"]] == [(b, "3.00"), (a, "12.80")]
    assert body["pages"] == [1] and body["num_pages"] == 1


def test_list_unknown_type_is_404(client):
    r = get(client, "/api/list/999999/1")
    assert r.status_code == 404 and "error" in r.json()
    assert client.get_json("/api/list/abc/1").status_code == 404


# ------------------------------------------------------------------ detail

def test_detail(client):
    r = get(client, "/api/goods/3")
    assert r.status_code == 200
    body = r.json()
    assert body["sku"] == {"id": 3, "name": "巨峰葡萄 500g", "desc": "巨峰葡萄 500g，精选好货，冷链配送。",
                           "price": "9.90", "unite": "盒", "image": "images/goods/goods003.svg",
                           "stock": int(sql("SELECT stock FROM df_goods_sku WHERE id = 3")[0][0]),
                           "sales": int(sql("SELECT sales FROM df_goods_sku WHERE id = 3")[0][0])}
    assert body["goods"] == {"id": 2, "name": "葡萄", "detail": "<p>葡萄：产地直采，新鲜到家。</p>"}
    assert body["type"]["id"] == 1
    assert [s["id"] for s in body["same_spu_skus"]] == [4]
    assert body["cart_count"] == 0
    assert isinstance(body["comments"], list)


def test_detail_same_spu_and_new_skus_only_list_sellable(client):
    type_id, goods_id = make_type("详情测试")
    a = make_sku(type_id, goods_id)
    b = make_sku(type_id, goods_id)
    off = make_sku(type_id, goods_id, status=0)
    c = make_sku(type_id, make_goods(), price="1.10")
    body = get(client, f"/api/goods/{a}").json()
    assert [s["id"] for s in body["same_spu_skus"]] == [b]
    assert [s["id"] for s in body["new_skus"]] == [c, b]
    assert off not in [s["id"] for s in body["new_skus"]]


def test_detail_comments_newest_first_non_empty_only(client):
    type_id, goods_id = make_type("评论测试")
    a = make_sku(type_id, goods_id)
    uid = make_user()
    name = sql("SELECT username FROM df_user WHERE id = @p0", uid)[0][0]
    add_comment(a, uid, "很新鲜")
    time.sleep(0.01)
    add_comment(a, uid, "")
    add_comment(a, uid, "还会再买")
    comments = get(client, f"/api/goods/{a}").json()["comments"]
    assert [c["comment"] for c in comments] == ["还会再买", "很新鲜"]
    assert comments[0]["username"] == name and len(comments[0]["time"]) == 19


@pytest.mark.parametrize("sku", ["33", "999999"])
def test_detail_offline_or_missing_is_404(client, sku):
    r = get(client, f"/api/goods/{sku}")
    assert r.status_code == 404 and set(r.json()) == {"error"}


def test_detail_records_history_for_logged_in_users():
    c, uid = user_client()
    for sku in (1, 2, 3, 4, 5, 6, 2, 7):
        assert c.get_json(f"/api/goods/{sku}").status_code == 200
    # newest first, no duplicates, five kept
    assert redis("LRANGE", f"history_{uid}", 0, -1).split() == ["7", "2", "6", "5", "4"]
    assert c.get_json("/api/goods/7").status_code == 200
    assert redis("LRANGE", f"history_{uid}", 0, -1).split() == ["7", "2", "6", "5", "4"]
    c.get_json("/api/goods/33")  # a 404 is not history
    assert redis("LRANGE", f"history_{uid}", 0, -1).split()[0] == "7"


def test_detail_cart_count_for_logged_in_user():
    c, uid = user_client()
    redis("HSET", f"cart_{uid}", 1, 2, 3, 5)
    assert c.get_json("/api/goods/1").json()["cart_count"] == 7


def test_detail_anonymous_records_nothing(client):
    before = redis("KEYS", "history_*")
    client.get_json("/api/goods/1")
    assert redis("KEYS", "history_*") == before


# ------------------------------------------------------------------ index

def test_index_anonymous(client):
    r = get(client, "/api/index")
    assert r.status_code == 200
    body = r.json()
    types = {t["id"]: t for t in body["types"]}
    assert {1, 2, 3, 4, 5, 6} <= set(types)
    assert [s["id"] for s in types[1]["image_banners"]] == [1, 2, 3]
    assert [s["id"] for s in types[1]["title_banners"]] == [4, 5, 6, 7, 8]
    assert [s["id"] for s in types[2]["title_banners"]] == [12, 13]
    # SKU 33 is offline: not shown in type 6's title banners
    assert [s["id"] for s in types[6]["title_banners"]] == [32]
    assert set(types[1]["image_banners"][0]) == SKU_KEYS
    assert [(b["index"], b["sku"]["id"]) for b in body["banners"]] == [(0, 1), (1, 7), (2, 12), (3, 20)]
    assert body["banners"][0]["image"] == "images/banner/banner1.svg"
    assert [p["name"] for p in body["promotions"]] == ["吃货暑假趴", "盛夏尝鲜季"]
    assert body["promotions"][0]["url"] == "/static/list.html?type=1"
    assert body["cart_count"] == 0


def test_index_cart_count_is_the_sum_of_counts():
    c, uid = user_client()
    assert c.get_json("/api/index").json()["cart_count"] == 0
    redis("HSET", f"cart_{uid}", 1, 2, 5, 9)
    assert c.get_json("/api/index").json()["cart_count"] == 11


def test_reads_reload_their_script_after_redis_forgets_it():
    """The index, detail and cart reads resolve the session and the cart in one
    Redis script (the index while MariaDB answers): after SCRIPT FLUSH (a
    Redis restart has the same effect) each loads it again and answers as
    before, for the right user."""
    c, uid = user_client()
    redis("HSET", f"cart_{uid}", 1, 2, 5, 9)
    other, _ = user_client()
    for path, total in (("/api/index", "cart_count"), ("/api/goods/1", "cart_count"),
                        ("/api/cart", "total_count"), ("/api/cart/count", "total_count")):
        redis("SCRIPT", "FLUSH")
        assert c.get_json(path).json()[total] == 11, path
        assert other.get_json(path).json()[total] == 0, path
    assert redis("LRANGE", f"history_{uid}", 0, -1).split() == ["1"]
    anon = requests.get(f"{BASE}/api/index", timeout=10).json()
    assert anon["cart_count"] == 0
