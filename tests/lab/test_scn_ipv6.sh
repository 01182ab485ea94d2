#!/usr/bin/env bash
# An IPv6 server on a host without IPv6 connectivity (the built-in list has many)
# gives `unreachable` rows, never a failed run, and costs no timeout:
#   - check with resolvers Unbound, [2001:db8::53]:53 (no route) and [::1]:PORT
#     (nothing listens: ICMP port unreachable): the run completes (exit 1 or 2,
#     not 3), the Unbound rows are ok, every row of the other two is
#     `unreachable`, and the round takes less than one --timeout, far below
#     timeout x tries;
#   - dnsprop query @[2001:db8::53] and @[::1]:PORT: exit 2, status unreachable,
#     at once.
# Only inside the lab's network namespace, where `lo` is the only interface and
# there is no route anywhere: a packet to 2001:db8::53 cannot leave the machine.
# On the host's loopback the test is skipped (nothing may be sent to a
# non-loopback address there).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
[ "$LAB_MODE" = netns ] || skip "needs the lab's network namespace (unshare -rn); on the host's loopback nothing may be sent to 2001:db8::53"
links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
[ "$links" = "lo " ] || skip "the namespace has interfaces besides lo: $links"
[ -z "$(ip -6 route show default)" ] && [ -z "$(ip -4 route show default)" ] ||
  skip "the namespace has a default route"
ip -6 route get 2001:db8::53 >/dev/null 2>&1 && skip "2001:db8::53 has a route here"
ip -6 addr show dev lo | grep -q 'inet6 ::1/' || skip "no ::1 on lo (IPv6 disabled)"

Z=contoso.test
lab_zone "$T/z.zone" $Z 100 60 "10 mail.$Z."
lab_start_auth auth "$T/z.zone" || exit 1
lab_start_unbound r1 auth || exit 1
R1=$(lab_addr r1)
V6=2001:db8::53
W6="[$V6]" # as dnsprop writes it (resolvers.h: port 53 omitted, brackets kept)
P=$(lab__free_port) || exit 1 # nothing listens there, on any address
L6="[::1]:$P"

TIMEOUT_MS=2000
TRIES=3
scn_time ms "$DNSPROP" check $Z --resolvers "$R1,[$V6]:53,$L6" --authority "$(lab_addr auth)" \
  --checks mx --vantage lab --timeout ${TIMEOUT_MS}ms --tries $TRIES --dir "$T/d"
echo "  exit $SCN_RC in $ms ms: $(grep '^DNSPROP ' "$T/out" | tail -1)"
case "$SCN_RC" in
  1 | 2) ok "the run completed: exit $SCN_RC" ;;
  *)
    fail "check with unreachable IPv6 resolvers: exit $SCN_RC, want 1 or 2"
    sed 's/^/  stderr: /' "$T/err" | head -5 >&2
    ;;
esac
grep -q '^DNSPROP \(WARNING\|CRITICAL\) - ' "$T/out" || fail "no status line: $(head -3 "$T/out")"
[ "$ms" -lt "$TIMEOUT_MS" ] && ok "the round took $ms ms (< one timeout, ${TIMEOUT_MS} ms x $TRIES tries)" ||
  fail "the round took $ms ms: unreachable servers were waited for (timeout ${TIMEOUT_MS} ms x $TRIES)"
obs="$T/d/observations.csv"
if [ -f "$obs" ]; then
  # rows per address: "address status" counts
  st=$(scn_csv "$obs" cut -o -f address,status | sort | uniq -c | awk '{ print $2, $3, $1 }')
  echo "$st" | sed 's/^/  rows: /'
  for a in "$W6" "$L6"; do
    n=$(awk -v a="$a" '$1 == a { s += $3 } END { print s + 0 }' <<<"$st")
    bad=$(awk -v a="$a" '$1 == a && $2 != "unreachable"' <<<"$st")
    [ "$n" -gt 0 ] && [ -z "$bad" ] && ok "$a: $n row(s), all unreachable" ||
      fail "$a: $n row(s); not unreachable: '$bad'"
  done
  n=$(awk -v a="$R1" '$1 == a && $2 == "ok" { s += $3 } END { print s + 0 }' <<<"$st")
  [ "$n" -gt 0 ] && ok "the Unbound resolver still answered ($n ok rows)" || fail "no ok rows from $R1"
  st=$(scn_csv "$T/d/convergence.csv" cut -o -f address,state | sort | tr '\t' ' ')
  echo "$st" | sed 's/^/  convergence: /'
  grep -q "^$R1 converged$" <<<"$st" || fail "$R1 is not converged: '$st'"
  for a in "$W6" "$L6"; do
    awk -v a="$a" '$1 == a && $2 == "error" { f = 1 } END { exit !f }' <<<"$st" ||
      fail "$a is not 'error' in convergence.csv"
  done
else
  fail "no observations.csv"
fi

# ---- dnsprop query ----
for a in "$W6" "$L6"; do
  scn_time ms "$DNSPROP" query "@$a" $Z MX
  st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f status "$T/out" 2>/dev/null)
  if [ "$SCN_RC" -eq 2 ] && [ "$st" = unreachable ]; then
    ok "query @$a: exit 2, unreachable, $ms ms"
  else
    fail "query @$a: exit $SCN_RC, status '$st', want 2 and unreachable"
    sed 's/^/  /' "$T/out" "$T/err" | head -5 >&2
  fi
  [ "$ms" -lt "$TIMEOUT_MS" ] || fail "query @$a took $ms ms"
done
echo "scenario took $((SECONDS - started)) s"
finish
