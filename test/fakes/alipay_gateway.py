#!/usr/bin/env python3
"""A local Alipay-compatible gateway for development and tests.

It plays Alipay's OpenAPI gateway (RSA2) for the methods the shop uses,
byte for byte as described in docs/operations.md ("Payments in development"):

  GET|POST /gateway.do  method=alipay.trade.page.pay  -> the cashier page (HTML)
  GET|POST /gateway.do  method=alipay.trade.query     -> {"alipay_trade_query_response":{...},"sign":"..."}
  POST /cashier/pay     the cashier's pay button: TRADE_SUCCESS, the async
                        notify to notify_url, then 303 to return_url
  GET  /cashier?trade_no=N   the cashier page of a trade again
  GET  /                     the trades, with links to their cashier pages

Requests are verified as Alipay does: the parameters of URL and body,
without sign, empty values dropped, sign_type kept, sorted by key, joined
with raw values, RSA2 with the app's public key. Answers, notifies and
return parameters are signed with the "Alipay" private key.

Test controls (127.0.0.1 only), JSON in and out:

  GET  /_control/health                 {"ok":true,...}
  GET  /_control/mode                   the current mode
  POST /_control/mode    {"delay_ms":N} answer gateway calls N ms late
                         {"down":true}  close gateway connections unanswered
                         {"tamper_response":true}  change one byte of a signed answer
                         {"query_error":true}      trade.query answers 20000 (signed)
                         {"escape_slash":false}    no "\\/" in answers
                         {"tamper_notify":"sign"|"amount"|"app_id"|"amount_signed"|"key"|"sign_type"}
                         {"notify_retry_ms":[500,1000,2000]}  delays of the retries
                         {"notify_timeout_ms":N}
  POST /_control/pay     {"out_trade_no":..., "notify":true, "status":"TRADE_SUCCESS"}
                         (a trade not yet created needs "total_amount"; optional "subject", "notify_url")
  POST /_control/notify  {"out_trade_no":..., <field>:<value or null to drop>..., "sign":"bad"|literal,
                          "tamper":..., "notify_url":...} -> one notify now; the shop's answer
  GET  /_control/trades  [?out_trade_no=X]
  POST /_control/reset   no trades, default mode

Only the Python standard library and python3-cryptography.
"""
import argparse
import base64
import binascii
import datetime
import html
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
BUYER_ID = "2088102177846875"
BUYER_LOGON_ID = "tes***@sandbox.com"
SELLER_ID = "2088102177846880"
SELLER_EMAIL = "sandbox_seller@sandbox.com"
PAGE_PAY = "alipay.trade.page.pay"
QUERY = "alipay.trade.query"
METHODS = (PAGE_PAY, QUERY)
MAX_BODY = 1 << 20
DEFAULT_MODE = {
    "delay_ms": 0,
    "down": False,
    "tamper_response": False,
    "query_error": False,
    "escape_slash": True,
    "tamper_notify": None,
    "notify_retry_ms": [500, 1000, 2000],
    "notify_timeout_ms": 5000,
}
TAMPERS = (None, "sign", "amount", "app_id", "amount_signed", "key", "sign_type")
STATUSES = ("WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED")

log = logging.getLogger("alipay-gateway")


def now_bj():
    return datetime.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------ crypto
def _rsa_key(path, load):
    try:
        with open(path, "rb") as f:
            data = f.read()
        key = load(data)
    except ValueError as e:
        raise ValueError("%s: not a PEM RSA key (%s)" % (path, str(e.args[0] if e.args else e)[:80])) from None
    if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        raise ValueError("%s: not an RSA key" % path)
    return key


def load_private(path):
    return _rsa_key(path, lambda data: serialization.load_pem_private_key(data, password=None))


def load_public(path):
    def load(data):
        if b"-----BEGIN" not in data:  # the console's bare one-line base64
            data = b"-----BEGIN PUBLIC KEY-----\n" + data.strip() + b"\n-----END PUBLIC KEY-----\n"
        return serialization.load_pem_public_key(data)
    return _rsa_key(path, load)


def sign_rsa2(key, text):
    sig = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode("ascii")


def verify_rsa2(key, text, sign_b64):
    try:
        sig = base64.b64decode(sign_b64, validate=True)
        key.verify(sig, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, binascii.Error, ValueError):
        return False


def request_sign_string(params):
    """Alipay's server-side rule: drop sign and empty values, keep sign_type."""
    items = [(k, v) for k, v in params.items() if k != "sign" and v != ""]
    items.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join(f"{k}={v}" for k, v in items)


def notify_sign_string(params):
    """Notifies and return parameters: everything but sign and sign_type."""
    items = [(k, v) for k, v in params.items() if k not in ("sign", "sign_type")]
    items.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join(f"{k}={v}" for k, v in items)


