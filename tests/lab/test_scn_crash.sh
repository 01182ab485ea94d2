#!/usr/bin/env bash
# Scenarios of the data folder's reliability (PRODUCT.md section 9):
#   - kill -9 of a check while a silent server holds its round, and of a watch
#     mid-way: the next check runs at once (the kernel dropped the flock), no
#     finished row is lost, the log parses (report exit 0);
#   - a torn last line (a crash inside a write) is cut back with a warning;
#   - SIGTERM during watch: the round under way finishes and is written, the
#     log ends with whole rounds, the exit status is the last round's, quickly;
#   - two checks at once on one folder both succeed, one after the other; a
#     lock held by another process makes a check wait (and, under libfaketime
#     at 20x, give up after its 30 s with exit 3 naming the lock).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
scn_contoso_lab || exit 1
lab_start_swallow swallow || exit 1
lab_resolvers_csv "$T/good.csv" good
lab_resolvers_csv "$T/slow.csv" good swallow
D="$T/data"
# cmd check|watch RESOLVERS TIMEOUT [OPTIONS...]
cmd() {
  local c=$1 res=$2 tmo=$3
  shift 3
  "$DNSPROP" "$c" $Z --resolvers "$res" --authority "$AUTH" --checks mx --vantage lab \
    --timeout "$tmo" --tries 2 --dir "$D" "$@"
}
# bg ARGS...: cmd in the background as dnsprop itself (exec), so that $! is
# dnsprop's PID and a signal reaches it, not a subshell around it.
bg() {
  local c=$1 res=$2 tmo=$3
  shift 3
  exec "$DNSPROP" "$c" $Z --resolvers "$res" --authority "$AUTH" --checks mx --vantage lab \
    --timeout "$tmo" --tries 2 --dir "$D" "$@"
}
rows() { tail -n +2 "$D/observations.csv" | wc -l; }
rounds() { scn_csv "$D/observations.csv" cut -f round then uniq -g round -c then cut -f round | tr '\n' ' '; }
# every round in the log has its four rows from the honest resolver and the
# authority (good: MX, and A and AAAA of the target; the authority: MX), and
# the file ends with CRLF
whole_rounds() {
  local bad
  bad=$(scn_csv "$D/observations.csv" filter '$server == "good" || $server =~ "^auth:"' \
    then count -g round then filter '$count != 4' then cut -f round | tr '\n' ' ')
  [ -z "$bad" ] || { fail "$1: rounds without their rows: $bad"; return; }
  [ "$(tail -c 2 "$D/observations.csv" | od -An -c | tr -d ' ')" = '\r\n' ] ||
    { fail "$1: the log does not end with CRLF"; return; }
  ok "$1: the log holds whole rounds: $(rounds)"
}
report_ok() {
  "$DNSPROP" report --dir "$D" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq 0 ] && ok "$1: report rebuilds, exit 0" || fail "$1: report exit $rc: $(cat "$T/err")"
}

# ---- a first round, then kill -9 of a check held by a silent server ----
cmd check "$T/good.csv" 1s >/dev/null 2>&1
n0=$(rows)
[ "$n0" -gt 0 ] || fail "first check wrote no rows"
bg check "$T/slow.csv" 3s >"$T/killed.out" 2>&1 &
pid=$!
sleep 1
kill -0 "$pid" 2>/dev/null || fail "the held check ended before it was killed"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
n1=$(rows)
[ "$n1" -eq "$n0" ] && ok "kill -9 mid-round: log unchanged ($n1 rows)" || fail "kill -9 mid-round: rows $n0 -> $n1"
scn_time ms cmd check "$T/good.csv" 1s
[ "$SCN_RC" -eq 0 ] || fail "check after kill -9: exit $SCN_RC: $(cat "$T/err")"
[ "$ms" -lt 2500 ] && ok "check after kill -9 did not wait for the dead run's lock ($ms ms)" ||
  fail "check after kill -9 took $ms ms"
