"""The stack's Redis and MariaDB, reached through their sockets for setting
up and checking state."""
import base64
import subprocess

from support.env import MYSQL_SOCK, REDIS_SOCK


def redis(*args):
    """Runs one redis-cli command against the stack's Redis; returns stdout."""
    out = subprocess.run(["redis-cli", "-s", REDIS_SOCK, *[str(a) for a in args]],
                         check=True, capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def sql(statement, *params):
    """Runs SQL as root on the stack's MariaDB; returns rows as lists of str.
    Parameters are passed as user variables, never pasted into the text."""
    sets = "".join(f"SET @p{i} = FROM_BASE64('{_b64(p)}');" for i, p in enumerate(params))
    out = subprocess.run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "-N", "-B",
                          "dailyfresh", "-e", sets + statement],
                         check=True, capture_output=True, text=True, timeout=30)
    return [line.split("\t") for line in out.stdout.splitlines()]


def _b64(value):
    return base64.b64encode(str(value).encode()).decode()
