#!/usr/bin/env bash
# Merge benchmark: two 2,000,000-row logs of two vantages merged into an
# empty folder (target >= 1,000,000 rows/s), then the same merge again
# (nothing new: the ledger makes it read nothing), then after one source grew
# by one round. Peak memory from /usr/bin/time -v.
# Usage: bench/bench_merge.sh BUILD_DIR   (needs awk, /usr/bin/time)
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
dnsprop=$build/monitor/dnsprop
[ -x "$dnsprop" ] || dnsprop=$build/dnsprop
rows=${BENCH_ROWS:-2000000}
[ -x "$dnsprop" ] || { echo "bench_merge: $dnsprop not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_merge: /usr/bin/time missing (Debian: time)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/dnsprop-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

timed() {
  /usr/bin/time -v -o "$W/time.txt" "$@" >/dev/null 2>"$W/stderr" || { cat "$W/stderr" >&2; exit 1; }
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$W/time.txt")
  kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$W/time.txt")
}

mkdir -p "$W/paris" "$W/tokyo"
echo "generating 2 x $rows rows..."
awk -v rows="$rows" -f "$here/genlog.awk" > "$W/paris/observations.csv"
sed 's/,bench,/,tokyo,/' "$W/paris/observations.csv" > "$W/tokyo/observations.csv"
sed -i 's/,bench,/,paris,/' "$W/paris/observations.csv"
src_rows=$(($(wc -l < "$W/paris/observations.csv") - 1))
size=$(stat -c %s "$W/paris/observations.csv")
echo "sources: 2 logs of $src_rows rows, $((size / 1048576)) MiB each"

timed "$dnsprop" merge --dir "$W/central" "$W/paris" "$W/tokyo"
m_secs=$secs; m_kib=$kib; m_cpu=$cpu
merged=$(($(wc -l < "$W/central/observations.csv") - 1))
[ "$merged" -eq $((2 * src_rows)) ] || { echo "bench_merge: merged $merged rows, want $((2 * src_rows))" >&2; exit 1; }
timed "$dnsprop" report --dir "$W/central"
r_secs=$secs; r_cpu=$cpu
timed "$dnsprop" merge --dir "$W/central" "$W/paris" "$W/tokyo"
a_secs=$secs; a_kib=$kib
tail -n 168 "$W/tokyo/observations.csv" | awk -F, -v OFS=, '{ $1 = "2031-01-01 00:00:00"; $3 = $3 + 1; print }' >> "$W/tokyo/observations.csv"
timed "$dnsprop" merge --dir "$W/central" "$W/paris" "$W/tokyo"
g_secs=$secs; g_kib=$kib
grown=$(($(wc -l < "$W/central/observations.csv") - 1))
[ "$grown" -eq $((2 * src_rows + 168)) ] || { echo "bench_merge: $grown rows after the growth, want $((2 * src_rows + 168))" >&2; exit 1; }
awk -v r="$r_secs" -v rc="$r_cpu" -v m="$m_secs" -v mc="$m_cpu" -v n="$((2 * src_rows))" -v mk="$m_kib" -v a="$a_secs" -v ak="$a_kib" \
    -v g="$g_secs" -v gk="$g_kib" 'BEGIN {
  printf "dnsprop merge of 2 x %d rows into an empty folder: %.2f s, %.0f rows/s, peak %.1f MiB (target >= 1000000 rows/s): %s\n",
         n / 2, m, n / m, mk / 1024, (n / m >= 1000000) ? "PASS" : "MISS"
  printf "  (CPU time %.2f s: %.0f rows per CPU second; the wall clock counts the machine'"'"'s load too)\n", mc, n / mc
  printf "reference: dnsprop report of the merged log: %.2f s (CPU %.2f s); the merge costs %.1fx that in CPU\n", r, rc, mc / rc
  printf "the same merge again (nothing new): %.2f s, peak %.1f MiB\n", a, ak / 1024
  printf "after one source grew by 168 rows: %.2f s, peak %.1f MiB\n", g, gk / 1024
  exit (n / m >= 1000000) ? 0 : 1
}'
