#!/usr/bin/env bash
# Scenarios with misbehaving resolvers (ldns-testns) beside one honest Unbound:
#   - a resolver serving two MX: mx_compliance says noncompliant/multiple-mx
#     under --single-mx, and nothing of multiple-mx without it;
#   - SERVFAIL and a server that never answers: error rows (servfail, timeout),
#     state error, and the round still ends within timeout x tries;
#   - MX and CNAME targets starting with = and @: no CSV field dnsprop writes
#     starts with = + - @ TAB CR (they get a leading ');
#   - a truncated UDP answer fetched again over TCP, transport tcp (check and
#     query);
#   - dnsprop query: header and one row, exit 0; exit 2 from a silent server
#     within timeout x tries; +tcp recorded as tcp;
#   - an error reply without a question section (an ldns-testns entry with
#     none answers REFUSED so): status refused at once, not a timeout.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"

started=$SECONDS
scn_contoso_lab "autodiscover 60 IN CNAME autodiscover.outlook.test." || exit 1

# A/AAAA of the MX targets, answered by every scripted resolver (the mx check
# asks them of the same resolver).
targets() {
  lab_testns_entry "mail.$Z." A NOERROR "" "mail.$Z. 60 IN A 192.0.2.25"
  lab_testns_entry "mx1.$Z." A NOERROR "" "mx1.$Z. 60 IN A 192.0.2.26"
  lab_testns_entry "mail.$Z." AAAA NOERROR ""
  lab_testns_entry "mx1.$Z." AAAA NOERROR ""
}
{
  lab_testns_entry $Z. MX NOERROR "" "$Z. 60 IN MX 10 mail.$Z." "$Z. 60 IN MX 20 mx1.$Z."
  targets
} >"$T/twomx.data"
lab_start_testns twomx "$T/twomx.data" || exit 1
{
  for q in MX A AAAA; do
    lab_testns_entry $Z. $q SERVFAIL ""
    lab_testns_entry "mail.$Z." $q SERVFAIL ""
  done
} >"$T/servfail.data"
lab_start_testns servfail "$T/servfail.data" || exit 1
lab_start_swallow swallow || exit 1
{
  lab_testns_entry --udp $Z. MX NOERROR "TC"
  lab_testns_entry --tcp $Z. MX NOERROR "" "$Z. 60 IN MX 10 mail.$Z."
  targets
} >"$T/tc.data"
lab_start_testns tc "$T/tc.data" || exit 1
{
  lab_testns_entry $Z. MX NOERROR "" "$Z. 60 IN MX 10 =cmd|calc!a0.$Z."
  lab_testns_entry "autodiscover.$Z." CNAME NOERROR "" "autodiscover.$Z. 60 IN CNAME \\@sum(1+1).$Z."
  lab_testns_entry "=cmd|calc!a0.$Z." A NOERROR "" "=cmd|calc!a0.$Z. 60 IN A 192.0.2.99"
  lab_testns_entry "=cmd|calc!a0.$Z." AAAA NOERROR ""
} >"$T/formula.data"
lab_start_testns formula "$T/formula.data" || exit 1
# every query: REFUSED, the ID copied, no question section
printf 'ENTRY_BEGIN\nMATCH opcode\nADJUST copy_id\nREPLY QR REFUSED\nENTRY_END\n' >"$T/noq.data"
lab_start_testns noq "$T/noq.data" || exit 1
echo "lab up in $((SECONDS - started)) s"

# run DIR RESOLVERS [OPTIONS...]: one check of the mx check (and options)
run() {
  local dir=$1 res=$2
  shift 2
  "$DNSPROP" check $Z --resolvers "$res" --authority "$AUTH" --vantage lab \
    --dir "$T/$dir" --timeout 500ms --tries 2 "$@"
}
in_list() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }

# ---- two MX ----
lab_resolvers_csv "$T/r-twomx.csv" good twomx
scn_time ms run single "$T/r-twomx.csv" --checks mx --single-mx
echo "twomx --single-mx: exit $SCN_RC in $ms ms: $(cat "$T/out")"
v=$(scn_csv "$T/single/mx_compliance.csv" filter '$server == "twomx"' then cut -o -f mx_count,verdict,reasons)
IFS=$'\t' read -r cnt verdict reasons <<<"$v"
if [ "$cnt" = 2 ] && [ "$verdict" = noncompliant ] && in_list multiple-mx "${reasons//;/,}"; then
  ok "twomx under --single-mx: $verdict ($reasons)"
