#!/usr/bin/env bash
# dnsprop report: rebuilds every report from observations.csv; refuses a
# missing folder or log and a damaged log (exit 3, one line, nothing changed).
set -u
. "$(dirname "$0")/../lib.sh"

H='time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match'
E='"""v=spf1 include:spf.protection.outlook.com -all"""'
O='"""v=spf1 mx -all"""'
mklog() {
  mkdir -p "$1"
  {
    printf '%s\r\n' "$H"
    printf '2026-11-30 00:00:00,p,1,contoso.com,spf,contoso.com.,TXT,r1,192.0.2.1,udp,ok,NOERROR,5,3600,%s,%s,no\r\n' "$O" "$E"
    printf '2026-11-30 00:00:00,p,1,contoso.com,spf,contoso.com.,TXT,r2,192.0.2.2,udp,ok,NOERROR,5,3600,%s,%s,yes\r\n' "$E" "$E"
    printf '2026-11-30 00:00:00,p,1,contoso.com,spf,contoso.com.,TXT,auth:ns1.contoso.com.,192.0.2.53,udp,ok,NOERROR,5,3600,%s,%s,yes\r\n' "$E" "$E"
    printf '2026-11-30 00:10:00,p,2,contoso.com,spf,contoso.com.,TXT,r1,192.0.2.1,udp,ok,NOERROR,5,3000,%s,%s,no\r\n' "$O" "$E"
    printf '2026-11-30 00:10:00,p,2,contoso.com,spf,contoso.com.,TXT,r2,192.0.2.2,tcp,timeout,,,,,%s,\r\n' "$E"
    printf '2026-11-30 00:10:00,p,2,contoso.com,spf,contoso.com.,TXT,auth:ns1.contoso.com.,192.0.2.53,udp,ok,NOERROR,5,3600,%s,%s,yes\r\n' "$E" "$E"
  } > "$1/observations.csv"
}

# missing folder, missing log: one line, exit 3, nothing created
expect_exit 3 "$DNSPROP" report --dir "$T/nope"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "missing dir: not one line"
grep -q 'observations.csv' "$T/err" || fail "missing dir: log not named"
[ ! -e "$T/nope" ] || fail "missing dir: created"
mkdir "$T/empty"
expect_exit 3 "$DNSPROP" report --dir "$T/empty"
[ ! -e "$T/empty/observations.csv" ] || fail "missing log: created"

# bad usage
mklog "$T/d"
expect_exit 3 "$DNSPROP" report --dir "$T/d" --window 10x
grep -q "bad --window '10x'" "$T/err" || fail "bad --window not named"
expect_exit 3 "$DNSPROP" report --dir "$T/d" --since yesterday
expect_exit 3 "$DNSPROP" report --dir "$T/d" --frob
expect_exit 3 "$DNSPROP" report --dir
[ ! -e "$T/d/summary.csv" ] || fail "bad usage wrote reports"

# a good log
expect_exit 0 "$DNSPROP" report --dir "$T/d"
grep -qx 'DNSPROP WARNING - contoso.com spf 0/2 converged, ETA 2026-11-30 01:00 UTC | converged=0;;;0;2 overdue=0' "$T/out" \
  || fail "status line: $(cat "$T/out")"
for f in convergence.csv timeline.csv mx_compliance.csv summary.csv convergence.svg; do
  [ -s "$T/d/$f" ] || fail "$f not written"
done
printf 'domain,check,servers,converged,stale,errors,percent_converged,eta_utc,window_ends_utc,status,deadline_utc,overdue\r\ncontoso.com,spf,2,0,1,1,0.0,2026-11-30 01:00:00,2026-12-03 00:00:00,propagating,,0\r\n' > "$T/want"
cmp -s "$T/want" "$T/d/summary.csv" || fail "summary.csv: $(cat -A "$T/d/summary.csv")"
grep -q '^contoso.com,spf,r2,192.0.2.2,error,,2026-11-30 00:00:00,,0,2,1,(timeout),' "$T/d/convergence.csv" \
  || fail "convergence.csv r2 row"
# CRLF everywhere, ASCII only
if LC_ALL=C grep -q $'[^[:print:]\r]' "$T/d/convergence.csv"; then fail "non-ASCII in convergence.csv"; fi
[ "$(grep -c $'\r$' "$T/d/timeline.csv")" -eq 3 ] || fail "timeline.csv: not CRLF"

