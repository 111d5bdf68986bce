"""The flash-sale consumer in each instance's mule writes the orders of the
sales' Redis streams to MariaDB: a batch in one transaction, acked (XACK,
XDEL, written + n, flash_order_<oid> gone) only after its COMMIT; an entry
whose rows exist is acked without writing them twice; entries a consumer
read and never acked are taken over after the claim time; an entry MariaDB
refuses stays pending without holding up the others. Reconciliation (the
staff GET, scripts/flash-sale.sh check, the mule's start-up) reports and
repairs drift between the sale's hash and MariaDB, and a hash rebuilt or
restored from the AOF comes back to the same numbers.

The stream entries are made here by a script with exactly the buy
script's effects (units_left - 1, users + 1, XADD o u a p pr t, the
flash_order_<oid> hash), with order ids in /order/commit's format."""
import datetime
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time

import pytest

from support import uwsgi
from support.backends import redis, sql
from support.env import BASE, MYSQL_SOCK, ROOT, UWSGI_PORTS, VAR
from support.orders import make_address, skus, sku_state
from support.cart import make_user
from support.stack import stack, uwsgi_options, wait_healthy
from support.users import PASSWORD, logged_in
from test_flash_sales import close, created, staff, staff_show

CLAIM_MS = 1500
IDLE_MS = 4000
PRICE = "12.80"

# KEYS: the sale's hash, its users hash, its stream. ARGV: sale id, pay
# method, price, then (order id, uid, addr_id) triples. What the buy script
# does for each, the reservation time from Redis's clock.
BUY = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for i = 4, #ARGV, 3 do
  local o, u, a = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('HINCRBY', KEYS[1], 'units_left', -1)
  redis.call('HINCRBY', KEYS[2], u, 1)
  redis.call('XADD', KEYS[3], '*', 'o', o, 'u', u, 'a', a, 'p', ARGV[2], 'pr', ARGV[3], 't', t)
  redis.call('HSET', 'flash_order_' .. o, 'o', o, 'u', u, 'a', a, 'p', ARGV[2], 'pr', ARGV[3], 't', t,
    'sale', ARGV[1])
  redis.call('EXPIRE', 'flash_order_' .. o, 86400)
