"""Flash sales, as staff make them and everyone reads them: creating one
takes its units from the SKU's stock in the INSERT's transaction (so
ordinary orders never sell them twice), closing gives back what was left
exactly once, the sale's Redis hash is rebuilt from its row when missing,
and scripts/flash-sale.sh drives the staff endpoints."""
import concurrent.futures
import os
import subprocess
import threading
import time

import pytest

from support.backends import redis, sql
from support.cart import login, make_user
from support.env import BASE, ROOT, VAR
from support.http import Client
from support.orders import buyer, commit, put_cart, sku_state, skus
from support.users import PASSWORD, logged_in

ADMIN = "/api/admin/flash-sales"
STAFF_ONLY = {"error": "staff only"}
NOT_LOGGED_IN = {"res": 0, "errmsg": "用户未登录"}
NOT_FOUND = {"res": 2, "errmsg": "秒杀活动不存在"}


def staff():
    """(client, uid): a logged-in staff account."""
    uid = make_user()
    sql("UPDATE df_user SET is_staff = 1 WHERE id = @p0", uid)
    c = Client()
    login(c, uid)
    return c, uid


def sale_form(sku, stock=10, starts=None, ends=None, limit=2):
    now = int(time.time())
    return {"sku_id": sku, "stock": stock, "starts_at": now - 60 if starts is None else starts,
            "ends_at": now + 3600 if ends is None else ends, "limit_per_user": limit}


def create(c, form):
    r = c.post_form(ADMIN, form)
    assert r.status_code == 200, r.text
    return r.json()


def created(c, sku, **kw):
    res = create(c, sale_form(sku, **kw))
    assert res["res"] == 5 and res["message"] == "创建成功", res
    return res["sale_id"]


def close(c, sale):
    r = c.post_form(f"{ADMIN}/{sale}/close")
    assert r.status_code == 200, r.text
    return r.json()


def staff_show(c, sale):
    r = c.get_json(f"{ADMIN}/{sale}")
    assert r.status_code == 200, r.text
    return r.json()


def public(sale):
    r = Client().get_json(f"/api/flash/{sale}")
    assert r.status_code == 200, r.text
    return r.json()


def sale_hash(sale):
    out = redis("HGETALL", f"flash_sale_{sale}").splitlines()
    return dict(zip(out[0::2], out[1::2]))


def sale_row(sale):
    return sql("SELECT sku_id, stock, starts_at, ends_at, limit_per_user, status, returned FROM df_flash_sale"
               " WHERE id = @p0", sale)[0]


def test_create_takes_the_units_from_the_sku():
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    now = int(time.time())
    sale = created(c, sku, stock=30, starts=now + 600, ends=now + 4200, limit=3)
    assert sku_state(sku) == (70, 0)
    assert sale_row(sale) == [str(sku), "30", str(now + 600), str(now + 4200), "3", "1", "0"]
    assert sale_hash(sale) == {"sku_id": str(sku), "allotted": "30", "units_left": "30",
                               "starts_at": str(now + 600), "ends_at": str(now + 4200), "limit": "3",
                               "status": "on", "returned": "0", "written": "0", "price": "12.80"}
    # the Beijing text form names the same instant
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now + 600 + 8 * 3600))
    sale2 = created(c, sku, stock=5, starts=text, ends=now + 4200)
    assert sale_row(sale2)[2] == str(now + 600)
    assert sku_state(sku) == (65, 0)
    # JSON bodies are accepted as everywhere
    r = c.post_json(ADMIN, sale_form(sku, stock=5))
    assert r.status_code == 200 and r.json()["res"] == 5, r.text
    assert sku_state(sku) == (60, 0)


def test_non_staff_get_403_and_nothing_changes():
    c = Client()
    uid = make_user()
    login(c, uid)
    (sku,) = skus(1, stock=100)
    s, staff_uid = staff()
    sale = created(s, sku, stock=10)
    for r in (c.post_form(ADMIN, sale_form(sku)), c.post_form(f"{ADMIN}/{sale}/close"),
              c.get_json(f"{ADMIN}/{sale}"), c.get_json(f"{ADMIN}/999999999")):
        assert r.status_code == 403, r.text
        assert r.json() == STAFF_ONLY
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sku_state(sku) == (90, 0)
    assert sale_row(sale)[5] == "1"
    # is_staff is read on every request: revoked, refused at once
    assert s.get_json(f"{ADMIN}/{sale}").status_code == 200
    sql("UPDATE df_user SET is_staff = 0 WHERE id = @p0", staff_uid)
    r = s.get_json(f"{ADMIN}/{sale}")
    assert r.status_code == 403 and r.json() == STAFF_ONLY


