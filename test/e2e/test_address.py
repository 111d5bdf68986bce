"""Delivery addresses: validation, the automatic first default, ordering,
one default per user under concurrency, and isolation between users."""
import concurrent.futures
import random

import pytest

from support.backends import sql
from support.http import Client
from support.users import logged_in

LOGIN_FIRST = {"res": 0, "errmsg": "请先登录"}
NOT_FOUND = {"res": 2, "errmsg": "地址不存在"}
GOOD = {"receiver": "张三", "addr": "北京市海淀区中关村大街1号", "zip_code": "100084", "phone": "13812345678"}


def add(c, **fields):
    data = {**GOOD, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    r = c.post_form("/user/address", data)
    assert r.status_code == 200, r.text
    return r.json()


def defaults(uid):
    return [int(row[0]) for row in sql(
        "SELECT id FROM df_address WHERE user_id = @p0 AND is_delete = 0 AND is_default = 1", uid)]


@pytest.fixture
def user():
    c, name, uid = logged_in()
    yield c, uid
    c.close()


def test_login_required(client):
    assert client.get_json("/api/user/address").json() == LOGIN_FIRST
    assert client.post_form("/user/address", GOOD).json() == LOGIN_FIRST
    assert client.post_form("/user/address/default", {"addr_id": 1}).json() == LOGIN_FIRST


def test_add_list_and_first_default(user):
    c, uid = user
    assert c.get_json("/api/user/address").json() == {"res": 1, "addresses": []}
    first = add(c)
    assert first["res"] == 5 and first["message"] == "添加成功"
    a1 = first["address"]
    assert a1 == {"id": a1["id"], "receiver": "张三", "addr": GOOD["addr"], "zip_code": "100084",
                  "phone": "13812345678", "is_default": True}
    a2 = add(c, receiver="李四", zip_code=None)["address"]
    assert a2["is_default"] is False and a2["zip_code"] is None
    a3 = add(c, receiver="王五", zip_code="")["address"]
    assert a3["is_default"] is False and a3["zip_code"] is None
    assert sql("SELECT zip_code IS NULL, user_id FROM df_address WHERE id = @p0", a3["id"]) == [["1", str(uid)]]
    listed = c.get_json("/api/user/address").json()
    assert listed["res"] == 1
    # default first, then newest first
    assert listed["addresses"] == [a1, a3, a2]
    assert defaults(uid) == [a1["id"]]


def test_add_accepts_json(user):
    c, _ = user
    r = c.post_json("/user/address", {"receiver": "Json", "addr": "Somewhere 1", "phone": "19900000000"})
    assert r.json()["res"] == 5


@pytest.mark.parametrize("fields,res,errmsg", [
    ({"receiver": None}, 1, "数据不完整"),
    ({"receiver": ""}, 1, "数据不完整"),
    ({"addr": None}, 1, "数据不完整"),
    ({"phone": None}, 1, "数据不完整"),
    ({"phone": ""}, 1, "数据不完整"),
    ({"phone": "23812345678"}, 2, "手机格式不正确"),
    ({"phone": "1381234567"}, 2, "手机格式不正确"),
    ({"phone": "138123456789"}, 2, "手机格式不正确"),
    ({"phone": "1381234567x"}, 2, "手机格式不正确"),
    ({"phone": "+8613812345"}, 2, "手机格式不正确"),
    ({"zip_code": "10008"}, 3, "邮编格式不正确"),
    ({"zip_code": "1000840"}, 3, "邮编格式不正确"),
    ({"zip_code": "10008a"}, 3, "邮编格式不正确"),
    ({"receiver": "收" * 21}, 4, "收件人或地址过长"),
    ({"receiver": "r" * 21}, 4, "收件人或地址过长"),
    ({"addr": "址" * 257}, 4, "收件人或地址过长"),
])
def test_add_validation(user, fields, res, errmsg):
    c, uid = user
    assert add(c, **fields) == {"res": res, "errmsg": errmsg}
    assert sql("SELECT COUNT(*) FROM df_address WHERE user_id = @p0", uid) == [["0"]]


def test_lengths_count_characters_not_bytes(user):
    c, _ = user
    # 20 and 256 characters are allowed although they take 60 and 768 bytes
    r = add(c, receiver="收" * 20, addr="址" * 256)
    assert r["res"] == 5
    assert r["address"]["receiver"] == "收" * 20 and r["address"]["addr"] == "址" * 256
    assert add(c, receiver="🍎" * 20)["res"] == 5


def test_set_default(user):
    c, uid = user
    a1 = add(c)["address"]["id"]
    a2 = add(c)["address"]["id"]
    assert c.post_form("/user/address/default", {"addr_id": a2}).json() == {"res": 3, "message": "设置成功"}
    assert defaults(uid) == [a2]
    listed = c.get_json("/api/user/address").json()["addresses"]
    assert [a["id"] for a in listed] == [a2, a1] and listed[0]["is_default"] and not listed[1]["is_default"]
    # setting the current default again keeps it
    assert c.post_json("/user/address/default", {"addr_id": a2}).json()["res"] == 3
    assert defaults(uid) == [a2]
    assert c.post_form("/user/address/default", {"addr_id": str(a1)}).json()["res"] == 3
    assert defaults(uid) == [a1]


@pytest.mark.parametrize("addr_id", [None, "", "abc", "0", "-1", "1.5", "1e3", " 1", "99999999999999999999"])
def test_set_default_bad_id(user, addr_id):
    c, _ = user
    data = {} if addr_id is None else {"addr_id": addr_id}
    assert c.post_form("/user/address/default", data).json() == {"res": 1, "errmsg": "无效的地址id"}


def test_set_default_unknown_or_deleted(user):
    c, uid = user
    a1 = add(c)["address"]["id"]
    a2 = add(c)["address"]["id"]
    assert c.post_form("/user/address/default", {"addr_id": 2147483000}).json() == NOT_FOUND
    sql("UPDATE df_address SET is_delete = 1 WHERE id = @p0", a2)
    assert c.post_form("/user/address/default", {"addr_id": a2}).json() == NOT_FOUND
    assert defaults(uid) == [a1]
    assert [a["id"] for a in c.get_json("/api/user/address").json()["addresses"]] == [a1]


def test_users_cannot_see_or_touch_each_others_addresses():
    alice, _, alice_id = logged_in()
    bob, _, bob_id = logged_in()
    a_home = add(alice, receiver="Alice")["address"]["id"]
    b_home = add(bob, receiver="Bob")["address"]["id"]
    b_work = add(bob, receiver="Bob work")["address"]["id"]
    # Alice aims at Bob's addresses: the same answer as for no address at all
    assert alice.post_form("/user/address/default", {"addr_id": b_work}).json() == NOT_FOUND
    assert alice.post_form("/user/address/default", {"addr_id": b_home}).json() == NOT_FOUND
    # nothing moved on either side
    assert defaults(bob_id) == [b_home]
    assert defaults(alice_id) == [a_home]
    assert [a["id"] for a in alice.get_json("/api/user/address").json()["addresses"]] == [a_home]
    assert sorted(a["id"] for a in bob.get_json("/api/user/address").json()["addresses"]) == sorted([b_home, b_work])
    assert alice.get_json("/api/user/info").json()["address"]["id"] == a_home
    # parameters cannot choose the user either
    add(alice, receiver="Alice 2", user_id=bob_id)
    assert sql("SELECT COUNT(*) FROM df_address WHERE user_id = @p0", bob_id) == [["2"]]


def _clone(c):
    """Another connection pool with the same session."""
    other = Client()
    other.cookies.update(c.cookies)
    return other


def test_one_default_after_concurrent_set_default(user):
    c, uid = user
    ids = [add(c, receiver="r%d" % i)["address"]["id"] for i in range(6)]
    clients = [_clone(c) for _ in range(16)]
    rnd = random.Random(7)

    def set_default(job):
        cl, addr_id = job
        return cl.post_form("/user/address/default", {"addr_id": addr_id}).json()

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        for _ in range(4):
            jobs = [(clients[i % len(clients)], rnd.choice(ids)) for i in range(64)]
            answers = list(pool.map(set_default, jobs))
            assert all(a == {"res": 3, "message": "设置成功"} for a in answers), answers
            found = defaults(uid)
            assert len(found) == 1 and found[0] in ids, found


def test_one_default_after_concurrent_first_adds():
    for _ in range(3):
        c, _, uid = logged_in()
        clients = [_clone(c) for _ in range(8)]
        with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(lambda cl: add(cl, receiver="并发"), clients))
        assert all(a["res"] == 5 for a in answers), answers
        assert sum(1 for a in answers if a["address"]["is_default"]) == 1
        assert len(defaults(uid)) == 1