def flip_b64(sign):
    """The same signature with one base64 character changed."""
    i = len(sign) // 2
    return sign[:i] + ("A" if sign[i] != "A" else "B") + sign[i + 1:]


# ------------------------------------------------------------------ errors
class AlipayError(Exception):
    """code/msg/sub_code/sub_msg as Alipay answers them; signed: whether the
    answer is the method's signed response (else an unsigned error_response)."""

    MSG = {"20000": "Service Currently Unavailable", "40001": "Missing Required Arguments",
           "40002": "Invalid Arguments", "40004": "Business Failed"}

    def __init__(self, code, sub_code, sub_msg, signed=False, extra=None):
        super().__init__(sub_code)
        self.code, self.sub_code, self.sub_msg, self.signed = code, sub_code, sub_msg, signed
        self.extra = extra or {}

    @property
    def msg(self):
        return self.MSG.get(self.code, "Error")


def missing(name, what):
    return AlipayError("40001", "isv.missing-" + name, "缺少" + what + "参数")


def invalid(name, sub_msg, signed=False):
    return AlipayError("40002", "isv.invalid-" + name, sub_msg, signed)


def bad_param(sub_msg):
    return AlipayError("40004", "ACQ.INVALID_PARAMETER", "参数无效: " + sub_msg, True)


