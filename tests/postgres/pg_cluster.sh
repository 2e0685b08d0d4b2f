#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests, everything under one folder, reachable only through a unix
# socket in that folder (no TCP port is opened).
#
#   pg_cluster.sh start DIR [PID]
#                             initdb in DIR/data (as the `postgres` user when run as root: DIR is handed
#                             to it), starts the server with its socket in DIR, creates the database
#                             nnbench_test and prints its URL on stdout (also written to DIR/url):
#                               postgresql:///nnbench_test?host=DIR&port=N&user=<user>
#                             N only names the socket (DIR/.s.PGSQL.N). With PID (the test's own), a
#                             watcher stops the server and deletes DIR once that process is gone, so
#                             a test that crashes leaves no server behind.
#   pg_cluster.sh stop DIR    stops that server (immediately) and deletes DIR.
#
# start exits 77 (ctest's SKIP_RETURN_CODE) with one line "postgres: <why>" on stderr when PostgreSQL cannot
# run here: the server binaries missing (tools/install-deps.sh --postgres), no `postgres` user to run it as
# root, initdb or the server failing (the tail of the log follows); whatever it had started is stopped
# and DIR deleted first. Bad usage exits 2.
set -uo pipefail

PROG=postgres
PG_BIN=${PG_BIN:-}
DB=nnbench_test

usage() {
    echo "usage: $0 start DIR [PID] | stop DIR" >&2
    exit 2
}

find_bin() { # the newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, into PG_BIN
    [[ -n $PG_BIN && -x $PG_BIN/initdb ]] && return 0
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n -r); do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            PG_BIN=$d
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && PG_BIN=$(dirname "$(command -v initdb)") && return 0
    return 1
}

as_owner() { # runs a command as the user that owns the cluster
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_server() {
    [[ -n $PG_BIN && -f $DIR/data/postmaster.pid ]] || return 0
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
}

skip() { # skip WHY [LOGFILE]: stop what was started, delete DIR, say why on one line, exit 77
    local why=$1 log=${2:-}
    echo "$PROG: $why" >&2
    if [[ -n $log && -s $log ]]; then
        echo "--- last lines of $log:" >&2
        tail -n 20 "$log" | sed 's/^/    /' >&2
    fi
    stop_server
    rm -rf "$DIR"
    exit 77
}

start() {
    find_bin || skip "the PostgreSQL server (initdb, pg_ctl) is not installed; run tools/install-deps.sh --postgres"
    local user
    user=$(id -un)
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || skip "no 'postgres' user to run the server as (tools/install-deps.sh --postgres)"
        command -v runuser >/dev/null 2>&1 || skip "runuser missing: cannot run the server as 'postgres'"
        user=postgres
    fi
    mkdir -p "$DIR" || skip "cannot create $DIR"
    [[ -z $(ls -A "$DIR" 2>/dev/null) ]] || { echo "$PROG: $DIR is not empty" >&2; exit 2; }
    local port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    local sock=$DIR/.s.PGSQL.$port
    ((${#sock} < 100)) || skip "DIR too long for a unix socket path ($sock); use a shorter DIR"
    [[ $(id -u) -eq 0 ]] && { chown postgres: "$DIR" || skip "cannot hand $DIR to the postgres user"; }
    chmod 0700 "$DIR"

    as_owner "$PG_BIN/initdb" -D "$DIR/data" -U "$user" -A trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
        skip "initdb failed" "$DIR/initdb.log"
    cat >>"$DIR/data/postgresql.conf" <<CONF
# tests/postgres/pg_cluster.sh: a private, throw-away server
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 40
CONF
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>&1 ||
        skip "the server did not start" "$DIR/server.log"
    local createdb=$PG_BIN/createdb
    [[ -x $createdb ]] || createdb=$(command -v createdb)
    as_owner "$createdb" -h "$DIR" -p "$port" -U "$user" "$DB" >"$DIR/createdb.log" 2>&1 ||
        skip "createdb failed" "$DIR/createdb.log"
    local url="postgresql:///$DB?host=$DIR&port=$port&user=$user"
    echo "$url" >"$DIR/url"
    if [[ -n $OWNER ]]; then # detached, its output closed: a caller reading ours to the end is not held
        setsid bash "$0" watch "$DIR" "$OWNER" </dev/null >/dev/null 2>&1 &
    fi
    echo "$url"
}

watch() { # stop DIR once process OWNER has exited (or DIR is gone: stopped already)
    while [[ -d $DIR ]] && kill -0 "$OWNER" 2>/dev/null; do
        sleep 1
    done
    stop
}

stop() {
    [[ -d $DIR ]] || exit 0
    find_bin
    stop_server
    rm -rf "$DIR"
}

[[ $# -eq 2 || ( $# -eq 3 && $1 != stop ) ]] || usage
DIR=$2
OWNER=${3:-}
[[ -z $OWNER || $OWNER =~ ^[0-9]+$ ]] || usage
[[ -n $DIR ]] || usage
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
[[ $DIR != *[[:space:]\'\&\?]* ]] || { echo "$PROG: DIR must not contain white space, quotes, & or ?: '$DIR'" >&2; exit 2; }
case $1 in
    start) start ;;
    stop) stop ;;
    watch) [[ -n $OWNER ]] || usage; watch ;;
    *) usage ;;
esac