def test_anonymous_is_not_logged_in_and_posts_need_csrf():
    c = Client()
    (sku,) = skus(1, stock=100)
    s, _ = staff()
    sale = created(s, sku, stock=10)
    for r in (c.post_form(ADMIN, sale_form(sku)), c.post_form(f"{ADMIN}/{sale}/close"),
              c.get_json(f"{ADMIN}/{sale}")):
        assert r.status_code == 200, r.text
        assert r.json() == NOT_LOGGED_IN
    r = s.post_form(ADMIN, sale_form(sku), csrf=False)
    assert r.status_code == 403 and r.json() == {"error": "CSRF verification failed"}
    r = s.post_form(f"{ADMIN}/{sale}/close", csrf=False)
    assert r.status_code == 403 and r.json() == {"error": "CSRF verification failed"}
    assert sku_state(sku) == (90, 0)


def bad_param(field, reason):
    return {"res": 2, "errmsg": "参数错误", "field": field, "reason": reason}


NOW = int(time.time())
BAD_INPUTS = [
    ({"sku_id": None}, {"res": 1, "errmsg": "参数不完整", "field": "sku_id"}),
    ({"stock": ""}, {"res": 1, "errmsg": "参数不完整", "field": "stock"}),
    ({"starts_at": None}, {"res": 1, "errmsg": "参数不完整", "field": "starts_at"}),
    ({"ends_at": None}, {"res": 1, "errmsg": "参数不完整", "field": "ends_at"}),
    ({"limit_per_user": None}, {"res": 1, "errmsg": "参数不完整", "field": "limit_per_user"}),
    ({"sku_id": "abc"}, {"res": 4, "errmsg": "商品不存在", "sku_id": "abc", "reason": "bad_id"}),
    ({"sku_id": "0"}, {"res": 4, "errmsg": "商品不存在", "sku_id": "0", "reason": "bad_id"}),
    ({"sku_id": "99999999999"}, {"res": 4, "errmsg": "商品不存在", "sku_id": "99999999999", "reason": "bad_id"}),
    ({"stock": "0"}, bad_param("stock", "not_positive")),
    ({"stock": "-5"}, bad_param("stock", "not_positive")),
    ({"stock": "1.5"}, bad_param("stock", "bad_number")),
    ({"stock": "ten"}, bad_param("stock", "bad_number")),
    ({"stock": "2147483648"}, bad_param("stock", "out_of_range")),
    ({"stock": "99999999999999999999999"}, bad_param("stock", "out_of_range")),
    ({"limit_per_user": "0"}, bad_param("limit_per_user", "not_positive")),
    ({"limit_per_user": "x"}, bad_param("limit_per_user", "bad_number")),
    ({"limit_per_user": "2147483648"}, bad_param("limit_per_user", "out_of_range")),
    ({"starts_at": "2026-13-01 00:00:00"}, bad_param("starts_at", "bad_time")),
    ({"starts_at": "2026-02-29 10:00:00"}, bad_param("starts_at", "bad_time")),
    ({"starts_at": "2026-01-01T10:00:00"}, bad_param("starts_at", "bad_time")),
    ({"starts_at": "-1"}, bad_param("starts_at", "bad_time")),
    ({"starts_at": "99999999999999"}, bad_param("starts_at", "bad_time")),
    ({"ends_at": "tomorrow"}, bad_param("ends_at", "bad_time")),
    ({"starts_at": NOW + 100, "ends_at": NOW + 100}, bad_param("ends_at", "not_after_start")),
    ({"starts_at": NOW + 100, "ends_at": NOW + 50}, bad_param("ends_at", "not_after_start")),
    ({"starts_at": NOW - 100, "ends_at": NOW - 50}, bad_param("ends_at", "in_the_past")),
]


