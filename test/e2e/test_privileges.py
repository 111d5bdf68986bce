"""Who may reach what: only nginx reaches a uWSGI instance (a unix socket
its group alone may open, no TCP port), and no server of the stack runs as
root but nginx's master. Started as root, scripts/stack.sh runs the
instances as dailyfresh, nginx's workers as www-data, Redis as redis and
MariaDB as mysql; the checks that need to switch users skip when the
tests do not run as root (then the whole stack is the caller's)."""
import glob
import os
import pwd
import socket
import struct
import subprocess
import sys

import pytest
import requests

from support import uwsgi
from support.env import BASE, UWSGI_PORTS, VAR

RUN = os.path.join(VAR, "run")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the stack runs as root only when the tests do")


def uwsgi_packet(path, remote_addr):
    """A uwsgi protocol request for modifier1 251 (the plugin), as nginx sends it."""
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
           "REMOTE_ADDR": remote_addr, "HTTP_HOST": "localhost"}
    body = b"".join(struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) + v.encode()
                    for k, v in env.items())
    return struct.pack("<BHB", 251, len(body), 0) + body


# run as another user: connects to the socket, sends a request with a
# forged REMOTE_ADDR, prints the status line or the error's name
PROBE = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(bytes.fromhex(sys.argv[2]))
    print(s.recv(200).split(b"\r\n")[0].decode())
except OSError as e:
    print(type(e).__name__)
"""


def probe_as(user, sock, packet):
    pw = pwd.getpwnam(user)
    out = subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
                          sys.executable, "-c", PROBE, sock, packet.hex()],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def socket_path(name):
    return os.path.join(RUN, "uwsgi", f"{name}.sock")


def test_no_instance_listens_on_tcp():
    """The instances' names are free ports (make test picks them): nothing
    listens there, and no process of an instance holds a TCP listening socket."""
    for name in UWSGI_PORTS:
        assert os.path.exists(socket_path(name)), socket_path(name)
        if not name.isdigit():
            continue
        with socket.socket() as s:
            s.settimeout(5)
            assert s.connect_ex(("127.0.0.1", int(name))) != 0, f"something listens on 127.0.0.1:{name}"
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    listening.add(fields[9])
    for name in UWSGI_PORTS:
        for pid in instance_pids(name):
            for fd in glob.glob(f"/proc/{pid}/fd/*"):
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    assert target[8:-1] not in listening, (name, pid, fd, "a TCP listening socket")


@root_only
def test_only_nginx_reaches_an_instance():
    """A local process that is not nginx cannot open an instance's socket
    (it could set REMOTE_ADDR to anything and pass by nginx's limits); nginx's
    user can, and nginx serves through it."""
    packet = uwsgi_packet("/healthz", "203.0.113.9")
    for name in UWSGI_PORTS:
        st = os.stat(socket_path(name))
        assert st.st_mode & 0o777 == 0o660, oct(st.st_mode)
        assert probe_as("nobody", socket_path(name), packet) == "PermissionError"
        # the app's own user, who owns the socket, is not the danger: the
        # other users of the machine are; nginx's group gets in
        assert probe_as("www-data", socket_path(name), packet) == "HTTP/1.1 200 OK"
    for _ in range(2 * len(UWSGI_PORTS)):
        assert requests.get(BASE + "/healthz", timeout=10).status_code == 200


def instance_pids(name):
    master = uwsgi.master_pid(name)
    return [master, *children(master)]


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10)
    return [int(p) for p in out.stdout.split()]


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(u) for u in line.split()[1:]]  # real, effective, saved, filesystem
    raise AssertionError(f"no Uid in /proc/{pid}/status")


def server_pidfiles():
    """Every pidfile of the stack: uWSGI's, nginx's, the gateway's, Redis's, MariaDB's."""
    files = glob.glob(os.path.join(RUN, "*.pid")) + glob.glob(os.path.join(RUN, "*", "*.pid"))
    names = {os.path.basename(f) for f in files}
    assert {"nginx.pid", "redis.pid", "mysqld.pid", "alipay-gateway.pid"} <= names, names
    assert {f"uwsgi-{n}.pid" for n in UWSGI_PORTS} <= names, names
    return files


@root_only
def test_no_server_but_nginx_master_runs_as_root():
    expected = {"uwsgi": "dailyfresh", "nginx": "www-data", "redis": "redis", "mysqld": "mysql",
                "alipay-gateway": "dailyfresh"}
    seen = []
    for pidfile in server_pidfiles():
        name = os.path.basename(pidfile)[:-4]
        kind = "uwsgi" if name.startswith("uwsgi-") else name
        with open(pidfile) as f:
            pid = int(f.read().strip())
        want = pwd.getpwnam(expected[kind]).pw_uid
        for p in [pid, *children(pid)]:
            try:
                uids = uid_of(p)
            except FileNotFoundError:
                continue  # a worker that was just respawned
            seen.append((name, p))
            if kind == "nginx" and p == pid:
                assert uids[0] == 0, "nginx's master binds the port and opens the logs as root"
                continue
            assert set(uids) == {want}, (name, p, uids, expected[kind])
    assert len(seen) > 2 * 6 + 3, seen  # each instance: master, 4 workers, a mule


def environ_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)


@root_only
def test_instances_can_write_their_sanitizer_reports():
    """SANITIZE=1 sends ASan/UBSan reports to a directory of the instances'
    own user: a report an instance could not write would be lost silently."""
    workers = [p for name in UWSGI_PORTS for p in instance_pids(name)[1:]]
    assert workers
    dirs = {os.path.join(VAR, "log", "sanitizer")}
    for pid in workers:
        for var in (b"ASAN_OPTIONS", b"UBSAN_OPTIONS"):
            opts = dict(o.split(b"=", 1) for o in environ_of(pid).get(var, b"").split(b":") if b"=" in o)
            if b"log_path" in opts:
                dirs.add(os.path.dirname(opts[b"log_path"].decode()))
    user = pwd.getpwuid(uid_of(workers[0])[0]).pw_name
    assert user == "dailyfresh"
    for d in dirs:
        probe = os.path.join(d, f"probe.{os.getpid()}")
        pw = pwd.getpwnam(user)
        out = subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
                              "sh", "-c", 'echo report > "$1" && rm "$1"', "sh", probe],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, (d, out.stderr)
