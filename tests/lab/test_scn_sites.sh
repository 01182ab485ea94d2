#!/usr/bin/env bash
# Scenario: one MX move (TTL 20 s) watched with `dnsprop check` every 2 s
# against resolvers nobody here wrote, started by the lab in its network
# namespace, each forwarding only to the lab's Knot:
#   - pool: three Unbound caches behind ONE address (nftables DNAT, a random
#     cache per flow), NSIDs pool-1..3, primed 13, 7 and 1 s before the change
#     by asking each cache directly;
#   - bind: BIND 9 with serve-stale (NSID "bind"), whose path to Knot is cut
#     right after the change and given back 30 s later;
#   - pdns: PowerDNS Recursor (NSID "pdns"); kres: Knot Resolver (NSID
#     "kres"); plain: Unbound (NSID "plain").
# A poller asks every cache directly the whole time, so the test knows when
# each one really switched and when BIND answered stale. Checked:
#   - the log is well formed: the current header, 19 fields in every row,
#     `ede` empty or codes joined by ';';
#   - `site` names the cache that answered: each resolver's own NSID, the
#     pool's rows the three caches' NSIDs (all three seen), and what a pool
#     row says agrees with what the poller saw of that very cache then;
#   - BIND's stale answers (the old MX after its TTL ran out) carry EDE 3 in
#     `ede`, every one of them; answers with a fresh TTL carry none;
#   - every resolver converges at the end (exit 0, all converged);
#   - promises (convergence.csv and summary.csv after every round): no cache
#     that keeps TTLs switched after deadline_utc (the change plus the old
#     TTL); every TTL-keeping site kept the promise of each of its answers;
#     the pool, each of whose sites kept its own TTL, is never called overdue
#     and counts 3 sites; BIND is overdue while it serves the old MX past its
#     promise (before the deadline already), and no longer once converged.
# Namespace mode only (BIND, PowerDNS Recursor, Knot Resolver and nftables
# must never see the host's network): skipped on the host's loopback.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

[ "$LAB_MODE" = netns ] || skip "needs the lab's network namespace (unshare -rn)"
for tool in named pdns_recursor kresd nft; do
  command -v "$tool" >/dev/null 2>&1 || { fail "$tool not found (see TEST_PACKAGES in the Makefile)"; finish; }
done

TTL=20
OLD="10 mail.contoso.test."
NEW="0 mx2.contoso.test."
Z=contoso.test
lab_zone "$T/contoso.zone" $Z 1 "$TTL" "$OLD"
lab_start_auth auth "$T/contoso.zone" || exit 1
mapfile -t stale_opts < <(lab_bind_serve_stale 300)
lab_start_bind bind auth "${stale_opts[@]}" || exit 1
lab_start_pdns pdns auth || exit 1
lab_start_kresd kres auth || exit 1
lab_start_unbound plain auth 'nsid: "ascii_plain"' || exit 1
lab_start_pool pool auth 3 || exit 1
POOL=(pool-1 pool-2 pool-3)
OTHERS=(bind pdns kres plain)
ALL=(pool "${OTHERS[@]}")
lab_resolvers_csv "$T/early.csv" "${OTHERS[@]}"
lab_resolvers_csv "$T/all.csv" "${ALL[@]}"
D="$T/data"
check() { # check RESOLVERS-CSV
  "$DNSPROP" check $Z --resolvers "$1" --authority "$(lab_addr auth)" --checks mx \
    --vantage lab --timeout 1s --tries 2 --dir "$D" -q
}
prime() { # prime CACHE: one direct question, so the cache holds the MX from now on
  lab_query "$1" $Z MX
  [ "$LAB_Q_RDATA" = "$OLD" ] || fail "priming $1: '$LAB_Q_RDATA'"
}

# ---- before the change: the caches primed at different times ----
# Round 1 leaves the pool out: a check would prime whichever cache it hits.
t_prime1=$(scn_now)
prime pool-1
check "$T/early.csv" >"$T/out" 2>"$T/err" || fail "round 1: exit $?: $(cat "$T/out" "$T/err")"
sleep 6
prime pool-2
sleep 6
prime pool-3
check "$T/all.csv" >"$T/out" 2>"$T/err" || fail "round 2: exit $?: $(cat "$T/out" "$T/err")"
sleep 0.5

