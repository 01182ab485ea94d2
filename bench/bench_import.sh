#!/usr/bin/env bash
# Import benchmark: 200,000 RIPE Atlas DNS results (JSON lines, abufs built
# with ldns by atlasgen), `dnsprop import atlas` beside `jq -c .` reading the
# same file (target: at least half as fast as jq, i.e. at most 2x its time),
# peak memory (target < 64 MiB), and the same with the results as one JSON
# array. Usage: bench/bench_import.sh BUILD_DIR   (needs jq, /usr/bin/time)
set -eu
build=${1:-build}
dnsprop=$build/dnsprop
[ -x "$dnsprop" ] || dnsprop=$build/monitor/dnsprop # an older build folder
gen=$build/tests/atlasgen
n=${BENCH_RESULTS:-200000}
. "$(dirname "$0")/lib.sh"
bench_need "$dnsprop" "$gen" || exit 1
bench_need_cmd jq jq || exit 1
bench_need_cmd /usr/bin/time time || exit 1
bench_workdir W

old=$("$gen" contoso.test MX NOERROR 'contoso.test. 3600 IN MX 10 mail.contoso.test.')
new=$("$gen" contoso.test MX NOERROR 'contoso.test. 3600 IN MX 0 contoso-test.mail.protection.outlook.com.')
# 1000 probes, a result each every 15 minutes (200 rounds); probe p moves to
# the new MX at round p / 5; every 50th result is a timeout
awk -v n="$n" -v old="$old" -v new="$new" -v move=5 -f "$(dirname "$0")/../tools/atlas_stream.awk" > "$W/results.jsonl"
{ echo '['; sed '$!s/$/,/' "$W/results.jsonl"; echo ']'; } > "$W/results.json"
size=$(stat -c %s "$W/results.jsonl")
echo "results: $n, $((size / 1048576)) MiB of JSON lines"

timed jq -c . "$W/results.jsonl"
j_secs=$secs; j_kib=$kib; j_cpu=$cpu
timed "$dnsprop" import atlas "$W/results.jsonl" contoso.test --checks mx --profile m365 --dir "$W/d" -q
i_secs=$secs; i_kib=$kib; i_cpu=$cpu
rows=$(($(wc -l < "$W/d/observations.csv") - 1))
[ "$rows" -eq "$n" ] || { echo "bench_import: $rows rows imported, want $n" >&2; exit 1; }
timed "$dnsprop" import atlas "$W/results.json" contoso.test --checks mx --profile m365 --dir "$W/a" -q
a_secs=$secs; a_kib=$kib
timed "$dnsprop" import atlas "$W/results.jsonl" contoso.test --checks mx --profile m365 --dir "$W/d" -q
r_secs=$secs; r_kib=$kib
awk -v jc="$j_cpu" -v ic="$i_cpu" -v j="$j_secs" -v jk="$j_kib" -v i="$i_secs" -v ik="$i_kib" -v a="$a_secs" -v ak="$a_kib" \
    -v r="$r_secs" -v rk="$r_kib" -v n="$n" 'BEGIN {
  ok = (j / i >= 0.5 && ik < 65536 && ak < 65536)
  printf "jq -c . on %d results: %.2f s, peak %.1f MiB\n", n, j, jk / 1024
  printf "dnsprop import atlas (JSON lines): %.2f s, %.0f results/s, %.2fx jq'"'"'s speed, peak %.1f MiB (target >= 0.5x, < 64 MiB): %s\n",
         i, n / i, j / i, ik / 1024, ok ? "PASS" : "MISS"
  printf "  (CPU time: jq %.2f s, dnsprop %.2f s: %.2fx)\n", jc, ic, jc / ic
  printf "dnsprop import atlas (one JSON array): %.2f s, %.2fx jq'"'"'s speed, peak %.1f MiB\n", a, j / a, ak / 1024
  printf "the same file again (every result already in the log): %.2f s, peak %.1f MiB\n", r, rk / 1024
  exit ok ? 0 : 1
}'
