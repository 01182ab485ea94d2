#!/usr/bin/env bash
# Scenario: the demo's end state (PRODUCT.md section 10). dnsprop demo runs its
# own simulated world on loopback (in the lab's network namespace when there
# is one: proof that it needs no network) and must end within 90 s with exit
# 0, its reports showing every healthy resolver converged on every check, and
# the three broken ones not: twomx stale on mx (noncompliant, multiple-mx),
# silent and servfail in error everywhere; the deadline is the move plus the
# old TTL (10 s), the stretching resolver is shown overdue past it and then
# converges, twomx stays overdue and the demo says it will never converge.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

D="$T/demo"
scn_time ms timeout 120 "$DNSPROP" demo --dir "$D"
echo "demo: exit $SCN_RC after $ms ms"
[ "$SCN_RC" -eq 0 ] && ok "demo exit 0" || { fail "demo exit $SCN_RC"; tail -5 "$T/err" >&2; }
[ "$ms" -le 90000 ] && ok "demo ended within 90 s" || fail "demo took $ms ms, want <= 90 s"
for f in observations convergence timeline mx_compliance summary; do
  [ -s "$D/$f.csv" ] || fail "no $f.csv"
done
[ -s "$D/convergence.svg" ] || fail "no convergence.svg"
grep -q "$D" "$T/out" || fail "the demo did not say where the reports are"

# ---- convergence: healthy resolvers converged on every check ----
healthy=0
while IFS=$'\t' read -r check server state; do
  case "$server" in
    twomx) [ "$check" != mx ] || [ "$state" = stale ] || fail "twomx mx: $state, want stale" ;;
    silent | servfail) [ "$state" = error ] || fail "$server $check: $state, want error" ;;
    auth:*) [ "$state" = converged ] || fail "$server $check: $state" ;;
    *)
      if [ "$state" = converged ]; then
        [ "$check" = mx ] && healthy=$((healthy + 1))
      else
        fail "healthy resolver $server $check: $state, want converged"
      fi
      ;;
  esac
done < <(scn_csv "$D/convergence.csv" cut -o -f check,server,state)
[ "$healthy" -ge 5 ] && ok "$healthy healthy resolvers converged on mx" || fail "only $healthy healthy resolvers converged on mx"
for s in twomx silent servfail; do
  n=$(scn_csv "$D/convergence.csv" filter '$server == "'$s'" && $check == "mx"' then count)
  [ "${n:-0}" -eq 1 ] || fail "no mx convergence row for $s"
done
st=$(scn_csv "$D/convergence.csv" filter '$server == "twomx" && $check == "mx"' then cut -f stale_expires_utc)
[ -n "$st" ] || fail "twomx is stale without stale_expires_utc"

# ---- MX compliance ----
v=$(scn_csv "$D/mx_compliance.csv" filter '$server == "twomx"' then cut -o -f mx_count,verdict,reasons)
IFS=$'\t' read -r cnt verdict reasons <<<"$v"
case ";$reasons;" in *";multiple-mx;"*) has=1 ;; *) has=0 ;; esac
[ "$cnt" = 2 ] && [ "$verdict" = noncompliant ] && [ "$has" = 1 ] &&
  ok "twomx: noncompliant ($reasons)" || fail "twomx mx_compliance: '$v', want 2 noncompliant multiple-mx"
for s in silent servfail; do
  v=$(scn_csv "$D/mx_compliance.csv" filter '$server == "'$s'"' then cut -f verdict)
  [ "$v" = error ] || fail "$s mx_compliance verdict '$v', want error"
done
bad=$(scn_csv "$D/mx_compliance.csv" filter '$server != "twomx" && $server != "silent" && $server != "servfail" && $verdict != "compliant"' then cut -o -f server,verdict)
[ -z "$bad" ] && ok "every other server compliant" || fail "not compliant: $bad"

# ---- summary and the formula rule, on the demo's data too ----
st=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -o -f stale,errors)
[ "$st" = $'1\t2' ] || fail "summary mx: stale/errors '$st', want 1 and 2"
scn_check_formula_safe "$D" >"$T/bad" || { fail "formula-like fields in the demo's CSV files:"; cat "$T/bad" >&2; }

# ---- the deadline and the overdue ones ----
# the change: the first round in which the authoritative server served the new MX
change=$(scn_csv "$D/observations.csv" filter '$server =~ "^auth:" && $check == "mx" && $qtype == "MX" && $match == "yes" && $answer =~ "outlook"' then head -n 1 then cut -f time_utc)
dl=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f deadline_utc)
want=$(date -u -d "$change UTC + 10 seconds" '+%Y-%m-%d %H:%M:%S' 2>/dev/null)
[ -n "$dl" ] && [ "$dl" = "$want" ] && ok "deadline $dl = change $change + old TTL 10 s" ||
  fail "deadline '$dl', want '$want' (change '$change')"
od=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f overdue)
[ "$od" = 1 ] && ok "one resolver overdue at the end (twomx)" || fail "summary mx overdue '$od', want 1"
v=$(scn_csv "$D/convergence.csv" filter '$server == "twomx" && $check == "mx"' then cut -f overdue)
[ "$v" = yes ] || fail "twomx not overdue: '$v'"
grep -q 'overdue: [a-z, ]*stretch' "$T/out" && ok "stretch shown overdue after the deadline" ||
  fail "stretch never shown overdue"
v=$(scn_csv "$D/convergence.csv" filter '$server == "stretch" && $check == "mx"' then cut -o -f state,overdue)
[ "$v" = $'converged\tno' ] || fail "stretch at the end: '$v', want converged, not overdue"
v=$(scn_csv "$D/convergence.csv" filter '$server == "pool" && $check == "mx"' then cut -f state)
[ "$v" = converged ] || fail "pool at the end: '$v', want converged"
# the pool's caches answer NSID: seen as sites, each keeping its own TTL, so
# never overdue (15 rounds or so landing at random on 3 caches: 2 seen at least)
v=$(scn_csv "$D/convergence.csv" filter '$server == "pool" && $check == "mx"' then cut -f sites)
[ "${v:-0}" -ge 2 ] && ok "pool: $v sites" || fail "pool: sites '$v', want 2 or 3"
n=$(scn_csv "$D/observations.csv" filter '$server == "pool" && $site =~ "^pool-[abc]$"' then count)
[ "${n:-0}" -gt 0 ] || fail "no NSID in the pool's rows"
if grep -q 'overdue: [a-z, ]*pool' "$T/out"; then fail "the pool was called overdue"; else ok "the pool never overdue"; fi
grep -q '^demo: twomx will never converge: .*3600 s' "$T/out" && ok "the demo says twomx will never converge" ||
  fail "the demo did not say twomx will never converge"
grep -q 'deadline (UTC)' "$T/out" || fail "the closing summary has no deadline"
finish
