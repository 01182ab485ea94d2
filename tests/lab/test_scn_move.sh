#!/usr/bin/env bash
# Scenario: a real MX move watched to the end. One Knot serves contoso.test
# with 5 s TTLs; three Unbound resolvers cache it for different times (TTL
# capped at 2 s, as served, stretched to 9 s), so they switch one by one.
# dnsprop check runs once (all converged, exit 0), the MX moves, and then a
# check every second until every resolver serves the new MX. Checked:
#   - exit 0 before the move, 1 while propagating, 0 at the end;
#   - timeline.csv: percent converged rises round by round through at least
#     two values between 0 and 100; convergence.csv states follow (a
#     converged resolver never goes back);
#   - the ETA is never late: for each resolver, every stale_expires_utc it
#     was given while stale is no earlier than the moment it really switched
#     (measured by polling it with dig every 0.2 s), and no dnsprop round saw
#     it still stale after that time (1 s of rounding allowed: the column has
#     whole seconds, Unbound counts TTLs in whole seconds).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
TTL=5
OLD="10 mail.contoso.test."
NEW="0 mx2.contoso.test."
lab_zone "$T/contoso.zone" contoso.test 1 "$TTL" "$OLD"
lab_start_auth auth "$T/contoso.zone" || exit 1
lab_start_unbound fast auth "cache-max-ttl: 2" || exit 1
lab_start_unbound plain auth || exit 1
lab_start_unbound slow auth "cache-min-ttl: 9" || exit 1
RES=(fast plain slow)
lab_resolvers_csv "$T/resolvers.csv" "${RES[@]}"
D="$T/data"
check() {
  "$DNSPROP" check contoso.test --resolvers "$T/resolvers.csv" --authority "$(lab_addr auth)" \
    --checks mx --vantage lab --timeout 1s --tries 2 --dir "$D" -q
}

# ---- before the move: everything converged ----
check >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok "before the move: exit 0" || fail "before the move: exit $rc, want 0: $(cat "$T/out" "$T/err")"
grep -q '^DNSPROP OK - contoso.test mx 3/3 converged' "$T/out" || fail "status line: $(cat "$T/out")"

# ---- the move, and a poller that sees the real switch of each resolver ----
lab_set_mx auth contoso.test "$TTL" "$NEW" || exit 1
moved=$(scn_now)
(
  declare -A seen=()
  end=$((SECONDS + 30))
  while [ "${#seen[@]}" -lt "${#RES[@]}" ] && [ "$SECONDS" -lt "$end" ]; do
    for r in "${RES[@]}"; do
      [ -n "${seen[$r]:-}" ] && continue
      # the time is taken before asking: for "old", a lower bound of the
      # switch; for "new", an upper bound less the query's time
      t=$(scn_now)
      case "$(lab_dig "$r" +short contoso.test MX 2>/dev/null)" in
        "$NEW") seen[$r]=1; echo "$r new $(scn_now)" ;;
        "$OLD") echo "$r old $t" ;;
      esac
    done
    sleep 0.2
  done
) >"$T/switched" &
poller=$!
on_exit "kill $poller 2>/dev/null"

codes=""
snap=0
for i in $(seq 1 25); do
  t0=$(scn_now)
  check >"$T/out" 2>"$T/err"
  rc=$?
  codes="$codes $rc"
  snap=$((snap + 1))
  cp "$D/convergence.csv" "$T/conv.$snap"
  [ "$rc" -eq 0 ] && break
  [ "$rc" -eq 1 ] || { fail "check $i: exit $rc: $(cat "$T/out" "$T/err")"; break; }
  # one round a second
  sleep "$(awk -v s="$t0" -v e="$(scn_now)" 'BEGIN { d = 1 - (e - s); print (d > 0 ? d : 0) }')"
done
wait "$poller"
echo "exit codes after the move:$codes"
case "$codes" in
  " 1"*" 0") ok "exit 1 while propagating, then 0" ;;
  *) fail "exit codes after the move:$codes (want 1... then 0)" ;;
esac

# ---- timeline: percent converged rises, one resolver at a time ----
mapfile -t pct < <(scn_csv "$D/timeline.csv" filter '$check == "mx"' then sort -n round then cut -f percent_converged)
echo "timeline mx percent: ${pct[*]}"
[ "${pct[0]}" = 100.0 ] || fail "round 1 percent ${pct[0]}, want 100.0"
[ "${pct[-1]}" = 100.0 ] || fail "last round percent ${pct[-1]}, want 100.0"
prev=-1
mids=""
for p in "${pct[@]:1}"; do
  awk -v a="$p" -v b="$prev" 'BEGIN { exit !(a + 0 < b + 0) }' && fail "percent fell from $prev to $p"
  awk -v a="$p" 'BEGIN { exit !(a + 0 > 0 && a + 0 < 100) }' && case " $mids " in *" $p "*) ;; *) mids="$mids $p" ;; esac
  prev=$p
