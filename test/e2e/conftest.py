"""End-to-end fixtures and hooks. The helpers are in support/ (support/__init__.py
lists them); the stack under test is scripts/test.sh's (DF_BASE_URL, DF_VAR,
DF_UWSGI_PORTS, DF_ALIPAY_URL, DF_ROOT).

support/ is imported inside the fixtures, not here: its modules read the
environment when first imported."""
import pytest


@pytest.fixture
def gateway():
    """The local Alipay gateway, reset before and after the test."""
    from support.gateway import Gateway
    g = Gateway()
    g.reset()
    yield g
    g.reset()


@pytest.fixture
def client():
    """A browser-like client of the shop (support.http.Client)."""
    from support.http import Client
    c = Client()
    yield c
    c.close()


@pytest.fixture
def no_worker_deaths():
    """No uWSGI worker dies during the test (its master would log "DAMN !
    worker" and respawn it)."""
    from support import uwsgi
    from support.env import UWSGI_PORTS
    marks = {port: uwsgi.log_size(port) for port in UWSGI_PORTS}
    yield
    died = {port: uwsgi.worker_deaths(uwsgi.log_since(port, mark)) for port, mark in marks.items()}
    assert sum(died.values()) == 0, f"a worker died: {died}"


@pytest.fixture
def same_instances():
    """No uWSGI instance is restarted during the test: every master keeps its pid."""
    from support import uwsgi
    masters = uwsgi.master_pids()
    yield
    assert uwsgi.master_pids() == masters, "an instance was restarted"
