"""The security review's fixes (docs/security.md, Findings): login throttling
per client address and per account, counted before the password check;
a cap on unpaid orders per user and the expiry of cash-on-delivery orders;
Alipay's return parameters kept out of the logs; security headers; a new
csrftoken at login; ending all of a user's sessions; nginx's rate limits.

Other client addresses are real: loopback answers on all of 127.0.0.0/8,
so a client bound to 127.0.0.2 reaches nginx, which passes that address on
as REMOTE_ADDR."""
import concurrent.futures
import http.client
import os
import random
import time
import uuid
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from support import uwsgi
from support.backends import redis, sql
from support.env import BASE, ROOT, VAR
from support.http import Client
from support.orders import buyer, commit, orders_of, put_cart, sku_state, skus
from support.stack import ops, stack, uwsgi_options, wait_healthy
from support.users import PASSWORD, logged_in, login, register

WRONG = {"res": 2, "errmsg": "用户名或密码错误"}
LOCKED = {"res": 4, "errmsg": "登录失败次数过多，请稍后再试"}
LOGIN_FIRST = {"res": 0, "errmsg": "请先登录"}
MAX_FAILURES = 5        # dailyfresh-login-max-failures default
USER_MAX_FAILURES = 20  # dailyfresh-login-user-max-failures default
USER_BLOCK = 60         # dailyfresh-login-user-block default
MAX_UNPAID = 5          # dailyfresh-order-max-unpaid default
TOO_MANY_UNPAID = {"res": 7, "errmsg": "下单失败", "reason": "too_many_unpaid", "max_unpaid": MAX_UNPAID}


class _From(HTTPAdapter):
    def __init__(self, addr):
        self.addr = addr
        super().__init__()

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.addr, 0)
        super().init_poolmanager(*args, **kw)


def client_from(addr):
    """A Client whose connections come from addr (a 127.x.y.z address)."""
    c = Client()
    c.mount("http://", _From(addr))
    return c


def nginx_access_text():
    time.sleep(1.5)  # the access log is flushed every second
    with open(os.path.join(VAR, "log", "nginx-access.log"), errors="replace") as f:
        return f.read()


# ------------------------------------------------------------- login throttling

def test_lockout_is_per_address_and_the_owner_still_logs_in(client):
    name, _ = register(client)
    attacker = client_from("127.0.0.2")
    for _ in range(MAX_FAILURES):
        assert login(attacker, name, "guess-" + uuid.uuid4().hex[:8]) == WRONG
    assert login(attacker, name) == LOCKED  # even the right password, from there
    assert redis("GET", f"login_fail_addr_127.0.0.2/{name}") == str(MAX_FAILURES)
    # the owner, from another address, is not locked out
    owner = client_from("127.0.0.3")
    assert login(owner, name)["res"] == 5
    assert owner.get_json("/api/user/info").json()["user"]["username"] == name
    # and the attacker stays locked out
    assert login(attacker, name) == LOCKED
    log = uwsgi.logs()
    assert f"login: 127.0.0.2 locked out of account '{name}' for 900 s after 5 failed logins" in log
    assert PASSWORD not in log and "guess-" not in log


def test_account_blocked_briefly_after_failures_from_many_addresses(client):
    name, _ = register(client)
    addrs = ["127.0.1.%d" % i for i in range(1, USER_MAX_FAILURES // MAX_FAILURES + 1)]
    for addr in addrs:
        c = client_from(addr)
        for _ in range(MAX_FAILURES):
            assert login(c, name, "bad-password") == WRONG
    # every address is refused now, for a short time only
    fresh = client_from("127.0.1.200")
    assert login(fresh, name) == LOCKED
    assert redis("GET", "login_fail_user_" + name) == str(USER_MAX_FAILURES)
    assert 0 < int(redis("TTL", "login_fail_user_" + name)) <= USER_BLOCK
    assert f"login: account '{name}' refused to every address for {USER_BLOCK} s after {USER_MAX_FAILURES} " \
           f"failed logins (the last from {addrs[-1]})" in uwsgi.logs()
    redis("DEL", "login_fail_user_" + name)  # what the block's end does
    assert login(fresh, name)["res"] == 5
    assert login(client_from(addrs[0]), name) == LOCKED  # the address lockouts outlive it


def test_concurrent_wrong_passwords_are_checked_at_most_max_failures_times(client):
    name, _ = register(client)
    clients = [Client() for _ in range(20)]
    for c in clients:
        c.csrf()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda c: login(c, name, "wrong-password"), clients))
    # each res 2 is a password that was checked; the rest were refused unchecked
    assert answers.count(WRONG) == MAX_FAILURES, answers
    assert answers.count(LOCKED) == 20 - MAX_FAILURES, answers
    assert redis("GET", f"login_fail_addr_127.0.0.1/{name}") == str(MAX_FAILURES)
    assert login(client, name) == LOCKED


