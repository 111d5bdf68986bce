"""End-to-end fixtures: the private stack that scripts/test.sh started
(DF_BASE_URL, DF_VAR, DF_UWSGI_PORTS, DF_ROOT), HTTP clients that behave
like the shop's pages (csrftoken cookie echoed in X-CSRFToken), and direct
access to the stack's Redis and MariaDB for setting up and checking state."""
import contextlib
import os
import subprocess
import uuid

import pytest
import requests

BASE = os.environ.get("DF_BASE_URL", "http://127.0.0.1:8000")
VAR = os.environ.get("DF_VAR", os.path.join(os.path.dirname(__file__), "..", "..", "var"))
ROOT = os.environ.get("DF_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
UWSGI_PORTS = os.environ.get("DF_UWSGI_PORTS", "8080 8081").split()
GATEWAY = os.environ.get("DF_ALIPAY_URL", "http://127.0.0.1:8090")  # the local Alipay gateway
ALIPAY_DIR = os.path.join(VAR, "alipay")  # its keys and app id
REDIS_SOCK = os.path.join(VAR, "run", "redis", "redis.sock")
MYSQL_SOCK = os.path.join(VAR, "run", "mysqld", "mysqld.sock")


def redis(*args):
    """Runs one redis-cli command against the stack's Redis; returns stdout."""
    out = subprocess.run(["redis-cli", "-s", REDIS_SOCK, *[str(a) for a in args]],
                         check=True, capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def sql(statement, *params):
    """Runs SQL as root on the stack's MariaDB; returns rows as lists of str.
    Parameters are passed as user variables, never pasted into the text."""
    sets = "".join(f"SET @p{i} = FROM_BASE64('{_b64(p)}');" for i, p in enumerate(params))
    out = subprocess.run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "-N", "-B",
                          "dailyfresh", "-e", sets + statement],
                         check=True, capture_output=True, text=True, timeout=30)
    return [line.split("\t") for line in out.stdout.splitlines()]


def _b64(value):
    import base64
    return base64.b64encode(str(value).encode()).decode()


def uwsgi_log(port):
    """The text of one instance's uWSGI log."""
    with open(os.path.join(VAR, "log", f"uwsgi-{port}.log"), errors="replace") as f:
        return f.read()


def uwsgi_logs():
    """Both instances' uWSGI logs, one after the other."""
    return "".join(uwsgi_log(port) for port in UWSGI_PORTS)


def stack(*args):
    """scripts/stack.sh with the private stack's environment."""
    return subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), *args], check=True,
                          capture_output=True, text=True, timeout=120)


def wait_healthy(timeout=20):
    """Polls /healthz through nginx until every instance answers (bounded)."""
    import time
    deadline = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < deadline:
        try:
            ok = ok + 1 if requests.get(BASE + "/healthz", timeout=2).status_code == 200 else 0
        except requests.RequestException:
            ok = 0
        if ok >= 2 * len(UWSGI_PORTS):  # nginx round-robins: each instance answered
            return
        time.sleep(0.05)
    raise AssertionError("the stack did not answer /healthz within %d s" % timeout)


@contextlib.contextmanager
def uwsgi_options(*args):
    """Restarts every uWSGI instance with extra options for the duration of
    the block, then restarts them as configured."""
    env = dict(os.environ, DF_UWSGI_ARGS=" ".join(args))
    try:
        stack("stop-uwsgi")
        subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), "start-uwsgi"], check=True,
                       capture_output=True, text=True, timeout=120, env=env)
        wait_healthy()
        yield
    finally:
        stack("stop-uwsgi")
        stack("start-uwsgi")
        wait_healthy()


class Gateway:
    """The local Alipay gateway's test controls (scripts/alipay_gateway.py):
    gateway.mode(down=True), gateway.pay("ORDER_1", notify=False),
    gateway.notify("ORDER_1", total_amount="1.00", sign="bad"),
    gateway.trades(), gateway.trade("ORDER_1"), gateway.reset()."""

    def __init__(self, base=GATEWAY):
        self.base = base

    def call(self, path, obj=None, expect=200):
        if obj is None:
            r = requests.get(self.base + "/_control/" + path, timeout=30)
        else:
            r = requests.post(self.base + "/_control/" + path, json=obj, timeout=30)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    def mode(self, **change):
        return self.call("mode", change)

    def pay(self, out_trade_no, **kw):
        return self.call("pay", dict(kw, out_trade_no=out_trade_no))

    def notify(self, out_trade_no, **fields):
        return self.call("notify", dict(fields, out_trade_no=out_trade_no))

    def trades(self):
        return self.call("trades")["trades"]

    def trade(self, out_trade_no):
        found = [t for t in self.trades() if t["out_trade_no"] == out_trade_no]
        return found[0] if found else None

    def reset(self):
        return self.call("reset", {})

    def app_id(self):
        with open(os.path.join(ALIPAY_DIR, "app_id")) as f:
            return f.read().strip()


@pytest.fixture
def gateway():
    """The local Alipay gateway, reset before and after the test."""
    g = Gateway()
    g.reset()
    yield g
    g.reset()


class Client(requests.Session):
    """A browser-like client: gets a csrftoken first, echoes it on POSTs."""

    def __init__(self, base=BASE):
        super().__init__()
        self.base = base

    def url(self, path):
        return self.base + path

    def csrf(self):
        token = self.cookies.get("csrftoken")
        if not token:
            self.get(self.url("/healthz"), timeout=10)
            token = self.cookies.get("csrftoken")
        return token

    def get_json(self, path, **kw):
        kw.setdefault("timeout", 10)
        return self.get(self.url(path), **kw)

    def post_form(self, path, data=None, csrf=True, **kw):
        kw.setdefault("timeout", 30)
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        return self.post(self.url(path), data=data, headers=headers, **kw)

    def post_json(self, path, obj, csrf=True, **kw):
        kw.setdefault("timeout", 30)
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        return self.post(self.url(path), json=obj, headers=headers, **kw)


@pytest.fixture
def client():
    c = Client()
    yield c
    c.close()


def unique_name(prefix="u"):
    return (prefix + uuid.uuid4().hex)[:20]
