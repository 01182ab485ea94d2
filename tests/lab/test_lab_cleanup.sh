#!/usr/bin/env bash
# The lab leaves nothing behind: servers started by a lab test are stopped by
# PID when the test fails, when it is killed with SIGTERM, and when a later
# start fails; start-up errors are reported with the server's log.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
LABDIR=$(cd "$(dirname "$0")" && pwd)
export LABDIR

# child.sh MODE PIDFILE: a lab test of its own that starts a Knot, an Unbound
# and an ldns-testns, writes their PIDs, then ends as MODE says.
cat >"$T/child.sh" <<'EOF'
set -u
. "$LABDIR/../lib.sh"
. "$LABDIR/lab.sh"
mode=$1 pidfile=$2
lab_zone "$T/z.zone" contoso.test 1 5
lab_start_auth a "$T/z.zone" || exit 2
lab_start_unbound r a || exit 2
lab_start_swallow s || exit 2
case $mode in
  badstart)
    echo "ENTRY_BEGIN junk" >"$T/bad.data"
    for n in a r s; do lab_pid "$n"; done >"$pidfile"
    lab_start_testns bad "$T/bad.data" && exit 0
    exit 4 ;;
esac
for n in a r s; do lab_pid "$n"; done >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
case $mode in
  fail) fail "on purpose"; finish ;;
  signal) sleep 60 & wait ;;
esac
exit 0
EOF

# all_dead PIDFILE WHAT: every PID listed must be gone.
all_dead() {
  local p n=0 alive=0
  for p in $(cat "$1"); do
    n=$((n + 1))
    if kill -0 "$p" 2>/dev/null; then
      fail "$2: pid $p still running"
      alive=$((alive + 1))
    fi
  done
  if [ "$n" != 3 ]; then fail "$2: $n PIDs recorded, want 3"; elif [ "$alive" = 0 ]; then
    ok "$2: all $n servers stopped"
  fi
}

# A failing test.
bash "$T/child.sh" fail "$T/pids.fail" >"$T/fail.out" 2>&1
rc=$?
[ "$rc" = 1 ] || { fail "failing child exited $rc, want 1"; cat "$T/fail.out" >&2; }
all_dead "$T/pids.fail" "after a failed test"

# A test killed with SIGTERM while its servers run.
bash "$T/child.sh" signal "$T/pids.signal" >"$T/signal.out" 2>&1 &
child=$!
for i in $(seq 1 100); do [ -s "$T/pids.signal" ] && break; sleep 0.1; done
[ -s "$T/pids.signal" ] || fail "signal child never started its servers"
kill -TERM "$child"
wait "$child"
rc=$?
[ "$rc" = 143 ] || { fail "signalled child exited $rc, want 143"; cat "$T/signal.out" >&2; }
all_dead "$T/pids.signal" "after SIGTERM"

# A start that fails (ldns-testns rejects its datafile): the error names the
# server and shows its log; the servers already running are stopped.
bash "$T/child.sh" badstart "$T/pids.badstart" >"$T/badstart.out" 2>&1
rc=$?
[ "$rc" = 4 ] || { fail "badstart child exited $rc, want 4"; cat "$T/badstart.out" >&2; }
grep -q 'lab: bad (testns) exited during start-up' "$T/badstart.out" &&
  ok "failed start names the server" || { fail "no start-up error line"; cat "$T/badstart.out" >&2; }
grep -q 'ldns-testpkts error' "$T/badstart.out" && ok "failed start shows the log" ||
  fail "failed start does not show ldns-testns' complaint"
all_dead "$T/pids.badstart" "after a failed start"

# Bad calls are refused with one clear line.
lab_zone "$T/z.zone" contoso.test 1 5
lab_start_auth 'bad name' "$T/z.zone" 2>"$T/err" && fail "a name with a space was accepted"
grep -q "bad server name 'bad name'" "$T/err" || fail "bad name not reported: $(cat "$T/err")"
echo "@ 5 IN A 192.0.2.1" >"$T/noorigin.zone"
lab_start_auth noorigin "$T/noorigin.zone" 2>"$T/err" && fail "zone file without \$ORIGIN accepted"
grep -q 'no \$ORIGIN line' "$T/err" || fail "missing \$ORIGIN not reported: $(cat "$T/err")"
lab_start_unbound r nosuch 2>"$T/err" && fail "unbound with unknown upstream accepted"
grep -q "'nosuch' is not a Knot instance" "$T/err" || fail "unknown upstream not reported: $(cat "$T/err")"
[ "${#LAB_NAMES[@]}" = 0 ] || fail "refused starts left servers registered: ${LAB_NAMES[*]}"
finish
