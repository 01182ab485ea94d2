#!/usr/bin/env bash
# Authoritative discovery against real servers (PRODUCT.md sections 2, 6, 8).
# Without --authority, dnsprop asks the resolver for the domain's NS, then the
# A/AAAA of each NS name, and asks each address on port 53 (glue carries no
# port) as server auth:NSNAME. So the lab here holds two Knot instances on port
# 53 of two loopback addresses, named by the zone's own NS and A records:
#   ns1.contoso.test A 127.53.0.1 (knot1, also the resolver's upstream)
#   ns2.contoso.test A 127.53.0.2 (knot2)
# and one Unbound. Checked:
#   - the auth: rows name both NS at their addresses (port 53 not written),
#     and carry each server's own SOA serial (straight from that server);
#   - same serial on both: exit 0, both authoritative servers converged;
#   - knot2 alone gets a higher serial and another MX: exit 2, the status line
#     says the authoritative servers disagree, each auth row shows its own
#     serial, and the resolver rows expect knot2's MX (highest serial wins);
#   - --authority none: no discovery, no auth: rows.
# Port 53 needs privilege: the lab's network namespace gives it; on the host's
# loopback only root (or a lowered ip_unprivileged_port_start) has it. Else skip.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
Z=contoso.test
# In the namespace the addresses are the lab's alone; on the host's loopback a
# random third octet keeps parallel runs apart.
if [ "$LAB_MODE" = netns ]; then net=127.53.0; else net=127.53.$((RANDOM % 256)); fi
NS1=$net.1
NS2=$net.2
scn_need_port53 $NS1 $NS2

# zone FILE SERIAL MX: the zone with NS ns1 and ns2 at NS1 and NS2.
zone() {
  {
    echo "\$ORIGIN $Z."
    echo "@ 60 IN SOA ns1 hostmaster $2 3600 600 86400 60"
    echo "@ 60 IN NS ns1"
    echo "@ 60 IN NS ns2"
    echo "ns1 60 IN A $NS1"
    echo "ns2 60 IN A $NS2"
    echo "@ 60 IN MX $3"
    echo "@ 60 IN TXT \"v=spf1 -all\""
    echo "mail 60 IN A 192.0.2.25"
    echo "mx2 60 IN A 192.0.2.27"
  } >"$1"
}
zone "$T/z.zone" 100 "10 mail.$Z."
LAB_AUTH_LISTEN=$NS1:53 lab_start_auth knot1 "$T/z.zone" || exit 1
LAB_AUTH_LISTEN=$NS2:53 lab_start_auth knot2 "$T/z.zone" || exit 1
lab_start_unbound r1 knot1 || exit 1
R1=$(lab_addr r1)
[ "$(lab_serial knot1 $Z)" = 100 ] && [ "$(lab_serial knot2 $Z)" = 100 ] ||
  fail "lab: knot1/knot2 do not both serve serial 100"

check() {
  local dir=$1
  shift
  "$DNSPROP" check $Z --resolvers "$R1" --vantage lab --timeout 1s --tries 2 \
    --checks mx,soa --dir "$T/$dir" "$@"
}
status_line() { grep '^DNSPROP ' "$T/out" | tail -1; }
# auth_rows DIR: "server address" of every auth: row, sorted, unique.
auth_rows() {
  scn_csv "$T/$1/observations.csv" filter '$server =~ "^auth:"' then cut -o -f server,address |
    sort -u | tr '\t' ' '
}
# auth_serials DIR: "server serial" from each auth: row's SOA answer.
auth_serials() {
  scn_csv "$T/$1/observations.csv" filter '$server =~ "^auth:" && $qtype == "SOA"' \
    then cut -o -f server,answer | awk -F'\t' '{ split($2, f, " "); print $1, f[3] }' | sort
}

# ---- one serial: discovered, exit 0 ----
expect_exit 0 check same
echo "  $(status_line)"
got=$(auth_rows same)
want="auth:ns1.contoso.test $NS1
auth:ns2.contoso.test $NS2"
[ "$got" = "$want" ] && ok "discovered: $(echo $got)" || fail "auth rows: '$got', want '$want'"
got=$(auth_serials same)
want="auth:ns1.contoso.test 100
auth:ns2.contoso.test 100"
[ "$got" = "$want" ] && ok "both authorities answer serial 100" || fail "auth SOA rows: '$got'"
st=$(scn_csv "$T/same/observations.csv" filter '$server =~ "^auth:"' then cut -o -f status | sort -u)
[ "$st" = ok ] || fail "auth rows with a status other than ok: '$st'"
st=$(scn_csv "$T/same/convergence.csv" filter '$server =~ "^auth:"' then cut -o -f server,check,state |
  sort | tr '\t' ' ')
