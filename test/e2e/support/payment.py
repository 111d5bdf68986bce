"""Helpers for the payment tests: orders placed through /order/commit, and
notifies signed here with the gateway's ("Alipay's") private key from the
stack's state directory."""
import base64
import os
import time
import uuid
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from support.backends import sql
from support.env import ALIPAY_DIR, BASE
from support.gateway import Gateway
from support.orders import buyer, commit, put_cart, skus


def app_id():
    return Gateway().app_id()


def _alipay_private_key():
    with open(os.path.join(ALIPAY_DIR, "alipay_private.pem"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def rsa2(text):
    sig = _alipay_private_key().sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def alipay_order(price="20.00", count=2, pay_method=3):
    """(client, uid, order_id, amount string) for a new unpaid order."""
    c, uid, addr = buyer()
    (sku,) = skus(price=price)
    put_cart(uid, {sku: count})
    a = commit(c, addr, [sku], pay_method=pay_method)
    assert a["res"] == 5, a
    total = sql("SELECT total_price + transit_price FROM df_order_info WHERE order_id = @p0", a["order_id"])
    return c, uid, a["order_id"], total[0][0]


def notify_fields(order_id, amount, **over):
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    f = {"notify_time": now, "notify_type": "trade_status_sync", "notify_id": uuid.uuid4().hex,
         "app_id": app_id(), "auth_app_id": app_id(), "charset": "utf-8", "version": "1.0",
         "sign_type": "RSA2", "trade_no": "2026112522001" + uuid.uuid4().hex[:15].translate(
             str.maketrans("abcdef", "123456")),
         "out_trade_no": order_id, "buyer_id": "2088102177846875", "buyer_logon_id": "tes***@sandbox.com",
         "seller_id": "2088102177846880", "trade_status": "TRADE_SUCCESS", "total_amount": amount,
         "receipt_amount": amount, "buyer_pay_amount": amount, "subject": "天天生鲜" + order_id,
         "gmt_create": now, "gmt_payment": now,
         "fund_bill_list": '[{"amount":"%s","fundChannel":"ALIPAYACCOUNT"}]' % amount}
    f.update(over)
    return {k: v for k, v in f.items() if v is not None}


def signed(fields):
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("sign", "sign_type"))
    return dict(fields, sign=rsa2(text))


def post_notify(fields):
    r = requests.post(BASE + "/order/notify", data=urlencode(fields).encode(), timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    return r


def order_row(order_id):
    status, trade_no = sql("SELECT order_status, trade_no FROM df_order_info WHERE order_id = @p0", order_id)[0]
    return int(status), trade_no
