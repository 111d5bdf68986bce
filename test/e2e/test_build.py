"""The newcomer's path: `make run` on a machine where uwsgi appears only
while make runs (scripts/deps.sh installs it), a build without uwsgi, a
rebuild when uwsgi's flags change, and a plugin that does not match the
uwsgi that loads it, which must stop `make run` quickly and visibly."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from support.env import ROOT

UWSGI = shutil.which("uwsgi")
MAKE_ENV_DROP = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def path_without_uwsgi(tmp_path):
    """A PATH with every command of this machine but uwsgi (Debian's /bin is /usr/bin)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in ("/usr/local/bin", "/usr/bin"):
        for name in os.listdir(d):
            if name.startswith("uwsgi") or (bin_dir / name).exists():
                continue
            (bin_dir / name).symlink_to(os.path.join(d, name))
    shim = tmp_path / "shim"
    shim.mkdir()
    return shim, f"{shim}:{bin_dir}:/usr/local/sbin:/usr/sbin"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROP}
    env.update(extra)
    return env


@pytest.fixture
def var(tmp_path):
    """A state directory for a stack of the test's own. Not under tmp_path:
    pytest's directories are closed to other users, and as root the servers
    run as users of their own that must reach it."""
    d = tempfile.mkdtemp(prefix="dailyfresh-build-test.", dir="/tmp")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def stack_env(var, build):
    http, u1, u2, alipay = free_ports(4)
    return dict(DF_VAR=str(var), DF_HTTP_PORT=str(http), DF_UWSGI_PORTS=f"{u1} {u2}",
                DF_ALIPAY_PORT=str(alipay), DF_BUILD=str(build)), http


def running(var):
    """Pidfiles under var/run (and its servers' directories) whose process is alive."""
    alive = []
    for d, _, files in os.walk(os.path.join(var, "run")):
        for f in files:
            if not f.endswith(".pid"):
                continue
            try:
                pid = int(open(os.path.join(d, f)).read().strip() or 0)
                os.kill(pid, 0)
                alive.append(f)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                pass
    return alive


def stop_stack(env):
    subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), "stop"], env=env, capture_output=True,
                   timeout=120)


