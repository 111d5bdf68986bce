"""Accounts: registration, login (Django-compatible hashes, throttling,
remember-me), logout, the user centre's data, CSRF on every action, and
sessions shared by both uWSGI instances."""
import concurrent.futures
import re
import time

import pytest
import requests

from support import uwsgi
from support.backends import redis, sql
from support.env import BASE
from support.http import Client, unique_name
from support.stack import stack
from support.users import PASSWORD, django_hash, django_verify, insert_user, logged_in, login, register, user_id

LOGIN_FIRST = {"res": 0, "errmsg": "请先登录"}
WRONG = {"res": 2, "errmsg": "用户名或密码错误"}
MAX_FAILURES = 5       # dailyfresh-login-max-failures default (per address and account)
LOCKOUT = 900          # dailyfresh-login-lockout default
CSRF_FAILED = {"error": "CSRF verification failed"}


# ------------------------------------------------------------- the whole path

def test_register_login_info_logout(client):
    name, res = register(client, email="flow@example.com")
    assert res["res"] == 8 and res["message"] == "注册成功"
    uid = res["user_id"]
    assert isinstance(uid, int) and uid > 0
    row = sql("SELECT username, email, is_active, is_delete, is_staff, is_superuser, last_login IS NULL, "
              "date_joined IS NOT NULL, create_time IS NOT NULL, update_time IS NOT NULL FROM df_user WHERE id = @p0",
              uid)
    assert row == [[name, "flow@example.com", "1", "0", "0", "0", "1", "1", "1", "1"]]
    # registering does not log in
    assert "sessionid" not in client.cookies
    assert client.get_json("/api/user/info").json() == LOGIN_FIRST

    r = client.post_form("/user/login", {"username": name, "pwd": PASSWORD})
    assert r.json() == {"res": 5, "message": "登录成功", "user_id": uid, "username": name}
    cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("sessionid="))
    assert re.match(r"sessionid=[0-9a-f]{32}; Path=/; SameSite=Lax; HttpOnly", cookie), cookie
    assert "Max-Age" not in cookie  # a browser-session cookie without "remember"
    sid = client.cookies["sessionid"]
    assert redis("GET", "session_" + sid) == str(uid)
    assert 86000 < int(redis("TTL", "session_" + sid)) <= 86400
    assert sql("SELECT last_login IS NOT NULL FROM df_user WHERE id = @p0", uid) == [["1"]]

    info = client.get_json("/api/user/info").json()
    assert info == {"res": 1, "user": {"id": uid, "username": name, "email": "flow@example.com"},
                    "address": None, "history": []}

    r = client.post_form("/user/logout")
    assert r.json() == {"res": 1, "message": "已退出"}
    assert "sessionid=;" in r.headers["Set-Cookie"] and "Max-Age=0" in r.headers["Set-Cookie"]
    assert redis("EXISTS", "session_" + sid) == "0"
    assert client.get_json("/api/user/info").json() == LOGIN_FIRST
    # the old cookie, replayed, is dead too
    r = requests.get(BASE + "/api/user/info", cookies={"sessionid": sid}, timeout=10)
    assert r.json() == LOGIN_FIRST


def test_logout_when_not_logged_in(client):
    assert client.post_form("/user/logout").json() == {"res": 1, "message": "已退出"}


def test_login_accepts_json_body(client):
    name, res = register(client)
    r = client.post_json("/user/login", {"username": name, "pwd": PASSWORD, "remember": True})
    assert r.json()["res"] == 5


def test_remember_keeps_session_two_weeks(client):
    name, _ = register(client)
    r = client.post_form("/user/login", {"username": name, "pwd": PASSWORD, "remember": "on"})
    assert r.json()["res"] == 5
    assert "Max-Age=1209600" in r.headers["Set-Cookie"]
    ttl = int(redis("TTL", "session_" + client.cookies["sessionid"]))
    assert 1209000 < ttl <= 1209600


def test_login_replaces_old_session(client):
    name, _ = register(client)
    assert login(client, name)["res"] == 5
    first = client.cookies["sessionid"]
    assert login(client, name)["res"] == 5
    second = client.cookies["sessionid"]
    assert first != second
    assert redis("EXISTS", "session_" + first) == "0"


# ------------------------------------------------------------ Django hashes

@pytest.mark.parametrize("iterations", [1000, 260000])
def test_django_written_hash_logs_in(client, iterations):
    name = unique_name("dj")
    pw = "djangoPw!%d" % iterations
    uid = insert_user(name, django_hash(pw, iterations=iterations))
    assert login(client, name, "wrong" + pw) == WRONG
    assert login(client, name, pw) == {"res": 5, "message": "登录成功", "user_id": uid, "username": name}
    assert client.get_json("/api/user/info").json()["user"]["id"] == uid


