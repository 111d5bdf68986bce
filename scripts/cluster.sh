#!/usr/bin/env bash
# A lab of hosts on this machine: each host a network namespace, all of
# them plugged into one bridge (in a "switch" namespace of its own), and
# the shop spread over them as it would be over real machines:
#
#   data1..3   Redis (data1 the master, the others its replicas), a
#              Sentinel, a Galera node (data1 bootstraps the cluster)
#   app1..N    one uWSGI instance each (uwsgi.ini, settings through env)
#   web        nginx, the instances as its upstream
#   client     nothing: load generators run here (ip netns exec)
#
#   scripts/cluster.sh start | stop | status
#   scripts/cluster.sh restart HOST KIND   start one piece again after a fault
#                                          (KIND redis, sentinel, galera, uwsgi, nginx)
#
# Root only. Every host's state, logs and pidfiles are under
# $DF_VAR/cluster/<host>/, and $DF_VAR/cluster/lab.json names every host
# (namespace, address, its port on the switch) and every service (kind,
# port, pidfile). A start begins from empty data directories; stop ends
# every daemon by its pidfile, deletes the namespaces and the one link the
# root namespace got (the way in from this machine), and can be run after
# a partial start or twice; it leaves the hosts' directories (logs, data)
# for a look afterwards, which the next start clears.
#
# Environment (all optional, besides stack.sh's DF_VAR, DF_BUILD,
# DF_APP_USER, DF_NGINX_USER, DF_UWSGI_ARGS, DF_LIMIT_*):
#   DF_CLUSTER_PREFIX  the namespaces' prefix           (default: dfl-)
#   DF_CLUSTER_NET     the lab's /24, its first three numbers (default: 10.77.0)
#   DF_CLUSTER_APPS    app hosts, 1 to 3                 (default: 2)
#   DF_UWSGI_CONNECT_TIMEOUT, DF_UWSGI_MAX_FAILS, DF_UWSGI_FAIL_TIMEOUT
#                      nginx's upstream in the lab (default: 250ms, 1, 3s)
#   DF_CLUSTER_TIMEOUT seconds each server has to become ready (default: 60)
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "cluster: the lab needs root (network namespaces, servers run as their own users): run it as root" >&2
    exit 1
fi

# shellcheck source=scripts/stack.sh
. "$(cd "$(dirname "$0")" && pwd)/stack.sh"

PREFIX=${DF_CLUSTER_PREFIX:-dfl-}
NET=${DF_CLUSTER_NET:-10.77.0}
APPS=${DF_CLUSTER_APPS:-2}
READY_TIMEOUT=${DF_CLUSTER_TIMEOUT:-60}
C=$VAR/cluster
SW=${PREFIX}sw
ROOT_LINK=${PREFIX}root
MASTER_NAME=dailyfresh
REDIS_PORT=6379
SENTINEL_PORT=26379
MYSQL_PORT=3306
UWSGI_PORT=8080
WEB_PORT=80
GATEWAY_PORT=8090
GALERA=/usr/lib/galera/libgalera_smm.so
# the lab's faults are meant to be seen in seconds: a Galera node that stops
# answering is suspected after 1 s (production: PT5S), declared gone after
# 2 s; keepalives and checks come often enough to notice within that
GALERA_EVS="evs.keepalive_period=PT0.2S; evs.inactive_check_period=PT0.2S; evs.suspect_timeout=PT1S; evs.inactive_timeout=PT2S; evs.install_timeout=PT2S"
export DF_UWSGI_CONNECT_TIMEOUT=${DF_UWSGI_CONNECT_TIMEOUT:-250ms}
export DF_UWSGI_MAX_FAILS=${DF_UWSGI_MAX_FAILS:-1}
export DF_UWSGI_FAIL_TIMEOUT=${DF_UWSGI_FAIL_TIMEOUT:-3s}
# every buyer of a load run comes from the client host's one address:
# nginx's per-address rates would refuse them, not a fault
for zone in LOGIN REGISTER COMMIT; do
    v=DF_LIMIT_${zone}_RATE
    export "$v=${!v:-100000r/s}"
    v=DF_LIMIT_${zone}_BURST
    export "$v=${!v:-100000}"