def test_unknown_name_with_odd_characters_is_logged_safely(client):
    name = "evil\r\nforged line " + uuid.uuid4().hex[:6]
    for _ in range(MAX_FAILURES):
        assert login(client_from("127.0.2.1"), name, "bad-password") == WRONG
    log = uwsgi.logs()
    assert f"login: 127.0.2.1 locked out of account 'evil??forged line {name[-6:]}'" in log
    assert "\nforged line" not in log


# ------------------------------------------------------------- csrf and sessions

def test_login_issues_a_new_csrftoken(client):
    name, _ = register(client)
    victim = Client()
    planted = "P" * 32  # set by someone who can plant cookies
    victim.cookies.set("csrftoken", planted, domain="127.0.0.1", path="/")
    r = victim.post_form("/user/login", {"username": name, "pwd": PASSWORD})
    assert r.json()["res"] == 5
    fresh = victim.cookies.get("csrftoken")
    assert fresh and fresh != planted and len(fresh) == 32 and fresh.isalnum()
    assert any(c.startswith("csrftoken=%s; Max-Age=31449600; Path=/; SameSite=Lax" % fresh)
               for c in r.raw.headers.getlist("Set-Cookie"))
    # the planted token no longer passes with the new session; the new one does
    sid = victim.cookies["sessionid"]
    r = requests.post(BASE + "/cart/add", data={"sku_id": 1, "count": 1}, headers={"X-CSRFToken": planted},
                      cookies={"sessionid": sid, "csrftoken": fresh}, timeout=10)
    assert r.status_code == 403
    assert victim.post_form("/cart/add", {"sku_id": 999999999, "count": 1}).json()["res"] == 3
    assert victim.post_form("/user/logout").json() == {"res": 1, "message": "已退出"}


def _post_with_headers(path, headers):
    """A POST with exactly these header lines, repeated names included."""
    url = urlsplit(BASE)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_csrf_header_in_any_case_and_the_last_of_two_counts(client):
    token = client.csrf()
    cookie = ("Cookie", "csrftoken=" + token)
    wrong = "W" * 32
    status, body = _post_with_headers("/cart/add", [cookie, ("x-csrftoken", token)])
    assert status == 200 and '"res":0' in body.decode()  # past CSRF: not logged in
    assert _post_with_headers("/cart/add", [cookie, ("X-CSRFTOKEN", token)])[0] == 200
    # sent twice, the last one is the one checked
    assert _post_with_headers("/cart/add", [cookie, ("X-CSRFToken", wrong), ("X-CSRFToken", token)])[0] == 200
    assert _post_with_headers("/cart/add", [cookie, ("X-CSRFToken", token), ("X-CSRFToken", wrong)])[0] == 403
    assert _post_with_headers("/cart/add", [cookie, ("X-CSRFToken-Other", token)])[0] == 403
    assert _post_with_headers("/cart/add", [cookie])[0] == 403


def test_end_sessions_logs_a_user_out_everywhere():
    c1, name, uid = logged_in()
    c2 = Client()
    assert login(c2, name)["res"] == 5
    c3 = Client()
    assert login(c3, name)["res"] == 5
    sids = [c.cookies["sessionid"] for c in (c1, c2, c3)]
    assert set(redis("ZRANGE", f"user_sessions_by_expiry_{uid}", 0, -1).split()) == set(sids)
    assert c3.post_form("/user/logout").json()["res"] == 1
    assert set(redis("ZRANGE", f"user_sessions_by_expiry_{uid}", 0, -1).split()) == set(sids[:2])
    sql("UPDATE df_user SET is_active = 0 WHERE id = @p0", uid)
    out = ops("end-sessions", str(uid))
    assert "ended 2 session(s) of user %d" % uid in out.stdout
    for c in (c1, c2):
        assert c.get_json("/api/user/info").json() == LOGIN_FIRST
        assert c.get_json("/api/cart/count").json()["res"] == 0
    assert redis("EXISTS", f"user_sessions_by_expiry_{uid}") == "0"
    assert login(Client(), name)["res"] == 3  # deactivated: no new session either


# ------------------------------------------------------------- unpaid orders

