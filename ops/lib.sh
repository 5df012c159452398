# shellcheck shell=bash
# ---------------------------------------------------------------------------
# ops/lib.sh: helpers shared by the ops/ scripts (sourced, never run).
#
# A "stack" is one PostgreSQL cluster, one key store, one broker and every
# service binary that is built, all kept under one state directory:
#   STATE/pg/     the PostgreSQL cluster (ops/pg; see th_pg_dir for when
#                 it has to live elsewhere)
#   STATE/keys/   broker and principal certificates (ops/keys), and in
#                 keys/db/pgpass the database passwords (ops/pg)
#   STATE/conf/   the config file of each process and of supervisord,
#                 written on every start
#   STATE/log/    one log file per process, and supervisord.log (starts,
#                 exits and restarts)
#   STATE/run/    supervisord's pid file and control socket
# The broker and the services run under supervisord (Debian's "supervisor"),
# which restarts a process that dies, with a growing delay when it keeps
# dying. ops/up runs the persistent stack in var/, ops/bench a throwaway one.
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
# port chosen before it is bound. Taken from below the kernel's ephemeral
# range (ip_local_port_range, 32768 by default): a port in that range may be
# the local end of some outgoing connection, which a listener cannot bind
# although nothing listens on it.
th_free_port() {
    local port tries=0 low=32768 _high
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r low _high </proc/sys/net/ipv4/ip_local_port_range || low=32768
    fi
    [ "$low" -gt 21024 ] 2>/dev/null || low=32768
    while [ "$tries" -lt 100 ]; do
        port=$((20000 + RANDOM % (low - 20000)))
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
    argv0=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -n 1 || true)
    if [ "$(basename -- "${argv0:-/}")" = "$name" ]; then
        echo "$pid"
    fi
}

# th_stop_daemon NAME STATE [SECONDS]: TERM, wait up to SECONDS (default
# 10), then KILL; removes the pid file. Harmless when it does not run. For
# processes that an older ops/up started without supervisord.
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

# th_pg_passfile STATE: the libpq passfile of STATE's database roles.
th_pg_passfile() {
    echo "$1/keys/db/pgpass"
}

# --- supervisord ------------------------------------------------------------

# th_supervisor_conf STATE: supervisord's config file of STATE.
th_supervisor_conf() {
    echo "$1/conf/supervisord.conf"
}

# th_supervisor_pid STATE: the pid of the supervisord that runs STATE's
# programs (its pid file names it and its command line names our config
# file), or nothing.
th_supervisor_pid() {
    local state=$1 pid
    pid=$(head -n 1 "$state/run/supervisord.pid" 2>/dev/null || true)
    case "$pid" in
        '' | *[!0-9]*) return 0 ;;
    esac
    [ -r "/proc/$pid/cmdline" ] || return 0
    if tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -xF "$(th_supervisor_conf "$state")" >/dev/null; then
        echo "$pid"
    fi
}

# th_supervisorctl STATE ARGS...: supervisorctl against STATE's supervisord.
th_supervisorctl() {
    local state=$1
    shift
    supervisorctl -c "$(th_supervisor_conf "$state")" "$@"
}

# th_supervisor_program NAME COMMAND STATE PRIORITY: one [program:NAME]
# section. A process that dies is started again at once; one that dies
# within startsecs of its start counts as a failed start and is retried
# after 1, 2, 3, ... seconds, up to startretries times (about half an hour
# in all), then left FATAL until the next ops/up (docs/OPERATIONS.md).
th_supervisor_program() {
    local name=$1 command=$2 state=$3 priority=$4
    cat <<EOF

[program:$name]
command = $command
directory = $TH_ROOT
priority = $priority
autostart = true
autorestart = true
startsecs = 2
startretries = 60
stopsignal = TERM
stopwaitsecs = 30
redirect_stderr = true
stdout_logfile = $state/log/$name.log
stdout_logfile_maxbytes = 50MB
stdout_logfile_backups = 5
EOF
}

# th_supervisor_write_conf STATE BUILD PROGRAM...: supervisord.conf for
# STATE, running each PROGRAM (teilhabe-broker first, then the services)
# with its config file in STATE/conf.
th_supervisor_write_conf() {
    local state=$1 build=$2 program priority binary run_as=""
    shift 2
    # Run as root, say so (supervisord logs a warning otherwise); the
    # programs run as the user who ran ops/up, as before.
    [ "$(id -u)" -ne 0 ] || run_as="user = root"
    {
        cat <<EOF
; supervisord for the teilhabe stack in $state, written by ops on every
; start (edit ops/lib.sh instead). Control it with
;   supervisorctl -c $(th_supervisor_conf "$state") status

[unix_http_server]
file = $state/run/supervisor.sock
chmod = 0700

[supervisord]
logfile = $state/log/supervisord.log
logfile_maxbytes = 10MB
logfile_backups = 3
loglevel = info
pidfile = $state/run/supervisord.pid
childlogdir = $state/log
directory = $TH_ROOT
umask = 077
identifier = teilhabe
$run_as

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://$state/run/supervisor.sock
EOF
        for program in "$@"; do
            priority=20
            [ "$program" = teilhabe-broker ] && priority=10
            case "$program" in
                teilhabe-broker) binary=$build/services/broker/teilhabe-broker ;;
                *) binary=$build/services/${program#teilhabe-}/$program ;;
            esac
            th_supervisor_program "$program" "$binary --config $state/conf/${program#teilhabe-}.conf" \
                "$state" "$priority"
        done
    } | th_write_conf "$(th_supervisor_conf "$state")"
}

