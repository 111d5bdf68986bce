"""Alipay through nginx against the local gateway: pay, check, notify,
comment; signatures, amounts, ownership, expiry, a slow or dead gateway."""
import concurrent.futures
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from support.backends import sql
from support.env import BASE, GATEWAY
from support.gateway import Gateway
from support.http import Client
from support.orders import buyer, sku_state
from support.payment import alipay_order, app_id, notify_fields, order_row, post_notify, signed
from support.stack import stack, wait_healthy


@pytest.fixture(autouse=True)
def clean_gateway():
    Gateway().reset()
    yield
    Gateway().reset()


def pay(c, order_id):
    r = c.post_form("/order/pay", {"order_id": order_id})
    assert r.status_code == 200, r.text
    return r.json()


def check(c, order_id):
    r = c.post_form("/order/check", {"order_id": order_id})
    assert r.status_code == 200, r.text
    return r.json()


def wait_check(c, order_id, res, timeout=10):
    """Polls /order/check as the page does until it answers res."""
    deadline = time.monotonic() + timeout
    while True:
        a = check(c, order_id)
        if a["res"] == res or time.monotonic() > deadline:
            return a
        time.sleep(0.3)


def test_pay_url_is_accepted_by_the_gateway():
    c, _, oid, amount = alipay_order()
    a = pay(c, oid)
    assert a["res"] == 3, a
    url = a["pay_url"]
    assert url.startswith(GATEWAY + "/gateway.do?")
    q = dict(parse_qsl(urlsplit(url).query))
    assert q["method"] == "alipay.trade.page.pay" and q["sign_type"] == "RSA2" and q["app_id"] == app_id()
    assert q["notify_url"] == BASE + "/order/notify"
    import json
    biz = json.loads(q["biz_content"])
    assert biz["out_trade_no"] == oid and biz["total_amount"] == amount == "50.00"
    assert biz["subject"] == "天天生鲜" + oid and biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert biz["timeout_express"].endswith("m") and 1 <= int(biz["timeout_express"][:-1]) <= 29
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert oid in page.text and "50.00" in page.text
    # one byte changed in the signed query: the gateway refuses it
    bad = url.replace("total_amount%22%3A%2250.00", "total_amount%22%3A%2250.01")
    assert bad != url
    assert requests.get(bad, timeout=10).status_code == 400


def test_check_waits_then_pays():
    c, _, oid, _ = alipay_order()
    assert check(c, oid)["res"] == 5  # no trade at Alipay yet
    assert pay(c, oid)["res"] == 3 and requests.get(pay(c, oid)["pay_url"], timeout=10).status_code == 200
    time.sleep(1.1)  # one query per order per second
    a = check(c, oid)
    assert a == {"res": 5, "errmsg": "等待支付", "reason": "not_paid"}
    Gateway().pay(oid, notify=False)
    a = wait_check(c, oid, 3)
    assert a == {"res": 3, "message": "支付成功"}
    status, trade_no = order_row(oid)
    assert status == 4 and len(trade_no) == 28
    assert check(c, oid)["res"] == 3  # answered from the order now


def test_notify_alone_marks_paid_once():
    c, _, oid, amount = alipay_order()
    fields = signed(notify_fields(oid, amount))
    r = post_notify(fields)
    assert r.status_code == 200 and r.content == b"success"
    assert order_row(oid) == (4, fields["trade_no"])
    # Alipay sends it again, and then TRADE_FINISHED: success, nothing changes
    assert post_notify(fields).content == b"success"
    finished = signed(notify_fields(oid, amount, trade_no=fields["trade_no"], trade_status="TRADE_FINISHED"))
    assert post_notify(finished).content == b"success"
    assert order_row(oid) == (4, fields["trade_no"])
    assert check(c, oid)["res"] == 3


def test_notify_through_the_gateway_cashier():
    c, _, oid, _ = alipay_order()
    requests.get(pay(c, oid)["pay_url"], timeout=10)
    Gateway().pay(oid, notify=True)
    deadline = time.monotonic() + 10
    while order_row(oid)[0] != 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert order_row(oid)[0] == 4


