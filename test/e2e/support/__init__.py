"""Helpers for the end-to-end tests, one module per concern:

  env       where the stack under test is (DF_BASE_URL, DF_VAR, ...)
  backends  redis() and sql() straight at its Redis and MariaDB
  uwsgi     its instances' logs, pidfiles and processes
  stack     scripts/stack.sh, /healthz waits, instances restarted with options
  http      Client, a browser-like HTTP client
  gateway   the local Alipay gateway's test controls
  cart, orders, payment, users   the shop's objects made and read directly
  private_stack  the stack conftest.py starts when DF_BASE_URL is unset

Every module but private_stack reads the environment (support.env) when
first imported, which is when the test modules are collected: conftest.py's
pytest_configure has pointed it at the stack under test by then."""
