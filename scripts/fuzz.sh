#!/usr/bin/env bash
# Runs every libFuzzer harness (make fuzz builds them into build/fuzz) for
# FUZZ_SECONDS each over its seed corpus test/fuzz/corpus/<target>; what
# the fuzzer finds new goes to build/fuzz/corpus/<target>, never into the
# repository. One line per target, then "N passed, M failed". A crash,
# timeout, leak or sanitizer report fails the target and prints where its
# reproducer is; rerun one with build/fuzz/fuzz_<target> <reproducer>.
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh      longer runs (default 30 s each)
#   FUZZ_TARGETS="form money" scripts/fuzz.sh   only these targets
#   FUZZ_ARGS="-jobs=2" scripts/fuzz.sh   extra libFuzzer flags
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
case "$SECONDS_EACH" in '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac

mkdir -p "$OUT"
if ! make --no-print-directory fuzz >"$OUT/make.log" 2>&1; then
    tail -n 30 "$OUT/make.log" >&2
    echo "fuzz: make fuzz failed (full log: $OUT/make.log)" >&2
    exit 2
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for src in test/fuzz/fuzz_*.c; do
        t=${src#test/fuzz/fuzz_}
        targets+=("${t%.c}")
    done
fi

passed=0
failed=0
summary=()
for t in "${targets[@]}"; do
    bin=$OUT/fuzz_$t
    seeds=test/fuzz/corpus/$t
    corpus=$OUT/corpus/$t
    art=$OUT/artifacts/$t/
    log=$OUT/logs/$t.log
    if [ ! -x "$bin" ]; then
        summary+=("FAIL $t: no harness $bin")
        failed=$((failed + 1))
        echo "${summary[-1]}"
        continue
    fi
    mkdir -p "$corpus" "$art" "$(dirname "$log")"
    # new inputs are written to the first directory only: the build one
    # shellcheck disable=SC2086
    timeout -k 10 $((SECONDS_EACH + 60)) "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$art" ${FUZZ_ARGS:-} "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("ok   $t: ${runs:-?} runs in ${SECONDS_EACH}s, ${cov:-cov: ?}, $(find "$corpus" -type f | wc -l) inputs in $corpus")
    else
        failed=$((failed + 1))
        what=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+|runtime error: .*|property violated: .*|deadly signal|-timeout|out-of-memory' "$log" || true)
        [ $rc -eq 124 ] || [ $rc -eq 137 ] && what="killed by timeout after $((SECONDS_EACH + 60))s"
        summary+=("FAIL $t: exit $rc, ${what:-see log}; reproducer: ${repro:-none}; log: $log")
    fi
    echo "${summary[-1]}"
done

# the failures once more where they are seen
[ $failed -eq 0 ] || printf '%s\n' "" "${summary[@]}" | grep -E '^(FAIL|$)'
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
