# The loopback propagation lab: real DNS servers started and stopped by a test.
#
# Source it after tests/lib.sh (which gives $T, fail, finish, on_exit):
#     . "$(dirname "$0")/../lib.sh"
#     . "$(dirname "$0")/lab.sh"
#
# What it can start, each under a NAME of the test's choosing:
#   - Knot (knotd) authoritative instances serving zone files written into $T,
#   - Unbound resolvers whose only upstream is a lab Knot (stub zones for ".",
#     "test." and each zone that Knot serves),
#   - ldns-testns servers answering from scripted datafiles (misbehaviour on demand),
#   - "swallowing" servers that read queries and never answer,
#   - resolvers nobody here wrote, forwarding only to a lab Knot (namespace mode
#     only, see below): BIND 9 (named, with NSID and serve-stale on request),
#     PowerDNS Recursor, Knot Resolver (kresd),
#   - a pool of Unbound caches behind one address (nftables DNAT, a random cache
#     per flow, as anycast and load balancers do), and cuts of the path from a
#     resolver to its authority (nftables drop), for serve-stale.
#
# Isolation. When unprivileged network namespaces work (`unshare -rn`), sourcing
# this file re-runs the test script inside a fresh user+network namespace whose
# only interface is `lo`: nothing in the lab can reach or be reached from outside,
# and two tests running in parallel cannot collide. Otherwise (or with
# LAB_NETNS=no) the lab runs on the host's loopback; collisions are then avoided
# by a random 127.x.y.z address per run (ldns-testns: 127.0.0.1, see below) plus
# ports probed free with `ss`. In both modes Unbound knows no upstream but the
# lab's Knot (stub zones; no root hints are loaded once "." has a stub) and sends
# only from the lab's loopback address, which Linux will not route off the host.
#
# Every server is a child of the test shell, recorded by PID, and stopped by PID
# at exit (on failure and on SIGINT/SIGTERM too) through on_exit. Call the start
# functions directly, never inside $(...): a server started in a subshell would
# not be the test shell's child and could not be waited for.
#
# KEEP=1 leaves the lab running at the end of the test: it prints every server's
# address and waits for Enter (or Ctrl-C) before stopping them.

# ---- network namespace -------------------------------------------------------
# Re-run the whole script in a new user+network namespace when that works. The
# outer shell only waits for the inner one and passes signals on; its own $T is
# empty and removed by lib.sh as usual.
if [ -z "${LAB_IN_NETNS:-}" ] && [ "${LAB_NETNS:-auto}" != no ] &&
  unshare -rn sh -c 'ip link set lo up' >/dev/null 2>&1; then
  LAB_IN_NETNS=1 unshare -rn bash "$0" "$@" &
  _lab_outer_child=$!
  trap 'kill -TERM "$_lab_outer_child" 2>/dev/null' TERM INT HUP
  while :; do
    wait "$_lab_outer_child"
    _lab_outer_rc=$?
    # wait returns >128 when a trapped signal interrupted it: wait again.
    kill -0 "$_lab_outer_child" 2>/dev/null || break
  done
  exit "$_lab_outer_rc"
fi

LAB_MODE=loopback
if [ -n "${LAB_IN_NETNS:-}" ]; then
  ip link set lo up || {
    echo "lab: cannot bring lo up in the network namespace" >&2
    exit 1
  }
  LAB_MODE=netns
fi

# A signal must run the EXIT trap (lib.sh's cleanup), which stops the lab.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

for _lab_tool in knotd knotc unbound ldns-testns dig ss; do
  command -v "$_lab_tool" >/dev/null 2>&1 || {
    echo "lab: '$_lab_tool' not found (see TEST_PACKAGES in the Makefile)" >&2
    exit 1
  }
done
unset _lab_tool

# ---- state -------------------------------------------------------------------
# One loopback address for the whole run; every server gets its own port on it.
# 127.0.0.x is avoided (host resolvers such as 127.0.0.53 live there).
LAB_IP="127.$((RANDOM % 250 + 2)).$((RANDOM % 256)).$((RANDOM % 253 + 1))"
LAB_DIR="$T/lab"
mkdir -p "$LAB_DIR"
declare -A LAB_PID=() LAB_HOST=() LAB_PORT=() LAB_KIND=() LAB_CONF=() LAB_LOG=()
declare -A LAB_SRC=() # the address a resolver sends its own queries from
LAB_NAMES=()        # start order, so that stop runs in reverse
LAB_PORTS_USED=" "  # ports handed out in this run
LAB_TIMEOUT=${LAB_TIMEOUT:-10} # seconds a server may take to come up

lab__err() { echo "lab: $*" >&2; }

# lab__checkconf CHECKER CONF DIR: CHECKER (unbound-checkconf, named-checkconf)
# must accept CONF; else what it said (kept in DIR/checkconf.log) goes to
# stderr and this fails.
lab__checkconf() {
  "$1" "$2" >"$3/checkconf.log" 2>&1 && return 0
  lab__err "$2 rejected:"
  sed 's/^/  /' "$3/checkconf.log" >&2
  return 1
}

