#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# test_supervise.sh BUILD_DIR: the stack ops/up runs, under supervision.
#
# Starts a throwaway stack exactly as ops/up does (ops/lib.sh th_stack_up:
# its own PostgreSQL cluster with roles, keys, supervisord with the broker
# and the services of BUILD_DIR) in a temporary state directory on free
# ports, then checks that:
#   - starting it again leaves the running registry alone;
#   - a registry killed with SIGKILL is started again by supervisord (logged)
#     and answers a real call within 30 seconds;
#   - th_stack_down (what ops/down does) stops everything: the broker and
#     the services exit 0 on SIGTERM (under ASan, also free of leaks), and no
#     process of the stack is left, PostgreSQL included.
# Registered with ctest by tests/CMakeLists.txt; ops/test runs it.
# ---------------------------------------------------------------------------
set -euo pipefail
TH_PROG=test_supervise
# shellcheck source=ops/lib.sh
. "$(dirname "$0")/../../ops/lib.sh"

build=${1:?usage: test_supervise.sh BUILD_DIR}
cli=$build/clients/teilhabe/teilhabe
[ -x "$build/services/registry/teilhabe-registry" ] || th_die "no registry built in $build"
[ -x "$build/services/measures/teilhabe-measures" ] || th_die "no measures service built in $build"
command -v supervisord >/dev/null 2>&1 ||
    th_die "supervisord is not installed (Debian package \"supervisor\"; ops/setup installs it)"

fail() {
    echo "FAILED: $*" >&2
    th_stack_show_logs "$state"
    exit 1
}

# A short path: the cluster's socket lives in it. The postgres user (which
# runs the server for root) must be able to enter it.
state=$(mktemp -d "${TMPDIR:-/tmp}/th-sup-XXXXXX")
chmod 755 "$state"
cleanup() {
    local rc=$?
    th_stack_down "$state" >/dev/null 2>&1 || true
    local pg_dir
    pg_dir=$(th_pg_dir "$state")
    rm -rf "$state"
    case "$pg_dir" in
        "$state"/*) ;;
        *) rm -rf "$pg_dir" ;;
    esac
    exit "$rc"
}
trap cleanup EXIT

# stack_processes: pid and command line of every process whose command line
# names the state directory (supervisord, broker, registry, postgres).
stack_processes() {
    local proc cmdline
    for proc in /proc/[0-9]*; do
        [ "${proc#/proc/}" = "$$" ] && continue
        cmdline=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
        case "$cmdline" in
            *"$state"*) echo "${proc#/proc/}: $cmdline" ;;
        esac
    done
}

# call: one real registry call through the broker as the admin.
call() {
    th_env_clean TEILHABE_CONFIG="$state/keys/admin.conf" "$cli" --timeout 2000 \
        state list >/dev/null 2>&1
}

pg_port=$(th_free_port)
frontend_port=$(th_free_port)
backend_port=$(th_free_port)
export TEILHABE_PG_FSYNC=off TEILHABE_UP_TIMEOUT=120
th_stack_up "$state" "$build" "$pg_port" "$frontend_port" "$backend_port" >"$state/up.log" 2>&1 ||
    { cat "$state/up.log" >&2; fail "the stack did not come up"; }
call || fail "the registry did not answer after start-up"

old=$(th_supervisorctl "$state" pid teilhabe-registry)
case "$old" in '' | 0 | *[!0-9]*) fail "no registry pid from supervisorctl: \"$old\"" ;; esac

# Again: nothing that runs is touched.
th_stack_up "$state" "$build" "$pg_port" "$frontend_port" "$backend_port" >"$state/up2.log" 2>&1 ||
    { cat "$state/up2.log" >&2; fail "starting the running stack again failed"; }
[ "$(th_supervisorctl "$state" pid teilhabe-registry)" = "$old" ] ||
    fail "starting the stack again restarted the running registry"

kill -KILL "$old"
t0=$SECONDS
answered=0
while [ $((SECONDS - t0)) -lt 30 ]; do
    new=$(th_supervisorctl "$state" pid teilhabe-registry 2>/dev/null || true)
    if [ -n "$new" ] && [ "$new" != 0 ] && [ "$new" != "$old" ] && call; then
        answered=1
        break
    fi
    sleep 0.5
done
[ "$answered" = 1 ] || fail "the registry killed with SIGKILL did not answer again within 30 s"
echo "registry pid $old killed; pid $new answered after $((SECONDS - t0)) s"
grep -q "exited: teilhabe-registry (terminated by SIGKILL; not expected)" \
    "$state/log/supervisord.log" || fail "supervisord.log does not record the registry's death"

th_stack_down "$state" >"$state/down.log" 2>&1 ||
    { cat "$state/down.log" >&2; fail "stopping the stack failed"; }
for program in teilhabe-registry teilhabe-measures teilhabe-broker; do
    grep -q "stopped: $program (exit status 0)" "$state/log/supervisord.log" ||
        fail "$program did not exit 0 on SIGTERM (see $state/log/$program.log)"
done
left=$(stack_processes)
[ -z "$left" ] || fail "processes left after stopping the stack:
$left"
echo "supervised stack: restarted after SIGKILL, stopped cleanly"
