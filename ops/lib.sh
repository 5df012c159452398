# shellcheck shell=bash
# ---------------------------------------------------------------------------
# ops/lib.sh: helpers shared by the ops/ scripts (sourced, never run).
#
# A "stack" is one PostgreSQL cluster, one key store, one broker and every
# service binary that is built, all kept under one state directory:
#   STATE/pg/     the PostgreSQL cluster (ops/pg; see th_pg_dir for when
#                 it has to live elsewhere)
#   STATE/keys/   broker and principal certificates (ops/keys)
#   STATE/conf/   the config file of each process, written on every start
#   STATE/log/    one log file per process
#   STATE/run/    one pid file per process we started
# ops/up runs the persistent stack in var/, ops/bench a throwaway one.
# ---------------------------------------------------------------------------

TH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TH_PROG=${TH_PROG:-ops}

# Services started after the broker, in this order, when their binary exists.
TH_SERVICES="registry measures eligibility reporting"

th_say() { printf '%s: %s\n' "$TH_PROG" "$*"; }
th_warn() { printf '%s: warning: %s\n' "$TH_PROG" "$*" >&2; }
th_die() {
    printf '%s: error: %s\n' "$TH_PROG" "$*" >&2
    exit 1
}

# th_check_port VALUE NAME: dies unless VALUE is a usable TCP port.
th_check_port() {
    case "$1" in
        '' | *[!0-9]*) th_die "$2 \"$1\" is not a port number (1024-65535)" ;;
    esac
    if [ "$1" -lt 1024 ] || [ "$1" -gt 65535 ]; then
        th_die "$2 \"$1\" is not a port number (1024-65535)"
    fi
}

# th_port_in_use PORT: true when something accepts connections on
# 127.0.0.1:PORT.
th_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# th_free_port: prints a port on 127.0.0.1 nothing listens on. Random, so two
# runs side by side rarely pick the same one; still a race, as with any
# port chosen before it is bound.
th_free_port() {
    local port tries=0
    while [ "$tries" -lt 100 ]; do
        port=$((20000 + RANDOM % 40000))
        if ! th_port_in_use "$port"; then
            echo "$port"
            return 0
        fi
        tries=$((tries + 1))
    done
    th_die "could not find a free TCP port on 127.0.0.1"
}

# th_env_clean CMD...: runs CMD without any TEILHABE_* variable from our
# environment, so a TEILHABE_CERT or TEILHABE_CONFIG exported for the CLI
# never leaks into a daemon (the environment would beat its config file).
th_unset_args() {
    local name
    TH_UNSET_ARGS=()
    for name in $(compgen -e); do
        case "$name" in
            TEILHABE_*) TH_UNSET_ARGS+=(-u "$name") ;;
        esac
    done
}
th_env_clean() {
    th_unset_args
    env "${TH_UNSET_ARGS[@]}" "$@"
}

# th_pid_of PIDFILE NAME: prints the pid in PIDFILE when that process is
# alive and is the program NAME (so a pid reused by another program after a
# crash is never signalled); prints nothing otherwise.
th_pid_of() {
    local pidfile=$1 name=$2 pid argv0
    [ -f "$pidfile" ] || return 0
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    case "$pid" in
        '' | *[!0-9]*) return 0 ;;
    esac
    [ -r "/proc/$pid/cmdline" ] || return 0
    argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1 || true)
    if [ "$(basename -- "${argv0:-/}")" = "$name" ]; then
        echo "$pid"
    fi
}

# th_start_daemon NAME BINARY CONFIG STATE: starts BINARY --config CONFIG in
# the background in its own session (so closing the terminal does not stop
# it), logging to STATE/log/NAME.log, pid in STATE/run/NAME.pid. Leaves a
# process that already runs alone.
th_start_daemon() {
    local name=$1 binary=$2 config=$3 state=$4 pid
    local pidfile=$state/run/$name.pid logfile=$state/log/$name.log
    pid=$(th_pid_of "$pidfile" "$name")
    if [ -n "$pid" ]; then
        th_say "$name already running (pid $pid), left alone"
        return 0
    fi
    rm -f "$pidfile"
    mkdir -p "$state/run" "$state/log"
    printf '%s ops: starting %s --config %s\n' "$(date -u +%FT%TZ)" "$binary" "$config" >>"$logfile"
    # setsid execs in place (a background job of a script is no process
    # group leader), so $! is the daemon's own pid.
    th_unset_args
    (cd "$TH_ROOT" && exec env "${TH_UNSET_ARGS[@]}" setsid "$binary" --config "$config" \
        </dev/null >>"$logfile" 2>&1) &
    pid=$!
    echo "$pid" >"$pidfile"
    th_say "started $name (pid $pid, log $logfile)"
}

