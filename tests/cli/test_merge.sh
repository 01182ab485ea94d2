#!/usr/bin/env bash
# dnsprop merge: other vantages' logs appended to one folder's log
# (PRODUCT.md section 11): idempotent, only new rows after a source grew,
# rounds renumbered per folder, collisions and damage refused with nothing
# appended, old-format sources read.
set -u
. "$(dirname "$0")/../lib.sh"

H='time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match'
# row TIME VANTAGE ROUND SERVER ANSWER: one mx row, expected "0 new.example."
row() {
  printf '%s,%s,%s,contoso.com,mx,contoso.com.,MX,%s,192.0.2.%s,udp,ok,NOERROR,5,300,%s,0 new.example.,%s\r\n' \
    "$1" "$2" "$3" "$4" "${4#r}" "$5" "$([ "$5" = '0 new.example.' ] && echo yes || echo no)"
}
# mkhost DIR VANTAGE FIRST LAST MINUTE0: rounds FIRST..LAST, two resolvers each
mkhost() {
  mkdir -p "$1"
  [ -s "$1/observations.csv" ] || printf '%s\r\n' "$H" > "$1/observations.csv"
  local r
  for r in $(seq "$3" "$4"); do
    local t
    t=$(printf '2026-11-30 00:%02d:%02d' $(( ($5 + r) / 60 )) $(( ($5 + r) % 60 )))
    row "$t" "$2" "$r" r1 '0 new.example.' >> "$1/observations.csv"
    row "$t" "$2" "$r" r2 '10 old.example.' >> "$1/observations.csv"
  done
}
rows() { tail -n +2 "$1/observations.csv" | wc -l; }

mkhost "$T/a" paris 1 3 0
mkhost "$T/b" tokyo 1 2 1

# usage
expect_exit 3 "$DNSPROP" merge "$T/a"
grep -q -- '--dir' "$T/err" || fail "missing --dir not said"
expect_exit 3 "$DNSPROP" merge --dir "$T/c"
[ ! -e "$T/c" ] || fail "usage error created the folder"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/nope"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "missing source: not one line"
grep -q "$T/nope" "$T/err" || fail "missing source not named"
[ ! -e "$T/c" ] || fail "missing source left the new folder behind"

# first merge: every row, each source round a round of c, in time order
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b"
[ "$(rows "$T/c")" -eq 10 ] || fail "first merge: $(rows "$T/c") rows, want 10"
grep -q '5 new row' "$T/err" || grep -q '10 new row' "$T/err" || fail "no summary: $(cat "$T/err")"
grep -q '^DNSPROP ' "$T/out" || fail "no status line"
for f in convergence.csv timeline.csv summary.csv mx_compliance.csv; do
  [ -s "$T/c/$f" ] || fail "$f not written"
done
# rounds 1..5 in the order of the groups' times: paris 1 (00:00:01), paris 2 and
# tokyo 1 (both 00:00:02: paris comes first on the command line), paris 3, tokyo 2
cut -d, -f2,3 "$T/c/observations.csv" | tail -n +2 | uniq > "$T/got"
printf 'paris,1\r\nparis,2\r\ntokyo,3\r\nparis,4\r\ntokyo,5\r\n' | tr -d '\r' > "$T/want"
tr -d '\r' < "$T/got" > "$T/got2"
cmp -s "$T/want" "$T/got2" || fail "round order: $(cat "$T/got2" | tr '\n' ' ')"
# every source row is in c, with its own vantage and time
for s in a b; do
  # the sources are 17-column logs; c has the current 19 columns (site, ede empty)
  tail -n +2 "$T/$s/observations.csv" | tr -d '\r' | cut -d, -f1,2,4-17 | sort > "$T/s"
  tail -n +2 "$T/c/observations.csv" | tr -d '\r' | cut -d, -f1,2,4-17 | sort > "$T/m"
  tail -n +2 "$T/c/observations.csv" | tr -d '\r' | grep -qv ',,$' && fail "c rows with site or ede"
  [ -z "$(comm -23 "$T/s" "$T/m")" ] || fail "rows of $s missing in c"