# lab__free_port: prints a port in 20000-32767 that nothing listens on (any
# address, UDP or TCP) and that this run has not handed out. The range sits
# below the kernel's ephemeral ports and Unbound is told to avoid it for its
# own outgoing queries, so only another test could take it between the probe
# and the bind; lab_start_* then report the failure.
lab__free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
    case "$LAB_PORTS_USED" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Hlnut "( sport = :$p )" 2>/dev/null)" ]; then
      LAB_PORTS_USED="$LAB_PORTS_USED$p "
      echo "$p"
      return 0
    fi
  done
  lab__err "no free port found"
  return 1
}

# lab__addr_busy IP PORT: true when a UDP or TCP socket listens on PORT at IP or
# at a wildcard address (which would take IP's queries too).
lab__addr_busy() {
  ss -Hlnut "( sport = :$2 )" 2>/dev/null |
    awk -v ip="$1" -v p="$2" '{ a = $5 } a == ip ":" p || a == "0.0.0.0:" p || a == "*:" p || a == "[::]:" p { f = 1 } END { exit !f }'
}

# lab_can_bind PORT: true when this lab may listen on PORT: any port above 1023;
# below, inside the lab's network namespace (the namespace's root may), as root,
# or when the kernel lets anyone (net.ipv4.ip_unprivileged_port_start).
lab_can_bind() {
  local start
  [ "$1" -ge 1024 ] && return 0
  [ "$LAB_MODE" = netns ] && return 0
  [ "$(id -u)" -eq 0 ] && return 0
  start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null) || return 1
  [ "$1" -ge "$start" ]
}

# lab__check_name NAME: a new server name, usable in paths.
lab__check_name() {
  case "$1" in
    "" | *[!A-Za-z0-9_-]*) lab__err "bad server name '$1'"; return 1 ;;
  esac
  if [ -n "${LAB_KIND[$1]:-}" ]; then
    lab__err "server '$1' already exists"
    return 1
  fi
}

# lab__listening PORT: true when some socket listens on PORT (UDP and TCP both).
lab__listening() {
  [ -n "$(ss -Hlnu "( sport = :$1 )" 2>/dev/null)" ] &&
    [ -n "$(ss -Hlnt "( sport = :$1 )" 2>/dev/null)" ]
}

# lab__wait_up NAME PROBE...: polls until PROBE succeeds, the process dies, or
# LAB_TIMEOUT passes. Prints the server's log on failure.
lab__wait_up() {
  local name=$1 i
  shift
  for i in $(seq 1 $((LAB_TIMEOUT * 10))); do
    if ! kill -0 "${LAB_PID[$name]}" 2>/dev/null; then
      lab__err "$name (${LAB_KIND[$name]}) exited during start-up; log:"
      sed 's/^/  /' "${LAB_LOG[$name]}" >&2
      return 1
    fi
    if "$@"; then return 0; fi
    sleep 0.1
  done
  lab__err "$name (${LAB_KIND[$name]}) not up after ${LAB_TIMEOUT}s; log:"
  sed 's/^/  /' "${LAB_LOG[$name]}" >&2
  return 1
}

# lab__need NAME: fails with a message unless NAME is a lab server.
lab__need() {
  [ -n "${LAB_KIND[$1]:-}" ] && return 0
  lab__err "no server '$1'"
  return 1
}

# lab__register NAME KIND ADDR PORT CONF LOG: records a server before it starts.
lab__register() {
  LAB_KIND[$1]=$2
  LAB_HOST[$1]=$3
  LAB_PORT[$1]=$4
  LAB_CONF[$1]=$5
  LAB_LOG[$1]=$6
  LAB_SRC[$1]=$3
  LAB_NAMES+=("$1")
}

# lab_need_netns WHAT: true in namespace mode; otherwise says why WHAT cannot
# run. Resolvers the lab did not write (BIND, PowerDNS Recursor, Knot Resolver)
# may look for the root servers or trust anchors on their own at start-up:
# only the namespace, which has no route anywhere, guarantees that nothing
# leaves the host. nftables rules, too, must never touch the host's tables.
lab_need_netns() {
  [ "$LAB_MODE" = netns ] && return 0
  lab__err "$1 needs the lab's network namespace (unshare -rn), not the host's loopback"
  return 1
}

# lab_new_ip: prints a fresh loopback address 127.X.Y.Z for one server, other
# than LAB_IP and the ones handed out before; in namespace mode it is also
# added to lo (BIND listens only on addresses that an interface has).
LAB_IPS_USED=" $LAB_IP "
lab_new_ip() {
  local ip i
  for i in $(seq 1 100); do
    ip="127.$((RANDOM % 250 + 2)).$((RANDOM % 256)).$((RANDOM % 253 + 1))"
    case "$LAB_IPS_USED" in *" $ip "*) continue ;; esac
    LAB_IPS_USED="$LAB_IPS_USED$ip "
    if [ "$LAB_MODE" = netns ]; then
      ip addr add "$ip/32" dev lo 2>/dev/null || { lab__err "cannot add $ip to lo"; return 1; }
    fi
    echo "$ip"
    return 0
  done
  lab__err "no free loopback address"
  return 1
}

# ---- addresses and queries ---------------------------------------------------
# lab_addr NAME: prints ADDR:PORT of a lab server (the syntax dnsprop takes).
lab_addr() { lab__need "$1" && echo "${LAB_HOST[$1]}:${LAB_PORT[$1]}"; }
# lab_ip NAME, lab_port NAME: the two halves.
lab_ip() { lab__need "$1" && echo "${LAB_HOST[$1]}"; }
lab_port() { lab__need "$1" && echo "${LAB_PORT[$1]}"; }
# lab_pid NAME: the server's process ID (fails once it was stopped).
lab_pid() {
  lab__need "$1" || return 1
  [ -n "${LAB_PID[$1]:-}" ] || { lab__err "server '$1' is not running"; return 1; }
  echo "${LAB_PID[$1]}"
}

