"""POST /order/flash: one Lua script in one Redis round trip decides and
takes a flash sale's unit (session, the sale's hash, phase, the account's
request rate, the address from the user's cached set, the per-user limit,
units left) and records the order in the sale's stream and its own hash;
MariaDB is not asked on the hot path. The cold paths (the sale's hash or
the address set missing) run the script once more. GET /api/orders/<id>
answers a flash order from its hash until the row exists. nginx's
per-address commit limit does not apply, the per-account rate does. With
dailyfresh-flash-wait-replicas a res 5 waits for a replica (WAIT in the
same write), else 503 with the order id."""
import concurrent.futures
import re
import subprocess
import threading
import time
import uuid

import pytest

from bench import buyers as bench_buyers
from support.backends import redis, sql
from support.cart import login, make_user, user_client
from support.env import MYSQL_SOCK, REDIS_SOCK
from support.http import Client
from support.orders import buyer, make_address, skus
from support.stack import uwsgi_options
from test_flash_sales import close, created, sale_hash, staff
from test_redis_sentinel import Servers, cli, free_ports, server_lines, session_on, wait_until
from test_security import _nginx_with, client_from

NOT_LOGGED_IN = {"res": 0, "errmsg": "用户未登录"}
INCOMPLETE = {"res": 1, "errmsg": "参数不完整"}
BAD_PAY = {"res": 2, "errmsg": "非法的支付方式"}
NO_SALE = {"res": 2, "errmsg": "秒杀活动不存在"}
BAD_ADDRESS = {"res": 3, "errmsg": "地址非法"}
ORDER_ID = re.compile(r"^(\d{20})_(\d+)_([0-9a-f]{12})$")
RATE = 10  # dailyfresh-flash-buy-rate's default, a window of 10 s


