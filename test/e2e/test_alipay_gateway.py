"""The local Alipay gateway itself (test/fakes/alipay_gateway.py), as the shop
will meet it: requests signed with the app private key are verified the way
Alipay verifies them, answers, notifies and return parameters verify with
the Alipay public key over exactly the bytes Alipay signs, and the test
controls (down, delay, tamper, pay, notify, reset) behave."""
import base64
import datetime
import html
import json
import os
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from support.env import ALIPAY_DIR, GATEWAY
from support.stack import stack

GATEWAY_DO = GATEWAY + "/gateway.do"


def _read(name):
    with open(os.path.join(ALIPAY_DIR, name), "rb") as f:
        return f.read()


APP_KEY = serialization.load_pem_private_key(_read("app_private.pem"), password=None)
ALIPAY_PUB = serialization.load_pem_public_key(_read("alipay_public.pem"))
APP_ID = _read("app_id").decode().strip()


def rsa2(text):
    sig = APP_KEY.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def verifies(text, sign):
    try:
        ALIPAY_PUB.verify(base64.b64decode(sign), text.encode("utf-8") if isinstance(text, str) else text,
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def signed_query(params):
    """alipay.md §2: drop empties and sign, keep sign_type, sort, raw join;
    query = key=quote_plus(value) ... &sign=quote_plus(sign)."""
    params = {k: v for k, v in params.items() if v != ""}
    keys = sorted(params)
    sign = rsa2("&".join(f"{k}={params[k]}" for k in keys))
    return "&".join(f"{k}={urllib.parse.quote_plus(params[k])}" for k in keys) + "&sign=" + \
        urllib.parse.quote_plus(sign)


def common(method, biz, **extra):
    p = {"app_id": APP_ID, "method": method, "charset": "utf-8", "sign_type": "RSA2",
         "timestamp": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "version": "1.0",
         "biz_content": json.dumps(biz, separators=(",", ":"))}
    p.update(extra)
    return p


def order_no():
    return "T_" + uuid.uuid4().hex[:20]


def page_pay_url(out_trade_no, amount="88.88", subject="测试订单 #1", **extra):
    biz = {"subject": subject, "out_trade_no": out_trade_no, "total_amount": amount,
           "product_code": "FAST_INSTANT_TRADE_PAY"}
    return GATEWAY_DO + "?" + signed_query(common("alipay.trade.page.pay", biz, **extra))


def query(biz, tamper=None, **extra):
    """(raw body text, the exact response object text, sign, parsed body)."""
    q = signed_query(common("alipay.trade.query", biz, **extra))
    if tamper:
        q = tamper(q)
    r = requests.get(GATEWAY_DO + "?" + q, timeout=10)
    assert r.status_code == 200
    raw = r.content.decode("utf-8")
    return (raw, *response_span(raw), json.loads(raw))


def response_span(raw):
    """The library's way: from the '{' after the key to its matching '}'."""
    if "alipay_trade_query_response" not in raw:
        return None, None
    start = raw.find("{", raw.find("alipay_trade_query_response"))
    depth = 0
    for i in range(start, len(raw)):
        depth += {"{": 1, "}": -1}.get(raw[i], 0)
        if depth == 0:
            return raw[start:i + 1], json.loads(raw)["sign"]
    raise AssertionError("unbalanced answer: " + raw)


def notify_verifies(fields):
    assert fields["sign_type"] == "RSA2"
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("sign", "sign_type"))
    return verifies(text, fields["sign"])


class Shop:
    """A stand-in for the shop's notify and return URLs: records every
    notify and answers the next answer of `answers` (then "success")."""

    def __init__(self):
        self.notifies, self.answers = [], []
        shop = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                shop.notifies.append((self.headers.get("Content-Type"), body.decode("ascii")))
                answer = shop.answers.pop(0) if shop.answers else "success"
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fields(self, i=-1):
        return dict(urllib.parse.parse_qsl(self.notifies[i][1], keep_blank_values=True))

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.notifies) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.notifies) >= n, self.notifies

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop():
    s = Shop()
    yield s
    s.close()


# ------------------------------------------------------------------ page.pay
def test_signed_page_pay_shows_the_cashier(gateway):
    no = order_no()
    r = requests.get(page_pay_url(no, notify_url="http://127.0.0.1:1/order/notify"), timeout=10)
    assert r.status_code == 200, r.text
    assert "确认付款" in r.text and 'action="/cashier/pay"' in r.text
    assert "88.88" in r.text and no in r.text and html.escape("测试订单 #1") in r.text
    t = gateway.trade(no)
    assert t["trade_status"] == "WAIT_BUYER_PAY" and t["total_amount"] == "88.88"
    assert len(t["trade_no"]) == 28 and t["trade_no"].isdigit()
    assert t["notify_url"] == "http://127.0.0.1:1/order/notify"