@pytest.mark.parametrize("change,answer", BAD_INPUTS, ids=[str(c) for c, _ in BAD_INPUTS])
def test_bad_input_gets_the_contracts_answer_and_takes_nothing(change, answer):
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    form = sale_form(sku)
    form.update(change)
    form = {k: v for k, v in form.items() if v is not None}
    assert create(c, form) == answer
    assert sku_state(sku) == (100, 0)
    assert sql("SELECT COUNT(*) FROM df_flash_sale WHERE sku_id = @p0", sku) == [["0"]]


def test_unknown_offline_and_short_skus():
    c, _ = staff()
    (sku,) = skus(1, stock=10)
    (offline,) = skus(1, stock=10, status=0)
    assert create(c, sale_form(2147483647)) == {"res": 4, "errmsg": "商品不存在", "sku_id": 2147483647,
                                                "reason": "unknown"}
    assert create(c, sale_form(offline)) == {"res": 4, "errmsg": "商品不存在", "sku_id": offline,
                                             "reason": "offline"}
    assert create(c, sale_form(sku, stock=11)) == {"res": 6, "errmsg": "商品库存不足", "sku_id": sku, "stock": 10}
    assert sku_state(sku) == (10, 0) and sku_state(offline) == (10, 0)
    created(c, sku, stock=10)  # all of it
    assert sku_state(sku) == (0, 0)
    assert create(c, sale_form(sku, stock=1)) == {"res": 6, "errmsg": "商品库存不足", "sku_id": sku, "stock": 0}


def test_public_read_goes_from_scheduled_to_open_to_closed():
    c, _ = staff()
    (sku,) = skus(1, stock=50)
    starts = int(time.time()) + 2
    sale = created(c, sku, stock=20, starts=starts, ends=starts + 3600, limit=4)
    before = public(sale)
    now = before.pop("now")
    assert abs(now - time.time()) < 5
    assert before.pop("now_text") == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now + 8 * 3600))
    bj = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t + 8 * 3600))  # noqa: E731
    assert before == {"res": 5, "sale_id": sale, "sku_id": sku, "status": "scheduled",
                      "starts_at": starts, "starts_at_text": bj(starts),
                      "ends_at": starts + 3600, "ends_at_text": bj(starts + 3600),
                      "limit_per_user": 4, "units_left": 20}
    deadline = time.time() + 10
    while public(sale)["status"] == "scheduled":
        assert time.time() < deadline, "still scheduled 10 s after a start 2 s away"
        time.sleep(0.2)
    opened = public(sale)
    assert opened["status"] == "open" and opened["now"] >= starts and opened["units_left"] == 20
    assert close(c, sale)["res"] == 5
    after = public(sale)
    assert after["status"] == "closed" and after["units_left"] == 0
    r = Client().get_json("/api/flash/2147483647")
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = Client().get_json("/api/flash/99999999999")
    assert r.status_code == 404 and r.json() == NOT_FOUND
    assert Client().get_json("/api/flash/abc").json() == {"error": "not found"}


def test_a_sale_past_its_end_reads_ended():
    c, _ = staff()
    (sku,) = skus(1, stock=5)
    now = int(time.time())
    sale = created(c, sku, stock=5, starts=now - 10, ends=now + 2)
    time.sleep(3)
    assert public(sale)["status"] == "ended"
    assert staff_show(c, sale)["status"] == "ended"


def test_two_closes_at_once_give_back_once():
    c, _ = staff()
    other, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=40)
    assert sku_state(sku) == (60, 0)
    start = threading.Barrier(2)

    def one(client):
        start.wait(timeout=10)
        return close(client, sale)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(one, [c, other]))
    answers.sort(key=lambda a: a.get("already_closed", False))
    assert answers == [{"res": 5, "message": "已关闭", "sale_id": sale, "returned": 40},
                       {"res": 5, "message": "已关闭", "sale_id": sale, "returned": 0, "already_closed": True}]
    assert sku_state(sku) == (100, 0)
    assert close(c, sale) == answers[1]
    assert sku_state(sku) == (100, 0)
    assert sale_row(sale)[5:] == ["2", "40"]
    assert sale_hash(sale)["units_left"] == "0" and sale_hash(sale)["status"] == "closed"
    assert close(c, 2147483647) == NOT_FOUND


