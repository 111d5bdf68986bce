#!/usr/bin/env bash
# make bench: one table of every hot route through nginx, each next to a
# route that touches no backend (an unknown path, answered by the plugin's
# JSON 404) measured in the same run at the same connection count, on a
# private stack (free ports, temporary state, torn down whatever happens).
#
# Rows, at each connection count: the no-backend route; the home page's HTML
# (nginx alone); POST /cart/add; the JSON reads behind the cart, goods,
# home and list pages; POST /order/commit on one hot SKU and spread over
# 100 SKUs in each locking mode (every order a distinct buyer's); then, per
# mode, 200 buyers racing for a stock of 50; then POST /order/flash in a
# flash sale of one SKU (every reservation a distinct buyer's), with the
# orders persisted behind it and their lag. An answer with the wrong status
# or body is an error. After the table: the uWSGI workers' resident memory
# and the bare order transaction (MariaDB alone, no HTTP) for scale.
#
#   DF_BENCH_CONNS="8 32 64"   connection counts (wrk -t2 each)
#   DF_BENCH_SECONDS=8         duration of each read and cart run
#   DF_BENCH_ORDER_SECONDS=4   duration of each order run
#   DF_BENCH_MODES="guarded pessimistic optimistic"   (empty: no order rows)
#   DF_BENCH_BUYERS=200 DF_BENCH_STOCK=50   the race
#   DF_BENCH_SLAP_CONC=8       connections of the bare order loop
#   DF_BENCH_FLASH=1           the flash-sale rows (0: none)
#   DF_BENCH_FLASH_RATE=12000  buyers made per second of a flash run
#   DF_BENCH_OUT=path          where the markdown goes
#                              (default build/bench/results-<time>.md)
# Other work on the machine distorts the numbers: the load average is
# printed with the results; rerun on a quiet machine to compare.
set -uo pipefail

CONNS=${DF_BENCH_CONNS:-"8 32 64"}
SECS=${DF_BENCH_SECONDS:-8}
ORDER_SECS=${DF_BENCH_ORDER_SECONDS:-4}
MODES=${DF_BENCH_MODES-"guarded pessimistic optimistic"}
RACE_BUYERS=${DF_BENCH_BUYERS:-200}
RACE_STOCK=${DF_BENCH_STOCK:-50}
SLAP_CONC=${DF_BENCH_SLAP_CONC:-8}
FLASH=${DF_BENCH_FLASH:-1}
FLASH_RATE=${DF_BENCH_FLASH_RATE:-12000}
STAMP=$(date +%Y%m%d-%H%M%S)
SKU=1
. "$(dirname "$0")/lib.sh"
OUT=${DF_BENCH_OUT:-$ROOT/build/bench/results-$STAMP.md}
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d /tmp/dailyfresh-bench-work.XXXXXX)

bench_stack_start
trap 'bench_cleanup; rm -rf "$WORK"' EXIT
uid=$BENCH_UID
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# SKU 1: stock no add or order can exhaust; the bench user's cart holds 3 lines
sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"
rcli HSET "cart_$uid" 2 1 3 2 >/dev/null
TYPE=$(sqlq "SELECT type_id FROM df_goods_sku WHERE id = $SKU")

check=$(curl -s -X POST -H "Cookie: $DF_BENCH_COOKIE" -H "X-CSRFToken: $DF_BENCH_CSRF" -d "sku_id=$SKU&count=1" "$BASE/cart/add")
echo "== one add by hand: $check"
case "$check" in *'"res":5'*) ;; *) echo "bench: /cart/add did not succeed; giving up" >&2; exit 1 ;; esac

# route table: name | method | path | body | status | expected body text
ROUTES=(
    "GET unknown path (no backend)|GET|/bench/no-such-route||404|\"error\""
    "GET /index (page HTML, nginx)|GET|/index||200|<html"
    "POST /cart/add|POST|/cart/add|sku_id=$SKU&count=1|200|\"res\":5"
    "GET /api/cart (cart read)|GET|/api/cart||200|\"total_count\""
    "GET /api/goods/$SKU (goods detail)|GET|/api/goods/$SKU||200|\"sku\""
    "GET /api/index (home)|GET|/api/index||200|\"types\""
    "GET /api/list/$TYPE/1?sort=price (list)|GET|/api/list/$TYPE/1?sort=price||200|\"skus\""
)