def test_unpaid_orders_are_capped_per_user():
    c, uid, addr = buyer()
    ids = skus(MAX_UNPAID + 2, stock=5)
    put_cart(uid, {s: 1 for s in ids})
    made = [commit(c, addr, [s], pay_method=3) for s in ids[:MAX_UNPAID]]
    assert [m["res"] for m in made] == [5] * MAX_UNPAID
    assert commit(c, addr, [ids[MAX_UNPAID]], pay_method=3) == TOO_MANY_UNPAID
    assert sku_state(ids[MAX_UNPAID]) == (5, 0) and len(orders_of(uid)) == MAX_UNPAID
    # a paid order no longer counts
    sql("UPDATE df_order_info SET order_status = 4 WHERE order_id = @p0", made[0]["order_id"])
    key = uuid.uuid4().hex
    again = commit(c, addr, [ids[MAX_UNPAID]], pay_method=3, headers={"Idempotency-Key": key})
    assert again["res"] == 5
    # at the cap again: a repeat of that key is still answered its order
    put_cart(uid, {ids[MAX_UNPAID]: 1})
    replay = commit(c, addr, [ids[MAX_UNPAID]], pay_method=3, headers={"Idempotency-Key": key})
    assert replay["res"] == 5 and replay["order_id"] == again["order_id"] and replay["replayed"] is True
    assert commit(c, addr, [ids[MAX_UNPAID + 1]], pay_method=3) == TOO_MANY_UNPAID
    # another user is not affected
    c2, uid2, addr2 = buyer()
    put_cart(uid2, {ids[MAX_UNPAID + 1]: 1})
    assert commit(c2, addr2, [ids[MAX_UNPAID + 1]], pay_method=3)["res"] == 5


