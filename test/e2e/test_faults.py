"""Backends going away and coming back, instances dying: the stack answers
503 naming what is down, no worker crashes, and it recovers by itself.
(Marked destructive, so run last: it stops, kills and restarts the stack's
servers.)"""
import os
import subprocess
import time

import pytest
import requests

from support import uwsgi
from support.env import BASE, UWSGI_PORTS
from support.stack import health, stack, wait_health

pytestmark = pytest.mark.destructive


def test_redis_down_then_back(no_worker_deaths, same_instances):
    wait_health(200, {"redis": "ok", "mysql": "ok"})
    stack("stop-redis")
    try:
        for _ in range(10):  # every worker and thread gets to see it
            assert health() == (503, {"redis": "down", "mysql": "ok"})
    finally:
        stack("start-redis")
    wait_health(200, {"redis": "ok", "mysql": "ok"})
    # after recovery every request succeeds: stale connections were replaced
    for _ in range(20):
        assert health() == (200, {"redis": "ok", "mysql": "ok"})


def test_mysql_down_then_back(no_worker_deaths, same_instances):
    wait_health(200, {"redis": "ok", "mysql": "ok"})
    stack("stop-mysql")
    try:
        for _ in range(10):
            assert health() == (503, {"redis": "ok", "mysql": "down"})
    finally:
        stack("start-mysql")
    wait_health(200, {"redis": "ok", "mysql": "ok"}, seconds=40)
    for _ in range(20):
        assert health() == (200, {"redis": "ok", "mysql": "ok"})


def test_one_instance_killed_other_serves():
    port = UWSGI_PORTS[0]
    pidfile = uwsgi.pidfile(port)
    # the hard way: master and workers vanish without a goodbye
    # (uwsgi.ini names every process of an instance "dailyfresh-<port> ...")
    killed = subprocess.run(["pkill", "-9", "-f", f"^dailyfresh-{port} "]).returncode
    assert killed == 0
    time.sleep(0.3)
    try:
        codes = [requests.get(BASE + "/healthz", timeout=10).status_code for _ in range(30)]
        assert codes == [200] * 30
    finally:
        os.unlink(pidfile)
        stack("start-uwsgi")
    wait_health(200, {"redis": "ok", "mysql": "ok"})


def test_all_instances_down_is_json_503():
    stack("stop-uwsgi")
    try:
        r = requests.get(BASE + "/healthz", timeout=10)
        assert r.status_code == 503
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.json() == {"error": "service unavailable"}
    finally:
        stack("start-uwsgi")
    wait_health(200, {"redis": "ok", "mysql": "ok"})