done

[[ "$NET" =~ ^(10\.[0-9]{1,3}\.[0-9]{1,3}|192\.168\.[0-9]{1,3})$ ]] ||
    { echo "cluster: DF_CLUSTER_NET '$NET' is not the first three numbers of a private /24 (10.x.y)" >&2; exit 1; }
[[ "$APPS" =~ ^[1-3]$ ]] || { echo "cluster: DF_CLUSTER_APPS '$APPS' is not 1, 2 or 3" >&2; exit 1; }
[[ "$PREFIX" =~ ^[a-z][a-z0-9]{0,6}-$ ]] ||
    { echo "cluster: DF_CLUSTER_PREFIX '$PREFIX' is not a short name ending in -" >&2; exit 1; }

DATA_HOSTS=(data1 data2 data3)
APP_HOSTS=()
for ((i = 1; i <= APPS; i++)); do APP_HOSTS+=("app$i"); done
HOSTS=("${DATA_HOSTS[@]}" "${APP_HOSTS[@]}" web client)
declare -A ADDR=([data1]=$NET.11 [data2]=$NET.12 [data3]=$NET.13 [app1]=$NET.21 [app2]=$NET.22 [app3]=$NET.23
    [web]=$NET.30 [client]=$NET.40)
ROOT_ADDR=$NET.1
URL=http://${ADDR[web]}/

log() { printf 'cluster: %s\n' "$*"; }

# A failed start takes down all of the lab it built.
STARTING=0
die() { # message [log file whose last lines explain it]
    printf 'cluster: %s\n' "$1" >&2
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        printf 'cluster: last lines of %s:\n' "$2" >&2
        tail -n "${DF_LOG_LINES:-25}" "$2" | sed 's/^/    /' >&2
    fi
    if [ $STARTING = 1 ]; then
        STARTING=0
        printf 'cluster: stopping the partial lab\n' >&2
        cluster_stop >/dev/null 2>&1 || true
    fi
    exit 1
}

ns() { echo "$PREFIX$1"; }
in_ns() { # host command...
    local host=$1
    shift
    ip netns exec "$(ns "$host")" "$@"
}
hdir() { echo "$C/$1"; }