def test_cash_on_delivery_orders_expire_with_their_own_ttl():
    c, uid, addr = buyer()
    old_cod, young_cod = skus(2, stock=10)
    put_cart(uid, {old_cod: 2, young_cod: 3})
    with uwsgi_options("--dailyfresh-order-cod-ttl", "600", "--dailyfresh-order-expire-interval", "1"):
        o1 = commit(c, addr, [old_cod], pay_method=1)["order_id"]
        o2 = commit(c, addr, [young_cod], pay_method=1)["order_id"]
        assert sku_state(old_cod) == (8, 2) and sku_state(young_cod) == (7, 3)
        # older than the COD TTL (600 s), younger than it
        sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL 601 SECOND WHERE order_id = @p0", o1)
        sql("UPDATE df_order_info SET create_time = NOW(6) - INTERVAL 590 SECOND WHERE order_id = @p0", o2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sku_state(old_cod) != (10, 0):
            time.sleep(0.2)
        assert sql("SELECT order_status FROM df_order_info WHERE order_id = @p0", o1) == [["6"]]
        assert sku_state(old_cod) == (10, 0)
        assert sql("SELECT order_status FROM df_order_info WHERE order_id = @p0", o2) == [["1"]]
        assert sku_state(young_cod) == (7, 3)
        assert "(cash on delivery after 600 s)" in uwsgi.logs()


# ------------------------------------------------------------- logs and headers

def test_return_parameters_stay_out_of_the_logs():
    sign = "SIGNATURE" + uuid.uuid4().hex
    trade = "TRADE" + uuid.uuid4().hex[:12]
    query = {"out_trade_no": "20240101000000000000_1_abcdefabcdef", "trade_no": trade, "total_amount": "1.00",
             "sign": sign, "sign_type": "RSA2", "app_id": "2021000000000001"}
    page = requests.get(BASE + "/order/return", params=query, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    api = requests.get(BASE + "/api/order/return", params=query, headers={"Referer": page.url}, timeout=10)
    assert api.status_code == 200 and "res" in api.json()
    # another route keeps its query string in the logs
    marker = "q" + uuid.uuid4().hex
    requests.get(BASE + "/api/goods/types", params={"marker": marker}, timeout=10)
    access = nginx_access_text()
    assert '"GET /order/return HTTP/1.1" 200' in access
    assert '"GET /api/order/return HTTP/1.1" 200' in access
    assert marker in access and marker in uwsgi.logs()
    for text in (access, uwsgi.logs()):
        assert sign not in text and trade not in text
    assert "GET /api/order/return 200" in uwsgi.logs()


def test_security_headers_on_every_kind_of_answer(client):
    answers = [
        requests.get(BASE + "/", timeout=10),                         # a page
        requests.get(BASE + "/user/login", timeout=10),               # a page that is also an action
        requests.get(BASE + "/static/js/common.js", timeout=10),      # a file
        requests.get(BASE + "/api/index", timeout=10),                # the app's JSON
        requests.get(BASE + "/no/such/page", timeout=10),             # nginx's JSON 404
        requests.post(BASE + "/cart/add", timeout=10),                # the app's 403
        client.post_form("/user/login", {"username": "x", "pwd": "y"}),  # an action through the page URL
    ]
    for r in answers:
        assert r.headers.get("X-Content-Type-Options") == "nosniff", r.url
        assert r.headers.get("X-Frame-Options") == "DENY", r.url
        assert r.headers.get("Content-Security-Policy") == "frame-ancestors 'none'", r.url
        assert r.headers.get("Referrer-Policy") == "same-origin", r.url
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 404, 403, 200]


# ------------------------------------------------------------- nginx's rate limits

def _nginx_with(**limits):
    env = dict(os.environ, **limits)
    stack("start-nginx", env=env)
    time.sleep(1)  # the old workers finish what they hold
    wait_healthy()


def test_rate_limits_answer_429_json_per_address():
    c = Client()
    try:
        _nginx_with(DF_LIMIT_LOGIN_RATE="1r/m", DF_LIMIT_LOGIN_BURST="3",
                    DF_LIMIT_COMMIT_RATE="1r/m", DF_LIMIT_COMMIT_BURST="2",
                    DF_LIMIT_REGISTER_RATE="1r/m", DF_LIMIT_REGISTER_BURST="1")
        base = "127.%d.%d." % (random.randint(4, 250), random.randint(0, 250))
        src = client_from(base + "1")
        name = "nobody" + uuid.uuid4().hex[:8]
        codes = [src.post_form("/user/login", {"username": name, "pwd": "x" * 8}).status_code for _ in range(6)]
        assert codes == [200] * 4 + [429] * 2, codes
        r = src.post_form("/user/login", {"username": name, "pwd": "x" * 8})
        assert r.status_code == 429 and r.json() == {"error": "too many requests"}
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers.get("X-Frame-Options") == "DENY"
        # the same address: other routes, and the login page itself, still answer
        assert src.get_json("/api/index").status_code == 200
        assert src.get(BASE + "/user/login", timeout=10).status_code == 200
        assert src.post_form("/cart/add", {"sku_id": 1, "count": 1}).json()["res"] == 0
        # commits and registrations have limits of their own
        commits = [src.post_form("/order/commit", {"addr_id": 1, "pay_method": 1, "sku_ids": 1}).status_code
                   for _ in range(4)]
        assert commits == [200, 200, 200, 429], commits
        regs = [src.post_form("/user/register", {"user_name": ""}).status_code for _ in range(3)]
        assert regs == [200, 200, 429], regs
        assert src.post_form("/user/register", {"user_name": ""}).json() == {"error": "too many requests"}
        # another client address is not limited by this one
        other = client_from(base + "2")
        assert other.post_form("/user/login", {"username": name, "pwd": "x" * 8}).json() == WRONG
    finally:
        _nginx_with()  # the suite's limits again (scripts/test.sh)
        c.close()
    assert Client().post_form("/user/login", {"username": "nobody", "pwd": "x" * 8}).status_code == 200


# the directives of nginx.conf that scripts/stack.sh renders for its stack
RENDERED = {"user", "pid", "error_log", "worker_rlimit_nofile", "access_log", "client_body_temp_path",
            "uwsgi_temp_path", "proxy_temp_path", "fastcgi_temp_path", "scgi_temp_path", "server", "listen"}
NGINX_INCLUDES = ("nginx-http.conf", "nginx-server.conf", "nginx-app.conf")


def _directives(path):
    """(name, text) of each directive line of an nginx file, comments and blank lines left out."""
    out = []
    with open(path) as f:
        for line in f:
            text = line.split("#", 1)[0].strip()
            if text:
                out.append((text.split()[0], text))
    return out


def test_rendered_nginx_conf_is_nginx_conf_with_this_stacks_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DF_LIMIT_") and k != "DF_NGINX_WORKERS"}
    try:
        stack("start-nginx", env=env)  # nginx.conf's own rates and bursts
        rendered = _directives(os.path.join(VAR, "nginx.conf"))
    finally:
        _nginx_with()  # the suite's limits again
    conf = _directives(os.path.join(ROOT, "nginx.conf"))
    if os.geteuid() != 0:  # a master that is not root keeps its user
        conf = [d for d in conf if d[0] != "user"]
    assert [name for name, _ in rendered] == [name for name, _ in conf]
    assert [t for name, t in rendered if name not in RENDERED] == [t for name, t in conf if name not in RENDERED]
    for name in NGINX_INCLUDES:  # the rest: nginx.conf's own files, copied
        with open(os.path.join(ROOT, name)) as mine, open(os.path.join(VAR, name)) as copy:
            assert copy.read() == mine.read(), name


def test_default_nginx_conf_limits_are_production_sized():
    with open(os.path.join(ROOT, "nginx.conf")) as f:
        conf = f.read()
    assert "limit_req_zone $df_limit_login zone=df_login:10m rate=20r/m;" in conf
    assert "limit_req_zone $df_limit_register zone=df_register:10m rate=6r/m;" in conf
    assert "limit_req_zone $df_limit_commit zone=df_commit:10m rate=60r/m;" in conf
    rendered = open(os.path.join(VAR, "nginx.conf")).read()
    assert "rate=20r/m" not in rendered  # the suite runs with its own, raised limits