# lab_dig NAME DIG-ARGS...: dig at that server, one try, 2 s timeout.
lab_dig() {
  local name=$1
  shift
  lab__need "$name" || return 1
  dig +tries=1 +time=2 @"${LAB_HOST[$name]}" -p "${LAB_PORT[$name]}" "$@"
}

# lab_query NAME QNAME QTYPE [DIG-OPTS...]: one query (lab_dig); sets
#   LAB_Q_RC      dig's exit status (9: no answer at all)
#   LAB_Q_STATUS  the rcode (NOERROR, SERVFAIL, ...), empty without an answer
#   LAB_Q_FLAGS   the header flags, e.g. "qr aa"
#   LAB_Q_TTL     the smallest TTL of the QTYPE records in the answer section
#   LAB_Q_RDATA   their RDATA, sorted, joined by " | " (as dnsprop's answer column)
# Call it directly (it sets variables), not in $(...).
lab_query() {
  local name=$1 qname=$2 qtype=$3 out
  shift 3
  out=$(lab_dig "$name" "$@" "$qname" "$qtype" 2>&1)
  LAB_Q_RC=$?
  LAB_Q_STATUS=$(sed -n 's/.*, status: \([A-Z]*\),.*/\1/p' <<<"$out" | tail -1)
  LAB_Q_FLAGS=$(sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$out" | tail -1)
  local ans
  ans=$(awk -v t="$qtype" '
    /^;; ANSWER SECTION:/ { on = 1; next }
    on && /^$/ { on = 0 }
    on && toupper($4) == toupper(t) { print }' <<<"$out")
  LAB_Q_TTL=$(awk 'NR == 1 || $2 < m { m = $2 } END { if (NR) print m }' <<<"$ans")
  LAB_Q_RDATA=$(awk 'NF { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' <<<"$ans" |
    sort | awk '{ printf "%s%s", (NR > 1 ? " | " : ""), $0 }')
}

# lab_serial NAME ZONE: prints the SOA serial the server answers (empty if none).
lab_serial() {
  lab_dig "$1" +norec +short "$2" SOA 2>/dev/null | awk 'NF >= 7 { print $3; exit }'
}

# lab_resolvers_csv FILE NAME...: writes a dnsprop resolver list (PRODUCT.md
# section 5) naming the given lab servers.
lab_resolvers_csv() {
  local file=$1 n
  shift
  {
    echo "name,address,operator,country"
    for n in "$@"; do echo "$n,$(lab_addr "$n"),lab,ZZ"; done
  } >"$file"
}

# ---- zone files --------------------------------------------------------------
# Zone files handled by the lab functions use one record a line, written as
#     OWNER TTL IN TYPE RDATA
# with owners relative to $ORIGIN ("@" for the apex) and the SOA on one line
# (serial in field 7). lab_zone writes such a file; lab_set_rrset edits one.

# lab_zone FILE ZONE SERIAL TTL [MX-RDATA...]: writes a small zone: SOA (its
# minimum, the negative TTL, is TTL too), NS ns1 with an A record at the lab
# address, the MX records given (default "10 mail.ZONE."), A records for
# mail/mx1/mx2, and an SPF TXT. Add more lines with >> afterwards.
lab_zone() {
  local file=$1 zone=${2%.} serial=$3 ttl=$4 mx
  shift 4
  [ $# -gt 0 ] || set -- "10 mail.$zone."
  {
    echo "\$ORIGIN $zone."
    echo "@ $ttl IN SOA ns1 hostmaster $serial 3600 600 86400 $ttl"
    echo "@ $ttl IN NS ns1"
    echo "ns1 $ttl IN A $LAB_IP"
    for mx in "$@"; do echo "@ $ttl IN MX $mx"; done
    echo "@ $ttl IN TXT \"v=spf1 -all\""
    echo "mail $ttl IN A 192.0.2.25"
    echo "mx1 $ttl IN A 192.0.2.26"
    echo "mx2 $ttl IN A 192.0.2.27"
  } >"$file"
}

# lab__zone_name FILE: the zone of a file, from its $ORIGIN line.
lab__zone_name() {
  awk '$1 == "$ORIGIN" { z = $2; sub(/\.$/, "", z); print z; exit }' "$1"
}

# ---- Knot --------------------------------------------------------------------
# lab_start_auth NAME ZONEFILE...: starts a Knot instance serving each zone file
# (zone name from its $ORIGIN line; files are copied into the instance's folder),
# and waits until it answers every zone's SOA authoritatively.
# It listens on $LAB_IP and a free port, or on LAB_AUTH_LISTEN=IPV4:PORT when
# that is set (e.g. `LAB_AUTH_LISTEN=127.53.0.1:53 lab_start_auth ns1 FILE`, for
# a server found through NS and A records, which carry no port: check
# lab_can_bind first for ports below 1024).
lab_start_auth() {
  local name=$1 dir host=$LAB_IP port f zone conf
  shift
  lab__check_name "$name" || return 1
  [ $# -gt 0 ] || { lab__err "lab_start_auth $name: no zone file"; return 1; }
  dir="$LAB_DIR/$name"
  if [ -n "${LAB_AUTH_LISTEN:-}" ]; then
    host=${LAB_AUTH_LISTEN%:*}
    port=${LAB_AUTH_LISTEN##*:}
    # loopback only: nothing in the lab may listen where others can reach it
    if ! [[ "$host" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ && "$port" =~ ^[0-9]{1,5}$ ]] ||
      [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
      lab__err "lab_start_auth $name: LAB_AUTH_LISTEN '$LAB_AUTH_LISTEN' is not 127.X.Y.Z:PORT"
      return 1
    fi
    if lab__addr_busy "$host" "$port"; then
      lab__err "lab_start_auth $name: something already listens on $host:$port"
      return 1
    fi
  else
    port=$(lab__free_port) || return 1
  fi
  mkdir -p "$dir" || return 1
  conf="$dir/knot.conf"
  # One worker of each kind: enough for a lab, and quick to start and stop.
  # journal-content none and zonefile-sync -1: the zone file is the only truth,
  # so a reload after rewriting it serves exactly the new file.
  cat >"$conf" <<EOF
server:
    rundir: "$dir"
    listen: $host@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$dir/knot.sock"
log:
  - target: stderr
    any: info
database:
    storage: "$dir"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
EOF
  local zones=()
  for f in "$@"; do
    zone=$(lab__zone_name "$f")
    if [ -z "$zone" ]; then
      lab__err "$f: no \$ORIGIN line"
      return 1
    fi
    cp "$f" "$dir/$zone.zone" || return 1
    printf '  - domain: %s\n    file: "%s"\n' "$zone" "$dir/$zone.zone" >>"$conf"
    zones+=("$zone")
  done
  lab__register "$name" knot "$host" "$port" "$conf" "$dir/knotd.log"
  knotd -c "$conf" >"$dir/knotd.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  for zone in "${zones[@]}"; do
    lab__wait_up "$name" lab__auth_answers "$name" "$zone" || return 1
  done
}

# lab__auth_answers NAME ZONE: true when NAME answers ZONE's SOA with AA set.
lab__auth_answers() {
  local out
  out=$(lab_dig "$1" +norec +time=1 "$2" SOA 2>/dev/null)
  grep -q 'status: NOERROR' <<<"$out" && grep -q '^;; flags: qr aa' <<<"$out"
}

# lab_set_zone NAME ZONEFILE: replaces the zone (named by its $ORIGIN) served by
# Knot instance NAME with ZONEFILE, reloads it, and waits until NAME serves the
# new SOA serial. The new serial must differ from the served one.
lab_set_zone() {
  local name=$1 file=$2 zone dir serial i
  [ "${LAB_KIND[$name]:-}" = knot ] || { lab__err "'$name' is not a Knot instance"; return 1; }
  zone=$(lab__zone_name "$file")
  dir="$LAB_DIR/$name"
  [ -f "$dir/$zone.zone" ] || { lab__err "$name does not serve '$zone'"; return 1; }
  serial=$(awk '$4 == "SOA" { print $7; exit }' "$file")
  [ -n "$serial" ] || { lab__err "$file: no one-line SOA record"; return 1; }
  # Replace by rename, so Knot never reads a half-written file.
  cp "$file" "$dir/$zone.zone.new" && mv -f "$dir/$zone.zone.new" "$dir/$zone.zone" || return 1
  knotc -c "${LAB_CONF[$name]}" -b zone-reload "$zone" >>"${LAB_LOG[$name]}" 2>&1 || {
    lab__err "knotc zone-reload $zone on $name failed; log:"
    tail -5 "${LAB_LOG[$name]}" >&2
    return 1
  }
  for i in $(seq 1 $((LAB_TIMEOUT * 10))); do
    [ "$(lab_serial "$name" "$zone")" = "$serial" ] && return 0
    sleep 0.1
  done
  lab__err "$name still does not serve $zone serial $serial; log:"
  tail -5 "${LAB_LOG[$name]}" >&2
  return 1
}

# lab_set_rrset NAME ZONE OWNER TYPE TTL [RDATA...]: in the zone served by Knot
# instance NAME, replaces every OWNER TYPE record (OWNER relative, "@" = apex)
# with the RDATA given (none: delete them), adds one to the SOA serial, reloads
# and waits until the new serial is served.
lab_set_rrset() {
  local name=$1 zone=${2%.} owner=$3 type=$4 ttl=$5 rd cur new
  shift 5
  cur="$LAB_DIR/$name/$zone.zone"
  [ -f "$cur" ] || { lab__err "$name does not serve '$zone'"; return 1; }
  new="$LAB_DIR/$name/$zone.zone.edit"
  {
    awk -v o="$owner" -v t="$type" '
      $4 == "SOA" { $7 = $7 + 1 }
      !($1 == o && $4 == t) { print }' "$cur"
    for rd in "$@"; do echo "$owner $ttl IN $type $rd"; done
  } >"$new" || return 1
  lab_set_zone "$name" "$new"
}

# lab_set_mx NAME ZONE TTL MX-RDATA...: the apex MX set becomes the given
# records, e.g. lab_set_mx auth1 contoso.test 5 "0 mx2.contoso.test."
lab_set_mx() {
  local name=$1 zone=$2 ttl=$3
  shift 3
  lab_set_rrset "$name" "$zone" @ MX "$ttl" "$@"
}

# ---- Unbound -----------------------------------------------------------------
# lab_start_unbound NAME AUTH [OPTION-LINE...]: starts an Unbound resolver whose
# only upstream is the Knot instance AUTH (stub zones for "." and "test.", and
# for every zone AUTH serves at this moment). Each OPTION-LINE is added to its
# server: clause, e.g. "cache-min-ttl: 30", "cache-max-ttl: 2" or
# 'nsid: "ascii_site-a"'. Waits until it answers. It listens on $LAB_IP and a
# free port, or on LAB_UNBOUND_LISTEN=127.X.Y.Z:PORT when that is set, and
# sends its own queries from that address.
lab_start_unbound() {
  local name=$1 auth=$2 dir host=$LAB_IP port conf up opt zf z
  shift 2
  lab__check_name "$name" || return 1
  [ "${LAB_KIND[$auth]:-}" = knot ] || { lab__err "lab_start_unbound $name: '$auth' is not a Knot instance"; return 1; }
  dir="$LAB_DIR/$name"
  mkdir -p "$dir" || return 1
  if [ -n "${LAB_UNBOUND_LISTEN:-}" ]; then
    host=${LAB_UNBOUND_LISTEN%:*}
    port=${LAB_UNBOUND_LISTEN##*:}
    [[ "$host" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ && "$port" =~ ^[0-9]{1,5}$ ]] || {
      lab__err "lab_start_unbound $name: LAB_UNBOUND_LISTEN '$LAB_UNBOUND_LISTEN' is not 127.X.Y.Z:PORT"
      return 1
    }
  else
    port=$(lab__free_port) || return 1
  fi
  up="${LAB_HOST[$auth]}@${LAB_PORT[$auth]}"
  conf="$dir/unbound.conf"
  {
    cat <<EOF
server:
    verbosity: 1
    use-syslog: no
    logfile: ""
    log-time-ascii: yes
    directory: "$dir"
    chroot: ""
    username: ""
    pidfile: "$dir/unbound.pid"
    num-threads: 1
    so-reuseport: no
    interface: $host@$port
    outgoing-interface: $host
    outgoing-port-avoid: 0-32767
    outgoing-range: 64
    num-queries-per-thread: 32
    do-ip4: yes
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    local-zone: "test." nodefault
    qname-minimisation: no
    harden-referral-path: no
    target-fetch-policy: "0 0 0 0 0"
    prefetch: no
    serve-expired: no
    minimal-responses: yes
EOF
    for opt in "$@"; do echo "    $opt"; done
    echo "remote-control:"
    echo "    control-enable: no"
    # Stub zones: "." and "test." keep everything on the lab, and one per zone
    # the authority serves, so that the zone's own NS records (whose addresses
    # carry no port) never replace the stub as the delegation to use.
    for z in . test. $(for zf in "$LAB_DIR/$auth"/*.zone; do basename "$zf" .zone; done); do
      [ "$z" = . ] || z="${z%.}."
      printf 'stub-zone:\n    name: "%s"\n    stub-addr: %s\n' "$z" "$up"
    done
  } >"$conf"
  lab__checkconf unbound-checkconf "$conf" "$dir" || return 1
  lab__register "$name" unbound "$host" "$port" "$conf" "$dir/unbound.log"
  unbound -d -c "$conf" >"$dir/unbound.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  lab__wait_up "$name" lab__answers_locally "$name"
}

# lab__answers_locally NAME: Unbound answers id.server CH TXT itself, without
# asking upstream: proof that it listens.
lab__answers_locally() {
  lab_dig "$1" +time=1 id.server CH TXT 2>/dev/null | grep -q 'status: NOERROR'
}

# ---- ldns-testns and the swallowing server -----------------------------------
# lab_start_testns NAME DATAFILE: starts ldns-testns answering from DATAFILE
# (format: man ldns-testns; use "ADJUST copy_id" in every entry). It listens on
# UDP and TCP on all IPv4 addresses of its port (it cannot bind one address),
# which in loopback mode is why ports are probed. Its address is 127.0.0.1, not
# $LAB_IP: a UDP socket bound to 0.0.0.0 replies from the route's preferred
# source, 127.0.0.1, and a client asking 127.x.y.z would drop that reply as
# coming from the wrong address. A query no entry matches gets no answer at all.
# Waits until both sockets listen.
lab_start_testns() {
  local name=$1 data=$2 dir port
  lab__check_name "$name" || return 1
  [ -r "$data" ] || { lab__err "lab_start_testns $name: cannot read '$data'"; return 1; }
  dir="$LAB_DIR/$name"
  mkdir -p "$dir" || return 1
  port=$(lab__free_port) || return 1
  cp "$data" "$dir/testns.data" || return 1
  lab__register "$name" testns 127.0.0.1 "$port" "$dir/testns.data" "$dir/testns.log"
  ldns-testns -p "$port" "$dir/testns.data" >"$dir/testns.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  lab__wait_up "$name" lab__testns_up "$name"
}

# lab__testns_up NAME: ldns-testns prints "Listening" once both sockets are bound.
lab__testns_up() {
  grep -q '^Listening on port' "${LAB_LOG[$1]}" && lab__listening "${LAB_PORT[$1]}"
}

# lab_start_swallow NAME: a server that reads every query (UDP, and TCP
# connections are accepted) and never answers: ldns-testns with no entries.
lab_start_swallow() {
  local data="$LAB_DIR/swallow-$1.data"
  echo "; no entries: every query goes unanswered" >"$data"
  lab_start_testns "$1" "$data"
}

# lab_testns_entry [--udp|--tcp] QNAME QTYPE RCODE FLAGS [ANSWER-RR...]:
# prints one ldns-testns entry matching QNAME QTYPE (over that transport only,
# or either) whose reply has that rcode, header flags (besides QR, e.g. "AA" or
# "AA TC") and answer records (zone-file lines, absolute names).
lab_testns_entry() {
  local transport=""
  case "$1" in --udp) transport=" UDP"; shift ;; --tcp) transport=" TCP"; shift ;; esac
  local qname=$1 qtype=$2 rcode=$3 flags=$4 rr
  shift 4
  echo "ENTRY_BEGIN"
  echo "MATCH opcode qtype qname$transport"
  echo "ADJUST copy_id"
  echo "REPLY QR $flags $rcode"
  echo "SECTION QUESTION"
  echo "$qname IN $qtype"
  echo "SECTION ANSWER"
  for rr in "$@"; do echo "$rr"; done
  echo "ENTRY_END"
}

# ---- resolvers nobody here wrote ---------------------------------------------
# Each forwards only to the Knot instance AUTH (the zones AUTH serves at start),
# listens on an address of its own (lab_new_ip) and a free port, sends its own
# queries from that address (so that lab_cut can take its path away), and is
# waited for until it answers a zone of AUTH. Namespace mode only.

# lab__auth_zones AUTH: the zones a Knot instance serves, one a line, no final dot.
lab__auth_zones() {
  local zf
  for zf in "$LAB_DIR/$1"/*.zone; do basename "$zf" .zone; done
}

# lab__resolves NAME ZONE: true when the resolver answers ZONE's SOA (NOERROR).
lab__resolves() {
  lab_dig "$1" +time=1 "$2" SOA 2>/dev/null | grep -q 'status: NOERROR'
}

# lab__wait_resolves NAME AUTH: waits until NAME resolves every zone of AUTH.
lab__wait_resolves() {
  local z
  for z in $(lab__auth_zones "$2"); do
    lab__wait_up "$1" lab__resolves "$1" "$z" || return 1
  done
}

# lab__need_auth FUNC NAME AUTH: checks the name and that AUTH is a Knot.
lab__need_auth() {
  lab__check_name "$2" || return 1
  [ "${LAB_KIND[$3]:-}" = knot ] || { lab__err "$1 $2: '$3' is not a Knot instance"; return 1; }
}

# lab__resolver_room FUNC NAME AUTH WHAT PROGRAM PACKAGE: what every resolver
# in front of AUTH needs before its configuration is written: a good name, a
# Knot as AUTH, the namespace, PROGRAM on the PATH (else: install PACKAGE),
# its folder, an address and a port. Sets the caller's dir, ip and port.
lab__resolver_room() {
  lab__need_auth "$1" "$2" "$3" || return 1
  lab_need_netns "$4 ($2)" || return 1
  command -v "$5" >/dev/null 2>&1 || { lab__err "$5 not found (package $6)"; return 1; }
  dir="$LAB_DIR/$2"
  mkdir -p "$dir" || return 1
  ip=$(lab_new_ip) || return 1
  port=$(lab__free_port) || return 1
}

# lab_start_bind NAME AUTH [OPTION-LINE...]: BIND 9 (named) as a recursive
# resolver forwarding (forward only) to AUTH, with NSID "NAME" (server-id), no
# DNSSEC validation, no rndc. Each OPTION-LINE goes into options { }, e.g. the
# serve-stale set of lab_bind_serve_stale. named logs to $T/lab/NAME/named.log.
lab_start_bind() {
  local name=$1 auth=$2 dir ip port conf opt
  shift 2
  lab__resolver_room lab_start_bind "$name" "$auth" "BIND" named bind9 || return 1
  conf="$dir/named.conf"
  {
    cat <<EOF
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    managed-keys-directory "$dir";
    listen-on port $port { $ip; };
    listen-on-v6 { none; };
    query-source address $ip;
    notify-source $ip;
    transfer-source $ip;
    recursion yes;
    allow-query { any; };
    allow-recursion { any; };
    forward only;
    forwarders { ${LAB_HOST[$auth]} port ${LAB_PORT[$auth]}; };
    dnssec-validation no;
    server-id "$name";
    notify no;
    minimal-responses yes;
    qname-minimization off;
    prefetch 0;
EOF
    for opt in "$@"; do echo "    $opt"; done
    echo "};"
    echo "controls { };"
  } >"$conf"
  lab__checkconf named-checkconf "$conf" "$dir" || return 1
  lab__register "$name" bind "$ip" "$port" "$conf" "$dir/named.log"
  # -g: foreground, log to stderr; -n 1: one worker; -4: IPv4 only
  named -g -4 -n 1 -c "$conf" >"$dir/named.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  lab__wait_resolves "$name" "$auth"
}

# lab_bind_serve_stale MAX-STALE: the options of lab_start_bind that make it
# serve stale (RFC 8767): keep expired records for MAX-STALE seconds, answer
# from them at once (stale-answer-client-timeout 0) when a refresh does not
# come, with TTL stale-answer-ttl (30 s by default) and EDE 3; after a failed
# refresh, stale answers are given for stale-refresh-time (30 s) before the
# next try. Print them into an array: opts=($(...)) does not keep the spaces,
# so use: mapfile -t opts < <(lab_bind_serve_stale 300).
lab_bind_serve_stale() {
  printf '%s\n' "stale-answer-enable yes;" "stale-cache-enable yes;" "max-stale-ttl $1;" \
    "stale-answer-client-timeout 0;"
}

# lab_start_pdns NAME AUTH [SETTING...]: PowerDNS Recursor forwarding every
# zone of AUTH to it (forward-zones), no DNSSEC, no root hints it can reach.
# Each SETTING is a recursor.conf line, e.g. "max-cache-ttl=5".
lab_start_pdns() {
  local name=$1 auth=$2 dir ip port conf opt fz="" z
  shift 2
  lab__resolver_room lab_start_pdns "$name" "$auth" "PowerDNS Recursor" pdns_recursor pdns-recursor || return 1
  for z in $(lab__auth_zones "$auth"); do
    fz="$fz${fz:+;}$z=${LAB_HOST[$auth]}:${LAB_PORT[$auth]}"
  done
  # the root hints name a root server at an address that is not there
  printf '.  3600000 IN NS a.root-servers.lab.\na.root-servers.lab. 3600000 IN A 127.255.255.254\n' >"$dir/root.hints"
  conf="$dir/recursor.conf"
  {
    echo "config-dir=$dir"
    echo "socket-dir=$dir"
    echo "local-address=$ip"
    echo "local-port=$port"
    echo "query-local-address=$ip"
    echo "allow-from=127.0.0.0/8"
    echo "forward-zones=$fz"
    echo "dont-query="
    echo "hint-file=$dir/root.hints"
    echo "dnssec=off"
    echo "daemon=no"
    echo "write-pid=no"
    echo "threads=1"
    echo "pdns-distributes-queries=no"
    echo "disable-syslog=yes"
    echo "log-timestamp=yes"
    echo "loglevel=4"
    echo "quiet=yes"
    echo "server-id=$name"
    for opt in "$@"; do echo "$opt"; done
  } >"$conf"
  lab__register "$name" pdns "$ip" "$port" "$conf" "$dir/recursor.log"
  pdns_recursor --config-dir="$dir" >"$dir/recursor.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  lab__wait_resolves "$name" "$auth"
}

# lab_start_kresd NAME AUTH [LUA-LINE...]: Knot Resolver (kresd) stubbing every
# zone of AUTH to it (policy.STUB), refusing everything else, NSID "NAME", no
# trust anchor. Each LUA-LINE is added to its config, e.g. "cache.max_ttl(5)".
lab_start_kresd() {
  local name=$1 auth=$2 dir ip port conf opt z
  shift 2
  lab__resolver_room lab_start_kresd "$name" "$auth" "Knot Resolver" kresd knot-resolver || return 1
  conf="$dir/kresd.conf"
  {
    echo "trust_anchors.remove('.')"
    echo "net.ipv6 = false"
    echo "net.listen('$ip', $port, { kind = 'dns' })"
    echo "net.outgoing_v4('$ip')"
    echo "cache.open(10 * MB, 'lmdb://$dir/cache')"
    echo "modules.load('nsid')"
    echo "nsid.name('$name')"
    for z in $(lab__auth_zones "$auth"); do
      echo "policy.add(policy.suffix(policy.STUB({'${LAB_HOST[$auth]}@${LAB_PORT[$auth]}'}), {todname('$z.')}))"
    done
    echo "policy.add(policy.all(policy.REFUSE))"
    for opt in "$@"; do echo "$opt"; done
  } >"$conf"
  lab__register "$name" kresd "$ip" "$port" "$conf" "$dir/kresd.log"
  kresd -n -c "$conf" "$dir" >"$dir/kresd.log" 2>&1 </dev/null &
  LAB_PID[$name]=$!
  lab__wait_resolves "$name" "$auth"
}

# ---- nftables: a pool of caches behind one address, and cut paths ------------
# One table of the lab's own (ip lab) in the namespace: a nat chain for the
# pools and a filter chain for the cuts. Namespace mode only.

lab__nft_init() {
  [ -n "${LAB_NFT:-}" ] && return 0
  command -v nft >/dev/null 2>&1 || { lab__err "nft not found (package nftables)"; return 1; }
  nft -f - <<EOF || { lab__err "nftables: cannot make the lab's table"; return 1; }
table ip lab {
    chain pools { type nat hook output priority -100; policy accept; }
    chain cuts { type filter hook output priority 0; policy accept; }
}
EOF
  LAB_NFT=1
}

# lab_start_pool NAME AUTH N [OPTION-LINE...]: N Unbound caches (lab servers
# NAME-1 ... NAME-N, each with NSID "NAME-i" and the OPTION-LINEs, each on an
# address of its own) behind one address, lab server NAME: every new flow to
# it (a new source port) goes to one of them at random (nftables DNAT,
# numgen random), as an anycast address or a load balancer does. Ask NAME-i
# to reach one cache directly. Stopping NAME stops nothing: its caches are
# lab servers of their own.
lab_start_pool() {
  local name=$1 auth=$2 n=$3 ip port i mip map=""
  shift 3
  lab__check_name "$name" || return 1
  lab_need_netns "a pool ($name)" || return 1
  lab__nft_init || return 1
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || { lab__err "lab_start_pool $name: bad count '$n'"; return 1; }
  ip=$(lab_new_ip) || return 1
  port=$(lab__free_port) || return 1
  for i in $(seq 1 "$n"); do
    mip=$(lab_new_ip) || return 1
    LAB_UNBOUND_LISTEN="$mip:$port" lab_start_unbound "$name-$i" "$auth" "nsid: \"ascii_$name-$i\"" "$@" || return 1
    map="$map${map:+, }$((i - 1)) : $mip"
  done
  nft add rule ip lab pools ip daddr "$ip" udp dport "$port" dnat to numgen random mod "$n" map "{ $map }" &&
    nft add rule ip lab pools ip daddr "$ip" tcp dport "$port" dnat to numgen random mod "$n" map "{ $map }" || {
    lab__err "lab_start_pool $name: nftables refused the DNAT rules"
    return 1
  }
  lab__register "$name" pool "$ip" "$port" "" "/dev/null"
}

# lab_cut NAME AUTH: drops every packet from resolver NAME's own address to the
# Knot instance AUTH (UDP and TCP): the authority is gone for NAME only.
# lab_uncut NAME AUTH gives the path back.
lab_cut() {
  lab__need "$1" && lab__need "$2" || return 1
  lab_need_netns "lab_cut" || return 1
  lab__nft_init || return 1
  local p
  for p in udp tcp; do
    nft add rule ip lab cuts ip saddr "${LAB_SRC[$1]}" ip daddr "${LAB_HOST[$2]}" \
      $p dport "${LAB_PORT[$2]}" drop comment "\"cut-$1-$2\"" || return 1
  done
}

lab_uncut() {
  lab__need "$1" && lab__need "$2" || return 1
  local h
  for h in $(nft -a list chain ip lab cuts 2>/dev/null | awk -v c="\"cut-$1-$2\"" '$0 ~ c { print $NF }'); do
    nft delete rule ip lab cuts handle "$h" || return 1
  done
}

# ---- stopping ----------------------------------------------------------------
# lab_stop NAME: stops one server by PID: SIGTERM, up to 5 s, then SIGKILL.
lab_stop() {
  local name=$1 pid i
  pid=${LAB_PID[$name]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    lab__err "$name (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "LAB_PID[$name]"
  return 0
}

# lab_show: one line per server: name, kind, address, pid.
lab_show() {
  local n
  for n in "${LAB_NAMES[@]}"; do
    if [ "${LAB_KIND[$n]}" = pool ]; then
      printf '%-12s %-8s %s DNAT to %s-1...\n' "$n" pool "$(lab_addr "$n")" "$n"
    else
      printf '%-12s %-8s %s pid %s\n' "$n" "${LAB_KIND[$n]}" "$(lab_addr "$n")" "${LAB_PID[$n]:-stopped}"
    fi
  done
}

# lab_keep: with KEEP=1, prints the lab and waits for Enter (from the terminal)
# or for SIGINT/SIGTERM/SIGHUP before going on; the signal only ends the wait.
lab_keep() {
  [ "${KEEP:-0}" = 1 ] || return 0
  [ -z "${LAB_KEPT:-}" ] || return 0
  LAB_KEPT=1
  {
    echo "lab ($LAB_MODE mode) is up; scratch folder $T"
    lab_show
    if [ "$LAB_MODE" = netns ]; then
      echo "it runs in a network namespace: enter it with"
      echo "  nsenter --target $$ --user --net --preserve-credentials dig @ADDR -p PORT NAME"
      echo "(or run with LAB_NETNS=no to use the host's loopback)"
    fi
    echo "press Enter (or Ctrl-C) to stop the lab"
  } >&2
  LAB_KEEP_DONE=""
  trap 'LAB_KEEP_DONE=1' INT TERM HUP
  while [ -z "$LAB_KEEP_DONE" ]; do
    if [ -r /dev/tty ] && { : </dev/tty; } 2>/dev/null; then
      read -r -t 1 _ </dev/tty && break
    else
      sleep 1
    fi
  done
}

# lab_stop_all: stops every running server, the last started first. Signals are
# ignored meanwhile: an "exit" from a signal trap inside the EXIT trap would end
# the shell halfway through and leave servers running.
lab_stop_all() {
  local i
  lab_keep
  trap '' INT TERM HUP
  for ((i = ${#LAB_NAMES[@]} - 1; i >= 0; i--)); do
    lab_stop "${LAB_NAMES[$i]}"
  done
}
on_exit lab_stop_all

# lab_stop_all_checked: lab_stop_all, then a failed check (lib.sh's fail) for
# each server process still alive after it (a pool is an address, no process).
lab_stop_all_checked() {
  local n p pids=""
  for n in "${LAB_NAMES[@]}"; do
    [ "${LAB_KIND[$n]}" = pool ] && continue
    pids="$pids $(lab_pid "$n")"
  done
  lab_stop_all
  for p in $pids; do
    kill -0 "$p" 2>/dev/null && fail "pid $p still alive after lab_stop_all"
  done
  return 0
}