n2=$(rows)
[ "$n2" -eq $((2 * n0)) ] || fail "after kill -9 and one more check: $n2 rows, want $((2 * n0))"
[ "$(rounds)" = "1 2 " ] || fail "rounds after kill -9 and one more check: $(rounds), want 1 2"
whole_rounds "after kill -9 of a check"
report_ok "after kill -9 of a check"

# ---- kill -9 of a watch mid-way ----
bg watch "$T/good.csv" 1s --interval 1s >"$T/watch.out" 2>&1 &
pid=$!
sleep 2.5
kill -KILL "$pid"
wait "$pid" 2>/dev/null
n3=$(rows)
[ "$n3" -gt "$n2" ] && ok "the killed watch wrote $(( (n3 - n2) / n0 )) round(s) first" ||
  fail "the killed watch wrote nothing in 2.5 s"
whole_rounds "after kill -9 of a watch"
report_ok "after kill -9 of a watch"

# ---- a torn last line ----
printf '2026-11-29 18:00:00,lab,99,contoso.test,mx,contoso.te' >>"$D/observations.csv"
size_torn=$(stat -c %s "$D/observations.csv")
expect_exit 0 cmd check "$T/good.csv" 1s
grep -qi 'torn\|cut\|truncat\|incomplete\|partial' "$T/err" &&
  ok "torn last line repaired with a warning: $(head -1 "$T/err")" ||
  fail "no warning about the torn last line: stderr '$(cat "$T/err")'"
n4=$(rows)
[ "$n4" -eq $((n3 + n0)) ] && ok "no finished row lost ($n3 + $n0 = $n4)" || fail "rows after the repair: $n4, want $((n3 + n0))"
grep -q 'contoso.te$\|,99,' "$D/observations.csv" && fail "the torn line is still in the log"
whole_rounds "after the torn line"
report_ok "after the torn line"
# damage before the last line is refused, and changes nothing
cp "$D/observations.csv" "$T/log.bak"
awk 'NR == 3 { print "this,is,not,a,row\r"; next } { print }' "$T/log.bak" >"$D/observations.csv"
sum=$(sha256sum <"$D/observations.csv")
expect_exit 3 cmd check "$T/good.csv" 1s
grep -q 'observations.csv:3' "$T/err" && ok "damage named: $(cat "$T/err")" || fail "damage not named observations.csv:3: $(cat "$T/err")"
[ "$(sha256sum <"$D/observations.csv")" = "$sum" ] || fail "the damaged log was changed"
cp "$T/log.bak" "$D/observations.csv"
: "$size_torn"

# ---- SIGTERM during watch: the round under way finishes ----
# a round with the silent server lasts timeout x tries = 2 s
before=$(rounds)
bg watch "$T/slow.csv" 1s --interval 1s >"$T/watch.out" 2>"$T/watch.err" &
pid=$!
sleep 3
t0=$(scn_now)
kill -TERM "$pid"
wait "$pid"
rc=$?
ms=$(scn_elapsed_ms "$t0")
echo "watch after SIGTERM: exit $rc in $ms ms; stderr: $(tr '\n' ' ' <"$T/watch.err")"
grep -q 'finishing the round under way' "$T/watch.err" && ok "SIGTERM came during a round" ||
  echo "note: SIGTERM came between rounds"
[ "$ms" -le 3500 ] && ok "watch ended ${ms} ms after SIGTERM (round bound 2 s)" || fail "watch took $ms ms after SIGTERM"
last=$(grep '^DNSPROP ' "$T/watch.out" | tail -1)
case "$last" in
  "DNSPROP WARNING"*) want=1 ;; "DNSPROP OK"*) want=0 ;; "DNSPROP CRITICAL"*) want=2 ;; *) want=x ;;
esac
[ "$rc" = "$want" ] && ok "exit $rc is the last round's ($last)" || fail "exit $rc, last round said '$last'"
nlines=$(grep -c '^DNSPROP ' "$T/watch.out")
after=$(rounds)
new=$(( $(wc -w <<<"$after") - $(wc -w <<<"$before") ))
[ "$new" -eq "$nlines" ] && [ "$new" -ge 2 ] && ok "$new rounds logged, $nlines status lines" ||
  fail "watch logged $new rounds but printed $nlines status lines"
