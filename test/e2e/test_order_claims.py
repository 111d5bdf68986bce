"""One cart, one order: /order/commit claims the cart lines it orders out of
cart_<uid> before its transaction, so of several commits of one cart (each
with its own Idempotency-Key, as from several tabs) exactly one takes them;
a refused commit gives them back; and a claim left by a commit that never
finished is settled by the mule's sweep, by whether its order exists."""
import time
import uuid

from support import uwsgi
from support.backends import redis, sql
from support.orders import buyer, cart_hash, commit, commits_at_once, orders_of, put_cart, sku_state, skus
from support.stack import uwsgi_options

CLAIMS = "cart_claims"


def claims_of(uid):
    """The order ids of uid's claims in the index."""
    return [m for m in redis("ZRANGE", CLAIMS, 0, -1).splitlines() if f"_{uid}_" in m]


def claim_keys_of(uid):
    return redis("--scan", "--pattern", f"cart_claim_*_{uid}_*").splitlines()


def test_ten_tabs_commit_one_cart_one_order():
    c, uid, addr = buyer()
    a, b = skus(2, stock=100, price="2.50")
    (other,) = skus(1)
    put_cart(uid, {a: 2, b: 3, other: 1})
    answers = commits_at_once(c, addr, [a, b], ["tab_" + uuid.uuid4().hex for _ in range(10)])
    made = [x for x in answers if x["res"] == 5]
    refused = [x for x in answers if x["res"] != 5]
    assert len(made) == 1, answers
    assert all(x["res"] == 4 and x["reason"] == "not_in_cart" and x["sku_id"] in (a, b) for x in refused), answers
    assert orders_of(uid) == [made[0]["order_id"]]
    assert sql("SELECT sku_id, count FROM df_order_goods WHERE order_id = @p0 ORDER BY sku_id",
               made[0]["order_id"]) == [[str(a), "2"], [str(b), "3"]]
    assert sku_state(a) == (98, 2) and sku_state(b) == (97, 3)
    assert cart_hash(uid) == {str(other): "1"}
    assert claims_of(uid) == [] and claim_keys_of(uid) == []


def test_refused_commit_leaves_the_cart_as_it_was():
    c, uid, addr = buyer()
    plenty, short = skus(2, stock=5)
    put_cart(uid, {plenty: 2, short: 3})
    sql("UPDATE df_goods_sku SET stock = 2 WHERE id = @p0", short)
    assert commit(c, addr, [plenty, short]) == {"res": 6, "errmsg": "商品库存不足", "sku_id": short}
    assert cart_hash(uid) == {str(plenty): "2", str(short): "3"}
    assert sku_state(plenty) == (5, 0) and orders_of(uid) == []
    assert claims_of(uid) == [] and claim_keys_of(uid) == []
    # one line missing from the cart: nothing is taken from it
    redis("HDEL", f"cart_{uid}", short)
    assert commit(c, addr, [plenty, short]) == {"res": 4, "errmsg": "商品不存在", "sku_id": short,
                                                  "reason": "not_in_cart"}
    assert cart_hash(uid) == {str(plenty): "2"}
    assert claims_of(uid) == []


def test_replayed_key_still_answers_its_order():
    """The same key twice at once (a double click): both answers are the one
    order, though only one request could claim the lines."""
    c, uid, addr = buyer()
    (sku,) = skus(stock=10)
    put_cart(uid, {sku: 1})
    key = "dbl_" + uuid.uuid4().hex
    answers = commits_at_once(c, addr, [sku], [key] * 5)
    assert [x["res"] for x in answers] == [5] * 5, answers
    assert len({x["order_id"] for x in answers}) == 1
    assert sku_state(sku) == (9, 1) and cart_hash(uid) == {}


def write_claim(uid, order_id, lines, age_s):
    """A claim as the commit's script writes it, made age_s seconds ago."""
    args = ["uid", uid]
    for sku, count in lines.items():
        args += [sku, count]
    redis("HSET", f"cart_claim_{order_id}", *args)
    now = int(redis("TIME").splitlines()[0])
    redis("ZADD", CLAIMS, now - age_s, order_id)


def wait_until(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s")


def test_left_claims_are_settled_by_the_sweep_both_ways():
    """A claim whose order does not exist gives its lines back (added to what
    the cart holds by then); a claim whose order exists is dropped; a fresh
    claim is left alone (a real claim left by a killed worker:
    test_order_claim_crash.py)."""
    with uwsgi_options("--dailyfresh-order-expire-interval", "1", "--dailyfresh-order-claim-age", "3"):
        c, uid, addr = buyer()
        a, b, fresh = skus(3, stock=10)
        # an order that committed: its claim was never dropped
        put_cart(uid, {b: 1})
        done = commit(c, addr, [b])
        assert done["res"] == 5
        put_cart(uid, {a: 1})  # the buyer added one more of a since
        lost = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"000000_{uid}_" + uuid.uuid4().hex[:12]
        write_claim(uid, lost, {a: 2}, 1000)
        write_claim(uid, done["order_id"], {b: 5}, 1000)
        young = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"000001_{uid}_" + uuid.uuid4().hex[:12]
        write_claim(uid, young, {fresh: 1}, -3600)  # an hour ahead: never old enough while the test runs
        # something that is no claim at an old entry's key: logged, the others still settled
        bogus = "00000000000000000000_{}_000000000000".format(uid)
        redis("SET", f"cart_claim_{bogus}", "not a hash")
        redis("ZADD", CLAIMS, 0, bogus)
        wait_until(lambda: set(claims_of(uid)) == {young, bogus}, 20, "the two old claims were not settled")
        assert cart_hash(uid) == {str(a): "3"}  # 1 + the claim's 2; b's claim dropped, not given back
        assert redis("EXISTS", f"cart_claim_{lost}") == "0"
        assert redis("EXISTS", f"cart_claim_{done['order_id']}") == "0"
        assert redis("EXISTS", f"cart_claim_{young}") == "1"
        assert "settled: no such order" in uwsgi.logs() and lost in uwsgi.logs()
        redis("DEL", f"cart_claim_{young}", f"cart_claim_{bogus}")
        redis("ZREM", CLAIMS, young, bogus)
