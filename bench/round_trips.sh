#!/usr/bin/env bash
# What the database round trips of POST /order/commit cost: orders/s and
# per-commit latency on a private stack whose instances reach MariaDB over
# TCP on 127.0.0.1 (DF_MYSQL_PORT), first as it is, then with DF_RT_DELAY_MS
# added to every packet MariaDB sends (build/net_delay holding them on a
# netfilter queue an iptables-legacy rule feeds). Each order a distinct
# buyer's one line; the locking mode is the default (guarded). Also printed:
# MariaDB's exchanges (statements, prepares, resets, pings) per order,
# counted by the server over each run.
#
#   DF_RT_DELAY_MS=5        the added latency (0: only the run without)
#   DF_RT_SECONDS=6         duration of each run
#   DF_RT_CONNS="1 32"      connection counts (1: one commit at a time)
#   DF_RT_QUEUE=4711        the netfilter queue number
#   DF_BUILD=dir            the plugin to measure (default: build/)
#
# Needs root (iptables), wrk and build/net_delay (make net-delay). The rule
# matches only packets from MariaDB's port on loopback, and is deleted
# whatever happens (trap), as are the stack and net_delay.
set -uo pipefail

DELAY_MS=${DF_RT_DELAY_MS:-5}
SECS=${DF_RT_SECONDS:-6}
CONNS=${DF_RT_CONNS:-"1 32"}
QUEUE=${DF_RT_QUEUE:-4711}
SKUS=100
. "$(dirname "$0")/lib.sh"
NET_DELAY=$ROOT/build/net_delay

[ "$(id -u)" = 0 ] || { echo "round_trips: needs root (iptables)" >&2; exit 1; }
command -v iptables-legacy >/dev/null || { echo "round_trips: iptables-legacy is missing (scripts/deps.sh)" >&2; exit 1; }
[ -x "$NET_DELAY" ] || { echo "round_trips: build it first: make net-delay" >&2; exit 1; }

DF_MYSQL_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DF_MYSQL_PORT
WORK=$(mktemp -d /tmp/dailyfresh-rt-work.XXXXXX)
RULE=(OUTPUT -p tcp -s 127.0.0.1 --sport "$DF_MYSQL_PORT" -j NFQUEUE --queue-num "$QUEUE" --queue-bypass)
DELAY_PID=

delay_off() {
    while iptables-legacy -t mangle -C "${RULE[@]}" 2>/dev/null; do
        iptables-legacy -t mangle -D "${RULE[@]}" || break
    done
    if [ -n "$DELAY_PID" ]; then
        kill -TERM "$DELAY_PID" 2>/dev/null
        wait "$DELAY_PID" 2>/dev/null
        DELAY_PID=
    fi
}

delay_on() { # ms
    "$NET_DELAY" "$QUEUE" "$1" 2>>"$WORK/net_delay.log" &
    DELAY_PID=$!
    sleep 0.3
    kill -0 "$DELAY_PID" 2>/dev/null || { DELAY_PID=; echo "round_trips: net_delay did not start:" \
        "$(cat "$WORK/net_delay.log")" >&2; exit 1; }
    iptables-legacy -t mangle -A "${RULE[@]}" || { echo "round_trips: cannot add the iptables rule" >&2; exit 1; }
}

bench_stack_start
trap 'delay_off; bench_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP
echo "== MariaDB on 127.0.0.1:$DF_MYSQL_PORT, plugin ${DF_BUILD:-$ROOT/build}"

FIRST=$(sqlq "SELECT COALESCE(MAX(id), 0) + 1 FROM df_goods_sku")
sqlq "INSERT INTO df_goods_sku (name, \`desc\`, price, unite, image, stock, sales, status, goods_id, type_id,
        create_time, update_time, is_delete)
      SELECT CONCAT('rt ', seq), 'rt', 9.90, 'kg', 'images/goods/bench.svg', 1000000000, 0, 1,
        (SELECT MIN(id) FROM df_goods), (SELECT MIN(id) FROM df_goods_type), NOW(6), NOW(6), 0
      FROM seq_1_to_$SKUS"

exchanges() {
    sqlq "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN
          ('QUESTIONS', 'COM_STMT_PREPARE', 'COM_STMT_RESET', 'COM_ADMIN_COMMANDS')"
}

n_run=0
ROWS=()
run() { # delay conns
    n_run=$((n_run + 1))
    local tag="rt$n_run" f res before after orders
    f=$WORK/$tag.txt
    "$PY" bench/buyers.py "$VAR/run/mysqld/mysqld.sock" "$VAR/run/redis/redis.sock" "$tag" $((SECS * 1500)) \
        "$SKUS" "$FIRST" >"$f" || { echo "round_trips: cannot create buyers" >&2; exit 1; }
    before=$(exchanges)
    res=$(DF_BENCH_BUYERS=$f DF_BENCH_THREADS=$(( $2 < 2 ? 1 : 2 )) wrk -t$(( $2 < 2 ? 1 : 2 )) -c"$2" \
        -d"${SECS}s" -s bench/order.lua "$BASE/order/commit" | grep '^RESULT')
    after=$(exchanges)
    [ -n "$res" ] || { echo "round_trips: wrk gave no result" >&2; exit 1; }
    orders=$(sqlq "SELECT COUNT(*) FROM df_order_info o JOIN df_user u ON u.id = o.user_id
                   WHERE u.username LIKE 'b${tag}\\_%'")
    ROWS+=("$(printf '| +%s ms | %s | %s | %s | %s | %s | %s | %s |' "$1" "$2" "$(field rps "$res")" \
        "$(field p50_ms "$res")" "$(field p99_ms "$res")" "$orders" \
        "$(awk -v d=$((after - before)) -v n="$orders" 'BEGIN { printf "%.1f", n ? d / n : 0 }')" \
        "$(( $(field non2xx "$res") + $(field socket_errors "$res") + $(field timeouts "$res") + $(field not_res5 "$res") ))")")
}

echo "== warm-up"
run 0 8 >/dev/null
ROWS=()
for c in $CONNS; do run 0 "$c"; done
if [ "$DELAY_MS" -gt 0 ]; then
    delay_on "$DELAY_MS"
    for c in $CONNS; do run "$DELAY_MS" "$c"; done
    delay_off
fi

echo
echo "POST /order/commit, one SKU a buyer over $SKUS SKUs, guarded, ${SECS} s a run, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| added to MariaDB's packets | connections | orders/s | p50 ms | p99 ms | orders | MariaDB exchanges per order | errors |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
