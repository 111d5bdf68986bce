"""Expiry of unpaid orders, through the real stack: both uWSGI instances run
their mule, whose timer sweeps at the same time as the other instance's.
Orders are made directly in MariaDB as a commit would have left them
(stock already taken, sales already counted), aged by their create_time."""
import re
import subprocess
import time
import uuid

from support import uwsgi
from support.backends import sql
from support.cart import make_sku, make_type, make_user
from support.env import MYSQL_SOCK, UWSGI_PORTS
from support.stack import uwsgi_options

FAST = ("--dailyfresh-order-ttl", "2", "--dailyfresh-order-expire-interval", "1")
POLL_S = 15


def make_address(uid):
    rows = sql("INSERT INTO df_address (create_time, update_time, receiver, addr, phone, user_id)"
               " VALUES (NOW(6), NOW(6), '张三', '北京', '13800000000', @p0); SELECT LAST_INSERT_ID()", uid)
    return int(rows[-1][0])


def make_order(uid, addr, items, pay_method=3, status=1, age_s=60):
    """An order of uid holding items [(sku_id, count)], created age_s seconds
    ago, with the stock taken and the sales counted as /order/commit does,
    all in one transaction. Returns its order_id."""
    oid = "exp" + uuid.uuid4().hex
    stmts = ["START TRANSACTION;",
             "INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
             " transit_price, order_status, addr_id, user_id) VALUES (NOW(6) - INTERVAL @p0 SECOND, NOW(6), @p1,"
             " @p2, @p3, 10.00, 10.00, @p4, @p5, @p6);"]
    params = [age_s, oid, pay_method, sum(c for _, c in items), status, addr, uid]
    for sku, count in items:
        i = len(params)
        stmts.append("INSERT INTO df_order_goods (create_time, update_time, count, price, order_id, sku_id)"
                     f" VALUES (NOW(6), NOW(6), @p{i}, 10.00, @p1, @p{i + 1});"
                     f"UPDATE df_goods_sku SET stock = stock - @p{i}, sales = sales + @p{i} WHERE id = @p{i + 1};")
        params += [count, sku]
    stmts.append("COMMIT")
    sql("".join(stmts), *params)
    return oid


def make_orders(uid, addr, sku, n, count, pay_method=3, age_s=60):
    """n one-line orders of count × sku in one transaction; returns their prefix."""
    prefix = "hot" + uuid.uuid4().hex[:12]
    sql("START TRANSACTION;"
        "INSERT INTO df_order_info (create_time, update_time, order_id, pay_method, total_count, total_price,"
        " transit_price, order_status, addr_id, user_id)"
        " SELECT NOW(6) - INTERVAL @p0 SECOND, NOW(6), CONCAT(@p1, seq), @p2, @p3, 10.00, 10.00, 1, @p4, @p5"
        " FROM seq_1_to_" + str(int(n)) + ";"
        "INSERT INTO df_order_goods (create_time, update_time, count, price, order_id, sku_id)"
        " SELECT NOW(6), NOW(6), @p3, 10.00, CONCAT(@p1, seq), @p6 FROM seq_1_to_" + str(int(n)) + ";"
        "UPDATE df_goods_sku SET stock = stock - @p7, sales = sales + @p7 WHERE id = @p6;"
        "COMMIT", age_s, prefix, pay_method, count, addr, uid, sku, n * count)
    return prefix


def status(oid):
    return int(sql("SELECT order_status FROM df_order_info WHERE order_id = @p0", oid)[0][0])


def stock_sales(sku):
    row = sql("SELECT stock, sales FROM df_goods_sku WHERE id = @p0", sku)[0]
    return int(row[0]), int(row[1])


def wait_until(what, cond, seconds=POLL_S):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def log_marks():
    return {port: uwsgi.log_size(port) for port in UWSGI_PORTS}


def log_since(marks):
    """{log path: what the instance logged since its mark}."""
    return {uwsgi.log_path(port): uwsgi.log_since(port, mark) for port, mark in marks.items()}


CANCELLED = re.compile(r"dailyfresh\[(\d+)\]: order expiry: cancelled (\d+) unpaid order")


def cancelled_in(logs):
    """[(pid, count)] of the sweep lines in logs."""
    return [(int(m.group(1)), int(m.group(2))) for text in logs.values() for m in CANCELLED.finditer(text)]


