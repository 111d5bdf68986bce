"""Start-up validation: a bad or misspelt option stops an instance at once
with one clear log line, instead of failing later under traffic."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from support.env import ALIPAY_DIR, ROOT


@pytest.fixture
def tmp_path():
    """The instance's state directory, and where its key files are: not
    pytest's own, which is closed to other users, for an instance started
    as root reads its options' files as dailyfresh."""
    d = tempfile.mkdtemp(prefix="dailyfresh-startup-test.", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_instance(tmp_path, *extra, env_extra=None, started=None):
    """Starts uwsgi.ini with extra arguments (and env_extra in its
    environment); waits until it stopped on a bad option, or until its log
    holds the text started. (text, alive); a live instance is stopped
    before returning."""
    (tmp_path / "run" / "uwsgi").mkdir(parents=True, exist_ok=True)
    (tmp_path / "log").mkdir(exist_ok=True)
    port = free_port()
    env = dict(os.environ, DF_VAR=str(tmp_path), DF_PORT=str(port), **(env_extra or {}))
    if os.environ.get("SANITIZE") == "1":
        # the plugin was built with ASan/UBSan: their runtimes load first (as scripts/stack.sh does)
        libs = [subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
                for lib in ("libasan.so", "libubsan.so")]
        env.update(LD_PRELOAD=" ".join(libs), ASAN_OPTIONS="detect_leaks=0:suppressions="
                   + os.path.join(ROOT, "test", "asan.supp"))
    launch = subprocess.run(["uwsgi", "--ini", os.path.join(ROOT, "uwsgi.ini"), *extra], env=env,
                            capture_output=True, text=True, timeout=30)
    log = tmp_path / "log" / f"uwsgi-{port}.log"
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        # errors before daemonizing go to the launching terminal, later ones to the log
        text = launch.stdout + launch.stderr + (log.read_text(errors="replace") if log.exists() else "")
        alive = subprocess.run(["pgrep", "-f", f"^dailyfresh-{port} "], capture_output=True).returncode == 0
        if not alive and ("bad option" in text or "unrecognized option" in text):
            break
        if started and started in text:
            break
        time.sleep(0.2)
    alive = subprocess.run(["pgrep", "-f", f"^dailyfresh-{port} "], capture_output=True).returncode == 0
    if alive and started:
        stop_instance(tmp_path, port)
    return text, alive


def stop_instance(tmp_path, port):
    pidfile = tmp_path / "run" / f"uwsgi-{port}.pid"
    subprocess.run(["uwsgi", "--stop", str(pidfile)], capture_output=True, timeout=10)
    deadline = time.time() + 20
    while time.time() < deadline:
        if subprocess.run(["pgrep", "-f", f"^dailyfresh-{port} "], capture_output=True).returncode != 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"instance {port} did not stop")


def test_bad_value_stops_startup(tmp_path):
    text, alive = start_instance(tmp_path, "--dailyfresh-mysql-port", "70000")
    assert "dailyfresh: bad option: dailyfresh-mysql-port: '70000' is not a whole number from 1 to 65535" in text
    assert not alive


def test_bad_redis_address_stops_startup(tmp_path):
    text, alive = start_instance(tmp_path, "--dailyfresh-redis", "nohostport")
    assert "dailyfresh: bad option: dailyfresh-redis: 'nohostport' is not host:port or unix:/path" in text
    assert not alive


def test_bad_sentinel_list_stops_startup(tmp_path):
    text, alive = start_instance(tmp_path, "--dailyfresh-redis-sentinels", "127.0.0.1:26379,127.0.0.1")
    assert ("dailyfresh: bad option: dailyfresh-redis-sentinels: '127.0.0.1' is not host:port"
            " (in '127.0.0.1:26379,127.0.0.1')") in text
    assert not alive


def test_redis_env_hooks_reach_the_options(tmp_path):
    """uwsgi.ini takes DF_REDIS, DF_REDIS_SENTINELS and DF_REDIS_MASTER_NAME
    from the environment: each bad value is the option's own error."""
    text, alive = start_instance(tmp_path, env_extra={"DF_REDIS": "nohostport"})
    assert "dailyfresh: bad option: dailyfresh-redis: 'nohostport' is not host:port or unix:/path" in text
    assert not alive
    text, alive = start_instance(tmp_path, env_extra={"DF_REDIS_SENTINELS": "127.0.0.1:26379,,127.0.0.2:26379"})
    assert "dailyfresh: bad option: dailyfresh-redis-sentinels: '' is not host:port" in text
    assert not alive
    text, alive = start_instance(tmp_path, env_extra={"DF_REDIS_SENTINELS": "127.0.0.1:26379",
                                                      "DF_REDIS_MASTER_NAME": ""})
    assert "dailyfresh-redis-master-name must not be empty" in text
    assert not alive


