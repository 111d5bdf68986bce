#!/usr/bin/env bash
# The local dailyfresh stack: Redis, MariaDB, the uWSGI instances and nginx,
# all state, logs, sockets and pidfiles under one directory.
#
#   scripts/stack.sh start | stop | status
#   scripts/stack.sh start-redis | stop-redis | start-mysql | stop-mysql
#
# Environment (all optional):
#   DF_VAR          state directory            (default: <repo>/var)
#   DF_HTTP_PORT    nginx port                 (default: 8000)
#   DF_UWSGI_PORTS  uWSGI ports, space separated (default: "8080 8081")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${DF_VAR:-$ROOT/var}
HTTP_PORT=${DF_HTTP_PORT:-8000}
UWSGI_PORTS=${DF_UWSGI_PORTS:-"8080 8081"}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)
RUN=$VAR/run
LOG=$VAR/log
MYSQL_SOCK=$RUN/mysqld.sock
REDIS_SOCK=$RUN/redis.sock

log() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

pid_alive() { # pidfile
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pid() { # pidfile name [signal|uwsgi]: ask the process to stop, wait until it is gone
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
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

dirs() {
    mkdir -p "$RUN" "$LOG" "$VAR/redis" "$VAR/mysql" "$VAR/nginx"
}

# ---------------------------------------------------------------- Redis
start_redis() {
    dirs
    if pid_alive "$RUN/redis.pid"; then return 0; fi
    cat > "$VAR/redis.conf" <<CONF
daemonize yes
port 0
unixsocket $REDIS_SOCK
unixsocketperm 700
pidfile $RUN/redis.pid
logfile $LOG/redis.log
dir $VAR/redis
save 300 1
appendonly no
CONF
    redis-server "$VAR/redis.conf"
    for _ in $(seq 1 100); do
        redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "redis did not start (see $LOG/redis.log)"
}

stop_redis() {
    stop_pid "$RUN/redis.pid" redis
}

# ---------------------------------------------------------------- MariaDB
mysql_root() {
    mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot "$@"
}

start_mysql() {
    dirs
    if pid_alive "$RUN/mysqld.pid"; then return 0; fi
    local user_opt=""
    [ "$(id -u)" = 0 ] && user_opt="user = root"
    cat > "$VAR/my.cnf" <<CONF
[mysqld]
$user_opt
datadir = $VAR/mysql
socket = $MYSQL_SOCK
pid-file = $RUN/mysqld.pid
log-error = $LOG/mysqld.log
skip-networking
transaction-isolation = READ-COMMITTED
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
max_connections = 500
query_cache_type = 1
query_cache_size = 16M
CONF
    if [ ! -d "$VAR/mysql/mysql" ]; then
        log "initialising MariaDB data directory $VAR/mysql"
        mariadb-install-db --defaults-file="$VAR/my.cnf" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOG/mysql-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mysql-install.log)"
    fi
    # setsid -f: detached, holding none of our file descriptors
    setsid -f mariadbd --defaults-file="$VAR/my.cnf" </dev/null >>"$LOG/mysqld.log" 2>&1
    for _ in $(seq 1 300); do
        mysql_root -e 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "mariadb did not start (see $LOG/mysqld.log)"
}

stop_mysql() {
    stop_pid "$RUN/mysqld.pid" mariadb
}

load_schema() {
    mysql_root < "$ROOT/schema/database.sql"
    mysql_root dailyfresh < "$ROOT/schema/schema.sql"
    mysql_root dailyfresh < "$ROOT/schema/demo.sql"
}

# ---------------------------------------------------------------- uWSGI
# A plugin built with SANITIZE=1 needs the sanitizer runtimes loaded
# before uWSGI itself; reports go to var/log/asan.* and ubsan.*.
SAN_ENV=(env)
if [ "${SANITIZE:-0}" = 1 ]; then
    SAN_ENV=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        "ASAN_OPTIONS=detect_leaks=0:log_path=$LOG/asan:suppressions=$ROOT/test/asan.supp"
        "UBSAN_OPTIONS=print_stacktrace=1:log_path=$LOG/ubsan")
fi

