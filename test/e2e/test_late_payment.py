"""A payment that arrives for an order past its time limit
(dailyfresh-order-ttl), through nginx against the local gateway: never
marked paid, since its goods went or are about to go back on sale; the
order is cancelled and restocked exactly once, and the trade is recorded
for refund in df_order_refund, once per trade_no. Alipay is answered
"success" (a retry would only repeat it); /order/check answers res 4
cancelled."""
import concurrent.futures
import os
import subprocess
import time
import uuid

import pytest
import requests

from support import uwsgi
from support.backends import redis, sql
from support.cart import make_user
from support.env import MYSQL_SOCK, ROOT
from support.gateway import Gateway
from support.flash import flash_orders
from support.orders import make_address, sku_state, skus
from support.payment import alipay_order, notify_fields, order_row, post_notify, signed
from support.stack import uwsgi_options
from test_flash_sales import created, sale_hash, staff

TTL = 1800  # dailyfresh-order-ttl default
CANCELLED = {"res": 4, "errmsg": "支付失败", "reason": "cancelled"}


@pytest.fixture(scope="module")
def no_sweep():
    # no sweep runs in these tests, so an order past its TTL stays at
    # status 1 until the payment decides
    with uwsgi_options("--dailyfresh-order-expire-interval", "3600"):
        yield


@pytest.fixture(autouse=True)
def clean_gateway():
    Gateway().reset()
    yield
    Gateway().reset()


def expired_order():
    """(client, order_id, amount, sku) for an Alipay order of 2 × 20.00
    whose create_time is just past the TTL, still at status 1."""
    c, _, oid, amount = alipay_order()
    sku = int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
    age(oid, TTL + 1)
    assert order_row(oid) == (1, "") and sku_state(sku) == (98, 2)
    return c, oid, amount, sku


def age(order_id, seconds):
    sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL @p1 SECOND WHERE order_id = @p0", order_id,
        seconds)


def refunds(order_id):
    return sql("SELECT trade_no, amount, reason, refund_status FROM df_order_refund WHERE order_id = @p0"
               " ORDER BY id", order_id)


def check(c, order_id):
    r = c.post_form("/order/check", {"order_id": order_id})
    assert r.status_code == 200, r.text
    return r.json()


def test_notify_past_the_time_limit_is_recorded_for_refund_not_paid(no_sweep):
    c, oid, amount, sku = expired_order()
    fields = signed(notify_fields(oid, amount))
    r = post_notify(fields)
    assert r.status_code == 200 and r.content == b"success"
    assert order_row(oid) == (6, fields["trade_no"])
    assert sku_state(sku) == (100, 0)
    assert refunds(oid) == [[fields["trade_no"], "50.00", "expired", "1"]]
    # Alipay sends it again, then TRADE_FINISHED: recorded once, stock back once
    assert post_notify(fields).content == b"success"
    finished = signed(notify_fields(oid, amount, trade_no=fields["trade_no"], trade_status="TRADE_FINISHED"))
    assert post_notify(finished).content == b"success"
    assert order_row(oid) == (6, fields["trade_no"])
    assert sku_state(sku) == (100, 0)
    assert refunds(oid) == [[fields["trade_no"], "50.00", "expired", "1"]]
    assert check(c, oid) == CANCELLED
    line = f"payment: order {oid} was paid (trade {fields['trade_no']}) after its time limit"
    assert uwsgi.logs().count(line) == 1


def test_notify_for_a_cancelled_order_is_recorded_for_refund(no_sweep):
    c, _, oid, amount = alipay_order()
    sku = int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
    # as the sweep leaves it: cancelled, the goods back on sale
    sql("UPDATE df_order_info SET order_status = 6 WHERE order_id = @p0;"
        "UPDATE df_goods_sku SET stock = stock + 2, sales = sales - 2 WHERE id = @p1", oid, sku)
    fields = signed(notify_fields(oid, amount))
    for _ in range(2):
        assert post_notify(fields).content == b"success"
    assert order_row(oid) == (6, fields["trade_no"])
    assert sku_state(sku) == (100, 0)
    assert refunds(oid) == [[fields["trade_no"], "50.00", "expired", "1"]]
    # another trade for it: recorded too, on its own row
    other = signed(notify_fields(oid, amount))
    assert post_notify(other).content == b"success"
    assert order_row(oid) == (6, fields["trade_no"])
    assert [row[0] for row in refunds(oid)] == [fields["trade_no"], other["trade_no"]]
    assert check(c, oid) == CANCELLED


def test_notify_within_the_time_limit_pays(no_sweep):
    c, _, oid, amount = alipay_order()
    sku = int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
    age(oid, TTL - 60)
    fields = signed(notify_fields(oid, amount))
    assert post_notify(fields).content == b"success"
    assert order_row(oid) == (4, fields["trade_no"])
    assert sku_state(sku) == (98, 2) and refunds(oid) == []
    # past the limit now, but paid: nothing changes
    age(oid, TTL + 1)
    assert post_notify(fields).content == b"success"
    assert order_row(oid) == (4, fields["trade_no"]) and sku_state(sku) == (98, 2) and refunds(oid) == []
    assert check(c, oid) == {"res": 3, "message": "支付成功"}