def buy(c, sale, addr, pay_method=3, headers=None, **extra):
    data = {"sale_id": sale, "addr_id": addr, "pay_method": pay_method}
    data.update(extra)
    r = c.post_form("/order/flash", data, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def refused(reason, **more):
    return dict({"res": 7, "errmsg": "下单失败", "reason": reason}, **more)


HELD = []


def hold_writes(sale, on=redis):
    """Holds the sale's lock, which the mule's consumer needs to write a
    batch: the orders of these tests stay in Redis, where they are checked.
    Freed after the test, when the consumer writes them."""
    on("SET", f"flash_sale_lock_{sale}", "held-by-test", "PX", 120000)
    HELD.append((sale, on))


def free_writes(sale, on=redis):
    on("DEL", f"flash_sale_lock_{sale}")


@pytest.fixture(autouse=True)
def writes_freed_after_the_test():
    """After the test its sales are gone: some of their orders were made
    by hand in MariaDB, which the consumer would find taken."""
    yield
    while HELD:
        sale, on = HELD.pop()
        on("SREM", "flash_sales", sale)
        on("DEL", f"flash_sale_{sale}", f"flash_sale_orders_{sale}")
        free_writes(sale, on)
        sql("UPDATE df_flash_sale SET is_delete = 1 WHERE id = @p0", sale)


def new_sale(stock=10, limit=2, **kw):
    """(sale id, sku id) of an open sale whose orders stay in Redis."""
    s, _ = staff()
    (sku,) = skus(1, stock=stock + 100)
    sale = created(s, sku, stock=stock, limit=limit, **kw)
    hold_writes(sale)
    return sale, sku


def stream(sale):
    """The entries of the sale's order stream, as field dicts."""
    out = redis("XRANGE", f"flash_sale_orders_{sale}", "-", "+").splitlines()
    entries, i = [], 0
    while i < len(out):
        i += 1  # the entry id
        fields = {}
        while i < len(out) and not re.match(r"^\d+-\d+$", out[i]):
            fields[out[i]] = out[i + 1]
            i += 2
        entries.append(fields)
    return entries


def hgetall(key):
    out = redis("HGETALL", key).splitlines()
    return dict(zip(out[0::2], out[1::2]))


def units_left(sale):
    return int(redis("HGET", f"flash_sale_{sale}", "units_left"))


def test_a_buy_takes_one_unit_and_records_the_order_in_redis_only():
    sale, sku = new_sale(stock=10, limit=2)
    c, uid, addr = buyer()
    before_ms = int(time.time() * 1000)
    res = buy(c, sale, addr, pay_method=3)
    after_ms = int(time.time() * 1000)
    assert set(res) == {"res", "message", "order_id"} and res["res"] == 5 and res["message"] == "创建成功", res
    oid = res["order_id"]
    m = ORDER_ID.match(oid)
    assert m and m.group(2) == str(uid), oid
    h = sale_hash(sale)
    assert h["units_left"] == "9" and h["allotted"] == "10" and h["written"] == "0"
    assert redis("HGET", f"flash_sale_users_{sale}", uid) == "1"
    assert redis("XLEN", f"flash_sale_orders_{sale}") == "1"
    (entry,) = stream(sale)
    assert set(entry) == {"o", "u", "a", "p", "pr", "t"}
    assert entry["o"] == oid and entry["u"] == str(uid) and entry["a"] == str(addr)
    assert entry["p"] == "3" and entry["pr"] == "12.80"
    assert before_ms - 1000 <= int(entry["t"]) <= after_ms + 1000
    assert hgetall(f"flash_order_{oid}") == dict(entry, sale=str(sale))
    assert 86000 < int(redis("TTL", f"flash_order_{oid}")) <= 86400
    # the invariant: allotted = units_left + XLEN + written + returned
    assert 10 == 9 + 1 + 0 + int(h["returned"])
    # nothing in MariaDB yet: the consumer writes it
    assert sql("SELECT COUNT(*) FROM df_order_info WHERE order_id = @p0", oid) == [["0"]]
    # JSON bodies too; a second unit within the limit
    r = c.post_json("/order/flash", {"sale_id": sale, "addr_id": addr, "pay_method": 1})
    assert r.json()["res"] == 5 and r.json()["order_id"] != oid
    assert units_left(sale) == 8 and redis("XLEN", f"flash_sale_orders_{sale}") == "2"


def test_every_refusal_gets_its_answer_and_takes_nothing():
    sale, sku = new_sale(stock=1, limit=1)
    c, uid, addr = buyer()
    anonymous = Client()
    assert buy(anonymous, sale, addr) == NOT_LOGGED_IN
    gone = Client()
    gone.cookies.set("sessionid", uuid.uuid4().hex)  # well formed, no such session
    assert buy(gone, sale, addr) == NOT_LOGGED_IN
    assert buy(gone, "x", addr) == NOT_LOGGED_IN  # the login first, as the commit
    for missing in ("sale_id", "addr_id", "pay_method"):
        data = {"sale_id": sale, "addr_id": addr, "pay_method": 3}
        del data[missing]
        assert c.post_form("/order/flash", data).json() == INCOMPLETE, missing
    assert buy(c, sale, addr, sale_id="") == INCOMPLETE
    assert buy(c, sale, addr, headers={"Idempotency-Key": "bad key!"}) == dict(INCOMPLETE, reason="idempotency_key")
    assert buy(c, sale, addr, idempotency_key="x" * 65) == dict(INCOMPLETE, reason="idempotency_key")
    for pm in ("0", "5", "33", "a"):
        assert buy(c, sale, addr, pay_method=pm) == BAD_PAY, pm
    for bad in ("abc", "0", "-1", "2147483648"):
        assert buy(c, sale, bad) == BAD_ADDRESS, bad
    for bad in ("abc", "0", "1.5", "2147483648"):
        assert buy(c, bad, addr) == NO_SALE, bad
    assert buy(c, 2147483647, addr) == NO_SALE
    other_uid = make_user()
    foreign = make_address(other_uid)
    assert buy(c, sale, foreign) == BAD_ADDRESS
    assert units_left(sale) == 1 and redis("XLEN", f"flash_sale_orders_{sale}") == "0"
    # the limit, then sold out for another buyer
    assert buy(c, sale, addr)["res"] == 5
    assert buy(c, sale, addr) == refused("limit_reached", limit=1)
    c2, _, addr2 = buyer()
    assert buy(c2, sale, addr2) == {"res": 6, "errmsg": "商品库存不足", "sku_id": sku}
    assert units_left(sale) == 0 and redis("XLEN", f"flash_sale_orders_{sale}") == "1"

    # not started, ended, closed: the phase by Redis's clock
    now = int(time.time())
    later, _ = new_sale(starts=now + 3600, ends=now + 7200)
    assert buy(c, later, addr) == refused("not_started", starts_at=now + 3600)
    ended, _ = new_sale()
    sql("UPDATE df_flash_sale SET starts_at = @p0, ends_at = @p1 WHERE id = @p2", now - 7200, now - 3600, ended)
    redis("DEL", f"flash_sale_{ended}")  # rebuilt from the row: the cold path
    assert buy(c, ended, addr) == refused("ended", ends_at=now - 3600)
    closed, _ = new_sale()
    s, _ = staff()
    free_writes(closed)  # the close takes the sale's lock too
    assert close(s, closed)["res"] == 5
    assert buy(c, closed, addr) == refused("closed")
    for x in (later, ended):
        assert units_left(x) == 10 and redis("XLEN", f"flash_sale_orders_{x}") == "0"


def test_the_limit_per_user_holds_under_concurrency():
    sale, _ = new_sale(stock=50, limit=2)
    c, uid, addr = buyer()
    tabs = []
    for _ in range(20):
        t = Client()
        t.cookies.update(c.cookies)
        t.csrf()
        tabs.append(t)
    start = threading.Barrier(len(tabs))

    def one(tab):
        start.wait(timeout=10)
        return buy(tab, sale, addr)

    with concurrent.futures.ThreadPoolExecutor(len(tabs)) as pool:
        answers = list(pool.map(one, tabs))
    ok = [a for a in answers if a["res"] == 5]
    assert len(ok) == 2, answers
    assert len({a["order_id"] for a in ok}) == 2
    others = [a for a in answers if a["res"] != 5]
    # at most RATE of the 20 pass the account's rate; of those, all but 2 meet the limit
    assert all(a == refused("limit_reached", limit=2) or (a["res"], a["reason"]) == (7, "too_many_requests")
               for a in others), others
    assert sum(a["reason"] == "limit_reached" for a in others) >= RATE - 2
    assert redis("HGET", f"flash_sale_users_{sale}", uid) == "2"
    assert units_left(sale) == 48 and redis("XLEN", f"flash_sale_orders_{sale}") == "2"


def test_sold_out_exactly_at_zero_under_concurrency():
    sale, sku = new_sale(stock=50, limit=1)
    made = bench_buyers.make_buyers(MYSQL_SOCK, REDIS_SOCK, "f" + uuid.uuid4().hex[:12], 200, 1, sku)

    def one(b):
        c = Client()
        c.cookies.set("sessionid", b[0])
        c.cookies.set("csrftoken", b[1])
        return buy(c, sale, b[2])

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, made))
    ok = [a["order_id"] for a in answers if a["res"] == 5]
    assert len(ok) == 50 and len(set(ok)) == 50
    assert all(a == {"res": 6, "errmsg": "商品库存不足", "sku_id": sku} for a in answers if a["res"] != 5)
    assert units_left(sale) == 0
    assert redis("XLEN", f"flash_sale_orders_{sale}") == "50"
    assert sorted(e["o"] for e in stream(sale)) == sorted(ok)


