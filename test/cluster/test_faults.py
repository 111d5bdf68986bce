"""Faults under load: a steady, bounded load of cart adds and order commits
from the client host while one piece of the lab is killed, cut off or
slowed, then what the buyers saw and what the servers hold. Each test
prints its figures and leaves the lab whole (the restored fixture). The
instances follow Sentinel (DF_REDIS_SENTINELS) and the Galera nodes
(DF_MYSQL_HOSTS), as scripts/cluster.sh starts them."""
import os
import shutil
import subprocess
import time

from lab import ROOT, run

NET_DELAY = os.path.join(os.environ.get("DF_BUILD", os.path.join(ROOT, "build")), "net_delay")
# a buyer holds at most 5 unpaid orders (dailyfresh-order-max-unpaid): the
# load moves on to the next buyer after each order, through this many
MIX_BUYERS = 200


def rate(events, op, t0, t1):
    """Successful operations of this kind per second between t0 and t1."""
    n = sum(1 for e in events if e["op"] == op and e["ok"] and t0 <= e["t"] + e["dt"] < t1)
    return n / max(t1 - t0, 1e-9)


def first_ok_after(events, op, t):
    done = sorted(e["t"] + e["dt"] for e in events if e["op"] == op and e["ok"] and e["t"] >= t)
    return done[0] if done else None


def longest_gap(events, op, t0, t1):
    """The longest time between two successful operations of this kind (from t0 to t1)."""
    done = sorted(e["t"] + e["dt"] for e in events if e["op"] == op and e["ok"] and t0 <= e["t"] + e["dt"] <= t1)
    marks = [t0] + done + [t1]
    return max(b - a for a, b in zip(marks, marks[1:]))


def orders_of(lab, host, uids):
    """{order_id: (user_id, total_count)} of these users on one node."""
    ids = ",".join(str(u) for u in uids)
    rows = lab.sql(host, f"SELECT order_id, user_id, total_count FROM df_order_info WHERE user_id IN ({ids})")
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def check_orders(lab, host, result, uids):
    """Every acknowledged Idempotency-Key is one order, every order of
    these users one acknowledged key: none applied twice, none lost, none
    half written (its lines add up to its total count, its key row names it)."""
    orders = result["orders"]
    unanswered = [k for k, o in orders.items() if o["res"] is None]
    assert not unanswered, f"{len(unanswered)} commits never answered: {unanswered[:3]}"
    acked = {k: o for k, o in orders.items() if o["res"] == 5}
    ids = [o["order_id"] for o in acked.values()]
    assert len(set(ids)) == len(ids), "two keys answered the same order"
    held = orders_of(lab, host, uids)
    assert set(held) == set(ids), (f"{host}: orders held {len(held)}, acknowledged {len(ids)}; not acknowledged:"
                                   f" {sorted(set(held) - set(ids))[:3]}, lost: {sorted(set(ids) - set(held))[:3]}")
    uid_list = ",".join(str(u) for u in uids)
    lines = {r[0]: int(r[1]) for r in lab.sql(
        host, "SELECT g.order_id, SUM(g.count) FROM df_order_goods g JOIN df_order_info i ON i.order_id = g.order_id"
              f" WHERE i.user_id IN ({uid_list}) GROUP BY g.order_id")}
    keys = {r[0]: r[1] for r in lab.sql(
        host, f"SELECT idem_key, order_id FROM df_order_idempotency WHERE user_id IN ({uid_list})")}
    for key, o in acked.items():
        assert lines.get(o["order_id"]) == held[o["order_id"]][1], f"{host}: order {o['order_id']} half written"
        assert keys.get(key) == o["order_id"], f"{host}: key {key} does not name order {o['order_id']}"
    return len(ids)


def uwsgi_served(lab, host, prefix):
    """Requests the instance on host logged whose line starts with prefix."""
    log = os.path.join(lab.hosts[host]["dir"], "log", "uwsgi-8080.log")
    with open(log, errors="replace") as f:
        return sum(1 for line in f if line.startswith(prefix))


def uwsgi_commits(lab, host):
    return uwsgi_served(lab, host, "POST /order/commit")


def uwsgi_requests(lab, host):
    """Every request the instance logged: adds and commits alternate, so
    nginx's round robin can hand all of one kind to one instance for a
    while; whether an instance is in rotation is told by all it serves."""
    return uwsgi_served(lab, host, "POST ") + uwsgi_served(lab, host, "GET ")


