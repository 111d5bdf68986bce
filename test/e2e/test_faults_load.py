"""Faults during load: while a few threads add to carts and commit orders
through nginx, Redis or MariaDB restarts, a whole uWSGI instance is killed,
or one worker is killed. Every answer is a 200 JSON answer or a JSON 503,
none is slow, the stack recovers by itself, and the data stays consistent.
(Marked destructive, so run last: it stops and restarts the stack's servers.)"""
import json
import os
import signal
import threading
import time
import uuid

import pytest
import requests

from support import uwsgi
from support.backends import redis, sql
from support.env import BASE, MYSQL_SOCK, REDIS_SOCK, UWSGI_PORTS
from support.orders import bench_buyers, sku_state, skus
from support.stack import stack, wait_health, wait_healthy
from support.uwsgi import children, log_since, log_size, master_pid, pidfile, workers

pytestmark = pytest.mark.destructive

ADDERS = 3          # threads adding to carts (each owns its users)
COMMITTERS = 3      # threads committing orders (one order per buyer)
CART_USERS = 6
ORDER_BUYERS = 1200  # more than the committers can use up in one run
STOCK = 100000
SLOWEST = 10.0      # seconds: dailyfresh-mysql-timeout is 5, redis 1, pool wait below that
RECOVER = 2.0       # seconds after the server is back by which every answer is 200 again
PAUSE = 0.005       # between one thread's requests, so the 2 cores are not saturated


