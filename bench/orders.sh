#!/usr/bin/env bash
# Order benchmarks, for each locking mode, on a private stack:
#  1. the race: DF_BENCH_BUYERS (200) distinct logged-in buyers, each with 1
#     unit of one SKU of stock DF_BENCH_STOCK (50) in the cart, press commit
#     at the same moment through nginx (bench/order_race.py);
#  2. sustained commits through nginx (wrk, bench/order.lua), every order a
#     distinct buyer's: one hot SKU, then 100 SKUs;
#  3. the same transactions with no HTTP: a stored procedure running the
#     mode's statements, called by mariadb-slap, so the whole stack's cost
#     is a ratio.
#
#   DF_BENCH_MODES="guarded pessimistic optimistic"
#   DF_BENCH_SECONDS=5   DF_BENCH_CONNS=32   DF_BENCH_SLAP_CONC=8
#   DF_BENCH_OUT=path    (default build/bench/orders-<time>.md)
set -uo pipefail
MODES=${DF_BENCH_MODES:-"guarded pessimistic optimistic"}
SECS=${DF_BENCH_SECONDS:-5}
CONNS=${DF_BENCH_CONNS:-32}
SLAP_CONC=${DF_BENCH_SLAP_CONC:-8}
RACE_BUYERS=${DF_BENCH_BUYERS:-200}
RACE_STOCK=${DF_BENCH_STOCK:-50}
STAMP=$(date +%Y%m%d-%H%M%S)
SKU=1
. "$(dirname "$0")/lib.sh"
OUT=${DF_BENCH_OUT:-$ROOT/build/bench/orders-$STAMP.md}
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d /tmp/dailyfresh-bench-orders.XXXXXX)
bench_stack_start
trap 'bench_cleanup; rm -rf "$WORK"' EXIT

# enough orders for SECS seconds at well over the target rate, every one a new buyer
SUSTAINED_BUYERS=$((SECS * 4000))
# 100 SKUs of their own (the demo data has 33), online, stock for every run
sqlq "INSERT INTO df_goods_sku (name, \`desc\`, price, unite, image, stock, sales, status, goods_id, type_id,
        create_time, update_time, is_delete)
      SELECT CONCAT('bench ', seq), 'bench', 9.90, 'kg', 'images/goods/bench.svg', 1000000000, 0, 1,
        (SELECT MIN(id) FROM df_goods), (SELECT MIN(id) FROM df_goods_type), NOW(6), NOW(6), 0
      FROM seq_1_to_100"
FIRST100=$(sqlq "SELECT MIN(id) FROM df_goods_sku WHERE name LIKE 'bench %'")
ADDR=$(sqlq "INSERT INTO df_address (receiver, addr, zip_code, phone, is_default, user_id, create_time,
        update_time, is_delete) VALUES ('bench', 'bench street', '100000', '13800000000', 1, $BENCH_UID, NOW(6),
        NOW(6), 0); SELECT LAST_INSERT_ID();")
mariadb --no-defaults --socket="$VAR/run/mysqld.sock" -uroot dailyfresh <"$ROOT/bench/order_tx.sql" || { echo "bench: cannot create the bench procedure" >&2; exit 1; }

restart_uwsgi() { # mode
    DF_UWSGI_ARGS="--dailyfresh-order-locking $1" scripts/stack.sh stop-uwsgi >/dev/null 2>&1
    DF_UWSGI_ARGS="--dailyfresh-order-locking $1" scripts/stack.sh start-uwsgi >/dev/null 2>&1 || {
        echo "bench: uWSGI did not start with locking $1" >&2; exit 1; }
    for _ in $(seq 1 50); do
        curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$BASE/healthz" | grep -q 200 && return 0
        sleep 0.2
    done
    echo "bench: the stack is not healthy with locking $1" >&2
    exit 1
}

buyers() { # tag n skus first_sku
    "$PY" bench/buyers.py "$VAR/run/mysqld.sock" "$VAR/run/redis.sock" "$@" >"$WORK/$1.txt" ||
        { echo "bench: cannot create buyers $1" >&2; exit 1; }
    echo "$WORK/$1.txt"
}

orders_of() { # tag -> order rows of that tag's buyers
    sqlq "SELECT COUNT(*) FROM df_order_info o JOIN df_user u ON u.id = o.user_id WHERE u.username LIKE 'b$1\\_%'"
}

