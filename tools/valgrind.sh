#!/bin/sh
# Runs the unit tests and a quick command-line session of a normal (not
# sanitized) build under valgrind memcheck: any invalid access, use of
# uninitialised memory or leak (definite, indirect or possible) fails.
# Suppressions (tools/valgrind.supp) cover only allocations outside our code.
# Usage: tools/valgrind.sh BUILD
set -u
build=${1:?usage: tools/valgrind.sh BUILD}
src=$(cd "$(dirname "$0")/.." && pwd)
export DNSPROP="$build/dnsprop" DNSPROP_SRC="$src" DNSPROP_BUILD="$build"
# the unit tests that must finish some work within a time they set (a TTL
# that must outlive their questions) give it this many times longer
# (tests/unit/slow.h): under valgrind the work is tens of times slower, but
# most of such a test's time is its own waiting, which is not
export DNSPROP_TEST_SLOW=5
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dnsprop-valgrind.XXXXXX")
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT
VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --suppressions=$src/tools/valgrind.supp --track-fds=no"
failed=0
# run NAME WANT PATTERN CMD...: runs CMD under valgrind; it fails on any
# valgrind report, on an exit status other than WANT, and when its output
# (stdout and stderr together) has no line matching the extended regular
# expression PATTERN. A failure prints the command's own output too.
run() {
  name=$1 want=$2 pattern=$3
  shift 3
  start=$(date +%s)
  # shellcheck disable=SC2086
  $VG "$@" >"$scratch/out" 2>"$scratch/err"
  rc=$?
  why=
  if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*== ' "$scratch/err"; then
    why="valgrind reported errors"
  elif [ "$rc" -ne "$want" ]; then
    why="exit $rc, want $want"
  elif ! cat "$scratch/out" "$scratch/err" | grep -Eq -- "$pattern"; then
    why="no output line matches '$pattern'"
  fi
  if [ -n "$why" ]; then
    echo "valgrind: $name: FAILED: $why" >&2
    echo "--- $name: stdout (last 40 lines)" >&2
    tail -n 40 "$scratch/out" >&2
    echo "--- $name: stderr without valgrind's lines (last 40)" >&2
    grep -v '^==[0-9]*==' "$scratch/err" | tail -n 40 >&2
    echo "--- $name: valgrind" >&2
    grep '^==[0-9]*==' "$scratch/err" | head -60 >&2
    failed=$((failed + 1))
  else
    echo "valgrind: $name: clean (exit $rc, $(($(date +%s) - start)) s)"
  fi
}

for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  run "$(basename "$t")" 0 '^\[  PASSED  \] [0-9]+ test' "$t"
done

# a quick command-line session against a loopback test server
"$build/tests/dnsfault" good 3 >"$scratch/ports" &
srv=$!
for _ in $(seq 100); do [ -s "$scratch/ports" ] && break; sleep 0.05; done
set -- $(cat "$scratch/ports")
[ $# -eq 3 ] || { echo "valgrind: dnsfault did not start" >&2; exit 1; }
res="127.0.0.1:$1,127.0.0.1:$2"
ok='^DNSPROP OK - contoso.test mx 2/2 converged'
run "check" 0 "$ok" "$build/dnsprop" check contoso.test --resolvers "$res" \
  --authority "127.0.0.1:$3" --dir "$scratch/d" --checks m365
run "check again" 0 "$ok" "$build/dnsprop" check contoso.test --resolvers "$res" \
  --authority "127.0.0.1:$3" --dir "$scratch/d" --checks m365 --prometheus "$scratch/dnsprop.prom"
grep -q '^dnsprop_converged{domain="contoso.test",check="mx"} 2$' "$scratch/dnsprop.prom" || {
  echo "valgrind: check again: FAILED: --prometheus wrote no dnsprop_converged 2 for mx" >&2
  failed=$((failed + 1))
}
run "report" 0 "$ok" "$build/dnsprop" report --dir "$scratch/d"
run "merge" 0 "$ok" "$build/dnsprop" merge --dir "$scratch/m" "$scratch/d"
run "merge again" 0 "$ok" "$build/dnsprop" merge --dir "$scratch/m" "$scratch/d"
run "import atlas" 0 '^DNSPROP WARNING - 1xbet.com a 0/3 converged' "$build/dnsprop" import atlas \
  "$src/tests/data/atlas/tools_dns_compact_basic.json" \
  "$src/tests/data/atlas/tools_dns_compact_more.json" 1xbet.com ipv4only.arpa --checks a,aaaa \
  --dir "$scratch/i"
run "query" 0 ',contoso\.test\.,MX,.*,udp,ok,NOERROR,.*,10 mail\.contoso\.test\.,' \
  "$build/dnsprop" query "@127.0.0.1:$1" contoso.test MX
run "query +tcp" 0 ',contoso\.test\.,TXT,.*,tcp,ok,NOERROR,.*v=spf1 -all' \
  "$build/dnsprop" query "@127.0.0.1:$1" contoso.test TXT +tcp
# the resolv.conf reader up to its error (a usable line would send a query to port 53)
printf '# none\nnameserver not-an-address\n' >"$scratch/resolv.conf"
export DNSPROP_RESOLV_CONF="$scratch/resolv.conf"
run "query, no usable resolv.conf" 3 'resolv.conf: no usable nameserver line' \
  "$build/dnsprop" query contoso.test MX
unset DNSPROP_RESOLV_CONF
run "resolvers" 0 '^name,address,operator,country' "$build/dnsprop" resolvers
run "bad input" 3 "^dnsprop check: --expect mx: bad value '99999 x\.'" \
  "$build/dnsprop" check contoso.test --resolvers "$res" --expect 'mx=99999 x.'
# watch until converged: every resolver agrees with the authoritative server,
# so three converged rounds in a row end it with OK whatever the machine's speed
run "watch" 0 "$ok" "$build/dnsprop" watch contoso.test --resolvers "$res" \
  --authority "127.0.0.1:$3" --dir "$scratch/w" --interval 200ms --window 1h --until-converged

[ "$failed" -eq 0 ] || { echo "valgrind: $failed run(s) failed" >&2; exit 1; }
echo "valgrind: all clean"