def test_a_replayed_key_answers_the_same_order_and_takes_nothing():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    key = "k-" + uuid.uuid4().hex
    first = buy(c, sale, addr, headers={"Idempotency-Key": key})
    assert first["res"] == 5 and "replayed" not in first
    again = buy(c, sale, addr, headers={"Idempotency-Key": key})
    assert again == dict(first, replayed=True)
    # the form field names the same key
    assert buy(c, sale, addr, idempotency_key=key) == dict(first, replayed=True)
    assert units_left(sale) == 9 and redis("XLEN", f"flash_sale_orders_{sale}") == "1"
    assert redis("HGET", f"flash_sale_users_{sale}", uid) == "1"
    assert 86000 < int(redis("TTL", f"flash_idem_{uid}_{key}")) <= 86400
    # keys are the user's: another buyer's same key is another order
    c2, _, addr2 = buyer()
    other = buy(c2, sale, addr2, headers={"Idempotency-Key": key})
    assert other["res"] == 5 and other["order_id"] != first["order_id"] and "replayed" not in other
    assert units_left(sale) == 8


def test_a_missing_sale_hash_is_rebuilt_from_the_row():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    assert buy(c, sale, addr)["res"] == 5
    redis("DEL", f"flash_sale_{sale}")
    res = buy(c, sale, addr)
    assert res["res"] == 5, res
    h = sale_hash(sale)
    # rebuilt counting the order still in the stream: 10 - 1 pending, then this one
    assert h["units_left"] == "8" and h["allotted"] == "10" and h["status"] == "on"
    assert redis("XLEN", f"flash_sale_orders_{sale}") == "2"
    assert redis("SISMEMBER", "flash_sales", sale) == "1"
    assert redis("GET", f"flash_rate_{uid}") == "2"  # each request counted once, cold or not


