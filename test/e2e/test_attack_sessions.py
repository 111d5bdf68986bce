"""A login costs Redis a few steps however many sessions the account has.
Sessions are listed in the sorted set user_sessions_by_expiry_<uid>, scored
by expiry: a login trims a few expired entries, moves a few ids of the set
the shop kept before (user_sessions_<uid>) and, past
dailyfresh-max-sessions-per-user (50), ends a few of the sessions that
expire first. The login script used to walk the whole set: with 200,000
live sessions on one account every login blocked Redis for ~0.5 s."""
import concurrent.futures
import contextlib
import json
import subprocess
import threading
import time
import uuid

from support.backends import redis
from support.env import REDIS_SOCK
from support.http import Client, unique_name
from support.stack import ops
from support.users import PASSWORD, django_hash, insert_user, login
from test_security import LOGIN_FIRST

SEEDED = 200_000
SEED_BATCH = 10_000
MAX_SESSIONS = 50   # dailyfresh-max-sessions-per-user default
STEP = 16           # entries a login trims, moves or ends at most (lib/session.c)
SLOW_US = 50_000    # SLOWLOG threshold: 50 ms, a tenth of the old walk, five times a stall of a busy 2-core box
LOGIN_CLIENTS = 4
LOGINS_PER_CLIENT = 150
WINDOW_S = 12       # the old code takes half a second a login: it stops here
END_SEEDED = 20_000

SEED = """
local uid, base, n, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = base, base + n - 1 do
  local sid = ARGV[5] .. string.format('%016x', i)
  redis.call('SET', 'session_' .. sid, uid, 'EX', 3600)
  redis.call('ZADD', KEYS[1], now + 3600000, sid)
  redis.call('SADD', KEYS[2], sid)
end
return n"""


def cheap_user():
    """A user whose password hash has few iterations: logins cost the shop
    little CPU, so they come as fast as Redis lets them. (name, uid)"""
    name = unique_name("s")
    return name, insert_user(name, django_hash(PASSWORD, iterations=1000), email="s@example.com")


