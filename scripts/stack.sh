#!/usr/bin/env bash
# The local dailyfresh stack: Redis, MariaDB, the uWSGI instances and nginx,
# all state, logs, sockets and pidfiles under one directory.
#
#   scripts/stack.sh start | stop | status
#   scripts/stack.sh start-redis | stop-redis | start-mysql | stop-mysql
#   scripts/stack.sh start-uwsgi | stop-uwsgi | start-nginx | stop-nginx
#   scripts/stack.sh start-conncap | stop-conncap    (the cap per client address)
#   scripts/stack.sh start-gateway | stop-gateway    (the local Alipay gateway)
#   scripts/stack.sh end-sessions USER_ID            (scripts/ops.sh end-sessions)
#
# Environment (all optional):
#   DF_VAR          state directory            (default: <repo>/var)
#   DF_HTTP_PORT    nginx port                 (default: 8000)
#   DF_UWSGI_PORTS  the uWSGI instances' names, space separated (default:
#                   "8080 8081"): each listens on $DF_VAR/run/uwsgi/<name>.sock,
#                   or with DF_UWSGI_HOST on that address, port <name>
#   DF_UWSGI_HOST   instances on TCP at this address instead of unix sockets
#                   (default: unset; a private address, never a public one)
#   DF_UWSGI_UPSTREAM  nginx's upstream: address:port of instances on other
#                   hosts, space separated, instead of this stack's own
#                   (scripts/cluster.sh renders its nginx host's so)
#   DF_UWSGI_CONNECT_TIMEOUT  nginx's wait for an instance to accept (2s)
#   DF_UWSGI_MAX_FAILS, DF_UWSGI_FAIL_TIMEOUT  failed tries that take an
#                   instance out of the upstream, and for how long (3, 5s)
#   DF_HTTP_ADDR    the address nginx listens on (default: 127.0.0.1)
#   DF_APP_USER     the user the instances and the local Alipay gateway run as
#                   when started as root (default: dailyfresh, created here)
#   DF_NGINX_USER   nginx's workers' user when started as root (default: www-data)
#   DF_BUILD        where the plugin is     (default: <repo>/build)
#   DF_NGINX_WORKERS  nginx worker_processes  (default: nginx.conf's)
#   DF_START_TIMEOUT  seconds until the stack must answer /healthz (default: 60)
#   DF_CONN_PER_ADDR  open connections to nginx's port per client address
#                   (default: 512; 0: no cap), enforced by nftables (table
#                   dailyfresh_<DF_HTTP_PORT>) when run as root
#   DF_LIMIT_LOGIN_RATE, DF_LIMIT_REGISTER_RATE, DF_LIMIT_COMMIT_RATE
#                   nginx's request rate per client address for POST
#                   /user/login, /user/register, /order/commit ("20r/m",
#                   "100r/s"; default: nginx.conf's), and DF_LIMIT_LOGIN_BURST,
#                   DF_LIMIT_REGISTER_BURST, DF_LIMIT_COMMIT_BURST (requests
#                   let through at once past the rate)
#   DF_UWSGI_ARGS   extra uwsgi options for every instance, after --ini so
#                   they override it (e.g. "--dailyfresh-order-locking optimistic")
#   DF_ALIPAY_PORT  port of the local Alipay gateway (default: 8090); its keys
#                   and app id are made once under $DF_VAR/alipay
#   DF_ALIPAY_GATEWAY  a real gateway (the sandbox) instead of the local one;
#                   then DF_ALIPAY_APP_ID, DF_ALIPAY_APP_PRIVATE_KEY (PEM file),
#                   DF_ALIPAY_PUBLIC_KEY (PEM file or bare base64),
#                   DF_ALIPAY_NOTIFY_URL and DF_ALIPAY_RETURN_URL are required
#   DF_MYSQL_PORT   MariaDB also listens on 127.0.0.1 at this port and the
#                   instances reach it there, over TCP, instead of through its
#                   socket (default: unset, no networking), e.g. to measure
#                   round trips over a link with latency (bench/round_trips.sh);
#                   the root tools keep using the socket
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${DF_VAR:-$ROOT/var}
# A checkout other users cannot enter (a clone under /root, run as root):
# the servers' users could not reach its var/, so var/ becomes a link to a
# state directory of this checkout's under /var/lib/dailyfresh (an earlier
# var/ is moved there). Everything is still found under var/.
if [ -z "${DF_VAR:-}" ] && [ "$(id -u)" = 0 ] && [ ! -L "$ROOT/var" ] &&
    ! setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$ROOT/." 2>/dev/null; then
    state=/var/lib/dailyfresh/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
    mkdir -p /var/lib/dailyfresh
    chmod 755 /var/lib/dailyfresh
    if [ -e "$ROOT/var" ] && [ -e "$state" ]; then
        printf 'stack: both %s and %s hold state: keep one (DF_VAR names it)\n' "$ROOT/var" "$state" >&2
        exit 1
    fi
    if [ -e "$ROOT/var" ]; then mv "$ROOT/var" "$state"; else mkdir -p "$state"; fi
    ln -s "$state" "$ROOT/var"
    printf 'stack: %s cannot be entered by the servers'"'"' users: its var/ is a link to %s\n' "$ROOT" "$state"