class Load:
    """The background load and everything it was answered."""

    def __init__(self):
        self.cart_sku, self.order_sku = skus(2, stock=STOCK)
        self.before = {s: sku_state(s) for s in (self.cart_sku, self.order_sku)}
        tag = "fl" + uuid.uuid4().hex[:10]
        # cart users start with 1 unit of cart_sku; order buyers with 1 of order_sku
        self.cart_users = bench_buyers.make_buyers(MYSQL_SOCK, REDIS_SOCK, tag + "c", CART_USERS, 1,
                                                   self.cart_sku, 1)
        self.order_buyers = bench_buyers.make_buyers(MYSQL_SOCK, REDIS_SOCK, tag + "o", ORDER_BUYERS, 1,
                                                     self.order_sku, 1)
        self.next_buyer = 0
        self.lock = threading.Lock()
        self.answers = []  # dicts: kind, user, status, ctype, body, t0, t1
        self.stop = threading.Event()
        self.threads = []

    def _record(self, kind, user, t0, r=None, exc=None):
        a = {"kind": kind, "user": user, "t0": t0, "t1": time.monotonic(),
             "status": r.status_code if r is not None else None,
             "ctype": r.headers.get("Content-Type", "") if r is not None else "",
             "body": r.text if r is not None else repr(exc)}
        with self.lock:
            self.answers.append(a)

    def _post(self, session, kind, b, path, data):
        headers = {"Cookie": f"sessionid={b[0]}; csrftoken={b[1]}", "X-CSRFToken": b[1]}
        t0 = time.monotonic()
        try:
            r = session.post(BASE + path, data=data, headers=headers, timeout=SLOWEST + 5)
        except requests.RequestException as e:
            self._record(kind, b[4], t0, exc=e)
            return
        self._record(kind, b[4], t0, r)

    def _adder(self, users):
        with requests.Session() as s:
            i = 0
            while not self.stop.is_set():
                b = users[i % len(users)]
                i += 1
                self._post(s, "add", b, "/cart/add", {"sku_id": self.cart_sku, "count": 1})
                time.sleep(PAUSE)

    def _committer(self):
        with requests.Session() as s:
            while not self.stop.is_set():
                with self.lock:
                    if self.next_buyer >= len(self.order_buyers):
                        return
                    b = self.order_buyers[self.next_buyer]
                    self.next_buyer += 1
                self._post(s, "order", b, "/order/commit", {"addr_id": b[2], "pay_method": 3, "sku_ids": b[3]})
                time.sleep(PAUSE)

    def start(self):
        for k in range(ADDERS):
            self.threads.append(threading.Thread(target=self._adder, args=(self.cart_users[k::ADDERS],)))
        for _ in range(COMMITTERS):
            self.threads.append(threading.Thread(target=self._committer))
        for t in self.threads:
            t.daemon = True
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(SLOWEST + 10)
            assert not t.is_alive(), "a load thread hung"

    # ------------------------------------------------------------ checks
    def check_answers(self, t_down, t_back):
        """Every answer: 200 JSON or JSON 503, never slow; the 503s only
        between the fault and RECOVER seconds after the server is back."""
        assert self.answers, "the load sent nothing"
        bad, late = [], []
        for a in self.answers:
            latency = a["t1"] - a["t0"]
            ok = latency < SLOWEST and a["ctype"].startswith("application/json")
            if ok:
                try:
                    body = json.loads(a["body"])
                except ValueError:
                    body, ok = None, False
            if ok and a["status"] == 200:
                ok = isinstance(body, dict) and "res" in body
            elif ok and a["status"] == 503:
                ok = isinstance(body, dict) and "error" in body
            else:
                ok = False
            if not ok:
                bad.append((a["kind"], a["status"], a["ctype"], round(latency, 2), a["body"][:200]))
            elif a["t1"] < t_down or a["t0"] > t_back + RECOVER:
                # before the fault and after the recovery: only full successes
                if a["status"] != 200 or body.get("res") != 5:
                    late.append((a["kind"], a["status"], round(a["t0"] - t_back, 2), a["body"][:200]))
        outage = self.outage_answers(t_down, t_back)
        print(f"\n{len(self.answers)} answers, {len(outage)} during the outage"
              f" ({sum(1 for a in outage if a['status'] == 503)} JSON 503),"
              f" slowest {max(a['t1'] - a['t0'] for a in self.answers):.2f} s")
        assert not bad, f"{len(bad)} answers were neither 200 JSON nor JSON 503 in time: {bad[:10]}"
        assert not late, f"{len(late)} answers failed outside the outage: {late[:10]}"
        after = [a for a in self.answers if a["t0"] > t_back + RECOVER]
        assert after, "no load ran after the recovery"

    def outage_answers(self, t_down, t_back):
        return [a for a in self.answers if t_down <= a["t0"] <= t_back]

    def check_data(self):
        # stock + sales of every SKU used is what it was
        for sku, (stock, sales) in self.before.items():
            now = sku_state(sku)
            assert now[0] + now[1] == stock + sales, (sku, (stock, sales), now)
        assert sku_state(self.cart_sku) == self.before[self.cart_sku]  # carts take no stock
        # every order of the buyers is whole: its goods rows add up to its totals
        uids = ",".join(str(int(b[4])) for b in self.order_buyers)
        rows = sql("SELECT o.order_id, o.user_id, o.total_count, o.total_price, COUNT(g.id),"
                   " COALESCE(SUM(g.count), 0), COALESCE(SUM(g.price * g.count), 0)"
                   " FROM df_order_info o LEFT JOIN df_order_goods g ON g.order_id = o.order_id"
                   f" WHERE o.user_id IN ({uids}) GROUP BY o.order_id")
        per_user = {}
        for oid, uid, count, price, ngoods, gcount, gprice in rows:
            assert int(ngoods) >= 1, f"order {oid} has no goods rows (half written)"
            assert int(gcount) == int(count), (oid, count, gcount)
            assert float(gprice) == pytest.approx(float(price)), (oid, price, gprice)
            per_user[uid] = per_user.get(uid, 0) + 1
        assert all(n == 1 for n in per_user.values()), "a buyer with one cart line got two orders"
        # the stock the orders took is exactly what their goods rows hold
        taken = int(sql("SELECT COALESCE(SUM(count), 0) FROM df_order_goods WHERE sku_id = @p0",
                        self.order_sku)[0][0])
        stock, sales = sku_state(self.order_sku)
        assert self.before[self.order_sku][0] - stock == taken == sales - self.before[self.order_sku][1]
        # every order answered res 5 is in MariaDB; a 503'd one may be (its
        # COMMIT can land before the connection drops) but then it is whole
        stored = {r[0] for r in rows}
        for a in self.answers:
            if a["kind"] == "order" and a["status"] == 200:
                body = json.loads(a["body"])
                if body["res"] == 5:
                    assert body["order_id"] in stored, body
        assert len(stored) >= sum(1 for a in self.answers if a["kind"] == "order" and a["status"] == 200
                                  and json.loads(a["body"])["res"] == 5)
        # cart counts: each add answered res 5 was applied exactly once (no
        # retry doubled it). An add answered 503 may or may not have been:
        # Redis (or the worker, or the instance) can die after the script
        # ran and before its answer left, so the count lies between the
        # successes and the successes plus the 503s.
        for b in self.cart_users:
            mine = [a for a in self.answers if a["kind"] == "add" and a["user"] == b[4]]
            ok = sum(1 for a in mine if a["status"] == 200 and json.loads(a["body"])["res"] == 5)
            unavailable = sum(1 for a in mine if a["status"] == 503)
            count = int(redis("HGET", f"cart_{b[4]}", self.cart_sku) or 0) - 1  # it started with 1
            assert ok <= count <= ok + unavailable, (b[4], ok, unavailable, count)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {seconds} s")


@pytest.fixture
def load():
    wait_health(200, {"redis": "ok", "mysql": "ok"}, seconds=40)
    damn = uwsgi.worker_deaths()
    ld = Load()
    ld.damn_before = damn
    ld.start()
    try:
        yield ld
    finally:
        ld.finish()