def test_django_hash_with_old_12_char_salt_and_unicode_password(client):
    name = unique_name("dj")
    pw = "天天生鲜密码ok"
    insert_user(name, django_hash(pw, salt="abcDEF123456", iterations=1000))
    assert login(client, name, pw)["res"] == 5


def test_registered_hash_verifies_in_python(client):
    pw = "Regist3r-Pw"
    name, res = register(client, pwd=pw)
    assert res["res"] == 8
    encoded = sql("SELECT password FROM df_user WHERE id = @p0", res["user_id"])[0][0]
    algorithm, iterations, salt, digest = encoded.split("$")
    assert algorithm == "pbkdf2_sha256" and iterations == "260000"
    assert re.fullmatch(r"[A-Za-z0-9]{22}", salt)
    assert len(digest) == 44
    assert django_verify(pw, encoded)
    assert not django_verify(pw + "x", encoded)


@pytest.mark.parametrize("stored", [
    "", "!unusableDjangoPassword", "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
    "pbkdf2_sha256$abc$salt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
    "pbkdf2_sha256$0$salt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
    "pbkdf2_sha256$1000$$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
    "pbkdf2_sha256$1000$salt$not*base64",
    "pbkdf2_sha256$1000$salt",
])
def test_malformed_stored_hash_is_a_clean_refusal(client, stored):
    name = unique_name("bad")
    insert_user(name, stored)
    assert login(client, name, "anything-at-all") == WRONG
    assert client.get_json("/healthz").status_code == 200


# ------------------------------------------------------------ login answers

def test_wrong_password_and_unknown_user_answer_alike(client):
    name, _ = register(client)
    assert login(client, name, "not-the-password") == WRONG
    assert login(client, unique_name("nobody"), PASSWORD) == WRONG
    assert "sessionid" not in client.cookies


@pytest.mark.parametrize("data", [
    {}, {"username": "someone"}, {"pwd": "whatever1"}, {"username": "", "pwd": "whatever1"},
    {"username": "someone", "pwd": ""},
])
def test_login_missing_fields(client, data):
    r = client.post_form("/user/login", data)
    assert r.json() == {"res": 1, "errmsg": "数据不完整"}


def test_inactive_user(client):
    name = unique_name("ina")
    insert_user(name, django_hash(PASSWORD, iterations=1000), is_active=0)
    assert login(client, name) == {"res": 3, "errmsg": "账户未激活"}
    assert login(client, name, "wrong-password") == WRONG  # says nothing without the password
    assert "sessionid" not in client.cookies


def test_deleted_user_is_unknown(client):
    name = unique_name("del")
    insert_user(name, django_hash(PASSWORD, iterations=1000), is_delete=1)
    assert login(client, name) == WRONG


def test_deleted_user_session_is_refused():
    c, name, uid = logged_in()
    sql("UPDATE df_user SET is_delete = 1 WHERE id = @p0", uid)
    assert c.get_json("/api/user/info").json() == LOGIN_FIRST


def test_throttling_after_repeated_failures(client):
    name, _ = register(client)
    key = "login_fail_addr_127.0.0.1/" + name  # this client's address and the account
    for i in range(MAX_FAILURES):
        assert login(client, name, "bad-password-%d" % i) == WRONG
        assert redis("GET", key) == str(i + 1)
    assert 0 < int(redis("TTL", key)) <= LOCKOUT
    locked = {"res": 4, "errmsg": "登录失败次数过多，请稍后再试"}
    # the right password no longer helps, and nothing more is counted
    assert login(client, name) == locked
    assert login(client, name, "bad-again") == locked
    assert redis("GET", key) == str(MAX_FAILURES)
    assert redis("GET", "login_fail_user_" + name) == str(MAX_FAILURES)  # the account's, from all addresses
    assert "sessionid" not in client.cookies
    # once the counter expires the account opens again
    redis("DEL", key)
    assert login(client, name)["res"] == 5


def test_throttle_counter_is_shared_by_spellings_of_one_name(client):
    name, _ = register(client, name=unique_name("Case"))
    for i in range(MAX_FAILURES):
        variant = name.upper() if i % 2 else name.lower()
        assert login(client, variant, "bad-password") == WRONG
    assert redis("GET", "login_fail_addr_127.0.0.1/" + name) == str(MAX_FAILURES)
    assert login(client, name)["res"] == 4


def test_success_clears_failures(client):
    name, _ = register(client)
    key = "login_fail_addr_127.0.0.1/" + name
    assert login(client, name, "bad-password") == WRONG
    assert login(client, name, "bad-password") == WRONG
    assert redis("GET", key) == "2"
    assert login(client, name)["res"] == 5
    assert redis("EXISTS", key) == "0"
    # the account's counter keeps the failures (a success is not counted)
    assert redis("GET", "login_fail_user_" + name) == "2"