# th_supervisor_up STATE: starts supervisord for STATE, or, when it runs,
# makes it take up the rewritten config (programs whose section changed are
# restarted, new ones started, removed ones stopped) and starts any program
# that is not running (e.g. FATAL after too many failed starts). A program
# that runs is left alone.
th_supervisor_up() {
    local state=$1 pid waited=0
    command -v supervisord >/dev/null 2>&1 ||
        th_die "supervisord not found: install the Debian package \"supervisor\" (./ops/setup does)"
    pid=$(th_supervisor_pid "$state")
    if [ -z "$pid" ]; then
        rm -f "$state/run/supervisord.pid" "$state/run/supervisor.sock"
        th_env_clean supervisord -c "$(th_supervisor_conf "$state")" ||
            th_die "supervisord did not start; see $state/log/supervisord.log"
        # supervisord forks into the background; wait until it answers.
        until th_supervisorctl "$state" pid >/dev/null 2>&1; do
            waited=$((waited + 1))
            [ "$waited" -lt 100 ] || th_die "supervisord did not answer within 10s; see $state/log/supervisord.log"
            sleep 0.1
        done
        th_say "started supervisord (pid $(th_supervisor_pid "$state"), log $state/log/supervisord.log)"
        return 0
    fi
    th_say "supervisord already running (pid $pid); updating its programs"
    th_supervisorctl "$state" update >/dev/null ||
        th_die "supervisorctl update failed; see $state/log/supervisord.log"
    local name status
    while read -r name status _; do
        case "$status" in
            RUNNING | STARTING | BACKOFF) th_say "$name is $status, left alone" ;;
            *)
                th_say "$name is $status; starting it"
                th_supervisorctl "$state" start "$name" >/dev/null || true
                ;;
        esac
    done < <(th_supervisorctl "$state" status 2>/dev/null || true)
}

# th_supervisor_down STATE: stops every program (SIGTERM, then SIGKILL
# after stopwaitsecs) and supervisord itself; waits until they are gone.
th_supervisor_down() {
    local state=$1 pid pids waited=0 child
    pid=$(th_supervisor_pid "$state")
    [ -n "$pid" ] || return 0
    pids=$(th_supervisorctl "$state" pid all 2>/dev/null | grep -E '^[0-9]+$' | grep -vx 0 || true)
    if ! th_supervisorctl "$state" shutdown >/dev/null 2>&1; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    # stopwaitsecs (30) per program at worst, then a margin.
    while [ -n "$(th_supervisor_pid "$state")" ] && [ "$waited" -lt 450 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ -n "$(th_supervisor_pid "$state")" ]; then
        th_warn "supervisord (pid $pid) did not stop within 45s; sending SIGKILL to it and its programs"
        kill -KILL "$pid" 2>/dev/null || true
        for child in $pids; do
            if tr '\0' '\n' 2>/dev/null <"/proc/$child/cmdline" | grep -F "$state/conf/" >/dev/null; then
                kill -KILL "$child" 2>/dev/null || true
            fi
        done
    fi
    rm -f "$state/run/supervisord.pid" "$state/run/supervisor.sock"
    th_say "stopped supervisord (pid $pid) and its programs"
}

