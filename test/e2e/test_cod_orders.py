"""Cash-on-delivery orders through the real stack: they have a cap of their
own (dailyfresh-order-max-cod, default 10), apart from the cap on unpaid
online-payment orders (dailyfresh-order-max-unpaid, default 5), so orders
of one kind never lock a customer out of the other; and an unconfirmed one
is cancelled and restocked after a day by default (dailyfresh-order-cod-ttl)."""
import concurrent.futures
import time

from support import uwsgi
from support.backends import sql
from support.orders import buyer, commit, orders_of, put_cart, sku_state, skus
from support.stack import uwsgi_options

MAX_UNPAID = 5   # dailyfresh-order-max-unpaid default
MAX_COD = 10     # dailyfresh-order-max-cod default
COD_TTL = 86400  # dailyfresh-order-cod-ttl default
TOO_MANY_UNPAID = {"res": 7, "errmsg": "下单失败", "reason": "too_many_unpaid", "max_unpaid": MAX_UNPAID}
TOO_MANY_COD = {"res": 7, "errmsg": "下单失败", "reason": "too_many_cod", "max_cod": MAX_COD}


def place(c, addr, sku_ids, pay_method):
    answers = [commit(c, addr, [s], pay_method=pay_method) for s in sku_ids]
    assert [a["res"] for a in answers] == [5] * len(sku_ids), answers
    return [a["order_id"] for a in answers]


def status(order_id):
    return int(sql("SELECT order_status FROM df_order_info WHERE order_id = @p0", order_id)[0][0])


def test_six_cod_orders_then_an_alipay_order_are_all_accepted():
    c, uid, addr = buyer()
    ids = skus(7, stock=5)
    put_cart(uid, {s: 1 for s in ids})
    place(c, addr, ids[:6], pay_method=1)
    place(c, addr, ids[6:], pay_method=3)
    assert len(orders_of(uid)) == 7
    assert all(sku_state(s) == (4, 1) for s in ids)


def test_the_cod_cap_refuses_cod_while_alipay_still_passes():
    c, uid, addr = buyer()
    ids = skus(MAX_COD + 2, stock=5)
    put_cart(uid, {s: 1 for s in ids})
    cod = place(c, addr, ids[:MAX_COD], pay_method=1)
    assert commit(c, addr, [ids[MAX_COD]], pay_method=1) == TOO_MANY_COD
    assert sku_state(ids[MAX_COD]) == (5, 0)
    place(c, addr, ids[MAX_COD + 1:], pay_method=3)
    # a confirmed (delivered) COD order no longer counts
    sql("UPDATE df_order_info SET order_status = 3 WHERE order_id = @p0", cod[0])
    place(c, addr, [ids[MAX_COD]], pay_method=1)
    assert len(orders_of(uid)) == MAX_COD + 2


def test_cod_orders_at_once_past_the_cod_cap():
    # fifteen COD commits of one user at the same moment: exactly the cap
    # passes however they interleave, and an Alipay order still does
    c, uid, addr = buyer()
    ids = skus(MAX_COD + 6, stock=3)
    put_cart(uid, {s: 1 for s in ids})
    with concurrent.futures.ThreadPoolExecutor(MAX_COD + 5) as pool:
        answers = list(pool.map(lambda s: commit(c, addr, [s], pay_method=1), ids[:-1]))
    assert sum(a["res"] == 5 for a in answers) == MAX_COD, answers
    assert [a for a in answers if a["res"] != 5] == [TOO_MANY_COD] * 5
    assert sum(sku_state(s) == (2, 1) for s in ids[:-1]) == MAX_COD
    place(c, addr, ids[-1:], pay_method=3)


def test_the_online_cap_still_holds_with_cod_orders_present():
    c, uid, addr = buyer()
    ids = skus(3 + MAX_UNPAID + 2, stock=5)
    put_cart(uid, {s: 1 for s in ids})
    place(c, addr, ids[:3], pay_method=1)
    place(c, addr, ids[3:3 + MAX_UNPAID], pay_method=3)
    refused = ids[3 + MAX_UNPAID]
    for method in (2, 3, 4):
        assert commit(c, addr, [refused], pay_method=method) == TOO_MANY_UNPAID
    assert sku_state(refused) == (5, 0)
    place(c, addr, [refused], pay_method=1)  # cash on delivery has its own cap
    assert len(orders_of(uid)) == 3 + MAX_UNPAID + 1


def test_cod_orders_expire_after_a_day_by_default():
    c, uid, addr = buyer()
    old, young = skus(2, stock=10)
    put_cart(uid, {old: 2, young: 3})
    # only the sweep's interval changes: the COD TTL is the default
    with uwsgi_options("--dailyfresh-order-expire-interval", "1"):
        o1 = commit(c, addr, [old], pay_method=1)["order_id"]
        o2 = commit(c, addr, [young], pay_method=1)["order_id"]
        assert sku_state(old) == (8, 2) and sku_state(young) == (7, 3)
        sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL @p1 SECOND WHERE order_id = @p0",
            o1, COD_TTL + 1)
        sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL @p1 SECOND WHERE order_id = @p0",
            o2, COD_TTL - 600)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sku_state(old) != (10, 0):
            time.sleep(0.2)
        assert status(o1) == 6 and sku_state(old) == (10, 0)
        time.sleep(2.5)  # more sweeps by both instances: nothing more given back
        assert sku_state(old) == (10, 0)
        assert status(o2) == 1 and sku_state(young) == (7, 3)
        assert "(cash on delivery after %d s)" % COD_TTL in uwsgi.logs()


def test_a_cap_of_0_is_no_cap():
    """dailyfresh-order-max-unpaid 0 and dailyfresh-order-max-cod 0: a
    buyer places more orders of each kind than the default caps allow."""
    with uwsgi_options("--dailyfresh-order-max-unpaid", "0", "--dailyfresh-order-max-cod", "0"):
        c, uid, addr = buyer()
        online, cod = skus(MAX_UNPAID + 2), skus(MAX_COD + 2)
        put_cart(uid, {s: 1 for s in online + cod})
        answers = [commit(c, addr, [s], pay_method=3) for s in online]
        answers += [commit(c, addr, [s], pay_method=1) for s in cod]
        assert [a["res"] for a in answers] == [5] * len(answers), answers
        assert len(orders_of(uid)) == len(answers)