def test_a_second_trade_for_a_paid_order_is_recorded_for_refund(no_sweep):
    _, _, oid, amount = alipay_order()
    first, second = signed(notify_fields(oid, amount)), signed(notify_fields(oid, amount))
    assert post_notify(first).content == b"success"
    for _ in range(2):
        assert post_notify(second).content == b"success"
    assert order_row(oid) == (4, first["trade_no"])
    assert refunds(oid) == [[second["trade_no"], "50.00", "paid_twice", "1"]]


def test_check_of_an_expired_unswept_order_paid_at_the_gateway(no_sweep):
    c, _, oid, _ = alipay_order()
    sku = int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
    r = c.post_form("/order/pay", {"order_id": oid})
    assert r.json()["res"] == 3, r.text
    assert requests.get(r.json()["pay_url"], timeout=10).status_code == 200
    Gateway().pay(oid, notify=False)
    age(oid, TTL + 1)
    assert check(c, oid) == CANCELLED
    status, trade_no = order_row(oid)
    assert status == 6 and len(trade_no) == 28
    assert sku_state(sku) == (100, 0)
    assert refunds(oid) == [[trade_no, "50.00", "expired", "1"]]
    time.sleep(1.1)  # one query per order per second
    assert check(c, oid) == CANCELLED
    assert refunds(oid) == [[trade_no, "50.00", "expired", "1"]] and sku_state(sku) == (100, 0)


def test_notify_past_the_time_limit_gives_a_flash_order_s_unit_to_its_sale(no_sweep):
    """A flash order's unit left the stock when its sale was made: a payment
    after the time limit cancels the order and gives the unit back to the
    open sale (not to the SKU's stock), once, the trade recorded for refund."""
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=10)
    uid = make_user()
    (oid,) = flash_orders(sale, [(uid, make_address(uid))], age_s=TTL + 1)
    amount = sql("SELECT total_price + transit_price FROM df_order_info WHERE order_id = @p0", oid)[0][0]
    assert amount == "22.80" and sku_state(sku) == (90, 1)
    fields = signed(notify_fields(oid, amount))
    for _ in range(2):  # Alipay sends it again: nothing more goes back
        r = post_notify(fields)
        assert r.status_code == 200 and r.content == b"success"
        assert order_row(oid) == (6, fields["trade_no"])
        assert sql("SELECT released FROM df_flash_sale_order WHERE order_id = @p0", oid) == [["1"]]
        h = sale_hash(sale)
        assert (h["units_left"], h["written"], h["returned"]) == ("10", "0", "0")
        assert redis("HGET", f"flash_sale_users_{sale}", uid) == "0"
        assert sku_state(sku) == (90, 0)
        assert refunds(oid) == [[fields["trade_no"], "22.80", "expired", "1"]]


def test_late_notifies_racing_the_sweeps_give_the_stock_back_once():
    """Both instances sweep every second while notifies arrive for orders
    just past their TTL: whichever decides first under the order's row
    lock, each order ends cancelled, restocked once, recorded for refund
    once, never paid."""
    orders = [alipay_order() for _ in range(12)]
    skus = {oid: int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
            for _, _, oid, _ in orders}
    notifies = {oid: signed(notify_fields(oid, amount)) for _, _, oid, amount in orders}
    with uwsgi_options("--dailyfresh-order-expire-interval", "1"):
        for oid in notifies:
            age(oid, TTL + 1)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda f: post_notify(f).content, list(notifies.values()) * 2))
        assert answers == [b"success"] * len(answers)
        time.sleep(2.5)  # more sweeps by both instances
        for oid, fields in notifies.items():
            assert order_row(oid)[0] == 6, oid
            assert sku_state(skus[oid]) == (100, 0), oid
            assert refunds(oid) == [[fields["trade_no"], "50.00", "expired", "1"]], oid


def test_schema_adds_the_refund_table_to_an_existing_database():
    """schema.sql, loaded on every start, adds df_order_refund to a database
    made before it (here a scratch one without it) and keeps what is there."""
    db = "df_schema_" + uuid.uuid4().hex[:12]

    def run(statement=None, db_name=db):
        args = ["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "-N", "-B"]
        args += [db_name] if db_name else []
        if statement is None:
            with open(os.path.join(ROOT, "schema", "schema.sql"), "rb") as f:
                return subprocess.run(args, stdin=f, check=True, capture_output=True, timeout=60)
        return subprocess.run(args + ["-e", statement], check=True, capture_output=True, text=True,
                              timeout=30).stdout

    run(f"CREATE DATABASE {db} CHARACTER SET utf8mb4", db_name="")
    try:
        run()
        run("DROP TABLE df_order_refund;"
            "INSERT INTO df_user (password, username, email, date_joined, create_time, update_time)"
            " VALUES ('x', 'old', 'old@example.com', NOW(6), NOW(6), NOW(6))")
        assert "df_order_refund" not in run("SHOW TABLES")
        run()
        assert "df_order_refund" in run("SHOW TABLES")
        assert "UNIQUE KEY `df_order_refund_trade_no` (`trade_no`)" in run("SHOW CREATE TABLE df_order_refund")
        assert run("SELECT username FROM df_user") == "old\n"
        run()  # and again: nothing changes
        assert run("SELECT COUNT(*) FROM df_order_refund") == "0\n"
    finally:
        run(f"DROP DATABASE {db}", db_name="")
