#!/usr/bin/env bash
# MariaDB servers on loopback TCP for test_db_hosts_live: a plain server
# and a single-node Galera cluster, each on a free 127.0.0.1 port, under a
# temporary directory, each with the user dailyfresh/dailyfresh and an
# empty database dailyfresh.
#
#   test/unit/mariadb-nodes.sh start WATCH_PID   prints "DIR PLAIN_PORT GALERA_PORT"
#   test/unit/mariadb-nodes.sh stop DIR          kills both, removes DIR
#
# start leaves a watcher behind that stops everything when WATCH_PID (the
# test) is gone or after 120 s, whichever comes first, so a test that dies
# mid-way leaves nothing running. Needs root (the servers run as mysql) and
# the packages scripts/deps.sh installs (mariadb-server, galera-4).
set -uo pipefail

PROVIDER=/usr/lib/galera/libgalera_smm.so
LIMIT_S=120

die() { echo "mariadb-nodes: $*" >&2; exit 1; }

free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

kill_node() { # dir
    local pidf=$1/mysqld.pid pid
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    kill -9 "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

stop_all() { # dir
    local dir=$1
    case "$dir" in /tmp/dailyfresh-nodes.*) ;; *) die "refusing to remove $dir" ;; esac
    if [ -s "$dir/watcher.pid" ] && [ "$(cat "$dir/watcher.pid")" != "$BASHPID" ]; then
        kill "$(cat "$dir/watcher.pid")" 2>/dev/null
    fi
    kill_node "$dir/plain"
    kill_node "$dir/galera"
    rm -rf "$dir"
}

write_cnf() { # dir port [galera lines...]
    local dir=$1 port=$2
    shift 2
    cat >"$dir/my.cnf" <<CONF
[mysqld]
user = mysql
datadir = $dir/data
socket = $dir/mysqld.sock
pid-file = $dir/mysqld.pid
log-error = $dir/mysqld.log
bind-address = 127.0.0.1
port = $port
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
skip-name-resolve
CONF
    local line
    for line in "$@"; do echo "$line" >>"$dir/my.cnf"; done
}

start_node() { # dir
    local dir=$1
    setsid -f mariadbd --defaults-file="$dir/my.cnf" </dev/null >>"$dir/mysqld.out" 2>&1
    for _ in $(seq 1 300); do
        timeout 2 mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot --connect-timeout=1 -e 'SELECT 1' \
            >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tail -n 30 "$dir/mysqld.log" >&2
    return 1
}

setup_db() { # dir
    timeout 20 mariadb --no-defaults --socket="$1/mysqld.sock" -uroot -e "
        CREATE DATABASE dailyfresh;
        CREATE USER dailyfresh@'127.0.0.1' IDENTIFIED BY 'dailyfresh';
        GRANT ALL ON dailyfresh.* TO dailyfresh@'127.0.0.1';"
}

start_all() { # watch_pid
    local watch=$1 dir plain_port galera_port gcomm_port
    [ "$(id -u)" = 0 ] || die "must run as root (the servers run as mysql)"
    [ -e "$PROVIDER" ] || die "$PROVIDER missing: scripts/deps.sh installs galera-4"
    dir=$(mktemp -d /tmp/dailyfresh-nodes.XXXXXX) || die "mktemp failed"
    chmod 755 "$dir"
    # the watcher first: from here on a failure or a dead test cleans up
    (
        trap '' HUP
        for _ in $(seq 1 $((LIMIT_S * 2))); do
            kill -0 "$watch" 2>/dev/null || break
            sleep 0.5
        done
        stop_all "$dir"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/watcher.pid"
    read -r plain_port galera_port gcomm_port <<<"$(free_ports 3)"
    mkdir -p "$dir/plain/data" "$dir/galera/data"
    write_cnf "$dir/plain" "$plain_port"
    write_cnf "$dir/galera" "$galera_port" \
        "wsrep_on = ON" "wsrep_provider = $PROVIDER" "wsrep_cluster_address = gcomm://" \
        "wsrep_cluster_name = dailyfresh-test" "wsrep_node_address = 127.0.0.1" \
        "wsrep_provider_options = \"gmcast.listen_addr=tcp://127.0.0.1:$gcomm_port\"" \
        "binlog_format = ROW" "innodb_autoinc_lock_mode = 2" "default_storage_engine = InnoDB"
    chown -R mysql:mysql "$dir/plain" "$dir/galera"
    timeout 120 mariadb-install-db --defaults-file="$dir/plain/my.cnf" --auth-root-authentication-method=socket \
        --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; stop_all "$dir"; die "install-db failed"; }
    cp -a "$dir/plain/data/." "$dir/galera/data/"
    if ! start_node "$dir/plain" || ! start_node "$dir/galera" || ! setup_db "$dir/plain" || ! setup_db "$dir/galera"; then
        stop_all "$dir"
        die "a server did not start"
    fi
    echo "$dir $plain_port $galera_port"
}

case "${1:-}" in
    start) [ $# = 2 ] || die "usage: $0 start WATCH_PID"; start_all "$2" ;;
    stop) [ $# = 2 ] || die "usage: $0 stop DIR"; stop_all "$2" ;;
    *) die "usage: $0 start WATCH_PID | stop DIR" ;;
esac
