# Shared by the benchmarks: starts Knot (knotd) on 127.0.0.1 on a free high
# port for one zone, as the current user, in the folder $1. Source it, then:
#   bench_knot_start DIR ZONE ZONEFILE PROBE_NAME PROBE_TYPE
# sets KNOT_PID and KNOT_PORT, and returns once the probe is answered.
# With KNOT_CPU set (a CPU number), knotd runs pinned to that CPU.
# bench_knot_stop stops it by PID (call it from an EXIT trap).
#
# udp-workers: 8. Knot's default is one UDP worker (one socket, shared by
# SO_REUSEPORT) per CPU, two here. At 100,000 queries a second on loopback the
# socket's receive buffer (net.core.rmem_default, 208 KiB, which a test cannot
# raise) overflowed: nstat's UdpRcvbufErrors counted 50-160 queries dropped
# at Knot in each dnsprop run and about 60 in each dnsperf run, and a dropped
# query costs dnsprop its first retry (a second) where dnsperf just counts it
# lost. The server must not be what is measured: with eight sockets the same
# runs dropped none of dnsprop's queries (dnsperf, one socket, still loses a
# few, and is not slowed by them).
KNOT_PID=
KNOT_PORT=

bench_knot_stop() {
  if [ -n "$KNOT_PID" ]; then
    kill "$KNOT_PID" 2>/dev/null
    wait "$KNOT_PID" 2>/dev/null
    KNOT_PID=
  fi
}

bench_knot_start() {
  local dir=$1 zone=$2 zonefile=$3 probe=$4 ptype=$5 p
  for tool in knotd dig ss; do
    command -v $tool >/dev/null || { echo "bench: $tool not found (Debian: knot, bind9-dnsutils, iproute2)" >&2; return 3; }
  done
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Hlun "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$p" | grep -q .; then
      KNOT_PORT=$p; break
    fi
  done
  [ -n "$KNOT_PORT" ] || { echo "bench: no free port" >&2; return 1; }
  mkdir -p "$dir/run" "$dir/db" "$dir/zones"
  cp "$zonefile" "$dir/zones/$zone.zone"
  cat > "$dir/knot.conf" <<CONF
server:
    rundir: "$dir/run"
    user: $(id -un):$(id -gn)
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 8
log:
  - target: stderr
    any: error
database:
    storage: "$dir/db"
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
zone:
  - domain: $zone
CONF
  if [ -n "${KNOT_CPU:-}" ]; then
    taskset -c "$KNOT_CPU" knotd -c "$dir/knot.conf" > "$dir/knot.log" 2>&1 &
  else
    knotd -c "$dir/knot.conf" > "$dir/knot.log" 2>&1 &
  fi
  KNOT_PID=$!
  for _ in $(seq 100); do
    if dig +short +time=1 +tries=1 -p "$KNOT_PORT" @127.0.0.1 "$probe" "$ptype" 2>/dev/null | grep -q .; then
      # Knot 3.2 pins one of its UDP workers to CPU 0 by itself, whatever
      # taskset gave it (seen here: one thread's Cpus_allowed_list was 0),
      # where it competed with the clients; now that every thread is up,
      # all of them move to KNOT_CPU
      [ -z "${KNOT_CPU:-}" ] || taskset -a -c -p "$KNOT_CPU" "$KNOT_PID" > /dev/null || return 1
      return 0
    fi
    kill -0 "$KNOT_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "bench: knotd did not come up:" >&2
  cat "$dir/knot.log" >&2
  return 1
}