end
return t
"""

# The same, and the new entries read at once by consumer ARGV[4] (which
# never acks): KEYS as BUY; ARGV: sale, pay, price, consumer, triples.
BUY_AND_READ = BUY.replace("for i = 4,", "for i = 5,").replace("return t", (
    "redis.call('XREADGROUP', 'GROUP', 'persist', ARGV[4], 'COUNT', 10000, 'STREAMS', KEYS[3], '>')\nreturn t"))


@pytest.fixture(scope="module", autouse=True)
def fast_claim():
    """The instances with a short claim time and consumer idle time, so a
    take-over is seen within seconds."""
    with uwsgi_options("--dailyfresh-flash-claim", str(CLAIM_MS), "--dailyfresh-flash-consumer-idle", str(IDLE_MS)):
        yield


def order_id(uid):
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%Y%m%d%H%M%S}{now.microsecond:06d}_{uid}_{secrets.token_hex(6)}"


def keys(sale):
    return [f"flash_sale_{sale}", f"flash_sale_users_{sale}", f"flash_sale_orders_{sale}"]


def buy(sale, buyers, pay=3, read_by=None):
    """Entries for buyers [(uid, addr)]; returns their order ids."""
    oids = [order_id(u) for u, _ in buyers]
    args = [x for oid, (u, a) in zip(oids, buyers) for x in (oid, u, a)]
    if read_by:
        redis("EVAL", BUY_AND_READ, 3, *keys(sale), sale, pay, PRICE, read_by, *args)
    else:
        redis("EVAL", BUY, 3, *keys(sale), sale, pay, PRICE, *args)
    return oids


def sale_hash(sale):
    out = redis("HGETALL", f"flash_sale_{sale}").splitlines()
    return dict(zip(out[0::2], out[1::2]))


def xlen(sale):
    return int(redis("XLEN", f"flash_sale_orders_{sale}"))


def xpending(sale):
    return int(redis("XPENDING", f"flash_sale_orders_{sale}", "persist").splitlines()[0])


def rows_of(oids):
    """{order id: number of df_flash_sale_order rows}."""
    out = {}
    for i in range(0, len(oids), 400):
        out.update(_rows_of(oids[i:i + 400]))
    return out


def _rows_of(oids):
    got = sql("SELECT j.o, COUNT(f.order_id) FROM JSON_TABLE(@p0, '$[*]'"
              " COLUMNS (o VARCHAR(128) CHARACTER SET utf8mb4 PATH '$')) j"
              " LEFT JOIN df_flash_sale_order f ON f.order_id = j.o GROUP BY j.o", json.dumps(oids))
    return {o: int(n) for o, n in got}


def wait_until(what, pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def all_written(oids):
    return lambda: all(n == 1 for n in rows_of(oids).values())


def users(n):
    out = []
    for _ in range(n):
        uid = make_user()
        out.append((uid, make_address(uid)))
    return out


def new_sale(stock=1000):
    c, _ = staff()
    (sku,) = skus(1, stock=stock + 100, price=PRICE)
    return c, sku, created(c, sku, stock=stock, limit=stock)


def consistent(c, sale):
    """The staff GET finds nothing to repair."""
    shown = staff_show(c, sale)
    rec = shown["reconciliation"]
    assert rec["drift"] == {"units": 0, "written": 0, "returned": 0} and not rec["repaired"], shown
    assert shown["drift"] == 0, shown
    return shown


def test_entries_become_orders_and_are_acked():
    c, sku, sale = new_sale(stock=10)
    people = users(3)
    t0 = int(time.time() * 1000)
    oids = buy(sale, people, pay=3)
    wait_until("the entries written", all_written(oids))
    wait_until("the entries acked", lambda: xlen(sale) == 0)
    for oid, (uid, addr) in zip(oids, people):
        info = sql("SELECT order_status, total_count, total_price, transit_price, addr_id, user_id, pay_method,"
                   " trade_no, ROUND(UNIX_TIMESTAMP(create_time) * 1000), create_time = update_time"
                   " FROM df_order_info WHERE order_id = @p0", oid)
        assert len(info) == 1
        assert info[0][:8] == ["1", "1", PRICE, "10.00", str(addr), str(uid), "3", ""]
        assert abs(int(info[0][8]) - t0) < 5000 and info[0][9] == "1"
        assert redis("HGET", f"flash_order_{oid}", "o") == ""  # gone with the ack
        assert sql("SELECT count, price, sku_id FROM df_order_goods WHERE order_id = @p0", oid) == \
            [["1", PRICE, str(sku)]]
        assert sql("SELECT sale_id, user_id, released FROM df_flash_sale_order WHERE order_id = @p0", oid) == \
            [[str(sale), str(uid), "0"]]
    # the reservation time is the order's; the row's own time is when it was written, no earlier
    lag = sql("SELECT MIN(TIMESTAMPDIFF(MICROSECOND, o.create_time, f.create_time)) FROM df_flash_sale_order f"
              " JOIN df_order_info o ON o.order_id = f.order_id WHERE f.sale_id = @p0", sale)[0][0]
    assert int(lag) >= 0
    h = sale_hash(sale)
    assert (h["written"], h["units_left"], h["allotted"]) == ("3", "7", "10")
    assert xpending(sale) == 0
    assert sku_state(sku) == (100, 3)  # sold: the stock was taken when the sale was made
    consistent(c, sale)
    # closed with nothing pending: the sale leaves flash_sales
    assert redis("SISMEMBER", "flash_sales", sale) == "1"
    assert close(c, sale)["returned"] == 7
    wait_until("the closed sale left flash_sales", lambda: redis("SISMEMBER", "flash_sales", sale) == "0")


def test_a_burst_is_written_in_few_transactions():
    c, sku, sale = new_sale(stock=600)
    people = users(5)
    oids = buy(sale, people * 100)
    wait_until("500 entries written", all_written(oids), timeout=30)
    wait_until("acked", lambda: xlen(sale) == 0)
    # one INSERT a batch stamps all its df_flash_sale_order rows with one NOW(6)
    batches = int(sql("SELECT COUNT(DISTINCT create_time) FROM df_flash_sale_order WHERE sale_id = @p0", sale)[0][0])
    print(f"500 entries written in {batches} transactions")
    assert 1 <= batches <= 10, batches
    assert sql("SELECT COUNT(*) FROM df_order_info o JOIN df_flash_sale_order f ON f.order_id = o.order_id"
               " WHERE f.sale_id = @p0", sale) == [["500"]]
    assert sql("SELECT COUNT(*) FROM df_order_goods g JOIN df_flash_sale_order f ON f.order_id = g.order_id"
               " WHERE f.sale_id = @p0", sale) == [["500"]]
    assert sku_state(sku) == (100, 500)
    assert sale_hash(sale)["written"] == "500"
    consistent(c, sale)
    close(c, sale)


def written_count(sale):
    return int(sql("SELECT COUNT(*) FROM df_flash_sale_order WHERE sale_id = @p0", sale)[0][0])


def test_lag_p99_under_a_second_at_full_rate():
    rate, seconds = 3000, 3  # orders a second, above what the two instances' buy endpoints take on this machine
    c, sku, sale = new_sale(stock=rate * seconds + 100)
    people = users(10)
    oids = []
    start = time.monotonic()
    while len(oids) < rate * seconds:
        oids += buy(sale, people * 5)
        ahead = len(oids) / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    made = time.monotonic() - start
    wait_until("all written", lambda: written_count(sale) == len(oids), timeout=60)
    lags = sorted(int(x[0]) for x in sql(
        "SELECT TIMESTAMPDIFF(MICROSECOND, o.create_time, f.create_time) FROM df_flash_sale_order f"
        " JOIN df_order_info o ON o.order_id = f.order_id WHERE f.sale_id = @p0", sale))
    assert len(lags) == len(oids)
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(f"flash persist lag over {len(lags)} orders made in {made:.2f} s: p50 {lags[len(lags) // 2] / 1000:.1f} ms,"
          f" p99 {p99 / 1000:.1f} ms, max {lags[-1] / 1000:.1f} ms")
    assert made < seconds * 1.5  # the rate was kept
    assert p99 < 1_000_000, p99
    assert set(rows_of(oids).values()) == {1}
    consistent(c, sale)
    close(c, sale)


def test_an_entry_whose_rows_exist_is_acked_without_a_second_row():
    c, sku, sale = new_sale(stock=10)
    (uid, addr), = users(1)
    oid = order_id(uid)
    # as a batch whose COMMIT went through and whose ack never ran: the rows are there, the entry is pending
    sql("INSERT INTO df_order_info (create_time, update_time, is_delete, order_id, pay_method, total_count,"
        " total_price, transit_price, order_status, trade_no, addr_id, user_id)"
        " VALUES (NOW(6), NOW(6), 0, @p0, 3, 1, @p1, '10.00', 1, '', @p2, @p3);"
        " INSERT INTO df_order_goods (create_time, update_time, is_delete, count, price, comment, order_id, sku_id)"
        " VALUES (NOW(6), NOW(6), 0, 1, @p1, '', @p0, @p4);"
        " INSERT INTO df_flash_sale_order (order_id, sale_id, user_id, create_time, released)"
        " VALUES (@p0, @p5, @p3, NOW(6), 0);"
        " UPDATE df_goods_sku SET sales = sales + 1 WHERE id = @p4", oid, PRICE, addr, uid, sku, sale)
    args = [oid, uid, addr]
    redis("EVAL", BUY, 3, *keys(sale), sale, 3, PRICE, *args)
    wait_until("the entry acked", lambda: xlen(sale) == 0)
    assert rows_of([oid]) == {oid: 1}
    assert sql("SELECT COUNT(*) FROM df_order_info WHERE order_id = @p0", oid) == [["1"]]
    assert sql("SELECT COUNT(*) FROM df_order_goods WHERE order_id = @p0", oid) == [["1"]]
    assert sku_state(sku) == (100, 1)
    assert sale_hash(sale)["written"] == "1"
    consistent(c, sale)
    close(c, sale)


def consumers(sale):
    out = redis("XINFO", "CONSUMERS", f"flash_sale_orders_{sale}", "persist").splitlines()
    return [out[i + 1] for i in range(0, len(out), 2) if out[i] == "name"]


def test_entries_of_a_dead_consumer_are_taken_over_after_the_claim_time():
    c, sku, sale = new_sale(stock=20)
    people = users(4)
    t = time.monotonic()
    oids = buy(sale, people, read_by="gone-consumer")
    assert "gone-consumer" in consumers(sale)
    assert xpending(sale) == 4
    time.sleep(0.5)
    if time.monotonic() - t < CLAIM_MS / 1000 - 0.2:
        assert rows_of(oids) == {o: 0 for o in oids}  # still the dead consumer's
    wait_until("taken over and written", all_written(oids), timeout=15)
    wait_until("acked", lambda: xlen(sale) == 0)
    assert time.monotonic() - t >= CLAIM_MS / 1000
    assert xpending(sale) == 0
    assert sale_hash(sale)["written"] == "4"
    # nothing pending and idle past the consumer idle time: removed from the group
    wait_until("the dead consumer removed", lambda: "gone-consumer" not in consumers(sale), timeout=20)
    assert consumers(sale)  # the live ones stay
    consistent(c, sale)
    close(c, sale)


def test_a_poison_entry_stays_pending_and_the_others_are_written():
    c, sku, sale = new_sale(stock=20)
    marks = {p: uwsgi.log_size(p) for p in UWSGI_PORTS}
    people = users(3)
    bad_uid = 2147480000  # no such user: the order row's foreign key refuses it
    first = buy(sale, people[:1])
    oids = buy(sale, [people[1], (bad_uid, people[1][1]), people[2]])
    poison = oids[1]
    good = first + [oids[0], oids[2]]
    wait_until("the good entries written", all_written(good))
    wait_until("only the poison left", lambda: xlen(sale) == 1)
    assert rows_of([poison]) == {poison: 0}
    assert xpending(sale) == 1
    assert sale_hash(sale)["written"] == "3"
    # named in a log line; tried again after the claim time, and still refused
    wait_until("logged", lambda: any(poison in uwsgi.log_since(p, m) and "stays pending" in uwsgi.log_since(p, m)
                                     for p, m in marks.items()))
    time.sleep(CLAIM_MS / 1000 * 2)
    assert xlen(sale) == 1 and xpending(sale) == 1 and rows_of([poison]) == {poison: 0}
    # later entries are not held up by it
    late = buy(sale, people[:1])
    wait_until("a later entry written", all_written(late))
    consistent(c, sale)
    # the operator drops it: the unit goes back to the sale
    entry = redis("XRANGE", f"flash_sale_orders_{sale}", "-", "+").splitlines()[0]
    redis("EVAL", "redis.call('XACK', KEYS[1], 'persist', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1])"
          " redis.call('HINCRBY', KEYS[2], 'units_left', 1) redis.call('HINCRBY', KEYS[3], ARGV[2], -1)",
          3, f"flash_sale_orders_{sale}", f"flash_sale_{sale}", f"flash_sale_users_{sale}", entry, bad_uid)
    consistent(c, sale)
    close(c, sale)


def test_staff_get_reports_and_repairs_drift():
    c, sku, sale = new_sale(stock=30)
    oids = buy(sale, users(4))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    before = sale_hash(sale)
    assert (before["units_left"], before["written"]) == ("26", "4")
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", -3)
    redis("HINCRBY", f"flash_sale_{sale}", "written", 2)
    shown = staff_show(c, sale)
    rec = shown["reconciliation"]
    # the numbers as found, the drift and the repair
    assert shown["units_left"] == 23 and shown["persisted"] == 4
    assert (rec["units_left"], rec["written"], rec["live"], rec["live_pending"], rec["pending"]) == (23, 6, 4, 0, 0)
    assert rec["drift"] == {"units": 1, "written": 2, "returned": 0}
    assert rec["repaired"] is True and rec["after"] == {"units_left": 26, "written": 4, "returned": 0, "to_sku": 0}
    after = sale_hash(sale)
    assert (after["units_left"], after["written"], after["returned"]) == ("26", "4", "0")
    consistent(c, sale)
    close(c, sale)


def run(script, *args, env=None):
    full = dict(os.environ, DF_VAR=VAR, DF_BASE_URL=BASE, **(env or {}))
    return subprocess.run([os.path.join(ROOT, "scripts", script), *map(str, args)], env=full, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_flash_sale_check_reports_and_repairs():
    _, name, _ = logged_in()
    assert run("ops.sh", "set-staff", name).returncode == 0
    env = {"DF_STAFF_USER": name, "DF_STAFF_PASSWORD": PASSWORD}
    c, sku, sale = new_sale(stock=10)
    oids = buy(sale, users(2))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    assert run("flash-sale.sh", "check", sale, env=env).returncode == 0
    redis("HINCRBY", f"flash_sale_{sale}", "written", -1)
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", 2)
    out = run("flash-sale.sh", "check", sale, env=env)
    assert out.returncode == 1, out
    assert "units -1 written -1 returned 0" in out.stderr and "repaired" in out.stderr, out
    h = sale_hash(sale)
    assert (h["units_left"], h["written"]) == ("8", "2")
    # repaired: the next check finds nothing
    out = run("flash-sale.sh", "check", sale, env=env)
    assert out.returncode == 0, out
    run("ops.sh", "set-staff", name, 0)
    close(c, sale)


def test_a_lost_hash_is_rebuilt_to_the_same_numbers():
    c, sku, sale = new_sale(stock=40)
    oids = buy(sale, users(5))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    before = sale_hash(sale)
    redis("DEL", f"flash_sale_{sale}")
    shown = staff_show(c, sale)
    assert shown["reconciliation"]["rebuilt"] is True
    assert shown["reconciliation"]["drift"] == {"units": 0, "written": 0, "returned": 0}
    assert sale_hash(sale) == before
    # closed, then lost again: the same closed numbers
    assert close(c, sale)["returned"] == 35
    closed = sale_hash(sale)
    redis("DEL", f"flash_sale_{sale}")
    assert staff_show(c, sale)["reconciliation"]["rebuilt"] is True
    assert sale_hash(sale) == closed
    assert sku_state(sku) == (135, 5)


def test_a_closed_sale_gives_units_unaccounted_for_back_to_the_sku_once():
    c, sku, sale = new_sale(stock=10)
    oids = buy(sale, users(2))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    assert close(c, sale)["returned"] == 8
    assert sku_state(sku) == (108, 2)
    # an order's unit counted nowhere (as after a crash between an expiry's COMMIT and its script)
    redis("HINCRBY", f"flash_sale_{sale}", "written", -1)
    sql("UPDATE df_flash_sale_order SET released = 2 WHERE order_id = @p0", oids[0])
    sql("UPDATE df_order_info SET order_status = 6 WHERE order_id = @p0", oids[0])  # cancelled with it
    rec = staff_show(c, sale)["reconciliation"]
    assert rec["drift"] == {"units": 1, "written": 0, "returned": 0}
    assert rec["after"] == {"units_left": 0, "written": 1, "returned": 9, "to_sku": 1}
    assert sku_state(sku) == (109, 2)
    assert sql("SELECT returned FROM df_flash_sale WHERE id = @p0", sale) == [["9"]]
    consistent(c, sale)
    assert sku_state(sku) == (109, 2)  # once


def mule_pid(port):
    for pid, cmd in uwsgi.children(uwsgi.master_pid(port)).items():
        if "mule" in cmd:
            return pid
    return None


@pytest.mark.destructive
def test_redis_restarted_from_its_aof_comes_back_to_the_same_numbers():
    c, sku, sale = new_sale(stock=50)
    oids = buy(sale, users(6))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    # a poison entry stays pending across the restart too
    buy(sale, [(2147480001, 1)])
    wait_until("the poison entry read", lambda: xpending(sale) == 1)
    before = (sale_hash(sale), xlen(sale), redis("SISMEMBER", "flash_sales", sale))
    stack("stop-redis")
    stack("start-redis")
    wait_healthy()
    assert (sale_hash(sale), xlen(sale), redis("SISMEMBER", "flash_sales", sale)) == before
    assert xpending(sale) == 1
    shown = staff_show(c, sale)
    assert shown["reconciliation"]["drift"] == {"units": 0, "written": 0, "returned": 0}
    assert not shown["reconciliation"]["repaired"]
    # the consumer came back to it: a new entry is written
    late = buy(sale, users(1))
    wait_until("written after the restart", all_written(late))
    entry = redis("XRANGE", f"flash_sale_orders_{sale}", "-", "+").splitlines()[0]
    redis("EVAL", "redis.call('XACK', KEYS[1], 'persist', ARGV[1]) redis.call('XDEL', KEYS[1], ARGV[1])"
          " redis.call('HINCRBY', KEYS[2], 'units_left', 1)", 2, f"flash_sale_orders_{sale}", f"flash_sale_{sale}",
          entry)
    consistent(c, sale)
    close(c, sale)


@pytest.mark.destructive
def test_a_mule_killed_mid_stream_leaves_every_entry_exactly_one_order():
    c, sku, sale = new_sale(stock=1000)
    people = users(10)
    port = UWSGI_PORTS[0]
    old = mule_pid(port)
    assert old
    oids, done = [], threading.Event()

    def feed():
        while not done.is_set() and len(oids) < 800:
            oids.extend(buy(sale, people * 2))
            time.sleep(0.005)

    marks = {p: uwsgi.log_size(p) for p in UWSGI_PORTS}
    # the sale's lock held from before the first entry: the consumers read entries and cannot write
    # them, so the mule dies holding entries read and not acked, which another consumer must take over
    lock = f"flash_sale_lock_{sale}"
    redis("SET", lock, "held-by-test", "PX", 120000)
    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        wait_until("the mule holding entries", lambda: f"/{old}\n" in redis(
            "XPENDING", f"flash_sale_orders_{sale}", "persist") + "\n", timeout=60)
        os.kill(old, signal.SIGKILL)
        wait_until("the master respawned the mule", lambda: mule_pid(port) not in (None, old), timeout=20)
    finally:
        redis("DEL", lock)
        done.set()
        feeder.join(30)
    assert len(oids) >= 100
    wait_until("every entry written and acked", lambda: xlen(sale) == 0 and all_written(oids)(), timeout=40)
    assert set(rows_of(oids).values()) == {1}
    n = len(oids)
    assert sql("SELECT COUNT(*), COUNT(DISTINCT o.order_id) FROM df_order_info o JOIN df_flash_sale_order f"
               " ON f.order_id = o.order_id WHERE f.sale_id = @p0", sale) == [[str(n), str(n)]]
    assert sql("SELECT COUNT(*) FROM df_order_goods g JOIN df_flash_sale_order f ON f.order_id = g.order_id"
               " WHERE f.sale_id = @p0", sale) == [[str(n)]]
    assert sku_state(sku) == (100, n)
    assert sale_hash(sale)["written"] == str(n)
    consistent(c, sale)
    close(c, sale)
    assert re.search(r"flash persist: consumer \S+/\d+: batches", uwsgi.log(port))
    # what the killed mule held was taken over
    assert any(f"flash persist: sale {sale}: took over" in uwsgi.log_since(p, m) for p, m in marks.items())


@pytest.mark.destructive
def test_a_reload_brings_a_new_consumer_and_loses_no_entry():
    c, sku, sale = new_sale(stock=500)
    people = users(5)
    port = UWSGI_PORTS[0]
    mark = uwsgi.log_size(port)
    oids = buy(sale, people * 20)
    t = time.monotonic()
    subprocess.run(["uwsgi", "--reload", uwsgi.pidfile(port)], check=True, timeout=10, capture_output=True)
    oids += buy(sale, people * 20)
    # the old mule's thread holds nothing up: the new mule's consumer starts within seconds
    wait_until("a new consumer", lambda: re.search(r"flash persist: consumer \S+: batches",
                                                   uwsgi.log_since(port, mark)), timeout=30)
    assert time.monotonic() - t < 30
    # the old mule's consumer stopped at its exit, its XREADGROUP block bounding the wait
    assert re.search(r"flash persist: consumer \S+ stopped", uwsgi.log_since(port, mark))
    wait_healthy()
    oids += buy(sale, people * 20)
    wait_until("every entry written and acked", lambda: xlen(sale) == 0 and all_written(oids)(), timeout=30)
    assert set(rows_of(oids).values()) == {1}
    assert sku_state(sku) == (100, 300)
    consistent(c, sale)
    close(c, sale)


@pytest.mark.destructive
def test_a_mule_starting_reconciles_the_sales():
    c, sku, sale = new_sale(stock=30)
    oids = buy(sale, users(3))
    wait_until("written", lambda: xlen(sale) == 0 and all_written(oids)())
    redis("HINCRBY", f"flash_sale_{sale}", "units_left", -5)
    redis("HINCRBY", f"flash_sale_{sale}", "written", 1)
    port = UWSGI_PORTS[0]
    mark = uwsgi.log_size(port)
    old = mule_pid(port)
    os.kill(old, signal.SIGKILL)
    # no request: the respawned mule's consumer repairs the sale before it reads
    wait_until("repaired at start-up",
               lambda: (sale_hash(sale)["units_left"], sale_hash(sale)["written"]) == ("27", "3"), timeout=30)
    assert f"flash sale {sale} reconciled: allotted 30 (row 30), units_left 22 -> 27" in uwsgi.log_since(port, mark)
    consistent(c, sale)
    close(c, sale)