# the same again, byte for byte; and without .state
mkdir "$T/first"
cp "$T/d"/*.csv "$T/d"/*.svg "$T/first/"
expect_exit 0 "$DNSPROP" report --dir "$T/d"
rm -f "$T/d/.state"
expect_exit 0 "$DNSPROP" report --dir "$T/d"
for f in convergence.csv timeline.csv mx_compliance.csv summary.csv convergence.svg; do
  cmp -s "$T/first/$f" "$T/d/$f" || fail "$f differs on rebuild"
done

# overrides: the window ended before round 2
expect_exit 0 "$DNSPROP" report --dir "$T/d" --window 5m
grep -q ',2026-11-30 00:05:00,expired' "$T/d/summary.csv" || fail "--window not applied"
grep -q '^DNSPROP CRITICAL' "$T/out" || fail "--window: not critical"
expect_exit 0 "$DNSPROP" report --dir "$T/d" --since '2026-11-30 00:08' --window 5m
grep -q ',2026-11-30 00:13:00,propagating' "$T/d/summary.csv" || fail "--since not applied"

# damage before the last line: exit 3, file:line, nothing changed
mklog "$T/bad"
sed -i '3s/,5,3600,/,5,36x0,/' "$T/bad/observations.csv"
cp "$T/bad/observations.csv" "$T/bad.orig"
expect_exit 3 "$DNSPROP" report --dir "$T/bad"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "damage: not one line"
grep -q "observations.csv:3: bad ttl '36x0'" "$T/err" || fail "damage: $(cat "$T/err")"
cmp -s "$T/bad.orig" "$T/bad/observations.csv" || fail "damaged log changed"
[ ! -e "$T/bad/summary.csv" ] || fail "damage: reports written"

# a torn last line is cut back, with a warning
mklog "$T/torn"
cp "$T/torn/observations.csv" "$T/torn.orig"
printf '2026-11-30 00:20:00,p,3,contoso.com,spf,conto' >> "$T/torn/observations.csv"
expect_exit 0 "$DNSPROP" report --dir "$T/torn"
grep -q 'observations.csv:8: torn last line' "$T/err" || fail "torn: no warning"
cmp -s "$T/torn.orig" "$T/torn/observations.csv" || fail "torn line not cut"

# another version's header
mklog "$T/ver"
sed -i '1s/,match\r$/,match,score\r/' "$T/ver/observations.csv"
expect_exit 3 "$DNSPROP" report --dir "$T/ver"
grep -q 'observations.csv:1: header of another version: missing site,ede unknown score' "$T/err" || fail "header: $(cat "$T/err")"

# a log of the older form (17 columns, $H): read as before (above); --upgrade
# rewrites it once with site,ede, every old byte kept, the reports the same
mklog "$T/up"
expect_exit 0 "$DNSPROP" report --dir "$T/up"
mkdir "$T/up.reports"
cp "$T/up"/*.csv "$T/up"/*.svg "$T/up.reports/"
expect_exit 0 "$DNSPROP" report --upgrade --dir "$T/up"
grep -q 'observations.csv upgraded to 19 columns (site, ede), 6 rows kept' "$T/err" || fail "upgrade: $(cat "$T/err")"
head -1 "$T/up/observations.csv" | grep -qx $'time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match,site,ede\r' \
  || fail "upgrade: header $(head -1 "$T/up/observations.csv")"
tail -n +2 "$T/up.reports/observations.csv" | sed 's/\r$/,,\r/' > "$T/up.want"
tail -n +2 "$T/up/observations.csv" | cmp -s - "$T/up.want" || fail "upgrade: old rows changed"
for f in convergence.csv timeline.csv mx_compliance.csv summary.csv convergence.svg; do
  cmp -s "$T/up.reports/$f" "$T/up/$f" || fail "upgrade: $f differs"
done
cp "$T/up/observations.csv" "$T/up.once"
expect_exit 0 "$DNSPROP" report --upgrade --dir "$T/up"
grep -q 'already has the current 19 columns, nothing to upgrade' "$T/err" || fail "upgrade twice: $(cat "$T/err")"
cmp -s "$T/up.once" "$T/up/observations.csv" || fail "upgrade twice: log changed"
ls -a "$T/up" | grep -q '^\.observations\.csv\..*\.tmp$' && fail "upgrade: temporary file left"
# a damaged old log is not upgraded: exit 3, one line, nothing changed
mklog "$T/upbad"
sed -i '4s/,udp,/,sctp,/' "$T/upbad/observations.csv"
cp "$T/upbad/observations.csv" "$T/upbad.orig"
expect_exit 3 "$DNSPROP" report --upgrade --dir "$T/upbad"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "upgrade damage: not one line"
grep -q "observations.csv:4: bad transport 'sctp'" "$T/err" || fail "upgrade damage: $(cat "$T/err")"
cmp -s "$T/upbad.orig" "$T/upbad/observations.csv" || fail "upgrade damage: log changed"
finish