done

# idempotent: again, nothing appended, the log unchanged byte for byte
cp "$T/c/observations.csv" "$T/c1"
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b"
cmp -s "$T/c1" "$T/c/observations.csv" || fail "second merge changed the log"
grep -q ' 0 new row' "$T/err" || fail "second merge: $(cat "$T/err")"
grep -q 'read only what was added' "$T/err" || fail "second merge was not incremental"
# the same with the ledger gone: a full comparison, still nothing appended
rm "$T/c/.merge"
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/b" "$T/a"
cmp -s "$T/c1" "$T/c/observations.csv" || fail "merge without .merge changed the log"
grep -q 'read only' "$T/err" && fail "merge without .merge claims incremental"

# growth: only the new rows, read incrementally
mkhost "$T/a" paris 4 5 0
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b"
[ "$(rows "$T/c")" -eq 14 ] || fail "after growth: $(rows "$T/c") rows, want 14"
grep -q ' 4 new row(s) in 2 round' "$T/err" || fail "growth: $(cat "$T/err")"
grep -q 'read only what was added' "$T/err" || fail "growth merge was not incremental"
tail -n 4 "$T/c/observations.csv" | cut -d, -f2,3 | tr -d '\r' | sort -u | tr '\n' ' ' > "$T/got"
[ "$(cat "$T/got")" = "paris,6 paris,7 " ] || fail "new rounds: $(cat "$T/got")"
# report rebuilds what merge refreshed
cp "$T/c/convergence.csv" "$T/conv1"
expect_exit 0 "$DNSPROP" report --dir "$T/c"
cmp -s "$T/conv1" "$T/c/convergence.csv" || fail "report after merge differs"

# a source whose prefix changed (rewritten): full comparison, still only new rows
cp -r "$T/a" "$T/a2"
sed -i '2s/,5,300,/,6,300,/' "$T/a/observations.csv"
cp "$T/c/observations.csv" "$T/c2"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b"
grep -q "$T/a/observations.csv:2: vantage 'paris' round 1 differs from $T/c/observations.csv:" "$T/err" \
  || fail "rewritten source: $(cat "$T/err")"
cmp -s "$T/c2" "$T/c/observations.csv" || fail "refused merge changed the log"
rm -rf "$T/a"; mv "$T/a2" "$T/a"

# collision: another host that calls itself paris
mkhost "$T/x" paris 1 1 30
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/b" "$T/x"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "collision: not one line"
grep -q "$T/x/observations.csv:2: vantage 'paris' round 1 differs" "$T/err" || fail "collision: $(cat "$T/err")"
cmp -s "$T/c2" "$T/c/observations.csv" || fail "collision changed the log"
# two new sources claiming one vantage, into an empty folder: both paths named
mkhost "$T/y" berlin 1 1 0
mkhost "$T/z" berlin 1 1 9
expect_exit 3 "$DNSPROP" merge --dir "$T/d" "$T/y" "$T/z"
grep -q "$T/z/observations.csv:2 and $T/y/observations.csv: vantage 'berlin' round 1 differs" "$T/err" \
  || fail "two-source collision: $(cat "$T/err")"
[ ! -e "$T/d" ] || fail "refused merge left its new folder"
# a copy of the same host's folder is no collision: nothing twice
cp -r "$T/b" "$T/b2"
mkhost "$T/b2" tokyo 3 3 1
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b" "$T/b2"
[ "$(rows "$T/c")" -eq 16 ] || fail "copy + one more round: $(rows "$T/c") rows, want 16"

# rows DIR gains by itself between merges (here an Atlas import) are DIR's own: the next
# merge stays incremental, and a source that claims their vantage is refused
expect_exit 0 "$DNSPROP" import atlas "$DNSPROP_SRC/tests/data/atlas/sagan_dns_4460.json" as250.net --checks a --dir "$T/c"
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/b" "$T/b2"
grep -q ' 0 new row.*read only what was added' "$T/err" || fail "after DIR's own rows: $(cat "$T/err")"
mkdir "$T/p184"
{ printf '%s\r\n' "$H"; row '2026-11-30 00:00:01' atlas:184 1 r1 '0 new.example.'; } > "$T/p184/observations.csv"
cp "$T/c/observations.csv" "$T/c4"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/p184"
grep -q "p184/observations.csv:2: vantage 'atlas:184' round 1 differs from $T/c/observations.csv:" "$T/err" \
  || fail "a source claiming DIR's own vantage: $(cat "$T/err")"
