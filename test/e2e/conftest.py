"""End-to-end fixtures and hooks. The helpers are in support/ (support/__init__.py
lists them).

The stack under test: scripts/test.sh's when DF_BASE_URL is set (it also sets
DF_VAR, DF_UWSGI_PORTS, DF_ALIPAY_URL, DF_ROOT); otherwise a private one that
pytest_configure starts before any test module is collected and
pytest_unconfigure stops, its state directory removed. A hand-run pytest
never reaches a developer's `make run` stack.

support/ is imported inside the fixtures, not here: its modules read the
environment when first imported, once pytest_configure has set it."""
import os

import pytest

from support.private_stack import PrivateStack

PRIVATE_STACK = pytest.StashKey[PrivateStack]()


def pytest_configure(config):
    if os.environ.get("DF_BASE_URL") or config.option.help:
        return
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    stack = PrivateStack(root)
    try:
        stack.start()
    except RuntimeError as e:
        raise pytest.UsageError(f"no private stack for the end-to-end tests: {e}") from None
    config.stash[PRIVATE_STACK] = stack


def pytest_collection_modifyitems(config, items):
    """The tests that stop or kill the stack's servers run after all the
    others, in their collected order."""
    items[:] = ([i for i in items if i.get_closest_marker("destructive") is None]
                + [i for i in items if i.get_closest_marker("destructive") is not None])


def pytest_unconfigure(config):
    stack = config.stash.get(PRIVATE_STACK, None)
    if stack is not None:
        stack.stop()


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