def seed_sessions(uid, n):
    """n live sessions of uid, listed in the index and in the old set (as
    a shop that ran the previous version would have them)."""
    prefix = uuid.uuid4().hex[:16]
    now_ms = int(time.time() * 1000)
    for base in range(0, n, SEED_BATCH):
        redis("EVAL", SEED, 2, f"user_sessions_by_expiry_{uid}", f"user_sessions_{uid}",
              uid, base, min(SEED_BATCH, n - base), now_ms, prefix)
    return [prefix + "%016x" % i for i in (0, n // 2, n - 1)]


def slowlog():
    """[(duration µs, command words)] of the SLOWLOG."""
    out = subprocess.run(["redis-cli", "-s", REDIS_SOCK, "--json", "SLOWLOG", "GET", "1000"], check=True,
                         capture_output=True, text=True, timeout=10).stdout
    return [(e[2], " ".join(str(a) for a in e[3])[:80]) for e in json.loads(out or "[]")]


@contextlib.contextmanager
def slowlog_from_now():
    """SLOWLOG at SLOW_US, emptied; the stack's setting is put back after."""
    saved = redis("CONFIG", "GET", "slowlog-log-slower-than").split()[1]
    redis("CONFIG", "SET", "slowlog-log-slower-than", SLOW_US)
    redis("SLOWLOG", "RESET")
    try:
        yield
    finally:
        redis("CONFIG", "SET", "slowlog-log-slower-than", saved)


def test_logins_stay_fast_with_200000_sessions_on_one_account():
    name, uid = cheap_user()
    sample = seed_sessions(uid, SEEDED)
    assert redis("ZCARD", f"user_sessions_by_expiry_{uid}") == str(SEEDED)
    readers = []
    for _ in range(2):
        other_name, _ = cheap_user()
        c = Client()
        assert login(c, other_name)["res"] == 5
        readers.append(c)
    done = threading.Event()
    logins, reads = [], []

    def log_in_again():
        c = Client()
        deadline = time.monotonic() + WINDOW_S
        for _ in range(LOGINS_PER_CLIENT):
            if time.monotonic() > deadline:
                break
            c.cookies.clear()
            r = c.post_form("/user/login", {"username": name, "pwd": PASSWORD})
            logins.append(r.json()["res"] if r.status_code == 200 else r.status_code)

    def read():
        i = 0
        while not done.is_set():
            c = readers[i % len(readers)]
            i += 1
            for path in ("/api/user/info", "/api/cart/count"):
                reads.append(c.get_json(path).status_code)

    try:
        with slowlog_from_now():
            with concurrent.futures.ThreadPoolExecutor(LOGIN_CLIENTS + 2) as pool:
                reading = [pool.submit(read) for _ in range(2)]
                for f in [pool.submit(log_in_again) for _ in range(LOGIN_CLIENTS)]:
                    f.result()
                done.set()
                for f in reading:
                    f.result()
            slow = slowlog()
        # the index shrank by a few entries a login, the old set likewise
        left = int(redis("ZCARD", f"user_sessions_by_expiry_{uid}"))
        old_left = int(redis("SCARD", f"user_sessions_{uid}"))
    finally:
        done.set()
        out = ops("end-sessions", str(uid))
    failed_reads = sum(1 for x in reads if x != 200)
    print(f"logins: {len(logins)}, reads: {len(reads)} ({failed_reads} not 200), index {SEEDED} -> {left}, "
          f"old set {SEEDED} -> {old_left}; slowlog: {len(slow)} entries {slow[:5]}")
    assert slow == [], slow[:10]
    assert len(logins) == LOGIN_CLIENTS * LOGINS_PER_CLIENT and set(logins) == {5}, \
        {(x, logins.count(x)) for x in set(logins)}
    assert reads and set(reads) == {200}, {(x, reads.count(x)) for x in set(reads)}
    assert readers[0].get_json("/api/user/info").json()["res"] != LOGIN_FIRST["res"]
    assert SEEDED - left >= len(logins) * (STEP - 1), (len(logins), left)
    assert old_left == SEEDED - len(logins) * STEP, (len(logins), old_left)
    # end-sessions ended the rest: every live session is in the index
    assert f"ended {left} session(s) of user {uid}" in out.stdout, out.stdout
    assert redis("EXISTS", f"user_sessions_by_expiry_{uid}", f"user_sessions_{uid}") == "0"
    assert redis("EXISTS", *["session_" + sid for sid in sample]) == "0"


def test_end_sessions_ends_many_sessions_in_short_steps():
    name, uid = cheap_user()
    sample = seed_sessions(uid, END_SEEDED)
    with slowlog_from_now():
        out = ops("end-sessions", str(uid))
        slow = slowlog()
    print(f"end-sessions of {END_SEEDED}: {out.stdout.strip()}; slowlog: {len(slow)} entries {slow[:5]}")
    assert slow == [], slow[:10]
    assert "ended %d session(s) of user %d" % (END_SEEDED, uid) in out.stdout
    assert redis("EXISTS", f"user_sessions_by_expiry_{uid}", f"user_sessions_{uid}") == "0"
    assert redis("EXISTS", *["session_" + sid for sid in sample]) == "0"
    assert login(Client(), name)["res"] == 5


def test_past_the_cap_a_login_ends_the_sessions_that_expire_first():
    name, uid = cheap_user()
    clients = []
    for _ in range(MAX_SESSIONS + 2):
        c = Client()
        assert login(c, name)["res"] == 5
        clients.append(c)
    assert redis("ZCARD", f"user_sessions_by_expiry_{uid}") == str(MAX_SESSIONS)
    for c in clients[:2]:
        assert c.get_json("/api/user/info").json() == LOGIN_FIRST
    for c in (clients[2], clients[-1]):
        assert c.get_json("/api/user/info").json()["user"]["username"] == name
    # a remembered session outlives the short ones: they go first
    keeper = Client()
    assert login(keeper, name, remember="on")["res"] == 5
    for _ in range(MAX_SESSIONS):
        assert login(Client(), name)["res"] == 5
    assert keeper.get_json("/api/user/info").json()["user"]["username"] == name
    assert clients[-1].get_json("/api/user/info").json() == LOGIN_FIRST
    assert "ended %d session(s)" % MAX_SESSIONS in ops("end-sessions", str(uid)).stdout


def test_sessions_listed_by_the_old_shop_move_over_and_end_together():
    name, uid = cheap_user()
    old = Client()
    assert login(old, name)["res"] == 5
    sid = old.cookies["sessionid"]
    # as the previous version kept it: a plain set, with ids of expired sessions
    redis("DEL", f"user_sessions_by_expiry_{uid}")
    dead = [uuid.uuid4().hex for _ in range(3)]
    redis("SADD", f"user_sessions_{uid}", sid, *dead)
    new = Client()
    assert login(new, name)["res"] == 5
    listed = redis("ZRANGE", f"user_sessions_by_expiry_{uid}", 0, -1, "WITHSCORES").split()
    scores = dict(zip(listed[::2], listed[1::2]))
    assert set(scores) == {sid, new.cookies["sessionid"]}
    # the moved session keeps its own expiry
    expires_ms = int(float(scores[sid]))
    assert abs(expires_ms - (time.time() * 1000 + int(redis("PTTL", "session_" + sid)))) < 5000
    assert redis("EXISTS", f"user_sessions_{uid}") == "0"
    # a logout leaves no id behind; end-sessions ends the rest, old or new
    assert new.post_form("/user/logout").json()["res"] == 1
    assert redis("ZRANGE", f"user_sessions_by_expiry_{uid}", 0, -1) == sid
    redis("SADD", f"user_sessions_{uid}", sid)  # still in an old set too: ended once
    assert "ended 1 session(s) of user %d" % uid in ops("end-sessions", str(uid)).stdout
    assert old.get_json("/api/user/info").json() == LOGIN_FIRST
