"""scripts/stack.sh and scripts/ops.sh run against the stack under test, and
waits on its /healthz."""
import contextlib
import os
import subprocess
import time

import requests

from support.env import BASE, ROOT, UWSGI_PORTS

STACK_SH = os.path.join(ROOT, "scripts", "stack.sh")
OPS_SH = os.path.join(ROOT, "scripts", "ops.sh")


def stack(*args, env=None):
    """scripts/stack.sh with the stack's environment (DF_VAR and the ports
    are in os.environ), or env instead."""
    return subprocess.run([STACK_SH, *args], check=True, capture_output=True, text=True, timeout=120, env=env)


def ops(*args):
    """scripts/ops.sh (the operator's commands) against the stack."""
    return subprocess.run([OPS_SH, *args], check=True, capture_output=True, text=True, timeout=180)


def health():
    """(status, JSON body) of one /healthz through nginx."""
    r = requests.get(BASE + "/healthz", timeout=10)
    return r.status_code, r.json()


def wait_health(expect_status, expect_body, seconds=20):
    """Polls /healthz until it answers expect_status with expect_body (bounded)."""
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        last = health()
        if last == (expect_status, expect_body):
            return last
        time.sleep(0.2)
    raise AssertionError(f"healthz stayed {last}, wanted {(expect_status, expect_body)}")


def wait_healthy(timeout=20):
    """Polls /healthz through nginx until every instance answers (bounded)."""
    deadline = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < deadline:
        try:
            ok = ok + 1 if requests.get(BASE + "/healthz", timeout=2).status_code == 200 else 0
        except requests.RequestException:
            ok = 0
        if ok >= 2 * len(UWSGI_PORTS):  # nginx round-robins: each instance answered
            return
        time.sleep(0.05)
    raise AssertionError("the stack did not answer /healthz within %d s" % timeout)


@contextlib.contextmanager
def uwsgi_options(*args):
    """Restarts every uWSGI instance with extra options for the duration of
    the block, then restarts them as configured."""
    try:
        stack("stop-uwsgi")
        stack("start-uwsgi", env=dict(os.environ, DF_UWSGI_ARGS=" ".join(args)))
        wait_healthy()
        yield
    finally:
        stack("stop-uwsgi")
        stack("start-uwsgi")
        wait_healthy()
