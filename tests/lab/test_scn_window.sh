#!/usr/bin/env bash
# Scenario: dnsprop watch over a whole 72-hour window with a 10-minute
# interval, in accelerated time: libfaketime at 10000x makes 72 h pass in
# about 26 s, for the wall clock and for libuv's monotonic clock alike. One
# Unbound answers from its cache. Checked: 432 rounds (72 h / 10 min, within a
# small tolerance for timer lateness, multiplied by 10000 too), the watch
# stops by itself at the window end, with the exit status of its last round,
# and the rounds are spread over the whole window.
#
# The query timeout is scaled too: 60 s (the most dnsprop takes) x 3 tries is
# 18 ms of real time, plenty for a cached answer on loopback.
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
  --authority "$(lab_addr auth)" --checks mx --interval 10m --window 72h \
  --timeout 60s --tries 3 --vantage lab --dir "$D"
echo "watch: exit $SCN_RC after $ms ms real time; stderr: $(tr '\n' ' ' <"$T/err")"
[ "$(grep -c '^DNSPROP ' "$T/out")" -eq "$(scn_csv "$D/timeline.csv" count)" ] ||
  fail "$(grep -c '^DNSPROP ' "$T/out") status lines for $(scn_csv "$D/timeline.csv" count) rounds"
[ "$SCN_RC" -ne 124 ] || { fail "the watch did not stop within 100 s: no window end?"; finish; }
[ "$ms" -le 60000 ] || fail "the accelerated window took $ms ms, want < 60 s"

n=$(scn_csv "$D/timeline.csv" filter '$check == "mx"' then count)
if [ "$n" -ge 430 ] && [ "$n" -le 434 ]; then ok "$n rounds in the 72 h window (432 expected)"; else
  fail "$n rounds in the 72 h window, want 432 (430..434)"
fi
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
# round's first answer, a few accelerated seconds later (10000x: 1 ms = 10 s)
d=$((f + 72 * 3600 - w))
[ "$d" -ge 0 ] && [ "$d" -le 60 ] ||
  fail "window end $wend is not 72 h after the start of the first round $first"
[ "$l" -le "$w" ] || fail "a round at $last, after the window end $wend"
[ "$l" -ge $((w - 1200)) ] || fail "the last round $last is more than two intervals before the window end $wend"

# exit status: the last round's (every round here converged)
st=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f status)
[ "$SCN_RC" -eq 0 ] && [ "$st" = converged ] && ok "exit 0, summary '$st'" ||
  fail "exit $SCN_RC, summary '$st' (want 0, converged)"
# gaps between rounds: about 10 min each. Timestamps are whole seconds of
# accelerated time, where 1 ms of real lateness (the machine busy elsewhere)
# is 10 s: only a gross gap (rounds skipped) is an error.
read -r gmin gmax < <(scn_csv "$D/timeline.csv" cut -f time_utc | while read -r t; do scn_secs "$t"; done |
  awk 'NR > 1 { g = $1 - p; if (mn == "" || g < mn) mn = g; if (g > mx) mx = g } { p = $1 } END { print mn, mx }')
echo "gaps between rounds: $gmin..$gmax s"
[ "$gmax" -le 3000 ] || fail "a gap of $gmax s between rounds (interval 600 s)"
echo "scenario took $((SECONDS - started)) s"
finish