# ---- the poller: every cache directly, every 0.5 s ----
# Lines "NAME old|new|stale3 TIME": TIME is taken before asking (for old, a
# lower bound of the switch) or after the answer (for new, an upper bound).
(
  end=$((SECONDS + 100))
  while [ "$SECONDS" -lt "$end" ]; do
    for r in "${POOL[@]}" "${OTHERS[@]}"; do
      t=$(scn_now)
      out=$(lab_dig "$r" +nsid $Z MX 2>/dev/null)
      t2=$(scn_now)
      case "$(awk '/^;; ANSWER SECTION:/ { on = 1; next } on && NF == 0 { on = 0 } on && $4 == "MX" { print $5, $6 }' <<<"$out")" in
        "$NEW") echo "$r new $t2" ;;
        "$OLD") echo "$r old $t"
          grep -q 'EDE: 3 ' <<<"$out" && echo "$r stale3 $t" ;;
      esac
    done
    sleep 0.5
  done
) >"$T/seen" &
poller=$!
on_exit "kill $poller 2>/dev/null"

# ---- the change; BIND loses its authority right after it ----
lab_set_mx auth $Z "$TTL" "$NEW" || exit 1
moved=$(scn_now)
lab_cut bind auth || exit 1
cut=1
snap=0
codes=""
for i in $(seq 1 40); do
  t0=$(scn_now)
  if [ "$cut" = 1 ] && awk -v m="$moved" -v n="$t0" 'BEGIN { exit !(n - m >= 30) }'; then
    lab_uncut bind auth || exit 1
    uncut=$(scn_now)
    cut=0
  fi
  check "$T/all.csv" >"$T/out" 2>"$T/err"
  rc=$?
  codes="$codes $rc"
  snap=$((snap + 1))
  cp "$D/convergence.csv" "$T/conv.$snap"
  cp "$D/summary.csv" "$T/sum.$snap"
  scn_now >"$T/at.$snap"
  [ "$rc" -eq 0 ] && [ "$cut" = 0 ] && break
  [ "$rc" -le 1 ] || { fail "check $i: exit $rc: $(cat "$T/out" "$T/err")"; break; }
  sleep "$(awk -v s="$t0" -v e="$(scn_now)" 'BEGIN { d = 2 - (e - s); print (d > 0 ? d : 0) }')"
done
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null
echo "exit codes after the change:$codes"
[ "$rc" -eq 0 ] && ok "every resolver converged in the end (exit 0)" ||
  fail "not converged at the end: exit $rc: $(cat "$T/out" "$T/err")"
st=$(scn_csv "$D/convergence.csv" filter '$check == "mx" && $server !=~ "^auth:"' then sort -f server then cut -o -f server,state | tr '\t\n' ': ')
[ "$st" = "bind:converged kres:converged pdns:converged plain:converged pool:converged " ] &&
  ok "convergence.csv: $st" || fail "convergence.csv: $st"

# ---- the log is well formed ----
H='time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match,site,ede'
head -1 "$D/observations.csv" | tr -d '\r' | grep -qx "$H" || fail "header: $(head -1 "$D/observations.csv")"
# miller refuses a row whose length differs from the header's
if bad=$(mlr --icsv --onidx put -q 'if (length($*) != 19) { print NR }' "$D/observations.csv" 2>&1); then
  [ -z "$bad" ] && ok "every row has 19 fields" || fail "rows without 19 fields: $bad"
else
  fail "observations.csv does not read as CSV: $bad"
fi
bad_ede=$(scn_csv "$D/observations.csv" filter '$ede != "" && $ede !=~ "^[0-9]+(;[0-9]+)*$"' then cut -f ede | head -3)
[ -z "$bad_ede" ] || fail "malformed ede: $bad_ede"
scn_check_formula_safe "$D" || fail "a field starts like a formula"

# ---- site: who answered ----
for r in "${OTHERS[@]}"; do
  sites=$(scn_csv "$D/observations.csv" filter '$server == "'"$r"'" && $status == "ok"' then cut -f site then uniq -g site | tr '\n' ' ')
  [ "$sites" = "$r " ] && ok "$r rows: site $sites" || fail "$r rows: sites '$sites', want '$r'"
done
pool_sites=$(scn_csv "$D/observations.csv" filter '$server == "pool" && $qtype == "MX"' then cut -f site then sort -f site then uniq -g site | tr '\n' ' ')
[ "$pool_sites" = "pool-1 pool-2 pool-3 " ] && ok "pool rows come from three sites: $pool_sites" ||
  fail "pool rows: sites '$pool_sites', want the three caches' NSIDs"
# Knot sends an NSID of its own (the host name): the auth rows carry what dig sees
knot_nsid=$(lab_dig auth +norec +nsid $Z SOA | sed -n 's/^; NSID: .*("\(.*\)")$/\1/p')
auth_sites=$(scn_csv "$D/observations.csv" filter '$server =~ "^auth:"' then cut -f site then uniq -g site | tr '\n' ' ')
[ "$auth_sites" = "$knot_nsid " ] && ok "auth rows: site '$knot_nsid', as dig +nsid shows" ||
  fail "auth rows: sites '$auth_sites', dig +nsid shows '$knot_nsid'"
