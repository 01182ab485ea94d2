#!/usr/bin/env bash
# The lab's resolvers that nobody here wrote, proven with dig: BIND 9,
# PowerDNS Recursor and Knot Resolver each start, resolve the lab's zone
# through its Knot only, and return their NSID; a pool of Unbound caches
# behind one address spreads new flows over its caches (their NSIDs differ);
# lab_cut takes one resolver's path to Knot away and lab_uncut gives it back;
# every server stops by PID. Namespace mode only (skipped on the host's
# loopback: these resolvers and nftables must never touch the host's network).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"

[ "$LAB_MODE" = netns ] || skip "needs the lab's network namespace (unshare -rn)"
started=$SECONDS
OLD="10 mail.contoso.test."
lab_zone "$T/contoso.zone" contoso.test 1 60 "$OLD"
lab_start_auth auth "$T/contoso.zone" || exit 1
mapfile -t stale_opts < <(lab_bind_serve_stale 300)
lab_start_bind bind auth "${stale_opts[@]}" || exit 1
lab_start_pdns pdns auth || exit 1
lab_start_kresd kres auth || exit 1
lab_start_pool pool auth 3 || exit 1
lab_show

# ---- each answers, through Knot, with its NSID ----
# (a resolver's first question for a name can take longer than lab_dig's one
# try of 2 s on a busy machine: Knot Resolver once did; what must answer gets
# three tries of 4 s)
nsid() { lab_dig "$1" +tries=3 +time=4 +nsid "$2" "$3" 2>/dev/null | sed -n 's/^; NSID: .*("\(.*\)")$/\1/p'; }
for r in bind pdns kres pool-1 pool-2 pool-3; do
  lab_query "$r" contoso.test MX +tries=3 +time=4
  [ "$LAB_Q_STATUS" = NOERROR ] && [ "$LAB_Q_RDATA" = "$OLD" ] && ok "$r answers the MX" ||
    fail "$r: status '$LAB_Q_STATUS', MX '$LAB_Q_RDATA'"
  [[ "$LAB_Q_FLAGS" == *ra* ]] || fail "$r: no RA in '$LAB_Q_FLAGS'"
  n=$(nsid "$r" contoso.test MX)
  [ "$n" = "$r" ] && ok "$r: NSID $n" || fail "$r: NSID '$n', want '$r'"
done
# anything outside the lab's zones is refused or fails: no way out
for r in bind pdns kres; do
  lab_query "$r" example.com A
  [ -z "$LAB_Q_RDATA" ] || fail "$r resolved example.com: '$LAB_Q_RDATA'"
done

# ---- the pool: one address, new flows on any cache ----
declare -A seen=()
for i in $(seq 1 30); do
  n=$(nsid pool contoso.test MX)
  [ -n "$n" ] && seen[$n]=1
done
sites=$(printf '%s\n' "${!seen[@]}" | sort | tr '\n' ' ')
[ "$sites" = "pool-1 pool-2 pool-3 " ] && ok "30 flows to the pool reached $sites" ||
  fail "30 flows to the pool reached '$sites', want all three caches"

# ---- a cut path: BIND cannot reach Knot, then can again ----
lab_cut bind auth || exit 1
lab_query bind mail.contoso.test A +time=4
[ "$LAB_Q_STATUS" != NOERROR ] && ok "cut: bind cannot resolve a name it has not cached (${LAB_Q_STATUS:-no answer})" ||
  fail "cut: bind still resolved mail.contoso.test: '$LAB_Q_RDATA'"
lab_query pdns mail.contoso.test A +tries=3 +time=4
[ "$LAB_Q_RDATA" = 192.0.2.25 ] && ok "cut: pdns's path is untouched" || fail "cut: pdns got '$LAB_Q_RDATA'"
lab_uncut bind auth || exit 1
[ -z "$(nft list chain ip lab cuts | grep drop)" ] || fail "uncut left rules behind"
ok_back=""
for i in $(seq 1 20); do
  lab_query bind mx1.contoso.test A
  [ "$LAB_Q_RDATA" = 192.0.2.26 ] && { ok_back=1; break; }
  sleep 0.5
done
[ -n "$ok_back" ] && ok "uncut: bind resolves again" || fail "uncut: bind still cannot resolve: '$LAB_Q_STATUS'"

# ---- stop: every server by PID ----
lab_stop_all_checked
echo "lab resolvers test took $((SECONDS - started)) s"
finish