# ---------------------------------------------------------------- (f)
def test_f_200_buyers_on_stock_50_through_two_app_hosts_buy_exactly_50(restored, out_dir):
    lab = restored
    sku = lab.skus(1, stock=50)[0]
    buyers = lab.buyers("race" + os.urandom(4).hex(), 200, [sku])
    before = {h: uwsgi_commits(lab, h) for h in lab.hosts_with("uwsgi")}
    t0 = time.time()
    result = lab.load(buyers, "race", 30, out_dir, name="race").result()
    took = time.time() - t0
    answers = [o["res"] for o in result["orders"].values()]
    sold = answers.count(5)
    served = {h: uwsgi_commits(lab, h) - before[h] for h in before}
    print(f"\n(f) 200 buyers, stock 50: {sold} orders, {answers.count(6)} out of stock, "
          f"others {sorted(set(a for a in answers if a not in (5, 6)), key=str)}; commits per app host {served};"
          f" {took:.1f} s")
    assert sold == 50
    assert answers.count(None) == 0
    assert all(n > 0 for n in served.values()), f"an app host served no commit: {served}"
    for host in lab.hosts_with("galera"):
        assert lab.sku_state(host, sku) == (0, 50), host
        n = lab.sql(host, f"SELECT COUNT(*), COALESCE(SUM(count), 0) FROM df_order_goods WHERE sku_id = {sku}")
        assert n == [["50", "50"]], host


# ---------------------------------------------------------------- (c)
def test_c_app_host_cable_pulled_nginx_routes_around_no_order_twice(restored, out_dir):
    lab = restored
    skus = lab.skus(4, stock=100000)
    buyers = lab.buyers("cable" + os.urandom(4).hex(), MIX_BUYERS, skus, count=0)
    # after the cable is back, nginx tries app1 again once fail_timeout (3 s) is over
    load = lab.load(buyers, "mix", 28, out_dir, threads=8, name="cable")
    try:
        time.sleep(6)
        t_pull = time.time()
        lab.pull_cable("app1")
        time.sleep(1)  # what app1 had in hand when its cable went
        at_pull = {h: uwsgi_requests(lab, h) for h in ("app1", "app2")}
        time.sleep(9)
        at_plug = {h: uwsgi_requests(lab, h) for h in ("app1", "app2")}
        t_plug = time.time()
        lab.plug_cable("app1")
        result = load.result()
        at_end = {h: uwsgi_requests(lab, h) for h in ("app1", "app2")}
    finally:
        load.stop()
    t_end = load.t0 + 28
    ev = result["events"]
    gap = longest_gap(ev, "commit", t_pull, t_plug)
    n = check_orders(lab, lab.writer(), result, [b["uid"] for b in buyers])
    retried = sum(1 for o in result["orders"].values() if o["tries"] > 1)
    print(f"\n(c) app1's cable pulled for {t_plug - t_pull:.1f} s: orders/s before {rate(ev, 'commit', load.t0, t_pull):.1f},"
          f" cable out {rate(ev, 'commit', t_pull, t_plug):.1f}, after {rate(ev, 'commit', t_plug, t_end):.1f};"
          f" longest gap between orders while out {gap:.2f} s; {n} orders, each its own key;"
          f" {retried} commits sent again under their key; requests served by app1/app2 while out:"
          f" {at_plug['app1'] - at_pull['app1']}/{at_plug['app2'] - at_pull['app2']},"
          f" after: {at_end['app1'] - at_plug['app1']}/{at_end['app2'] - at_plug['app2']}")
    assert at_plug["app1"] == at_pull["app1"], "app1 served requests with its cable out"
    # back in the rotation once fail_timeout is over (how fast app1 itself
    # recovers its own connections to the data hosts is app1's affair)
    assert at_end["app1"] > at_plug["app1"], "nginx did not route to app1 again once plugged"
    # nginx routes around the dead host: orders go on through app2
    assert rate(ev, "commit", t_pull + 2, t_plug) > 0.5
    assert gap < 8


# ---------------------------------------------------------------- (b)
def test_b_galera_writer_killed_orders_go_on_through_the_next_node(restored, out_dir):
    lab = restored
    skus = lab.skus(4, stock=100000)
    buyers = lab.buyers("galera" + os.urandom(4).hex(), MIX_BUYERS, skus, count=0)
    load = lab.load(buyers, "mix", 25, out_dir, threads=8, name="galera")
    try:
        time.sleep(5)
        t_kill = time.time()
        lab.kill9("data1", "galera")
        result = load.result()
    finally:
        load.stop()
    ev = result["events"]
    back = first_ok_after(ev, "commit", t_kill + 0.5)
    survivors = ["data2", "data3"]
    counts = [check_orders(lab, h, result, [b["uid"] for b in buyers]) for h in survivors]
    sold = {}
    for o in result["orders"].values():
        if o["res"] == 5:
            sold[o["sku"]] = sold.get(o["sku"], 0) + 1
    for h in survivors:
        for sku in skus:
            stock, sales = lab.sku_state(h, sku)
            assert stock + sales == 100000, f"{h}: SKU {sku} stock {stock} + sales {sales}"
            assert sales == sold.get(sku, 0), f"{h}: SKU {sku} sold {sales}, acknowledged {sold.get(sku, 0)}"
    print(f"\n(b) Galera writer killed: first order after it {back - t_kill if back else float('nan'):.2f} s later;"
          f" orders/s before {rate(ev, 'commit', load.t0, t_kill):.1f}, after {rate(ev, 'commit', t_kill, load.t0 + 25):.1f};"
          f" {counts[0]} orders on each survivor")
    assert back is not None and back - t_kill < 15