wait_for() { # seconds command...: runs command until it succeeds, at most that long
    local deadline=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# ---------------------------------------------------------------- network
lab_namespaces() {
    ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$PREFIX" || true
}

start_network() {
    local host n
    ip -n "$SW" link set lo up
    ip -n "$SW" link add br0 type bridge
    ip -n "$SW" link set br0 up
    for host in "${HOSTS[@]}"; do
        n=$(ns "$host")
        ip netns add "$n"
        # one cable: eth0 in the host, its other end the switch's port named after the host
        ip link add "$host" netns "$SW" type veth peer name eth0 netns "$n"
        ip -n "$SW" link set "$host" master br0 up
        ip -n "$n" link set lo up
        ip -n "$n" addr add "${ADDR[$host]}/24" dev eth0
        ip -n "$n" link set eth0 up
    done
    # the way in from this machine: one link into the switch, an address in the lab's /24
    ip link add "$ROOT_LINK" type veth peer name root netns "$SW"
    ip -n "$SW" link set root master br0 up
    ip addr add "$ROOT_ADDR/24" dev "$ROOT_LINK"
    ip link set "$ROOT_LINK" up
}

stop_network() {
    local n
    for n in $(lab_namespaces); do ip netns delete "$n" 2>/dev/null || true; done
    if ip link show "$ROOT_LINK" >/dev/null 2>&1; then ip link delete "$ROOT_LINK" 2>/dev/null || true; fi
}

# ---------------------------------------------------------------- Redis and Sentinel
redis_cli() { # host port command...: through the host's unix socket when there is one (a pulled cable)
    local host=$1 port=$2
    shift 2
    if [ "$port" = $REDIS_PORT ] && [ -S "$(hdir "$host")/run/redis.sock" ]; then
        timeout 3 redis-cli -s "$(hdir "$host")/run/redis.sock" "$@"
    else
        timeout 3 ip netns exec "$(ns "$host")" redis-cli -h "${ADDR[$host]}" -p "$port" "$@"
    fi
}

# The master as the sentinels see it now (data1 before any failover).
current_master() {
    local host out
    for host in "${DATA_HOSTS[@]}"; do
        out=$(redis_cli "$host" $SENTINEL_PORT SENTINEL get-master-addr-by-name $MASTER_NAME 2>/dev/null | head -1) || continue
        [ -n "$out" ] && { echo "$out"; return 0; }
    done
    echo "${ADDR[data1]}"
}

# PONG only once the append-only file is loaded (LOADING before)
redis_pongs() { # host
    [ "$(redis_cli "$1" $REDIS_PORT ping 2>/dev/null)" = PONG ]
}

sentinel_answers() { # host
    [ -n "$(redis_cli "$1" $SENTINEL_PORT SENTINEL get-master-addr-by-name $MASTER_NAME 2>/dev/null)" ]
}

start_redis_on() { # host
    local host=$1 d master
    d=$(hdir "$host")
    pid_alive "$d/run/redis.pid" && return 0
    master=$(current_master)
    mkdir -p "$d/redis"
    own_file redis "$d/log/redis.log"
    {
        cat <<CONF
daemonize yes
bind ${ADDR[$host]}
port $REDIS_PORT
protected-mode no
unixsocket $d/run/redis.sock
unixsocketperm 770
pidfile $d/run/redis.pid
logfile $d/log/redis.log
dir $d/redis
appendonly yes
appendfsync always
save ""
repl-diskless-sync-delay 0
# a master cut off from its replicas stops taking writes ~3 s later
# (NOREPLICAS) rather than take writes it will lose when it rejoins
min-replicas-to-write 1
min-replicas-max-lag 2
CONF
        [ "$master" = "${ADDR[$host]}" ] || echo "replicaof $master $REDIS_PORT"
    } >"$d/redis/redis.conf"
    # Sentinel rewrites the file of a server it reconfigures (CONFIG REWRITE,
    # through a temporary file beside it)
    chown redis: "$d/redis/redis.conf" "$d/redis"
    in_ns "$host" setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$d/redis/redis.conf" ||
        die "redis on $host did not start" "$d/log/redis.log"
    wait_for 10 redis_pongs "$host" ||
        die "redis on $host did not answer within 10 s" "$d/log/redis.log"
}

redis_replicas_up() {
    [ "$(redis_cli data1 $REDIS_PORT info replication | tr -d '\r' | grep -c '^slave[0-9]*:.*state=online')" -ge 2 ]
}

start_sentinel_on() { # host
    local host=$1 d master
    d=$(hdir "$host")
    pid_alive "$d/run/sentinel.pid" && return 0
    master=$(current_master)
    mkdir -p "$d/sentinel"
    own_file redis "$d/log/sentinel.log"
    cat >"$d/sentinel/sentinel.conf" <<CONF
daemonize yes
bind ${ADDR[$host]}
port $SENTINEL_PORT
protected-mode no
pidfile $d/run/sentinel.pid
logfile $d/log/sentinel.log
dir $d/sentinel
sentinel monitor $MASTER_NAME $master $REDIS_PORT 2
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 5000
sentinel parallel-syncs $MASTER_NAME 1
CONF
    # Sentinel keeps its state in its own file (rewritten through a
    # temporary file beside it)
    chown redis: "$d/sentinel/sentinel.conf" "$d/sentinel"
    in_ns "$host" setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$d/sentinel/sentinel.conf" --sentinel ||
        die "sentinel on $host did not start" "$d/log/sentinel.log"
    wait_for 10 sentinel_answers "$host" ||
        die "sentinel on $host did not answer within 10 s" "$d/log/sentinel.log"
}

sentinels_see_all() { # every sentinel knows the 2 others and the 2 replicas
    local host out
    for host in "${DATA_HOSTS[@]}"; do
        out=$(redis_cli "$host" $SENTINEL_PORT SENTINEL master $MASTER_NAME | tr -d '\r' | paste - - )
        grep -q $'^num-other-sentinels\t2$' <<<"$out" || return 1
        grep -q $'^num-slaves\t2$' <<<"$out" || return 1
    done
}

# ---------------------------------------------------------------- Galera
galera_sql() { # host statement: as root through the node's socket
    timeout 10 mariadb --no-defaults --socket="$(hdir "$1")/run/mysqld.sock" -uroot -N -B --connect-timeout=2 -e "$2"
}

galera_synced() { # host [cluster size]
    local out
    out=$(galera_sql "$1" "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state','wsrep_cluster_size','wsrep_ready')") || return 1
    grep -q $'^wsrep_local_state\t4$' <<<"$out" && grep -q $'^wsrep_ready\tON$' <<<"$out" || return 1
    [ -z "${2:-}" ] || grep -q $'^wsrep_cluster_size\t'"$2"'$' <<<"$out"
}

galera_cnf() { # host
    local host=$1 d peers="" h
    d=$(hdir "$host")
    for h in "${DATA_HOSTS[@]}"; do peers+="${peers:+,}${ADDR[$h]}"; done
    cat >"$d/my.cnf" <<CONF
[mysqld]
user = mysql
datadir = $d/mysql
socket = $d/run/mysqld.sock
pid-file = $d/run/mysqld.pid
log-error = $d/log/mysqld.log
bind-address = ${ADDR[$host]}
port = $MYSQL_PORT
transaction-isolation = READ-COMMITTED
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
# small: the lab's three nodes share a small machine
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
max_connections = 300
# durable: a committed order is on disk before COMMIT answers
innodb_flush_log_at_trx_commit = 1
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $GALERA
wsrep_cluster_name = dailyfresh-lab
wsrep_cluster_address = gcomm://$peers
wsrep_node_address = ${ADDR[$host]}
wsrep_node_name = $host
wsrep_sst_method = rsync
wsrep_provider_options = "gcache.size=32M; gmcast.listen_addr=tcp://${ADDR[$host]}:4567; ist.recv_addr=${ADDR[$host]}; $GALERA_EVS"
CONF
}

start_galera_on() { # host [--wsrep-new-cluster]
    local host=$1 d
    d=$(hdir "$host")
    pid_alive "$d/run/mysqld.pid" && return 0
    mkdir -p "$d/mysql"
    chown mysql: "$d/mysql"
    chmod 750 "$d/mysql"
    own_file mysql "$d/log/mysqld.log"
    galera_cnf "$host"
    if [ "${2:-}" = --wsrep-new-cluster ] && [ ! -d "$d/mysql/mysql" ]; then
        timeout 120 mariadb-install-db --defaults-file="$d/my.cnf" --auth-root-authentication-method=socket \
            --skip-test-db >"$d/log/mysql-install.log" 2>&1 || die "mariadb-install-db on $host failed" "$d/log/mysql-install.log"
    fi
    # shellcheck disable=SC2086 # the optional bootstrap flag
    setsid -f ip netns exec "$(ns "$host")" mariadbd --defaults-file="$d/my.cnf" ${2:-} </dev/null >>"$d/log/mysqld.log" 2>&1
}

wait_galera() { # host size
    wait_for "$READY_TIMEOUT" galera_synced "$1" "$2" ||
        die "the Galera node on $1 was not synced in a cluster of $2 within $READY_TIMEOUT s" "$(hdir "$1")/log/mysqld.log"
}

# The shop's database as stack.sh loads it, then its account once more for
# the app hosts' addresses (the same password and grants as 'localhost').
load_lab_schema() {
    local lab_host="'$NET.%'"
    MYSQL_SOCK=$(hdir data1)/run/mysqld.sock LOG=$(hdir data1)/log load_schema
    {
        galera_sql data1 "SHOW CREATE USER 'dailyfresh'@'localhost'"
        galera_sql data1 "SHOW GRANTS FOR 'dailyfresh'@'localhost'"
    } | sed "s/@\`localhost\`/@$lab_host/; s/@'localhost'/@$lab_host/; s/\$/;/" >"$(hdir data1)/lab-user.sql" ||
        die "cannot read the grants of dailyfresh@localhost"
    sed -i '1s/^CREATE USER /CREATE USER IF NOT EXISTS /' "$(hdir data1)/lab-user.sql"
    timeout 30 mariadb --no-defaults --socket="$(hdir data1)/run/mysqld.sock" -uroot <"$(hdir data1)/lab-user.sql" \
        >"$(hdir data1)/log/lab-user.log" 2>&1 || die "cannot give dailyfresh the lab's addresses" "$(hdir data1)/log/lab-user.log"
}

# ---------------------------------------------------------------- uWSGI and the gateways
# The instances find the Redis master through the three sentinels and write
# on the first synced Galera node of the three; in the lab a database host
# that fails is given up on after 1 s and tried again 1 s later
# (production: 2 s and 5 s, docs/operations.md). A flash order is answered
# res 5 only once a Redis replica has it too (WAIT, docs/orders.md).
backend_args() {
    local h sentinels="" mysql_hosts=""
    for h in "${DATA_HOSTS[@]}"; do
        sentinels+="${sentinels:+,}${ADDR[$h]}:$SENTINEL_PORT"
        mysql_hosts+="${mysql_hosts:+,}${ADDR[$h]}:$MYSQL_PORT"
    done
    BACKEND_ENV=(DF_REDIS_SENTINELS="$sentinels" DF_REDIS_MASTER_NAME="$MASTER_NAME" DF_MYSQL_HOSTS="$mysql_hosts")
    BACKEND_ARGS=(--dailyfresh-mysql-connect-timeout 1 --dailyfresh-mysql-host-retry 1
        --dailyfresh-flash-wait-replicas 1)
}


# Each app host pays at a local Alipay gateway of its own, on its loopback.
start_gateway_on() { # host
    local host=$1 d script=$ROOT/test/fakes/alipay_gateway.py
    d=$(hdir "$host")
    pid_alive "$d/run/alipay-gateway.pid" && return 0
    alipay_keys
    mkdir -p "$d/alipay"
    chown "$APP_USER:" "$d/alipay"
    own_file "$APP_USER" "$d/log/alipay-gateway.log"
    rm -f "$d/run/alipay-gateway.pid"
    own_file "$APP_USER" "$d/run/alipay-gateway.pid"
    if ! as_user "$APP_USER" test -r "$script"; then
        install -m 644 "$script" "$d/alipay/alipay_gateway.py"
        script=$d/alipay/alipay_gateway.py
    fi
    setsid -f ip netns exec "$(ns "$host")" setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups -- \
        "$PY" "$script" --port $GATEWAY_PORT --app-id "$(cat "$ALIPAY/app_id")" \
        --alipay-private-key "$ALIPAY/alipay_private.pem" --app-public-key "$ALIPAY/app_public.pem" \
        --state "$d/alipay/trades.json" --notify-url "${URL}order/notify" \
        --pidfile "$d/run/alipay-gateway.pid" --log "$d/log/alipay-gateway.log" \
        </dev/null >>"$d/log/alipay-gateway.log" 2>&1
    wait_for 10 ip netns exec "$(ns "$host")" curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/_control/health" ||
        die "the Alipay gateway on $host did not answer within 10 s" "$d/log/alipay-gateway.log"
}

uwsgi_up() { # host
    pid_alive "$(hdir "$1")/run/uwsgi-$UWSGI_PORT.pid" && in_ns "$1" bash -c "exec 3<>/dev/tcp/${ADDR[$1]}/$UWSGI_PORT"
}

start_uwsgi_on() { # host
    local host=$1 d
    d=$(hdir "$host")
    pid_alive "$d/run/uwsgi-$UWSGI_PORT.pid" && return 0
    backend_args
    local_alipay_args "$GATEWAY_PORT" "$URL"
    # shellcheck disable=SC2086 # DF_UWSGI_ARGS is a list of words
    in_ns "$host" env DF_VAR="$d" DF_PORT=$UWSGI_PORT DF_SOCKET="${ADDR[$host]}:$UWSGI_PORT" DF_USER="$APP_USER" \
        DF_SOCKET_GROUP="$(id -gn "$WEB_USER")" "${BACKEND_ENV[@]}" "${SAN_ENV[@]}" \
        uwsgi --plugins-dir "$BUILD" --ini "$ROOT/uwsgi.ini" "${ALIPAY_ARGS[@]}" "${BACKEND_ARGS[@]}" ${DF_UWSGI_ARGS:-} \
        >>"$d/log/uwsgi-start.log" 2>&1 || die "uwsgi on $host did not start" "$d/log/uwsgi-$UWSGI_PORT.log"
    wait_for 10 uwsgi_up "$host" || die "uwsgi on $host did not listen within 10 s" "$d/log/uwsgi-$UWSGI_PORT.log"
}

# ---------------------------------------------------------------- nginx
web_args() {
    local d
    d=$(hdir web)
    render_lab_nginx
    WEB_ARGS=(-p "${STATIC%/static}/" -e "$d/log/nginx-error.log" -c "$d/nginx.conf")
}

render_lab_nginx() {
    local d h upstream=""
    d=$(hdir web)
    for h in "${APP_HOSTS[@]}"; do upstream+="${upstream:+ }${ADDR[$h]}:$UWSGI_PORT"; done
    mkdir -p "$d/nginx"
    chown -R "$WEB_USER:" "$d/nginx"
    # stack.sh's rendering, with the web host's directory as its state directory
    VAR=$d RUN=$d/run LOG=$d/log HTTP_ADDR=${ADDR[web]} HTTP_PORT=$WEB_PORT DF_UWSGI_UPSTREAM=$upstream render_nginx
}

start_nginx_on() { # web
    local d
    d=$(hdir web)
    pid_alive "$d/run/nginx.pid" && return 0
    web_args
    in_ns web nginx -t -q "${WEB_ARGS[@]}" 2>>"$d/log/nginx-error.log" || die "nginx configuration test failed" "$d/log/nginx-error.log"
    in_ns web nginx "${WEB_ARGS[@]}" || die "nginx did not start" "$d/log/nginx-error.log"
}

shop_healthy() {
    [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "${URL}healthz")" = 200 ]
}

# ---------------------------------------------------------------- lab.json
write_lab_json() {
    local h
    {
        printf 'lab\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PREFIX" "$NET.0/24" "$SW" "$URL" "$MASTER_NAME" "$ROOT_ADDR"
        for h in "${HOSTS[@]}"; do
            printf 'host\t%s\t%s\t%s\t%s\n' "$h" "$(ns "$h")" "${ADDR[$h]}" "$(hdir "$h")"
        done
        for h in "${DATA_HOSTS[@]}"; do
            printf 'svc\t%s\tredis\t%s\t%s\t%s\n' "$h" $REDIS_PORT "$(hdir "$h")/run/redis.pid" "$(hdir "$h")/run/redis.sock"
            printf 'svc\t%s\tsentinel\t%s\t%s\t\n' "$h" $SENTINEL_PORT "$(hdir "$h")/run/sentinel.pid"
            printf 'svc\t%s\tgalera\t%s\t%s\t%s\n' "$h" $MYSQL_PORT "$(hdir "$h")/run/mysqld.pid" "$(hdir "$h")/run/mysqld.sock"
        done
        for h in "${APP_HOSTS[@]}"; do
            printf 'svc\t%s\tuwsgi\t%s\t%s\t\n' "$h" $UWSGI_PORT "$(hdir "$h")/run/uwsgi-$UWSGI_PORT.pid"
        done
        printf 'svc\tweb\tnginx\t%s\t%s\t\n' $WEB_PORT "$(hdir web)/run/nginx.pid"
    } | "$PY" -c '
import json, sys
lab = {"hosts": {}}
for line in sys.stdin.read().splitlines():
    f = line.split("\t")
    if f[0] == "lab":
        lab.update(prefix=f[1], subnet=f[2], switch=f[3], url=f[4], redis_master_name=f[5], root_address=f[6],
                   switch_bridge="br0")
    elif f[0] == "host":
        # switch_port: the host cable'"'"'s end in the switch (ip -n SWITCH link set PORT down)
        lab["hosts"][f[1]] = {"namespace": f[2], "address": f[3], "switch_port": f[1], "dir": f[4], "services": []}
    else:
        svc = {"kind": f[2], "port": int(f[3]), "pidfile": f[4]}
        if f[5]:
            svc["socket"] = f[5]
        lab["hosts"][f[1]]["services"].append(svc)
json.dump(lab, sys.stdout, indent=2)
print()
' >"$C/lab.json.new" && mv "$C/lab.json.new" "$C/lab.json"
}

# ---------------------------------------------------------------- start / stop
host_dirs() {
    local h d
    mkdir -p "$C"
    chmod 755 "$C"
    for h in "${HOSTS[@]}"; do
        d=$(hdir "$h")
        mkdir -p "$d/run" "$d/log"
        chmod 755 "$d" "$d/run" "$d/log"
    done
    # Redis and MariaDB write their pidfiles and sockets there
    for h in "${DATA_HOSTS[@]}"; do
        chown redis:mysql "$(hdir "$h")/run" "$(hdir "$h")/log"
        chmod 775 "$(hdir "$h")/run" "$(hdir "$h")/log"
    done
    for h in "${APP_HOSTS[@]}"; do chown -R "$APP_USER:" "$(hdir "$h")/log"; done
}

cluster_start() {
    local h t0=$SECONDS
    command -v ip >/dev/null || { echo "cluster: ip (iproute2) is missing: make deps" >&2; exit 1; }
    [ -f "$BUILD/dailyfresh_plugin.so" ] || die "no plugin in $BUILD: build first (make)"
    [ -e "$GALERA" ] || die "galera-4 is not installed ($GALERA): make deps"
    if [ -n "$(lab_namespaces)" ]; then
        if [ -s "$C/lab.json" ] && shop_healthy; then
            log "the lab is already up: $URL (scripts/cluster.sh stop ends it)"
            exit 0
        fi
        die "a lab is partly up (namespaces $(lab_namespaces | tr '\n' ' ')): scripts/cluster.sh stop first"
    fi
    [ -z "$(ip route show "$NET.0/24" 2>/dev/null)" ] ||
        die "$NET.0/24 is already routed on this machine: choose another with DF_CLUSTER_NET"
    # the switch first: where namespaces cannot be made, nothing else is
    if ! ip netns add "$SW" 2>/dev/null; then
        echo "cluster: cannot create network namespaces here (ip netns add failed): the lab needs them" >&2
        exit 1
    fi
    STARTING=1
    dirs
    rm -rf "$C"
    host_dirs
    start_network
    log "hosts: ${HOSTS[*]} (namespaces $PREFIX*, $NET.0/24)"
    start_galera_on data1 --wsrep-new-cluster
    for h in "${DATA_HOSTS[@]}"; do start_redis_on "$h"; done
    wait_for 15 redis_replicas_up || die "the Redis replicas did not sync within 15 s" "$(hdir data2)/log/redis.log"
    for h in "${DATA_HOSTS[@]}"; do start_sentinel_on "$h"; done
    wait_galera data1 1
    load_lab_schema
    start_galera_on data2
    start_galera_on data3
    wait_galera data2 3
    wait_galera data3 3
    wait_for 15 sentinels_see_all || die "the sentinels did not find each other within 15 s" "$(hdir data1)/log/sentinel.log"
    for h in "${APP_HOSTS[@]}"; do start_gateway_on "$h"; done
    for h in "${APP_HOSTS[@]}"; do start_uwsgi_on "$h"; done
    start_nginx_on
    wait_for "$READY_TIMEOUT" shop_healthy ||
        die "${URL}healthz did not answer 200 within $READY_TIMEOUT s" "$(hdir app1)/log/uwsgi-$UWSGI_PORT.log"
    write_lab_json
    STARTING=0
    log "up in $((SECONDS - t0)) s; hosts and services: $C/lab.json"
    log "dailyfresh is up: $URL"
    log "demo account: demo / dailyfresh"
}

cluster_stop() {
    local f n pid kind
    # front to back: nginx, the instances, then the data hosts' servers
    for kind in nginx uwsgi alipay-gateway mysqld sentinel redis; do
        for f in "$C"/*/run/"$kind"*.pid; do
            [ -e "$f" ] || continue
            case $kind in
                nginx) stop_pid "$f" "nginx" QUIT ;;
                uwsgi) stop_pid "$f" "uwsgi" uwsgi ;;
                *) stop_pid "$f" "$kind" ;;
            esac
        done
    done
    # anything still running in a lab host (a pidfile lost in a partial start)
    for n in $(lab_namespaces); do
        for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    stop_network
    rm -f "$C/lab.json"
    log "stopped"
}

cluster_status() {
    local f n
    if [ -z "$(lab_namespaces)" ]; then
        echo "no lab is up"
        return 0
    fi
    for n in $(lab_namespaces); do echo "namespace $n"; done
    for f in "$C"/*/run/*.pid; do
        [ -e "$f" ] || continue
        n=${f#"$C"/}
        if pid_alive "$f"; then echo "${n%%/*} $(basename "$f" .pid): running ($(cat "$f"))"; else echo "${n%%/*} $(basename "$f" .pid): stale pidfile"; fi
    done
    if [ -s "$C/lab.json" ]; then
        if shop_healthy; then echo "shop: $URL healthy"; else echo "shop: $URL not answering"; fi
    fi
}

# One piece started again after a fault (its pidfile names a dead process,
# or none): a Redis joins as a replica of the master the sentinels name, a
# Galera node joins the others.
cluster_restart() { # host kind
    local host=$1 kind=$2
    [ -n "${ADDR[$host]:-}" ] || die "no host $host in the lab"
    case $kind in
        redis) start_redis_on "$host" ;;
        sentinel) start_sentinel_on "$host" ;;
        galera) start_galera_on "$host"; wait_galera "$host" 3 ;;
        uwsgi) start_uwsgi_on "$host" ;;
        nginx) start_nginx_on ;;
        *) die "unknown kind $kind (redis, sentinel, galera, uwsgi, nginx)" ;;
    esac
}

case "${1:-}" in
    start) cluster_start ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    restart) [ $# = 3 ] || die "usage: $0 restart HOST KIND"; cluster_restart "$2" "$3" ;;
    *) die "usage: $0 start|stop|status|restart HOST KIND" ;;
esac