def test_orders_and_a_sale_creation_at_once_never_oversell():
    (sku,) = skus(1, stock=30)
    buyers = []
    for _ in range(24):
        b, uid, addr = buyer()
        put_cart(uid, {sku: 1})
        buyers.append((b, addr))
    c, _ = staff()
    start = threading.Barrier(len(buyers) + 1)

    def order(b_addr):
        start.wait(timeout=20)
        return commit(b_addr[0], b_addr[1], [sku])["res"]

    def sale():
        start.wait(timeout=20)
        return create(c, sale_form(sku, stock=12))

    with concurrent.futures.ThreadPoolExecutor(len(buyers) + 1) as pool:
        made = pool.submit(sale)
        codes = list(pool.map(order, buyers))
        made = made.result()
    sold = codes.count(5)
    assert set(codes) <= {5, 6}, codes
    allotted = 12 if made["res"] == 5 else 0
    if made["res"] != 5:
        assert made["res"] == 6 and made["stock"] < 12, made
    stock, sales = sku_state(sku)
    assert sales == sold
    assert stock == 30 - sold - allotted and stock >= 0
    assert sold + allotted <= 30
    # every unit that was there is either sold, allotted, or left: none twice
    assert sql("SELECT COALESCE(SUM(count), 0) FROM df_order_goods WHERE sku_id = @p0", sku) == [[str(sold)]]


def test_redis_state_is_rebuilt_from_the_row():
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    sale = created(c, sku, stock=25)
    stream = f"flash_sale_orders_{sale}"
    try:
        redis("DEL", f"flash_sale_{sale}")
        assert public(sale)["units_left"] == 25
        assert sale_hash(sale)["units_left"] == "25" and sale_hash(sale)["allotted"] == "25"
        # orders recorded in the stream and not written yet are not left: built again, 25 - 3
        for i in range(3):
            redis("XADD", stream, "*", "order_id", f"o{i}")
        redis("DEL", f"flash_sale_{sale}")
        shown = staff_show(c, sale)
        assert (shown["units_left"], shown["reserved"], shown["persisted"], shown["pending"], shown["drift"]) == \
            (22, 3, 0, 3, 0)
        # a hash that exists is never built again (no unit counted twice): a unit taken from it stays taken
        redis("HINCRBY", f"flash_sale_{sale}", "units_left", -1)
        assert public(sale)["units_left"] == 21
        assert staff_show(c, sale)["units_left"] == 21
        redis("HINCRBY", f"flash_sale_{sale}", "units_left", 1)
        # the close builds it too when missing, and gives back what is left
        redis("DEL", f"flash_sale_{sale}")
        assert close(c, sale)["returned"] == 22
        assert sku_state(sku) == (97, 0)
        redis("DEL", f"flash_sale_{sale}")
        after = staff_show(c, sale)
        assert (after["status"], after["units_left"], after["returned"], after["reserved"], after["drift"]) == \
            ("closed", 0, 22, 3, 0)
        assert sale_hash(sale)["status"] == "closed"
    finally:
        redis("DEL", stream)


def test_staff_show_reconciles():
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    now = int(time.time())
    sale = created(c, sku, stock=10, starts=now - 5, ends=now + 600, limit=1)
    shown = staff_show(c, sale)
    t = shown.pop("now")
    assert abs(t - time.time()) < 5
    shown.pop("now_text")
    assert shown.pop("reconciliation") == {
        "rebuilt": False, "allotted": 10, "units_left": 10, "pending": 0, "written": 0, "returned": 0, "live": 0,
        "live_pending": 0, "row_returned": 0, "drift": {"units": 0, "written": 0, "returned": 0}, "repaired": False,
        "after": {"units_left": 10, "written": 0, "returned": 0, "to_sku": 0}}
    bj = lambda x: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(x + 8 * 3600))  # noqa: E731
    assert shown == {"res": 5, "sale_id": sale, "sku_id": sku, "stock": 10, "limit_per_user": 1, "status": "open",
                     "starts_at": now - 5, "starts_at_text": bj(now - 5), "ends_at": now + 600,
                     "ends_at_text": bj(now + 600), "returned": 0, "units_left": 10, "reserved": 0,
                     "persisted": 0, "pending": 0, "drift": 0}
    # a unit gone from the hash with no order behind it is drift
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", -2)
    shown = staff_show(c, sale)
    assert (shown["units_left"], shown["reserved"], shown["drift"]) == (8, 2, 2)
    # found, reported and repaired
    assert shown["reconciliation"]["drift"] == {"units": 2, "written": 0, "returned": 0}
    assert shown["reconciliation"]["repaired"] and shown["reconciliation"]["after"]["units_left"] == 10
    assert redis("HGET", f"flash_sale_{sale}", "units_left") == "10"
    r = c.get_json(f"{ADMIN}/2147483647")
    assert r.status_code == 404 and r.json() == NOT_FOUND


