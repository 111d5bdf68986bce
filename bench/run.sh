#!/usr/bin/env bash
# make bench: POST /cart/add against a route that touches no backend (an
# unknown path, answered by the plugin's JSON 404), through nginx, on a
# private stack (free ports, temporary state, torn down whatever happens).
#
#   DF_BENCH_CONNS="8 32 64"   connection counts (wrk -t2 each)
#   DF_BENCH_SECONDS=10        duration of each measured run
#   DF_BENCH_OUT=path          where the markdown table goes
#                              (default build/bench/results-<time>.md)
# Other work on the machine distorts the numbers: the load average is
# printed with the results; rerun on a quiet machine to compare.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
CONNS=${DF_BENCH_CONNS:-"8 32 64"}
SECS=${DF_BENCH_SECONDS:-10}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${DF_BENCH_OUT:-$ROOT/build/bench/results-$STAMP.md}
SKU=1
mkdir -p "$(dirname "$OUT")"

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f build/dailyfresh_plugin.so ] || { echo "bench: build first: make" >&2; exit 1; }

read -r HTTP_PORT U1 U2 <<<"$("$PY" - <<'PY'
import socket
socks = []
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)"
VAR=$(mktemp -d /tmp/dailyfresh-bench.XXXXXX)
export DF_VAR=$VAR DF_HTTP_PORT=$HTTP_PORT DF_UWSGI_PORTS="$U1 $U2"
BASE="http://127.0.0.1:$HTTP_PORT"

cleanup() {
    scripts/stack.sh stop >"$ROOT/build/bench-stack-stop.log" 2>&1 || true
    rm -rf "$VAR"
}
trap cleanup EXIT

echo "== private stack on 127.0.0.1:$HTTP_PORT (uWSGI $U1 $U2, state $VAR)"
scripts/stack.sh start || { for f in "$VAR"/log/*; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }

sqlq() { mariadb --no-defaults --socket="$VAR/run/mysqld.sock" -uroot -N -B dailyfresh -e "$1"; }
rcli() { redis-cli -s "$VAR/run/redis.sock" "$@"; }

# one user, logged in once: a session in Redis as the login would store it
uid=$(sqlq "INSERT INTO df_user (password, username, email, is_active, date_joined, create_time, update_time)
            VALUES ('x', 'bench', 'bench@localhost', 1, NOW(6), NOW(6), NOW(6)); SELECT LAST_INSERT_ID();")
sid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
csrf=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
rcli SET "session_$sid" "$uid" EX 3600 >/dev/null
# stock high enough that no add is refused during the runs
sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"
export DF_BENCH_COOKIE="sessionid=$sid; csrftoken=$csrf" DF_BENCH_CSRF=$csrf

check=$(curl -s -X POST -H "Cookie: $DF_BENCH_COOKIE" -H "X-CSRFToken: $csrf" -d "sku_id=$SKU&count=1" "$BASE/cart/add")
echo "== one add by hand: $check"
case "$check" in *'"res":5'*) ;; *) echo "bench: /cart/add did not succeed; giving up" >&2; exit 1 ;; esac

run() { # name conns seconds
    local name=$1 c=$2 s=$3
    if [ "$name" = cart_add ]; then
        DF_BENCH_METHOD=POST DF_BENCH_BODY="sku_id=$SKU&count=1" \
            wrk -t2 -c"$c" -d"${s}s" -s bench/cart.lua "$BASE/cart/add"
    else
        DF_BENCH_METHOD=GET DF_BENCH_BODY="" wrk -t2 -c"$c" -d"${s}s" -s bench/cart.lua "$BASE/bench/no-such-route"
    fi
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

echo "== warm-up"
run notfound 8 2 >/dev/null
run cart_add 8 2 >/dev/null
before=$(rcli HGET "cart_$uid" "$SKU")

{
    echo "bench $STAMP: wrk -t2, ${SECS} s per run, nginx -> 2 uWSGI instances (4 workers x 2 threads each)"
    echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| conns | route | req/s | p50 ms | p99 ms | max ms | non-2xx | socket errors/timeouts |"
    echo "|---|---|---|---|---|---|---|---|"
} >"$OUT"
ratios=()
total_adds=0
for c in $CONNS; do
    nf=$(run notfound "$c" "$SECS" | grep '^RESULT')
    ca=$(run cart_add "$c" "$SECS" | grep '^RESULT')
    [ -n "$nf" ] && [ -n "$ca" ] || { echo "bench: wrk gave no result at $c connections" >&2; exit 1; }
    printf '| %s | GET unknown path (404, no backend) | %s | %s | %s | %s | %s (all 404, expected) | %s/%s |\n' "$c" \
        "$(field rps "$nf")" "$(field p50_ms "$nf")" "$(field p99_ms "$nf")" "$(field max_ms "$nf")" \
        "$(field non2xx "$nf")" "$(field socket_errors "$nf")" "$(field timeouts "$nf")" >>"$OUT"
    printf '| %s | POST /cart/add | %s | %s | %s | %s | %s | %s/%s |\n' "$c" \
        "$(field rps "$ca")" "$(field p50_ms "$ca")" "$(field p99_ms "$ca")" "$(field max_ms "$ca")" \
        "$(field non2xx "$ca")" "$(field socket_errors "$ca")" "$(field timeouts "$ca")" >>"$OUT"
    ratios+=("$c: $(awk -v a="$(field rps "$ca")" -v b="$(field rps "$nf")" 'BEGIN { printf "%.0f %%", 100 * a / b }')")
    total_adds=$((total_adds + $(field requests "$ca")))
done
after=$(rcli HGET "cart_$uid" "$SKU")
{
    echo
    echo "/cart/add req/s as a share of the no-backend route's: ${ratios[*]}"
    echo "cart count grew by $((after - before)) for $total_adds adds wrk counted (in-flight requests at the end of a run also land)"
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$OUT"
cat "$OUT"
echo "(saved to $OUT)"
