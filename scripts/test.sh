#!/usr/bin/env bash
# make test: unit tests, then a private stack on free ports (its own Redis,
# MariaDB, two uWSGI instances and nginx under a temporary directory),
# end-to-end tests through nginx, and the stack torn down whatever happens.
#
#   DF_TEST_KEEP=1   leave the private stack running (prints where)
#   PYTEST_ARGS=...  extra pytest arguments (e.g. "-k cart -x"); naming files
#                    (test/e2e/test_cart.py ...) runs only those
#   DF_TEST_BROWSER=0  leave out the browser tests (test/browser/run.js);
#                    their screenshots go to DF_TEST_OUTPUT (build/test-output/browser)
#   TEST_PREFIX=...  runs each unit test binary under it, e.g.
#                    TEST_PREFIX="valgrind -q --leak-check=full --error-exitcode=9"
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
summary=()
failed=0

free_ports() {
    "$PY" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

run_unit() { # binary [needs-servers]
    local bin=$1 out
    # shellcheck disable=SC2086
    out=$(${TEST_PREFIX:-} "$bin" 2>&1)
    local rc=$?
    printf '%s\n' "$out"
    local p f
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    unit_passed=$((unit_passed + ${p:-0}))
    unit_failed=$((unit_failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        failed=1
        [ -z "$f" ] && unit_failed=$((unit_failed + 1))
    fi
}

unit_passed=0
unit_failed=0
echo "== unit tests (no servers)"
for bin in build/test/test_*; do
    case "$bin" in *_live) continue ;; esac
    run_unit "$bin"
done

VAR=$(mktemp -d /tmp/dailyfresh-test.XXXXXX)
read -r HTTP_PORT U1 U2 ALIPAY_PORT <<<"$(free_ports 4)"
export DF_VAR=$VAR DF_HTTP_PORT=$HTTP_PORT DF_UWSGI_PORTS="$U1 $U2" DF_ALIPAY_PORT=$ALIPAY_PORT
# the suites log in, register and order far faster than a person: nginx's
# per-address limits are raised out of their way
# (test_security.py::test_rate_limits_answer_429_json_per_address brings
# them back down for itself)
export DF_LIMIT_LOGIN_RATE=100000r/s DF_LIMIT_REGISTER_RATE=100000r/s DF_LIMIT_COMMIT_RATE=100000r/s \
    DF_LIMIT_LOGIN_BURST=100000 DF_LIMIT_REGISTER_BURST=100000 DF_LIMIT_COMMIT_BURST=100000
# the private stack pays at its own local Alipay gateway, never at a real one
unset DF_ALIPAY_GATEWAY DF_ALIPAY_APP_ID DF_ALIPAY_APP_PRIVATE_KEY DF_ALIPAY_PUBLIC_KEY DF_ALIPAY_NOTIFY_URL \
    DF_ALIPAY_RETURN_URL
# and uses its own Redis, never one (or the sentinels) the shell points at
unset DF_REDIS DF_REDIS_SENTINELS DF_REDIS_MASTER_NAME

cleanup() {
    if [ "${DF_TEST_KEEP:-0}" = 1 ]; then
        echo "private stack left running: DF_VAR=$VAR DF_HTTP_PORT=$HTTP_PORT DF_UWSGI_PORTS=\"$U1 $U2\" DF_ALIPAY_PORT=$ALIPAY_PORT"
        return
    fi
    scripts/stack.sh stop >"$ROOT/build/test-stack-stop.log" 2>&1 || true
    rm -rf "$VAR"
}
trap cleanup EXIT

echo "== private stack on 127.0.0.1:$HTTP_PORT (uWSGI $U1 $U2, Alipay gateway $ALIPAY_PORT, state $VAR)"
if ! scripts/stack.sh start; then
    for f in "$VAR"/log/*; do echo "--- $f"; tail -n 30 "$f"; done
    echo "0 passed, 1 failed"
    exit 1
fi

echo "== unit tests against the live Redis and MariaDB"
export DF_TEST_REDIS_SOCK=$VAR/run/redis/redis.sock DF_TEST_MYSQL_SOCK=$VAR/run/mysqld/mysqld.sock
for bin in build/test/test_*_live; do
    [ -e "$bin" ] || continue
    run_unit "$bin"
done
echo "unit: $unit_passed passed, $unit_failed failed"

echo "== end-to-end tests through nginx"
export DF_ROOT=$ROOT DF_BASE_URL="http://127.0.0.1:$HTTP_PORT" DF_ALIPAY_URL="http://127.0.0.1:$ALIPAY_PORT"
mkdir -p "$ROOT/build"
targets=test/e2e
case " ${PYTEST_ARGS:-} " in *" test/e2e/"*) targets= ;; esac
# shellcheck disable=SC2086
"$PY" -m pytest -p no:cacheprovider -q $targets ${PYTEST_ARGS:-} 2>&1 | tee "$ROOT/build/test-pytest.log"
rc=${PIPESTATUS[0]}
[ $rc -ne 0 ] && failed=1
pytest_line=$(grep -v '^[[:space:]]*$' "$ROOT/build/test-pytest.log" | tail -n 1)

# the pages in headless Chromium, against the same stack (test/browser/run.js)
browser_line=
if [ "${DF_TEST_BROWSER:-1}" = 0 ]; then
    browser_line="skipped (DF_TEST_BROWSER=0)"
elif ! command -v node >/dev/null || [ ! -x "${DF_CHROMIUM:-/usr/bin/chromium}" ]; then
    browser_line="skipped (node or ${DF_CHROMIUM:-/usr/bin/chromium} missing: scripts/deps.sh installs them)"
else
    echo "== browser tests (headless Chromium)"
    if ! scripts/browser-deps.sh; then
        browser_line="0 passed, 1 failed (scripts/browser-deps.sh could not install playwright-core)"
        failed=1
    else
        export DF_TEST_OUTPUT=${DF_TEST_OUTPUT:-$ROOT/build/test-output/browser}
        timeout 900 node test/browser/run.js 2>&1 | tee "$ROOT/build/test-browser.log"
        [ "${PIPESTATUS[0]}" -ne 0 ] && failed=1
        browser_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$ROOT/build/test-browser.log" | tail -n 1)
        [ -n "$browser_line" ] || { browser_line="0 passed, 1 failed (the runner stopped early)"; failed=1; }
    fi
fi
# sanitizer reports from the instances (SANITIZE=1) fail the run
sanitizer_line=
for f in "$VAR"/log/sanitizer/asan.* "$VAR"/log/sanitizer/ubsan.*; do
    [ -e "$f" ] || continue
    echo "--- sanitizer report $f"; cat "$f"
    mkdir -p "$ROOT/build/sanitizer" && cp "$f" "$ROOT/build/sanitizer/"
    # the first finding of each report beside the summaries, where a log's tail shows it
    sanitizer_line+="$(basename "$f"): $(grep -m1 -E 'ERROR: |runtime error' "$f" | cut -c1-200); "
    failed=1
done
if [ $failed -ne 0 ]; then
    for f in "$VAR"/log/uwsgi-*.log; do echo "--- $f (last lines)"; tail -n 20 "$f"; done
fi
[ -n "$sanitizer_line" ] && echo "sanitizer: $sanitizer_line"
echo "pytest: ${pytest_line:-no summary}"
echo "browser: $browser_line"
echo "unit: $unit_passed passed, $unit_failed failed"
exit $failed