whole_rounds "after SIGTERM"
lastr=$(scn_csv "$D/observations.csv" cut -f round then tail -n 1 then cut -f round)
st=$(scn_csv "$D/observations.csv" filter '$round == '"$lastr"' && $server == "swallow"' then cut -f status)
[ "$st" = timeout ] && ok "the round finished after SIGTERM holds the silent server's timeout row" ||
  fail "round $lastr (the one SIGTERM interrupted): swallow row '$st', want timeout"
report_ok "after SIGTERM"

# ---- two checks at once ----
rm -rf "$D"
t0=$(scn_now)
bg check "$T/slow.csv" 1s >"$T/c1.out" 2>&1 &
p1=$!
bg check "$T/slow.csv" 1s >"$T/c2.out" 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
ms=$(scn_elapsed_ms "$t0")
[ "$r1" -eq 1 ] && [ "$r2" -eq 1 ] && ok "two checks at once: both exit 1 (a silent resolver)" ||
  fail "two checks at once: exit $r1 and $r2: $(cat "$T/c1.out" "$T/c2.out")"
[ "$(rounds)" = "1 2 " ] && ok "two checks at once: rounds 1 and 2" || fail "two checks at once: rounds '$(rounds)'"
# each round takes 2 s (timeout 1 s x 2 tries): one after the other is >= 4 s
[ "$ms" -ge 3800 ] && ok "the second waited for the first ($ms ms for both)" || fail "both done in $ms ms: they overlapped?"
whole_rounds "two checks at once"

# ---- a lock held by another process ----
n5=$(rows)
(flock 9 && touch "$T/locked" && sleep 3) 9>"$D/.lock" &
holder=$!
on_exit "kill $holder 2>/dev/null"
while [ ! -e "$T/locked" ]; do sleep 0.05; done
t0=$(scn_now)
bg check "$T/good.csv" 1s >"$T/out" 2>"$T/err" &
pid=$!
sleep 1.5
[ "$(rows)" -eq "$n5" ] && kill -0 "$pid" 2>/dev/null && ok "a check waits while another process holds the lock" ||
  fail "the check did not wait for the lock"
wait "$pid"
rc=$?
ms=$(scn_elapsed_ms "$t0")
wait "$holder"
[ "$rc" -eq 0 ] && [ "$ms" -ge 2500 ] && ok "it went on when the lock was released (exit 0 after $ms ms)" ||
  fail "held lock: exit $rc after $ms ms: $(cat "$T/err")"
# 30 s of waiting in 1.5 s: libfaketime at 20x speeds up the clock the wait is
# timed by. ASan must accept libfaketime preloaded before it.
if command -v faketime >/dev/null 2>&1; then
  (flock 9 && touch "$T/locked2" && sleep 8) 9>"$D/.lock" &
  holder=$!
  on_exit "kill $holder 2>/dev/null"
  while [ ! -e "$T/locked2" ]; do sleep 0.05; done
  n6=$(rows)
  scn_time ms env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    faketime -f '+0 x20' "$DNSPROP" check $Z --resolvers "$T/good.csv" --authority "$AUTH" \
    --checks mx --vantage lab --dir "$D"
  kill "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null
  echo "locked past 30 s (20x): exit $SCN_RC after $ms ms: $(cat "$T/err")"
  if [ "$SCN_RC" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '\.lock' "$T/err"; then
    ok "locked past 30 s: exit 3 naming the lock"
  else
    fail "locked past 30 s: exit $SCN_RC, stderr '$(cat "$T/err")'"
  fi
  [ "$ms" -ge 1000 ] && [ "$ms" -le 6000 ] || fail "gave up after $ms ms, want about 1500 (30 s at 20x)"
  [ "$(rows)" -eq "$n6" ] || fail "the run that gave up changed the log"
fi
echo "scenario took $((SECONDS - started)) s"
finish