else
  fail "twomx under --single-mx: mx_count '$cnt' verdict '$verdict' reasons '$reasons', want 2 noncompliant multiple-mx"
fi
v=$(scn_csv "$T/single/mx_compliance.csv" filter '$server == "good"' then cut -o -f verdict,reasons)
[ "$v" = $'compliant\t' ] || fail "good under --single-mx: '$v', want compliant"
[ "$SCN_RC" -eq 1 ] || fail "twomx under --single-mx: exit $SCN_RC, want 1 (a resolver still stale)"

scn_time ms run multi "$T/r-twomx.csv" --checks mx
v=$(scn_csv "$T/multi/mx_compliance.csv" filter '$server == "twomx"' then cut -o -f mx_count,verdict,reasons)
IFS=$'\t' read -r cnt verdict reasons <<<"$v"
echo "twomx without --single-mx: exit $SCN_RC: $verdict ($reasons)"
# Its two MX differ from the authority's one, so target-mismatch may make it
# noncompliant (reports/render.c: a wrong target is); multiple-mx must not.
if [ "$cnt" = 2 ] && [ "$verdict" != error ] && ! in_list multiple-mx "${reasons//;/,}"; then
  ok "twomx without --single-mx: $verdict${reasons:+ ($reasons)}"
else
  fail "twomx without --single-mx: mx_count '$cnt' verdict '$verdict' reasons '$reasons'"
fi
# the same two MX expected: nothing wrong with them at all
scn_time ms run multi2 "$T/r-twomx.csv" --checks mx --expect "mx=10 mail.$Z. | 20 mx1.$Z."
v=$(scn_csv "$T/multi2/mx_compliance.csv" filter '$server == "twomx"' then cut -o -f mx_count,verdict,reasons)
[ "$v" = $'2\tcompliant\t' ] && ok "twomx, two MX expected, no --single-mx: compliant" ||
  fail "twomx, two MX expected, no --single-mx: '$v', want 2 compliant and no reason"

# ---- SERVFAIL and silence: error rows, and a bounded round ----
lab_resolvers_csv "$T/r-err.csv" good servfail swallow
scn_time ms run errs "$T/r-err.csv" --checks mx
echo "servfail+swallow: exit $SCN_RC in $ms ms: $(cat "$T/out")"
# timeout 500ms x 2 tries = 1 s per query; the MX query and then its target
# queries: a silent resolver holds its chain no longer than that per step,
# plus start-up and report writing (slow under ASan).
[ "$ms" -le 3500 ] && ok "round with a silent server took $ms ms" ||
  fail "round with a silent server took $ms ms, want <= 3500 (timeout 500ms x 2 tries)"
[ "$SCN_RC" -eq 1 ] || fail "servfail+swallow: exit $SCN_RC, want 1 (failing resolvers)"
st=$(scn_csv "$T/errs/observations.csv" filter '$server == "servfail" && $qtype == "MX"' then cut -o -f status,rcode,transport)
[ "$st" = $'servfail\tSERVFAIL\tudp' ] && ok "servfail row: $st" || fail "servfail MX row: '$st'"
st=$(scn_csv "$T/errs/observations.csv" filter '$server == "swallow" && $qtype == "MX"' then cut -o -f status,rcode,latency_ms,answer)
[ "$st" = $'timeout\t\t\t' ] && ok "swallow row: timeout, empty rcode/latency/answer" || fail "swallow MX row: '$st'"
for r in servfail swallow; do
  st=$(scn_csv "$T/errs/convergence.csv" filter '$server == "'$r'" && $check == "mx"' then cut -o -f state,errors)
  [ "$st" = $'error\t1' ] && ok "$r: state error" || fail "$r convergence: '$st', want error 1"
done
st=$(scn_csv "$T/errs/convergence.csv" filter '$server == "good" && $check == "mx"' then cut -f state)
[ "$st" = converged ] || fail "good next to failing resolvers: '$st'"
st=$(scn_csv "$T/errs/summary.csv" filter '$check == "mx"' then cut -o -f servers,converged,errors)
[ "$st" = $'3\t1\t2' ] || fail "summary mx: '$st', want 3 servers, 1 converged, 2 errors"

