#!/usr/bin/env bash
# nginx worker_processes compared on one private stack: the same wrk run
# with 1 and 2 workers, in turns (1 2 1 2 ...), so drifting load on the
# machine falls on both alike. nginx is reloaded between turns.
#
#   DF_BENCH_ROUNDS=4     turns per worker count
#   DF_BENCH_SECONDS=5    length of each wrk run
#   DF_BENCH_CONNS=32     connections
set -uo pipefail
ROUNDS=${DF_BENCH_ROUNDS:-4}
SECS=${DF_BENCH_SECONDS:-5}
CONNS=${DF_BENCH_CONNS:-32}
SKU=1
. "$(dirname "$0")/lib.sh"
bench_stack_start
sqlq "UPDATE df_goods_sku SET stock = 2000000000 WHERE id = $SKU"

declare -A sum=()
echo "| round | workers | GET unknown path req/s | POST /cart/add req/s |"
echo "|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
    for w in 1 2; do
        DF_NGINX_WORKERS=$w scripts/stack.sh start-nginx >/dev/null 2>&1 || exit 1
        sleep 1 # the old workers finish and exit
        wrk_run notfound "$CONNS" 1 >/dev/null
        nf=$(wrk_run notfound "$CONNS" "$SECS" | grep '^RESULT')
        ca=$(wrk_run cart_add "$CONNS" "$SECS" | grep '^RESULT')
        echo "| $round | $w | $(field rps "$nf") | $(field rps "$ca") |"
        sum[nf$w]=$(( ${sum[nf$w]:-0} + $(field rps "$nf") ))
        sum[ca$w]=$(( ${sum[ca$w]:-0} + $(field rps "$ca") ))
    done
done
for w in 1 2; do
    echo "mean over $ROUNDS rounds, $w worker(s): unknown path $(( sum[nf$w] / ROUNDS )) req/s, /cart/add $(( sum[ca$w] / ROUNDS )) req/s"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
