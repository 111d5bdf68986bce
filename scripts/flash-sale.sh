#!/usr/bin/env bash
# Flash sales for operators: the staff endpoints of docs/api-flash-sales.md
# through curl, logged in as a staff account (scripts/ops.sh set-staff).
#
#   scripts/flash-sale.sh create SKU_ID STOCK STARTS_AT ENDS_AT LIMIT_PER_USER
#   scripts/flash-sale.sh show SALE_ID
#   scripts/flash-sale.sh check SALE_ID    as show; exits 1 when drift is found (repaired)
#   scripts/flash-sale.sh close SALE_ID
#
# STARTS_AT / ENDS_AT: Unix seconds, or "YYYY-MM-DD HH:MM:SS" in Beijing
# time (quote it). Environment: DF_BASE_URL, the shop (default
# http://127.0.0.1:8000); DF_STAFF_USER and DF_STAFF_PASSWORD, the staff
# account (asked for on the terminal when unset). Prints the shop's answer;
# exits 0 when it is a success (res 5), 1 on a refusal or any failure,
# 2 on a usage error.
set -euo pipefail

BASE=${DF_BASE_URL:-http://127.0.0.1:8000}
BASE=${BASE%/}

die() { printf 'flash-sale: %s\n' "$*" >&2; exit 1; }
usage() {
    sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

JAR=$(mktemp)
BODY=$(mktemp)
trap 'rm -f "$JAR" "$BODY"' EXIT

# One request; the answer's body in $BODY, its HTTP status printed.
request() { # method path [curl args...]
    local method=$1 path=$2
    shift 2
    curl -sS -o "$BODY" -w '%{http_code}' -b "$JAR" -c "$JAR" --max-time 30 -X "$method" \
        -H "X-CSRFToken: $(csrf_token)" "$@" "$BASE$path" || die "$BASE did not answer"
}

csrf_token() { awk '$6 == "csrftoken" { print $7 }' "$JAR"; }

# A member of the JSON answer in $BODY ("" when absent); a.b names b of member a.
member() { # name
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k, "") if isinstance(v, dict) else ""
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, bool)) else v)' "$BODY" "$1" 2>/dev/null ||
        die "the answer is not JSON: $(head -c 200 "$BODY")"
}

login() {
    local user=${DF_STAFF_USER:-} pwd=${DF_STAFF_PASSWORD:-} status
    if [ -z "$user" ]; then read -r -p 'staff user: ' user </dev/tty || die "no staff user (set DF_STAFF_USER)"; fi
    if [ -z "$pwd" ]; then read -r -s -p 'password: ' pwd </dev/tty || die "no password (set DF_STAFF_PASSWORD)"; echo >&2; fi
    status=$(curl -sS -o "$BODY" -w '%{http_code}' -c "$JAR" --max-time 30 "$BASE/healthz") || die "$BASE did not answer"
    [ -n "$(csrf_token)" ] || die "$BASE set no csrftoken cookie (HTTP $status)"
    # the password goes through stdin, never on a command line others can see
    status=$(request POST /user/login --data-urlencode "username=$user" --data-urlencode "pwd@-" < <(printf %s "$pwd"))
    if [ "$status" != 200 ] || [ "$(member res)" != 5 ]; then die "login as $user refused: $(cat "$BODY")"; fi
}

# Prints the answer; exit 0 on res 5, 1 otherwise.
answer() { # status
    cat "$BODY"
    echo
    if [ "$1" != 200 ] || [ "$(member res)" != 5 ]; then exit 1; fi
}

id_arg() { [[ "${1:-}" =~ ^[1-9][0-9]{0,9}$ ]] || usage; }

cmd=${1:-}
case "$cmd" in
    create)
        [ $# -eq 6 ] || usage
        login
        status=$(request POST /api/admin/flash-sales --data-urlencode "sku_id=$2" --data-urlencode "stock=$3" \
            --data-urlencode "starts_at=$4" --data-urlencode "ends_at=$5" --data-urlencode "limit_per_user=$6")
        answer "$status"
        ;;
    show | check)
        [ $# -eq 2 ] || usage
        id_arg "$2"
        login
        status=$(request GET "/api/admin/flash-sales/$2")
        if [ "$cmd" = check ] && [ "$status" = 200 ] && [ "$(member res)" = 5 ] &&
            { [ "$(member drift)" != 0 ] || [ "$(member reconciliation.repaired)" != false ]; }; then
            cat "$BODY"
            echo
            die "sale $2: drift $(member drift) (reserved $(member reserved), persisted $(member persisted), pending $(member pending));" \
                "reconciliation drift units $(member reconciliation.drift.units) written $(member reconciliation.drift.written)" \
                "returned $(member reconciliation.drift.returned), repaired: units_left $(member reconciliation.after.units_left)" \
                "written $(member reconciliation.after.written) returned $(member reconciliation.after.returned)," \
                "$(member reconciliation.after.to_sku) back to the SKU"
        fi
        answer "$status"
        ;;
    close)
        [ $# -eq 2 ] || usage
        id_arg "$2"
        login
        status=$(request POST "/api/admin/flash-sales/$2/close")
        answer "$status"
        ;;
    *) usage ;;
esac