fi
HTTP_PORT=${DF_HTTP_PORT:-8000}
HTTP_ADDR=${DF_HTTP_ADDR:-127.0.0.1}
UWSGI_PORTS=${DF_UWSGI_PORTS:-"8080 8081"}
UWSGI_HOST=${DF_UWSGI_HOST:-}
APP_USER=${DF_APP_USER:-dailyfresh}
WEB_USER=${DF_NGINX_USER:-www-data}
BUILD=${DF_BUILD:-$ROOT/build}
ALIPAY_PORT=${DF_ALIPAY_PORT:-8090}
MYSQL_PORT=${DF_MYSQL_PORT:-}
CONN_PER_ADDR=${DF_CONN_PER_ADDR:-512}
PY=${DF_PYTHON:-/usr/bin/python3}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd -P)
RUN=$VAR/run
LOG=$VAR/log
MYSQL_RUN=$RUN/mysqld
REDIS_RUN=$RUN/redis
UWSGI_RUN=$RUN/uwsgi
SAN_LOG=$LOG/sanitizer
MYSQL_SOCK=$MYSQL_RUN/mysqld.sock
REDIS_SOCK=$REDIS_RUN/redis.sock
ALIPAY=$VAR/alipay
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1

log() { printf 'stack: %s\n' "$*"; }