cmp -s "$T/c4" "$T/c/observations.csv" || fail "claimed own vantage: the log changed"

# damage: refused with path:line, nothing appended from any source
mkhost "$T/a" paris 6 6 0
cp "$T/c/observations.csv" "$T/c3"
mkhost "$T/e" oslo 1 2 0
sed -i '3s/,udp,/,xyz,/' "$T/e/observations.csv"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/e"
grep -q "$T/e/observations.csv:3: bad transport 'xyz'" "$T/err" || fail "damage: $(cat "$T/err")"
cmp -s "$T/c3" "$T/c/observations.csv" || fail "damaged source: rows appended"
# a torn last line in a source is left for later, not refused
mkhost "$T/f" oslo 1 1 0
printf '2026-11-30 00:09:00,oslo,2,contoso.com,mx' >> "$T/f/observations.csv"
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/f"
grep -q 'torn last line' "$T/err" || fail "torn source line: no warning"
grep -q ',oslo,' "$T/c/observations.csv" || fail "torn source: its whole rows not merged"

# a folder with the old 17-column log: it stays 17 columns (a notice says so), and a
# source of the current form with site,ede merges into it (site,ede dropped, as check
# does) and into a current log (kept)
mkhost "$T/old" central 1 1 0
H19="$H,site,ede"
mkdir "$T/new19"
{
  printf '%s\r\n' "$H19"
  printf '2026-11-30 00:05:00,lyon,1,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,ok,NOERROR,5,300,0 new.example.,0 new.example.,yes,fra1,3\r\n'
} > "$T/new19/observations.csv"
expect_exit 0 "$DNSPROP" merge --dir "$T/old" "$T/b" "$T/new19"
grep -q 'report --upgrade' "$T/err" || fail "old log: no notice"
[ "$(head -1 "$T/old/observations.csv" | tr -d '\r')" = "$H" ] || fail "old log: header changed"
[ "$(rows "$T/old")" -eq 7 ] || fail "old log: $(rows "$T/old") rows, want 7"
awk -F, 'NR > 1 && NF != 17 { bad = 1 } END { exit bad }' "$T/old/observations.csv" || fail "old log: a row not of 17 columns"
expect_exit 0 "$DNSPROP" merge --dir "$T/old" "$T/b" "$T/new19"
[ "$(rows "$T/old")" -eq 7 ] || fail "old log, again: $(rows "$T/old") rows"
expect_exit 0 "$DNSPROP" merge --dir "$T/cur" "$T/new19" "$T/old"
grep -q ',lyon,[0-9]*,.*,fra1,3'$'\r''$' "$T/cur/observations.csv" || fail "current log: site,ede lost"
[ "$(rows "$T/cur")" -eq 7 ] || fail "current log: $(rows "$T/cur") rows, want 7 (lyon once)"

# a source of another version is refused naming its header
mkdir "$T/g"; printf 'time_utc,vantage,round,frob\r\n' > "$T/g/observations.csv"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/g"
grep -q "$T/g/observations.csv:1: header of another version" "$T/err" || fail "other header: $(cat "$T/err")"
# a FIFO where a source log should be: refused, no hang
mkdir "$T/h"; mkfifo "$T/h/observations.csv"
expect_exit 3 timeout 20 "$DNSPROP" merge --dir "$T/c" "$T/h"
grep -q 'not a regular file' "$T/err" || fail "fifo source: $(cat "$T/err")"

