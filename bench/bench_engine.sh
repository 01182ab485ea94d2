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
for tool in knotd dnsperf dig ss; do
  command -v $tool >/dev/null || { echo "bench_engine: $tool not found (Debian: knot, dnsperf, bind9-dnsutils, iproute2)" >&2; exit 3; }
done
[ -x "$driver" ] || { echo "bench_engine: $driver not built" >&2; exit 3; }

T=$(mktemp -d /tmp/bench_engine.XXXXXX)
KNOT_PID=
cleanup() {
  if [ -n "$KNOT_PID" ]; then
    kill "$KNOT_PID" 2>/dev/null
    wait "$KNOT_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# a free port: not listened on for UDP or TCP
port=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 40000))
  if ! ss -Hlun "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$p" | grep -q .; then
    port=$p; break
  fi
done
[ -n "$port" ] || { echo "bench_engine: no free port" >&2; exit 1; }

mkdir -p "$T/run" "$T/db" "$T/zones"
{
  echo '$ORIGIN bench.test.'
  echo '$TTL 3600'
  echo '@ IN SOA ns.bench.test. host.bench.test. 1 7200 900 1209600 300'
  echo '@ IN NS ns.bench.test.'
  echo 'ns IN A 127.0.0.1'
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN MX 10 mx%d.bench.test.\n", i, i }'
} > "$T/zones/bench.test.zone"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "h%d.bench.test MX\n", i }' > "$T/queries"

user=$(id -un):$(id -gn)
cat > "$T/knot.conf" <<CONF
server:
    rundir: "$T/run"
    user: $user
    listen: 127.0.0.1@$port
log:
  - target: stderr
    any: error
database:
    storage: "$T/db"
template:
  - id: default
    storage: "$T/zones"
    file: "%s.zone"
zone:
  - domain: bench.test
CONF

knotd -c "$T/knot.conf" > "$T/knot.log" 2>&1 &
KNOT_PID=$!
ready=0
for _ in $(seq 100); do
  if dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 h$((N - 1)).bench.test MX 2>/dev/null | grep -q mx; then
    ready=1; break
  fi
  kill -0 "$KNOT_PID" 2>/dev/null || break
  sleep 0.2
done
if [ $ready != 1 ]; then
  echo "bench_engine: knotd did not come up:" >&2; cat "$T/knot.log" >&2; exit 1
fi
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