# What a pool row says is what that cache served then: a row with the old MX
# from site S is not later than S's switch as the poller saw it, a row with
# the new MX not earlier (1.5 s for whole seconds and a busy machine).
while IFS=$'\t' read -r time site answer; do
  ts=$(scn_secs "$time")
  sw_new=$(awk -v r="$site" '$1 == r && $2 == "new" { print $3; exit }' "$T/seen")
  sw_old=$(awk -v r="$site" '$1 == r && $2 == "old" { t = $3 } END { print t }' "$T/seen")
  if [ "$answer" = "$OLD" ] && [ -n "$sw_new" ]; then
    awk -v t="$ts" -v s="$sw_new" 'BEGIN { exit !(t <= s + 1.5) }' ||
      fail "pool row at $time: $site old, but it served the new MX since $(scn_utc "$sw_new")"
  elif [ "$answer" = "$NEW" ] && [ -n "$sw_old" ]; then
    awk -v t="$ts" -v s="$sw_old" 'BEGIN { exit !(t + 2.5 >= s) }' ||
      fail "pool row at $time: $site new, but it still served the old MX at $(scn_utc "$sw_old")"
  fi
done < <(scn_csv "$D/observations.csv" filter '$server == "pool" && $qtype == "MX" && $status == "ok"' then cut -o -f time_utc,site,answer)
# Every site keeps the promise of its own answers: an old MX from site S at
# time t with TTL n says S switches by t + n, and the poller never saw S
# serve the old MX after that (2 s: time_utc has whole seconds, Unbound
# counts TTLs in whole seconds). The last poll that saw the old MX is a lower
# bound of the real switch, whatever the poller's pace on a busy machine.
broken=0 kept=0
while IFS=$'\t' read -r server time site ttl; do
  last_old=$(awk -v r="$site" '$1 == r && $2 == "old" { t = $3 } END { print t }' "$T/seen")
  promise=$(($(scn_secs "$time") + ttl))
  if ! grep -q "^$site new " "$T/seen"; then
    fail "$server row at $time: site $site never seen switching"
    broken=$((broken + 1))
  elif [ -n "$last_old" ] && ! awk -v s="$last_old" -v p="$promise" 'BEGIN { exit !(s <= p + 2) }'; then
    fail "$server row at $time (site $site, TTL $ttl): promised by $(scn_utc "$promise"), still old at $(scn_utc "${last_old%.*}")"
    broken=$((broken + 1))
  else
    kept=$((kept + 1))
  fi
done < <(scn_csv "$D/observations.csv" filter '$server != "bind" && $server !=~ "^auth:" && $qtype == "MX" && $answer == "'"$OLD"'"' then cut -o -f server,time_utc,site,ttl)
[ "$broken" -eq 0 ] && [ "$kept" -ge 5 ] &&
  ok "all $kept old answers of TTL-keeping sites kept their promise (switched by time + TTL)" ||
  fail "old answers of TTL-keeping sites: $kept kept, $broken broken"
for c in "${POOL[@]}"; do
  echo "$c switched at +$(awk -v r="$c" -v m="$moved" '$1 == r && $2 == "new" { printf "%.1f", $3 - m; exit }' "$T/seen") s"
done

# ---- BIND: stale answers, each with EDE 3 ----
grep -q '^bind stale3 ' "$T/seen" && ok "the poller saw BIND answer stale with EDE 3" ||
  fail "BIND never answered stale with EDE 3 while its path was cut"
n_stale=$(scn_csv "$D/observations.csv" filter '$server == "bind" && $qtype == "MX" && $answer == "'"$OLD"'" && $ede =~ "(^|;)3(;|$)"' then count)
[ "${n_stale:-0}" -ge 3 ] && ok "$n_stale stale BIND rows with EDE 3" || fail "stale BIND rows with EDE 3: ${n_stale:-0}, want several"
# the old MX with a TTL above the one served (BIND's stale-answer-ttl, 30 s)
# is a stale answer, and says so, every time
while IFS=$'\t' read -r time ttl ede; do
  if [ "$ttl" -gt "$TTL" ]; then
    case ";$ede;" in *";3;"*) ;; *) fail "bind row at $time: old MX with TTL $ttl (stale) but ede '$ede'" ;; esac
  fi
