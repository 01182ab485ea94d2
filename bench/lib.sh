# Shared by the benchmarks (bench/bench_*.sh): their preamble and their timing.
# Source it (it sources knot.sh too), then:
#   bench_need EXE...: each EXE must be an executable file ("NAME: EXE not
#     built"); bench_need_cmd CMD PACKAGE: CMD must be found ("NAME: CMD not
#     found (Debian: PACKAGE)"). Each prints its line on stderr and returns 1,
#     so the caller picks its exit status: `bench_need "$x" || exit 3`.
#   bench_workdir VAR: a new temporary folder, its path in VAR; at exit Knot
#     is stopped (when one was started) and the folder removed; INT and TERM
#     exit 1.
#   timed CMD...: runs CMD under /usr/bin/time -v, stdout dropped, stderr kept
#     in the work folder and shown (then exit 1) when CMD fails; sets secs
#     (wall), cpu (user + sys) and kib (peak RSS).
#   bench_zone_head: the start of the zone bench.test. (origin, TTL, SOA, NS
#     and the NS's address), on stdout.
#   bench_pin WHO: on two or more CPUs (and with taskset), Knot goes on CPU 1
#     (KNOT_CPU) and pin is "taskset -c 0" for the clients, said with WHO.
#   bench_dnsperf PORT QUERIES: one dnsperf run of QUERIES at 127.0.0.1:PORT
#     (INFLIGHT at once, under $pin); sets dp_qps and dp_lost, exits 1 when
#     dnsperf failed.
#   median: the median of the numbers on stdin, one a line.
#   bench_steal_mark / bench_steal_since: the CPU time the host took from
#     this virtual machine (/proc/stat's steal) since the mark, as a
#     percentage of all CPU time in steal_pct; steal_worst keeps the
#     highest seen and bench_steal_verdict prints, when it passed 5%, that the
#     figures measure the host's load and not the tools.
# NAME is the benchmark's own name (bench_check for bench/bench_check.sh).
BENCH_NAME=$(basename "$0" .sh)
BENCH_DIR=
. "$(dirname "${BASH_SOURCE[0]}")/knot.sh"

bench_need() {
  local x
  for x in "$@"; do
    [ -x "$x" ] || { echo "$BENCH_NAME: $x not built" >&2; return 1; }
  done
}

bench_need_cmd() {
  command -v "$1" >/dev/null || { echo "$BENCH_NAME: $1 not found (Debian: $2)" >&2; return 1; }
}

bench__cleanup() {
  bench_knot_stop
  [ -z "$BENCH_DIR" ] || rm -rf "$BENCH_DIR"
}

bench_workdir() {
  BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX") || exit 1
  printf -v "$1" '%s' "$BENCH_DIR"
  trap bench__cleanup EXIT
  trap 'exit 1' INT TERM
}

timed() {
  /usr/bin/time -v -o "$BENCH_DIR/time.txt" "$@" >/dev/null 2>"$BENCH_DIR/stderr" ||
    { cat "$BENCH_DIR/stderr" >&2; exit 1; }
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$BENCH_DIR/time.txt")
  kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$BENCH_DIR/time.txt")
}

bench_pin() {
  pin=
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    KNOT_CPU=1
    pin="taskset -c 0"
    echo "knotd pinned to CPU 1, $1 to CPU 0"
  fi
}

bench_dnsperf() {
  $pin dnsperf -s 127.0.0.1 -p "$1" -d "$2" -n 1 -q "$INFLIGHT" -t 5 > "$BENCH_DIR/dnsperf.out" 2>&1
  dp_qps=$(awk '/Queries per second:/ { print $4 }' "$BENCH_DIR/dnsperf.out")
  dp_lost=$(awk '/Queries lost:/ { print $3 }' "$BENCH_DIR/dnsperf.out")
  [ -n "$dp_qps" ] || { echo "$BENCH_NAME: dnsperf failed:" >&2; cat "$BENCH_DIR/dnsperf.out" >&2; exit 1; }
}

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

bench_zone_head() {
  echo '$ORIGIN bench.test.'
  echo '$TTL 3600'
  echo '@ IN SOA ns.bench.test. host.bench.test. 1 7200 900 1209600 300'
  echo '@ IN NS ns.bench.test.'
  echo 'ns IN A 127.0.0.1'
}

# /proc/stat's first line: cpu user nice system idle iowait irq softirq steal
bench__cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9; exit }' /proc/stat; }
steal_worst=0
bench_steal_mark() { steal_mark=$(bench__cpu_ticks); }
bench_steal_since() {
  steal_pct=$(awk -v a="$steal_mark" -v b="$(bench__cpu_ticks)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); t = y[1] - x[1]
    printf "%.0f", (t > 0 ? 100 * (y[2] - x[2]) / t : 0) }')
  [ "$steal_pct" -gt "$steal_worst" ] && steal_worst=$steal_pct
  return 0
}
bench_steal_verdict() {
  if [ "$steal_worst" -gt 5 ]; then
    echo "*** the host took up to $steal_worst% of this machine's CPU (steal, /proc/stat) during a run:"
    echo "*** the times above measure the host's load as much as the tools; run again when it is quiet"
  else
    echo "steal (CPU taken by the host): at most $steal_worst% in any run"
  fi
}