sustained() { # mode tag skus first_sku -> a table row
    local f
    f=$(buyers "$2" "$SUSTAINED_BUYERS" "$3" "$4")
    local res
    res=$(DF_BENCH_BUYERS=$f DF_BENCH_THREADS=2 wrk -t2 -c"$CONNS" -d"${SECS}s" -s bench/order.lua \
        "$BASE/order/commit" | grep '^RESULT')
    [ -n "$res" ] || { echo "bench: wrk gave no result" >&2; exit 1; }
    local mode_n
    case $1 in pessimistic) mode_n=1 ;; optimistic) mode_n=2 ;; *) mode_n=3 ;; esac
    local sku_expr="$4"
    [ "$3" -gt 1 ] && sku_expr="$4 + FLOOR(RAND() * $3)"
    # the bare loop: the same transaction, SLAP_CONC connections, no HTTP
    local n_tx=$((SLAP_CONC * 500)) t0 t1
    t0=$(date +%s.%N)
    mariadb-slap --no-defaults --socket="$VAR/run/mysqld.sock" -uroot --create-schema=dailyfresh --no-drop \
        --concurrency="$SLAP_CONC" --number-of-queries="$n_tx" --iterations=1 \
        --query="CALL df_bench_order($mode_n, $sku_expr, $BENCH_UID, $ADDR)" >"$WORK/slap.txt" 2>&1 ||
        { cat "$WORK/slap.txt" >&2; echo "bench: mariadb-slap failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    local bare rps
    bare=$(awk -v n="$n_tx" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    rps=$(field rps "$res")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s %% |\n' "$1" "$5" "$rps" "$(field p50_ms "$res")" \
        "$(field p99_ms "$res")" \
        "$(( $(field non2xx "$res") + $(field socket_errors "$res") + $(field timeouts "$res") ))" \
        "$(field not_res5 "$res")" "$bare" "$(awk -v a="$rps" -v b="$bare" 'BEGIN { printf "%.0f", 100 * a / b }')"
}

race_rows=()
sus_rows=()
for mode in $MODES; do
    echo "== locking $mode"
    restart_uwsgi "$mode"
    # a warm-up order, so every worker has its connections and statements
    wf=$(buyers "warm$mode" 64 1 "$FIRST100")
    DF_BENCH_BUYERS=$wf wrk -t2 -c8 -d1s -s bench/order.lua "$BASE/order/commit" >/dev/null

    sqlq "UPDATE df_goods_sku SET stock = $RACE_STOCK, sales = 0 WHERE id = $SKU"
    f=$(buyers "race$mode" "$RACE_BUYERS" 1 "$SKU")
    r=$("$PY" bench/order_race.py "$BASE" "$f" "addr_id={addr}&pay_method=1&sku_ids=$SKU")
    read -r stock sales <<<"$(sqlq "SELECT stock, sales FROM df_goods_sku WHERE id = $SKU")"
    race_rows+=("$("$PY" - "$r" "$mode" "$stock" "$sales" "$(orders_of "race$mode")" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
mode, stock, sales, rows = sys.argv[2:6]
res = r["res"]
other = sum(v for k, v in res.items() if k not in ("5", "6")) + r["http_errors"]
print(f"| {mode} | {r['buyers']} | {res.get('5', 0)} | {res.get('6', 0)} | {other} | {stock} | {sales} | {rows}"
      f" | {r['wall_ms']} | {r['p50_ms']} | {r['p99_ms']} |")
PY
)")

    sqlq "UPDATE df_goods_sku SET stock = 1000000000 WHERE id = $SKU"
    sus_rows+=("$(sustained "$mode" "hot$mode" 1 "$SKU" "one hot SKU")")
    sus_rows+=("$(sustained "$mode" "many$mode" 100 "$FIRST100" "100 SKUs")")
done

{
    echo "bench $STAMP: orders through nginx -> 2 uWSGI instances (4 workers x 2 threads each)"
    echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "Race: $RACE_BUYERS buyers, 1 unit each, stock $RACE_STOCK, released at once"
    echo
    echo "| locking | buyers | res 5 | res 6 | other | stock after | sales after | orders | wall ms | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${race_rows[@]}"
    echo
    echo "Sustained: wrk -t2 -c$CONNS, ${SECS} s, every order a distinct buyer's; bare = the same transaction"
    echo "in a stored procedure, mariadb-slap --concurrency=$SLAP_CONC, no HTTP"
    echo
    echo "| locking | SKUs | orders/s | p50 ms | p99 ms | HTTP errors | not res 5 | bare tx/s | HTTP / bare |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${sus_rows[@]}"
} >"$OUT"
cat "$OUT"
echo "(saved to $OUT)"
