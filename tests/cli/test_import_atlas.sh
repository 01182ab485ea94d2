#!/usr/bin/env bash
# dnsprop import atlas: RIPE Atlas DNS results into the log (PRODUCT.md
# section 11). Real results (tests/data/atlas, from the RIPE NCC's own test
# suites) for every field; results for the test's own domain with replies
# built by ldns (atlasgen) for the judging against the log's authoritative
# answers and the m365 profile; bad input refused with the log unchanged.
set -u
. "$(dirname "$0")/../lib.sh"
: "${ATLASGEN:?ATLASGEN must name the atlasgen helper}"
A="$DNSPROP_SRC/tests/data/atlas"
rows() { tail -n +2 "$1/observations.csv" | wc -l; }
crlf() { tr -d '\r'; }

# ---- usage: nothing created ----
cd "$T"
expect_exit 3 "$DNSPROP" import atlas "$A/sagan_dns_4460.json"
grep -q 'no domain' "$T/err" || fail "no domain: $(cat "$T/err")"
expect_exit 3 "$DNSPROP" import atlas as250.net
grep -q 'no results file' "$T/err" || fail "no file: $(cat "$T/err")"
expect_exit 3 "$DNSPROP" import atlas "$T/missing.json" as250.net
grep -q "missing.json: No such file" "$T/err" || fail "missing file: $(cat "$T/err")"
expect_exit 3 "$DNSPROP" import ripe "$A/sagan_dns_4460.json" as250.net
expect_exit 3 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" as250.net --checks frob
[ -z "$(ls "$T" | grep -v '^out$\|^err$')" ] || fail "usage errors created files: $(ls "$T")"

# ---- a real result, every field ----
D="$T/real"
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" as250.net --checks a --dir "$D"
want='2012-09-16 03:26:30,atlas:184,1,as250.net,a,as250.net.,A,193.227.234.53,193.227.234.53,udp,ok,NOERROR,45,3600,194.150.168.100,,,,'
[ "$(sed -n 2p "$D/observations.csv" | crlf)" = "$want" ] || fail "real row: $(sed -n 2p "$D/observations.csv")"
grep -q '1 result(s) read, 1 row(s) imported, 0 already' "$T/err" || fail "summary: $(cat "$T/err")"
grep -q '^DNSPROP ' "$T/out" || fail "no status line"
[ -s "$D/convergence.csv" ] || fail "reports not refreshed"
grep -q '^as250.net,a,193.227.234.53,193.227.234.53,pending,' "$D/convergence.csv" \
  || fail "convergence row: $(grep as250 "$D/convergence.csv")"

# the same file again: nothing new, the log byte for byte
cp "$D/observations.csv" "$T/log1"
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" as250.net --checks a --dir "$D"
cmp -s "$T/log1" "$D/observations.csv" || fail "second import changed the log"
grep -q '0 row(s) imported, 1 already in the log' "$T/err" || fail "second import: $(cat "$T/err")"
# in one run twice, too
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" "$A/sagan_dns_4460.json" as250.net --checks a --dir "$T/twice"
[ "$(rows "$T/twice")" -eq 1 ] || fail "the same file twice in one run: $(rows "$T/twice") rows"

# JSON lines: three results, three probes, one round
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_lines.jsonl" as250.net --checks a --dir "$D"
[ "$(rows "$D")" -eq 4 ] || fail "json lines: $(rows "$D") rows, want 4"
tail -n 3 "$D/observations.csv" | cut -d, -f1-3,13,15 | crlf > "$T/got"
printf '%s\n' '2012-11-07 07:26:36,atlas:148,2,31,194.150.168.100' \
  '2013-03-15 07:26:14,atlas:778,2,39,194.150.168.100' \
  '2013-07-07 23:58:32,atlas:203,2,362,194.150.168.160' > "$T/want"
cmp -s "$T/want" "$T/got" || fail "json lines rows: $(cat "$T/got")"