def test_the_address_set_is_filled_on_a_miss_kept_on_add_and_refuses_foreign_ones():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    key = f"user_addrs_{uid}"
    assert redis("EXISTS", key) == "0"
    assert buy(c, sale, addr)["res"] == 5  # miss: MariaDB once, the set filled
    assert redis("GET", f"flash_rate_{uid}") == "1"  # the script ran twice, the request counted once
    assert sorted(redis("SMEMBERS", key).split()) == sorted(["0", str(addr)])
    assert 3500 < int(redis("TTL", key)) <= 3600
    # a hit: another user's address and a deleted one are refused from the set
    foreign = make_address(make_user())
    assert buy(c, sale, foreign) == BAD_ADDRESS
    sql("UPDATE df_address SET is_delete = 1 WHERE id = @p0", addr)
    redis("DEL", key)
    assert buy(c, sale, addr) == BAD_ADDRESS  # the miss reads MariaDB: deleted
    assert redis("SMEMBERS", key) == "0"  # a user with no live address has a set too
    # an address added through the shop joins the existing set
    r = c.post_form("/user/address", {"receiver": "李四", "addr": "上海市", "phone": "13900000000"})
    assert r.json()["res"] == 5, r.text
    new = r.json()["address"]["id"]
    assert sorted(redis("SMEMBERS", key).split()) == sorted(["0", str(new)])
    assert buy(c, sale, new)["res"] == 5
    assert units_left(sale) == 8
    # and a set that does not exist stays so (filled whole on the next miss)
    c2, uid2, _ = buyer()
    assert c2.post_form("/user/address", {"receiver": "王五", "addr": "广州市", "phone": "13700000000"}).json()[
        "res"] == 5
    assert redis("EXISTS", f"user_addrs_{uid2}") == "0"


def test_the_address_list_fills_the_set_so_the_buy_needs_no_mariadb():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    other = make_address(uid, receiver="二号")
    key = f"user_addrs_{uid}"
    stale = make_address(make_user())
    redis("SADD", key, stale)  # a stale set is replaced, not added to
    r = c.get_json("/api/user/address")
    assert r.json()["res"] == 1 and len(r.json()["addresses"]) == 2
    assert sorted(redis("SMEMBERS", key).split()) == sorted(["0", str(addr), str(other)])
    assert 3500 < int(redis("TTL", key)) <= 3600
    # the buy finds the set: one script run, no MariaDB (the address row is
    # gone from MariaDB's view yet the set, filled a moment ago, holds it)
    sql("UPDATE df_address SET is_delete = 1 WHERE id = @p0", other)
    assert buy(c, sale, other)["res"] == 5
    assert buy(c, sale, stale) == BAD_ADDRESS
    # a user with no address gets the set of "0" alone
    c2, uid2 = user_client()
    assert c2.get_json("/api/user/address").json() == {"res": 1, "addresses": []}
    assert redis("SMEMBERS", f"user_addrs_{uid2}") == "0"


