#!/usr/bin/env bash
# Scenarios for the exit status (PRODUCT.md section 3), each from real servers:
#   0 every resolver converged; 1 still propagating (a stale resolver);
#   2 the authority fails --expect, and two authoritative servers that
#     disagree (two Knot instances, different SOA serial and MX), with a status
#     line that says why;
#   3 bad usage: unknown option, bad domain, bad resolver file, bad --expect:
#     one line on stderr, and no data folder created.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
Z=contoso.test
lab_zone "$T/a1.zone" $Z 100 60 "10 mail.$Z."
lab_zone "$T/a2.zone" $Z 200 60 "0 mx2.$Z."
lab_start_auth auth1 "$T/a1.zone" || exit 1
lab_start_auth auth2 "$T/a2.zone" || exit 1
lab_start_unbound r1 auth1 || exit 1
lab_start_unbound r2 auth1 || exit 1
lab_resolvers_csv "$T/res.csv" r1 r2
A1=$(lab_addr auth1)
A2=$(lab_addr auth2)
check() {
  local dir=$1
  shift
  "$DNSPROP" check $Z --resolvers "$T/res.csv" --vantage lab --timeout 1s --tries 2 \
    --dir "$T/$dir" "$@"
}
status_line() { grep '^DNSPROP ' "$T/out" | tail -1; }

# ---- 0 and 1 ----
expect_exit 0 check ok --authority "$A1" --checks mx,soa
status_line | grep -q '^DNSPROP OK - ' || fail "exit 0 status line: $(status_line)"
# r1 and r2 cached auth1's MX for 60 s; an authority that says otherwise makes
# them stale: propagating.
expect_exit 1 check stale --authority "$A2" --checks mx
status_line | grep -q '^DNSPROP WARNING - contoso.test mx 0/2 converged, ETA ' ||
  fail "exit 1 status line: $(status_line)"

# ---- 2: the authority fails what is expected of it ----
expect_exit 2 check expect --authority "$A1" --checks mx --expect "mx=10 wrong.example."
echo "  $(status_line)"
status_line | grep -q '^DNSPROP CRITICAL - ' || fail "--expect status line: $(status_line)"
st=$(scn_csv "$T/expect/observations.csv" filter '$server =~ "^auth:" && $qtype == "MX"' then cut -o -f answer,expected,match)
[ "$st" = $'10 mail.contoso.test.\t10 wrong.example.\tno' ] || fail "authority row under --expect: '$st'"

# ---- 2: two authoritative servers with different serials ----
expect_exit 2 check split --authority "$A1,$A2" --checks mx,soa
line=$(status_line)
echo "  $line"
case "$line" in
  "DNSPROP CRITICAL - "*) ok "disagreeing authorities: CRITICAL" ;;
  *) fail "disagreeing authorities: status line '$line'" ;;
esac
# it must say why: the servers disagree (word chosen by the product: any of these)
echo "$line" | grep -Eiq 'disagree|serial' &&
  ok "the status line says why" || fail "the status line does not say the authorities disagree: '$line'"
# the highest serial (auth2, 200) is the truth
st=$(scn_csv "$T/split/observations.csv" filter '$server == "r1" && $qtype == "MX"' then cut -o -f expected,match)
[ "$st" = $'0 mx2.contoso.test.\tno' ] && ok "expected from the highest serial: $st" ||
  fail "r1 MX row: '$st', want the answer of serial 200 expected"
st=$(scn_csv "$T/split/convergence.csv" filter '$check == "soa" && $server =~ "^auth:"' then sort -f server then cut -o -f server,state)
echo "$st" | sed 's/^/  authority soa: /'

# ---- 3: bad usage ----
bad() {
  local what=$1 dir="$T/bad-$2"
  shift 2
  "$DNSPROP" check "$@" --dir "$dir" >"$T/out" 2>"$T/err" </dev/null
  local rc=$?
  if [ "$rc" -ne 3 ]; then fail "$what: exit $rc, want 3"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then
    fail "$what: $(wc -l <"$T/err") lines on stderr, want 1:"
    sed 's/^/  /' "$T/err" >&2
    return
  fi
  [ -s "$T/out" ] && fail "$what: printed on stdout: $(head -1 "$T/out")"
  [ -e "$dir" ] && { fail "$what: created $dir"; return; }
  ok "$what: exit 3: $(cat "$T/err")"
}
bad "unknown option" opt $Z --resolvers "$T/res.csv" --authority "$A1" --frobnicate
bad "bad domain" dom 'contoso..test' --resolvers "$T/res.csv" --authority "$A1"
bad "IP as domain" ip 192.0.2.1 --resolvers "$T/res.csv" --authority "$A1"
printf 'name,address,operator,country\nr1,%s,lab,ZZ\nr2,8.8.8.888,lab,ZZ\n' "$(lab_addr r1)" >"$T/bad-res.csv"
bad "bad resolver file" res $Z --resolvers "$T/bad-res.csv" --authority "$A1"
grep -q 'bad-res.csv:3' "$T/err" || fail "bad resolver file: the message does not name bad-res.csv:3: $(cat "$T/err")"
bad "missing resolver file" nores $Z --resolvers "$T/none.csv" --authority "$A1"
bad "bad --expect" exp $Z --resolvers "$T/res.csv" --authority "$A1" --expect "mx=ten mail.$Z."
bad "bad --timeout" tmo $Z --resolvers "$T/res.csv" --authority "$A1" --timeout 5parsecs
bad "bad --checks" chk $Z --resolvers "$T/res.csv" --authority "$A1" --checks mx,bogus
# and nothing changed in an existing folder either
before=$(cd "$T/ok" && ls -la --time-style=full-iso . | sha256sum)
"$DNSPROP" check 'contoso..test' --resolvers "$T/res.csv" --authority "$A1" --dir "$T/ok" >/dev/null 2>&1
rc=$?
after=$(cd "$T/ok" && ls -la --time-style=full-iso . | sha256sum)
[ "$rc" -eq 3 ] && [ "$before" = "$after" ] && ok "bad usage left an existing folder as it was" ||
  fail "bad usage on an existing folder: exit $rc, folder changed: $([ "$before" = "$after" ] && echo no || echo yes)"
echo "scenario took $((SECONDS - started)) s"
finish