@pytest.mark.parametrize("change", ["sign", "app_id", "amount", "unknown", "sign_type", "field_added"])
def test_bad_notifies_are_refused_and_change_nothing(change):
    _, _, oid, amount = alipay_order()
    fields = notify_fields(oid, amount)
    if change == "app_id":
        fields = signed(dict(fields, app_id="2021000000009999"))
    elif change == "amount":
        fields = signed(dict(fields, total_amount="49.99"))
    elif change == "unknown":
        fields = signed(dict(fields, out_trade_no="20200101000000000000_1_000000000000"))
    elif change == "sign_type":
        fields = dict(signed(fields), sign_type="RSA")
    elif change == "field_added":
        fields = dict(signed(fields), passback_params="x")
    else:
        s = signed(fields)
        fields = dict(s, sign=s["sign"][:10] + ("A" if s["sign"][10] != "A" else "B") + s["sign"][11:])
    r = post_notify(fields)
    assert r.status_code == 200 and r.content == b"fail"
    assert order_row(oid) == (1, "")


def test_notify_needs_no_session_or_csrf_and_bad_bodies_fail():
    r = requests.post(BASE + "/order/notify", data=b"", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.content == b"fail"
    r = requests.post(BASE + "/order/notify", data={"out_trade_no": "x", "sign": "%%%"}, timeout=10)
    assert r.content == b"fail"


def test_tampered_query_answer_is_rejected():
    c, _, oid, _ = alipay_order()
    requests.get(pay(c, oid)["pay_url"], timeout=10)
    Gateway().pay(oid, notify=False)
    Gateway().mode(tamper_response=True)
    a = check(c, oid)
    assert a["res"] == 4 and a["reason"] == "bad_signature", a
    assert order_row(oid) == (1, "")


def test_other_users_order_cannot_be_paid_checked_or_commented():
    _, _, oid, _ = alipay_order()
    other, _, _ = buyer()
    assert pay(other, oid) == {"res": 2, "errmsg": "无效订单", "reason": "not_found"}
    assert check(other, oid) == {"res": 2, "errmsg": "无效订单", "reason": "not_found"}
    r = other.post_form(f"/order/comment/{oid}", {"total_count": 1, "sku_1": 1, "content_1": "x"})
    assert r.json() == {"res": 2, "errmsg": "订单不存在"}


def test_bad_ids_and_other_pay_methods():
    c, _, oid, _ = alipay_order(pay_method=1)
    assert pay(c, oid) == {"res": 2, "errmsg": "无效订单", "reason": "not_alipay"}
    for bad in ["", "a/b", "x" * 65, "订单"]:
        assert pay(c, bad) == {"res": 1, "errmsg": "无效订单ID"}
    anon = Client()
    assert anon.post_form("/order/pay", {"order_id": oid}).json() == {"res": 0, "errmsg": "用户未登录"}


def test_expired_order_cannot_be_paid():
    c, _, oid, _ = alipay_order()
    sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL 1750 SECOND WHERE order_id = @p0", oid)
    assert pay(c, oid) == {"res": 2, "errmsg": "无效订单", "reason": "expired"}
    sql("UPDATE df_order_info SET order_status = 6 WHERE order_id = @p0", oid)
    assert pay(c, oid) == {"res": 2, "errmsg": "无效订单", "reason": "expired"}
    assert check(c, oid) == {"res": 4, "errmsg": "支付失败", "reason": "cancelled"}


def test_payment_after_expiry_is_recorded_not_restocked():
    c, _, oid, amount = alipay_order()
    sku = int(sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0])
    sql("UPDATE df_order_info SET order_status = 6 WHERE order_id = @p0", oid)
    before = sku_state(sku)
    fields = signed(notify_fields(oid, amount))
    assert post_notify(fields).content == b"success"
    assert order_row(oid) == (6, fields["trade_no"])
    assert sku_state(sku) == before


