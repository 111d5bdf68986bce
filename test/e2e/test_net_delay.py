"""build/net_delay (test/fakes/net_delay.c), the latency tool of the round-trip
measurements: every packet an iptables-legacy NFQUEUE rule hands it is held
DELAY_MS and then accepted, in the order it came, and SIGTERM ends it cleanly
without losing what it held. Run in a network namespace of its own
(unshare -n): its loopback and its iptables rules vanish with it, so nothing
of the host's is touched."""
import os
import shutil
import subprocess
import textwrap

import pytest

from support.env import ROOT

NET_DELAY = os.path.join(os.environ.get("DF_BUILD") or os.path.join(ROOT, "build"), "net_delay")
DELAY_MS = 30

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("iptables-legacy"),
                                reason="needs root and iptables-legacy (scripts/deps.sh)")

# In the namespace: the rule, net_delay, an echo server and a client that
# times ping-pongs and a burst; prints "RTT <ms...>", "ORDER ok" and net_delay's exit status.
SCRIPT = textwrap.dedent("""\
    set -u
    ip link set lo up
    iptables-legacy -t mangle -A OUTPUT -p tcp --sport 47011 -j NFQUEUE --queue-num 7 --queue-bypass
    "$1" 7 "$2" 2>/dev/null & nd=$!
    sleep 0.5
    python3 - <<'PY'
    import socket, threading, time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 47011))
    srv.listen()
    def serve():
        c, _ = srv.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while d := c.recv(65536):
            c.sendall(d)
    threading.Thread(target=serve, daemon=True).start()
    c = socket.create_connection(("127.0.0.1", 47011), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for i in range(5):
        t = time.monotonic()
        c.sendall(b"ping%d" % i)
        assert c.recv(100) == b"ping%d" % i
        rtts.append((time.monotonic() - t) * 1000)
    print("RTT", " ".join("%.2f" % x for x in rtts))
    sent = b"".join(b"%06d" % i for i in range(2000))
    for i in range(0, len(sent), 60):
        c.sendall(sent[i:i + 60])
    got = b""
    while len(got) < len(sent):
        got += c.recv(65536)
    print("ORDER", "ok" if got == sent else "WRONG")
    PY
    kill -TERM $nd
    wait $nd
    echo "EXIT $?"
    """)


def run_in_namespace(delay_ms):
    out = subprocess.run(["unshare", "-n", "bash", "-c", SCRIPT, "net_delay-test", NET_DELAY, str(delay_ms)],
                         capture_output=True, text=True, timeout=60)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    return lines, out


def test_usage_errors_exit_2():
    for args in ([], ["7"], ["x", "5"], ["7", "-1"], ["70000", "5"], ["7", "60001"]):
        r = subprocess.run([NET_DELAY, *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "usage: net_delay" in r.stderr, (args, r)


def test_holds_each_packet_in_order_and_stops_on_sigterm():
    lines, out = run_in_namespace(DELAY_MS)
    assert "RTT" in lines, out
    # each ping-pong waits for the echoed reply's packet (the queued
    # direction), so it takes at least the delay; without it, well under
    rtts = [float(x) for x in lines["RTT"].split()]
    assert all(x >= DELAY_MS for x in rtts), rtts
    assert lines.get("ORDER") == "ok", out
    assert lines.get("EXIT") == "0", out


def test_without_delay_passes_packets_at_once():
    lines, out = run_in_namespace(0)
    rtts = [float(x) for x in lines["RTT"].split()]
    assert min(rtts) < DELAY_MS, rtts
    assert lines.get("ORDER") == "ok" and lines.get("EXIT") == "0", out
