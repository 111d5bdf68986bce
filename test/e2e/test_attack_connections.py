"""One client address cannot starve the others by holding connections.

An attacker address opens ~8,000 connections to nginx and sends each the
start of a POST whose headers never end (what filled nginx's
worker_connections before); while it holds them, another address makes
requests on fresh connections, and every one must be answered 200 with p99
under 1 s. Where the stack's per-address cap is installed (nftables table
dailyfresh_<http port>, scripts/stack.sh as root) the attacker must also
have been refused most of its connections."""
import errno
import http.client
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import time

import pytest

from support.env import BASE
from support.stack import STACK_SH

HOST, PORT = re.match(r"https?://([^:/]+):(\d+)", BASE).groups()
PORT = int(PORT)
ATTACKER = "127.0.0.77"  # both on loopback, neither 127.0.0.1 (the suites' own address)
VICTIM = "127.0.0.78"
HELD = 9000              # connections the attacker tries to hold at once (nginx had 2 x 4096)
MAX_OPEN = 10000         # sockets open at once, at most
MAX_SOCKETS = 30000      # sockets opened in all (re-opening those nginx closes or refuses)
REOPEN_RATE = 500        # re-opened sockets a second, at most
SETTLE = 12.0            # seconds for the attacker's connects to be answered (SYN retries included)
VICTIM_REQUESTS = 100
VICTIM_SECONDS = 10.0
HALF_REQUEST = b"POST /cart/add HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Filler: "
IP_BIND_ADDRESS_NO_PORT = 24  # linux/in.h: the source port is chosen at connect, per destination


def cap_installed():
    """The per-address cap scripts/stack.sh installs for this stack, or None."""
    nft = shutil.which("nft") or "/usr/sbin/nft"
    if os.geteuid() != 0 or not os.path.exists(nft):
        return None
    out = subprocess.run([nft, "list", "table", "inet", f"dailyfresh_{PORT}"], capture_output=True, text=True,
                         timeout=10)
    if out.returncode != 0:
        return None
    m = re.search(r"ct count over (\d+)", out.stdout)
    return int(m.group(1)) if m else None


class Attacker:
    """Non-blocking connects from ATTACKER, each sent HALF_REQUEST once it
    connects; a socket nginx closes is opened again, up to MAX_SOCKETS."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.opened = 0
        self.refused = 0     # reset or refused before it connected
        self.connected = 0   # connects that completed
        self.dropped = 0     # closed by nginx after it connected
        self.held = set()
        self.t0 = None

    def open_one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((ATTACKER, 0))
        self.opened += 1
        rc = s.connect_ex((HOST, PORT))
        if rc not in (0, errno.EINPROGRESS):
            self.refused += 1
            s.close()
            return
        self.sel.register(s, selectors.EVENT_WRITE, "connecting")

    def fill(self):
        # HELD at once at first; then nginx's closed ones again, at most
        # REOPEN_RATE a second (nginx drops the newest unread connections
        # to keep some free: only new ones coming in all the time fill it)
        allowed = HELD + int((time.monotonic() - self.t0) * REOPEN_RATE) if self.t0 else HELD
        if not self.t0:
            self.t0 = time.monotonic()
        while len(self.sel.get_map()) < HELD and self.opened < min(MAX_SOCKETS, allowed):
            self.open_one()

    def poll(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for key, _ in self.sel.select(timeout=min(left, 0.2)):
                self.event(key)
            self.fill()

    def event(self, key):
        s = key.fileobj
        if key.data == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.refused += 1
                self.sel.unregister(s)
                s.close()
                return
            self.connected += 1
            try:
                s.send(HALF_REQUEST)
            except OSError:
                pass
            self.sel.modify(s, selectors.EVENT_READ, "held")
            self.held.add(s)
            return
        # readable while held: nginx answered (408) or closed it
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            return
        self.dropped += 1
        self.held.discard(s)
        self.sel.unregister(s)
        s.close()

    def close(self):
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


def server_side_established(source):
    """Connections to nginx's port from that address the kernel holds open."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{PORT} and dst {source} )"],
                         capture_output=True, text=True, timeout=10, check=True)
    return len(out.stdout.splitlines())