@pytest.mark.skipif(not UWSGI, reason="uwsgi is not installed")
def test_make_run_when_uwsgi_arrives_with_deps(tmp_path, var):
    """The exact bug: make read the Makefile before deps had installed uwsgi,
    built the plugin without uWSGI's -D flags, and every worker crash-looped."""
    shim, path = path_without_uwsgi(tmp_path)
    build = tmp_path / "build"
    senv, http = stack_env(var, build)
    # "installing the packages" puts uwsgi on the PATH only now
    env = clean_env(PATH=path, DEPS=f"ln -sf {UWSGI} {shim}/uwsgi", **senv)
    try:
        run = subprocess.run(["make", "-C", ROOT, f"BUILD={build}", "run"], env=env, capture_output=True,
                             text=True, timeout=600)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-4000:]
        assert f"http://127.0.0.1:{http}/" in out
        flags = (build / "uwsgi.cflags").read_text()
        assert "-DUWSGI_SSL" in flags and "-DUWSGI_ROUTING" in flags and "-DUWSGI_PCRE" in flags
        r = requests.get(f"http://127.0.0.1:{http}/healthz", timeout=5)
        assert r.status_code == 200, r.text
        assert requests.get(f"http://127.0.0.1:{http}/api/goods/types", timeout=5).json()["types"]
        time.sleep(1)
        for port in senv["DF_UWSGI_PORTS"].split():
            log = (var / "log" / f"uwsgi-{port}.log").read_text(errors="replace")
            assert "DAMN" not in log and "does not match" not in log, log[-3000:]
    finally:
        stop = subprocess.run(["make", "-C", ROOT, f"BUILD={build}", "stop"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    assert running(var) == []


def test_build_without_uwsgi_fails_in_one_line(tmp_path):
    _, path = path_without_uwsgi(tmp_path)
    build = tmp_path / "build"
    run = subprocess.run(["make", "-C", ROOT, f"BUILD={build}", "all"], env=clean_env(PATH=path),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert "uwsgi is not installed: install the Debian package uwsgi-core" in run.stderr
    assert not (build / "dailyfresh_plugin.so").exists()


@pytest.mark.skipif(not UWSGI, reason="uwsgi is not installed")
def test_other_uwsgi_flags_rebuild_the_plugin(tmp_path):
    shim, path = path_without_uwsgi(tmp_path)
    build = tmp_path / "build"
    wrapper = shim / "uwsgi"

    def use_uwsgi(extra_flag):
        # a uwsgi whose --cflags differ, as another build of uWSGI's would
        wrapper.write_text("#!/bin/sh\n"
                           f"if [ \"$1\" = --cflags ]; then echo \"$({UWSGI} --cflags) {extra_flag}\"; "
                           f"else exec {UWSGI} \"$@\"; fi\n")
        wrapper.chmod(0o755)

    def make():
        run = subprocess.run(["make", "-C", ROOT, f"BUILD={build}", "all"], env=clean_env(PATH=path),
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout

    use_uwsgi("")
    assert "plugin/dailyfresh_plugin.c" in make()
    assert "plugin/dailyfresh_plugin.c" not in make()  # nothing changed: nothing rebuilt
    use_uwsgi("-DDF_OTHER_UWSGI_BUILD")
    out = make()
    assert re.search(r"-c -o \S*plugin/dailyfresh_plugin\.o plugin/dailyfresh_plugin\.c", out), out
    assert "DF_OTHER_UWSGI_BUILD" in (build / "uwsgi.cflags").read_text()


def link_plugin(build, tmp_path, obj_flags, source=None):
    """A dailyfresh_plugin.so in build/, from our objects (or a given source)
    compiled with obj_flags instead of uWSGI's own."""
    build.mkdir(parents=True, exist_ok=True)
    main_build = os.path.join(ROOT, "build")
    cflags = open(os.path.join(main_build, ".cflags")).read().split()
    flags_file = tmp_path / "flags"
    flags_file.write_text("\n".join(obj_flags) + "\n")
    obj = tmp_path / "plugin.o"
    src = source or os.path.join(ROOT, "plugin", "dailyfresh_plugin.c")
    subprocess.run(["gcc", *cflags, f"@{flags_file}", "-isystem", main_build, "-c", "-o", str(obj), src],
                   cwd=ROOT, check=True, timeout=120)
    # the objects of today's sources: a build directory may still hold
    # those of a file since renamed
    objs = [] if source else sorted(
        os.path.join(main_build, d, f) for d in ("handlers", "lib")
        for f in os.listdir(os.path.join(main_build, d))
        if f.endswith(".o") and os.path.exists(os.path.join(ROOT, d, f[:-2] + ".c")))
    san = [f for f in cflags if f.startswith("-fsanitize")]
    subprocess.run(["gcc", "-shared", *san, "-o", str(build / "dailyfresh_plugin.so"), str(obj), *objs,
                    "-lhiredis", "-lmariadb", "-lcjson", "-lssl", "-lcrypto", "-lcurl", "-lpthread"],
                   check=True, timeout=120)


def start_broken(var, build):
    senv, _ = stack_env(var, build)
    env = clean_env(DF_START_TIMEOUT="60", **senv)
    t0 = time.monotonic()
    try:
        run = subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), "start"], env=env, capture_output=True,
                             text=True, timeout=150)
    finally:
        left = running(var)
        stop_stack(env)
    return run, time.monotonic() - t0, left


def without_layout_flags(flags):
    return [f for f in flags if not re.match(r"-DUWSGI_(SSL|ROUTING|PCRE)\b", f)]


def other_version(flags):
    return [re.sub(r'^-DUWSGI_VERSION=.*', r'-DUWSGI_VERSION=\\"2.0.99\\"', f) for f in flags]


@pytest.mark.skipif(not UWSGI, reason="uwsgi is not installed")
@pytest.mark.parametrize("mangle, why", [(without_layout_flags, "init: uwsgi.threads is"),
                                         (other_version, "the running uWSGI is 2.0.21")])
def test_plugin_built_for_another_uwsgi_stops_start(tmp_path, var, mangle, why):
    main_flags = open(os.path.join(ROOT, "build", "uwsgi.cflags")).read().split()
    build = tmp_path / "build"
    link_plugin(build, tmp_path, mangle(main_flags))
    run, took, left = start_broken(var, build)
    assert run.returncode != 0
    assert took < 70
    assert "dailyfresh: the plugin does not match the uwsgi that loaded it" in run.stderr, run.stderr
    assert why in run.stderr
    assert "rebuild it with make clean all" in run.stderr
    assert "stopping what this start started" in run.stderr
    assert left == []


CRASHING_PLUGIN = r"""
#include <uwsgi.h>
#include <stdlib.h>
/* stands for any plugin bug that kills every worker as it starts */
static char *ignored;
#define OPT(name) {name, required_argument, 0, "", uwsgi_opt_set_str, &ignored, 0}
static struct uwsgi_option opts[] = {OPT("dailyfresh-redis"), OPT("dailyfresh-mysql-socket"),
    OPT("dailyfresh-mysql-user"), OPT("dailyfresh-mysql-password"), OPT("dailyfresh-mysql-database"),
    OPT("dailyfresh-alipay-gateway"), OPT("dailyfresh-alipay-app-id"), OPT("dailyfresh-alipay-app-private-key"),
    OPT("dailyfresh-alipay-public-key"), OPT("dailyfresh-alipay-notify-url"), OPT("dailyfresh-alipay-return-url"),
    UWSGI_END_OF_OPTIONS};
static void crash_post_fork(void) { abort(); }
struct uwsgi_plugin dailyfresh_plugin = {.name = "dailyfresh", .modifier1 = 251, .options = opts,
    .post_fork = crash_post_fork};
"""


@pytest.mark.skipif(not UWSGI, reason="uwsgi is not installed")
def test_workers_dying_at_start_fail_fast_with_the_crash(tmp_path, var):
    src = tmp_path / "crash.c"
    src.write_text(CRASHING_PLUGIN)
    build = tmp_path / "build"
    flags = open(os.path.join(ROOT, "build", "uwsgi.cflags")).read().split()
    link_plugin(build, tmp_path, flags, source=str(src))
    run, took, left = start_broken(var, build)
    assert run.returncode != 0
    assert took < 70
    assert "its workers die at start" in run.stderr, run.stderr
    assert "DAMN ! worker" in run.stderr  # the log's last lines show the crash
    assert left == []