def mules_running():
    """The ports whose instance has a live process titled as its mule."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return {port for port in UWSGI_PORTS if f"dailyfresh-{port} uWSGI mule 1" in out}


def drain_then_mark():
    """Waits until no order left by earlier tests is still to expire under
    the running options (a 2 s ttl), lets the sweep that took the last of
    them log, and returns the log marks from which a test counts."""
    # flash orders are the flash sweep's (test_flash_expire.py), not this one's
    wait_until("older unpaid orders swept", lambda: sql(
        "SELECT COUNT(*) FROM df_order_info o WHERE order_status = 1 AND pay_method IN (2, 3, 4)"
        " AND create_time < NOW(6) - INTERVAL 2 SECOND"
        " AND NOT EXISTS (SELECT 1 FROM df_flash_sale_order f WHERE f.order_id = o.order_id)")[0][0] == "0")
    time.sleep(1.5)
    return log_marks()


def hold_row(sku, seconds):
    """A session of its own that locks the SKU row for seconds, as a long
    commit would; returns the running client."""
    holder = subprocess.Popen(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "-N", "-B",
                               "dailyfresh", "-e",
                               f"START TRANSACTION; SELECT stock FROM df_goods_sku WHERE id = {int(sku)} FOR UPDATE;"
                               f" SELECT SLEEP({int(seconds)}); COMMIT"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)  # the lock is taken long before the orders expire
    return holder


def assert_no_crash(logs):
    for path, text in logs.items():
        assert uwsgi.worker_deaths(text) == 0, f"{path}: {text[-3000:]}"
        assert "error managing signal" not in text, f"{path}: {text[-3000:]}"


def test_expired_orders_are_cancelled_and_restocked_once(no_worker_deaths):
    type_id, goods_id = make_type("过期")
    a, b, c, d = (make_sku(type_id, goods_id, stock=100, sales=7) for _ in range(4))
    uid = make_user()
    addr = make_address(uid)
    with uwsgi_options(*FAST):
        assert mules_running() == set(UWSGI_PORTS)
        marks = drain_then_mark()
        alipay = make_order(uid, addr, [(a, 3)], pay_method=3)
        multi = make_order(uid, addr, [(c, 5), (b, 2), (a, 1)], pay_method=2)
        unionpay = make_order(uid, addr, [(d, 4)], pay_method=4)
        cash = make_order(uid, addr, [(b, 6)], pay_method=1)
        paid = make_order(uid, addr, [(c, 1)], pay_method=3, status=2)
        commented = make_order(uid, addr, [(d, 2)], pay_method=3, status=4)

        wait_until("the expired orders cancelled",
                   lambda: [status(o) for o in (alipay, multi, unionpay)] == [6, 6, 6])
        # several more sweeps of both instances: nothing is given back twice
        time.sleep(2.5)
        assert [status(o) for o in (alipay, multi, unionpay)] == [6, 6, 6]
        assert stock_sales(a) == (100, 7)                 # 3 + 1 back
        assert stock_sales(b) == (100 - 6, 7 + 6)         # 2 back, cash order's 6 still held
        assert stock_sales(c) == (100 - 1, 7 + 1)         # 5 back, paid order's 1 still sold
        assert stock_sales(d) == (100 - 2, 7 + 2)         # 4 back, status-4 order's 2 still sold
        assert status(cash) == 1                          # cash on delivery: after a day
        assert status(paid) == 2 and status(commented) == 4
        for o in (alipay, multi, unionpay):
            updated = sql("SELECT update_time > create_time + INTERVAL 1 SECOND FROM df_order_info"
                          " WHERE order_id = @p0", o)[0][0]
            assert updated == "1"
        logs = log_since(marks)
    assert_no_crash(logs)
    assert sum(n for _, n in cancelled_in(logs)) == 3


def test_young_orders_wait_for_the_ttl():
    type_id, goods_id = make_type("未过期")
    sku = make_sku(type_id, goods_id, stock=50, sales=0)
    uid = make_user()
    addr = make_address(uid)
    with uwsgi_options("--dailyfresh-order-ttl", "600", "--dailyfresh-order-expire-interval", "1"):
        young = make_order(uid, addr, [(sku, 2)], pay_method=3, age_s=480)
        old = make_order(uid, addr, [(sku, 3)], pay_method=3, age_s=720)
        wait_until("the order past the ttl cancelled", lambda: status(old) == 6)
        time.sleep(2.5)  # more sweeps by both instances
        assert status(young) == 1
        assert stock_sales(sku) == (48, 2)


def test_two_instances_sweeping_one_hot_sku_restore_it_exactly(no_worker_deaths):
    """Many expired orders of one SKU, both instances sweeping at once: a
    session of the test holds the SKU row while the orders expire, so each
    instance's sweep takes its own batch of orders (SKIP LOCKED) and then
    waits on the SKU row; when the hold ends both commit. The SKU gets back
    exactly what the orders held, whichever sweeper took which order."""
    type_id, goods_id = make_type("热门")
    hot = make_sku(type_id, goods_id, stock=10000, sales=500)
    uid = make_user()
    addr = make_address(uid)
    n, count = 300, 3
    with uwsgi_options(*FAST):
        marks = drain_then_mark()
        make_orders(uid, addr, hot, n, count, age_s=0)  # expire in 2 s
        assert stock_sales(hot) == (10000 - n * count, 500 + n * count)
        holder = hold_row(hot, seconds=4)
        try:
            def left():
                return int(sql("SELECT COUNT(*) FROM df_order_info WHERE user_id = @p0 AND order_status = 1",
                               uid)[0][0])

            wait_until("every hot order cancelled", lambda: left() == 0, seconds=POLL_S)
        finally:
            holder.wait(timeout=30)
        time.sleep(2.5)  # more sweeps: nothing given back twice
        assert stock_sales(hot) == (10000, 500)
        assert int(sql("SELECT COUNT(*) FROM df_order_info WHERE user_id = @p0 AND order_status = 6",
                       uid)[0][0]) == n
        logs = log_since(marks)
    assert_no_crash(logs)
    lines = cancelled_in(logs)
    # every cancellation was logged once, by the sweeper that made it
    assert sum(c for _, c in lines) == n, lines
    # and both instances' mules took part
    assert len({pid for pid, _ in lines}) == 2, lines
    for path, text in logs.items():
        assert CANCELLED.search(text), f"{path} shows no sweep: {lines}"


def test_the_mule_runs_beside_the_workers():
    assert mules_running() == set(UWSGI_PORTS)
    for port in UWSGI_PORTS:
        text = uwsgi.log(port)
        assert "spawned uWSGI mule 1" in text
        assert "dailyfresh: unpaid orders expire after" in text
