#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and CI: its socket in a temporary directory, no
# TCP listener, fsync on (the durability tests need it), trust authentication for the cluster's
# superuser `postgres` (only the directory's owner can reach the socket).
#
#   scripts/postgres-test-cluster.sh install              install Debian's server package when missing
#   scripts/postgres-test-cluster.sh start [--owner PID]  start a cluster and print its settings
#   scripts/postgres-test-cluster.sh env DIR              print the settings of the cluster in DIR
#   scripts/postgres-test-cluster.sh stop DIR             stop the cluster in DIR and remove DIR
#   scripts/postgres-test-cluster.sh sweep                stop and remove clusters whose owner is gone
#   scripts/postgres-test-cluster.sh ctl DIR stop|start|restart
#                                                         stop, start or restart its server (the tests
#                                                         take a server away and bring it back)
#   scripts/postgres-test-cluster.sh psql DIR DB [ARGS…]  psql on database DB of the cluster in DIR
#
# `start` and `env` print shell assignments, one a line, so `eval "$(… start)"` works:
#
#   RINGFENCE_POSTGRES_DIR=/tmp/ringfence-pg.XXXXXXXX
#   RINGFENCE_POSTGRES_URL=postgres://postgres@/postgres?host=/tmp/ringfence-pg.XXXXXXXX
#
# With `--owner PID`, a watcher stops the cluster and removes its directory as soon as that
# process ends, however it ends (the tests pass their own pid, so a killed test run leaves no
# server behind). `start` first sweeps clusters whose owner has gone (a watcher that was killed
# too, a machine that rebooted). The server runs as the `postgres` user when the script runs as
# root (initdb refuses root), else as the calling user.
#
# Environment: PG_BIN names the directory holding initdb and pg_ctl (default: the newest
# /usr/lib/postgresql/*/bin, else the PATH).
set -euo pipefail

# Pipes and sockets inherited from the caller beyond the standard three are closed at once: a
# test process running several children at a time may hand us another child's pipe, and the
# watcher (which lives as long as the caller) would keep it open, so its reader never saw EOF.
for inherited in /proc/$$/fd/*; do
    number=${inherited##*/}
    [ "$number" -gt 2 ] 2>/dev/null || continue
    case "$(readlink "$inherited" 2>/dev/null || true)" in
        pipe:*|socket:*) eval "exec $number>&-" 2>/dev/null || true ;;
    esac
done

BASE=/tmp            # a short path: a socket's path must stay under 108 bytes
PREFIX=ringfence-pg.
PORT=5432            # only names the socket file (.s.PGSQL.5432): there is no TCP listener

die() { echo "postgres-test-cluster: $*" >&2; exit 1; }

# The directory holding initdb and pg_ctl, or nothing.
find_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$newest" ] && [ -x "$newest/pg_ctl" ]; then echo "$newest"; return; fi
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; fi
}

# Installs Debian's `postgresql` package when no server is found. Debian creates and starts a
# `main` cluster on install; one that this install created is dropped again, so nothing keeps
# running on port 5432.
install_server() {
    [ -n "$(find_bin)" ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "no postgresql server found and no apt-get to install one: install postgresql and set PG_BIN"
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    local before
    before=$(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}' || true)
    echo "postgres-test-cluster: installing postgresql (apt-get)" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    local cluster
    for cluster in $(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}'); do
        if ! grep -qx "$cluster" <<<"$before"; then
            $sudo pg_dropcluster --stop "${cluster%/*}" "${cluster#*/}" >&2 || true
        fi
    done
    [ -n "$(find_bin)" ] || die "apt-get installed postgresql but no pg_ctl was found"
}

# Runs a server command as the account that owns the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# "PID STARTTIME" for a live process (the start time tells a reused pid apart), or nothing
# (for a zombie too: it has ended, only its parent has not reaped it yet).
process_identity() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # Fields 3 (state) and 22 (start time) of /proc/PID/stat, counted after the command
    # name's closing parenthesis.
    local rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ "$1" = Z ] && return 0
    echo "${stat%% *} ${20}"
}

