#!/usr/bin/env bash
# The delegation check against real servers (PRODUCT.md section 12). The lab:
#   knotp  127.53.0.1:53  the parent zone test. (delegations and glue)
#   knot1  127.53.1.1:53  ok.test, moved.test, lame.test, glue.test
#   knot2  127.53.1.2:53  the same zones
#   knot3  127.53.1.3:53  moved.test (the new servers of a move)
#   knot4  127.53.1.4:53  moved.test
#   knot5  127.53.1.5:53  else.test only: a server that does not serve lame.test
#   r1     Unbound recursing from the parent: finds the parent zone (the
#          closest ancestor with an SOA), its NS and their addresses.
# Cases, one domain each:
#   ok.test     parent and child agree: exit 0, every referral consistent;
#               the same with --parent 127.53.0.1 given;
#   moved.test  the child names ns3/ns4, the parent still ns1/ns2 (a move the
#               registrar has not made yet): delegation-mismatch, exit 1; then
#               the parent zone changes: exit 0, and delegation.csv's deadline
#               is that round plus the old delegation's TTL (7200 s);
#   lame.test   the parent (and the child) name ns.other.test, whose server
#               answers REFUSED for the zone: lame-delegation, exit 2;
#   glue.test   the parent's glue for ns2.glue.test is 127.53.1.1, the child
#               says 127.53.1.2: glue-mismatch, exit 1.
# Each time `dnsprop report` must rebuild delegation.csv and summary.csv byte
# for byte from the log. Port 53 on several addresses needs the lab's network
# namespace (or root); else skip.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
if [ "$LAB_MODE" = netns ]; then net=127.53; else net=127.$((RANDOM % 200 + 30)); fi
P=$net.0.1
A1=$net.1.1 A2=$net.1.2 A3=$net.1.3 A4=$net.1.4 A5=$net.1.5
scn_need_port53 $P $A1 $A2 $A3 $A4 $A5
# the wrong glue of glue.test points at knot1, which serves the zone too: every
# server answers, only the address differs from the child's
BAD=$A1

soa() { echo "@ 60 IN SOA ns1 hostmaster 1 3600 600 86400 60"; }
{
  echo "\$ORIGIN test."
  echo "@ 300 IN SOA ns hostmaster 1 3600 600 86400 60"
  echo "@ 300 IN NS ns"
  echo "ns 300 IN A $P"
  echo "ok 3600 IN NS ns1.ok"
  echo "ok 3600 IN NS ns2.ok"
  echo "ns1.ok 3600 IN A $A1"
  echo "ns2.ok 3600 IN A $A2"
  echo "moved 7200 IN NS ns1.moved"
  echo "moved 7200 IN NS ns2.moved"
  echo "ns1.moved 7200 IN A $A1"
  echo "ns2.moved 7200 IN A $A2"
  echo "lame 3600 IN NS ns1.lame"
  echo "lame 3600 IN NS ns.other"
  echo "ns1.lame 3600 IN A $A1"
  echo "ns.other 3600 IN A $A5"
  echo "glue 3600 IN NS ns1.glue"
  echo "glue 3600 IN NS ns2.glue"
  echo "ns1.glue 3600 IN A $A1"
  echo "ns2.glue 3600 IN A $BAD"
} >"$T/test.zone"
{ echo "\$ORIGIN ok.test."; soa; echo "@ 60 IN NS ns1"; echo "@ 60 IN NS ns2"
  echo "ns1 60 IN A $A1"; echo "ns2 60 IN A $A2"; } >"$T/ok.zone"
{ echo "\$ORIGIN moved.test."; soa; echo "@ 60 IN NS ns3"; echo "@ 60 IN NS ns4"
  echo "ns1 60 IN A $A1"; echo "ns2 60 IN A $A2"; echo "ns3 60 IN A $A3"; echo "ns4 60 IN A $A4"; } >"$T/moved.zone"
{ echo "\$ORIGIN lame.test."; soa; echo "@ 60 IN NS ns1"; echo "@ 60 IN NS ns.other.test."
  echo "ns1 60 IN A $A1"; } >"$T/lame.zone"
{ echo "\$ORIGIN glue.test."; soa; echo "@ 60 IN NS ns1"; echo "@ 60 IN NS ns2"
  echo "ns1 60 IN A $A1"; echo "ns2 60 IN A $A2"; } >"$T/glue.zone"
{ echo "\$ORIGIN else.test."; soa; echo "@ 60 IN NS ns1"; echo "ns1 60 IN A $A5"; } >"$T/else.zone"

