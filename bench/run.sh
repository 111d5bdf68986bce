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

CONNS=${DF_BENCH_CONNS:-"8 32 64"}
SECS=${DF_BENCH_SECONDS:-10}
STAMP=$(date +%Y%m%d-%H%M%S)
SKU=1
. "$(dirname "$0")/lib.sh"
OUT=${DF_BENCH_OUT:-$ROOT/build/bench/results-$STAMP.md}
mkdir -p "$(dirname "$OUT")"

bench_stack_start
uid=$BENCH_UID
csrf=$DF_BENCH_CSRF
# stock high enough that no add is refused during the runs
sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"

check=$(curl -s -X POST -H "Cookie: $DF_BENCH_COOKIE" -H "X-CSRFToken: $csrf" -d "sku_id=$SKU&count=1" "$BASE/cart/add")
echo "== one add by hand: $check"
case "$check" in *'"res":5'*) ;; *) echo "bench: /cart/add did not succeed; giving up" >&2; exit 1 ;; esac

echo "== warm-up"
wrk_run notfound 8 2 >/dev/null
wrk_run cart_add 8 2 >/dev/null
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
    nf=$(wrk_run notfound "$c" "$SECS" | grep '^RESULT')
    ca=$(wrk_run cart_add "$c" "$SECS" | grep '^RESULT')
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