# the target folder is held to check's rules (datadir): a folder others can write is
# refused unless --insecure-dir; a symlink planted as .merge is refused, its target untouched
mkdir "$T/ww"; chmod 0777 "$T/ww"
expect_exit 3 "$DNSPROP" merge --dir "$T/ww" "$T/b"
[ ! -e "$T/ww/observations.csv" ] || fail "insecure folder: log created"
expect_exit 0 "$DNSPROP" merge --dir "$T/ww" "$T/b" --insecure-dir
grep -q 'warning' "$T/err" || fail "--insecure-dir: no warning"
echo precious > "$T/victim"
rm -f "$T/c/.merge"; ln -s "$T/victim" "$T/c/.merge"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/b"
grep -q '.merge' "$T/err" || fail "symlinked .merge not named: $(cat "$T/err")"
[ "$(cat "$T/victim")" = precious ] || fail "symlinked .merge: victim changed"

# the sources' settings.csv: a domain DIR has no settings for takes the source's (saved in
# DIR's settings.csv, so the merged folder renders with the source's window and since);
# where a source's differ from DIR's, DIR's are kept with one warning line naming the
# domain and both folders; a bad source settings.csv is refused before anything is appended
SH='domain,profile,single_mx,window,since_utc,old_ttl'
mkhost "$T/sa" oslo 1 2 0
printf '%s\r\ncontoso.com,,yes,3600,2026-11-30 00:00:00,120\r\n' "$SH" > "$T/sa/settings.csv"
mkhost "$T/sb" rome 1 2 0
printf '%s\r\ncontoso.com,,no,7200,,\r\n' "$SH" > "$T/sb/settings.csv"
expect_exit 0 "$DNSPROP" merge --dir "$T/sd" "$T/sa"
grep -q '^contoso.com,,yes,3600,2026-11-30 00:00:00,120'$'\r''$' "$T/sd/settings.csv" ||
  fail "source settings not taken: $(cat "$T/sd/settings.csv" 2>&1)"
grep -q '^contoso.com,mx,.*,2026-11-30 01:00:00,' "$T/sd/summary.csv" ||
  fail "merged folder not rendered with the source's window: $(cat "$T/sd/summary.csv")"
grep -q 'warning' "$T/err" && fail "first merge warned: $(cat "$T/err")"
cp "$T/sd/settings.csv" "$T/sd.want"
expect_exit 0 "$DNSPROP" merge --dir "$T/sd" "$T/sb"
[ "$(grep -c 'warning' "$T/err")" -eq 1 ] || fail "differing settings: not one warning: $(cat "$T/err")"
grep 'warning' "$T/err" | grep 'contoso.com' | grep -- "$T/sd" | grep -q -- "$T/sb" ||
  fail "warning does not name the domain and both folders: $(cat "$T/err")"
cmp -s "$T/sd/settings.csv" "$T/sd.want" || fail "differing source settings changed DIR's"
grep -q '^contoso.com,mx,.*,2026-11-30 01:00:00,' "$T/sd/summary.csv" || fail "DIR's window not kept"
# the same merge again: still DIR's, still one warning
expect_exit 0 "$DNSPROP" merge --dir "$T/sd" "$T/sa" "$T/sb"
[ "$(grep -c 'warning' "$T/err")" -eq 1 ] || fail "again: $(cat "$T/err")"
# a bad settings.csv in a source: exit 3, one line naming file and line, nothing appended
mkhost "$T/se" lima 1 2 0
printf '%s\r\nfabrikam.com,,maybe,3600,,\r\n' "$SH" > "$T/se/settings.csv"
n0=$(rows "$T/sd")
expect_exit 3 "$DNSPROP" merge --dir "$T/sd" "$T/se"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "bad source settings: not one line: $(cat "$T/err")"
grep -q "$T/se/settings.csv:2: bad single_mx" "$T/err" || fail "bad source settings: $(cat "$T/err")"
[ "$(rows "$T/sd")" -eq "$n0" ] || fail "bad source settings: rows appended"
cmp -s "$T/sd/settings.csv" "$T/sd.want" || fail "bad source settings: DIR's settings changed"
# a new folder is not left behind by it
expect_exit 3 "$DNSPROP" merge --dir "$T/sf" "$T/se"
[ ! -e "$T/sf" ] || fail "bad source settings left the new folder behind"

finish