done < <(scn_csv "$D/observations.csv" filter '$server == "bind" && $qtype == "MX" && $answer == "'"$OLD"'"' then cut -o -f time_utc,ttl,ede)
fresh_ede=$(scn_csv "$D/observations.csv" filter '$server == "bind" && $qtype == "MX" && $status == "ok" && $ttl != "" && $ttl <= '"$TTL"' && $ede != ""' then count)
[ "${fresh_ede:-0}" -eq 0 ] || fail "$fresh_ede BIND rows with a fresh TTL carry an ede"
other_ede=$(scn_csv "$D/observations.csv" filter '$server != "bind" && $ede != ""' then count)
[ "${other_ede:-0}" -eq 0 ] || fail "$other_ede rows of resolvers without serve-stale carry an ede"
# ---- promises: the deadline, sites, overdue ----
deadline=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -f deadline_utc)
if [ -z "$deadline" ]; then
  fail "summary.csv: no deadline_utc, though the log holds the old TTL"
else
  dl=$(scn_secs "$deadline")
  # the change time is the first round that saw the new MX at the authority
  awk -v d="$dl" -v t="$TTL" -v m="$moved" 'BEGIN { exit !(d - t >= m - 1 && d - t <= m + 5) }' &&
    ok "deadline_utc $deadline: the change (+$(awk -v d="$dl" -v t="$TTL" -v m="$moved" 'BEGIN { printf "%.1f", d - t - m }') s) plus the old TTL $TTL s" ||
    fail "deadline_utc $deadline is not the change time plus $TTL s (change at $(scn_utc "$moved"))"
  late=""
  for c in "${POOL[@]}" pdns kres plain; do
    # seen old after the deadline (the last old poll: a lower bound of the switch)
    last_old=$(awk -v r="$c" '$1 == r && $2 == "old" { t = $3 } END { print t }' "$T/seen")
    grep -q "^$c new " "$T/seen" || late="$late $c(never)"
    if [ -n "$last_old" ] && ! awk -v s="$last_old" -v d="$dl" 'BEGIN { exit !(s <= d + 1.5) }'; then
      late="$late $c($(scn_utc "${last_old%.*}"))"
    fi
  done
  [ -z "$late" ] && ok "no TTL-keeping cache served the old MX after the deadline" ||
    fail "TTL-keeping caches still old after the deadline $deadline:$late"
fi
pool_overdue=0 bind_overdue_early=0 bind_stale_late_not_overdue=0
for n in $(seq 1 "$snap"); do
  at=$(cat "$T/at.$n")
  while IFS=$'\t' read -r server state answer overdue; do
    case "$server" in
      pool) [ "$overdue" = yes ] && pool_overdue=$((pool_overdue + 1)) ;;
      bind)
        if [ "$state" = stale ] && [ "$overdue" = yes ] && [ -n "${dl:-}" ] &&
          awk -v a="$at" -v d="$dl" 'BEGIN { exit !(a < d - 2) }'; then
          bind_overdue_early=$((bind_overdue_early + 1))
        fi
        if [ "$state" = stale ] && [ "$overdue" != yes ] && [ -n "${dl:-}" ] &&
          awk -v a="$at" -v d="$dl" 'BEGIN { exit !(a > d + 2) }'; then
          bind_stale_late_not_overdue=$((bind_stale_late_not_overdue + 1))
        fi ;;
    esac
  done < <(scn_csv "$T/conv.$n" filter '$check == "mx"' then cut -o -f server,state,current_answer,overdue)
done
[ "$pool_overdue" -eq 0 ] && ok "the pool was never called overdue ($snap rounds)" ||
  fail "the pool was called overdue in $pool_overdue of $snap rounds, though each site kept its TTL"
[ "$bind_overdue_early" -ge 1 ] && ok "BIND overdue while serving stale past its promise, before the deadline ($bind_overdue_early rounds)" ||
  fail "BIND never overdue before the deadline, though it served stale (EDE 3) past its promise"
[ "$bind_stale_late_not_overdue" -eq 0 ] || fail "BIND stale after the deadline but not overdue in $bind_stale_late_not_overdue rounds"
st=$(scn_csv "$D/convergence.csv" filter '$check == "mx" && $server !=~ "^auth:"' then sort -f server then cut -o -f server,sites,overdue | tr '\t\n' ': ')
[ "$st" = "bind:1:no kres:1:no pdns:1:no plain:1:no pool:3:no " ] && ok "at the end (server:sites:overdue): $st" ||
  fail "at the end (server:sites:overdue): $st"
sum_end=$(scn_csv "$D/summary.csv" filter '$check == "mx"' then cut -o -f status,overdue | tr '\t' :)
[ "$sum_end" = "converged:0" ] && ok "summary at the end: $sum_end" || fail "summary at the end: $sum_end"

first_stale=$(scn_csv "$D/observations.csv" filter '$server == "bind" && $ede =~ "(^|;)3(;|$)"' then head -n 1 then cut -f time_utc)
echo "BIND: cut at +0, first stale row $first_stale, path back at +$(awk -v u="${uncut:-0}" -v m="$moved" 'BEGIN { printf "%.1f", u - m }') s"
finish
