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
. "$here/lib.sh"
bench_need "$dnsprop" || exit 1
bench_need_cmd /usr/bin/time time || exit 1
bench_workdir W

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
# the usual cron case at scale: both sources grew by about 10% (whole
# rounds of the same generator), merged into the folder that holds the rest
mkdir -p "$W/g/paris" "$W/g/tokyo"
awk -v rows="$((rows + rows / 10))" -f "$here/genlog.awk" > "$W/g/all.csv"
cut_round=$(awk -F, -v n="$rows" 'NR == n + 1 { print $3 - 1; exit }' "$W/g/all.csv")
for v in paris tokyo; do
  awk -F, -v r="$cut_round" 'NR == 1 || $3 <= r' "$W/g/all.csv" | sed "s/,bench,/,$v,/" > "$W/g/$v/observations.csv"
done
"$dnsprop" merge --dir "$W/g/central" "$W/g/paris" "$W/g/tokyo" >/dev/null
before=$(($(wc -l < "$W/g/central/observations.csv") - 1))
for v in paris tokyo; do
  awk -F, -v r="$cut_round" 'NR > 1 && $3 > r' "$W/g/all.csv" | sed "s/,bench,/,$v,/" >> "$W/g/$v/observations.csv"
done
rm -f "$W/g/all.csv"
timed "$dnsprop" merge --dir "$W/g/central" "$W/g/paris" "$W/g/tokyo"
i_secs=$secs; i_kib=$kib; i_cpu=$cpu
i_rows=$(($(wc -l < "$W/g/central/observations.csv") - 1 - before))
echo "after both sources grew by 10%: $i_rows new rows merged in $i_secs s wall, $i_cpu s CPU, peak $((i_kib / 1024)) MiB: $(awk -v n="$i_rows" -v s="$i_secs" -v c="$i_cpu" 'BEGIN { printf "%.0f rows/s wall, %.0f rows per CPU second", n / s, n / c }')"
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