# a resultset of three resolvers (one REFUSED, one IPv6)
D="$T/set"
expect_exit 0 "$DNSPROP" import atlas "$A/tools_dns_compact_basic.json" 1xbet.com --checks a --dir "$D"
crlf < "$D/observations.csv" | tail -n +2 | cut -d, -f1-15 > "$T/got"
printf '%s\n' \
  '2017-08-28 13:45:16,atlas:4062,1,1xbet.com,a,1xbet.com.,A,195.113.83.55,195.113.83.55,udp,ok,NOERROR,6,25,190.105.194.58 | 190.121.210.133' \
  '2017-08-28 13:45:17,atlas:4062,1,1xbet.com,a,1xbet.com.,A,147.231.12.1,147.231.12.1,udp,refused,REFUSED,6,,' \
  '2017-08-28 13:45:18,atlas:4062,1,1xbet.com,a,1xbet.com.,A,[2001:718:1e06::55],[2001:718:1e06::55],udp,ok,NOERROR,6,23,190.105.194.58 | 190.121.210.133' > "$T/want"
cmp -s "$T/want" "$T/got" || fail "resultset rows: $(cat "$T/got")"

# a JSON array: NOERROR without records, and a timeout (an error entry)
D="$T/arr"
expect_exit 0 "$DNSPROP" import atlas "$A/tools_dns_compact_more.json" ipv4only.arpa --checks aaaa --dir "$D"
crlf < "$D/observations.csv" | tail -n +2 | cut -d, -f1-14 > "$T/got"
printf '%s\n' \
  '2017-09-28 00:09:47,atlas:6068,1,ipv4only.arpa,aaaa,ipv4only.arpa.,AAAA,[2001:4860:4860::6464],[2001:4860:4860::6464],udp,nodata,NOERROR,153,1577' \
  '2017-09-29 10:38:17,atlas:11879,1,ipv4only.arpa,aaaa,ipv4only.arpa.,AAAA,[2001:4860:4860::6464],[2001:4860:4860::6464],udp,timeout,,,' > "$T/want"
cmp -s "$T/want" "$T/got" || fail "array rows: $(cat "$T/got")"
# an error entry whose question cannot be known (two domains asked, no qbuf): skipped, said once
expect_exit 0 "$DNSPROP" import atlas "$A/tools_dns_compact_noabuf.json" as250.net 1xbet.com --checks a --dir "$T/noabuf"
grep -q 'warning: 1 result(s) skipped' "$T/err" || fail "unknown question: $(cat "$T/err")"
[ "$(grep -c warning "$T/err")" -eq 1 ] || fail "more than one warning line"
# with one question, the timeout is that question's
expect_exit 0 "$DNSPROP" import atlas "$A/tools_dns_compact_noabuf.json" 1xbet.com --checks a --dir "$T/noabuf1"
grep -q ',atlas:30410,1,1xbet.com,a,1xbet.com.,A,80.92.240.6,80.92.240.6,udp,timeout,' "$T/noabuf1/observations.csv" \
  || fail "timeout row: $(cat "$T/noabuf1/observations.csv")"
# results for other names: skipped, counted in one warning
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_lines.jsonl" contoso.test --checks a --dir "$T/other"
grep -q 'warning: 3 result(s) skipped: 3 answer none' "$T/err" || fail "other names: $(cat "$T/err")"