# True while the process recorded in DIR/owner still runs (a cluster without an owner file is
# owned by whoever started it by hand: it counts as alive while its server runs).
owner_alive() {
    local dir=$1
    if [ -f "$dir/owner" ]; then
        local recorded pid
        recorded=$(cat "$dir/owner")
        pid=${recorded%% *}
        [ -n "$pid" ] && [ "$(process_identity "$pid")" = "$recorded" ]
    else
        [ -f "$dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null
    fi
}

settings() {
    echo "RINGFENCE_POSTGRES_DIR=$1"
    echo "RINGFENCE_POSTGRES_URL=postgres://postgres@/postgres?host=$1"
}

stop_cluster() {
    local dir=$1
    case "$(basename "$dir")" in "$PREFIX"*) ;; *) die "\`$dir\` is not a cluster directory of this script" ;; esac
    local bin
    bin=$(find_bin)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        # Immediate: the cluster is thrown away, so there is nothing to checkpoint.
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

sweep() {
    local dir
    for dir in "$BASE/$PREFIX"*; do
        [ -d "$dir" ] || continue
        owner_alive "$dir" || stop_cluster "$dir"
    done
}

# Waits for the owner to end (or the directory to go), then stops the cluster.
watch_owner() {
    local dir=$1
    while [ -d "$dir" ] && owner_alive "$dir"; do sleep 1; done
    [ -d "$dir" ] && stop_cluster "$dir"
    return 0
}

start_cluster() {
    local owner=
    if [ "${1:-}" = "--owner" ]; then
        owner=${2:-}
        [ -n "$owner" ] || die "--owner needs a process id"
        [ -n "$(process_identity "$owner")" ] || die "no process \`$owner\` to own the cluster"
    fi
    install_server
    sweep
    local bin dir
    bin=$(find_bin)
    dir=$(mktemp -d "$BASE/${PREFIX}XXXXXXXX")
    [ -n "$owner" ] && process_identity "$owner" >"$dir/owner"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    # No fsync during initdb (a throwaway cluster need not survive a power cut while it is
    # made); the server itself runs with fsync on.
    if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed"
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PORT
fsync = on
synchronous_commit = on
max_connections = 200
log_min_messages = warning
EOF
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2 2>/dev/null || true
        stop_cluster "$dir"
        die "the server did not start"
    fi
    if [ -n "$owner" ]; then
        # Detached from every descriptor of the caller, so reading our output ends with us.
        setsid nohup bash "$0" watch "$dir" </dev/null >/dev/null 2>&1 &
    fi
    settings "$dir"
}

# Stops, starts or restarts the server of the cluster in DIR, keeping its data.
control_cluster() {
    local dir=$1 verb=$2 bin
    [ -d "$dir/data" ] || die "no cluster in \`$dir\`"
    bin=$(find_bin)
    case "$verb" in
        stop) as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ;;
        start) as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ;;
        restart) as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null ;;
        *) die "usage: $0 ctl DIR stop|start|restart" ;;
    esac
}

case "${1:-}" in
    install) install_server ;;
    start) shift; start_cluster "$@" ;;
    env)
        [ -n "${2:-}" ] && [ -f "$2/data/postmaster.pid" ] || die "no running cluster in \`${2:-}\`"
        settings "$2" ;;
    stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; stop_cluster "$2" ;;
    sweep) sweep ;;
    watch) watch_owner "$2" ;;
    ctl) [ $# -eq 3 ] || die "usage: $0 ctl DIR stop|start|restart"; control_cluster "$2" "$3" ;;
    psql)
        [ $# -ge 3 ] || die "usage: $0 psql DIR DB [ARGS…]"
        dir=$2 database=$3
        shift 3
        exec "$(find_bin)/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$dir" -p "$PORT" -U postgres -d "$database" "$@" ;;
    *) die "usage: $0 install | start [--owner PID] | env DIR | stop DIR | sweep | ctl DIR VERB | psql DIR DB [ARGS…]" ;;
esac
