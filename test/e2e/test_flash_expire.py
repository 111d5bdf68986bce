"""Expiry of flash orders and the automatic close of flash sales, through the
real stack: both uWSGI instances run their mule, which sweeps every second.
Flash orders are made directly in MariaDB and Redis in the state the
consumer leaves them (rows written, the unit counted written in the sale's
hash, the buyer's count raised), and aged by their create_time. A unit goes
back to the sale while it is open, to the SKU's stock otherwise, once;
a sale whose end has passed is closed by the mule, once."""
import re
import secrets
import time

import pytest

from support import uwsgi
from support.backends import redis, sql
from support.cart import make_user
from support.env import UWSGI_PORTS
from support.flash import flash_orders
from support.orders import make_address, sku_state, skus
from support.stack import uwsgi_options
from test_flash_sales import close, created, public, sale_hash, sale_row, staff

TTL = 30  # young orders stay unpaid through a test; an aged one is past it
FAST = ("--dailyfresh-order-ttl", str(TTL), "--dailyfresh-order-expire-interval", "1")
POLL_S = 20


@pytest.fixture(scope="module", autouse=True)
def fast_sweeps():
    with uwsgi_options(*FAST):
        yield


def wait_until(what, cond, seconds=POLL_S):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def age(order_ids, seconds=TTL + 30):
    """The orders made seconds older: past the time limit."""
    for oid in order_ids:
        sql("UPDATE df_order_info SET create_time = create_time - INTERVAL @p0 SECOND WHERE order_id = @p1",
            seconds, oid)


def age_sale(sale, seconds=TTL + 30):
    """Every order of the sale made seconds older, in one statement."""
    sql("UPDATE df_order_info SET create_time = create_time - INTERVAL @p0 SECOND WHERE order_id IN"
        " (SELECT order_id FROM df_flash_sale_order WHERE sale_id = @p1)", seconds, sale)


def buyers(n):
    out = []
    for _ in range(n):
        uid = make_user()
        out.append((uid, make_address(uid)))
    return out


def order_status(oid):
    return int(sql("SELECT order_status FROM df_order_info WHERE order_id = @p0", oid)[0][0])


def released(oid):
    return int(sql("SELECT released FROM df_flash_sale_order WHERE order_id = @p0", oid)[0][0])


def held(sale, uid):
    return int(redis("HGET", f"flash_sale_users_{sale}", uid) or 0)


def numbers(sale):
    """(units_left, XLEN, written, returned) of the sale's Redis state."""
    h = sale_hash(sale)
    return (int(h["units_left"]), int(redis("XLEN", f"flash_sale_orders_{sale}")), int(h["written"]),
            int(h["returned"]))


def assert_invariant(sale):
    allotted = int(sale_hash(sale)["allotted"])
    assert sum(numbers(sale)) == allotted, (numbers(sale), allotted)
    live = int(sql("SELECT COUNT(*) FROM df_flash_sale_order WHERE sale_id = @p0 AND released = 0", sale)[0][0])
    assert int(sale_hash(sale)["written"]) == live
    assert int(sale_hash(sale)["returned"]) == int(sale_row(sale)[6])


def log_marks():
    return {port: uwsgi.log_size(port) for port in UWSGI_PORTS}


def logged(marks, pattern):
    """[match groups] of pattern in what the instances logged since marks."""
    return [m.groups() for port, mark in marks.items()
            for m in re.finditer(pattern, uwsgi.log_since(port, mark))]


def released_logged(marks, sale):
    return sum(int(n) for n, in logged(marks, rf"flash sale {sale}: (\d+) expired unpaid order"))


def hold_lock(sale, ms):
    """The sale's lock taken by the test, as a consumer's batch would hold
    it; the token."""
    token = secrets.token_hex(16)
    assert redis("SET", f"flash_sale_lock_{sale}", token, "NX", "PX", ms) == "OK"
    return token


def free_lock(sale, token):
    if redis("GET", f"flash_sale_lock_{sale}") == token:
        redis("DEL", f"flash_sale_lock_{sale}")


