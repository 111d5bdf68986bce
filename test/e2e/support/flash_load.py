"""Flash-sale buyers in bulk and the checks every crash test ends with: the
users and their addresses in two SQL statements, the sessions in one
redis-cli pipe, so a test can have thousands of distinct buyers."""
import concurrent.futures
import secrets
import subprocess
import threading
import time
import uuid

import requests

from support.backends import sql
from support.env import BASE, REDIS_SOCK


class Buyer:
    def __init__(self, uid, addr, sid, csrf):
        self.uid, self.addr, self.sid, self.csrf = uid, addr, sid, csrf

    def headers(self, key):
        return {"Cookie": f"sessionid={self.sid}; csrftoken={self.csrf}", "X-CSRFToken": self.csrf,
                "Idempotency-Key": key}


def make_buyers(n):
    """n logged-in users, each with one address, who have opened the sale's
    page: their address set is filled as the address list fills it."""
    tag = uuid.uuid4().hex[:10]
    sql("INSERT INTO df_user (password, username, email, is_active, date_joined, create_time, update_time)"
        f" SELECT 'x', CONCAT('f{tag}_', seq), CONCAT('f{tag}_', seq, '@localhost'), 1, NOW(6), NOW(6), NOW(6)"
        f" FROM seq_1_to_{int(n)}")
    sql("INSERT INTO df_address (receiver, addr, zip_code, phone, is_default, user_id, create_time, update_time,"
        " is_delete) SELECT 'flash', 'flash street', '100000', '13800000000', 1, id, NOW(6), NOW(6), 0"
        f" FROM df_user WHERE username LIKE 'f{tag}\\_%'")
    rows = sql("SELECT u.id, a.id FROM df_user u JOIN df_address a ON a.user_id = u.id"
               f" WHERE u.username LIKE 'f{tag}\\_%' ORDER BY u.id")
    assert len(rows) == n
    buyers, commands = [], []
    for uid, addr in rows:
        b = Buyer(int(uid), int(addr), secrets.token_hex(16), secrets.token_hex(16))
        commands.append(f"SET session_{b.sid} {b.uid} EX 3600")
        commands.append(f"SADD user_addrs_{b.uid} 0 {b.addr}")
        commands.append(f"EXPIRE user_addrs_{b.uid} 3600")
        buyers.append(b)
    subprocess.run(["redis-cli", "-s", REDIS_SOCK], input="\n".join(commands) + "\n", check=True,
                   capture_output=True, text=True, timeout=120)
    return buyers


class Load:
    """Buyers sent one after another by threads, each until a final answer:
    res 5 (its order id kept), or a refusal that stands (sold out, over the
    limit). Anything else (a 5xx, a dropped connection, a refusal to wait
    out) is sent again with the same Idempotency-Key, as a shop's page does,
    so an order whose answer was lost comes back as res 5 when replayed."""

    FINAL = {5, 6}

    def __init__(self, sale, buyers, threads=8, pay_method=3, final_res=(), retry_for=60):
        self.sale, self.pay_method, self.retry_for = sale, pay_method, retry_for
        self.final = self.FINAL | set(final_res)
        self.todo = list(buyers)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.won = {}         # order id -> uid
        self.refused = {}     # res -> count
        self.retries = 0
        self.answers = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(threads)
        self.futures = [self.pool.submit(self._run) for _ in range(threads)]

    def _next(self):
        with self.lock:
            return self.todo.pop() if self.todo and not self.stop.is_set() else None

    def _buy(self, session, b):
        key = uuid.uuid4().hex
        data = {"sale_id": self.sale, "addr_id": b.addr, "pay_method": self.pay_method}
        give_up = time.monotonic() + self.retry_for
        while time.monotonic() < give_up:
            try:
                r = session.post(BASE + "/order/flash", data=data, headers=b.headers(key), timeout=10)
                body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
            except (requests.RequestException, ValueError):
                body, r = {}, None
            with self.lock:
                self.answers += 1
            res = body.get("res") if r is not None and r.status_code == 200 else None
            if res == 5:
                with self.lock:
                    assert body["order_id"] not in self.won, body
                    self.won[body["order_id"]] = b.uid
                return
            if res in self.final:
                with self.lock:
                    self.refused[res] = self.refused.get(res, 0) + 1
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.05)
        raise AssertionError(f"buyer {b.uid}: no final answer in {self.retry_for} s")

    def _run(self):
        session = requests.Session()
        while (b := self._next()) is not None:
            self._buy(session, b)

    def wait_answers(self, n, seconds=30):
        give_up = time.monotonic() + seconds
        while self.answers < n:
            assert time.monotonic() < give_up, f"only {self.answers} answers in {seconds} s"
            time.sleep(0.05)

    def finish(self, timeout=180):
        """Stops taking new buyers; every buyer begun gets its final answer."""
        self.stop.set()
        for f in self.futures:
            f.result(timeout=timeout)
        self.pool.shutdown()

    def drain(self, timeout=180):
        """Every buyer gets its final answer."""
        for f in self.futures:
            f.result(timeout=timeout)
        self.pool.shutdown()


def wait_until(cond, seconds, what):
    give_up = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < give_up, what
        time.sleep(0.1)