port_busy() { # port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_uwsgi() {
    local port
    for port in $UWSGI_PORTS; do
        if pid_alive "$RUN/uwsgi-$port.pid"; then continue; fi
        port_busy "$port" && die "port $port is taken by another program: choose others with DF_UWSGI_PORTS"
        DF_VAR="$VAR" DF_PORT="$port" "${SAN_ENV[@]}" uwsgi --ini "$ROOT/uwsgi.ini" \
            || die "uwsgi on $port did not start (see $LOG/uwsgi-$port.log)"
    done
    # uwsgi daemonizes before it binds: see that each master lives and listens
    for port in $UWSGI_PORTS; do
        for _ in $(seq 1 100); do
            pid_alive "$RUN/uwsgi-$port.pid" && port_busy "$port" && continue 2
            sleep 0.1
        done
        tail -n 5 "$LOG/uwsgi-$port.log" >&2 || true
        die "uwsgi on $port did not come up (see $LOG/uwsgi-$port.log)"
    done
}

stop_uwsgi() {
    local pidfile
    for pidfile in "$RUN"/uwsgi-*.pid; do
        [ -e "$pidfile" ] || continue
        # uwsgi --stop: the master stops its workers, which run their atexit
        stop_pid "$pidfile" "$(basename "$pidfile" .pid)" uwsgi
    done
}

# ---------------------------------------------------------------- nginx
render_nginx() {
    local servers="" port
    for port in $UWSGI_PORTS; do
        servers+="        server 127.0.0.1:$port max_fails=3 fail_timeout=5s;\\n"
    done
    # the instance lines are replaced by one line per port in DF_UWSGI_PORTS
    sed -e "s#listen 127.0.0.1:8000;#listen 127.0.0.1:$HTTP_PORT;#" \
        -e "s#alias static/;#alias $ROOT/static/;#" \
        -e "s# var/# $VAR/#g" \
        -e "/# instance\$/d" \
        -e "s#^\(    upstream dailyfresh {\)\$#\1\\n$servers#" \
        "$ROOT/nginx.conf" > "$VAR/nginx.conf"
}

start_nginx() {
    dirs
    render_nginx
    local args=(-p "$VAR/" -c "$VAR/nginx.conf")
    # workers must read static/ and write var/ whoever owns the checkout
    [ "$(id -u)" = 0 ] && args+=(-g "user root;")
    nginx -t -q "${args[@]}" 2>>"$LOG/nginx-error.log" \
        || die "nginx configuration test failed (see $LOG/nginx-error.log)"
    if pid_alive "$RUN/nginx.pid"; then
        nginx "${args[@]}" -s reload
    else
        nginx "${args[@]}"
    fi
}

stop_nginx() {
    stop_pid "$RUN/nginx.pid" nginx QUIT
}

wait_healthy() {
    local url="http://127.0.0.1:$HTTP_PORT/healthz"
    for _ in $(seq 1 150); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; then return 0; fi
        sleep 0.2
    done
    curl -s "$url" || true
    die "$url did not answer 200 within 30 s (logs in $LOG)"
}

case "${1:-}" in
    start)
        [ -x "$ROOT/build/dailyfresh_plugin.so" ] || [ -f "$ROOT/build/dailyfresh_plugin.so" ] || die "build first: make"
        start_redis
        start_mysql
        load_schema
        start_uwsgi
        start_nginx
        wait_healthy
        log "dailyfresh is up: http://127.0.0.1:$HTTP_PORT/  (try /healthz, /index, /goods/1; state in $VAR)"
        ;;
    stop)
        stop_nginx
        stop_uwsgi
        stop_mysql
        stop_redis
        log "stopped"
        ;;
    status)
        for f in "$RUN"/*.pid; do
            [ -e "$f" ] || continue
            if pid_alive "$f"; then echo "$(basename "$f" .pid): running ($(cat "$f"))"; else echo "$(basename "$f" .pid): stale pidfile"; fi
        done
        ;;
    start-redis) start_redis ;;
    stop-redis) stop_redis ;;
    start-mysql) start_mysql ;;
    stop-mysql) stop_mysql ;;
    start-uwsgi) start_uwsgi ;;
    stop-uwsgi) stop_uwsgi ;;
    *) die "usage: $0 start|stop|status|start-redis|stop-redis|start-mysql|stop-mysql|start-uwsgi|stop-uwsgi" ;;
esac