# th_stack_up STATE BUILD PG_PORT FRONTEND_PORT BACKEND_PORT: starts the
# stack and waits until the broker and every service say SERVING. Returns 1
# (after showing the logs) when they do not within TEILHABE_UP_TIMEOUT
# seconds (default 30). With TH_PG_TEST=1 the cluster is a test cluster
# (ops/pg --test: the benchmarks make their own databases).
th_stack_up() {
    local state=$1 build=$2 pg_port=$3 frontend_port=$4 backend_port=$5
    local timeout=${TEILHABE_UP_TIMEOUT:-30} log_level=${TEILHABE_LOG_LEVEL:-info}
    local frontend=tcp://127.0.0.1:$frontend_port backend=tcp://127.0.0.1:$backend_port
    local broker=$build/services/broker/teilhabe-broker cli=$build/clients/teilhabe/teilhabe
    local passfile owner_url broker_url svc binary started=() programs=(teilhabe-broker)

    mkdir -p "$state/conf" "$state/log" "$state/run"
    passfile=$(th_pg_passfile "$state")

    # PostgreSQL first: the services migrate their schemas at start-up.
    if [ -x "$TH_ROOT/ops/pg" ]; then
        local pg_dir pg_args=(--passfile "$passfile")
        [ "${TH_PG_TEST:-0}" = 1 ] && pg_args+=(--test)
        pg_dir=$(th_pg_dir "$state")
        [ "$pg_dir" = "$state/pg" ] ||
            th_say "the postgres user cannot reach $state, so the cluster lives in $pg_dir"
        th_pg start "$pg_dir" "$pg_port" "${pg_args[@]}" || return 1
        owner_url=$(th_pg url "$pg_dir" "$pg_port" --passfile "$passfile")
        broker_url=$(th_pg url "$pg_dir" "$pg_port" --passfile "$passfile" --user teilhabe_broker)
    else
        th_warn "ops/pg is missing: no PostgreSQL started (services that need it will fail)"
        owner_url="host=127.0.0.1 port=$pg_port user=teilhabe_owner dbname=teilhabe passfile=$passfile"
        broker_url="host=127.0.0.1 port=$pg_port user=teilhabe_broker dbname=teilhabe passfile=$passfile"
    fi

    TEILHABE_BUILD_DIR=$build "$TH_ROOT/ops/keys" --endpoint "$frontend" "$state/keys" || return 1

    if [ ! -x "$broker" ]; then
        th_warn "no broker binary at $broker: nothing to start (is services/broker built?)"
        return 1
    fi

    # Processes an older ops/up started by pid file: supervisord takes over.
    local pidfile name
    for pidfile in "$state"/run/teilhabe-*.pid; do
        [ -e "$pidfile" ] || continue
        name=$(basename "$pidfile" .pid)
        th_say "$name was started without supervisord; stopping it so that supervisord runs it"
        th_stop_daemon "$name" "$state"
    done

    if [ -z "$(th_supervisor_pid "$state")" ]; then
        local port
        for port in "$frontend_port" "$backend_port"; do
            th_port_in_use "$port" &&
                th_die "port $port on 127.0.0.1 is taken by another program (choose another with TEILHABE_FRONTEND_PORT / TEILHABE_BACKEND_PORT)"
        done
    fi

    # Every process has its own database role and, for the services, its
    # own key; none of the files holds a password (the passfile does).
    th_write_conf "$state/conf/broker.conf" <<EOF
# teilhabe-broker, written by ops on every start (edit ops/lib.sh instead)
frontend_endpoint = $frontend
backend_endpoint = $backend
broker_cert = $state/keys/broker.cert_secret
certs_dir = $state/keys/public
db_url = "$broker_url"
log_level = $log_level
EOF

    for svc in $TH_SERVICES; do
        binary=$build/services/$svc/teilhabe-$svc
        if [ ! -x "$binary" ]; then
            th_warn "teilhabe-$svc is not built ($binary): not started, its calls will get UNAVAILABLE"
            continue
        fi
        # db_url: the owner's conninfo with the service's own role.
        th_write_conf "$state/conf/$svc.conf" <<EOF
# teilhabe-$svc, written by ops on every start (edit ops/lib.sh instead)
broker_endpoint = $backend
broker_cert_public = $state/keys/broker.cert
cert = $state/keys/private/$svc.cert_secret
frontend_endpoint = $frontend
client_cert = $state/keys/private/$svc-client.cert_secret
db_url = "${owner_url/user=teilhabe_owner/user=teilhabe_$svc}"
migrate_db_url = "$owner_url"
log_level = $log_level
EOF
        started+=("$svc")
        programs+=("teilhabe-$svc")
    done

    th_supervisor_write_conf "$state" "$build" "${programs[@]}"
    th_supervisor_up "$state"

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

# th_stack_check_alive STATE: false (with a message) when supervisord is
# gone or has given up on a program (FATAL).
th_stack_check_alive() {
    local state=$1 name status ok=0
    if [ -z "$(th_supervisor_pid "$state")" ]; then
        th_warn "supervisord is not running; see $state/log/supervisord.log"
        return 1
    fi
    while read -r name status _; do
        if [ "$status" = FATAL ]; then
            th_warn "$name keeps exiting and is no longer restarted; see $state/log/$name.log"
            ok=1
        fi
    done < <(th_supervisorctl "$state" status 2>/dev/null || true)
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

# th_stack_down STATE: stops supervisord with the broker and the services,
# then PostgreSQL. Only processes of this stack are signalled.
th_stack_down() {
    local state=$1 pidfile
    th_supervisor_down "$state"
    # Pid files of processes an older ops/up started without supervisord.
    for pidfile in "$state"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        [ "$(basename "$pidfile")" = supervisord.pid ] && continue
        th_stop_daemon "$(basename "$pidfile" .pid)" "$state"
    done
    local pg_dir
    pg_dir=$(th_pg_dir "$state")
    if [ -x "$TH_ROOT/ops/pg" ] && [ -d "$pg_dir" ]; then
        th_pg stop "$pg_dir"
    fi
}