def test_expired_while_open_goes_back_to_the_sale(no_worker_deaths):
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=10, limit=2)
    assert sku_state(sku) == (90, 0)
    (u1, a1), (u2, a2), (u3, a3), (u4, a4) = buyers(4)
    expired, young = flash_orders(sale, [(u1, a1), (u1, a1)])
    (paid,) = flash_orders(sale, [(u2, a2)], status=2)
    (commented,) = flash_orders(sale, [(u3, a3)], status=4)
    (cancelled,) = flash_orders(sale, [(u4, a4)], status=6)  # cancelled some other way: nothing goes back
    assert numbers(sale) == (5, 0, 5, 0) and sku_state(sku) == (90, 5)
    marks = log_marks()
    age([expired, paid, commented, cancelled])
    wait_until("the expired flash order cancelled", lambda: order_status(expired) == 6)
    time.sleep(2.5)  # more sweeps of both instances: nothing goes back twice
    assert released(expired) == 1
    assert numbers(sale) == (6, 0, 4, 0)
    assert held(sale, u1) == 1 and held(sale, u2) == 1 and held(sale, u3) == 1
    assert sku_state(sku) == (90, 4)  # stock unchanged: the unit is the sale's again
    assert [order_status(o) for o in (young, paid, commented, cancelled)] == [1, 2, 4, 6]
    assert [released(o) for o in (young, paid, commented, cancelled)] == [0, 0, 0, 0]
    assert sale_row(sale)[5:] == ["1", "0"]
    assert public(sale)["units_left"] == 6
    assert_invariant(sale)
    assert released_logged(marks, sale) == 1


def test_expired_after_close_goes_back_to_the_sku(no_worker_deaths):
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=10)
    (u1, a1), (u2, a2) = buyers(2)
    gone, kept = flash_orders(sale, [(u1, a1), (u2, a2)])
    assert close(c, sale) == {"res": 5, "message": "已关闭", "sale_id": sale, "returned": 8}
    assert sku_state(sku) == (98, 2)
    assert numbers(sale) == (0, 0, 2, 8)
    marks = log_marks()
    age([gone])
    wait_until("the expired flash order cancelled", lambda: order_status(gone) == 6)
    time.sleep(2.5)
    assert released(gone) == 2 and released(kept) == 0 and order_status(kept) == 1
    assert sku_state(sku) == (99, 1)
    assert sale_row(sale)[5:] == ["2", "9"]
    assert numbers(sale) == (0, 0, 1, 9)  # units_left stays 0: a closed sale sells nothing more
    assert held(sale, u1) == 0 and held(sale, u2) == 1
    assert_invariant(sale)
    assert released_logged(marks, sale) == 1
    # a second close gives nothing more
    assert close(c, sale)["already_closed"] is True
    assert sku_state(sku) == (99, 1)


def test_many_expiries_with_both_sweepers_each_unit_back_once(no_worker_deaths):
    """Both mules wait on the sale's lock, which the test holds while 150
    orders expire, then race for it: each unit goes back once."""
    c, _ = staff()
    (sku,) = skus(1, stock=500)
    sale = created(c, sku, stock=200, limit=20)
    people = buyers(10)
    orders = flash_orders(sale, people * 15)
    stock_before = sku_state(sku)[0]
    assert numbers(sale) == (50, 0, 150, 0)
    marks = log_marks()
    token = hold_lock(sale, 4000)
    try:
        age_sale(sale)
        time.sleep(2.5)  # ticks of both instances find the lock held
        assert numbers(sale) == (50, 0, 150, 0)
    finally:
        free_lock(sale, token)
    wait_until("every expired flash order cancelled", lambda: int(sql(
        "SELECT COUNT(*) FROM df_flash_sale_order WHERE sale_id = @p0 AND released = 1", sale)[0][0]) == 150)
    time.sleep(2.5)
    assert numbers(sale) == (200, 0, 0, 0)
    assert all(held(sale, uid) == 0 for uid, _ in people)
    assert sku_state(sku) == (stock_before, 0)
    assert int(sql("SELECT COUNT(*) FROM df_order_info WHERE order_id IN (SELECT order_id FROM df_flash_sale_order"
                   " WHERE sale_id = @p0) AND order_status = 6", sale)[0][0]) == 150
    assert_invariant(sale)
    assert released_logged(marks, sale) == 150