LAB_AUTH_LISTEN=$P:53 lab_start_auth knotp "$T/test.zone" || exit 1
LAB_AUTH_LISTEN=$A1:53 lab_start_auth knot1 "$T/ok.zone" "$T/moved.zone" "$T/lame.zone" "$T/glue.zone" || exit 1
LAB_AUTH_LISTEN=$A2:53 lab_start_auth knot2 "$T/ok.zone" "$T/moved.zone" "$T/lame.zone" "$T/glue.zone" || exit 1
LAB_AUTH_LISTEN=$A3:53 lab_start_auth knot3 "$T/moved.zone" || exit 1
LAB_AUTH_LISTEN=$A4:53 lab_start_auth knot4 "$T/moved.zone" || exit 1
LAB_AUTH_LISTEN=$A5:53 lab_start_auth knot5 "$T/else.zone" || exit 1
lab_start_unbound r1 knotp || exit 1
R1=$(lab_addr r1)

check() {
  local dom=$1 dir=$2
  shift 2
  "$DNSPROP" check "$dom" --resolvers "$R1" --vantage lab --timeout 1s --tries 2 \
    --checks delegation --dir "$T/$dir" "$@"
}
status_line() { grep '^DNSPROP ' "$T/out" | tail -1; }
# checked EXIT DOMAIN DIR PATTERN WHAT: a check of DOMAIN into DIR exits EXIT
# and its status line (printed, and left in $line) matches the glob PATTERN
checked() {
  local want=$1 dom=$2 dir=$3 pat=$4 what=$5
  expect_exit "$want" check "$dom" "$dir"
  line=$(status_line)
  echo "  $line"
  case "$line" in
    $pat) ok "$what" ;;
    *) fail "$dir: status line '$line'" ;;
  esac
}
# deleg DIR: "server verdict reasons" of every delegation.csv row
deleg() {
  scn_csv "$T/$1/delegation.csv" cut -o -f server,verdict,reasons | tr '\t' ' ' | sort
}
# rebuilt DIR: `dnsprop report` writes the same delegation.csv and summary.csv
rebuilt() {
  local dir=$T/$1 f
  for f in delegation.csv summary.csv convergence.csv; do cp "$dir/$f" "$T/before.$f"; done
  "$DNSPROP" report --dir "$dir" >/dev/null 2>"$T/report.err" || { fail "$1: report failed: $(cat "$T/report.err")"; return; }
  for f in delegation.csv summary.csv convergence.csv; do
    cmp -s "$dir/$f" "$T/before.$f" || fail "$1: report rebuilt $f differently: $(diff "$T/before.$f" "$dir/$f" | head -5)"
  done
  rm -f "$dir/.state"
  "$DNSPROP" report --dir "$dir" >/dev/null 2>&1
  cmp -s "$dir/delegation.csv" "$T/before.delegation.csv" || fail "$1: a rebuild without .state differs"
}

# ---- consistent ----
expect_exit 0 check ok.test ok
echo "  $(status_line)"
got=$(deleg ok)
[ "$got" = "parent:ns.test consistent " ] && ok "ok.test: the parent's referral is consistent" ||
  fail "ok.test delegation.csv: '$got'"
row=$(scn_csv "$T/ok/observations.csv" filter '$server == "parent:ns.test"' then cut -o -f qtype,address,status,ttl,answer,expected,match | tr '\t' '|')
want="NS|$P|ok|3600|ns1.ok.test. | ns2.ok.test. ; glue ns1.ok.test. A $A1 ; glue ns2.ok.test. A $A2|ns1.ok.test. | ns2.ok.test.|yes"
[ "$row" = "$want" ] && ok "referral row: NS set, parent TTL 3600, glue, expected = the child's NS" ||
  fail "referral row: '$row', want '$want'"
probes=$(scn_csv "$T/ok/observations.csv" filter '$check == "delegation" && $server =~ "^auth:" && $qtype == "NS"' then cut -o -f server,address,answer | tr '\t' '|' | sort)
# an authoritative answer carries the child's own addresses as additional data
aa="ns1.ok.test. | ns2.ok.test. ; glue ns1.ok.test. A $A1 ; glue ns2.ok.test. A $A2 ; aa"
want="auth:ns1.ok.test|$A1|$aa
auth:ns2.ok.test|$A2|$aa"
[ "$probes" = "$want" ] && ok "both named servers answer authoritatively" || fail "probe rows: '$probes'"
n=$(scn_csv "$T/ok/observations.csv" filter '$check == "delegation" && $qtype == "A"' then cut -o -f server | wc -l)
[ "$n" -eq 4 ] || fail "ok.test: $n child A rows for the glue, want 4 (2 names x 2 servers)"
rebuilt ok

# ---- --parent given ----
expect_exit 0 check ok.test okp --parent "$P"
got=$(deleg okp)
[ "$got" = "parent:$P consistent " ] && ok "--parent $P: consistent" || fail "--parent: '$got'"
expect_exit 3 check ok.test bad --parent "300.1.1.1"
grep -q -- '--parent' "$T/err" && ok "a bad --parent names --parent: $(head -1 "$T/err")" ||
  fail "bad --parent: $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a bad --parent created the folder"

