#!/usr/bin/env bash
# Operator's commands against a running dailyfresh stack (docs/operations.md).
#
#   scripts/ops.sh end-sessions USER_ID   logs that user out everywhere
#   scripts/ops.sh set-staff USERNAME [0|1]
#                                         makes an account staff (1, the
#                                         default) or not (0): staff create
#                                         and close flash sales
#
# Environment: DF_VAR, the stack's state directory (default: <repo>/var), as
# for scripts/stack.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${DF_VAR:-$ROOT/var}
REDIS_SOCK=$VAR/run/redis/redis.sock
MYSQL_SOCK=$VAR/run/mysqld/mysqld.sock

log() { printf 'ops: %s\n' "$*"; }
die() { printf 'ops: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- sessions
# Ends every session of one user at once (after deactivating or deleting
# the account: a live session would otherwise last until its TTL). Logins
# list each session id in the sorted set user_sessions_by_expiry_<uid>
# (the shop kept them in the set user_sessions_<uid> before), and a session
# is the key session_<id> (lib/session.c). A batch of ids per script call,
# the calls one after another through one redis-cli, so that Redis never
# stalls on a user with many sessions: each call answers how many sessions
# it ended and how many ids are left.
END_SESSIONS_BATCH=100
# shellcheck disable=SC2016 # Lua, not shell
END_SESSIONS_LUA='local n = 0
local first = redis.call("ZPOPMIN", KEYS[1], ARGV[1])
for i = 1, #first, 2 do n = n + redis.call("DEL", "session_" .. first[i]) end
local left = redis.call("ZCARD", KEYS[1])
if redis.call("TYPE", KEYS[2]).ok == "set" then
    for _, m in ipairs(redis.call("SPOP", KEYS[2], ARGV[1])) do n = n + redis.call("DEL", "session_" .. m) end
    left = left + redis.call("SCARD", KEYS[2])
end
return {n, left}'
end_sessions() { # user id
    [[ "${1:-}" =~ ^[1-9][0-9]{0,18}$ ]] || die "usage: $0 end-sessions USER_ID"
    local sha out n ended=0 left=1 calls=1 i deadline=$((SECONDS + 120))
    sha=$(timeout 10 redis-cli -s "$REDIS_SOCK" SCRIPT LOAD "$END_SESSIONS_LUA") ||
        die "Redis did not answer (is the stack up?)"
    [[ "$sha" =~ ^[0-9a-f]{40}$ ]] || die "Redis answered: $sha"
    while [ "$left" -gt 0 ]; do
        out=$(for ((i = 0; i < calls; i++)); do
            echo "EVALSHA $sha 2 user_sessions_by_expiry_$1 user_sessions_$1 $END_SESSIONS_BATCH"
        done | timeout 120 redis-cli -s "$REDIS_SOCK") || die "Redis did not answer (is the stack up?)"
        grep -qvx '[0-9][0-9]*' <<<"$out" && die "Redis answered: $(grep -vx '[0-9][0-9]*' <<<"$out" | head -1)"
        read -r n left < <(awk 'NR % 2 { n += $1 } !(NR % 2) { left = $1 } END { print n + 0, left + 0 }' <<<"$out")
        ended=$((ended + n))
        calls=$(((left + END_SESSIONS_BATCH - 1) / END_SESSIONS_BATCH))
        [ $SECONDS -lt $deadline ] || die "user $1 still has $left session(s) listed after 120 s ($ended ended)"
    done
    log "ended $ended session(s) of user $1"
}

# ---------------------------------------------------------------- staff
# df_user.is_staff, Django's own column: the flash-sale endpoints serve
# only staff. The name reaches SQL as a user variable decoded from base64,
# never pasted into the statement.
set_staff() { # username [0|1]
    local usage="usage: $0 set-staff USERNAME [0|1]" out
    [[ "${1:-}" =~ ^[A-Za-z0-9_]{5,20}$ ]] || die "$usage"
    [[ "${2:-1}" =~ ^[01]$ ]] || die "$usage"
    out=$(timeout 30 mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot -N -B dailyfresh -e \
        "SET @u = FROM_BASE64('$(printf %s "$1" | base64 -w0)');
         UPDATE df_user SET is_staff = ${2:-1} WHERE username = @u AND is_delete = 0;
         SELECT ROW_COUNT(), (SELECT COUNT(*) FROM df_user WHERE username = @u AND is_delete = 0);") ||
        die "MariaDB did not answer (is the stack up?)"
    [ "$(cut -f2 <<<"$out")" = 1 ] || die "no account named $1"
    log "$1: is_staff = ${2:-1}"
}

usage() { die "usage: $0 end-sessions USER_ID | set-staff USERNAME [0|1]"; }

case "${1:-}" in
    end-sessions) end_sessions "${2:-}" ;;
    set-staff) set_staff "${2:-}" "${3:-1}" ;;
    *) usage ;;
esac