def test_the_mule_closes_an_ended_sale_once_and_a_racing_expiry_counts_once(no_worker_deaths):
    """A sale ends while the test holds its lock and one of its orders
    expires at the same moment: both mules' expiry and close race for the
    lock once it is free. Whichever wins, the expired unit is counted once
    (to the sale and then drained, or to the SKU after the close)."""
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    now = int(time.time())
    sale = created(c, sku, stock=10, starts=now - 60, ends=now + 3)
    gone, *kept = flash_orders(sale, buyers(3))
    assert sku_state(sku) == (90, 3)
    marks = log_marks()
    token = hold_lock(sale, 8000)
    try:
        age([gone])
        wait_until("the sale's end", lambda: time.time() > now + 4)
        time.sleep(1.5)
        assert sale_row(sale)[5] == "1" and order_status(gone) == 1  # nobody runs without the lock
        assert public(sale)["status"] == "ended"
    finally:
        free_lock(sale, token)
    wait_until("the sale closed and the order cancelled", lambda: sale_row(sale)[5] == "2" and
               order_status(gone) == 6)
    time.sleep(2.5)  # more ticks of both instances: nothing more goes back
    assert sku_state(sku) == (98, 2)
    assert sale_row(sale)[5:] == ["2", "8"]
    assert numbers(sale) == (0, 0, 2, 8)
    assert sale_hash(sale)["status"] == "closed"
    # past ends_at the unit is the SKU's, whether the close ran first or not
    assert released(gone) == 2 and [released(o) for o in kept] == [0, 0]
    assert_invariant(sale)
    closes = logged(marks, rf"flash sale {sale}: ended, closed, (\d+) unsold unit")
    assert len(closes) == 1, closes
    assert released_logged(marks, sale) == 1
    shown = public(sale)
    assert (shown["status"], shown["units_left"]) == ("ended", 0)
    assert close(c, sale) == {"res": 5, "message": "已关闭", "sale_id": sale, "returned": 0, "already_closed": True}


def test_the_mule_closes_a_sale_with_nothing_sold(no_worker_deaths):
    c, _ = staff()
    (sku,) = skus(1, stock=40)
    now = int(time.time())
    sale = created(c, sku, stock=25, starts=now - 60, ends=now + 2)
    open_sale = created(c, sku, stock=5)
    assert sku_state(sku) == (10, 0)
    wait_until("the ended sale closed", lambda: sale_row(sale)[5] == "2")
    time.sleep(2.5)
    assert sku_state(sku) == (35, 0)
    assert sale_row(sale)[5:] == ["2", "25"] and sale_row(open_sale)[5:] == ["1", "0"]
    assert numbers(sale) == (0, 0, 0, 25)
    assert public(open_sale)["status"] == "open"


def test_a_staff_close_waits_for_the_sale_lock_then_answers_busy():
    c, _ = staff()
    (sku,) = skus(1, stock=50)
    sale = created(c, sku, stock=20)
    token = hold_lock(sale, 6000)
    try:
        t0 = time.monotonic()
        r = c.post_form(f"/api/admin/flash-sales/{sale}/close")
        waited = time.monotonic() - t0
        assert r.status_code == 503 and r.json() == {"error": "flash sale busy"}, r.text
        assert waited >= 2.5
        assert sale_row(sale)[5:] == ["1", "0"] and sku_state(sku) == (30, 0)
        assert sale_hash(sale)["status"] == "on"
    finally:
        free_lock(sale, token)
    assert close(c, sale) == {"res": 5, "message": "已关闭", "sale_id": sale, "returned": 20}
    assert sku_state(sku) == (50, 0)


def test_an_ordinary_expiry_leaves_flash_orders_to_their_sale():
    """The ordinary sweep never restocks a flash order the ordinary way (its
    unit left the stock when the sale was made): with the sale's lock held
    all along, an expired flash order stays unpaid and the SKU untouched."""
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=10)
    (oid,) = flash_orders(sale, buyers(1))
    token = hold_lock(sale, 5000)
    try:
        age([oid])
        time.sleep(3)
        assert order_status(oid) == 1 and sku_state(sku) == (90, 1)
    finally:
        free_lock(sale, token)
    wait_until("the flash order released", lambda: released(oid) == 1)
    assert sku_state(sku) == (90, 0) and numbers(sale) == (10, 0, 0, 0)