# ------------------------------------------------------------- registration

def _long(n):
    return ("u" + "x" * n)[:n]


@pytest.mark.parametrize("fields,res,errmsg", [
    ({"user_name": None}, 1, "数据不完整"),
    ({"user_name": ""}, 1, "数据不完整"),
    ({"pwd": None, "cpwd": None}, 1, "数据不完整"),
    ({"email": None}, 1, "数据不完整"),
    ({"email": ""}, 1, "数据不完整"),
    ({"user_name": "abcd"}, 2, "用户名不合法"),
    ({"user_name": _long(21)}, 2, "用户名不合法"),
    ({"user_name": "bad name"}, 2, "用户名不合法"),
    ({"user_name": "bad-name"}, 2, "用户名不合法"),
    ({"user_name": "用户名用户名"}, 2, "用户名不合法"),
    ({"pwd": "short12", "cpwd": "short12"}, 3, "密码不合法"),
    ({"pwd": "p" * 21, "cpwd": "p" * 21}, 3, "密码不合法"),
    ({"cpwd": "different-pass"}, 4, "两次密码不一致"),
    ({"cpwd": ""}, 4, "两次密码不一致"),
    ({"email": "not-an-email"}, 5, "邮箱格式不正确"),
    ({"email": "a@b"}, 5, "邮箱格式不正确"),
    ({"email": "a b@example.com"}, 5, "邮箱格式不正确"),
    ({"email": "a@@example.com"}, 5, "邮箱格式不正确"),
    ({"allow": None}, 6, "请同意协议"),
    ({"allow": "off"}, 6, "请同意协议"),
    ({"allow": "0"}, 6, "请同意协议"),
])
def test_register_validation(client, fields, res, errmsg):
    name = unique_name()
    _, body = register(client, name, **fields)  # fields override the valid defaults
    assert body == {"res": res, "errmsg": errmsg}
    assert sql("SELECT COUNT(*) FROM df_user WHERE username = @p0", fields.get("user_name") or name) == [["0"]]


@pytest.mark.parametrize("make_name,fields", [
    (lambda: unique_name("")[:5], {}),                                 # 5 characters
    (lambda: "A_" + unique_name("")[:18], {}),                         # 20 characters
    (unique_name, {"pwd": "12345678", "cpwd": "12345678"}),           # 8 characters
    (unique_name, {"pwd": "p" * 20, "cpwd": "p" * 20}),               # 20 characters
    (unique_name, {"pwd": "密码密码密码密码", "cpwd": "密码密码密码密码"}),  # 8 characters, 24 bytes
    (unique_name, {"cpwd": None}),                                     # cpwd is optional
    (unique_name, {"allow": "1"}),
    (unique_name, {"allow": "true"}),
])
def test_register_accepts_boundaries(client, make_name, fields):
    name = make_name()
    _, body = register(client, name, **fields)
    assert body["res"] == 8, body
    assert user_id(name) == body["user_id"]


def test_register_json_body(client):
    name = unique_name()
    r = client.post_json("/user/register", {"user_name": name, "pwd": PASSWORD, "cpwd": PASSWORD,
                                             "email": "json@example.com", "allow": True})
    assert r.json()["res"] == 8


def test_register_taken_name(client):
    name, res = register(client)
    assert res["res"] == 8
    assert register(client, name)[1] == {"res": 7, "errmsg": "用户名已存在"}
    # the column's collation ignores case: this is the same account name
    assert register(client, name.upper())[1] == {"res": 7, "errmsg": "用户名已存在"}
    assert sql("SELECT COUNT(*) FROM df_user WHERE username = @p0", name) == [["1"]]


def test_register_same_name_concurrently():
    name = unique_name("race")
    clients = [Client() for _ in range(6)]
    for c in clients:
        c.csrf()
    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(lambda c: register(c, name)[1], clients))
    codes = sorted(a["res"] for a in answers)
    assert codes == [7] * 5 + [8], answers
    assert all(a == {"res": 7, "errmsg": "用户名已存在"} for a in answers if a["res"] == 7)
    assert sql("SELECT COUNT(*) FROM df_user WHERE username = @p0", name) == [["1"]]


# --------------------------------------------------------------- user info

def _add_sku(name, price):
    sql("INSERT INTO df_goods_sku (create_time, update_time, is_delete, name, `desc`, price, unite, image, stock, "
        "sales, status, goods_id, type_id) VALUES (NOW(6), NOW(6), 0, @p0, 'test', @p1, '斤', "
        "'images/goods/goods001.svg', 10, 0, 1, (SELECT MIN(id) FROM df_goods), (SELECT MIN(id) FROM df_goods_type))",
        name, price)
    return int(sql("SELECT MAX(id) FROM df_goods_sku WHERE name = @p0", name)[0][0])


