#!/bin/bash
# Engine throughput against a real authoritative server: starts Knot (knotd) on
# 127.0.0.1 on a free high port with a zone of 100,000 names that each have
# an MX, then sends the same 100,000 MX questions with dnsperf and with the
# engine (bench/engine_bench), and prints both rates, their ratio and how many
# answers each lost. Target: engine >= 0.6 x dnsperf, 0 lost.
# Usage: bench/bench_engine.sh BUILD_DIR      (knotd runs as the current user)
set -u
build=${1:-build}
N=${BENCH_NAMES:-100000}
INFLIGHT=${BENCH_INFLIGHT:-256}
driver=$build/bench/engine_bench
command -v dnsperf >/dev/null || { echo "bench_engine: dnsperf not found (Debian: dnsperf)" >&2; exit 3; }
[ -x "$driver" ] || { echo "bench_engine: $driver not built" >&2; exit 3; }

T=$(mktemp -d /tmp/bench_engine.XXXXXX)
. "$(dirname "$0")/knot.sh"
cleanup() {
  bench_knot_stop
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

{
  echo '$ORIGIN bench.test.'
  echo '$TTL 3600'
  echo '@ IN SOA ns.bench.test. host.bench.test. 1 7200 900 1209600 300'
  echo '@ IN NS ns.bench.test.'
  echo 'ns IN A 127.0.0.1'
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN MX 10 mx%d.bench.test.\n", i, i }'
} > "$T/bench.test.zone"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "h%d.bench.test MX\n", i }' > "$T/queries"
bench_knot_start "$T/knot" bench.test "$T/bench.test.zone" "h$((N - 1)).bench.test" MX || exit 1
port=$KNOT_PORT
echo "knotd $KNOT_PID on 127.0.0.1:$port, $N names"

dnsperf -s 127.0.0.1 -p "$port" -d "$T/queries" -n 1 -q "$INFLIGHT" -t 5 > "$T/dnsperf.out" 2>&1
dp_qps=$(awk '/Queries per second:/ { print $4 }' "$T/dnsperf.out")
dp_lost=$(awk '/Queries lost:/ { print $3 }' "$T/dnsperf.out")
dp_noerror=$(awk '/NOERROR/ { for (i = 1; i < NF; i++) if ($i == "NOERROR") print $(i + 1) }' "$T/dnsperf.out")
[ -n "$dp_qps" ] || { echo "bench_engine: dnsperf failed:" >&2; cat "$T/dnsperf.out" >&2; exit 1; }
echo "dnsperf: $dp_qps queries/s, lost $dp_lost, NOERROR $dp_noerror"

# timeout 1000 ms: Knot drops a few datagrams under a burst (dnsperf loses
# them too); the first retry then goes out after 500 ms
out=$("$driver" 127.0.0.1 "$port" "$T/queries" "$INFLIGHT" 1000 "${BENCH_REUSE:-16}")
rc=$?
echo "engine:  $out"
# for comparison: a fresh socket (and source port) for every query
out1=$("$driver" 127.0.0.1 "$port" "$T/queries" "$INFLIGHT" 1000 1)
echo "engine with reuse=1 (for comparison): $out1"
en_qps=$(echo "$out" | sed -n 's/.* qps=\([0-9.]*\).*/\1/p')
en_lost=$(echo "$out" | sed -n 's/.* lost=\([0-9]*\).*/\1/p')
[ -n "$en_qps" ] || { echo "bench_engine: engine_bench failed (exit $rc)" >&2; exit 1; }
ratio=$(awk -v a="$en_qps" -v b="$dp_qps" 'BEGIN { printf "%.2f", a / b }')
echo "engine/dnsperf: $ratio (target >= 0.6); engine lost $en_lost (target 0)"
ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.6) ? 1 : 0 }')
[ "$ok" = 1 ] && [ "$en_lost" = 0 ] || { echo "bench_engine: BELOW TARGET"; exit 1; }