def test_a_flash_order_reads_as_pending_until_its_row_exists():
    sale, sku = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    oid = buy(c, sale, addr, pay_method=3)["order_id"]
    r = c.get_json(f"/api/orders/{oid}")
    assert r.status_code == 200, r.text
    order = r.json()["order"]
    t = int(redis("HGET", f"flash_order_{oid}", "t"))
    assert order["pending"] is True
    assert order["order_id"] == oid and order["status"] == 1 and order["status_name"] == "待支付"
    assert order["pay_method"] == 3 and order["pay_method_name"] == "支付宝"
    assert order["total_count"] == 1 and order["total_price"] == "12.80" and order["transit_price"] == "10.00"
    assert order["total_pay"] == "22.80" and order["trade_no"] == ""
    assert order["create_time"] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t // 1000))
    assert order["address"]["id"] == addr and order["address"]["receiver"] == "收件人"
    (item,) = order["items"]
    assert item["sku_id"] == sku and item["price"] == "12.80" and item["count"] == 1
    assert item["amount"] == "12.80" and item["comment"] == ""
    # only to its own user
    other = Client()
    login(other, make_user())
    r = other.get_json(f"/api/orders/{oid}")
    assert r.status_code == 404 and r.json() == {"res": 2, "errmsg": "订单不存在"}
    # once the row exists (as the consumer writes it), the row answers, in the same shape
    sql("INSERT INTO df_order_info (create_time, update_time, is_delete, order_id, pay_method, total_count,"
        " total_price, transit_price, order_status, trade_no, addr_id, user_id)"
        " VALUES (FROM_UNIXTIME(@p0 / 1000), NOW(6), 0, @p1, 3, 1, 12.80, 10.00, 1, '', @p2, @p3);"
        "INSERT INTO df_order_goods (create_time, update_time, is_delete, count, price, comment, order_id, sku_id)"
        " VALUES (NOW(6), NOW(6), 0, 1, 12.80, '', @p1, @p4)", t, oid, addr, uid, sku)
    written = c.get_json(f"/api/orders/{oid}").json()["order"]
    assert "pending" not in written
    assert dict(written, pending=True) == order
    redis("DEL", f"flash_order_{oid}")
    assert c.get_json(f"/api/orders/{oid}").json()["order"] == written


def test_nginx_commit_limit_spares_flash_buys_and_the_account_rate_refuses():
    sale, _ = new_sale(stock=100, limit=100)
    buyers = [buyer() for _ in range(4)]
    base = "127.%d.%d." % (int(uuid.uuid4().hex[:2], 16) % 240 + 4, int(uuid.uuid4().hex[2:4], 16))
    try:
        _nginx_with(DF_LIMIT_COMMIT_RATE="1r/m", DF_LIMIT_COMMIT_BURST="2")
        tabs = []
        for c, _, addr in buyers:
            t = client_from(base + "1")  # one address: a NAT in front of many buyers
            t.cookies.update(c.cookies)
            tabs.append((t, addr))
        # 4 accounts x RATE buys from one address, far past the commit limit's 3: none 429; each
        # account's next one past its rate is refused by the shop
        statuses = []
        for t, addr in tabs:
            for _ in range(RATE):
                r = t.post_form("/order/flash", {"sale_id": sale, "addr_id": addr, "pay_method": 3})
                statuses.append(r.status_code)
                assert r.status_code != 200 or r.json()["res"] == 5, r.text
            r = t.post_form("/order/flash", {"sale_id": sale, "addr_id": addr, "pay_method": 3})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["res"] == 7 and body["reason"] == "too_many_requests" and 0 < body["retry_after"] <= 10, body
        assert statuses == [200] * (4 * RATE), statuses
        assert units_left(sale) == 100 - 4 * RATE
        # the commit limit is on for this address all the same
        t, addr = tabs[0]
        commits = [t.post_form("/order/commit", {"addr_id": addr, "pay_method": 1, "sku_ids": 1}).status_code
                   for _ in range(4)]
        assert commits == [200, 200, 200, 429], commits
    finally:
        _nginx_with()
    assert units_left(sale) == 100 - 4 * RATE