def test_misspelt_option_is_an_error(tmp_path):
    text, alive = start_instance(tmp_path, "--dailyfresh-mysql-prot", "1")
    assert "unrecognized option '--dailyfresh-mysql-prot'" in text
    assert not alive


def test_misspelt_ini_key_is_an_error(tmp_path):
    ini = tmp_path / "extra.ini"
    ini.write_text("[uwsgi]\ndailyfresh-redis-pol = 3\n")
    text, alive = start_instance(tmp_path, "--ini", str(ini))
    assert "dailyfresh-redis-pol" in text
    assert not alive


def test_payment_keys_are_checked_at_startup(tmp_path):
    keys = ALIPAY_DIR
    good = ["--dailyfresh-alipay-app-id", "2021000000000001",
            "--dailyfresh-alipay-public-key", os.path.join(keys, "alipay_public.pem"),
            "--dailyfresh-alipay-notify-url", "http://127.0.0.1/order/notify"]
    missing = str(tmp_path / "nope.pem")
    text, alive = start_instance(tmp_path, *good, "--dailyfresh-alipay-app-private-key", missing)
    assert "dailyfresh: bad option: dailyfresh-alipay-app-private-key: " in text, text[-2000:]
    assert f"{missing}: No such file or directory" in text
    assert not alive
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    text, alive = start_instance(tmp_path, *good, "--dailyfresh-alipay-app-private-key", str(garbage))
    line = next(ln for ln in text.splitlines() if "bad option: dailyfresh-alipay-app-private-key" in ln)
    assert str(garbage) in line
    assert not alive
    text, alive = start_instance(tmp_path, "--dailyfresh-alipay-app-id", "2021000000000001")
    assert "dailyfresh-alipay-app-id is set: dailyfresh-alipay-app-private-key" in text
    assert not alive


def test_bad_mysql_hosts_stop_startup(tmp_path):
    text, alive = start_instance(tmp_path, "--dailyfresh-mysql-hosts", "db1:3306,,db2")
    assert "dailyfresh: bad option: dailyfresh-mysql-hosts: 'db1:3306,,db2' has an empty entry" in text
    assert not alive
    # DF_MYSQL_HOSTS reaches the option through uwsgi.ini
    text, alive = start_instance(tmp_path, env_extra={"DF_MYSQL_HOSTS": "db1:99999"}, started="dailyfresh: redis ")
    assert "dailyfresh: bad option: dailyfresh-mysql-hosts: 'db1:99999' has a port that is not a number" in text
    assert not alive


def test_mysql_hosts_env_replaces_the_socket(tmp_path):
    """DF_MYSQL_HOSTS set: the instance uses the node list, not the unix
    socket uwsgi.ini sets by default (no node needs to be up to start)."""
    hosts = "127.0.0.1:3391, 127.0.0.1:3392"
    text, alive = start_instance(tmp_path, env_extra={"DF_MYSQL_HOSTS": hosts}, started="dailyfresh: redis ")
    assert alive, text[-2000:]
    assert f"mysql {hosts}/dailyfresh," in text, text[-2000:]
    assert "mysqld.sock" not in text
    text, alive = start_instance(tmp_path, started="dailyfresh: redis ")
    assert alive, text[-2000:]
    assert f"mysql {tmp_path}/run/mysqld/mysqld.sock/dailyfresh," in text, text[-2000:]


def test_startup_log_names_the_sentinels(tmp_path):
    """With sentinels set, the instance's log says where it looks for Redis:
    the master's name and the sentinels, not the address it no longer uses."""
    text, alive = start_instance(
        tmp_path, env_extra={"DF_REDIS_SENTINELS": "127.0.0.1:1, 127.0.0.1:2", "DF_REDIS_MASTER_NAME": "shop"},
        started="dailyfresh: redis ")
    assert alive, text[-2000:]
    assert "dailyfresh: redis master 'shop' of sentinels 127.0.0.1:1, 127.0.0.1:2, mysql " in text, text[-2000:]
