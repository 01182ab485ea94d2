# Shared helpers for the shell tests (tests/cli, tests/lab). Source it.
# Each test gets its own scratch folder $T, removed at exit.
: "${DNSPROP:?DNSPROP must name the dnsprop binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dnsprop-test.XXXXXX")
_failed=0
_cleanup_hooks=()
on_exit() { _cleanup_hooks+=("$*"); }
_run_cleanup() {
  local h
  for h in "${_cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$T"
}
trap _run_cleanup EXIT

fail() { echo "FAIL: $*" >&2; _failed=$((_failed + 1)); }
ok() { echo "ok: $*"; }

# expect_exit CODE CMD...: runs CMD with stdout in $T/out and stderr in $T/err.
expect_exit() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err" </dev/null
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "exit $got, want $want: $*"
    sed 's/^/  stderr: /' "$T/err" | head -5 >&2
  else
    ok "exit $want: $*"
  fi
}

# skip WHY: the test cannot run here (a missing privilege or facility): says so
# on stdout as "skipped: WHY" and exits 77, which CTest reports as skipped
# (SKIP_RETURN_CODE in tests/CMakeLists.txt), never as passed; cleanup runs as
# usual. A check that failed before the skip still fails the test.
SKIP_STATUS=77
skip() {
  echo "skipped: $*"
  if [ "$_failed" -ne 0 ]; then
    echo "$_failed check(s) failed before the skip" >&2
    exit 1
  fi
  exit "$SKIP_STATUS"
}

finish() {
  if [ "$_failed" -ne 0 ]; then
    echo "$_failed check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
