"""The lab of scripts/cluster.sh as the fault tests see it: its hosts and
services from $DF_VAR/cluster/lab.json, the faults (kill -9 of a service,
a pulled cable, a host's port cut off by nftables) and their repair, and
the shop's data read straight from the servers' unix sockets (which a
pulled cable does not cut)."""
import json
import os
import signal
import subprocess
import sys
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
from bench import buyers as bench_buyers  # noqa: E402

CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
LOADGEN = os.path.join(os.path.dirname(__file__), "loadgen.py")
PY = "/usr/bin/python3"


def lab_json_path():
    var = os.environ.get("DF_VAR") or os.path.join(ROOT, "var")
    return os.path.join(var, "cluster", "lab.json")


def run(cmd, timeout=60, check=True, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, **kw)


class Lab:
    def __init__(self, path):
        with open(path) as f:
            self.spec = json.load(f)
        self.hosts = self.spec["hosts"]
        self.url = self.spec["url"].rstrip("/")
        self.switch = self.spec["switch"]
        self.master_name = self.spec["redis_master_name"]

    # ------------------------------------------------------------ the map
    def ns(self, host):
        return self.hosts[host]["namespace"]

    def addr(self, host):
        return self.hosts[host]["address"]

    def service(self, host, kind):
        for s in self.hosts[host]["services"]:
            if s["kind"] == kind:
                return s
        raise KeyError(f"{host} runs no {kind}")

    def hosts_with(self, kind):
        return [h for h, spec in self.hosts.items() if any(s["kind"] == kind for s in spec["services"])]

    def pid(self, host, kind):
        try:
            with open(self.service(host, kind)["pidfile"]) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def alive(self, host, kind):
        pid = self.pid(host, kind)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    # ------------------------------------------------------------ faults
    def kill9(self, host, kind):
        pid = self.pid(host, kind)
        assert pid, f"no pid for {kind} on {host}"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive(host, kind) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.alive(host, kind), f"{kind} on {host} survived kill -9"

    def pull_cable(self, host):
        run(["ip", "-n", self.switch, "link", "set", self.hosts[host]["switch_port"], "down"])

    def plug_cable(self, host):
        run(["ip", "-n", self.switch, "link", "set", self.hosts[host]["switch_port"], "up"])

    def cut_ports(self, host, ports):
        """Drops every packet of these TCP ports between host and the
        other hosts (its loopback and unix sockets still work)."""
        plist = ", ".join(str(p) for p in ports)
        rules = f"""table inet dfl_cut {{
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "eth0" tcp dport {{ {plist} }} drop
        iifname "eth0" tcp sport {{ {plist} }} drop
    }}
    chain output {{
        type filter hook output priority filter; policy accept;
        oifname "eth0" tcp sport {{ {plist} }} drop
        oifname "eth0" tcp dport {{ {plist} }} drop
    }}
}}
"""
        run(["ip", "netns", "exec", self.ns(host), "nft", "-f", "-"], input=rules)

    def heal_ports(self, host):
        run(["ip", "netns", "exec", self.ns(host), "nft", "delete", "table", "inet", "dfl_cut"], check=False)

    def restart(self, host, kind, timeout=90):
        r = run([CLUSTER, "restart", host, kind], timeout=timeout, check=False)
        assert r.returncode == 0, f"restart {kind} on {host}: {r.stdout}{r.stderr}"

    def restore(self):
        """Every cable in, every cut healed, every dead piece started again,
        then the lab whole: Redis with a master and two replicas, Galera
        3 synced nodes, the shop answering."""
        for host in self.hosts:
            self.plug_cable(host)
            self.heal_ports(host)
        for kind in ("galera", "redis", "sentinel", "uwsgi", "nginx"):
            for host in self.hosts_with(kind):
                if not self.alive(host, kind):
                    self.restart(host, kind)
        self.wait(lambda: self.redis_replicas_online() == 2, 30, "Redis: a master with 2 online replicas")
        # replicas online are not yet good ones (min-replicas-to-write) until the master has counted them
        self.wait(lambda: self.redis(self.redis_master_host(), "SET", "dfl_restored", "1") == "OK", 15,
                  "the Redis master taking writes")
        self.redis(self.redis_master_host(), "DEL", "dfl_restored")
        for host in self.hosts_with("galera"):
            self.wait(lambda h=host: self.galera_synced(h, 3), 60, f"Galera on {host} synced in 3")
        self.wait(self.healthy, 30, "the shop healthy")

    @staticmethod
    def wait(cond, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except Exception:  # noqa: BLE001 -- a server still coming up
                pass
            time.sleep(0.2)
        raise AssertionError(f"not within {seconds} s: {what}")

    # ------------------------------------------------------------ Redis
    def redis(self, host, *args, timeout=5):
        """A command to host's Redis through its unix socket; its answer's lines."""
        sock = self.service(host, "redis")["socket"]
        r = run(["redis-cli", "-s", sock, *[str(a) for a in args]], timeout=timeout, check=False)
        return r.stdout.strip()

    def sentinel_master(self, exclude=None):
        """The master's address as a sentinel sees it (not one on exclude:
        a host cut off keeps its own stale view)."""
        for host in self.hosts_with("sentinel"):
            if host == exclude:
                continue
            r = run(["ip", "netns", "exec", self.ns(host), "redis-cli", "-h", self.addr(host), "-p",
                     str(self.service(host, "sentinel")["port"]), "SENTINEL", "get-master-addr-by-name",
                     self.master_name], timeout=5, check=False)
            lines = r.stdout.split()
            if r.returncode == 0 and len(lines) == 2:
                return lines[0]
        return None

    def host_of(self, addr):
        return next(h for h, spec in self.hosts.items() if spec["address"] == addr)

    def redis_role(self, host):
        return self.redis(host, "ROLE").split("\n")[0]

    def redis_master_host(self):
        """The data host whose Redis says it is master and has replicas online."""
        for host in self.hosts_with("redis"):
            if self.alive(host, "redis") and self.redis_role(host) == "master":
                return host
        return None

    def redis_replicas_online(self):
        host = self.redis_master_host()
        if host is None:
            return 0
        info = self.redis(host, "INFO", "replication")
        return sum(1 for line in info.splitlines() if line.startswith("slave") and "state=online" in line)

    # ------------------------------------------------------------ Galera
    def sql(self, host, statement, timeout=30):
        """Rows of a statement run as root through host's socket, tab-split."""
        sock = self.service(host, "galera")["socket"]
        r = run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot", "-N", "-B", "dailyfresh", "-e",
                 statement], timeout=timeout)
        return [line.split("\t") for line in r.stdout.splitlines()]

    def galera_status(self, host):
        rows = self.sql(host, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
        return {k: v for k, v in rows}

    def galera_synced(self, host, size):
        st = self.galera_status(host)
        return st.get("wsrep_local_state") == "4" and st.get("wsrep_cluster_size") == str(size)

    def writer(self):
        """A data host whose Galera node is up and synced."""
        for host in self.hosts_with("galera"):
            try:
                if self.alive(host, "galera") and self.galera_status(host).get("wsrep_local_state") == "4":
                    return host
            except subprocess.SubprocessError:
                continue
        raise AssertionError("no synced Galera node")

    # ------------------------------------------------------------ the shop
    def healthy(self):
        r = requests.get(self.url + "/healthz", timeout=3)
        return r.status_code == 200

    def skus(self, n, stock, price="12.80"):
        """n SKUs of a goods type of their own, each with this stock."""
        host = self.writer()
        rows = self.sql(host, "INSERT INTO df_goods_type (create_time, update_time, name, logo, image) VALUES"
                              " (NOW(6), NOW(6), 'lab', 'lab', 'images/types/fruit.svg');"
                              " SELECT LAST_INSERT_ID()")
        type_id = int(rows[-1][0])
        rows = self.sql(host, "INSERT INTO df_goods (create_time, update_time, name, detail) VALUES"
                              " (NOW(6), NOW(6), 'lab', '<p>lab</p>'); SELECT LAST_INSERT_ID()")
        goods_id = int(rows[-1][0])
        ids = []
        for _ in range(n):
            rows = self.sql(host, "INSERT INTO df_goods_sku (create_time, update_time, name, `desc`, price, unite,"
                                  " image, stock, sales, status, goods_id, type_id) VALUES (NOW(6), NOW(6),"
                                  f" 'lab', 'lab', {price}, '500g', 'images/goods/lab.jpg', {int(stock)}, 0, 1,"
                                  f" {goods_id}, {type_id}); SELECT LAST_INSERT_ID()")
            ids.append(int(rows[-1][0]))
        return ids

    def buyers(self, tag, n, skus, count=1):
        """n logged-in buyers with an address, each with `count` of one of
        skus in the cart: [{sid, csrf, addr, sku, uid}]."""
        master = self.redis_master_host()
        made = bench_buyers.make_buyers(self.service(self.writer(), "galera")["socket"],
                                        self.service(master, "redis")["socket"], tag, n, len(skus), skus[0],
                                        count)
        by_index = {i: s for i, s in enumerate(skus)}
        out = []
        for i, (sid, csrf, addr, _sku, uid) in enumerate(made):
            out.append({"sid": sid, "csrf": csrf, "addr": int(addr), "sku": by_index[i % len(skus)],
                        "uid": int(uid)})
        return out

    def sku_state(self, host, sku):
        stock, sales = self.sql(host, f"SELECT stock, sales FROM df_goods_sku WHERE id = {int(sku)}")[0]
        return int(stock), int(sales)

    # ------------------------------------------------------------ load
    def load(self, buyers, mode, seconds, out_dir, threads=8, name="load", pace=0.3):
        """Starts the load generator on the client host; returns a Load."""
        bfile = os.path.join(out_dir, f"{name}-buyers.json")
        rfile = os.path.join(out_dir, f"{name}-result.json")
        with open(bfile, "w") as f:
            json.dump(buyers, f)
        cmd = ["ip", "netns", "exec", self.ns("client"), PY, LOADGEN, "--url", self.url, "--buyers", bfile,
               "--mode", mode, "--seconds", str(seconds), "--threads", str(threads), "--pace", str(pace),
               "--out", rfile]
        return Load(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), rfile,
                    seconds)


class Load:
    def __init__(self, proc, rfile, seconds):
        self.proc, self.rfile, self.seconds = proc, rfile, seconds
        self.t0 = time.time()

    def result(self):
        out, _ = self.proc.communicate(timeout=self.seconds + 90)
        assert self.proc.returncode == 0, f"load generator failed: {out}"
        with open(self.rfile) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
