#!/usr/bin/env bash
# Scenario: dnsprop watch over a whole 72-hour window with a 1-hour interval,
# in accelerated time: libfaketime at 10000x makes 72 h pass in about 26 s,
# for the wall clock and for libuv's monotonic clock alike. One Unbound
# answers from its cache. Checked: 72 rounds (72 h / 1 h) on the grid, less
# exactly the intervals a stall of the machine skipped, none stacked; the
# watch stops by itself at the window end, with the exit status of its last
# round, and the rounds cover the whole window.
#
# Accelerated time multiplies every real delay by 10000: a round whose first
# answer is 20 ms late on a busy machine is 200 s late here, and a stall of
# 0.36 s skips a round. So the interval is an hour (0.36 s of real time), far
# above that noise, and the tolerances below are in hundreds of seconds; the
# grid and its catch-up rule (run.c) are what is asserted, not an exact count.
#
# The query timeout is scaled too: 60 s (the most dnsprop takes) x 10 tries
# (the most) is 60 ms of real time for a cached answer on loopback. A busy
# machine can still miss that now and then, so the exit status is checked
# against the last round's own verdict, and most rounds must have converged.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

command -v faketime >/dev/null 2>&1 || { echo "faketime not found (TEST_PACKAGES)" >&2; exit 1; }
started=$SECONDS
Z=contoso.test
lab_zone "$T/contoso.zone" $Z 1 300 "10 mail.$Z."
lab_start_auth auth "$T/contoso.zone" || exit 1
lab_start_unbound r1 auth || exit 1
D="$T/data"

# libfaketime is preloaded before ASan's runtime: tell ASan that is fine.
scn_time ms env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  timeout 100 faketime -f '+0 x10000' "$DNSPROP" watch $Z --resolvers "$(lab_addr r1)" \
  --authority "$(lab_addr auth)" --checks mx --interval 1h --window 72h \
  --timeout 60s --tries 10 --vantage lab --dir "$D"
echo "watch: exit $SCN_RC after $ms ms real time; stderr: $(tr '\n' ' ' <"$T/err")"
[ "$(grep -c '^DNSPROP ' "$T/out")" -eq "$(scn_csv "$D/timeline.csv" count)" ] ||
  fail "$(grep -c '^DNSPROP ' "$T/out") status lines for $(scn_csv "$D/timeline.csv" count) rounds"
[ "$SCN_RC" -ne 124 ] || { fail "the watch did not stop within 100 s: no window end?"; finish; }
[ "$ms" -le 60000 ] || fail "the accelerated window took $ms ms, want < 60 s"

n=$(scn_csv "$D/timeline.csv" filter '$check == "mx"' then count)
grep -q 'window ends' "$T/err" && ok "it said the window ended" ||
  fail "no word of the window end on stderr: $(cat "$T/err")"

# the rounds cover the window: the first at its start, the last within two
# intervals of its end, none after it
first=$(scn_csv "$D/timeline.csv" head -n 1 then cut -f time_utc)
last=$(scn_csv "$D/timeline.csv" tail -n 1 then cut -f time_utc)
wend=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f window_ends_utc)
f=$(scn_secs "$first")
l=$(scn_secs "$last")
w=$(scn_secs "$wend")
echo "first round $first, last round $last, window ends $wend"
# the window starts when the first round starts; the timeline's time is that
# round's first answer, a few accelerated seconds later (10000x: 1 ms = 10 s;
# up to half an interval allowed)
d=$((f + 72 * 3600 - w))
[ "$d" -ge 0 ] && [ "$d" -le 1800 ] ||
  fail "window end $wend is not 72 h after the start of the first round $first"
[ "$l" -le "$w" ] || fail "a round at $last, after the window end $wend"
[ "$l" -ge $((w - 7200)) ] || fail "the last round $last is more than two intervals before the window end $wend"

# exit status: the last round's (converged: 0; a query the busy machine let
# time out: 1); most rounds converged, and a round that did not had a query
# time out, never a wrong answer
st=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f status)
case "$st" in converged) want=0 ;; propagating) want=1 ;; *) want=x ;; esac
[ "$SCN_RC" = "$want" ] && ok "exit $SCN_RC, the last round's summary '$st'" ||
  fail "exit $SCN_RC, summary '$st' (want 0 for converged, 1 for propagating)"
nconv=$(scn_csv "$D/timeline.csv" filter '$check == "mx" && $converged == 1' then count)
# (beside two CPU hogs 5 of 72 rounds lost an answer to the 60 ms of real
# time a query has here: a count near n would test the machine, not dnsprop)
[ "$nconv" -ge $((n / 2)) ] && ok "$nconv of $n rounds converged" ||
  fail "only $nconv of $n rounds converged (a cached answer on loopback)"
wrong=$(scn_csv "$D/observations.csv" filter '$server !=~ "^auth:" &&
  !($status == "timeout" || ($status =~ "^(ok|nodata|nxdomain)$" && $match != "no"))' then count)
[ "${wrong:-0}" -eq 0 ] && ok "every answer of the resolver was right (or it timed out)" ||
  fail "$wrong row(s) of the resolver neither a right answer nor a timeout: $(
    scn_csv "$D/observations.csv" filter '$server !=~ "^auth:" && $status != "timeout"' \
      then count-distinct -f status,match | tr '\n' ' ')"
# The grid (run.c): rounds are due one interval apart from the first, so a
# late round does not shift the next; a round a whole interval late starts a
# new grid, with no rounds stacked behind it to catch up. So every gap is
# about an hour (a late round's is shorter by its lateness, the next one's
# longer), a gap of 1.5 intervals or more is a stall that skipped rounds
# (counted), and no gap is as short as a twentieth of an interval (that would
# be rounds stacked: each takes real milliseconds, tens of accelerated
# seconds). The rounds plus the skipped ones fill the window: 72, each stall
# may move the grid by one round.
read -r short skipped stalls gmin gmax < <(scn_csv "$D/timeline.csv" filter '$check == "mx"' then cut -f time_utc |
  while read -r t; do scn_secs "$t"; done | awk -v I=3600 '
    NR > 1 {
      g = $1 - p
      if (mn == "" || g < mn) mn = g
      if (g > mx) mx = g
      if (g < I / 20) short++
      if (g >= 1.5 * I) { stalls++; skipped += int(g / I + 0.5) - 1 }
    }
    { p = $1 }
    END { print short + 0, skipped + 0, stalls + 0, mn, mx }')
echo "gaps between rounds: $gmin..$gmax s; $stalls stall(s) skipped $skipped round(s)"
[ "$short" -eq 0 ] || fail "$short gap(s) shorter than 180 s: rounds stacked (interval 3600 s)"
slots=$((n + skipped))
[ "$slots" -ge $((71 - stalls)) ] && [ "$slots" -le 73 ] &&
  ok "$n rounds + $skipped skipped by stalls = $slots, the 72 of the window" ||
  fail "$n rounds + $skipped skipped by stalls = $slots, want 72 ($((71 - stalls))..73)"
echo "scenario took $((SECONDS - started)) s"
finish