# th_stop_daemon NAME STATE [SECONDS]: TERM, wait up to SECONDS (default
# 10), then KILL; removes the pid file. Harmless when it does not run.
th_stop_daemon() {
    local name=$1 state=$2 seconds=${3:-10} pid waited=0
    local pidfile=$state/run/$name.pid
    pid=$(th_pid_of "$pidfile" "$name")
    if [ -z "$pid" ]; then
        [ -f "$pidfile" ] && th_say "$name was not running (stale pid file removed)"
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    while [ -n "$(th_pid_of "$pidfile" "$name")" ] && [ "$waited" -lt $((seconds * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ -n "$(th_pid_of "$pidfile" "$name")" ]; then
        th_warn "$name (pid $pid) did not stop within ${seconds}s after SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$pidfile"
    th_say "stopped $name (pid $pid)"
}

# th_pg ARGS...: ops/pg, run from / so that the postgres user's tools do not
# complain about a working directory they cannot enter. Paths must be absolute.
th_pg() {
    (cd / && "$TH_ROOT/ops/pg" "$@")
}

# th_pg_reachable DIR: true unless we are root and the postgres user (which
# runs the server for root) cannot reach DIR, e.g. in a clone under /root,
# which is mode 0700. DIR must exist.
th_pg_reachable() {
    [ "$(id -u)" -ne 0 ] && return 0
    runuser -u postgres -- test -x "$1" 2>/dev/null
}

# th_pg_dir STATE: where the cluster of STATE lives: STATE/pg, or, when the
# postgres user cannot reach STATE, /var/lib/teilhabe/pg-<hash of STATE>
# (persistent, and the same path every time for the same STATE).
th_pg_dir() {
    local state=$1 hash
    mkdir -p "$state"
    if th_pg_reachable "$state"; then
        echo "$state/pg"
        return 0
    fi
    hash=$(printf '%s' "$state" | sha256sum | cut -c1-12)
    mkdir -p /var/lib/teilhabe
    echo "/var/lib/teilhabe/pg-$hash"
}

# th_build DIR TYPE [CMAKE ARGS...]: configures (when needed) and builds.
# With TH_BUILD_QUIET=1 the compiler output goes to DIR/build.log and is
# shown only when the build fails.
th_build() {
    local dir=$1 type=$2
    shift 2
    th_say "building in $dir ($type${*:+ $*})"
    mkdir -p "$dir"
    cmake -S "$TH_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir/configure.log" 2>&1 || {
        cat "$dir/configure.log" >&2
        return 1
    }
    if [ "${TH_BUILD_QUIET:-0}" = 1 ]; then
        cmake --build "$dir" -j 2 >"$dir/build.log" 2>&1 || {
            grep -E -B2 -A8 'error|Error' "$dir/build.log" | tail -n 60 >&2
            th_warn "the full compiler output is in $dir/build.log"
            return 1
        }
    else
        cmake --build "$dir" -j 2
    fi
}

# th_service_name SVC: the protobuf service a service binary serves, for
# Health/Check ("registry" -> "teilhabe.registry.v1.Registry").
th_service_name() {
    local svc=$1
    echo "teilhabe.$svc.v1.$(tr '[:lower:]' '[:upper:]' <<<"${svc:0:1}")${svc:1}"
}

# th_write_conf FILE: writes stdin to FILE through a temporary file.
th_write_conf() {
    cat >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# th_stack_up STATE BUILD PG_PORT FRONTEND_PORT BACKEND_PORT: starts the
# stack and waits until the broker and every service say SERVING. Returns 1
# (after showing the logs) when they do not within TEILHABE_UP_TIMEOUT
# seconds (default 30).
th_stack_up() {
    local state=$1 build=$2 pg_port=$3 frontend_port=$4 backend_port=$5
    local timeout=${TEILHABE_UP_TIMEOUT:-30} log_level=${TEILHABE_LOG_LEVEL:-info}
    local frontend=tcp://127.0.0.1:$frontend_port backend=tcp://127.0.0.1:$backend_port
    local broker=$build/services/broker/teilhabe-broker cli=$build/clients/teilhabe/teilhabe
    local db_url svc binary started=()

    mkdir -p "$state/conf" "$state/log" "$state/run"

    # PostgreSQL first: the services migrate their schemas at start-up.
    if [ -x "$TH_ROOT/ops/pg" ]; then
        local pg_dir
        pg_dir=$(th_pg_dir "$state")
        [ "$pg_dir" = "$state/pg" ] ||
            th_say "the postgres user cannot reach $state, so the cluster lives in $pg_dir"
        th_pg start "$pg_dir" "$pg_port" || return 1
        db_url=$(th_pg url "$pg_dir" "$pg_port")
    else
        th_warn "ops/pg is missing: no PostgreSQL started (services that need it will fail)"
        db_url="host=127.0.0.1 port=$pg_port user=teilhabe dbname=teilhabe"
    fi

    TEILHABE_BUILD_DIR=$build "$TH_ROOT/ops/keys" --endpoint "$frontend" "$state/keys" || return 1

    if [ ! -x "$broker" ]; then
        th_warn "no broker binary at $broker: nothing to start (is services/broker built?)"
        return 1
    fi
    if [ -z "$(th_pid_of "$state/run/teilhabe-broker.pid" teilhabe-broker)" ]; then
        local port
        for port in "$frontend_port" "$backend_port"; do
            th_port_in_use "$port" &&
                th_die "port $port on 127.0.0.1 is taken by another program (choose another with TEILHABE_FRONTEND_PORT / TEILHABE_BACKEND_PORT)"
        done
    fi

    th_write_conf "$state/conf/broker.conf" <<EOF
# teilhabe-broker, written by ops on every start (edit ops/lib.sh instead)
frontend_endpoint = $frontend
backend_endpoint = $backend
broker_cert = $state/keys/broker.cert_secret
certs_dir = $state/keys/public
db_url = "$db_url"
log_level = $log_level
EOF
    th_start_daemon teilhabe-broker "$broker" "$state/conf/broker.conf" "$state"

    for svc in $TH_SERVICES; do
        binary=$build/services/$svc/teilhabe-$svc
        [ -x "$binary" ] || continue
        th_write_conf "$state/conf/$svc.conf" <<EOF
# teilhabe-$svc, written by ops on every start (edit ops/lib.sh instead)
broker_endpoint = $backend
broker_cert_public = $state/keys/broker.cert
cert = $state/keys/private/worker.cert_secret
db_url = "$db_url"
log_level = $log_level
EOF
        th_start_daemon "teilhabe-$svc" "$binary" "$state/conf/$svc.conf" "$state"
        started+=("$svc")
    done

    if [ ! -x "$cli" ]; then
        th_warn "no CLI at $cli: cannot ask Health; only checking that the processes stay up"
        sleep 2
        th_stack_check_alive "$state" || return 1
        return 0
    fi

    # Health of the whole network first, then of each service by name.
    local deadline=$((SECONDS + timeout)) target out
    for target in "" "${started[@]}"; do
        local args=(health)
        [ -n "$target" ] && args+=(--service "$(th_service_name "$target")")
        while :; do
            out=$(th_env_clean TEILHABE_CONFIG="$state/keys/admin.conf" "$cli" --timeout 2000 \
                "${args[@]}" 2>&1) &&
                grep -qw SERVING <<<"$out" && break
            if [ "$SECONDS" -ge "$deadline" ] || ! th_stack_check_alive "$state"; then
                th_warn "\"teilhabe ${args[*]}\" did not say SERVING within ${timeout}s; it said: $out"
                th_stack_show_logs "$state"
                return 1
            fi
            sleep 0.5
        done
        th_say "health${target:+ of $target}: SERVING"
    done
}

# th_stack_check_alive STATE: false (with a message) when a process whose pid
# file exists has died.
th_stack_check_alive() {
    local state=$1 pidfile name ok=0
    for pidfile in "$state"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        name=$(basename "$pidfile" .pid)
        if [ -z "$(th_pid_of "$pidfile" "$name")" ]; then
            th_warn "$name exited; see $state/log/$name.log"
            ok=1
        fi
    done
    return "$ok"
}

th_stack_show_logs() {
    local state=$1 log
    for log in "$state"/log/*.log; do
        [ -e "$log" ] || continue
        echo "--- last lines of $log ---" >&2
        tail -n 15 "$log" >&2 || true
    done
}

# th_stack_down STATE: stops the services (last started first), the broker,
# then PostgreSQL. Only processes named in our pid files are signalled.
th_stack_down() {
    local state=$1 svc services=""
    for svc in $TH_SERVICES; do
        services="teilhabe-$svc $services"
    done
    for svc in $services teilhabe-broker; do
        th_stop_daemon "$svc" "$state"
    done
    # Pid files of programs this version no longer knows: stop them too.
    local pidfile
    for pidfile in "$state"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        th_stop_daemon "$(basename "$pidfile" .pid)" "$state"
    done
    local pg_dir
    pg_dir=$(th_pg_dir "$state")
    if [ -x "$TH_ROOT/ops/pg" ] && [ -d "$pg_dir" ]; then
        th_pg stop "$pg_dir"
    fi
}