def run(script, *args, env=None, check=False):
    full = dict(os.environ, DF_VAR=VAR, DF_BASE_URL=BASE, **(env or {}))
    return subprocess.run([os.path.join(ROOT, "scripts", script), *map(str, args)], env=full, capture_output=True,
                          text=True, timeout=60, check=check, stdin=subprocess.DEVNULL)


def test_flash_sale_script_against_the_stack():
    c, name, uid = logged_in()
    (sku,) = skus(1, stock=50)
    env = {"DF_STAFF_USER": name, "DF_STAFF_PASSWORD": PASSWORD}
    # not staff yet: refused, exit 1
    out = run("flash-sale.sh", "create", sku, 5, NOW + 60, NOW + 3600, 1, env=env)
    assert out.returncode == 1 and '"staff only"' in out.stdout, out
    done = run("ops.sh", "set-staff", name, check=True)
    assert f"{name}: is_staff = 1" in done.stdout
    assert sql("SELECT is_staff FROM df_user WHERE id = @p0", uid) == [["1"]]
    assert run("ops.sh", "set-staff", "nobody_here_x").returncode == 1
    out = run("flash-sale.sh", "create", sku, 5, "2030-01-01 10:00:00", "2030-01-01 11:00:00", 1, env=env)
    assert out.returncode == 0, out
    sale = int(out.stdout.split('"sale_id":')[1].split("}")[0])
    assert sku_state(sku) == (45, 0)
    out = run("flash-sale.sh", "show", sale, env=env)
    assert out.returncode == 0 and '"units_left":5' in out.stdout and '"starts_at_text":"2030-01-01 10:00:00"' in \
        out.stdout, out
    assert run("flash-sale.sh", "check", sale, env=env).returncode == 0
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", -1)
    out = run("flash-sale.sh", "check", sale, env=env)
    assert out.returncode == 1 and "drift 1" in out.stderr, out
    # and repaired it: units_left is 5 again
    assert redis("HGET", f"flash_sale_{sale}", "units_left") == "5"
    assert run("flash-sale.sh", "check", sale, env=env).returncode == 0
    out = run("flash-sale.sh", "close", sale, env=env)
    assert out.returncode == 0 and '"returned":5' in out.stdout, out
    assert sku_state(sku) == (50, 0)
    out = run("flash-sale.sh", "create", sku, 0, NOW + 60, NOW + 3600, 1, env=env)
    assert out.returncode == 1 and '"not_positive"' in out.stdout, out
    out = run("flash-sale.sh", "close", 2147483647, env=env)
    assert out.returncode == 1 and "秒杀活动不存在" in out.stdout, out
    assert run("flash-sale.sh", "show", "x", env=env).returncode == 2
    assert run("flash-sale.sh", env=env).returncode == 2
    out = run("flash-sale.sh", "show", sale, env=dict(env, DF_STAFF_PASSWORD="wrong-Pass999"))
    assert out.returncode == 1 and "refused" in out.stderr, out
    run("ops.sh", "set-staff", name, 0, check=True)
    assert sql("SELECT is_staff FROM df_user WHERE id = @p0", uid) == [["0"]]


def test_a_sale_stands_when_its_hash_cannot_be_written():
    c, _ = staff()
    (sku,) = skus(1, stock=100)
    # the next sale's order stream made a string: the build script's XLEN fails after the COMMIT
    nxt = int(sql("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dailyfresh'"
                  " AND TABLE_NAME = 'df_flash_sale'")[0][0])
    stream = f"flash_sale_orders_{nxt}"
    redis("SET", stream, "not a stream")
    try:
        sale = created(c, sku, stock=15)
        assert sale == nxt
        assert sku_state(sku) == (85, 0) and sale_row(sale)[1] == "15"
        assert redis("EXISTS", f"flash_sale_{sale}") == "0"
    finally:
        redis("DEL", stream)
    assert public(sale)["units_left"] == 15
    assert sale_hash(sale)["units_left"] == "15"
