"""Redis through Sentinel: the shop's instances given dailyfresh-redis-sentinels
find the master by asking the sentinels, refuse a server that ROLE shows is a
replica, answer 503 (never 500) while the master is down, and follow the
promotion of its replica without a restart.

The Redis servers here are the test's own, on free ports of 127.0.0.1 under
a temporary directory: a master, its replica and three sentinels watching
them, plus a stale pair that names a replica as the master (a server made a
replica of a dead address and a sentinel that monitors it under the same
name). The stack's uWSGI instances are restarted pointed at the stale
sentinel first and the three real ones after it, and restarted as configured
at the end; every process started here is killed, even on failure."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from support import uwsgi
from support.cart import make_sku, make_type, make_user
from support.env import UWSGI_PORTS
from support.http import Client
from support.private_stack import free_ports
from support.stack import uwsgi_options

NAME = "dailyfresh"
READY_S = 20      # replication and the sentinels' discovery of each other
FAILOVER_S = 20   # kill -9 of the master to the replica's promotion
RECOVER_S = 5     # promotion to the shop's first acknowledged write (the task's bound)
REQUEST_S = 10    # any one request, whatever state Redis is in


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *[str(a) for a in args]],
                         capture_output=True, text=True, timeout=5)
    return out.stdout.strip()


def role(port):
    """The first line of ROLE ("master", "slave", "sentinel"), "" when down."""
    try:
        return cli(port, "ROLE").split("\n", 1)[0]
    except subprocess.TimeoutExpired:
        return ""


class Servers:
    """The test's Redis servers and sentinels, each a child process."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dailyfresh-sentinel-test.", dir="/tmp")
        self.procs = {}

    def start(self, name, lines, sentinel=False):
        d = os.path.join(self.dir, name)
        os.mkdir(d)
        conf = os.path.join(d, "redis.conf")
        with open(conf, "w") as f:
            f.write("\n".join(["bind 127.0.0.1", "daemonize no", f"dir {d}",
                               f"logfile {os.path.join(d, 'log')}", *lines]) + "\n")
        args = ["redis-server", conf] + (["--sentinel"] if sentinel else [])
        self.procs[name] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def kill(self, name):
        p = self.procs.pop(name)
        p.kill()
        p.wait(timeout=10)

    def stop(self):
        for name in list(self.procs):
            self.kill(name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name):
        with open(os.path.join(self.dir, name, "log"), errors="replace") as f:
            return f.read()


def server_lines(port):
    # as the stack's Redis: every write appended, fsynced once a second
    return [f"port {port}", "appendonly yes", "appendfsync everysec", 'save ""', "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0"]


def sentinel_lines(port, master_port, quorum, down_after_ms):
    return [f"port {port}", f"sentinel monitor {NAME} 127.0.0.1 {master_port} {quorum}",
            f"sentinel down-after-milliseconds {NAME} {down_after_ms}",
            f"sentinel failover-timeout {NAME} 5000", f"sentinel parallel-syncs {NAME} 1"]