def victim_request(path):
    """One GET on a fresh connection from VICTIM; (seconds, status or error)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=5, source_address=(VICTIM, 0))
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        r = conn.getresponse()
        r.read()
        return time.monotonic() - t0, r.status
    except OSError as e:
        return time.monotonic() - t0, type(e).__name__
    finally:
        conn.close()


@pytest.fixture
def many_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_OPEN + 1024
    try:
        if hard != resource.RLIM_INFINITY and hard < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    except (ValueError, OSError) as e:
        pytest.skip(f"cannot raise RLIMIT_NOFILE to {want} (hard limit {hard}): {e}")
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_one_address_holding_connections_does_not_starve_another(many_files):
    cap = cap_installed()
    assert victim_request("/healthz")[1] == 200, "the victim address cannot reach nginx even before the attack"
    attacker = Attacker()
    results = []
    most_held = 0
    try:
        attacker.fill()
        attacker.poll(SETTLE)
        pause = VICTIM_SECONDS / VICTIM_REQUESTS
        for i in range(VICTIM_REQUESTS):
            results.append(victim_request("/api/goods/types" if i % 2 else "/healthz"))
            attacker.poll(pause)
            if i % 10 == 0:
                most_held = max(most_held, server_side_established(ATTACKER))
    finally:
        stats = dict(opened=attacker.opened, connected=attacker.connected, refused=attacker.refused,
                     dropped=attacker.dropped, most_held=most_held, cap=cap)
        attacker.close()
    times = sorted(t for t, status in results if status == 200)
    failed = [(round(t, 3), status) for t, status in results if status != 200]
    p99 = sorted(t if status == 200 else float("inf") for t, status in results)[int(len(results) * 0.99) - 1]
    print(f"attacker {stats}; victim {len(times)}/{len(results)} answered 200, p99 {p99:.3f} s")
    assert not failed, (f"{len(failed)} of {len(results)} victim requests failed", failed[:10], stats)
    assert p99 < 1.0, (p99, times[-5:], stats)
    if cap is not None:
        # the cap, not nginx's own limits, stopped the attacker: most of its
        # connects were refused, and it never held much more than the cap
        # (conntrack's count lets a few SYNs through on a tuple it saw
        # refused an instant before: an attacker re-opening at full speed
        # holds up to about 1.5 times the cap, still far below nginx's room)
        assert most_held <= 2 * cap, stats
        assert attacker.refused >= (HELD - cap) * 0.9, stats


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.geteuid() != 0, reason="the cap is installed only by root")
def test_cap_is_one_table_per_stack_removed_by_stop(tmp_path):
    """Another stack's cap (another HTTP port) is a table of its own: it
    leaves this stack's alone, and stop removes it even when nothing else of
    that stack runs (as after a failed start)."""
    mine = cap_installed()
    port = free_port()
    env = dict(os.environ, DF_VAR=str(tmp_path / "var"), DF_HTTP_PORT=str(port), DF_UWSGI_PORTS="x1",
               DF_CONN_PER_ADDR="7")
    stack_sh = STACK_SH
    nft = shutil.which("nft") or "/usr/sbin/nft"
    try:
        out = subprocess.run([stack_sh, "start-conncap"], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert f"at most 7 on port {port}" in out.stdout, out.stdout
        table = subprocess.run([nft, "list", "table", "inet", f"dailyfresh_{port}"], capture_output=True,
                               text=True, timeout=10)
        assert table.returncode == 0 and f"tcp dport {port} " in table.stdout, table.stderr
        assert "ip6 saddr ct count over 7" in table.stdout
        assert cap_installed() == mine  # this stack's table is untouched
    finally:
        stop = subprocess.run([stack_sh, "stop"], env=env, capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    gone = subprocess.run([nft, "list", "table", "inet", f"dailyfresh_{port}"], capture_output=True, timeout=10)
    assert gone.returncode != 0
    assert cap_installed() == mine
