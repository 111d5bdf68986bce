"""The stack a hand-run pytest starts for itself (conftest.py, when
DF_BASE_URL is unset): scripts/stack.sh on free ports of 127.0.0.1 with a
temporary state directory under /tmp, set up as scripts/test.sh sets up its
own, and torn down with the directory at the end. A developer's `make run`
stack (var/, port 8000) is never reached: nothing here defaults to it."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

# the suites log in, register and order far faster than a person: nginx's
# per-address limits are raised out of their way, as scripts/test.sh does
LIMITS = {f"DF_LIMIT_{zone}_{what}": value for zone in ("LOGIN", "REGISTER", "COMMIT")
          for what, value in (("RATE", "100000r/s"), ("BURST", "100000"))}
# the private stack pays at its own local Alipay gateway, never at a real one
REAL_GATEWAY = ("DF_ALIPAY_GATEWAY", "DF_ALIPAY_APP_ID", "DF_ALIPAY_APP_PRIVATE_KEY", "DF_ALIPAY_PUBLIC_KEY",
                "DF_ALIPAY_NOTIFY_URL", "DF_ALIPAY_RETURN_URL")
# another stack's settings a shell may still hold: never passed on
OTHER_STACK = ("DF_UWSGI_HOST", "DF_UWSGI_ARGS", "DF_TEST_REDIS_SOCK", "DF_TEST_MYSQL_SOCK", "DF_REDIS",
               "DF_REDIS_SENTINELS", "DF_REDIS_MASTER_NAME")
START_S = 300  # stack.sh's own waits are bounded; this bounds all of them
STOP_S = 180


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class PrivateStack:
    def __init__(self, root):
        self.root = root
        self.stack_sh = os.path.join(root, "scripts", "stack.sh")
        self.var = None

    def _run(self, *args, timeout):
        return subprocess.run([self.stack_sh, *args], capture_output=True, text=True, timeout=timeout)

    def start(self):
        """Starts the stack and points os.environ (which support.env and
        every stack.sh call of the tests read) at it."""
        self.var = tempfile.mkdtemp(prefix="dailyfresh-e2e.", dir="/tmp")
        http, u1, u2, alipay = free_ports(4)
        for name in REAL_GATEWAY + OTHER_STACK:
            os.environ.pop(name, None)
        os.environ.update(LIMITS)
        os.environ.update(DF_ROOT=self.root, DF_VAR=self.var, DF_HTTP_PORT=str(http),
                          DF_UWSGI_PORTS=f"{u1} {u2}", DF_ALIPAY_PORT=str(alipay))
        print(f"private stack on 127.0.0.1:{http} (uWSGI {u1} {u2}, Alipay gateway {alipay}, state {self.var})",
              file=sys.stderr)
        try:
            run = self._run("start", timeout=START_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError(f"scripts/stack.sh start did not finish within {START_S} s")
        if run.returncode != 0:
            # stack.sh stopped what it started; its message names the log
            self.stop()
            raise RuntimeError("scripts/stack.sh start failed:\n" + run.stderr[-4000:])
        os.environ.update(DF_BASE_URL=f"http://127.0.0.1:{http}", DF_ALIPAY_URL=f"http://127.0.0.1:{alipay}")

    def stop(self):
        """Stops every server of the stack and removes its directory."""
        if self.var is None:
            return
        try:
            run = self._run("stop", timeout=STOP_S)
            if run.returncode != 0:
                print("scripts/stack.sh stop: " + run.stderr[-2000:], file=sys.stderr)
        finally:
            shutil.rmtree(self.var, ignore_errors=True)
            self.var = None