# ---- the test's own domain: replies built with ldns, judged against the log ----
D="$T/own"
mkdir -p "$D"
H='time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match,site,ede'
{
  printf '%s\r\n' "$H"
  # the authoritative answer before the change (00:00) and after it (01:00)
  printf '2026-11-30 00:00:00,central,1,contoso.test,mx,contoso.test.,MX,auth:ns1.contoso.test.,192.0.2.53,udp,ok,NOERROR,1,300,10 old.example.,10 old.example.,yes,,\r\n'
  printf '2026-11-30 01:00:00,central,2,contoso.test,mx,contoso.test.,MX,auth:ns1.contoso.test.,192.0.2.53,udp,ok,NOERROR,1,300,0 new.example.,0 new.example.,yes,,\r\n'
} > "$D/observations.csv"
OLD=$("$ATLASGEN" contoso.test MX NOERROR 'contoso.test. 250 IN MX 10 old.example.')
NEW=$("$ATLASGEN" contoso.test MX NOERROR 'contoso.test. 300 IN MX 0 new.example.')
NX=$("$ATLASGEN" contoso.test MX NXDOMAIN 'contoso.test. 60 IN SOA ns1.contoso.test. h.contoso.test. 7 60 60 60 30')
res() { # PROBE TIME DST ABUF
  printf '{"type":"dns","msm_id":77,"prb_id":%s,"timestamp":%s,"dst_addr":"%s","proto":"UDP","result":{"rt":12.5,"abuf":"%s"}}\n' "$1" "$2" "$3" "$4"
}
T0=$(date -u -d '2026-11-30 00:30:00' +%s); T1=$(date -u -d '2026-11-30 01:30:00' +%s)
{
  res 1 "$T0" 192.168.1.1 "$OLD"   # before the change: the old MX is right then
  res 2 "$T1" 10.0.0.1 "$OLD"      # after: stale
  res 3 "$T1" 8.8.8.8 "$NEW"       # after: converged
  res 4 "$T1" 9.9.9.9 "$NX"
  printf '{"type":"dns","msm_id":77,"prb_id":5,"timestamp":%s,"dst_addr":"1.1.1.1","error":{"timeout":5000}}\n' "$T1"
  res 1 "$((T1 + 60))" 192.168.1.1 "$NEW"  # the same probe again: a new round
} > "$T/own.jsonl"
expect_exit 0 "$DNSPROP" import atlas "$T/own.jsonl" contoso.test --checks mx --dir "$D"
crlf < "$D/observations.csv" | tail -n +4 | cut -d, -f2,3,8,11,13-17 > "$T/got"
printf '%s\n' \
  'atlas:1,3,192.168.1.1,ok,13,250,10 old.example.,10 old.example.,yes' \
  'atlas:2,3,10.0.0.1,ok,13,250,10 old.example.,0 new.example.,no' \
  'atlas:3,3,8.8.8.8,ok,13,300,0 new.example.,0 new.example.,yes' \
  'atlas:4,3,9.9.9.9,nxdomain,13,30,,0 new.example.,no' \
  'atlas:5,3,1.1.1.1,timeout,,,,0 new.example.,' \
  'atlas:1,4,192.168.1.1,ok,13,300,0 new.example.,0 new.example.,yes' > "$T/want"
cmp -s "$T/want" "$T/got" || { fail "own rows:"; diff "$T/want" "$T/got" >&2; }
# the reports: the stale probe resolver is stale; no mail rule Atlas could not see is claimed
grep -q '^contoso.test,mx,10.0.0.1,10.0.0.1,stale,' "$D/convergence.csv" || fail "stale resolver: $(cat "$D/convergence.csv")"
if grep -q 'target-unresolvable\|target-is-cname' "$D/mx_compliance.csv"; then
  fail "a target rule claimed without target lookups: $(cat "$D/mx_compliance.csv")"
fi
# two authoritative servers that disagree: the one with the higher SOA serial is the truth,
# as in a live round
D="$T/own2"
mkdir -p "$D"
{
  printf '%s\r\n' "$H"
  printf '2026-11-30 01:00:00,central,1,contoso.test,mx,contoso.test.,MX,auth:ns1.contoso.test.,192.0.2.53,udp,ok,NOERROR,1,300,10 old.example.,,,,\r\n'
  printf '2026-11-30 01:00:00,central,1,contoso.test,mx,contoso.test.,MX,auth:ns2.contoso.test.,192.0.2.54,udp,ok,NOERROR,1,300,0 new.example.,,,,\r\n'
  printf '2026-11-30 01:00:00,central,1,contoso.test,soa,contoso.test.,SOA,auth:ns1.contoso.test.,192.0.2.53,udp,ok,NOERROR,1,300,ns1.contoso.test. h.contoso.test. 7 60 60 60 30,,,,\r\n'
  printf '2026-11-30 01:00:00,central,1,contoso.test,soa,contoso.test.,SOA,auth:ns2.contoso.test.,192.0.2.54,udp,ok,NOERROR,1,300,ns1.contoso.test. h.contoso.test. 8 60 60 60 30,,,,\r\n'
} > "$D/observations.csv"
expect_exit 0 "$DNSPROP" import atlas "$T/own.jsonl" contoso.test --checks mx --dir "$D"
grep -q ',atlas:3,2,contoso.test,mx,contoso.test.,MX,8.8.8.8,8.8.8.8,udp,ok,NOERROR,13,300,0 new.example.,0 new.example.,yes,' "$D/observations.csv" \
  || fail "auth disagreement: $(grep atlas:3 "$D/observations.csv")"

# the m365 profile decides instead of the log
expect_exit 0 "$DNSPROP" import atlas "$T/own.jsonl" contoso.test --profile m365 --checks mx --dir "$T/m365"
grep -q ',atlas:3,1,.*,0 new.example.,1 MX: contoso-test.mail.protection.outlook.com. or contoso-test.\*-v1.mx.microsoft.,no,' "$T/m365/observations.csv" \
  || fail "m365 expectation: $(sed -n 4p "$T/m365/observations.csv")"