# route_run ROUTE-SPEC CONNS SECONDS -> RESULT line
route_run() {
    local name method path body status expect
    IFS='|' read -r name method path body status expect <<<"$1"
    DF_BENCH_METHOD=$method DF_BENCH_BODY=$body DF_BENCH_STATUS=$status DF_BENCH_EXPECT=$expect \
        wrk -t2 -c"$2" -d"${3}s" -s bench/req.lua "$BASE$path" | grep '^RESULT'
}

errors_of() { # RESULT line -> every kind of error, summed
    echo $(( $(field unexpected "$1") + $(field socket_errors "$1") + $(field timeouts "$1") ))
}

declare -A BASELINE
ROWS=()
row() { # name conns RESULT-line check-text
    local rps ratio
    rps=$(field rps "$3")
    ratio=$(awk -v a="$rps" -v b="${BASELINE[$2]}" 'BEGIN { printf "%.0f %%", 100 * a / b }')
    ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$1" "$2" "$rps" "$(field p50_ms "$3")" \
        "$(field p99_ms "$3")" "$(errors_of "$3")" "$ratio" "$4")")
}

# the uWSGI workers' resident memory (VmRSS now, VmHWM the peak), in kB
RSS_NOTES=()
worker_rss() { # label
    local max_rss=0 max_hwm=0 n=0 pidfile master kid rss hwm
    for pidfile in "$VAR"/run/uwsgi-*.pid; do
        master=$(cat "$pidfile")
        for kid in $(cat /proc/"$master"/task/*/children 2>/dev/null); do
            grep -q worker /proc/"$kid"/cmdline 2>/dev/null || continue
            rss=$(awk '/^VmRSS/ { print $2 }' /proc/"$kid"/status)
            hwm=$(awk '/^VmHWM/ { print $2 }' /proc/"$kid"/status)
            n=$((n + 1))
            [ "$rss" -gt "$max_rss" ] && max_rss=$rss
            [ "$hwm" -gt "$max_hwm" ] && max_hwm=$hwm
        done
    done
    RSS_NOTES+=("| $1 | $n | $max_rss | $max_hwm |")
}

echo "== warm-up"
for spec in "${ROUTES[@]}"; do route_run "$spec" 8 1 >/dev/null; done
cart_before=$(rcli HGET "cart_$uid" "$SKU")
cart_adds=0

for c in $CONNS; do
    echo "== reads and cart, $c connections"
    for spec in "${ROUTES[@]}"; do
        res=$(route_run "$spec" "$c" "$SECS")
        [ -n "$res" ] || { echo "bench: wrk gave no result for ${spec%%|*} at $c connections" >&2; exit 1; }
        name=${spec%%|*}
        case $name in
            GET\ unknown*) BASELINE[$c]=$(field rps "$res"); row "$name" "$c" "$res" "all 404 JSON, as it should" ;;
            POST\ /cart/add) cart_adds=$((cart_adds + $(field requests "$res"))); row "$name" "$c" "$res" "" ;;
            *) row "$name" "$c" "$res" "" ;;
        esac
    done
done
cart_after=$(rcli HGET "cart_$uid" "$SKU")
worker_rss "after the reads and cart adds (locking guarded)"

# --- orders -------------------------------------------------------------
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

buyers() { # tag n skus first_sku -> file of "sessionid csrftoken addr_id sku_id"
    "$PY" bench/buyers.py "$VAR/run/mysqld/mysqld.sock" "$VAR/run/redis/redis.sock" "$@" >"$WORK/$1.txt" ||
        { echo "bench: cannot create buyers $1" >&2; exit 1; }
    echo "$WORK/$1.txt"
}

orders_of() { # tag -> order rows of that tag's buyers
    sqlq "SELECT COUNT(*) FROM df_order_info o JOIN df_user u ON u.id = o.user_id WHERE u.username LIKE 'b$1\\_%'"
}

order_run() { # mode tag skus first_sku conns -> adds a row
    local f res
    # every order a new buyer's: enough of them for well over the expected rate
    f=$(buyers "$2" $((ORDER_SECS * 3000)) "$3" "$4")
    res=$(DF_BENCH_BUYERS=$f DF_BENCH_THREADS=2 wrk -t2 -c"$5" -d"${ORDER_SECS}s" -s bench/order.lua \
        "$BASE/order/commit" | grep '^RESULT')
    [ -n "$res" ] || { echo "bench: wrk gave no result for orders ($1, $3 SKUs, $5 connections)" >&2; exit 1; }
    local placed
    placed=$(orders_of "$2")
    local errs=$(( $(field non2xx "$res") + $(field socket_errors "$res") + $(field timeouts "$res") \
        + $(field not_res5 "$res") ))
    local label="one hot SKU"
    [ "$3" -gt 1 ] && label="$3 SKUs"
    local short=""
    [ "$(field buyers_short "$res")" != 0 ] && short=", buyers ran out ($(field buyers_short "$res") reused)"
    ROWS+=("$(printf '| POST /order/commit, %s, %s | %s | %s | %s | %s | %s | %s | %s orders written%s |' "$label" "$1" \
        "$5" "$(field rps "$res")" "$(field p50_ms "$res")" "$(field p99_ms "$res")" "$errs" \
        "$(awk -v a="$(field rps "$res")" -v b="${BASELINE[$5]}" 'BEGIN { printf "%.0f %%", 100 * a / b }')" \
        "$placed" "$short")")
}

race_run() { # mode -> adds a row
    sqlq "UPDATE df_goods_sku SET stock = $RACE_STOCK, sales = 0 WHERE id = $SKU"
    local f r stock sales
    f=$(buyers "race$1" "$RACE_BUYERS" 1 "$SKU")
    r=$("$PY" bench/order_race.py "$BASE" "$f" "addr_id={addr}&pay_method=1&sku_ids=$SKU")
    read -r stock sales <<<"$(sqlq "SELECT stock, sales FROM df_goods_sku WHERE id = $SKU")"
    ROWS+=("$("$PY" - "$r" "$1" "$stock" "$sales" "$(orders_of "race$1")" "$RACE_STOCK" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
mode, stock, sales, rows, want = sys.argv[2:7]
res = r["res"]
errors = sum(v for k, v in res.items() if k not in ("5", "6")) + r["http_errors"]
won = res.get("5", 0)
verdict = "as it should" if (won, stock, sales, rows) == (int(want), "0", want, want) else "WRONG"
print(f"| race: {r['buyers']} buyers vs stock {want}, {mode} | {r['buyers']} | {r['buyers'] * 1000 / r['wall_ms']:.0f}"
      f" | {r['p50_ms']} | {r['p99_ms']} | {errors} | | all settled in {r['wall_ms']} ms: {won} res 5, "
      f"{res.get('6', 0)} res 6; stock {stock}, sales {sales}, {rows} orders: {verdict} |")
PY
)")
    sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"
}

# 100 SKUs of their own for the orders (the demo data has 33), online, stock for
# every run; added after the reads, which would otherwise list them as SKU 1's
# siblings
sqlq "INSERT INTO df_goods_sku (name, \`desc\`, price, unite, image, stock, sales, status, goods_id, type_id,
        create_time, update_time, is_delete)
      SELECT CONCAT('bench ', seq), 'bench', 9.90, 'kg', 'images/goods/bench.svg', 1000000000, 0, 1,
        (SELECT MIN(id) FROM df_goods), (SELECT MIN(id) FROM df_goods_type), NOW(6), NOW(6), 0
      FROM seq_1_to_100"
FIRST100=$(sqlq "SELECT MIN(id) FROM df_goods_sku WHERE name LIKE 'bench %'")
ADDR=$(sqlq "INSERT INTO df_address (receiver, addr, zip_code, phone, is_default, user_id, create_time,
        update_time, is_delete) VALUES ('bench', 'bench street', '100000', '13800000000', 1, $uid, NOW(6),
        NOW(6), 0); SELECT LAST_INSERT_ID();")
mariadb --no-defaults --socket="$VAR/run/mysqld/mysqld.sock" -uroot dailyfresh <"$ROOT/bench/order_tx.sql" ||
    { echo "bench: cannot create the bench procedure" >&2; exit 1; }
BARE=()
bare_run() { # mode skus first_sku -> adds a row: the same transaction, no HTTP
    local mode_n sku_expr="$3" n_tx=$((SLAP_CONC * 500)) t0 t1
    case $1 in pessimistic) mode_n=1 ;; optimistic) mode_n=2 ;; *) mode_n=3 ;; esac
    [ "$2" -gt 1 ] && sku_expr="$3 + FLOOR(RAND() * $2)"
    t0=$(date +%s.%N)
    mariadb-slap --no-defaults --socket="$VAR/run/mysqld/mysqld.sock" -uroot --create-schema=dailyfresh --no-drop \
        --concurrency="$SLAP_CONC" --number-of-queries="$n_tx" --iterations=1 \
        --query="CALL df_bench_order($mode_n, $sku_expr, $uid, $ADDR)" >"$WORK/slap.txt" 2>&1 ||
        { cat "$WORK/slap.txt" >&2; echo "bench: mariadb-slap failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    BARE+=("| $1 | $2 | $(awk -v n="$n_tx" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }') |")
}

for mode in $MODES; do
    echo "== orders, locking $mode"
    restart_uwsgi "$mode"
    # warm-up orders, so every worker has its connections and statements
    wf=$(buyers "warm$mode" 64 1 "$FIRST100")
    DF_BENCH_BUYERS=$wf wrk -t2 -c8 -d1s -s bench/order.lua "$BASE/order/commit" >/dev/null
    for c in $CONNS; do
        order_run "$mode" "hot$mode$c" 1 "$SKU" "$c"
        order_run "$mode" "many$mode$c" 100 "$FIRST100" "$c"
    done
    race_run "$mode"
    worker_rss "after the orders, locking $mode"
    bare_run "$mode" 1 "$SKU"
    bare_run "$mode" 100 "$FIRST100"
done

# --- flash sale -----------------------------------------------------------
# A sale of one SKU big enough never to sell out, made through the staff
# endpoint; every reservation a new buyer's. Persisted orders/s: the rows
# over the time from the first reservation to the last row written; lag:
# each row's writing time minus its reservation time.
flash_sale_new() {
    local now out
    now=$(date +%s)
    out=$(curl -s -X POST -H "Cookie: $DF_BENCH_COOKIE" -H "X-CSRFToken: $DF_BENCH_CSRF" \
        -d "sku_id=$SKU&stock=100000000&starts_at=$((now - 60))&ends_at=$((now + 3600))&limit_per_user=1" \
        "$BASE/api/admin/flash-sales")
    sed -n 's/.*"sale_id":\([0-9]*\).*/\1/p' <<<"$out"
}

flash_run() { # conns appendfsync -> adds a row
    local sale f res rows span p50 p99 persisted
    sale=$(flash_sale_new)
    [ -n "$sale" ] || { echo "bench: cannot create a flash sale" >&2; exit 1; }
    f=$(buyers "flash$2$1" $((ORDER_SECS * FLASH_RATE)) 1 "$SKU")
    res=$(DF_BENCH_FLASH_SALE=$sale DF_BENCH_BUYERS=$f DF_BENCH_THREADS=2 wrk -t2 -c"$1" -d"${ORDER_SECS}s" \
        -s bench/order.lua "$BASE/order/flash" | grep '^RESULT')
    [ -n "$res" ] || { echo "bench: wrk gave no result for the flash sale at $1 connections" >&2; exit 1; }
    for _ in $(seq 1 600); do
        [ "$(rcli XLEN "flash_sale_orders_$sale")" = 0 ] && break
        sleep 0.1
    done
    read -r rows span <<<"$(sqlq "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(o.create_time), MAX(f.create_time))
        FROM df_flash_sale_order f JOIN df_order_info o ON o.order_id = f.order_id WHERE f.sale_id = $sale")"
    read -r p50 p99 <<<"$(sqlq "SELECT DISTINCT
          ROUND(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY TIMESTAMPDIFF(MICROSECOND, o.create_time, f.create_time)) OVER () / 1000, 1),
          ROUND(PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY TIMESTAMPDIFF(MICROSECOND, o.create_time, f.create_time)) OVER () / 1000, 1)
        FROM df_flash_sale_order f JOIN df_order_info o ON o.order_id = f.order_id WHERE f.sale_id = $sale")"
    persisted=$(awk -v n="$rows" -v us="$span" 'BEGIN { printf "%.0f", (us > 0 ? n * 1e6 / us : 0) }')
    local errs=$(( $(field non2xx "$res") + $(field socket_errors "$res") + $(field timeouts "$res") \
        + $(field not_res5 "$res") ))
    local pend
    pend=$(rcli XLEN "flash_sale_orders_$sale")
    local label="appendfsync always"
    [ "$2" = always ] || label="appendfsync $2: NOT durable, for the price of always"
    ROWS+=("$(printf '| POST /order/flash, one hot SKU (reservation), %s | %s | %s | %s | %s | %s | %s | %s orders written (%s pending), persisted %s orders/s, lag p50 %s ms / p99 %s ms |' \
        "$label" "$1" "$(field rps "$res")" "$(field p50_ms "$res")" "$(field p99_ms "$res")" "$errs" \
        "$(awk -v a="$(field rps "$res")" -v b="${BASELINE[$1]}" 'BEGIN { printf "%.0f %%", 100 * a / b }')" \
        "$rows" "$pend" "$persisted" "$p50" "$p99")")
}