# What this `start` started, so that a failed start stops exactly that.
STARTED=()
die() { # message [log file whose last lines explain it]
    printf 'stack: %s\n' "$1" >&2
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        printf 'stack: last lines of %s:\n' "$2" >&2
        tail -n "${DF_LOG_LINES:-25}" "$2" | sed 's/^/    /' >&2
    fi
    if [ ${#STARTED[@]} -gt 0 ]; then
        printf 'stack: stopping what this start started: %s\n' "${STARTED[*]}" >&2
        local i
        for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do "stop_${STARTED[i]}" >/dev/null 2>&1 || true; done
    fi
    exit 1
}

pid_alive() { # pidfile
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pid() { # pidfile name [signal|uwsgi]: ask the process to stop, wait until it is gone
    local pid owner
    pid=$(cat "$1" 2>/dev/null) || return 0
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] && kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
    # a pidfile its server's user wrote may name any process: root signals
    # only one of that user's
    owner=$(stat -c %u "$1")
    if [ "$owner" != 0 ] && [ "$owner" != "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" ]; then
        log "$2: $1 names process $pid, which is not its owner's: left alone"
        rm -f "$1"
        return 0
    fi
    if [ "${3:-}" = uwsgi ]; then
        uwsgi --stop "$1" >/dev/null 2>&1 || true
    else
        kill "-${3:-TERM}" "$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
        sleep 0.1
    done
    log "$2 ($pid) did not stop in 15 s: killing it"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

# ---------------------------------------------------------------- users
# As root every server runs as a user of its own: the uWSGI instances and
# the local Alipay gateway as APP_USER (a system user made here), nginx's
# workers as WEB_USER, Redis as redis and MariaDB as mysql (their packages'
# users); only nginx's master stays root. Not root: all of them run as the
# caller, as before.
ensure_users() {
    local u
    if ! id -u "$APP_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$APP_USER" || die "cannot create the system user $APP_USER"
        log "created the system user $APP_USER (the uWSGI instances run as it)"
    fi
    for u in redis mysql "$WEB_USER"; do
        id -u "$u" >/dev/null 2>&1 || die "the user $u is missing (its Debian package makes it: make deps)"
    done
    # the app reaches Redis's socket (mode 770) through redis's group
    id -nG "$APP_USER" | tr ' ' '\n' | grep -qx redis || usermod -a -G redis "$APP_USER" ||
        die "cannot add $APP_USER to the group redis"
}

as_user_cmd() { # user -> AS_USER: the words that run a command as that user (and its groups) when root
    AS_USER=()
    [ $AS_ROOT = 1 ] && AS_USER=(setpriv --reuid="$(id -u "$1")" --regid="$(id -g "$1")" --init-groups --)
    return 0
}

as_user() { # user command...
    as_user_cmd "$1"
    shift
    "${AS_USER[@]}" "$@"
}

own() { # owner[:group] path...: when root
    [ $AS_ROOT = 1 ] || return 0
    chown "$@"
}

own_file() { # owner path: a file a server opens itself as that user
    [ -e "$2" ] || : >"$2"
    own "$1:" "$2"
}

# Directories, owned by whoever writes in them; earlier runs as root left
# everything root's, so the ownership is set again on every start.
DIRS_DONE=0
dirs() {
    mkdir -p "$RUN" "$LOG" "$VAR/redis" "$VAR/mysql" "$VAR/nginx" "$REDIS_RUN" "$MYSQL_RUN" "$UWSGI_RUN" "$SAN_LOG"
    [ $AS_ROOT = 1 ] && [ $DIRS_DONE = 0 ] || return 0
    DIRS_DONE=1
    ensure_users
    # mktemp -d makes 0700: the servers' users must get through
    chmod a+rx "$VAR" "$RUN" "$LOG"
    as_user "$APP_USER" test -x "$RUN/." ||
        die "$VAR cannot be reached by the servers' users ($APP_USER, $WEB_USER, redis, mysql): a directory above it is closed to others; choose a state directory they can reach, e.g. DF_VAR=/var/lib/dailyfresh"
    chown -R redis:redis "$VAR/redis" "$REDIS_RUN"
    chmod 750 "$VAR/redis" "$REDIS_RUN"
    chown -R mysql:mysql "$VAR/mysql" "$MYSQL_RUN"
    chmod 750 "$VAR/mysql"
    chmod 755 "$MYSQL_RUN"
    # the instances' sockets: only the app's user and nginx's group get in
    chown -R "$APP_USER:$(id -gn "$WEB_USER")" "$UWSGI_RUN"
    chmod 750 "$UWSGI_RUN"
    chown -R "$APP_USER:$APP_USER" "$SAN_LOG"
    chmod 750 "$SAN_LOG"
    chown -R "$WEB_USER:" "$VAR/nginx"
}

# ---------------------------------------------------------------- Redis
start_redis() {
    dirs
    if pid_alive "$REDIS_RUN/redis.pid"; then return 0; fi
    # Redis opens its log again for every line: the file is redis's
    own_file redis "$LOG/redis.log"
    # 770: the app's user is in redis's group
    cat > "$VAR/redis.conf" <<CONF
daemonize yes
port 0
unixsocket $REDIS_SOCK
unixsocketperm 770
pidfile $REDIS_RUN/redis.pid
logfile $LOG/redis.log
dir $VAR/redis
# durable: every write goes to the append-only file, fsynced before the
# command's reply is sent, so that a flash order answered res 5 survives a
# crash of the machine (docs/operations.md#durability)
appendonly yes
appendfsync always
save 300 1
CONF
    as_user redis redis-server "$VAR/redis.conf" || die "redis-server did not start" "$LOG/redis.log"
    STARTED+=(redis)
    for _ in $(seq 1 100); do
        # PONG only once the append-only file is loaded (LOADING before)
        [ "$(timeout 2 redis-cli -s "$REDIS_SOCK" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    die "redis did not answer within 10 s" "$LOG/redis.log"
}

stop_redis() {
    stop_pid "$REDIS_RUN/redis.pid" redis
}

# ---------------------------------------------------------------- MariaDB
mysql_root() {
    mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot "$@"
}

start_mysql() {
    dirs
    if pid_alive "$MYSQL_RUN/mysqld.pid"; then return 0; fi
    local user_opt=""
    # mariadbd started as root becomes mysql before it opens anything
    [ $AS_ROOT = 1 ] && user_opt="user = mysql"
    own_file mysql "$LOG/mysqld.log"
    local net="skip-networking"
    if [ -n "$MYSQL_PORT" ]; then
        [[ "$MYSQL_PORT" =~ ^[0-9]{1,5}$ ]] && [ "$MYSQL_PORT" -ge 1 ] && [ "$MYSQL_PORT" -le 65535 ] ||
            die "DF_MYSQL_PORT: '$MYSQL_PORT' is not a port"
        port_busy "$MYSQL_PORT" && die "port $MYSQL_PORT is taken by another program: choose another DF_MYSQL_PORT"
        net=$(printf 'bind-address = 127.0.0.1\nport = %s' "$MYSQL_PORT")
    fi
    cat > "$VAR/my.cnf" <<CONF
[mysqld]
$user_opt
datadir = $VAR/mysql
socket = $MYSQL_SOCK
pid-file = $MYSQL_RUN/mysqld.pid
log-error = $LOG/mysqld.log
$net
transaction-isolation = READ-COMMITTED
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 256M
# durable: a committed order is on disk before COMMIT answers
innodb_flush_log_at_trx_commit = 1
sync_binlog = 1
max_connections = 500
query_cache_type = 1
query_cache_size = 16M
CONF
    if [ ! -d "$VAR/mysql/mysql" ]; then
        log "initialising MariaDB data directory $VAR/mysql"
        timeout 120 mariadb-install-db --defaults-file="$VAR/my.cnf" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOG/mysql-install.log" 2>&1 || die "mariadb-install-db failed" "$LOG/mysql-install.log"
    fi
    # setsid -f: detached, holding none of our file descriptors
    setsid -f mariadbd --defaults-file="$VAR/my.cnf" </dev/null >>"$LOG/mysqld.log" 2>&1
    STARTED+=(mysql)
    for _ in $(seq 1 300); do
        timeout 2 mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot --connect-timeout=1 -e 'SELECT 1' \
            >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "mariadb did not answer within 30 s" "$LOG/mysqld.log"
}

stop_mysql() {
    stop_pid "$MYSQL_RUN/mysqld.pid" mariadb
}

load_schema() {
    local f db
    for f in database schema demo; do
        db=dailyfresh
        [ $f = database ] && db=
        timeout 60 mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot $db <"$ROOT/schema/$f.sql" >"$LOG/schema.log" 2>&1 ||
            die "loading schema/$f.sql failed" "$LOG/schema.log"
    done
}

# ---------------------------------------------------------------- uWSGI
# A plugin built with SANITIZE=1 needs the sanitizer runtimes loaded
# before uWSGI itself; reports go to var/log/sanitizer/asan.* and ubsan.*
# (a directory the instances' user writes in).
SAN_ENV=(env)
if [ "${SANITIZE:-0}" = 1 ]; then
    SAN_ENV=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        "ASAN_OPTIONS=detect_leaks=0:log_path=$SAN_LOG/asan:suppressions=$ROOT/test/asan.supp"
        "UBSAN_OPTIONS=print_stacktrace=1:log_path=$SAN_LOG/ubsan")
fi

port_busy() { # port [host]
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# Where each instance's log stood before this start: only what this start
# wrote counts as its crash.
declare -A LOG_MARK=()

# the instance's own socket: unix, or with DF_UWSGI_HOST that host's port
uwsgi_socket() { # name
    if [ -n "$UWSGI_HOST" ]; then echo "$UWSGI_HOST:$1"; else echo "$UWSGI_RUN/$1.sock"; fi
}

uwsgi_listens() { # name
    if [ -n "$UWSGI_HOST" ]; then port_busy "$1" "$UWSGI_HOST"; else [ -S "$UWSGI_RUN/$1.sock" ]; fi
}

# Root: uwsgi.ini's own users (DF_USER, DF_SOCKET_GROUP). Not root: the
# caller's, as numbers (no lookup of users this machine may not have).
uwsgi_user_args() {
    if [ $AS_ROOT = 1 ]; then
        UWSGI_USER_ARGS=()
    else
        UWSGI_USER_ARGS=(--uid "$(id -u)" --gid "$(id -g)" --chown-socket "$(id -u):$(id -g)")
    fi
}

# With DF_MYSQL_PORT the instances reach MariaDB over TCP on loopback.
MYSQL_ARGS=()
[ -n "$MYSQL_PORT" ] && MYSQL_ARGS=(--dailyfresh-mysql-socket "" --dailyfresh-mysql-host 127.0.0.1
    --dailyfresh-mysql-port "$MYSQL_PORT")

start_uwsgi() {
    local port
    dirs
    alipay_args
    uwsgi_user_args
    for port in $UWSGI_PORTS; do
        [[ "$port" =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
            die "DF_UWSGI_PORTS: '$port' is not an instance name (letters, digits, _ and -)"
        if pid_alive "$RUN/uwsgi-$port.pid"; then continue; fi
        if [ -n "$UWSGI_HOST" ]; then
            port_busy "$port" "$UWSGI_HOST" &&
                die "port $port of $UWSGI_HOST is taken by another program: choose others with DF_UWSGI_PORTS"
        else
            rm -f "$UWSGI_RUN/$port.sock" # left by an instance that did not stop
        fi
        LOG_MARK[$port]=$(stat -c %s "$LOG/uwsgi-$port.log" 2>/dev/null || echo 0)
        # --plugins-dir before --ini is searched before the ini's own
        # shellcheck disable=SC2086 # DF_UWSGI_ARGS is a list of words
        DF_VAR="$VAR" DF_PORT="$port" DF_SOCKET="$(uwsgi_socket "$port")" DF_USER="$APP_USER" \
            DF_SOCKET_GROUP="$(id -gn "$WEB_USER" 2>/dev/null || id -gn)" "${SAN_ENV[@]}" \
            uwsgi --plugins-dir "$BUILD" --ini "$ROOT/uwsgi.ini" "${UWSGI_USER_ARGS[@]}" \
            "${ALIPAY_ARGS[@]}" "${MYSQL_ARGS[@]}" ${DF_UWSGI_ARGS:-} || die "uwsgi on $port did not start" "$LOG/uwsgi-$port.log"
        [[ " ${STARTED[*]} " = *" uwsgi "* ]] || STARTED+=(uwsgi)
    done
    # uwsgi daemonizes before it binds: see that each master lives and listens
    for port in $UWSGI_PORTS; do
        for _ in $(seq 1 100); do
            pid_alive "$RUN/uwsgi-$port.pid" && uwsgi_listens "$port" && continue 2
            uwsgi_crashed "$port" && die "uwsgi on $port failed at start" "$LOG/uwsgi-$port.log"
            sleep 0.1
        done
        die "uwsgi on $port did not come up within 10 s" "$LOG/uwsgi-$port.log"
    done
}

# A worker that dies at start is respawned by its master for ever: the
# log says so long before any health check could give up.
uwsgi_crashed() { # port -> 0 when this start's part of its log shows a dead worker
    local f=$LOG/uwsgi-$1.log
    [ -n "${LOG_MARK[$1]:-}" ] && [ -e "$f" ] || return 1
    tail -c +"$((LOG_MARK[$1] + 1))" "$f" | grep -q -e 'DAMN ! worker' -e 'dailyfresh: the plugin does not match'
}

stop_uwsgi() {
    local pidfile
    for pidfile in "$RUN"/uwsgi-*.pid; do
        [ -e "$pidfile" ] || continue
        # uwsgi --stop: the master stops its workers, which run their atexit
        stop_pid "$pidfile" "$(basename "$pidfile" .pid)" uwsgi
    done
}

# ---------------------------------------------------------------- Alipay
# Unless DF_ALIPAY_GATEWAY names a real gateway, payments go to the local
# one (test/fakes/alipay_gateway.py, a test double make run starts too) with
# keys made here once.
alipay_local() { [ -z "${DF_ALIPAY_GATEWAY:-}" ]; }

alipay_keys() { # scripts/alipay-keys.sh local: made once under $ALIPAY
    local out
    # the instances read the app's key, the local gateway (run as the same
    # user) its own: as root, the directory is APP_USER's
    out=$("$ROOT/scripts/alipay-keys.sh" local "$ALIPAY" "$LOG/alipay-keys.log" "$APP_USER" 2>&1) ||
        die "${out:-scripts/alipay-keys.sh failed}" "$LOG/alipay-keys.log"
}

# The uwsgi options that point the instances at the gateway, in ALIPAY_ARGS.
ALIPAY_ARGS=()
# the local gateway on this host's loopback at gateway_port, for a shop whose
# URL (as the buyer's browser and the gateway reach it) is shop_url
local_alipay_args() { # gateway_port shop_url (ending in /)
    alipay_keys
    ALIPAY_ARGS=(--dailyfresh-alipay-gateway "http://127.0.0.1:$1/gateway.do"
        --dailyfresh-alipay-app-id "$(cat "$ALIPAY/app_id")"
        --dailyfresh-alipay-app-private-key "$ALIPAY/app_private.pem"
        --dailyfresh-alipay-public-key "$ALIPAY/alipay_public.pem"
        --dailyfresh-alipay-notify-url "${2}order/notify"
        --dailyfresh-alipay-return-url "${2}order/return")
}

alipay_args() {
    if alipay_local; then
        dirs
        local_alipay_args "$ALIPAY_PORT" "http://127.0.0.1:$HTTP_PORT/"
        return 0
    fi
    local out
    out=$("$ROOT/scripts/alipay-keys.sh" real 2>&1) || die "${out:-scripts/alipay-keys.sh failed}"
    ALIPAY_ARGS=(--dailyfresh-alipay-gateway "$DF_ALIPAY_GATEWAY"
        --dailyfresh-alipay-app-id "$DF_ALIPAY_APP_ID"
        --dailyfresh-alipay-app-private-key "$DF_ALIPAY_APP_PRIVATE_KEY"
        --dailyfresh-alipay-public-key "$DF_ALIPAY_PUBLIC_KEY"
        --dailyfresh-alipay-notify-url "$DF_ALIPAY_NOTIFY_URL"
        --dailyfresh-alipay-return-url "$DF_ALIPAY_RETURN_URL")
}

gateway_answers() {
    curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ALIPAY_PORT/_control/health" 2>/dev/null |
        grep -q '^200$'
}

start_gateway() {
    dirs
    alipay_local || { log "DF_ALIPAY_GATEWAY is set: no local Alipay gateway"; return 0; }
    if pid_alive "$RUN/alipay-gateway.pid"; then return 0; fi
    [[ "$ALIPAY_PORT" =~ ^[1-9][0-9]{0,4}$ ]] && [ "$ALIPAY_PORT" -le 65535 ] ||
        die "DF_ALIPAY_PORT '$ALIPAY_PORT' is not a port from 1 to 65535"
    alipay_keys
    port_busy "$ALIPAY_PORT" &&
        die "port $ALIPAY_PORT is taken by another program: choose another with DF_ALIPAY_PORT"
    local glog=$LOG/alipay-gateway.log mark
    mark=$(stat -c %s "$glog" 2>/dev/null || echo 0)
    # it writes its log and pidfile itself, as the app's user
    own_file "$APP_USER" "$glog"
    rm -f "$RUN/alipay-gateway.pid"
    own_file "$APP_USER" "$RUN/alipay-gateway.pid"
    # setsid -f: detached, holding none of our file descriptors; it writes
    # its pidfile once it listens (its log and its stderr: the same file)
    # shellcheck disable=SC2094
    # a checkout its user cannot read (under /root): it runs a copy
    local script=$ROOT/test/fakes/alipay_gateway.py
    if ! as_user "$APP_USER" test -r "$script"; then
        install -m 644 "$script" "$ALIPAY/alipay_gateway.py" || die "cannot copy $script to $ALIPAY"
        script=$ALIPAY/alipay_gateway.py
    fi
    as_user_cmd "$APP_USER"
    setsid -f "${AS_USER[@]}" "$PY" "$script" --port "$ALIPAY_PORT" \
        --app-id "$(cat "$ALIPAY/app_id")" \
        --alipay-private-key "$ALIPAY/alipay_private.pem" --app-public-key "$ALIPAY/app_public.pem" \
        --state "$ALIPAY/trades.json" --notify-url "http://127.0.0.1:$HTTP_PORT/order/notify" \
        --pidfile "$RUN/alipay-gateway.pid" --log "$glog" </dev/null >>"$glog" 2>&1
    STARTED+=(gateway)
    echo "$ALIPAY_PORT" >"$RUN/alipay-gateway.port"
    for _ in $(seq 1 100); do
        pid_alive "$RUN/alipay-gateway.pid" && gateway_answers && return 0
        # it exits at once on a missing module, an unreadable key or a taken port
        tail -c +"$((mark + 1))" "$glog" 2>/dev/null | grep -q -e 'Traceback' -e 'cannot start' -e 'cannot listen' &&
            die "the local Alipay gateway failed at start" "$glog"
        sleep 0.1
    done
    die "the local Alipay gateway did not answer on 127.0.0.1:$ALIPAY_PORT within 10 s" "$glog"
}

stop_gateway() {
    stop_pid "$RUN/alipay-gateway.pid" alipay-gateway
    rm -f "$RUN/alipay-gateway.port"
}

# ---------------------------------------------------------------- nginx
# nginx.conf's request rates and bursts (per client address), or DF_LIMIT_*:
# RATE[zone] and BURST[zone]
declare -A RATE=([login]=20r/m [register]=6r/m [commit]=60r/m) BURST=([login]=10 [register]=5 [commit]=20)
limit_args() {
    local zone var v
    for zone in login register commit; do
        var=DF_LIMIT_${zone^^}_RATE
        v=${!var:-}
        if [ -n "$v" ]; then
            [[ "$v" =~ ^[1-9][0-9]{0,6}r/[sm]$ ]] || die "$var '$v' is not a rate like 20r/m or 100r/s"
            RATE[$zone]=$v
        fi
        var=DF_LIMIT_${zone^^}_BURST
        v=${!var:-}
        if [ -n "$v" ]; then
            [[ "$v" =~ ^[0-9]{1,6}$ ]] || die "$var '$v' is not a whole number of requests"
            BURST[$zone]=$v
        fi
    done
}

# The static/ nginx serves: the checkout's, or, when nginx's user cannot
# read all of it (a checkout under /root), a copy under var/ made again at
# every start.
STATIC=$ROOT/static
static_dir() {
    STATIC=$ROOT/static
    [ $AS_ROOT = 1 ] || return 0
    local closed
    if closed=$(as_user "$WEB_USER" find "$ROOT/static/" \( ! -readable -o -type d ! -executable \) -print -quit 2>&1) &&
        [ -z "$closed" ]; then
        rm -rf "$VAR/static" # a copy an earlier start needed
        return 0
    fi
    rm -rf "$VAR/static.new"
    cp -R "$ROOT/static" "$VAR/static.new" && chmod -R a+rX "$VAR/static.new" || die "cannot copy static/ to $VAR"
    rm -rf "$VAR/static"
    mv "$VAR/static.new" "$VAR/static"
    STATIC=$VAR/static
    log "$WEB_USER cannot read all of $ROOT/static: nginx serves a copy, $STATIC"
}

# var/nginx.conf: nginx.conf's settings for this stack (its port, state
# directory, instances and DF_* values), including copies of the files
# nginx.conf includes, made again at every start so that a running nginx
# never reads a half-edited checkout. nginx's prefix is the directory that
# holds the static/ it serves.
NGINX_INCLUDES=(nginx-http.conf nginx-server.conf nginx-app.conf)

# The upstream's servers, one word each: DF_UWSGI_UPSTREAM's instances on
# other hosts, else this stack's own (unix sockets, or DF_UWSGI_HOST's ports)
upstream_servers() {
    local port addr
    if [ -n "${DF_UWSGI_UPSTREAM:-}" ]; then
        for addr in $DF_UWSGI_UPSTREAM; do
            [[ "$addr" =~ ^[A-Za-z0-9.-]+:[1-9][0-9]{0,4}$ ]] ||
                die "DF_UWSGI_UPSTREAM: '$addr' is not an address:port"
            echo "$addr"
        done
        return 0
    fi
    for port in $UWSGI_PORTS; do
        addr=$(uwsgi_socket "$port")
        [ -n "$UWSGI_HOST" ] || addr=unix:$addr
        echo "$addr"
    done
}

# nginx.conf's defaults, or DF_UWSGI_CONNECT_TIMEOUT / _MAX_FAILS / _FAIL_TIMEOUT
upstream_args() {
    UPSTREAM_CONNECT_TIMEOUT=${DF_UWSGI_CONNECT_TIMEOUT:-2s}
    UPSTREAM_MAX_FAILS=${DF_UWSGI_MAX_FAILS:-3}
    UPSTREAM_FAIL_TIMEOUT=${DF_UWSGI_FAIL_TIMEOUT:-5s}
    [[ "$UPSTREAM_CONNECT_TIMEOUT" =~ ^[1-9][0-9]{0,5}(ms|s)$ ]] ||
        die "DF_UWSGI_CONNECT_TIMEOUT '$UPSTREAM_CONNECT_TIMEOUT' is not a time like 250ms or 2s"
    [[ "$UPSTREAM_MAX_FAILS" =~ ^[0-9]{1,4}$ ]] ||
        die "DF_UWSGI_MAX_FAILS '$UPSTREAM_MAX_FAILS' is not a whole number of tries"
    [[ "$UPSTREAM_FAIL_TIMEOUT" =~ ^[1-9][0-9]{0,5}(ms|s)$ ]] ||
        die "DF_UWSGI_FAIL_TIMEOUT '$UPSTREAM_FAIL_TIMEOUT' is not a time like 500ms or 5s"
    [[ "$HTTP_ADDR" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "DF_HTTP_ADDR '$HTTP_ADDR' is not an IPv4 address"
}
render_nginx() {
    local addr f workers=auto user="" rlimit=40000 hard
    [ -n "${DF_NGINX_WORKERS:-}" ] && workers=$DF_NGINX_WORKERS
    # the workers' user: only a master started as root can switch to it
    [ $AS_ROOT = 1 ] && user="user $WEB_USER;"
    # nginx sets its workers' descriptor limit, soft and hard: never above
    # what this machine lets a process have
    hard=$(ulimit -Hn)
    [ "$hard" != unlimited ] && [ "$hard" -lt $rlimit ] && rlimit=$hard
    limit_args
    upstream_args
    static_dir
    for f in "${NGINX_INCLUDES[@]}"; do
        install -m 644 "$ROOT/$f" "$VAR/$f.new" && mv "$VAR/$f.new" "$VAR/$f" || die "cannot copy $f to $VAR"
    done
    {
        cat <<CONF
# rendered by scripts/stack.sh from DF_* (nginx.conf holds the defaults)
$user
worker_processes $workers;
pid $RUN/nginx.pid;
error_log $LOG/nginx-error.log warn;
worker_rlimit_nofile $rlimit;

events {
    worker_connections 16384;
}

http {
    include nginx-http.conf;
    access_log $LOG/nginx-access.log df_combined buffer=64k flush=1s;

    client_body_temp_path $VAR/nginx/client_body;
    uwsgi_temp_path $VAR/nginx/uwsgi;
    proxy_temp_path $VAR/nginx/proxy;
    fastcgi_temp_path $VAR/nginx/fastcgi;
    scgi_temp_path $VAR/nginx/scgi;

    limit_req_zone \$df_limit_login zone=df_login:10m rate=${RATE[login]};
    limit_req_zone \$df_limit_register zone=df_register:10m rate=${RATE[register]};
    limit_req_zone \$df_limit_commit zone=df_commit:10m rate=${RATE[commit]};

    upstream dailyfresh {
CONF
        for addr in $(upstream_servers); do
            echo "        server $addr max_fails=$UPSTREAM_MAX_FAILS fail_timeout=$UPSTREAM_FAIL_TIMEOUT;"
        done
        cat <<CONF
    }
    uwsgi_connect_timeout $UPSTREAM_CONNECT_TIMEOUT;

    server {
        listen $HTTP_ADDR:$HTTP_PORT;

        limit_req zone=df_login burst=${BURST[login]} nodelay;
        limit_req zone=df_register burst=${BURST[register]} nodelay;
        limit_req zone=df_commit burst=${BURST[commit]} nodelay;

        include nginx-server.conf;
    }
}
CONF
    } >"$VAR/nginx.conf.new" && mv "$VAR/nginx.conf.new" "$VAR/nginx.conf" || die "cannot write $VAR/nginx.conf"
}

start_nginx() {
    dirs
    render_nginx
    local args=(-p "${STATIC%/static}/" -e "$LOG/nginx-error.log" -c "$VAR/nginx.conf")
    nginx -t -q "${args[@]}" 2>>"$LOG/nginx-error.log" \
        || die "nginx configuration test failed (see $LOG/nginx-error.log)"
    if pid_alive "$RUN/nginx.pid"; then
        nginx "${args[@]}" -s reload || die "nginx did not reload" "$LOG/nginx-error.log"
    else
        nginx "${args[@]}" || die "nginx did not start" "$LOG/nginx-error.log"
        STARTED+=(nginx)
    fi
}

stop_nginx() {
    stop_pid "$RUN/nginx.pid" nginx QUIT
}

# ---------------------------------------------------------------- connection cap
# Open connections to nginx's port per client address, counted by conntrack
# from the SYN on: a held connection counts before nginx has read a byte of
# it. One table per stack, named after its HTTP port.
NFT_TABLE=dailyfresh_$HTTP_PORT

nft_usable() {
    [ $AS_ROOT = 1 ] && command -v nft >/dev/null
}

start_conncap() {
    [[ "$CONN_PER_ADDR" =~ ^[0-9]{1,6}$ ]] || die "DF_CONN_PER_ADDR '$CONN_PER_ADDR' is not a whole number of connections"
    if [ "$CONN_PER_ADDR" = 0 ]; then
        log "connections per client address: not capped (DF_CONN_PER_ADDR=0)"
        return 0
    fi
    if ! nft_usable; then
        log "connections per client address: not capped (needs root and nft); nginx's timeouts only"
        return 0
    fi
    local rule="tcp dport $HTTP_PORT ct state new add" out
    # created empty first so that delete never fails: the old table, if
    # any, goes in the same transaction
    if ! out=$(nft -f - 2>&1 <<NFT
table inet $NFT_TABLE {
}
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
    set addr4 {
        type ipv4_addr
        size 65535
        flags dynamic
    }
    set addr6 {
        type ipv6_addr
        size 65535
        flags dynamic
    }
    chain input {
        type filter hook input priority filter; policy accept;
        $rule @addr4 { ip saddr ct count over $CONN_PER_ADDR } reject with tcp reset
        $rule @addr6 { ip6 saddr ct count over $CONN_PER_ADDR } reject with tcp reset
    }
}
NFT
    ); then
        log "connections per client address: not capped (nft refused the table: ${out//$'\n'/ })"
        return 0
    fi
    STARTED+=(conncap)
    log "connections per client address: at most $CONN_PER_ADDR on port $HTTP_PORT (nftables table inet $NFT_TABLE)"
}

stop_conncap() {
    nft_usable || return 0
    nft list table inet "$NFT_TABLE" >/dev/null 2>&1 || return 0
    nft delete table inet "$NFT_TABLE"
}

# Every wait is bounded: each probe by curl's --max-time, all of them by
# DF_START_TIMEOUT seconds (60).
wait_healthy() {
    local url="http://127.0.0.1:$HTTP_PORT/healthz" port body=""
    local deadline=$((SECONDS + ${DF_START_TIMEOUT:-60}))
    while [ $SECONDS -lt $deadline ]; do
        for port in $UWSGI_PORTS; do
            uwsgi_crashed "$port" && die "uwsgi on $port: its workers die at start" "$LOG/uwsgi-$port.log"
            pid_alive "$RUN/uwsgi-$port.pid" || die "uwsgi on $port exited" "$LOG/uwsgi-$port.log"
        done
        pid_alive "$RUN/nginx.pid" || die "nginx exited" "$LOG/nginx-error.log"
        body=$(curl -s --max-time 2 -w ' HTTP %{http_code}' "$url" 2>/dev/null) || true
        case "$body" in *' HTTP 200') return 0 ;; esac
        sleep 0.3
    done
    printf 'stack: %s answered: %s\n' "$url" "${body:-nothing}" >&2
    die "$url did not answer 200 within ${DF_START_TIMEOUT:-60} s" "$LOG/uwsgi-${UWSGI_PORTS%% *}.log"
}

# scripts/cluster.sh sources this file for its functions
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
    start)
        [ -f "$BUILD/dailyfresh_plugin.so" ] || die "no plugin in $BUILD: build first (make)"
        alipay_args # a real gateway's settings are complete before anything starts
        start_redis
        start_mysql
        load_schema
        start_gateway
        start_uwsgi
        start_conncap
        start_nginx
        wait_healthy
        if alipay_local; then
            log "payments: local Alipay gateway, cashier and trades at http://127.0.0.1:$ALIPAY_PORT/"
        else
            log "payments: $DF_ALIPAY_GATEWAY"
        fi
        log "state in $VAR; API checks: /healthz, /api/index"
        log "dailyfresh is up: http://127.0.0.1:$HTTP_PORT/"
        log "demo account: demo / dailyfresh"
        ;;
    stop)
        stop_nginx
        stop_conncap
        stop_uwsgi
        stop_gateway
        stop_mysql
        stop_redis
        log "stopped"
        ;;
    status)
        for f in "$RUN"/*.pid "$RUN"/*/*.pid; do
            [ -e "$f" ] || continue
            if pid_alive "$f"; then echo "$(basename "$f" .pid): running ($(cat "$f"))"; else echo "$(basename "$f" .pid): stale pidfile"; fi
            if [ "$f" = "$RUN/alipay-gateway.pid" ] && [ -s "$RUN/alipay-gateway.port" ]; then
                echo "alipay-gateway: http://127.0.0.1:$(cat "$RUN/alipay-gateway.port")/ (cashier, trades; /gateway.do)"
            fi
        done
        ;;
    start-redis) start_redis ;;
    stop-redis) stop_redis ;;
    start-mysql) start_mysql ;;
    stop-mysql) stop_mysql ;;
    start-uwsgi) start_uwsgi ;;
    start-nginx) start_nginx ;; # renders the configuration again; reloads a running nginx
    stop-nginx) stop_nginx ;;
    start-conncap) start_conncap ;;
    stop-conncap) stop_conncap ;;
    stop-uwsgi) stop_uwsgi ;;
    end-sessions) exec "$ROOT/scripts/ops.sh" "$@" ;; # an operator's command, kept here for old scripts
    start-gateway) start_gateway ;;
    stop-gateway) stop_gateway ;;
    *) die "usage: $0 start|stop|status|start-redis|stop-redis|start-mysql|stop-mysql|start-uwsgi|stop-uwsgi|start-nginx|stop-nginx|start-conncap|stop-conncap|start-gateway|stop-gateway|end-sessions USER_ID" ;;
esac
