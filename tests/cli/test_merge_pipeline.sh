#!/usr/bin/env bash
# dnsprop merge at a size where the aggregates are fed by the second thread
# through many batches, the reader waiting for the feeder (reports/feed.c):
# damage and collisions found late (after thousands of rows were handed
# over) still append nothing; the merged folder's reports are what `report`
# rebuilds from the log alone, byte for byte (and the saved aggregates too);
# merging again appends nothing, and growth appends only the new rows.
set -u
. "$(dirname "$0")/../lib.sh"

gen="$DNSPROP_SRC/bench/genlog.awk"
rows() { tail -n +2 "$1/observations.csv" | wc -l; }
# the reports and the saved aggregates (.state without its fingerprint lines,
# which name the file's inode and times, and its checksum)
snap() {
  mkdir -p "$2"
  local f
  for f in convergence.csv convergence.svg mx_compliance.csv summary.csv timeline.csv; do
    cp "$1/$f" "$2/$f" || fail "$f not written in $1"
  done
  tail -n +4 "$1/.state" | grep -v '^end,' > "$2/state"
}
# rebuilt_same DIR WHEN: what merge left in DIR is what `report` rebuilds from its log alone
rebuilt_same() {
  snap "$1" "$T/merged.$2"
  rm "$1/.state"
  expect_exit 0 "$DNSPROP" report --dir "$1"
  snap "$1" "$T/rebuilt.$2"
  local f
  for f in convergence.csv convergence.svg mx_compliance.csv summary.csv timeline.csv state; do
    cmp -s "$T/merged.$2/$f" "$T/rebuilt.$2/$f" || fail "$2: report rebuilds $f otherwise than merge left it"
  done
}

mkdir -p "$T/a" "$T/b"
awk -v rows=30000 -f "$gen" | sed 's/,bench,/,paris,/' > "$T/a/observations.csv"
# tokyo in whole rounds (3360 rows each), to grow by whole rounds below
awk -v rows=23520 -f "$gen" | sed 's/,bench,/,tokyo,/' > "$T/b/observations.csv"
na=$(rows "$T/a")
nb=$(rows "$T/b")

# damage near the end of a source: refused with path:line, no folder left
cp -r "$T/b" "$T/bad"
line=$((nb - 5))
sed -i "${line}s/,udp,/,xyz,/" "$T/bad/observations.csv"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/a" "$T/bad"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "late damage: not one line: $(cat "$T/err")"
grep -q "$T/bad/observations.csv:$line: bad transport 'xyz'" "$T/err" || fail "late damage: $(cat "$T/err")"
[ ! -e "$T/c" ] || fail "late damage left the new folder behind"

# one source, then the damaged one into that folder: the log unchanged byte for byte
expect_exit 0 "$DNSPROP" merge --dir "$T/c" "$T/a"
[ "$(rows "$T/c")" -eq "$na" ] || fail "one source: $(rows "$T/c") rows, want $na"
cp "$T/c/observations.csv" "$T/c.1"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/bad"
grep -q "$T/bad/observations.csv:$line: bad transport 'xyz'" "$T/err" || fail "late damage into c: $(cat "$T/err")"
cmp -s "$T/c.1" "$T/c/observations.csv" || fail "late damage: rows appended"

# a collision late: another host calling itself paris, the same rows but the last
sed "\$s/,udp,ok,/,tcp,ok,/" "$T/a/observations.csv" > "$T/x.csv"
mkdir "$T/x" && mv "$T/x.csv" "$T/x/observations.csv"
expect_exit 3 "$DNSPROP" merge --dir "$T/c" "$T/b" "$T/x"
grep -q "$T/x/observations.csv:$((na + 1)): vantage 'paris' round [0-9]* differs from $T/c/observations.csv:$((na + 1))" "$T/err" \
  || fail "late collision: $(cat "$T/err")"
cmp -s "$T/c.1" "$T/c/observations.csv" || fail "late collision: rows appended"

# both sources into a new folder: every row; report rebuilds it byte for byte
expect_exit 0 "$DNSPROP" merge --dir "$T/d" "$T/a" "$T/b"
[ "$(rows "$T/d")" -eq $((na + nb)) ] || fail "merge: $(rows "$T/d") rows, want $((na + nb))"
rebuilt_same "$T/d" "first merge"

# again: nothing new; a source grown by whole rounds: only those rows, incrementally
cp "$T/d/observations.csv" "$T/d.1"
expect_exit 0 "$DNSPROP" merge --dir "$T/d" "$T/a" "$T/b"
cmp -s "$T/d.1" "$T/d/observations.csv" || fail "second merge changed the log"
awk -v rows=33600 -f "$gen" | sed 's/,bench,/,tokyo,/' | tail -n +$((nb + 2)) >> "$T/b/observations.csv"
grown=$(($(rows "$T/b") - nb))
[ "$grown" -gt 0 ] || fail "the source did not grow"
expect_exit 0 "$DNSPROP" merge --dir "$T/d" "$T/a" "$T/b"
grep -q "$grown new row.*read only what was added" "$T/err" || fail "growth: $(cat "$T/err")"
[ "$(rows "$T/d")" -eq $((na + nb + grown)) ] || fail "growth: $(rows "$T/d") rows"
rebuilt_same "$T/d" "after growth"

finish