if [ "$FLASH" = 1 ]; then
    echo "== flash sale"
    restart_uwsgi guarded
    sqlq "UPDATE df_user SET is_staff = 1 WHERE id = $uid"
    sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"
    # the durable setting (the stack's), then everysec for what it costs
    for fsync in always everysec; do
        rcli CONFIG SET appendfsync "$fsync" >/dev/null
        for c in $CONNS; do flash_run "$c" "$fsync"; done
    done
    rcli CONFIG SET appendfsync always >/dev/null
    worker_rss "after the flash sale"
fi

{
    echo "bench $STAMP: nginx -> 2 uWSGI instances (4 workers x 2 threads each), wrk -t2;"
    echo "${SECS} s per read and cart run, ${ORDER_SECS} s per order run"
    echo "machine: $(nproc) cores, load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| route | conns | req/s | p50 ms | p99 ms | errors | share of no-backend | checked |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Errors: socket errors, timeouts, and answers with another status or body (an order not res 5)."
    echo "The cart count of SKU $SKU grew by $((cart_after - cart_before)) for $cart_adds adds counted by wrk"
    echo "(requests in flight when a run ends also land)."
    echo
    echo "uWSGI worker processes' resident memory, kB (largest of the 8 workers):"
    echo
    echo "| when | workers | VmRSS | VmHWM (peak) |"
    echo "|---|---|---|---|"
    printf '%s\n' "${RSS_NOTES[@]}"
    echo
    echo "For scale, the order transaction with no HTTP: the same statements in a stored procedure,"
    echo "mariadb-slap --concurrency=$SLAP_CONC:"
    echo
    echo "| locking | SKUs | tx/s |"
    echo "|---|---|---|"
    printf '%s\n' "${BARE[@]}"
} >"$OUT"
cat "$OUT"
echo "(saved to $OUT)"
