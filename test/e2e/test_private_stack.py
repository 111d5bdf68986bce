"""A hand-run pytest (no DF_BASE_URL) starts a stack of its own and leaves
every other stack alone: a test that stops Redis, run that way beside this
suite's stack, stops only its own stack's Redis, and the private stack is
gone afterwards, its state directory with it."""
import os
import re
import subprocess
import sys

import requests

from support import uwsgi
from support.env import BASE, ROOT, VAR

INNER = "test/e2e/test_faults.py::test_redis_down_then_back"  # stops and starts Redis


def server_pids():
    pids = {}
    for name in ("redis/redis.pid", "mysqld/mysqld.pid", "nginx.pid", "alipay-gateway.pid"):
        with open(os.path.join(VAR, "run", name)) as f:
            pids[name] = int(f.read().strip())
    pids.update(uwsgi.master_pids())
    return pids


def test_hand_run_pytest_leaves_other_stacks_alone():
    before = server_pids()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DF_") and k != "PYTEST_ADDOPTS"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", INNER], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "1 passed" in out, out[-3000:]
    private = re.search(r"private stack on 127\.0\.0\.1:(\d+) .*state (/tmp/dailyfresh-e2e\.\S+)\)", out)
    assert private, out[-3000:]
    assert BASE != f"http://127.0.0.1:{private.group(1)}"
    assert not os.path.exists(private.group(2))
    # this suite's stack: the same servers, still answering
    assert server_pids() == before
    assert requests.get(BASE + "/healthz", timeout=10).json() == {"redis": "ok", "mysql": "ok"}
    # and nothing of the private stack still runs
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert private.group(2) not in ps
