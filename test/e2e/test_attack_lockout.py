"""Failed-login counters cannot be reached through a typed name: the
per-address counter (login_fail_addr_<address>/<account>) and the
per-account one (login_fail_user_<account>) have prefixes of their own,
and an address never holds the '/' that ends it. Typing another client's
address into the name field used to hit that client's own counter and
lock the owner out of their account for 15 minutes."""
import uuid

from support import uwsgi
from support.backends import redis
from support.http import Client
from support.users import login, register
from test_security import LOCKED, MAX_FAILURES, WRONG, client_from

VICTIM_ADDR = "127.0.0.41"
ATTACKER_ADDR = "127.0.0.42"


def test_a_typed_address_does_not_lock_the_owner_out():
    name, res = register(Client())
    assert res["res"] == 8, res
    attacker = client_from(ATTACKER_ADDR)
    forged = [f"{VICTIM_ADDR}_{name}", f"{VICTIM_ADDR}/{name}", f"addr_{VICTIM_ADDR}/{name}"]
    try:
        for typed in forged:
            for _ in range(MAX_FAILURES):
                assert login(attacker, typed, "bad-password-" + uuid.uuid4().hex[:6]) == WRONG
            assert login(attacker, typed) == LOCKED  # the attacker's own counter for that name
        # the owner, from the address the names spell, logs in
        owner = client_from(VICTIM_ADDR)
        assert login(owner, name)["res"] == 5
        assert owner.get_json("/api/user/info").json()["user"]["username"] == name
        for typed in forged:
            assert redis("GET", f"login_fail_addr_{ATTACKER_ADDR}/{typed}") == str(MAX_FAILURES)
            assert redis("GET", f"login_fail_user_{typed}") == str(MAX_FAILURES)
        assert redis("EXISTS", f"login_fail_addr_{VICTIM_ADDR}/{name}") == "0"
        assert redis("GET", f"login_fail_user_{name}") in ("", "0")  # the success took its attempt back
        log = uwsgi.logs()
        assert (f"login: {ATTACKER_ADDR} locked out of account '{forged[0]}' for 900 s after {MAX_FAILURES} "
                f"failed logins; counter login_fail_addr_{ATTACKER_ADDR}/{forged[0]}\n") in log
    finally:
        for typed in forged:
            redis("DEL", f"login_fail_addr_{ATTACKER_ADDR}/{typed}", f"login_fail_user_{typed}")


def test_the_lockout_line_names_its_counter_without_raw_text():
    name = "forge\r\n" + uuid.uuid4().hex[:8]
    addr = "127.0.2.9"
    try:
        for _ in range(MAX_FAILURES):
            assert login(client_from(addr), name, "bad-password") == WRONG
        log = uwsgi.logs()
        shown = "forge??" + name[-8:]
        assert f"; counter login_fail_addr_{addr}/{shown}\n" in log
        assert "\r\n" + name[-8:] not in log and "\n" + name[-8:] not in log
    finally:
        redis("DEL", f"login_fail_addr_{addr}/{name}", f"login_fail_user_{name}")