AMOUNT_RE = re.compile(r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$")
TRADE_NO_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
TIMESTAMP_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")


def cents_str(amount):
    return str(Decimal(amount).quantize(Decimal("0.01")))


def check_amount(value):
    if not isinstance(value, str):
        raise bad_param("total_amount must be a string such as \"88.88\"")
    if not AMOUNT_RE.match(value):
        raise bad_param("total_amount '%s' is not an amount in yuan with at most 2 decimals" % value)
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise bad_param("total_amount '%s' is not a number" % value) from None
    if d < Decimal("0.01") or d > Decimal("100000000"):
        raise bad_param("total_amount '%s' is not from 0.01 to 100000000" % value)
    return cents_str(value)


def parse_timeout(value, gmt_create):
    """timeout_express ("90m", "2h", "1d", "1c") -> epoch seconds, or None."""
    m = re.match(r"^([0-9]{1,5})([mhdc])$", value or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit == "c":  # until the end of the day
        day = datetime.datetime.fromtimestamp(gmt_create, BEIJING).replace(hour=23, minute=59, second=59)
        return day.timestamp()
    return gmt_create + n * {"m": 60, "h": 3600, "d": 86400}[unit]


# ------------------------------------------------------------------ the gateway
class Gateway:
    def __init__(self, args):
        self.app_id = args.app_id
        self.alipay_key = load_private(args.alipay_private_key)
        self.app_public = load_public(args.app_public_key)
        self.state_file = args.state
        self.default_notify_url = args.notify_url
        self.lock = threading.RLock()
        self.mode = json.loads(json.dumps(DEFAULT_MODE))
        self.trades = {}  # out_trade_no -> trade
        self._other_key = None
        self.load()

    # -------------------------------------------------------------- state
    def load(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return
        try:
            with open(self.state_file, encoding="utf-8") as f:
                self.trades = json.load(f).get("trades", {})
        except (OSError, ValueError) as e:
            log.warning("state file %s unreadable (%s): starting without trades", self.state_file, e)
            self.trades = {}

    def save(self):
        if not self.state_file:
            return
        with self.lock:
            tmp = self.state_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"trades": self.trades}, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.state_file)

    def find(self, out_trade_no=None, trade_no=None):
        with self.lock:
            if trade_no:
                for t in self.trades.values():
                    if t["trade_no"] == trade_no:
                        return self.expire(t)
                return None
            t = self.trades.get(out_trade_no or "")
            return self.expire(t) if t else None

    def expire(self, t):
        """A trade past its timeout_express is closed, as Alipay closes it."""
        if t["trade_status"] == "WAIT_BUYER_PAY" and t.get("expire_at") and time.time() > t["expire_at"]:
            t["trade_status"] = "TRADE_CLOSED"
            t["gmt_close"] = now_bj()
            self.save()
        return t

    def other_key(self):
        if self._other_key is None:
            self._other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._other_key

    # -------------------------------------------------------------- requests
    def verify_request(self, params):
        """The common parameters and the signature, in Alipay's order.
        Returns the parsed biz_content."""
        method = params.get("method", "")
        if not method:
            raise missing("method", "方法名")
        if method not in METHODS:
            raise invalid("method", "不存在的方法名: " + method)
        if not params.get("app_id"):
            raise missing("app-id", "AppID")
        if params["app_id"] != self.app_id:
            raise invalid("app-id", "无效的AppID参数: " + params["app_id"])
        if params.get("format", "JSON").upper() != "JSON":
            raise invalid("format", "无效的数据格式参数: " + params["format"])
        if not params.get("charset"):
            raise missing("charset", "字符集")
        if params["charset"].lower() != "utf-8":
            raise invalid("charset", "无效的字符集参数: " + params["charset"])
        if not params.get("sign_type"):
            raise missing("signature-type", "签名类型")
        if params["sign_type"] != "RSA2":
            raise invalid("signature-type", "无效的签名类型参数: " + params["sign_type"])
        if not params.get("sign"):
            raise missing("signature", "签名")
        if not params.get("timestamp"):
            raise missing("timestamp", "时间戳")
        ts = params["timestamp"]
        try:
            if not TIMESTAMP_RE.match(ts):
                raise ValueError(ts)
            datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise invalid("timestamp", "非法的时间戳参数: " + ts) from None
        if not params.get("version"):
            raise missing("version", "版本")
        if params["version"] != "1.0":
            raise invalid("version", "无效的版本参数: " + params["version"])
        content = request_sign_string(params)
        if not verify_rsa2(self.app_public, content, params["sign"]):
            raise invalid("signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："
                          + content.replace("&", "&amp;"), signed=True)
        if not params.get("biz_content"):
            raise AlipayError("40001", "isv.missing-biz-content", "缺少业务参数biz_content", True)
        try:
            biz = json.loads(params["biz_content"])
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            raise AlipayError("40002", "isv.invalid-parameter", "biz_content不是JSON对象", True)
        return biz

    def page_pay(self, params):
        """Validates and records the trade; returns it (for the cashier page)."""
        biz = self.verify_request(params)
        out_trade_no = biz.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not TRADE_NO_RE.match(out_trade_no):
            raise bad_param("out_trade_no must be 1 to 64 letters, digits or _")
        amount = check_amount(biz.get("total_amount"))
        subject = biz.get("subject")
        if not isinstance(subject, str) or not subject or len(subject) > 256:
            raise bad_param("subject must be a string of 1 to 256 characters")
        if any(c in subject for c in "/=&"):
            raise bad_param("subject must not contain / = &")
        if biz.get("product_code") != "FAST_INSTANT_TRADE_PAY":
            raise bad_param("product_code must be FAST_INSTANT_TRADE_PAY")
        timeout_express = biz.get("timeout_express")
        if timeout_express is not None and (not isinstance(timeout_express, str)
                                            or not re.match(r"^[0-9]{1,5}[mhdc]$", timeout_express)):
            raise bad_param("timeout_express '%s' is not like 90m, 2h, 1d or 1c" % timeout_express)
        with self.lock:
            t = self.find(out_trade_no)
            if t:
                if t["trade_status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                    raise AlipayError("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付", True)
                if t["trade_status"] == "TRADE_CLOSED":
                    raise AlipayError("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭", True)
                if t["total_amount"] != amount or t["subject"] != subject:
                    raise AlipayError("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改", True)
                t["notify_url"] = params.get("notify_url", t["notify_url"])
                t["return_url"] = params.get("return_url", t["return_url"])
            else:
                t = self.new_trade(out_trade_no, amount, subject, params.get("notify_url", ""),
                                   params.get("return_url", ""), timeout_express or "",
                                   body=biz.get("body") if isinstance(biz.get("body"), str) else "",
                                   passback=biz.get("passback_params")
                                   if isinstance(biz.get("passback_params"), str) else "")
            self.save()
            return dict(t)

    def new_trade(self, out_trade_no, amount, subject, notify_url, return_url, timeout_express="", body="",
                  passback=""):
        created = time.time()
        trade_no = datetime.datetime.now(BEIJING).strftime("%Y%m%d") + "22001" + "".join(
            str(secrets.randbelow(10)) for _ in range(15))
        t = {
            "out_trade_no": out_trade_no, "trade_no": trade_no, "total_amount": amount, "subject": subject,
            "body": body, "passback_params": passback, "trade_status": "WAIT_BUYER_PAY",
            "notify_url": notify_url, "return_url": return_url, "timeout_express": timeout_express,
            "gmt_create": now_bj(), "created": created, "expire_at": parse_timeout(timeout_express, created),
            "gmt_payment": "", "gmt_close": "", "notify_ids": {}, "notifies": [],
        }
        self.trades[out_trade_no] = t
        log.info("trade %s created: out_trade_no=%s amount=%s", trade_no, out_trade_no, amount)
        return t

    def query(self, params):
        """The signed answer body of alipay.trade.query (bytes)."""
        try:
            biz = self.verify_request(params)
            if self.mode["query_error"]:
                raise AlipayError("20000", "isp.unknow-error", "系统繁忙", True)
            out_trade_no, trade_no = biz.get("out_trade_no"), biz.get("trade_no")
            if not out_trade_no and not trade_no:
                raise AlipayError("40004", "ACQ.INVALID_PARAMETER", "参数无效: out_trade_no 和 trade_no 不能同时为空",
                                  True)
            t = self.find(out_trade_no if isinstance(out_trade_no, str) else "",
                          trade_no if isinstance(trade_no, str) else "")
            if not t:
                zero = {"buyer_pay_amount": "0.00", "invoice_amount": "0.00", "point_amount": "0.00",
                        "receipt_amount": "0.00"}
                if isinstance(out_trade_no, str) and out_trade_no:
                    zero["out_trade_no"] = out_trade_no
                raise AlipayError("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在", True, zero)
            resp = {"code": "10000", "msg": "Success"}
            resp.update(self.query_fields(t))
            return self.signed_answer(QUERY, resp)
        except AlipayError as e:
            if not e.signed:
                return json.dumps({"error_response": {"code": e.code, "msg": e.msg, "sub_code": e.sub_code,
                                                      "sub_msg": e.sub_msg}},
                                  ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            resp = {"code": e.code, "msg": e.msg, "sub_code": e.sub_code, "sub_msg": e.sub_msg}
            resp.update(e.extra)
            return self.signed_answer(QUERY, resp)

    @staticmethod
    def query_fields(t):
        paid = bool(t.get("gmt_payment"))
        amt = t["total_amount"] if paid else "0.00"
        f = {"buyer_pay_amount": amt, "invoice_amount": amt, "out_trade_no": t["out_trade_no"],
             "point_amount": "0.00", "receipt_amount": amt, "total_amount": t["total_amount"],
             "trade_no": t["trade_no"], "trade_status": t["trade_status"]}
        if paid:
            f.update({"buyer_logon_id": BUYER_LOGON_ID, "buyer_user_id": BUYER_ID, "buyer_user_type": "PRIVATE",
                      "fund_bill_list": [{"amount": t["total_amount"], "fund_channel": "ALIPAYACCOUNT"}],
                      "send_pay_date": t["gmt_payment"]})
        return f

    def signed_answer(self, method, resp):
        """{"<method>_response":{...},"sign":"..."}: code and msg first, then
        sub_code/sub_msg, then the rest sorted; raw UTF-8; "/" as "\\/" unless
        the mode says not; signed over exactly these bytes of the object."""
        keys = [k for k in ("code", "msg", "sub_code", "sub_msg") if k in resp]
        keys += sorted(k for k in resp if k not in keys)
        obj = "{" + ",".join(json.dumps(k) + ":" + json.dumps(resp[k], ensure_ascii=False, separators=(",", ":"))
                             for k in keys) + "}"
        if self.mode["escape_slash"]:
            obj = obj.replace("/", "\\/")
        sign = sign_rsa2(self.alipay_key, obj)
        if self.mode["tamper_response"]:
            i = obj.index('"msg":"') + 7
            obj = obj[:i] + obj[i].swapcase() + obj[i + 1:]
        name = method.replace(".", "_") + "_response"
        return ('{"' + name + '":' + obj + ',"sign":"' + sign + '"}').encode("utf-8")

    # -------------------------------------------------------------- paying
    def pay(self, t, status="TRADE_SUCCESS"):
        """Sets the trade's status (under the lock); the caller notifies."""
        with self.lock:
            if status in ("TRADE_SUCCESS", "TRADE_FINISHED") and not t.get("gmt_payment"):
                t["gmt_payment"] = now_bj()
            if status == "TRADE_CLOSED" and not t.get("gmt_close"):
                t["gmt_close"] = now_bj()
            t["trade_status"] = status
            self.save()
        log.info("trade %s: %s", t["trade_no"], status)

    def notify_fields(self, t, tamper=None):
        """The signed async notify of the trade's current status, as a list of
        (key, value) in a non-alphabetical order (Alipay's order is arbitrary)."""
        status = t["trade_status"]
        with self.lock:
            nid = t.setdefault("notify_ids", {}).get(status)
            if not nid:
                nid = datetime.datetime.now(BEIJING).strftime("%Y%m%d") + "".join(
                    str(secrets.randbelow(10)) for _ in range(26))
                t["notify_ids"][status] = nid
        paid = bool(t.get("gmt_payment"))
        amt = t["total_amount"]
        f = {"gmt_create": t["gmt_create"], "charset": "utf-8", "seller_email": SELLER_EMAIL,
             "subject": t["subject"], "body": t.get("body", ""), "buyer_id": BUYER_ID}
        if paid:
            f["invoice_amount"] = amt
        f.update({"notify_id": nid})
        if paid:
            f["fund_bill_list"] = json.dumps([{"amount": amt, "fundChannel": "ALIPAYACCOUNT"}],
                                             separators=(",", ":"))
        f.update({"notify_type": "trade_status_sync", "trade_status": status})
        if paid:
            f["receipt_amount"] = amt
            f["buyer_pay_amount"] = amt
        f.update({"app_id": self.app_id, "sign_type": "RSA2", "seller_id": SELLER_ID})
        if paid:
            f["gmt_payment"] = t["gmt_payment"]
        if t.get("gmt_close"):
            f["gmt_close"] = t["gmt_close"]
        f.update({"notify_time": now_bj(), "passback_params": t.get("passback_params", ""), "version": "1.0",
                  "out_trade_no": t["out_trade_no"], "point_amount": "0.00", "total_amount": amt,
                  "trade_no": t["trade_no"], "auth_app_id": self.app_id, "buyer_logon_id": BUYER_LOGON_ID})
        f = {k: v for k, v in f.items() if v != ""}  # Alipay sends no empty fields
        return self.sign_fields(f, tamper)

    def sign_fields(self, f, tamper=None):
        if tamper == "app_id":
            f["app_id"] = f["auth_app_id"] = "2021000000009999"
        if tamper == "amount_signed":
            f["total_amount"] = cents_str(Decimal(f.get("total_amount", "0")) + Decimal("0.01"))
        key = self.other_key() if tamper == "key" else self.alipay_key
        f["sign"] = sign_rsa2(key, notify_sign_string(f))
        if tamper == "sign":
            f["sign"] = flip_b64(f["sign"])
        if tamper == "amount":
            f["total_amount"] = cents_str(Decimal(f.get("total_amount", "0")) + Decimal("1"))
        if tamper == "sign_type":
            f["sign_type"] = "RSA"
        return f

    def post_notify(self, url, fields):
        """One notify: (HTTP status or 0, answer body as text). Never follows
        redirects, never uses a proxy, bounded by notify_timeout_ms."""
        body = urllib.parse.urlencode(list(fields.items())).encode("ascii")
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": "Mozilla/4.0"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
        timeout = max(0.1, self.mode["notify_timeout_ms"] / 1000)
        try:
            with opener.open(req, timeout=timeout) as r:
                status, text = r.status, r.read(65536)
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read(65536) if e.fp else b""
        except (urllib.error.URLError, OSError, ValueError) as e:
            status, text = 0, str(getattr(e, "reason", e)).encode()
        text = text.decode("utf-8", "replace")
        log.info("notify %s -> %s: HTTP %s %r", fields.get("out_trade_no"), url, status, text[:200])
        return status, text

    def record_notify(self, t, fields, status, text):
        with self.lock:
            t.setdefault("notifies", []).append({
                "time": now_bj(), "trade_status": fields.get("trade_status"), "notify_id": fields.get("notify_id"),
                "http_status": status, "answer": text[:200], "acknowledged": status == 200 and text == "success"})
            del t["notifies"][:-50]
            self.save()

    def notify(self, t):
        """The notify of the trade's status: the first try now, then retries
        in a background thread until the shop answers exactly "success"
        (or the status changes). Returns the first try's (status, answer)."""
        url = t.get("notify_url") or self.default_notify_url
        if not url:
            return None
        status_now = t["trade_status"]
        fields = self.notify_fields(t, self.mode["tamper_notify"])
        status, text = self.post_notify(url, fields)
        self.record_notify(t, fields, status, text)
        if status == 200 and text == "success":
            return status, text
        delays = list(self.mode["notify_retry_ms"])

        def retry():
            for d in delays:
                time.sleep(max(0, d) / 1000)
                if t["trade_status"] != status_now or self.trades.get(t["out_trade_no"]) is not t:
                    return
                s, a = self.post_notify(url, fields)
                self.record_notify(t, fields, s, a)
                if s == 200 and a == "success":
                    return
        threading.Thread(target=retry, daemon=True).start()
        return status, text

    def return_params(self, t):
        f = {"charset": "utf-8", "out_trade_no": t["out_trade_no"], "method": "alipay.trade.page.pay.return",
             "total_amount": t["total_amount"], "trade_no": t["trade_no"], "auth_app_id": self.app_id,
             "version": "1.0", "app_id": self.app_id, "sign_type": "RSA2", "seller_id": SELLER_ID,
             "timestamp": now_bj()}
        return self.sign_fields(f)

    # -------------------------------------------------------------- control
    def set_mode(self, change):
        with self.lock:
            for k, v in change.items():
                if k not in DEFAULT_MODE:
                    raise ValueError("unknown mode key %r (known: %s)" % (k, ", ".join(DEFAULT_MODE)))
                if k == "tamper_notify" and v not in TAMPERS:
                    raise ValueError("tamper_notify must be one of %s" % (TAMPERS,))
                if k in ("delay_ms", "notify_timeout_ms") and (not isinstance(v, int) or not 0 <= v <= 60000):
                    raise ValueError("%s must be a whole number of ms from 0 to 60000" % k)
                if k == "notify_retry_ms" and (not isinstance(v, list) or len(v) > 10 or not all(
                        isinstance(x, int) and 0 <= x <= 60000 for x in v)):
                    raise ValueError("notify_retry_ms must be a list of at most 10 delays in ms")
                if k in ("down", "tamper_response", "query_error", "escape_slash") and not isinstance(v, bool):
                    raise ValueError("%s must be true or false" % k)
                self.mode[k] = v
            log.info("mode: %s", json.dumps(self.mode))
            return dict(self.mode)

    def reset(self):
        with self.lock:
            self.trades = {}
            self.mode = json.loads(json.dumps(DEFAULT_MODE))
            self.save()
        log.info("reset")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# ------------------------------------------------------------------ HTML
PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 12px;color:#333;overflow-wrap:anywhere}}
.box{{border:1px solid #1677ff;border-radius:6px;padding:1.5em}}h1{{color:#1677ff;font-size:1.4em}}
.amount{{font-size:2em;color:#f60}}button{{background:#1677ff;color:#fff;border:0;padding:.7em 2em;font-size:1.1em;
border-radius:4px;cursor:pointer}}.err{{border-color:#e33}}.err h1{{color:#e33}}td{{padding:.2em 1em .2em 0}}</style>
</head><body><div class="box{cls}">{body}</div>
<p><small>dailyfresh local Alipay gateway (development only)</small></p></body></html>
"""


def page(title, body, cls=""):
    return PAGE.format(title=html.escape(title), body=body, cls=cls).encode("utf-8")


def cashier_page(t):
    e = html.escape
    cancel = "/cashier/cancel?" + urllib.parse.urlencode({"trade_no": t["trade_no"]})
    return page("支付宝 - 收银台 / Cashier", f"""<h1>支付宝 收银台 / Alipay cashier</h1>
<p class="amount">¥ <span id="total_amount">{e(t['total_amount'])}</span></p>
<table><tr><td>商品 / Subject</td><td id="subject">{e(t['subject'])}</td></tr>
<tr><td>订单号 / Order</td><td id="out_trade_no">{e(t['out_trade_no'])}</td></tr>
<tr><td>交易号 / Trade</td><td id="trade_no">{e(t['trade_no'])}</td></tr>
<tr><td>状态 / Status</td><td id="trade_status">{e(t['trade_status'])}</td></tr></table>
<form method="post" action="/cashier/pay"><input type="hidden" name="trade_no" value="{e(t['trade_no'])}">
<p><button type="submit">确认付款 / Pay</button></p></form>
<p><a href="{e(cancel)}">取消 / Cancel</a></p>""")


def error_page(err):
    e = html.escape
    return page("支付宝 - 出错了 / Alipay error", f"""<h1>出错了 / Error</h1>
<p>错误代码 / Error code: <b id="sub_code">{e(err.sub_code)}</b> ({e(err.code)} {e(err.msg)})</p>
<p>错误原因 / Reason: <span id="sub_msg">{e(err.sub_msg)}</span></p>""", " err")


# ------------------------------------------------------------------ HTTP
class Handler(BaseHTTPRequestHandler):
    server_version = "AlipayLocalGateway/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers
    timeout = 15  # a client that stops sending is dropped
    gw: Gateway = None

    def log_message(self, fmt, *args):
        log.info("%s %s", self.client_address[0], fmt % args)

    # -------------------------------------------------------------- plumbing
    def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def read_body(self):
        n = self.headers.get("Content-Length")
        if not n:
            return b""
        n = int(n)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def form_params(self, body):
        """The union of URL and form-body parameters, decoded (+ is a space)."""
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True, encoding="utf-8",
                                             errors="strict"))
        ctype = self.headers.get("Content-Type", "")
        if body and ("form-urlencoded" in ctype or not ctype):
            params.update(urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True,
                                                 encoding="utf-8", errors="strict"))
        return params

    def drop(self):
        """'down': the connection closes without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.dispatch(b"")

    def do_POST(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.send(400, b"request body too large (over 1 MB), incomplete or unreadable\n", "text/plain")
            return
        self.dispatch(body)

    def dispatch(self, body):
        gw = self.gw
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path.startswith("/_control/"):
                if self.client_address[0] != "127.0.0.1":
                    self.send_json(403, {"error": "controls only from 127.0.0.1"})
                    return
                self.control(path, body)
                return
            if gw.mode["down"]:
                self.drop()
                return
            if gw.mode["delay_ms"]:
                time.sleep(gw.mode["delay_ms"] / 1000)
            if path == "/gateway.do":
                self.gateway(body)
            elif path == "/cashier/pay" and self.command == "POST":
                self.cashier_pay(body)
            elif path == "/cashier/cancel":
                self.cashier_cancel()
            elif path == "/cashier":
                self.cashier_again()
            elif path == "/":
                self.index()
            else:
                self.send(404, page("Not found", "<h1>404</h1><p>no such page</p>", " err"), headers=())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # every request is answered
            log.exception("internal error on %s %s", self.command, self.path)
            try:
                self.send(500, ("internal error: %s\n" % e).encode("utf-8"), "text/plain; charset=utf-8")
            except OSError:
                self.close_connection = True

    # -------------------------------------------------------------- gateway
    def gateway(self, body):
        gw = self.gw
        try:
            params = self.form_params(body)
        except (UnicodeDecodeError, ValueError):
            err = AlipayError("40002", "isv.invalid-charset", "参数不是合法的UTF-8编码")
            params = None
        if params is not None and params.get("method") == PAGE_PAY:
            try:
                t = gw.page_pay(params)
            except AlipayError as e:
                log.info("page.pay refused: %s %s", e.sub_code, e.sub_msg)
                self.send(400, error_page(e))
                return
            self.send(200, cashier_page(t))
            return
        if params is None:
            answer = json.dumps({"error_response": {"code": err.code, "msg": err.msg, "sub_code": err.sub_code,
                                                    "sub_msg": err.sub_msg}}, ensure_ascii=False).encode("utf-8")
        else:
            answer = gw.query(params)
        self.send(200, answer, "application/json; charset=utf-8")

    # -------------------------------------------------------------- cashier
    def trade_from(self, params):
        t = self.gw.find(trade_no=params.get("trade_no", "")) if params.get("trade_no") else None
        if not t:
            self.send(404, error_page(AlipayError("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")))
        return t

    def cashier_pay(self, body):
        gw = self.gw
        t = self.trade_from(self.form_params(body))
        if not t:
            return
        if t["trade_status"] == "TRADE_CLOSED":
            self.send(400, error_page(AlipayError("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")))
            return
        if t["trade_status"] == "WAIT_BUYER_PAY":
            gw.pay(t, "TRADE_SUCCESS")
            gw.notify(t)
        if not t.get("return_url"):
            self.send(200, page("支付成功 / Paid", "<h1>支付成功 / Paid</h1><p>¥ %s — %s</p>" % (
                html.escape(t["total_amount"]), html.escape(t["out_trade_no"]))))
            return
        url = t["return_url"]
        location = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(list(gw.return_params(t).items()))
        self.send(303, page("支付成功 / Paid", '<p><a href="%s">返回商户 / Back to the shop</a></p>'
                            % html.escape(location)), headers=[("Location", location)])

    def cashier_cancel(self):
        t = self.trade_from(self.form_params(b""))
        if not t:
            return
        back = ""
        if t.get("return_url"):
            u = urllib.parse.urlsplit(t["return_url"])
            back = '<p><a href="%s">返回商户 / Back to the shop</a></p>' % html.escape(
                urllib.parse.urlunsplit((u.scheme, u.netloc, "/", "", "")))
        self.send(200, page("已取消 / Cancelled", "<h1>已取消 / Cancelled</h1><p>订单 %s 未支付 / not paid.</p>%s"
                            % (html.escape(t["out_trade_no"]), back)))

    def cashier_again(self):
        t = self.trade_from(self.form_params(b""))
        if t:
            self.send(200, cashier_page(t))

    def index(self):
        with self.gw.lock:
            trades = sorted(self.gw.trades.values(), key=lambda t: t.get("created", 0), reverse=True)[:100]
        rows = "".join('<tr><td><a href="/cashier?trade_no=%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            html.escape(t["trade_no"]), html.escape(t["out_trade_no"]), html.escape(t["total_amount"]),
            html.escape(t["trade_status"]), html.escape(t["gmt_create"])) for t in trades)
        self.send(200, page("Local Alipay gateway", "<h1>Local Alipay gateway</h1><p>app_id %s</p>"
                            "<table><tr><th>out_trade_no</th><th>amount</th><th>status</th><th>created</th></tr>%s"
                            "</table>" % (html.escape(self.gw.app_id), rows)))

    # -------------------------------------------------------------- control
    def control(self, path, body):
        gw = self.gw
        try:
            req = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(req, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as e:
            self.send_json(400, {"error": "bad JSON: %s" % e})
            return
        try:
            if path == "/_control/health":
                self.send_json(200, {"ok": True, "app_id": gw.app_id, "trades": len(gw.trades), "pid": os.getpid()})
            elif path == "/_control/mode":
                self.send_json(200, gw.set_mode(req) if self.command == "POST" else dict(gw.mode))
            elif path == "/_control/trades":
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                with gw.lock:
                    trades = [dict(t) for t in gw.trades.values()
                              if not q.get("out_trade_no") or t["out_trade_no"] == q["out_trade_no"]]
                self.send_json(200, {"trades": trades})
            elif path == "/_control/reset" and self.command == "POST":
                gw.reset()
                self.send_json(200, {"ok": True})
            elif path == "/_control/pay" and self.command == "POST":
                self.control_pay(req)
            elif path == "/_control/notify" and self.command == "POST":
                self.control_notify(req)
            else:
                self.send_json(404, {"error": "no such control: %s %s" % (self.command, path)})
        except ValueError as e:
            self.send_json(400, {"error": str(e)})

    def control_pay(self, req):
        gw = self.gw
        out_trade_no = req.get("out_trade_no")
        status = req.get("status", "TRADE_SUCCESS")
        if status not in STATUSES:
            raise ValueError("status must be one of %s" % (STATUSES,))
        with gw.lock:
            t = gw.find(out_trade_no) if isinstance(out_trade_no, str) else None
            if not t:
                if "total_amount" not in req:
                    self.send_json(404, {"error": "no trade %r (give total_amount to create it)" % out_trade_no})
                    return
                if not isinstance(out_trade_no, str) or not TRADE_NO_RE.match(out_trade_no):
                    raise ValueError("out_trade_no must be 1 to 64 letters, digits or _")
                try:
                    amount = check_amount(req["total_amount"])
                except AlipayError as e:
                    raise ValueError(e.sub_msg) from None
                t = gw.new_trade(out_trade_no, amount, req.get("subject", "dailyfresh order"),
                                 req.get("notify_url", ""), req.get("return_url", ""))
        gw.pay(t, status)
        result = gw.notify(t) if req.get("notify", True) else None
        self.send_json(200, {"trade": dict(t), "notify": None if result is None else
                             {"http_status": result[0], "answer": result[1]}})

    def control_notify(self, req):
        gw = self.gw
        req = dict(req)
        out_trade_no = req.pop("out_trade_no", None)
        sign = req.pop("sign", None)
        tamper = req.pop("tamper", None)
        url = req.pop("notify_url", None)
        if tamper not in TAMPERS:
            raise ValueError("tamper must be one of %s" % (TAMPERS,))
        t = gw.find(out_trade_no) if isinstance(out_trade_no, str) else None
        if t:
            fields = gw.notify_fields(t)
            url = url or t.get("notify_url") or gw.default_notify_url
        else:
            # a notify for a trade the gateway does not know: from the fields given
            fields = {"notify_type": "trade_status_sync", "notify_id": "".join(
                str(secrets.randbelow(10)) for _ in range(34)), "notify_time": now_bj(), "app_id": gw.app_id,
                "auth_app_id": gw.app_id, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
                "trade_no": "", "out_trade_no": out_trade_no or "", "buyer_id": BUYER_ID,
                "seller_id": SELLER_ID, "trade_status": "TRADE_SUCCESS", "total_amount": "0.01"}
            url = url or gw.default_notify_url
        if not url:
            raise ValueError("no notify_url: the trade has none and the gateway has no --notify-url")
        for k, v in req.items():
            if v is None:
                fields.pop(k, None)
            else:
                fields[k] = str(v)
        fields.pop("sign", None)
        fields = gw.sign_fields(fields, tamper)
        if sign == "bad":
            fields["sign"] = flip_b64(fields["sign"])
        elif sign is not None:
            fields["sign"] = str(sign)
        status, text = gw.post_notify(url, fields)
        if t:
            gw.record_notify(t, fields, status, text)
        self.send_json(200, {"http_status": status, "answer": text, "fields": fields})


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description="Local Alipay-compatible gateway (development and tests)")
    ap.add_argument("--alipay-private-key", required=True, help="PEM: the key this gateway signs with")
    ap.add_argument("--app-public-key", required=True, help="PEM (or bare base64): the app's public key")
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--port", type=int, default=8090, help="listens on 127.0.0.1:PORT")
    ap.add_argument("--state", help="JSON file of the trades, kept across restarts")
    ap.add_argument("--notify-url", default="", help="where notifies go for trades without a notify_url")
    ap.add_argument("--pidfile")
    ap.add_argument("--log", help="log file (default: stderr)")
    args = ap.parse_args(argv)

    logging.basicConfig(filename=args.log, level=logging.INFO,
                        format="%(asctime)s alipay-gateway[%(process)d] %(message)s")
    try:
        gw = Gateway(args)
    except (OSError, ValueError) as e:
        log.error("cannot start: %s", e)
        print("alipay-gateway: cannot start: %s" % e, file=sys.stderr)
        return 1
    Handler.gw = gw
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    # every connection gets a thread, but only once accepted: the default
    # backlog of 5 resets a burst of callers (many delayed checks at once)
    ThreadingHTTPServer.request_queue_size = 256
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as e:
        log.error("cannot listen on 127.0.0.1:%d: %s", args.port, e)
        print("alipay-gateway: cannot listen on 127.0.0.1:%d: %s" % (args.port, e), file=sys.stderr)
        return 1

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log.info("listening on http://127.0.0.1:%d/gateway.do (app_id %s, %d trades)", args.port, gw.app_id,
             len(gw.trades))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.pidfile:
            try:
                with open(args.pidfile) as f:
                    if f.read().strip() == str(os.getpid()):
                        os.unlink(args.pidfile)
            except OSError:
                pass
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