# ---- formula-looking names never reach a CSV as they are ----
lab_resolvers_csv "$T/r-formula.csv" good formula
run formula "$T/r-formula.csv" --checks mx,autodiscover >"$T/out" 2>"$T/err"
echo "formula: exit $?: $(cat "$T/out")"
grep -q "'=cmd|calc!a0" "$T/formula/observations.csv" || fail "the = MX target is not in observations.csv (escaped or not)"
grep -q "'@sum" "$T/formula/observations.csv" || fail "the @ CNAME target is not in observations.csv (escaped or not)"
grep -q "'=cmd|calc!a0" "$T/formula/mx_compliance.csv" || fail "the = MX target is not in mx_compliance.csv"
"$DNSPROP" query @"$(lab_addr formula)" $Z MX >"$T/formula/query.csv" 2>"$T/err" ||
  fail "query of the formula MX: exit $?"
if scn_check_formula_safe "$T/formula" >"$T/bad" 2>&1; then
  ok "no CSV field starts with = + - @ TAB CR ($(ls "$T/formula" | grep -c '\.csv$') files)"
else
  fail "fields that a spreadsheet would run:"
  sed 's/^/  /' "$T/bad" >&2
fi

# ---- truncated over UDP: fetched over TCP ----
lab_resolvers_csv "$T/r-tc.csv" tc
run tc "$T/r-tc.csv" --checks mx >"$T/out" 2>"$T/err"
rc=$?
st=$(scn_csv "$T/tc/observations.csv" filter '$server == "tc" && $qtype == "MX"' then cut -o -f transport,status,answer,match)
[ "$st" = $'tcp\tok\t10 mail.contoso.test.\tyes' ] && ok "tc check row: $st" || fail "tc check MX row: '$st'"
[ "$rc" -eq 0 ] || fail "tc check: exit $rc, want 0: $(cat "$T/out" "$T/err")"
expect_exit 0 "$DNSPROP" query @"$(lab_addr tc)" $Z MX
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f transport,status,answer "$T/out")
[ "$st" = $'tcp\tok\t10 mail.contoso.test.' ] && ok "tc query row: $st" || fail "tc query row: '$st'"

# ---- dnsprop query ----
expect_exit 0 "$DNSPROP" query @"$(lab_addr good)" $Z MX
head -1 "$T/out" | tr -d '\r' | grep -qx 'time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match,site,ede' ||
  fail "query header: $(head -1 "$T/out")"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "query printed $(wc -l <"$T/out") lines, want 2"
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f qname,qtype,address,transport,status,rcode,answer "$T/out")
[ "$st" = "$Z."$'\tMX\t'"$(lab_addr good)"$'\tudp\tok\tNOERROR\t10 mail.contoso.test.' ] &&
  ok "query row: $st" || fail "query row: '$st'"
expect_exit 0 "$DNSPROP" query @"$(lab_addr good)" $Z MX +tcp
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f transport,status,answer "$T/out")
[ "$st" = $'tcp\tok\t10 mail.contoso.test.' ] && ok "query +tcp row: $st" || fail "query +tcp row: '$st'"
expect_exit 0 "$DNSPROP" query @"$(lab_addr good)" nosuch.$Z A
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f status,rcode "$T/out")
[ "$st" = $'nxdomain\tNXDOMAIN' ] || fail "query of a missing name: '$st'"
expect_exit 2 "$DNSPROP" query @"$(lab_addr servfail)" $Z MX
# query has no --timeout: the defaults, 2 s x 3 tries
scn_time ms "$DNSPROP" query @"$(lab_addr swallow)" $Z MX
[ "$SCN_RC" -eq 2 ] || fail "query of a silent server: exit $SCN_RC, want 2"
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f status "$T/out")
[ "$st" = timeout ] || fail "query of a silent server: status '$st'"
if [ "$ms" -ge 5500 ] && [ "$ms" -le 8000 ]; then ok "query of a silent server gave up after $ms ms (2 s x 3)"; else
  fail "query of a silent server took $ms ms, want about 6000 (2 s x 3 tries)"
fi
# REFUSED without a question: that rcode at once (a timeout of 2 s x 3 before)
scn_time ms "$DNSPROP" query @"$(lab_addr noq)" $Z MX
st=$(mlr --icsv --otsv --headerless-tsv-output cut -o -f status,rcode "$T/out")
[ "$SCN_RC" -eq 2 ] && [ "$st" = $'refused\tREFUSED' ] && ok "no-question REFUSED: '$st' in $ms ms" ||
  fail "no-question REFUSED: exit $SCN_RC, row '$st' after $ms ms"
expect_exit 3 "$DNSPROP" query @"$(lab_addr good)" $Z NOSUCHTYPE
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "bad type: $(wc -l <"$T/err") lines on stderr, want 1"
echo "scenario took $((SECONDS - started)) s"
finish
