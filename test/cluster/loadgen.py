"""A steady, bounded load on the shop for the lab's fault tests, run on the
client host (ip netns exec <client> python3 loadgen.py ...).

  --mode mix    each thread loops over its buyers: add one unit to the
                cart, then commit an order under a new Idempotency-Key (then
                the next buyer); a commit whose
                answer is lost (timeout, reset, 5xx) is sent again with the
                same key until it is answered or the run is over
  --mode cart   cart adds only; each buyer's acknowledged adds are counted
  --mode race   every buyer commits its cart once, all released together

Each buyer is {sid, csrf, addr, sku, uid}: a session and the csrftoken the
shop checks. Writes a JSON result: every request's (time, operation, ok),
each Idempotency-Key's final answer, each buyer's acknowledged cart adds."""
import argparse
import json
import threading
import time
import uuid

import requests

TIMEOUT = (1.0, 5.0)  # connect, read: a lost answer is retried, not waited for


class Run:
    def __init__(self, args, buyers):
        self.url = args.url.rstrip("/")
        self.buyers = buyers
        self.deadline = time.time() + args.seconds
        self.pace = args.pace
        self.lock = threading.Lock()
        self.events = []
        self.orders = {}
        self.cart_acks = {}

    def event(self, t0, op, ok, status, res):
        with self.lock:
            self.events.append({"t": t0, "dt": time.time() - t0, "op": op, "ok": ok, "status": status, "res": res})

    def session(self, b):
        s = requests.Session()
        s.cookies.set("sessionid", b["sid"])
        s.cookies.set("csrftoken", b["csrf"])
        s.headers["X-CSRFToken"] = b["csrf"]
        return s

    def post(self, s, op, path, data, headers=None):
        """(HTTP status or 0, res or None), recorded as one event."""
        t0 = time.time()
        try:
            r = s.post(self.url + path, data=data, headers=headers or {}, timeout=TIMEOUT)
            res = r.json().get("res") if r.status_code == 200 else None
            status = r.status_code
        except (requests.RequestException, ValueError):
            status, res, r = 0, None, None
        ok = status == 200 and res == 5
        self.event(t0, op, ok, status, res)
        return status, res, (r.json() if ok else None)

    def add(self, s, b):
        status, res, _ = self.post(s, "cart", "/cart/add", {"sku_id": b["sku"], "count": 1})
        if res == 5:
            with self.lock:
                self.cart_acks[b["uid"]] = self.cart_acks.get(b["uid"], 0) + 1
        return res == 5

    def commit(self, s, b, grace):
        """One order under one key: sent again while its answer is lost."""
        key = uuid.uuid4().hex
        entry = {"uid": b["uid"], "sku": b["sku"], "tries": 0, "res": None, "order_id": None, "t": time.time()}
        with self.lock:
            self.orders[key] = entry
        data = {"addr_id": b["addr"], "pay_method": 3, "sku_ids": b["sku"]}
        while True:
            entry["tries"] += 1
            status, res, body = self.post(s, "commit", "/order/commit", data, {"Idempotency-Key": key})
            if status == 200 and res is not None:
                entry["res"] = res
                entry["order_id"] = body.get("order_id") if body else None
                entry["answered"] = time.time()
                return
            if time.time() > self.deadline + grace:
                return
            time.sleep(0.2)

    def paced(self, t0):
        """Sleeps what is left of this thread's --pace seconds since t0."""
        left = t0 + self.pace - time.time()
        if left > 0:
            time.sleep(left)

    def mix(self, mine):
        # the next buyer after each order: a buyer may hold only a few
        # unpaid orders (dailyfresh-order-max-unpaid)
        sessions = [(self.session(b), b) for b in mine]
        i = 0
        while time.time() < self.deadline:
            s, b = sessions[i % len(sessions)]
            t0 = time.time()
            ok = self.add(s, b)
            if ok:
                self.commit(s, b, grace=20)
                i += 1
            self.paced(t0)

    def cart(self, mine):
        sessions = [(self.session(b), b) for b in mine]
        i = 0
        while time.time() < self.deadline:
            s, b = sessions[i % len(sessions)]
            t0 = time.time()
            if self.add(s, b):
                i += 1
            self.paced(t0)

    def race(self, b, barrier):
        s = self.session(b)
        barrier.wait(timeout=60)
        self.commit(s, b, grace=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--buyers", required=True, help="JSON list of buyers")
    ap.add_argument("--mode", choices=["mix", "cart", "race"], required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--pace", type=float, default=0.3,
                    help="seconds each thread takes at least per cart add (and its order): a steady load")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.buyers) as f:
        buyers = json.load(f)
    run = Run(args, buyers)
    threads = []
    if args.mode == "race":
        barrier = threading.Barrier(len(buyers))
        threads = [threading.Thread(target=run.race, args=(b, barrier)) for b in buyers]
    else:
        # the buyers dealt out to the threads
        target = run.mix if args.mode == "mix" else run.cart
        n = min(args.threads, len(buyers))
        threads = [threading.Thread(target=target, args=(buyers[i::n],)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 120)
    with run.lock:
        out = {"events": run.events, "orders": run.orders, "cart_acks": run.cart_acks}
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