def wait_until(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def ready(master, replica, sentinels):
    if "master_link_status:up" not in cli(replica, "INFO", "replication"):
        return False
    for s in sentinels:
        # each knows the replica and the two other sentinels, or no failover can be agreed
        if f"127.0.0.1:{replica}" not in cli(s, "SENTINEL", "replicas", NAME).split("\n"):
            return False
        if cli(s, "SENTINEL", "sentinels", NAME).split("\n").count("name") < 2:
            return False
    return True


@pytest.fixture
def servers():
    s = Servers()
    yield s
    s.stop()


def session_on(port, uid):
    """A client logged in as uid through a session stored on the server at port."""
    c = Client()
    sid = os.urandom(16).hex()
    assert cli(port, "SET", "session_" + sid, uid, "EX", 3600) == "OK"
    c.cookies.set("sessionid", sid)
    return c


def add(c, sku):
    """(HTTP status, JSON body or None, seconds) of one /cart/add of one unit."""
    t = time.monotonic()
    try:
        r = c.post_form("/cart/add", {"sku_id": sku, "count": 1}, timeout=REQUEST_S)
    except requests.RequestException as e:
        raise AssertionError(f"/cart/add did not answer within {REQUEST_S} s: {e}")
    try:
        body = r.json()
    except ValueError:
        body = None
    return r.status_code, body, time.monotonic() - t


@pytest.mark.destructive
def test_shop_follows_a_sentinel_failover(servers):
    master, replica, s1, s2, s3, stale, stale_sentinel, dead = free_ports(8)
    servers.start("master", server_lines(master))
    servers.start("replica", server_lines(replica) + [f"replicaof 127.0.0.1 {master}"])
    # a replica of an address nobody listens on, which a sentinel names as the master
    servers.start("stale", server_lines(stale) + [f"replicaof 127.0.0.1 {dead}"])
    for name, port in (("s1", s1), ("s2", s2), ("s3", s3)):
        servers.start(name, sentinel_lines(port, master, 2, 1000), sentinel=True)
    servers.start("stale-sentinel", sentinel_lines(stale_sentinel, stale, 1, 600000), sentinel=True)
    wait_until("replica in sync, sentinels aware of it and of each other",
               lambda: ready(master, replica, (s1, s2, s3)), READY_S)
    assert cli(stale_sentinel, "SENTINEL", "get-master-addr-by-name", NAME).split() == ["127.0.0.1", str(stale)]
    assert role(stale) == "slave"

    uid = make_user()
    sku = make_sku(*make_type("哨兵测试"), stock=1000000)
    c = session_on(master, uid)
    sentinels = ",".join(f"127.0.0.1:{p}" for p in (stale_sentinel, s1, s2, s3))
    marks = {port: uwsgi.log_size(port) for port in UWSGI_PORTS}
    with uwsgi_options("--dailyfresh-redis-sentinels", sentinels, "--dailyfresh-redis-master-name", NAME):
        # the stale sentinel is asked first: ROLE refuses its replica, the next sentinel names the master
        acked = 0
        for _ in range(20):
            status, body, _ = add(c, sku)
            assert (status, body) == (200, {"res": 5, "message": "添加成功", "total_count": acked + 1})
            acked += 1
        assert cli(master, "HGET", f"cart_{uid}", sku) == str(acked)
        assert cli(stale, "DBSIZE") == "0"
        logged = "".join(uwsgi.log_since(port, mark) for port, mark in marks.items())
        assert f"sentinel 127.0.0.1:{stale_sentinel} names 127.0.0.1:{stale}: not a master (ROLE says slave)" \
            in logged
        assert f"redis: master 127.0.0.1:{master} named by sentinel 127.0.0.1:" in logged

        # kill -9 of the master right after a write (what replication had not sent yet is lost):
        # 503 until the replica is promoted, then writes on the new master
        status, body, _ = add(c, sku)
        assert (status, body["res"]) == (200, 5)
        acked += 1
        servers.kill("master")
        killed = time.monotonic()
        promoted = first_ok = None
        statuses = {}
        slowest = 0.0
        while first_ok is None or time.monotonic() - first_ok < 1:
            now = time.monotonic()
            assert now - killed < FAILOVER_S + RECOVER_S, \
                f"no failover within {FAILOVER_S + RECOVER_S} s: {statuses}, replica says {role(replica)}"
            if promoted is None and role(replica) == "master":
                promoted = time.monotonic()
            status, body, took = add(c, sku)
            slowest = max(slowest, took)
            statuses[status] = statuses.get(status, 0) + 1
            assert status in (200, 503), f"/cart/add answered {status} {body} during the failover"
            if status == 200:
                assert body["res"] == 5, body
                acked += 1
                if first_ok is None:
                    first_ok = time.monotonic()
                    if promoted is None:  # promoted between the ROLE poll and the request
                        assert role(replica) == "master"
                        promoted = first_ok
            elif first_ok is not None:
                raise AssertionError(f"503 again after the shop had recovered: {statuses}")
            time.sleep(0.02)
        assert statuses.get(503, 0) > 0, "the master's death went unnoticed"
        assert first_ok - promoted <= RECOVER_S, \
            f"the shop answered {first_ok - promoted:.1f} s after the promotion"
        # every worker of every instance follows: a burst that needs them all
        for _ in range(4 * 2 * len(UWSGI_PORTS)):
            status, body, _ = add(c, sku)
            assert status == 200 and body["res"] == 5, (status, body)
            acked += 1
        assert role(replica) == "master"
        stored = int(cli(replica, "HGET", f"cart_{uid}", sku) or 0)
        print(f"\nfailover: master killed, replica promoted after {promoted - killed:.2f} s, shop writing again"
              f" {first_ok - killed:.2f} s after the kill ({first_ok - promoted:.2f} s after the promotion);"
              f" answers meanwhile {statuses}, slowest {slowest:.2f} s; acknowledged adds {acked},"
              f" on the new master {stored}, lost {acked - stored}")
        assert stored <= acked
        assert body["total_count"] == stored
        assert cli(stale, "DBSIZE") == "0"
        assert "+switch-master" in servers.log("s1")
