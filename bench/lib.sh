# Sourced by the bench scripts: a private stack on free ports (temporary
# state, torn down whatever happens), a logged-in bench user, and wrk runs.
# After bench_stack_start: BASE, VAR, DF_BENCH_COOKIE, DF_BENCH_CSRF, BENCH_UID.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f build/dailyfresh_plugin.so ] || { echo "bench: build first: make" >&2; exit 1; }

sqlq() { mariadb --no-defaults --socket="$VAR/run/mysqld/mysqld.sock" -uroot -N -B dailyfresh -e "$1"; }
rcli() { redis-cli -s "$VAR/run/redis/redis.sock" "$@"; }

bench_cleanup() {
    scripts/stack.sh stop >"$ROOT/build/bench-stack-stop.log" 2>&1 || true
    rm -rf "$VAR"
}

bench_stack_start() {
    read -r HTTP_PORT U1 U2 ALIPAY_PORT <<<"$("$PY" - <<'PY'
import socket
socks = []
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)"
    VAR=$(mktemp -d /tmp/dailyfresh-bench.XXXXXX)
    export DF_VAR=$VAR DF_HTTP_PORT=$HTTP_PORT DF_UWSGI_PORTS="$U1 $U2" DF_ALIPAY_PORT=$ALIPAY_PORT
    # wrk sends from one address: nginx's per-address limits would measure
    # themselves, not the shop
    export DF_LIMIT_LOGIN_RATE=100000r/s DF_LIMIT_REGISTER_RATE=100000r/s DF_LIMIT_COMMIT_RATE=100000r/s \
        DF_LIMIT_LOGIN_BURST=100000 DF_LIMIT_REGISTER_BURST=100000 DF_LIMIT_COMMIT_BURST=100000
    unset DF_ALIPAY_GATEWAY
    BASE="http://127.0.0.1:$HTTP_PORT"
    trap bench_cleanup EXIT
    echo "== private stack on 127.0.0.1:$HTTP_PORT (uWSGI $U1 $U2, state $VAR)"
    scripts/stack.sh start || exit 1

    # one user, logged in once: a session in Redis as the login would store it
    BENCH_UID=$(sqlq "INSERT INTO df_user (password, username, email, is_active, date_joined, create_time, update_time)
                VALUES ('x', 'bench', 'bench@localhost', 1, NOW(6), NOW(6), NOW(6)); SELECT LAST_INSERT_ID();")
    local sid csrf
    sid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    csrf=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    rcli SET "session_$sid" "$BENCH_UID" EX 3600 >/dev/null
    export DF_BENCH_COOKIE="sessionid=$sid; csrftoken=$csrf" DF_BENCH_CSRF=$csrf
}

# wrk_run ROUTE CONNS SECONDS: ROUTE is notfound (a path answered by the
# plugin's JSON 404, touching no backend) or cart_add (SKU $SKU, count 1).
wrk_run() {
    if [ "$1" = cart_add ]; then
        DF_BENCH_METHOD=POST DF_BENCH_BODY="sku_id=$SKU&count=1" DF_BENCH_STATUS=200 DF_BENCH_EXPECT='"res":5' \
            wrk -t2 -c"$2" -d"${3}s" -s bench/req.lua "$BASE/cart/add"
    else
        DF_BENCH_METHOD=GET DF_BENCH_BODY="" DF_BENCH_STATUS=404 DF_BENCH_EXPECT="" \
            wrk -t2 -c"$2" -d"${3}s" -s bench/req.lua "$BASE/bench/no-such-route"
    fi
}

# field NAME "RESULT ..." line from bench/req.lua or bench/order.lua
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
