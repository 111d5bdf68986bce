"""A flash sale under load while, in turn, a consumer mule, Redis, MariaDB
and a whole uWSGI instance are killed with SIGKILL: afterwards every res 5
a buyer received is exactly one order row, no more orders than units
allotted, nobody above the limit, the SKU's stock + units sold unchanged,
and reconciliation finds nothing to repair. Then the race: 2,000 buyers at
the second a sale of 500 units opens get exactly 500 orders. (Marked
destructive, so run last: it kills the stack's servers.)"""
import os
import signal
import subprocess
import time

import pytest

from support.backends import redis, sql
from support.env import UWSGI_PORTS, VAR
from support.orders import skus
from support.flash_load import Load, make_buyers, wait_until
from support.stack import stack, wait_healthy
from support.uwsgi import children, master_pid
from test_flash_sales import created, staff, staff_show

pytestmark = pytest.mark.destructive

BUYERS = 600
UNITS = 400
LIMIT = 1
SKU_STOCK = 1000


def new_sku():
    (sku,) = skus(1, stock=SKU_STOCK)
    return sku


def sku_stock_sales(sku):
    stock, sales = sql("SELECT stock, sales FROM df_goods_sku WHERE id = @p0", sku)[0]
    return int(stock), int(sales)


def pending(sale):
    return int(redis("XLEN", f"flash_sale_orders_{sale}"))


def check_settled(sale, sku, load, units=UNITS, limit=LIMIT):
    """The checks of every crash test, once the stream has drained."""
    wait_until(lambda: pending(sale) == 0, 60, f"sale {sale}: orders still pending after 60 s")
    rows = sql("SELECT f.order_id, f.user_id, o.user_id FROM df_flash_sale_order f"
               " JOIN df_order_info o ON o.order_id = f.order_id WHERE f.sale_id = @p0 AND f.released = 0", sale)
    written = {oid: int(uid) for oid, uid, _ in rows}
    assert all(a == b for _, a, b in rows)
    # every res 5 is its order row, for its buyer
    missing = [oid for oid in load.won if oid not in written]
    assert not missing, f"{len(missing)} acknowledged orders have no row, e.g. {missing[:3]}"
    assert all(written[oid] == uid for oid, uid in load.won.items())
    goods = sql("SELECT COUNT(*), COUNT(DISTINCT g.order_id) FROM df_order_goods g"
                " JOIN df_flash_sale_order f ON f.order_id = g.order_id WHERE f.sale_id = @p0", sale)[0]
    assert goods == [str(len(written))] * 2  # one goods line per order
    assert len(written) <= units
    per_user = sql("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM df_flash_sale_order WHERE sale_id = @p0"
                   " GROUP BY user_id) t", sale)[0][0]
    assert per_user is None or int(per_user) <= limit
    left = int(redis("HGET", f"flash_sale_{sale}", "units_left"))
    stock, sales = sku_stock_sales(sku)
    assert stock + left + len(written) == SKU_STOCK  # every unit somewhere, once
    assert sales == len(written)
    c, _ = staff()
    shown = staff_show(c, sale)
    assert shown["drift"] == 0, shown
    assert shown["pending"] == 0 and shown["persisted"] == len(written), shown
    return written


def run_with(fault, buyers=BUYERS, threads=8):
    sku = new_sku()
    c, _ = staff()
    sale = created(c, sku, stock=UNITS, limit=LIMIT)
    load = Load(sale, make_buyers(buyers), threads=threads)
    try:
        load.wait_answers(100)
        fault()
    finally:
        load.drain()
    written = check_settled(sale, sku, load)
    # the sale sold out: the units not taken by a killed request's lost answer
    # are all sold, and every buyer refused was refused as sold out
    assert len(written) == UNITS
    assert set(load.refused) <= {6}
    return load


def mule_pids(port):
    return {p for p, cmd in children(master_pid(port)).items() if "mule" in cmd}


def test_consumer_mule_killed():
    port = UWSGI_PORTS[0]
    before = set()

    def kill_mule():
        before.update(mule_pids(port))
        assert before
        for pid in before:
            os.kill(pid, signal.SIGKILL)

    run_with(kill_mule)
    wait_until(lambda: mule_pids(port) and not (mule_pids(port) & before), 30, "the mule was not respawned")


def kill_pidfile(path):
    with open(path) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 20, f"{path}: {pid} still alive")


def test_redis_killed_and_restarted_from_its_aof():
    def kill_redis():
        kill_pidfile(os.path.join(VAR, "run", "redis", "redis.pid"))
        time.sleep(0.5)
        stack("start-redis")

    run_with(kill_redis)
    wait_healthy()


def test_mariadb_killed():
    def kill_mysql():
        kill_pidfile(os.path.join(VAR, "run", "mysqld", "mysqld.pid"))
        time.sleep(1)  # buying goes on meanwhile: no MariaDB on the hot path
        stack("start-mysql")

    run_with(kill_mysql)
    wait_healthy(timeout=60)


def test_uwsgi_instance_killed():
    port = UWSGI_PORTS[0]

    def kill_instance():
        assert subprocess.run(["pkill", "-9", "-f", f"^dailyfresh-{port} "]).returncode == 0
        time.sleep(0.5)
        stack("start-uwsgi")

    run_with(kill_instance)
    wait_healthy()


def test_race_at_the_opening_second():
    sku = new_sku()
    c, _ = staff()
    opens = int(time.time()) + 4
    sale = created(c, sku, stock=500, limit=1, starts=opens)
    buyers = make_buyers(2000)
    # every buyer sends until a final answer: before the opening they are
    # refused as not started, which is not final, so the first 64 hammer
    # the sale as it opens and the rest follow at once
    load = Load(sale, buyers, threads=64)
    load.drain(timeout=240)
    assert len(load.won) == 500
    assert load.refused == {6: 1500}
    first = sql("SELECT MIN(o.create_time) FROM df_order_info o JOIN df_flash_sale_order f"
                " ON f.order_id = o.order_id WHERE f.sale_id = @p0", sale)
    assert first[0][0] is not None
    written = check_settled(sale, sku, load, units=500, limit=1)
    assert len(written) == 500
