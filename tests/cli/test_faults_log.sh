#!/usr/bin/env bash
# Fault tests, the log (PRODUCT.md section 9): kill -9 in the middle of rounds
# (a torn line is cut back on the next run with a warning, nothing finished is
# lost), a full disk (RLIMIT_FSIZE: a clear error, exit 3, the log unchanged
# and still readable), a run killed by SIGXFSZ mid-write, and folders that
# cannot be written (a file where a folder should be).
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSFAULT:?DNSFAULT must name the dnsfault test server}"

"$DNSFAULT" good 4 >"$T/ports" &
srv=$!
on_exit "kill $srv 2>/dev/null; wait $srv 2>/dev/null"
for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.05; done
set -- $(cat "$T/ports")
[ $# -eq 4 ] || { fail "dnsfault did not start"; finish; }
printf 'name,address,operator,country\nr1,127.0.0.1:%s,,\nr2,127.0.0.1:%s,,\nr3,127.0.0.1:%s,,\n' \
  "$1" "$2" "$3" >"$T/r.csv"
# every server answers: a long timeout costs nothing, and on a busy machine a
# short one turns a slow answer into a timeout and exit 0 into 1
ARGS=(contoso.test --resolvers "$T/r.csv" --authority "127.0.0.1:$4" --timeout 5s --tries 2)
D="$T/d"
LOG="$D/observations.csv"

is_prefix() { cmp -s -n "$(wc -c <"$1")" "$1" "$2"; } # is_prefix A B: A is a prefix of B

expect_exit 0 "$DNSPROP" check "${ARGS[@]}" --dir "$D"

# ---- a torn last line, as a crash mid-write leaves it -------------------------
cp "$LOG" "$T/before"
printf '2026-11-29 18:36:09,vm,2,contoso.test,mx,contoso.te' >>"$LOG"
expect_exit 0 "$DNSPROP" check "${ARGS[@]}" --dir "$D"
grep -q 'torn' "$T/err" && ok "torn line: warning" || fail "torn line: no warning on stderr: $(cat "$T/err")"
is_prefix "$T/before" "$LOG" && ok "torn line: earlier rows kept" || fail "torn line: earlier rows changed"
grep -q 'contoso.te$\|contoso.te,' "$LOG" && grep -c 'contoso\.te,' "$LOG" | grep -qv '^0$' &&
  fail "torn line: the torn text is still there"
[ "$(tail -c 2 "$LOG" | od -An -c | tr -d ' ')" = '\r\n' ] || fail "torn line: log does not end in CRLF"
[ "$(grep -vc $'\r$' "$LOG")" -eq 0 ] || fail "torn line: a line without CRLF remains"

# ---- kill -9 at random moments of a watch ------------------------------------
for i in $(seq 8); do
  cp "$LOG" "$T/before"
  "$DNSPROP" watch "${ARGS[@]}" --dir "$D" --interval 100ms >/dev/null 2>"$T/watch.err" &
  w=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$w" 2>/dev/null
  wait "$w" 2>/dev/null
  # what the next run must keep: every complete line written so far
  size=$(wc -c <"$LOG")
  keep=$size
  [ "$(tail -c 1 "$LOG" | od -An -tx1 | tr -d ' ')" = 0a ] || keep=$((size - $(tail -n 1 "$LOG" | wc -c)))
  head -c "$keep" "$LOG" >"$T/finished"
  is_prefix "$T/before" "$T/finished" || fail "kill -9 #$i: rows of earlier runs lost"
  "$DNSPROP" check "${ARGS[@]}" --dir "$D" >"$T/out" 2>"$T/err"
  rc=$?
  [ "$rc" -eq 0 ] || { fail "kill -9 #$i: next check exit $rc"; sed 's/^/  /' "$T/err" | head -3 >&2; }
  is_prefix "$T/finished" "$LOG" || fail "kill -9 #$i: finished rows lost by the next run"
  if [ "$keep" -ne "$size" ]; then
    grep -q torn "$T/err" && ok "kill -9 #$i: torn line cut with a warning" || fail "kill -9 #$i: torn line, no warning"
  else
    ok "kill -9 #$i: no torn line this time ($(wc -l <"$LOG") lines)"
  fi
done
expect_exit 0 "$DNSPROP" report --dir "$D"
[ "$(grep -vc $'\r$' "$LOG")" -eq 0 ] || fail "after kills: a line without CRLF"

# ---- a full disk: RLIMIT_FSIZE, SIGXFSZ ignored so write() fails with EFBIG --
cp "$LOG" "$T/before"
# bash counts ulimit -f in 1024-byte blocks: room for a few hundred bytes, not a round
blocks=$((($(wc -c <"$LOG") + 600) / 1024))
(trap '' XFSZ && ulimit -f "$blocks" && exec "$DNSPROP" check "${ARGS[@]}" --dir "$D") >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 3 ] && ok "full disk: exit 3" || fail "full disk: exit $rc, want 3"
grep -qi 'observations.csv' "$T/err" && grep -qi 'too large\|no space\|write' "$T/err" &&
  ok "full disk: $(head -1 "$T/err")" || fail "full disk: unclear error: $(cat "$T/err")"
cmp -s "$T/before" "$LOG" && ok "full disk: log unchanged" || fail "full disk: log changed"
expect_exit 0 "$DNSPROP" report --dir "$D"
[ -s "$T/err" ] && fail "full disk: report afterwards complains: $(cat "$T/err")"

# ---- killed by SIGXFSZ in the middle of the append ---------------------------
(ulimit -f "$blocks" && exec "$DNSPROP" check "${ARGS[@]}" --dir "$D") >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && ok "SIGXFSZ: the run died (exit $rc)" || fail "SIGXFSZ: exit 0 over the file size limit"
torn=no
[ "$(tail -c 1 "$LOG" | od -An -tx1 | tr -d ' ')" = 0a ] || torn=yes
expect_exit 0 "$DNSPROP" check "${ARGS[@]}" --dir "$D"
if [ "$torn" = yes ]; then
  grep -q torn "$T/err" && ok "SIGXFSZ: torn line cut with a warning" || fail "SIGXFSZ: torn line, no warning"
fi
is_prefix "$T/before" "$LOG" || fail "SIGXFSZ: earlier rows lost"
expect_exit 0 "$DNSPROP" report --dir "$D"

# ---- folders that cannot be written -------------------------------------------
: >"$T/afile"
for dir in "$T/afile" "$T/afile/sub"; do
  expect_exit 3 "$DNSPROP" check "${ARGS[@]}" --dir "$dir"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "--dir $dir: want one line on stderr, got: $(cat "$T/err")"
  grep -qF "$T/afile" "$T/err" || fail "--dir $dir: the message does not name the path"
done
[ ! -s "$T/afile" ] || fail "a file given as --dir was written to"
mkdir -p "$T/d3/observations.csv"
expect_exit 3 "$DNSPROP" check "${ARGS[@]}" --dir "$T/d3"
grep -q 'observations.csv' "$T/err" || fail "observations.csv a folder: message does not name it"
finish