def run_fault(load, down, up, settle=1.0, tail=RECOVER + 1.0):
    """Lets the load run, applies the fault, brings the server back, lets
    the load run on past the recovery; returns (t_down, t_back)."""
    time.sleep(settle)
    t_down = time.monotonic()
    try:
        down()
    finally:
        up()
    t_back = time.monotonic()
    time.sleep(tail)
    load.finish()
    return t_down, t_back


def no_new_damn(load, allowed=0):
    assert uwsgi.worker_deaths() == load.damn_before + allowed


def test_redis_restart_under_load(load):
    masters = {p: master_pid(p) for p in UWSGI_PORTS}

    def down():
        stack("stop-redis")
        time.sleep(1)

    t_down, t_back = run_fault(load, down, lambda: stack("start-redis"))
    load.check_answers(t_down, t_back)
    assert any(a["status"] == 503 for a in load.outage_answers(t_down, t_back)), "Redis was never missed"
    no_new_damn(load)
    assert {p: master_pid(p) for p in UWSGI_PORTS} == masters, "uWSGI was restarted"
    load.check_data()


def test_mysql_restart_under_load(load):
    masters = {p: master_pid(p) for p in UWSGI_PORTS}

    def down():
        stack("stop-mysql")
        time.sleep(1)

    t_down, t_back = run_fault(load, down, lambda: stack("start-mysql"))
    load.check_answers(t_down, t_back)
    assert any(a["status"] == 503 for a in load.outage_answers(t_down, t_back)), "MariaDB was never missed"
    no_new_damn(load)
    assert {p: master_pid(p) for p in UWSGI_PORTS} == masters, "uWSGI was restarted"
    load.check_data()


def test_instance_killed_under_load(load):
    port, other = UWSGI_PORTS[0], UWSGI_PORTS[1]
    master = master_pid(port)
    procs = set(children(master))
    marks = {}

    def down():
        # the whole instance at once, as the OOM killer or kill -9 of its
        # process group would (uWSGI daemonizes into a group of its own);
        # workers left behind by their master exit from two threads at
        # once, a race inside uWSGI's core that AddressSanitizer reports
        pgid = os.getpgid(master)
        assert pgid != os.getpgid(0)
        os.killpg(pgid, signal.SIGKILL)
        # any process that escaped the group is killed too
        try:
            wait_for(lambda: not any(alive(p) for p in procs), 3, "the workers did not follow their master")
        except AssertionError:
            marks["orphans"] = [p for p in procs if alive(p)]
            for p in procs:
                if alive(p):
                    os.kill(p, signal.SIGKILL)
        time.sleep(0.3)
        marks["t_from"], marks["other"] = time.monotonic(), log_size(other)
        time.sleep(1)  # the other instance alone
        marks["t_to"], marks["other_end"] = time.monotonic(), log_size(other)

    def up():
        if os.path.exists(pidfile(port)) and not alive(master_pid(port)):
            os.unlink(pidfile(port))
        stack("start-uwsgi")

    t_down, t_back = run_fault(load, down, up)
    print("instance kill: processes left behind by the master:", marks.get("orphans", []))
    load.check_answers(t_down, t_back)
    # with the instance gone, nginx sent its share to the other one: the
    # requests that started after the kill settled were all answered
    alone = [a for a in load.answers if marks["t_from"] <= a["t0"] and a["t1"] <= marks["t_to"]]
    assert alone and all(a["status"] == 200 for a in alone), [(a["status"], a["body"][:100]) for a in alone
                                                              if a["status"] != 200][:5]
    served = log_since(other, marks["other"])[:marks["other_end"] - marks["other"]]
    assert served.count("POST /cart/add 200") + served.count("POST /order/commit 200") >= len(alone) - 3
    assert master_pid(port) != master and alive(master_pid(port))
    no_new_damn(load)
    wait_healthy()
    load.check_data()


def test_worker_killed_under_load(load):
    port = UWSGI_PORTS[-1]
    master = master_pid(port)
    before = workers(port)
    assert len(before) == 4, children(master)
    victim = sorted(before)[0]
    mark = log_size(port)

    def down():
        os.kill(victim, signal.SIGKILL)

    def up():
        # the master respawns it: a new worker pid appears
        wait_for(lambda: len(workers(port) - before) == 1 and len(workers(port)) == 4, 5,
                 "the master did not respawn the killed worker")

    t_down, t_back = run_fault(load, down, up)
    load.check_answers(t_down, t_back)
    assert victim not in workers(port) and master_pid(port) == master
    log = log_since(port, mark)
    assert uwsgi.DEATH in log and f"(pid: {victim})" in log, log[-2000:]
    assert "Respawned uWSGI worker" in log, log[-2000:]
    no_new_damn(load, allowed=1)  # the deliberate kill, nothing else
    load.check_data()