def test_info_history_in_list_order_skipping_missing():
    c, name, uid = logged_in()
    a = _add_sku("历史A" + unique_name("")[:6], "0.10")
    b = _add_sku("历史B" + unique_name("")[:6], "12345678.99")
    gone = _add_sku("历史C" + unique_name("")[:6], "3.00")
    d = _add_sku("历史D" + unique_name("")[:6], "7.50")
    sql("UPDATE df_goods_sku SET is_delete = 1 WHERE id = @p0", gone)
    key = "history_%d" % uid
    redis("DEL", key)
    redis("RPUSH", key, b, 999999999, gone, "not-an-id", a, d)
    info = c.get_json("/api/user/info").json()
    assert info["res"] == 1
    hist = info["history"]
    # the list's first five entries, those that still exist, in list order
    assert [h["id"] for h in hist] == [b, a]
    assert hist[0]["price"] == "12345678.99" and hist[1]["price"] == "0.10"
    assert set(hist[0]) == {"id", "name", "desc", "price", "unite", "image", "stock", "sales"}
    assert hist[0]["unite"] == "斤" and hist[0]["image"] == "images/goods/goods001.svg"
    redis("DEL", key)
    redis("RPUSH", key, d, a, b)
    assert [h["id"] for h in c.get_json("/api/user/info").json()["history"]] == [d, a, b]


def test_info_shows_default_address():
    c, _, uid = logged_in()
    c.post_form("/user/address", {"receiver": "王五", "addr": "杭州市西湖区", "phone": "13900000000"})
    second = c.post_form("/user/address", {"receiver": "赵六", "addr": "广州市天河区", "phone": "13900000001",
                                           "zip_code": "510000"}).json()["address"]
    assert c.post_form("/user/address/default", {"addr_id": second["id"]}).json()["res"] == 3
    info = c.get_json("/api/user/info").json()
    assert info["address"] == {**second, "is_default": True}


# -------------------------------------------------------------------- CSRF

@pytest.mark.parametrize("path", ["/user/register", "/user/login", "/user/logout", "/user/address",
                                  "/user/address/default"])
def test_csrf_required(client, path):
    client.csrf()
    r = client.post_form(path, {"username": "someone", "pwd": PASSWORD}, csrf=False)
    assert r.status_code == 403 and r.json() == CSRF_FAILED
    r = client.post_form(path, {}, csrf=False, headers={"X-CSRFToken": "x" * 32})
    assert r.status_code == 403 and r.json() == CSRF_FAILED
    r = client.post_form(path, {"csrfmiddlewaretoken": "y" * 32}, csrf=False)
    assert r.status_code == 403 and r.json() == CSRF_FAILED
    # no csrftoken cookie at all
    r = requests.post(BASE + path, data={"csrfmiddlewaretoken": "z" * 32}, timeout=10)
    assert r.status_code == 403 and r.json() == CSRF_FAILED


def test_csrf_form_field_works(client):
    token = client.csrf()
    name, _ = register(client)
    r = client.post_form("/user/login", {"username": name, "pwd": PASSWORD, "csrfmiddlewaretoken": token},
                         csrf=False)
    assert r.json()["res"] == 5


# ------------------------------------------------- sessions and the servers

def test_session_valid_on_both_instances():
    c, _, uid = logged_in()
    cookies = {"sessionid": c.cookies["sessionid"]}
    markers = []
    for i in range(24):
        m = "/api/user/info?sessionspread=%d-%d" % (time.time_ns(), i)
        markers.append(m)
        # a fresh connection each time so nginx picks an upstream each time
        r = requests.get(BASE + m, cookies=cookies, timeout=10)
        assert r.status_code == 200 and r.json()["res"] == 1 and r.json()["user"]["id"] == uid
    time.sleep(0.3)
    served = {}
    for port, text in uwsgi.logs_by_port().items():
        lines = [l.split() for l in text.splitlines() if "sessionspread=" in l]
        served[port] = sum(1 for m in markers for p in lines if p[1] == m and p[0] == "GET" and p[2] == "200")
    assert sum(served.values()) == len(markers), served
    assert all(n > 0 for n in served.values()), served


@pytest.mark.destructive
def test_redis_outage_is_503_not_logged_out():
    c, _, uid = logged_in()
    stack("stop-redis")
    try:
        r = c.get_json("/api/user/info")
        assert r.status_code == 503 and r.json() == {"error": "redis unavailable"}
        r = c.post_form("/user/login", {"username": "someone", "pwd": PASSWORD})
        assert r.status_code == 503
    finally:
        stack("start-redis")
    # the session was saved with the data: still logged in once Redis is back
    for _ in range(50):
        r = c.get_json("/api/user/info")
        if r.status_code == 200:
            break
        time.sleep(0.1)
    assert r.json()["res"] == 1 and r.json()["user"]["id"] == uid
