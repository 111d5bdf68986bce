"""The uWSGI instances of the stack: their logs ($DF_VAR/log/uwsgi-<name>.log),
pidfiles and processes."""
import os

from support.env import UWSGI_PORTS, VAR

DEATH = "DAMN ! worker"  # what a master logs when one of its workers died


def log_path(port):
    return os.path.join(VAR, "log", f"uwsgi-{port}.log")


def log(port):
    """The text of one instance's uWSGI log."""
    with open(log_path(port), errors="replace") as f:
        return f.read()


def logs():
    """Every instance's uWSGI log, one after the other."""
    return "".join(log(port) for port in UWSGI_PORTS)


def logs_by_port():
    return {port: log(port) for port in UWSGI_PORTS}


def log_size(port):
    try:
        return os.path.getsize(log_path(port))
    except OSError:
        return 0


def log_since(port, mark):
    """What one instance logged past byte mark (a log_size() taken earlier)."""
    with open(log_path(port), "rb") as f:
        f.seek(mark)
        return f.read().decode(errors="replace")


def worker_deaths(text=None):
    """How many worker deaths text (by default every instance's log) records."""
    return (logs() if text is None else text).count(DEATH)


def pidfile(port):
    return os.path.join(VAR, "run", f"uwsgi-{port}.pid")


def master_pid(port):
    with open(pidfile(port)) as f:
        return int(f.read().strip())


def master_pids():
    return {port: master_pid(port) for port in UWSGI_PORTS}


def children(pid):
    """{pid: command line} of pid's children (workers and mule)."""
    kids = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found = f.read().split()
        except OSError:
            continue
        for c in found:
            try:
                with open(f"/proc/{c}/cmdline", "rb") as g:
                    kids[int(c)] = g.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
    return kids


def workers(port):
    """The worker pids of one instance (children of its master, not the mule)."""
    return {p for p, cmd in children(master_pid(port)).items() if "worker" in cmd}
