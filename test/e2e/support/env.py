"""Where the stack under test is: DF_BASE_URL (nginx), DF_VAR (its state
directory), DF_UWSGI_PORTS (its instances' names), DF_ALIPAY_URL (the local
Alipay gateway). scripts/test.sh sets them for the stack it started, or
conftest.py for the private stack it starts; there are no defaults, so no
test can reach a stack it was not given."""
import os


def _required(name):
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: the end-to-end tests run against the stack conftest.py starts "
                           "(or scripts/test.sh's), never a default one")
    return value


ROOT = os.environ.get("DF_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BASE = _required("DF_BASE_URL")
VAR = _required("DF_VAR")
UWSGI_PORTS = _required("DF_UWSGI_PORTS").split()
GATEWAY = _required("DF_ALIPAY_URL")  # the local Alipay gateway
ALIPAY_DIR = os.path.join(VAR, "alipay")  # its keys and app id
REDIS_SOCK = os.path.join(VAR, "run", "redis", "redis.sock")
MYSQL_SOCK = os.path.join(VAR, "run", "mysqld", "mysqld.sock")