# ---------------------------------------------------------------- (a)
def test_a_redis_master_killed_a_replica_promoted_the_shop_answers_again(restored, out_dir):
    lab = restored
    skus = lab.skus(4, stock=1000000)
    buyers = lab.buyers("redis" + os.urandom(4).hex(), 8, skus, count=0)
    old = lab.redis_master_host()
    load = lab.load(buyers, "cart", 20, out_dir, threads=8, name="redis")
    try:
        time.sleep(4)
        t_kill = time.time()
        lab.kill9(old, "redis")
        promoted = None
        deadline = time.time() + 15
        while time.time() < deadline:
            addr = lab.sentinel_master()
            if addr and addr != lab.addr(old):
                promoted = time.time()
                break
            time.sleep(0.05)
        result = load.result()
    finally:
        load.stop()
    assert promoted, "no replica promoted within 15 s"
    new = lab.host_of(lab.sentinel_master())
    ev = result["events"]
    back = first_ok_after(ev, "cart", promoted)
    lost = 0
    for b in buyers:
        held = lab.redis(new, "HGET", f"cart_{b['uid']}", b["sku"]) or "0"
        lost += max(0, result["cart_acks"].get(str(b["uid"]), 0) - int(held))
    acked = sum(result["cart_acks"].values())
    print(f"\n(a) Redis master on {old} killed: {new} promoted {promoted - t_kill:.2f} s later; first cart write"
          f" after the promotion {back - promoted if back else float('nan'):.2f} s after it;"
          f" {acked} cart writes acknowledged, {lost} of them lost")
    assert back is not None and back - promoted < 5


# ---------------------------------------------------------------- (d)
def test_d_cut_off_redis_master_refuses_writes_within_its_window(restored):
    lab = restored
    old = lab.redis_master_host()
    lag = int(lab.redis(old, "CONFIG", "GET", "min-replicas-max-lag").split()[1])
    assert lab.redis(old, "SET", "dfl_probe", "before") == "OK"
    lab.cut_ports(old, [6379, 26379])
    t_cut = time.time()
    taken, refused = 0, None
    while time.time() < t_cut + lag + 10:
        answer = lab.redis(old, "SET", f"dfl_probe_{taken}", "cut")
        if answer.startswith("NOREPLICAS"):
            refused = time.time()
            break
        assert answer == "OK", answer
        taken += 1
        time.sleep(0.05)
    promoted = None
    deadline = time.time() + 15
    while time.time() < deadline:
        addr = lab.sentinel_master(exclude=old)
        if addr and addr != lab.addr(old):
            promoted = time.time()
            break
        time.sleep(0.1)
    assert refused is not None, f"the cut-off master took all {taken} writes for {lag + 10} s"
    assert promoted, "the other hosts promoted no replica within 15 s"
    new = lab.host_of(lab.sentinel_master(exclude=old))
    # the new master takes writes once the other replica has attached to it
    lab.wait(lambda: lab.redis(new, "SET", "dfl_probe", "after") == "OK", 15, f"{new} taking writes")
    took_over = time.time()
    lab.heal_ports(old)
    t_heal = time.time()
    lab.wait(lambda: lab.redis_role(old) == "slave" and lab.redis(old, "GET", "dfl_probe") == "after", 40,
             f"{old} a replica of {new} again")
    rejoined = time.time() - t_heal
    kept = sum(1 for i in range(taken) if lab.redis(new, "EXISTS", f"dfl_probe_{i}") == "1")
    print(f"\n(d) Redis master on {old} cut off: it took {taken} writes, refused writes {refused - t_cut:.2f} s"
          f" after the cut (min-replicas-max-lag {lag}); {new} promoted {promoted - t_cut:.2f} s after it, taking"
          f" writes {took_over - t_cut:.2f} s after it;"
          f" after healing {old} is a replica again in {rejoined:.1f} s; of its {taken} writes while cut off,"
          f" {taken - kept} lost")
    # the window: a replica counts until its last ack (once a second) is
    # more than min-replicas-max-lag whole seconds old, as the master's
    # once-a-second check sees it: at most lag + 2 s, plus a second of slack
    assert refused - t_cut < lag + 3
    for host in lab.hosts_with("redis"):
        lab.wait(lambda h=host: lab.redis(h, "GET", "dfl_probe") == "after", 10, f"{host} has the new master's write")
    lab.redis(new, "DEL", "dfl_probe", *[f"dfl_probe_{i}" for i in range(taken)])