def test_page_pay_by_post_form(gateway):
    no = order_no()
    body = signed_query(common("alipay.trade.page.pay", {"subject": "apples", "out_trade_no": no,
                                                         "total_amount": "10", "product_code": "FAST_INSTANT_TRADE_PAY"}))
    r = requests.post(GATEWAY_DO, data=body, timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    assert r.status_code == 200, r.text
    assert gateway.trade(no)["total_amount"] == "10.00"


def test_one_changed_byte_is_an_invalid_signature(gateway):
    url = page_pay_url(order_no())
    bad = url.replace("88.88", "88.89")
    r = requests.get(bad, timeout=10)
    assert r.status_code == 400
    assert "isv.invalid-signature" in r.text and "验签出错" in r.text
    assert gateway.trades() == []


def test_a_plus_in_the_sign_sent_unencoded_is_an_invalid_signature(gateway):
    for _ in range(20):  # a signature with a '+' in it
        url = page_pay_url(order_no())
        if "%2B" in url.split("&sign=")[1]:
            break
    r = requests.get(url.replace("%2B", "+"), timeout=10)
    assert r.status_code == 400 and "isv.invalid-signature" in r.text


def test_empty_parameters_are_not_signed(gateway):
    """Alipay drops empty values from the string it verifies."""
    no = order_no()
    url = page_pay_url(no) + "&return_url="
    assert requests.get(url, timeout=10).status_code == 200


@pytest.mark.parametrize("change,code", [
    ({"app_id": "2021000000009999"}, "isv.invalid-app-id"),
    ({"charset": "GBK"}, "isv.invalid-charset"),
    ({"sign_type": "RSA"}, "isv.invalid-signature-type"),
    ({"version": "2.0"}, "isv.invalid-version"),
    ({"timestamp": "2024/05/20 13:14:15"}, "isv.invalid-timestamp"),
    ({"timestamp": ""}, "isv.missing-timestamp"),
])
def test_bad_common_parameters(gateway, change, code):
    p = common("alipay.trade.page.pay", {"subject": "x", "out_trade_no": order_no(), "total_amount": "1.00",
                                         "product_code": "FAST_INSTANT_TRADE_PAY"})
    p.update(change)
    r = requests.get(GATEWAY_DO + "?" + signed_query(p), timeout=10)
    assert r.status_code == 400 and code in r.text, r.text


@pytest.mark.parametrize("biz", [
    {"total_amount": 88.88},                 # a number, not a string
    {"total_amount": "88.888"},
    {"total_amount": "0.00"},
    {"total_amount": "100000000.01"},
    {"subject": "a/b"},
    {"subject": "a=b"},
    {"subject": "a&b"},
    {"out_trade_no": "x" * 65},
    {"out_trade_no": "order-1"},
    {"product_code": "QUICK_WAP_WAY"},
])
def test_bad_biz_content(gateway, biz):
    full = {"subject": "ok", "out_trade_no": order_no(), "total_amount": "1.00",
            "product_code": "FAST_INSTANT_TRADE_PAY"}
    full.update(biz)
    r = requests.get(GATEWAY_DO + "?" + signed_query(common("alipay.trade.page.pay", full)), timeout=10)
    assert r.status_code == 400 and "ACQ.INVALID_PARAMETER" in r.text, r.text


def test_amount_limits_are_accepted(gateway):
    for amount in ("0.01", "100000000", "100000000.00", "5.5"):
        assert requests.get(page_pay_url(order_no(), amount=amount), timeout=10).status_code == 200, amount


# ------------------------------------------------------------------ trade.query
def test_query_answer_verifies_over_the_exact_bytes(gateway):
    no = order_no()
    assert requests.get(page_pay_url(no), timeout=10).status_code == 200
    raw, obj, sign, body = query({"out_trade_no": no})
    assert raw.startswith('{"alipay_trade_query_response":{"code":"10000","msg":"Success",')
    assert len(sign) == 344 and verifies(obj, sign)
    resp = body["alipay_trade_query_response"]
    assert resp["trade_status"] == "WAIT_BUYER_PAY" and resp["total_amount"] == "88.88"
    assert resp["out_trade_no"] == no and resp["buyer_pay_amount"] == "0.00"


def test_paid_by_control_then_query_says_trade_success(gateway):
    no = order_no()
    assert requests.get(page_pay_url(no, amount="12.5"), timeout=10).status_code == 200
    out = gateway.pay(no, notify=False)
    assert out["trade"]["trade_status"] == "TRADE_SUCCESS" and out["notify"] is None
    raw, obj, sign, body = query({"out_trade_no": no})
    assert verifies(obj, sign)
    resp = body["alipay_trade_query_response"]
    assert resp["code"] == "10000" and resp["trade_status"] == "TRADE_SUCCESS"
    for k in ("total_amount", "buyer_pay_amount", "receipt_amount", "invoice_amount"):
        assert resp[k] == "12.50"
    assert resp["fund_bill_list"] == [{"amount": "12.50", "fund_channel": "ALIPAYACCOUNT"}]
    # by trade_no as well
    _, obj2, sign2, body2 = query({"trade_no": resp["trade_no"]})
    assert verifies(obj2, sign2) and body2["alipay_trade_query_response"]["out_trade_no"] == no


def test_unknown_trade_is_40004_signed(gateway):
    raw, obj, sign, body = query({"out_trade_no": "NOPE_1"})
    assert verifies(obj, sign)
    assert '"sub_msg":"交易不存在"' in obj  # raw UTF-8, as Alipay sends it
    resp = body["alipay_trade_query_response"]
    assert (resp["code"], resp["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    assert resp["out_trade_no"] == "NOPE_1"


def test_query_with_a_bad_signature_is_40002_signed(gateway):
    raw, obj, sign, body = query({"out_trade_no": "NOPE_2"}, tamper=lambda q: q.replace("NOPE_2", "NOPE_3"))
    assert verifies(obj, sign)
    resp = body["alipay_trade_query_response"]
    assert (resp["code"], resp["sub_code"]) == ("40002", "isv.invalid-signature")
    assert "&amp;" in resp["sub_msg"] and "NOPE_3" in resp["sub_msg"]
    assert "\\/" in obj or "/" not in resp["sub_msg"]  # slashes escaped in the signed bytes


def test_query_without_app_id_is_an_unsigned_error_response(gateway):
    p = common("alipay.trade.query", {"out_trade_no": "X"})
    del p["app_id"]
    r = requests.get(GATEWAY_DO + "?" + signed_query(p), timeout=10)
    body = r.json()
    assert "sign" not in body and body["error_response"]["sub_code"] == "isv.missing-app-id"


def test_query_by_post(gateway):
    body = signed_query(common("alipay.trade.query", {"out_trade_no": "NOPE_4"}))
    r = requests.post(GATEWAY_DO, data=body, timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    obj, sign = response_span(r.text)
    assert verifies(obj, sign) and json.loads(obj)["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_tamper_response_breaks_the_signature(gateway):
    gateway.mode(tamper_response=True)
    raw, obj, sign, body = query({"out_trade_no": "NOPE_5"})
    assert not verifies(obj, sign)
    gateway.mode(tamper_response=False)
    raw, obj, sign, body = query({"out_trade_no": "NOPE_5"})
    assert verifies(obj, sign)


# ------------------------------------------------------------------ paying, notify, return
def test_cashier_pay_notifies_and_returns(gateway, shop):
    no = order_no()
    url = page_pay_url(no, amount="88.80", notify_url=shop.url + "/order/notify",
                       return_url=shop.url + "/order/return")
    cashier = requests.get(url, timeout=10)
    trade_no = gateway.trade(no)["trade_no"]
    assert trade_no in cashier.text
    r = requests.post(GATEWAY + "/cashier/pay", data={"trade_no": trade_no}, allow_redirects=False, timeout=20)
    assert r.status_code == 303
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert loc.path == "/order/return"
    ret = dict(urllib.parse.parse_qsl(loc.query))
    assert ret["method"] == "alipay.trade.page.pay.return" and ret["out_trade_no"] == no
    assert ret["total_amount"] == "88.80" and ret["trade_no"] == trade_no and notify_verifies(ret)
    # the notify came first, once (the stand-in answered success)
    assert len(shop.notifies) == 1
    ctype, wire = shop.notifies[0]
    assert ctype.startswith("application/x-www-form-urlencoded")
    f = shop.fields()
    assert notify_verifies(f)
    assert f["trade_status"] == "TRADE_SUCCESS" and f["notify_type"] == "trade_status_sync"
    assert f["app_id"] == APP_ID and f["total_amount"] == "88.80" and f["subject"] == "测试订单 #1"
    assert json.loads(f["fund_bill_list"]) == [{"amount": "88.80", "fundChannel": "ALIPAYACCOUNT"}]
    assert "%E6%B5%8B" in wire and "+%231" in wire  # form encoding of the subject
    raw, obj, sign, body = query({"out_trade_no": no})
    assert body["alipay_trade_query_response"]["trade_status"] == "TRADE_SUCCESS"
    # a second page.pay of a paid order is refused
    r = requests.get(page_pay_url(no, amount="88.80"), timeout=10)
    assert r.status_code == 400 and "ACQ.TRADE_HAS_SUCCESS" in r.text


def test_notify_is_retried_until_success(gateway, shop):
    gateway.mode(notify_retry_ms=[50, 50, 50])
    no = order_no()
    shop.answers = ["fail", "success\n"]  # only exactly "success" counts
    requests.get(page_pay_url(no, notify_url=shop.url + "/n"), timeout=10)
    out = gateway.pay(no)
    assert out["notify"] == {"http_status": 200, "answer": "fail"}
    shop.wait(3)
    time.sleep(0.3)
    assert len(shop.notifies) == 3  # then it stops
    ids = {shop.fields(i)["notify_id"] for i in range(3)}
    assert len(ids) == 1  # the same notification again
    acks = [n["acknowledged"] for n in gateway.trade(no)["notifies"]]
    assert acks == [False, False, True]


@pytest.mark.parametrize("tamper,sig_ok", [("sign", False), ("amount", False), ("key", False),
                                           ("app_id", True), ("amount_signed", True)])
def test_tamper_notify(gateway, shop, tamper, sig_ok):
    gateway.mode(tamper_notify=tamper, notify_retry_ms=[])
    no = order_no()
    requests.get(page_pay_url(no, amount="1.00", notify_url=shop.url + "/n"), timeout=10)
    gateway.pay(no)
    f = shop.fields()
    assert notify_verifies(f) == sig_ok
    if tamper == "app_id":
        assert f["app_id"] != APP_ID
    if tamper in ("amount", "amount_signed"):
        assert f["total_amount"] != "1.00"


def test_control_notify_with_overrides(gateway, shop):
    no = order_no()
    requests.get(page_pay_url(no, amount="3.00", notify_url=shop.url + "/n"), timeout=10)
    gateway.pay(no, notify=False)
    assert shop.notifies == []
    shop.answers = ["ok-from-shop"]
    out = gateway.notify(no, total_amount="300.00", buyer_logon_id=None)
    assert out["answer"] == "ok-from-shop" and out["http_status"] == 200
    f = shop.fields()
    assert notify_verifies(f) and f["total_amount"] == "300.00" and "buyer_logon_id" not in f
    gateway.notify(no, sign="bad")
    assert not notify_verifies(shop.fields())


def test_control_pay_closed_and_finished(gateway, shop):
    no = order_no()
    gateway.pay(no, total_amount="2", notify_url=shop.url + "/n")  # created by the control
    assert shop.fields()["trade_status"] == "TRADE_SUCCESS"
    gateway.pay(no, status="TRADE_FINISHED")
    assert shop.fields()["trade_status"] == "TRADE_FINISHED" and notify_verifies(shop.fields())
    no2 = order_no()
    requests.get(page_pay_url(no2, notify_url=shop.url + "/n"), timeout=10)
    gateway.pay(no2, status="TRADE_CLOSED")
    f = shop.fields()
    assert f["trade_status"] == "TRADE_CLOSED" and "gmt_payment" not in f and notify_verifies(f)
    r = requests.get(page_pay_url(no2), timeout=10)
    assert r.status_code == 400 and "ACQ.TRADE_HAS_CLOSE" in r.text
    gateway.call("pay", {"out_trade_no": "NO_SUCH"}, expect=404)


# ------------------------------------------------------------------ modes
def test_down_closes_connections_and_reset_restores(gateway):
    no = order_no()
    requests.get(page_pay_url(no), timeout=10)
    gateway.mode(down=True)
    with pytest.raises(requests.ConnectionError):
        requests.get(page_pay_url(order_no()), timeout=5)
    assert gateway.trade(no) is not None  # the controls still answer
    gateway.reset()
    assert gateway.trades() == []
    assert requests.get(page_pay_url(order_no()), timeout=5).status_code == 200


def test_delay(gateway):
    gateway.mode(delay_ms=1200)
    t0 = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.get(page_pay_url(order_no()), timeout=0.5)
    t0 = time.monotonic()
    assert requests.get(page_pay_url(order_no()), timeout=5).status_code == 200
    assert time.monotonic() - t0 >= 1.1
    gateway.mode(delay_ms=0)
    t0 = time.monotonic()
    assert requests.get(page_pay_url(order_no()), timeout=5).status_code == 200
    assert time.monotonic() - t0 < 1


def test_bad_control_requests(gateway):
    gateway.call("mode", {"nonsense": 1}, expect=400)
    gateway.call("mode", {"tamper_notify": "everything"}, expect=400)
    gateway.call("nope", {}, expect=404)


@pytest.mark.destructive
def test_trades_survive_a_gateway_restart(gateway):
    no = order_no()
    requests.get(page_pay_url(no), timeout=10)
    try:
        stack("stop-gateway")
        with pytest.raises(requests.ConnectionError):
            requests.get(GATEWAY + "/_control/health", timeout=5)
    finally:
        stack("start-gateway")
    assert gateway.trade(no)["trade_status"] == "WAIT_BUYER_PAY"