def test_slow_gateway_answers_within_the_timeout_and_the_shop_keeps_answering():
    c, _, oid, _ = alipay_order()
    Gateway().mode(delay_ms=6000)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        t0 = time.monotonic()
        checks = [pool.submit(check, c, oid) for _ in range(8)]
        time.sleep(0.3)
        others = [pool.submit(requests.get, BASE + "/healthz", timeout=5) for _ in range(20)]
        other_times = []
        for f in others:
            assert f.result().status_code == 200
            other_times.append(time.monotonic() - t0)
        answers = [f.result() for f in checks]
        elapsed = time.monotonic() - t0
    assert elapsed < 5, elapsed  # dailyfresh-alipay-timeout is 3 s
    assert max(other_times) < 2.5
    # one poll asked the gateway and gave up; the others did not wait for it
    assert sum(a["res"] == 4 and a["reason"] == "gateway_unavailable" for a in answers) == 1, answers
    assert all(a["res"] in (4, 5) for a in answers)
    assert order_row(oid) == (1, "")


@pytest.mark.destructive
def test_gateway_down_gives_a_clear_answer():
    c, _, oid, _ = alipay_order()
    stack("stop-gateway")
    try:
        t0 = time.monotonic()
        a = check(c, oid)
        assert time.monotonic() - t0 < 4
        assert a == {"res": 4, "errmsg": "支付失败", "reason": "gateway_unavailable"}
        assert requests.get(BASE + "/healthz", timeout=5).status_code == 200
    finally:
        stack("start-gateway")
    time.sleep(1.1)
    assert check(c, oid)["res"] == 5


def test_comment_after_payment():
    c, _, oid, amount = alipay_order()
    sku = sql("SELECT sku_id FROM df_order_goods WHERE order_id = @p0", oid)[0][0]
    form = {"total_count": 1, "sku_1": sku, "content_1": "新鲜，好吃"}
    r = c.post_form(f"/order/comment/{oid}", form)
    assert r.json() == {"res": 3, "errmsg": "订单状态错误", "status": 1}
    assert post_notify(signed(notify_fields(oid, amount))).content == b"success"
    r = c.post_form(f"/order/comment/{oid}", dict(form, content_1="x" * 257))
    assert r.json()["res"] == 4 and r.json()["reason"] == "too_long"
    r = c.post_form(f"/order/comment/{oid}", dict(form, sku_1=999999))
    assert r.json()["res"] == 4 and r.json()["reason"] == "not_in_order"
    assert order_row(oid)[0] == 4
    r = c.post_form(f"/order/comment/{oid}", form)
    assert r.json() == {"res": 5, "message": "评论成功"}
    assert order_row(oid)[0] == 5
    assert sql("SELECT comment FROM df_order_goods WHERE order_id = @p0", oid) == [["新鲜，好吃"]]
    r = c.post_form(f"/order/comment/{oid}", form)
    assert r.json() == {"res": 3, "errmsg": "订单状态错误", "status": 5}


def test_a_person_pays_on_the_cashier_page():
    """What a buyer does after make run: open pay_url, press pay on the
    cashier page, come back to /order/return, and the order is paid."""
    import re
    from urllib.parse import urljoin
    c, _, oid, amount = alipay_order()
    url = pay(c, oid)["pay_url"]
    page = requests.get(url, timeout=10)
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
    assert form, page.text
    fields = dict(re.findall(r'name="([^"]+)"\s+value="([^"]*)"', form.group(2)))
    back = c.post(urljoin(url, form.group(1)), data=fields, timeout=20)
    assert back.status_code == 200 and back.url.startswith(BASE + "/order/return?"), back.url
    assert "text/html" in back.headers["Content-Type"]  # the return page; its script asks the API
    api = c.get(BASE + "/api/order/return?" + back.url.split("?", 1)[1], timeout=10)
    assert api.json() == {"res": 3, "message": "支付成功", "order_id": oid}
    assert order_row(oid)[0] == 4
    assert check(c, oid) == {"res": 3, "message": "支付成功"}
    # the return parameters are verified: one changed byte is refused
    tampered = api.url.replace("total_amount=" + amount, "total_amount=1.00")
    assert tampered != api.url
    assert c.get(tampered, timeout=10).json()["reason"] == "bad_signature"
