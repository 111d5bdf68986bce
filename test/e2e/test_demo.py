"""The demo account of schema/demo.sql: demo / dailyfresh logs in through
the API, its stored hash is Django's, it has a default address, and loading
demo.sql again changes nothing."""
import os
import subprocess

from support.backends import sql
from support.env import MYSQL_SOCK, ROOT
from support.users import django_verify

DEMO_USER = "demo"
DEMO_PASSWORD = "dailyfresh"  # as README.md and `make run` say


def test_demo_user_logs_in(client):
    r = client.post_form("/user/login", {"username": DEMO_USER, "pwd": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["res"] == 5 and res["username"] == DEMO_USER, res
    assert "sessionid" in client.cookies


def test_demo_user_hash_and_default_address():
    rows = sql("SELECT id, password, email, is_active, is_delete FROM df_user WHERE username = @p0", DEMO_USER)
    assert len(rows) == 1
    uid, encoded, email, active, deleted = rows[0]
    assert encoded.startswith("pbkdf2_sha256$260000$")
    assert django_verify(DEMO_PASSWORD, encoded)
    assert (email, active, deleted) == ("demo@example.com", "1", "0")
    assert sql("SELECT COUNT(*) FROM df_address WHERE user_id = @p0 AND is_default = 1 AND is_delete = 0",
               uid) == [["1"]]


def test_demo_sql_loads_again_without_change():
    before = sql("SELECT (SELECT COUNT(*) FROM df_user WHERE username = 'demo'), "
                 "(SELECT COUNT(*) FROM df_address a JOIN df_user u ON u.id = a.user_id WHERE u.username = 'demo')")
    with open(os.path.join(ROOT, "schema", "demo.sql"), "rb") as f:
        subprocess.run(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "dailyfresh"],
                       stdin=f, check=True, capture_output=True, timeout=60)
    after = sql("SELECT (SELECT COUNT(*) FROM df_user WHERE username = 'demo'), "
                "(SELECT COUNT(*) FROM df_address a JOIN df_user u ON u.id = a.user_id WHERE u.username = 'demo')")
    assert before == after == [["1", "1"]]