# ---- the first resolver does not answer: the parent is found through the next ----
# (nothing listens on port 9: unreachable at once; the ns check's rows for it
# are errors, so the run as a whole is WARNING)
"$DNSPROP" check ok.test --resolvers "127.0.0.1:9,$R1" --vantage lab --timeout 1s --tries 2 \
  --checks delegation --dir "$T/ok2" -v >"$T/out" 2>"$T/err" </dev/null
rc=$?
got=$(deleg ok2)
[ "$rc" = 1 ] && [ "$got" = "parent:ns.test consistent " ] &&
  ok "parent found through the second resolver: $(grep 'parent zone' "$T/err")" ||
  fail "second resolver: exit $rc, delegation.csv '$got'; $(cat "$T/err")"

# ---- the child moved, the parent not yet ----
checked 1 moved.test moved "DNSPROP WARNING - moved.test delegation 0/1 converged, delegation-mismatch*" \
  "moved: WARNING, delegation-mismatch"
got=$(deleg moved)
[ "$got" = "parent:ns.test mismatch delegation-mismatch" ] && ok "moved: delegation.csv says mismatch" ||
  fail "moved delegation.csv: '$got'"
row=$(scn_csv "$T/moved/delegation.csv" cut -o -f ns,ttl,child_ns | tr '\t' '|')
[ "$row" = "ns1.moved.test. | ns2.moved.test.|7200|ns3.moved.test. | ns4.moved.test." ] ||
  fail "moved: ns,ttl,child_ns '$row'"
eta=$(scn_csv "$T/moved/summary.csv" filter '$check == "delegation"' then cut -o -f eta_utc)
[ -z "$eta" ] || fail "moved: a parent that has not changed gives no ETA, got '$eta'"
rebuilt moved

# ---- the registrar makes the change: the parent now names ns3/ns4 ----
sed -e 's/^@ 300 IN SOA ns hostmaster 1 /@ 300 IN SOA ns hostmaster 2 /' \
  -e 's/^moved 7200 IN NS ns1.moved$/moved 7200 IN NS ns3.moved/' \
  -e 's/^moved 7200 IN NS ns2.moved$/moved 7200 IN NS ns4.moved/' \
  -e "s/^ns1.moved 7200 IN A .*/ns3.moved 7200 IN A $A3/" \
  -e "s/^ns2.moved 7200 IN A .*/ns4.moved 7200 IN A $A4/" "$T/test.zone" >"$T/test2.zone"
grep -q '^moved 7200 IN NS ns3.moved$' "$T/test2.zone" || fail "lab: the new parent zone lacks the new delegation"
lab_set_zone knotp "$T/test2.zone" || exit 1
expect_exit 0 check moved.test moved
echo "  $(status_line)"
row=$(scn_csv "$T/moved/delegation.csv" cut -o -f verdict,ns,old_ttl,changed_utc,deadline_utc | tr '\t' '|')
r2=$(scn_csv "$T/moved/observations.csv" filter '$round == 2 && $server == "parent:ns.test"' then cut -o -f time_utc)
dl=$(date -u -d "$r2 UTC + 7200 seconds" '+%Y-%m-%d %H:%M:%S')
want="consistent|ns3.moved.test. | ns4.moved.test.|7200|$r2|$dl"
[ "$row" = "$want" ] && ok "moved, round 2: consistent; deadline = the change + the old NS TTL 7200 ($dl)" ||
  fail "moved round 2 delegation.csv: '$row', want '$want'"
rebuilt moved

# ---- lame ----
checked 2 lame.test lame "DNSPROP CRITICAL - lame.test delegation*lame-delegation*" \
  "lame: CRITICAL, lame-delegation"
row=$(scn_csv "$T/lame/delegation.csv" cut -o -f verdict,reasons,lame | tr '\t' '|')
[ "$row" = "lame|lame-delegation|ns.other.test." ] && ok "lame: delegation.csv names ns.other.test." ||
  fail "lame delegation.csv: '$row'"
st=$(scn_csv "$T/lame/observations.csv" filter '$check == "delegation" && $server == "auth:ns.other.test" && $qtype == "NS"' then cut -o -f address,status | tr '\t' ' ')
[ "$st" = "$A5 refused" ] || fail "lame probe row: '$st'"
rebuilt lame

# ---- glue differs from the child's A ----
checked 1 glue.test glue "DNSPROP WARNING - glue.test delegation*glue-mismatch*" \
  "glue: WARNING, glue-mismatch"
grep -q 'delegation-mismatch' <<<"$line" && fail "glue: the NS sets agree, yet delegation-mismatch"
row=$(scn_csv "$T/glue/delegation.csv" cut -o -f verdict,reasons,glue | tr '\t' '|')
[ "$row" = "mismatch|glue-mismatch|ns1.glue.test. A $A1 | ns2.glue.test. A $BAD" ] &&
  ok "glue: delegation.csv shows the parent's glue" || fail "glue delegation.csv: '$row'"
rebuilt glue

echo "scenario took $((SECONDS - started)) s ($LAB_MODE mode)"
finish