want="auth:ns1.contoso.test mx converged
auth:ns1.contoso.test soa converged
auth:ns2.contoso.test mx converged
auth:ns2.contoso.test soa converged"
[ "$st" = "$want" ] && ok "both authorities converged" || fail "auth convergence rows: '$st'"
st=$(scn_csv "$T/same/observations.csv" filter '$server !=~ "^auth:" && $qtype == "MX" && $qname == "contoso.test."' then cut -o -f answer,expected,match)
[ "$st" = $'10 mail.contoso.test.\t10 mail.contoso.test.\tyes' ] || fail "r1 MX row: '$st'"

# ---- knot2 moves on alone: they disagree, the higher serial is the truth ----
lab_set_mx knot2 $Z 60 "0 mx2.$Z." || exit 1
[ "$(lab_serial knot2 $Z)" = 101 ] && [ "$(lab_serial knot1 $Z)" = 100 ] ||
  fail "lab: knot2 should serve 101, knot1 100"
expect_exit 2 check split
line=$(status_line)
echo "  $line"
case "$line" in
  "DNSPROP CRITICAL - "*) ok "disagreeing authorities: CRITICAL" ;;
  *) fail "disagreeing authorities: status line '$line'" ;;
esac
grep -qi 'disagree' <<<"$line" && ok "the status line says the authorities disagree" ||
  fail "the status line does not say the authorities disagree: '$line'"
got=$(auth_rows split)
want="auth:ns1.contoso.test $NS1
auth:ns2.contoso.test $NS2"
[ "$got" = "$want" ] || fail "auth rows after the change: '$got'"
got=$(auth_serials split)
want="auth:ns1.contoso.test 100
auth:ns2.contoso.test 101"
[ "$got" = "$want" ] && ok "each authority answers its own serial" || fail "auth SOA rows: '$got', want '$want'"
st=$(scn_csv "$T/split/observations.csv" filter '$server == "auth:ns2.contoso.test" && $qtype == "MX"' then cut -o -f answer)
[ "$st" = "0 mx2.contoso.test." ] || fail "auth:ns2 MX answer: '$st'"
st=$(scn_csv "$T/split/observations.csv" filter '$server == "auth:ns1.contoso.test" && $qtype == "MX"' then cut -o -f answer)
[ "$st" = "10 mail.contoso.test." ] || fail "auth:ns1 MX answer: '$st'"
st=$(scn_csv "$T/split/observations.csv" filter '$server !=~ "^auth:" && $qtype == "MX" && $qname == "contoso.test."' then cut -o -f expected)
[ "$st" = "0 mx2.contoso.test." ] && ok "r1 expects the MX of serial 101: $st" ||
  fail "r1 MX expected: '$st', want '0 mx2.contoso.test.' (the answer of the highest serial)"
st=$(scn_csv "$T/split/observations.csv" filter '$server !=~ "^auth:" && $qtype == "SOA"' then cut -o -f expected |
  awk '{ print $3 }')
[ "$st" = 101 ] || fail "r1 SOA expected serial: '$st', want 101"

# ---- --authority none: no discovery ----
# Nothing authoritative to compare with: the expected MX comes from --expect.
expect_exit 0 check none --authority none --checks mx --expect "mx=10 mail.$Z."
echo "  $(status_line)"
n=$(scn_csv "$T/none/observations.csv" filter '$server =~ "^auth:"' then cut -o -f server | wc -l)
r=$(scn_csv "$T/none/observations.csv" filter '$server !=~ "^auth:"' then cut -o -f server | wc -l)
[ "$n" -eq 0 ] && [ "$r" -gt 0 ] && ok "--authority none: $r resolver rows, no auth: rows" ||
  fail "--authority none: $n auth: rows, $r resolver rows"
# and without --expect: still no auth: rows, and no expected value at all
"$DNSPROP" check $Z --resolvers "$R1" --vantage lab --timeout 1s --tries 2 --checks mx \
  --authority none --dir "$T/none2" >"$T/out" 2>"$T/err" </dev/null
rc=$?
echo "  exit $rc: $(status_line)"
[ "$rc" -ne 3 ] || fail "--authority none without --expect: exit 3: $(cat "$T/err")"
n=$(scn_csv "$T/none2/observations.csv" filter '$server =~ "^auth:"' then cut -o -f server | wc -l)
[ "$n" -eq 0 ] || fail "--authority none without --expect: $n auth: rows"
echo "scenario took $((SECONDS - started)) s ($LAB_MODE mode)"
finish
