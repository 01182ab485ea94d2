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
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dnsprop-valgrind.XXXXXX")
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT
VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --suppressions=$src/tools/valgrind.supp --track-fds=no"
failed=0
run() { # run NAME CMD...: valgrind CMD; any valgrind error fails
  name=$1
  shift
  start=$(date +%s)
  # shellcheck disable=SC2086
  $VG "$@" >"$scratch/out" 2>"$scratch/err"
  rc=$?
  if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*== ' "$scratch/err"; then
    echo "valgrind: $name: FAILED" >&2
    grep '^==[0-9]*==' "$scratch/err" | head -60 >&2
    failed=$((failed + 1))
  else
    echo "valgrind: $name: clean (exit $rc, $(($(date +%s) - start)) s)"
  fi
}

for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  run "$(basename "$t")" "$t"
done

# a quick command-line session against a loopback test server
"$build/tests/dnsfault" good 3 >"$scratch/ports" &
srv=$!
for _ in $(seq 100); do [ -s "$scratch/ports" ] && break; sleep 0.05; done
set -- $(cat "$scratch/ports")
res="127.0.0.1:$1,127.0.0.1:$2"
run "check" "$build/dnsprop" check contoso.test --resolvers "$res" --authority "127.0.0.1:$3" \
  --dir "$scratch/d" --checks m365
run "check again" "$build/dnsprop" check contoso.test --resolvers "$res" --authority "127.0.0.1:$3" \
  --dir "$scratch/d" --checks m365
run "report" "$build/dnsprop" report --dir "$scratch/d"
run "merge" "$build/dnsprop" merge --dir "$scratch/m" "$scratch/d"
run "merge again" "$build/dnsprop" merge --dir "$scratch/m" "$scratch/d"
run "import atlas" "$build/dnsprop" import atlas "$src/tests/data/atlas/tools_dns_compact_basic.json" \
  "$src/tests/data/atlas/tools_dns_compact_more.json" 1xbet.com ipv4only.arpa --checks a,aaaa \
  --dir "$scratch/i"
run "query" "$build/dnsprop" query "@127.0.0.1:$1" contoso.test MX
run "query +tcp" "$build/dnsprop" query "@127.0.0.1:$1" contoso.test TXT +tcp
run "resolvers" "$build/dnsprop" resolvers
run "bad input" "$build/dnsprop" check contoso.test --resolvers "$res" --expect 'mx=99999 x.'
run "watch" "$build/dnsprop" watch contoso.test --resolvers "$res" --authority none \
  --dir "$scratch/w" --interval 200ms --window 1s

[ "$failed" -eq 0 ] || { echo "valgrind: $failed run(s) failed" >&2; exit 1; }
echo "valgrind: all clean"