done
n_mids=$(wc -w <<<"$mids")
[ "$n_mids" -ge 2 ] && ok "resolvers converge one by one (percent steps:$mids)" ||
  fail "want at least two percent steps between 0 and 100, saw:$mids"

# ---- convergence.csv snapshots: states per resolver, never back ----
declare -A state_seq=() eta_min=()
for s in $(seq 1 "$snap"); do
  while IFS=$'\t' read -r server state eta; do
    state_seq[$server]="${state_seq[$server]:-} $state"
    if [ "$state" = stale ]; then
      [ -n "$eta" ] || fail "snapshot $s: $server stale without stale_expires_utc"
      e=$(scn_secs "$eta")
      if [ -z "${eta_min[$server]:-}" ] || [ "$e" -lt "${eta_min[$server]}" ]; then eta_min[$server]=$e; fi
    else
      [ -z "$eta" ] || fail "snapshot $s: $server $state with stale_expires_utc '$eta'"
    fi
  done < <(scn_csv "$T/conv.$s" filter '$check == "mx"' then cut -o -f server,state,stale_expires_utc)
done
for r in "${RES[@]}"; do
  seq_r=${state_seq[$r]:-}
  echo "$r states:$seq_r"
  case "$seq_r" in
    " stale"*" converged") ;;
    *) fail "$r states:$seq_r (want stale... then converged)" ;;
  esac
  case "$seq_r" in *converged*stale*) fail "$r went back from converged to stale" ;; esac
done
[ "${state_seq[auth:$(lab_addr auth)]:-}" != "" ] || fail "no convergence row for the authority"

# ---- the ETA is never late ----
# The real switch lies between the last poll that still saw the old MX and the
# first that saw the new one. The ETA was late only if the resolver was seen
# serving the old MX after it (plus 1 s: whole seconds on both sides).
for r in "${RES[@]}"; do
  e=${eta_min[$r]:-}
  old_seen=$(awk -v r="$r" '$1 == r && $2 == "old" { t = $3 } END { print t }' "$T/switched")
  new_seen=$(awk -v r="$r" '$1 == r && $2 == "new" { print $3 }' "$T/switched")
  if [ -z "$e" ] || [ -z "$new_seen" ]; then
    fail "$r: ETA '$e', switch seen at '$new_seen' (the poller saw no switch?)"
    continue
  fi
  [ -n "$old_seen" ] || old_seen=$moved
  # the last round in which dnsprop saw this resolver serve the old MX
  last_old=$(scn_csv "$D/observations.csv" filter '$server == "'"$r"'" && $qtype == "MX" && $round >= 2 && $match == "no"' then cut -f time_utc | tail -1)
  echo "$r: earliest ETA given $(scn_utc "$e"); switched between +$(awk -v s="$old_seen" -v e="$e" 'BEGIN { printf "%.2f", s - e }') s and +$(awk -v s="$new_seen" -v e="$e" 'BEGIN { printf "%.2f", s - e }') s after it ($(awk -v s="$new_seen" -v m="$moved" 'BEGIN { printf "%.1f", s - m }') s after the move); dnsprop last saw it stale at ${last_old:-never}"
  if awk -v s="$old_seen" -v e="$e" 'BEGIN { exit !(s <= e + 1) }'; then
    ok "$r: ETA not late"
  else
    fail "$r: still served the old MX at $(scn_utc "$old_seen"), after the ETA it was given ($(scn_utc "$e")) + 1 s"
  fi
  if [ -n "$last_old" ] && [ "$(scn_secs "$last_old")" -gt $((e + 1)) ]; then
    fail "$r: a round at $last_old still saw the old MX, after its ETA $(scn_utc "$e") + 1 s"
  fi
  # and not absurdly early either: the switch came after the ETA minus the
  # TTL the resolver had (the longest, 9 s, plus slack)
  awk -v s="$new_seen" -v e="$e" 'BEGIN { exit !(s >= e - 10) }' ||
    fail "$r: switched long before its ETA $(scn_utc "$e")"
done

# ---- the summary agrees ----
st=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -o -f converged,stale,status)
[ "$st" = $'3\t0\tconverged' ] || fail "summary mx row '$st', want 3 converged"
echo "scenario took $((SECONDS - started)) s"
finish