# --expect too
expect_exit 0 "$DNSPROP" import atlas "$T/own.jsonl" contoso.test --expect 'mx=0 new.example' --dir "$T/exp"
grep -q ',atlas:3,1,contoso.test,mx,.*,0 new.example.,0 new.example.,yes,' "$T/exp/observations.csv" \
  || fail "--expect: $(sed -n 4p "$T/exp/observations.csv")"

# ---- bad input: one line naming the file and the result, exit 3, the log unchanged ----
D="$T/real"
cp "$D/observations.csv" "$T/before"
bad() { # NAME CONTENT WANT
  printf '%s' "$2" > "$T/$1"
  expect_exit 3 "$DNSPROP" import atlas "$T/$1" as250.net --checks a --dir "$D"
  [ "$(wc -l < "$T/err")" -eq 1 ] || fail "$1: not one line: $(cat "$T/err")"
  grep -qF "$T/$1: $3" "$T/err" || fail "$1: $(cat "$T/err"), want '$3'"
  cmp -s "$T/before" "$D/observations.csv" || fail "$1: the log changed"
}
GOOD=$(cat "$A/sagan_dns_4460.json")
bad truncated.json "[$GOOD, {\"prb_id\": 1, \"times" 'result 2 (line 1): truncated JSON'
bad open.json "[$GOOD" 'after result 1 (line 1): truncated JSON'
bad notjson.json 'hello' 'result 1 (line 1): bad JSON'
bad after.json "[$GOOD] x" 'line 1: text after the end of the array'
bad b64.jsonl "$GOOD
${GOOD/m5GE/!!!!}
" 'result 2 (line 2): abuf: not base64 (1 bad result(s) in all); nothing imported'
bad wire.jsonl "$GOOD
${GOOD/m5GEAAAB/AAAB}
" 'result 2 (line 2): abuf: not a DNS message'
bad noprb.json '{"timestamp": 5, "result": {}}' 'result 1 (line 1): no prb_id'
# the good ones with --skip-bad: imported, the bad one said
printf '%s\n%s\n' "${GOOD/m5GE/!!!!}" "$(sed -n 1p "$A/sagan_dns_lines.jsonl" | sed 's/1352273196/1352273197/')" > "$T/skip.jsonl"
expect_exit 0 "$DNSPROP" import atlas "$T/skip.jsonl" as250.net --checks a --dir "$D" --skip-bad
grep -q "warning: 1 bad result(s) skipped, the first: $T/skip.jsonl: result 1 (line 1): abuf: not base64" "$T/err" \
  || fail "--skip-bad: $(cat "$T/err")"
[ "$(rows "$D")" -eq 5 ] || fail "--skip-bad: $(rows "$D") rows, want 5"
# a FIFO given as a results file is refused, not waited on; stdin ("-") may be a pipe
mkfifo "$T/fifo.json"
expect_exit 3 timeout 20 "$DNSPROP" import atlas "$T/fifo.json" as250.net --checks a --dir "$D"
grep -q 'fifo.json' "$T/err" || fail "fifo: $(cat "$T/err")"
cat "$A/sagan_dns_lines.jsonl" | sed 's/1352273196/1352273199/' | "$DNSPROP" import atlas - as250.net --checks a --dir "$D" >"$T/out" 2>"$T/err" \
  || fail "stdin pipe: $(cat "$T/err")"
grep -q '1 row(s) imported' "$T/err" || fail "stdin pipe: $(cat "$T/err")"
# a refused import into a new folder leaves no folder
expect_exit 3 "$DNSPROP" import atlas "$T/notjson.json" as250.net --dir "$T/fresh"
[ ! -e "$T/fresh" ] || fail "refused import left its new folder"

# the target folder is held to check's rules: a folder others can write is refused
mkdir "$T/ww"; chmod 0777 "$T/ww"
expect_exit 3 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" as250.net --checks a --dir "$T/ww"
[ ! -e "$T/ww/observations.csv" ] || fail "insecure folder: log created"
expect_exit 0 "$DNSPROP" import atlas "$A/sagan_dns_4460.json" as250.net --checks a --dir "$T/ww" --insecure-dir

finish