def test_d_cut_off_redis_master_the_shop_goes_on_and_is_consistent_after(restored, out_dir):
    lab = restored
    skus = lab.skus(4, stock=1000000)
    buyers = lab.buyers("rcut" + os.urandom(4).hex(), MIX_BUYERS, skus, count=0)
    old = lab.redis_master_host()
    load = lab.load(buyers, "mix", 25, out_dir, threads=8, name="rcut")
    try:
        time.sleep(4)
        t_cut = time.time()
        lab.cut_ports(old, [6379, 26379])
        time.sleep(10)
        lab.heal_ports(old)
        t_heal = time.time()
        result = load.result()
    finally:
        load.stop()
    new = lab.host_of(lab.sentinel_master(exclude=old))
    assert new != old
    lab.wait(lambda: lab.redis_role(old) == "slave", 40, f"{old} a replica again")
    ev = result["events"]
    n = check_orders(lab, lab.writer(), result, [b["uid"] for b in buyers])
    print(f"\n(d) shop with its Redis master cut off: cart writes/s before {rate(ev, 'cart', load.t0, t_cut):.1f},"
          f" cut off {rate(ev, 'cart', t_cut, t_heal):.1f}, healed {rate(ev, 'cart', t_heal, load.t0 + 25):.1f};"
          f" {n} orders, each its own key")
    assert rate(ev, "commit", t_heal, load.t0 + 25) > 0.5
    # every host holds the same carts once healed
    for b in buyers:
        want = lab.redis(new, "HGETALL", f"cart_{b['uid']}")
        for host in lab.hosts_with("redis"):
            lab.wait(lambda h=host, k=f"cart_{b['uid']}", w=want: lab.redis(h, "HGETALL", k) == w, 10,
                     f"{host}: cart of {b['uid']}")


# ---------------------------------------------------------------- (e)
def commit_latencies(result):
    return sorted(e["dt"] for e in result["events"] if e["op"] == "commit" and e["ok"])


def unpaced_orders(lab, skus, out_dir, name):
    """Orders/s and commit latencies of 8 threads as fast as they go, 5 s."""
    buyers = lab.buyers(name + os.urandom(4).hex(), 400, skus, count=0)
    result = lab.load(buyers, "mix", 5, out_dir, name=name, pace=0).result()
    ev = result["events"]
    t0 = min(e["t"] for e in ev)
    return rate(ev, "commit", t0, t0 + 5), commit_latencies(result)


def test_e_5ms_on_the_database_hosts_orders_per_second(restored, out_dir):
    lab = restored
    assert os.access(NET_DELAY, os.X_OK), f"no {NET_DELAY}: make net-delay"
    assert shutil.which("iptables-legacy"), "no iptables-legacy: make deps"
    skus = lab.skus(8, stock=1000000)
    fast, fast_lat = unpaced_orders(lab, skus, out_dir, "fast")
    procs, rules = [], []
    try:
        for i, host in enumerate(lab.hosts_with("galera")):
            # every packet MariaDB sends to another host held 5 ms
            rule = ["OUTPUT", "-o", "eth0", "-p", "tcp", "--sport", str(lab.service(host, "galera")["port"]),
                    "-j", "NFQUEUE", "--queue-num", str(10 + i), "--queue-bypass"]
            procs.append(subprocess.Popen(["ip", "netns", "exec", lab.ns(host), NET_DELAY, str(10 + i), "5"]))
            run(["ip", "netns", "exec", lab.ns(host), "iptables-legacy", "-A", *rule])
            rules.append((host, rule))
        time.sleep(0.5)
        slow, slow_lat = unpaced_orders(lab, skus, out_dir, "slow")
    finally:
        for host, rule in rules:
            run(["ip", "netns", "exec", lab.ns(host), "iptables-legacy", "-D", *rule], check=False)
        for p in procs:
            p.terminate()
            p.wait(timeout=10)

    def pct(xs, q):
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000

    print(f"\n(e) +5 ms on every packet the database hosts' MariaDB sends: orders/s {fast:.1f} -> {slow:.1f};"
          f" commit p50 {pct(fast_lat, 0.5):.1f} -> {pct(slow_lat, 0.5):.1f} ms,"
          f" p99 {pct(fast_lat, 0.99):.1f} -> {pct(slow_lat, 0.99):.1f} ms (8 threads, unpaced)")
    assert slow > 0
    # at least one round trip to the database in every commit pays the 5 ms
    assert pct(slow_lat, 0.5) >= pct(fast_lat, 0.5) + 5
