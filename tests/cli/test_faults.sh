#!/usr/bin/env bash
# Fault tests, servers that misbehave (tests/tools/dnsfault.c, on 127.0.0.1):
# garbage bytes, an endless TCP stream, a 65535-byte TCP length then nothing.
# A round against them must end in bounded time with rows for every server,
# no crash, and a log that still parses. Also: a low RLIMIT_NOFILE (the round
# completes with fewer sockets at once).
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSFAULT:?DNSFAULT must name the dnsfault test server}"

# start_server VAR MODE [COUNT]: starts dnsfault, sets VAR to its port(s)
start_server() {
  local var=$1 mode=$2 count=${3:-1} f="$T/srv.$1"
  "$DNSFAULT" "$mode" "$count" >"$f" &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
  [ -s "$f" ] || { fail "dnsfault $mode did not start"; finish; }
  printf -v "$var" '%s' "$(cat "$f")"
}
start_server GOOD good
start_server GARBAGE garbage
start_server STREAM stream
start_server HANG hang
start_server MANY good 30

# status_of SERVER LOG: the statuses of that server's rows, sorted, unique
status_of() { awk -F, -v s="$1" 'NR > 1 && $8 == s { print $11 }' "$2" | sort -u | tr '\n' ' '; }

# ---- misbehaving servers -----------------------------------------------------
cat >"$T/bad.csv" <<EOF2
name,address,operator,country
good,127.0.0.1:$GOOD,lab,ZZ
garbage,127.0.0.1:$GARBAGE,lab,ZZ
stream,127.0.0.1:$STREAM,lab,ZZ
hang,127.0.0.1:$HANG,lab,ZZ
EOF2
# the timeout is what the bad servers cost the round, and what the good one
# has to answer in on a busy machine: 1 s, not less
start=$(date +%s%N)
"$DNSPROP" check contoso.test --resolvers "$T/bad.csv" --authority "127.0.0.1:$GOOD" \
  --dir "$T/d1" --timeout 1s --tries 2 >"$T/out" 2>"$T/err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
log="$T/d1/observations.csv"
if [ "$rc" -ge 1 ] && [ "$rc" -le 2 ]; then ok "bad servers: exit $rc (propagating/critical, not a crash)"; else
  fail "bad servers: exit $rc, want 1 or 2"; sed 's/^/  /' "$T/err" | head -5 >&2; fi
# each query may wait timeout x tries = 2 s; the MX target lookups follow
# the MX answers, so a round is a few such waits: bounded, far from a minute
# even on a busy machine (a round that hung would never end)
[ "$ms" -lt 60000 ] && ok "bad servers: round took ${ms} ms" || fail "bad servers: round took ${ms} ms"
grep -q '^DNSPROP \(WARNING\|CRITICAL\) - contoso.test' "$T/out" || fail "bad servers: no status line: $(head -1 "$T/out")"
for s in good garbage stream hang; do
  n=$(awk -F, -v s="$s" 'NR > 1 && $8 == s' "$log" | wc -l)
  [ "$n" -ge 4 ] && ok "$s: $n rows" || fail "$s: $n rows, want one per check at least"
done
[ "$(status_of good "$log")" = "ok " ] || fail "good: statuses $(status_of good "$log")"
case "$(status_of garbage "$log")" in
  *ok* | *nodata* | "") fail "garbage: statuses '$(status_of garbage "$log")', want malformed/timeout only" ;;
  *malformed*) ok "garbage: $(status_of garbage "$log")" ;;
  *) fail "garbage: statuses '$(status_of garbage "$log")', want malformed among them" ;;
esac
[ "$(status_of stream "$log")" = "timeout " ] || fail "stream: statuses '$(status_of stream "$log")', want timeout"
[ "$(status_of hang "$log")" = "timeout " ] || fail "hang: statuses '$(status_of hang "$log")', want timeout"
awk -F, -v s=hang 'NR > 1 && $8 == s && $10 != "tcp" { bad = 1 } END { exit bad }' "$log" ||
  fail "hang: a row not over tcp (the TC bit should have sent it to TCP)"
expect_exit 0 "$DNSPROP" report --dir "$T/d1"
# every row of the log parses: report rebuilt from all of them
[ "$(($(wc -l <"$log") - 1))" -ge 16 ] || fail "log: too few rows"

# ---- a low RLIMIT_NOFILE: 30 servers, 40 descriptors -------------------------
{
  echo name,address,operator,country
  i=0
  for p in $MANY; do
    i=$((i + 1))
    echo "r$i,127.0.0.1:$p,lab,ZZ"
  done
} >"$T/many.csv"
set -- $MANY
(ulimit -n 40 && exec "$DNSPROP" check contoso.test --resolvers "$T/many.csv" \
  --authority "127.0.0.1:$1" --dir "$T/d2" --timeout 5s --tries 2) >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok "ulimit -n 40: exit 0" || { fail "ulimit -n 40: exit $rc"; sed 's/^/  /' "$T/err" | head -5 >&2; }
for i in $(seq 30); do
  st=$(status_of "r$i" "$T/d2/observations.csv")
  [ "$st" = "ok " ] || fail "ulimit -n 40: r$i statuses '$st', want ok"
done
grep -q '30/30 converged' "$T/out" || fail "ulimit -n 40: not 30/30 converged: $(cat "$T/out")"
finish