def monitor_lines(action):
    """The commands Redis ran while action ran, from MONITOR, each line."""
    mon = subprocess.Popen(["redis-cli", "-s", REDIS_SOCK, "MONITOR"], stdout=subprocess.PIPE, text=True)
    try:
        assert mon.stdout.readline().strip() == "OK"
        action()
        redis("ECHO", "monitor-end")
        lines = []
        for line in mon.stdout:
            if '"monitor-end"' in line:
                break
            lines.append(line)
        return lines
    finally:
        mon.kill()
        mon.wait(timeout=10)


def test_a_warm_buy_is_one_evalsha():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    assert buy(c, sale, addr)["res"] == 5  # warms the address set and the script
    sid = c.cookies.get("sessionid")
    lines = monitor_lines(lambda: [buy(c, sale, addr) for _ in range(3)])
    mine = [ln for ln in lines if sid in ln or f"flash_sale_{sale}" in ln or f"_{uid}" in ln]
    top = [ln for ln in mine if "lua]" not in ln]
    assert len(top) == 3 and all('"EVALSHA"' in ln for ln in top), top
    # the script's own calls come under it; none of them leaves Redis
    assert any('"XADD"' in ln and "lua]" in ln for ln in mine)
    assert units_left(sale) == 6


def test_wait_replicas_without_a_replica_answers_503_with_the_order_id():
    sale, _ = new_sale(stock=10, limit=5)
    c, uid, addr = buyer()
    assert buy(c, sale, addr)["res"] == 5  # the address set and the script are warm
    key = "w-" + uuid.uuid4().hex
    with uwsgi_options("--dailyfresh-flash-wait-replicas", "1", "--dailyfresh-flash-wait-timeout", "300"):
        t = time.monotonic()
        r = c.post_form("/order/flash", {"sale_id": sale, "addr_id": addr, "pay_method": 3},
                        headers={"Idempotency-Key": key})
        took = time.monotonic() - t
        assert r.status_code == 503, r.text
        body = r.json()
        assert set(body) == {"error", "order_id"} and body["error"] == "order not replicated"
        assert took >= 0.3
        oid = body["order_id"]
        assert ORDER_ID.match(oid)
        # the unit is taken and the order recorded on the master
        assert units_left(sale) == 8 and redis("HGET", f"flash_order_{oid}", "u") == str(uid)
        # a retry with the key names the same order, still unconfirmed
        r = c.post_form("/order/flash", {"sale_id": sale, "addr_id": addr, "pay_method": 3},
                        headers={"Idempotency-Key": key})
        assert r.status_code == 503 and r.json() == body
        # refusals are answered as ever
        assert buy(c, sale, foreign_address()) == BAD_ADDRESS
    r = buy(c, sale, addr, headers={"Idempotency-Key": key})
    assert r == {"res": 5, "message": "创建成功", "order_id": oid, "replayed": True}
    assert units_left(sale) == 8


def foreign_address():
    return make_address(make_user())


def test_wait_replicas_with_a_replica_answers_res_5_and_the_replica_has_it():
    servers = Servers()
    try:
        master, replica = free_ports(2)
        servers.start("master", server_lines(master))
        servers.start("replica", server_lines(replica) + [f"replicaof 127.0.0.1 {master}"])
        wait_until("replica in sync", lambda: "master_link_status:up" in cli(replica, "INFO", "replication"), 20)
        sale, _ = new_sale(stock=10, limit=5)
        hold_writes(sale, on=lambda *a: cli(master, *a))
        uid = make_user()
        addr = make_address(uid)
        c = session_on(master, uid)
        with uwsgi_options("--dailyfresh-redis", f"127.0.0.1:{master}", "--dailyfresh-flash-wait-replicas", "1",
                           "--dailyfresh-flash-wait-timeout", "500"):
            # the sale's hash and the address set are built on this Redis on the way
            res = buy(c, sale, addr)
            assert res["res"] == 5, res
            oid = res["order_id"]
            assert cli(replica, "HGET", f"flash_order_{oid}", "u") == str(uid)
            assert cli(replica, "HGET", f"flash_sale_{sale}", "units_left") == "9"
            assert cli(replica, "XLEN", f"flash_sale_orders_{sale}") == "1"
    finally:
        servers.stop()
