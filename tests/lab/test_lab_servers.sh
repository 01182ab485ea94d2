#!/usr/bin/env bash
# The lab itself, proven with dig: every kind of server the lab starts behaves as
# scripted (Knot authoritative and reloadable, Unbound resolvers caching with
# their TTL settings, ldns-testns misbehaving on purpose, a server that never
# answers), and nothing the resolvers send leaves the lab address.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"

echo "lab mode: $LAB_MODE, address $LAB_IP"
started=$SECONDS
TTL=6 # every record of the test zone; long enough to see caching, short for speed
OLD="10 mail.contoso.test."
NEW="0 mx2.contoso.test."

# ---- start everything ----
lab_zone "$T/contoso.zone" contoso.test 100 "$TTL" "$OLD"
lab_zone "$T/fabrikam.zone" fabrikam.test 7 60 "10 mx1.fabrikam.test."
lab_zone "$T/contoso2.zone" contoso.test 200 "$TTL" "$OLD"
lab_start_auth auth1 "$T/contoso.zone" "$T/fabrikam.zone" || exit 1
lab_start_auth auth2 "$T/contoso2.zone" || exit 1
# The plain resolver logs every query it sends (verbosity 3), for the
# nothing-leaves-the-lab check below.
lab_start_unbound plain auth1 "verbosity: 3" || exit 1
lab_start_unbound mincache auth1 "cache-min-ttl: 30" || exit 1
lab_start_unbound maxcache auth1 "cache-max-ttl: 2" || exit 1

lab_testns_entry contoso.test. MX SERVFAIL "" >"$T/servfail.data"
lab_testns_entry contoso.test. SOA SERVFAIL "" >>"$T/servfail.data"
lab_start_testns servfail "$T/servfail.data" || exit 1

lab_testns_entry contoso.test. MX NOERROR AA \
  "contoso.test. 300 IN MX 10 mail.contoso.test." \
  "contoso.test. 300 IN MX 0 contoso-test.mail.protection.outlook.com." >"$T/twomx.data"
lab_start_testns twomx "$T/twomx.data" || exit 1

{
  lab_testns_entry --udp contoso.test. MX NOERROR "AA TC"
  lab_testns_entry --tcp contoso.test. MX NOERROR AA "contoso.test. 300 IN MX $NEW"
} >"$T/tc.data"
lab_start_testns tc "$T/tc.data" || exit 1

{
  lab_testns_entry contoso.test. MX NOERROR AA "contoso.test. 300 IN MX 10 =cmd|calc!a0.contoso.test."
  lab_testns_entry www.contoso.test. CNAME NOERROR AA 'www.contoso.test. 300 IN CNAME \@sum.contoso.test.'
} >"$T/formula.data"
lab_start_testns formula "$T/formula.data" || exit 1

lab_start_swallow swallow || exit 1
echo "lab started in $((SECONDS - started)) s:"
lab_show

# ---- Knot: authoritative answers, two instances with different serials ----
lab_query auth1 contoso.test MX +norec
[ "$LAB_Q_STATUS" = NOERROR ] || fail "auth1 MX status '$LAB_Q_STATUS'"
case " $LAB_Q_FLAGS " in *" aa "*) ok "auth1 answers AA" ;; *) fail "auth1 flags '$LAB_Q_FLAGS' lack aa" ;; esac
[ "$LAB_Q_RDATA" = "$OLD" ] || fail "auth1 MX '$LAB_Q_RDATA', want '$OLD'"
[ "$LAB_Q_TTL" = "$TTL" ] || fail "auth1 MX TTL '$LAB_Q_TTL', want $TTL"
lab_query auth1 fabrikam.test MX +norec
[ "$LAB_Q_RDATA" = "10 mx1.fabrikam.test." ] || fail "auth1 second zone MX '$LAB_Q_RDATA'"
lab_query auth1 example.com MX +norec
[ "$LAB_Q_STATUS" = REFUSED ] || fail "auth1 answers a zone it lacks with '$LAB_Q_STATUS', want REFUSED"
s1=$(lab_serial auth1 contoso.test)
s2=$(lab_serial auth2 contoso.test)
if [ "$s1" = 100 ] && [ "$s2" = 200 ]; then ok "auth1 serial $s1, auth2 serial $s2"; else
  fail "serials auth1 '$s1' auth2 '$s2', want 100 and 200"
fi

# ---- Unbound: recursion from Knot, caching, TTL floors and ceilings ----
t0=$SECONDS
declare -A first_ttl
for r in plain mincache maxcache; do
  lab_query "$r" contoso.test MX
  [ "$LAB_Q_STATUS" = NOERROR ] || fail "$r MX status '$LAB_Q_STATUS'"
  [ "$LAB_Q_RDATA" = "$OLD" ] || fail "$r MX '$LAB_Q_RDATA', want '$OLD'"
  case " $LAB_Q_FLAGS " in
    *" aa "*) fail "$r answers AA: it should be recursing, not serving" ;;
    *" ra "*) ok "$r answers by recursion: $LAB_Q_RDATA ttl $LAB_Q_TTL" ;;
    *) fail "$r flags '$LAB_Q_FLAGS' lack ra" ;;
  esac
  first_ttl[$r]=${LAB_Q_TTL:-0}
done
[ "${first_ttl[plain]}" -le "$TTL" ] && [ "${first_ttl[plain]}" -ge $((TTL - 1)) ] ||
  fail "plain first TTL ${first_ttl[plain]}, want about $TTL"
[ "${first_ttl[mincache]}" -ge 30 ] || fail "mincache TTL ${first_ttl[mincache]} < its cache-min-ttl 30"
[ "${first_ttl[maxcache]}" -le 2 ] || fail "maxcache TTL ${first_ttl[maxcache]} > its cache-max-ttl 2"

sleep 1.5
for r in plain mincache; do
  lab_query "$r" contoso.test MX
  if [ -n "$LAB_Q_TTL" ] && [ "$LAB_Q_TTL" -lt "${first_ttl[$r]}" ]; then
    ok "$r serves from cache: TTL ${first_ttl[$r]} -> $LAB_Q_TTL"
  else
    fail "$r TTL did not count down: ${first_ttl[$r]} -> '$LAB_Q_TTL'"
  fi
done
lab_query mincache contoso.test MX
[ "${LAB_Q_TTL:-0}" -ge 25 ] || fail "mincache TTL ${LAB_Q_TTL:-none} fell below the floor too fast"

# ---- move the MX: Knot at once, resolvers as their caches expire ----
lab_set_mx auth1 contoso.test "$TTL" "$NEW" || fail "lab_set_mx failed"
lab_query auth1 contoso.test MX +norec
[ "$LAB_Q_RDATA" = "$NEW" ] && ok "auth1 serves the new MX at once" ||
  fail "auth1 after reload: '$LAB_Q_RDATA', want '$NEW'"
[ "$(lab_serial auth1 contoso.test)" = 101 ] || fail "auth1 serial not bumped to 101"
lab_query plain contoso.test MX
[ "$LAB_Q_RDATA" = "$OLD" ] && ok "plain still serves the cached old MX" ||
  fail "plain after the change: '$LAB_Q_RDATA', want the cached '$OLD'"

# maxcache holds answers 2 s at most: 3 s after its fetch it must have the new MX,
# while plain (TTL 6 from the same moment) still has the old one.
while [ $((SECONDS - t0)) -lt 4 ]; do sleep 0.2; done
lab_query maxcache contoso.test MX
[ "$LAB_Q_RDATA" = "$NEW" ] && ok "maxcache refetched after its cache-max-ttl" ||
  fail "maxcache at +$((SECONDS - t0)) s: '$LAB_Q_RDATA', want '$NEW'"
lab_query plain contoso.test MX
[ "$LAB_Q_RDATA" = "$OLD" ] && ok "plain still old with TTL $LAB_Q_TTL left" ||
  fail "plain at +$((SECONDS - t0)) s: '$LAB_Q_RDATA', want the cached '$OLD'"

# plain must switch when its TTL runs out: not before, and not much after.
switched=""
while [ $((SECONDS - t0)) -le $((TTL + 3)) ]; do
  lab_query plain contoso.test MX
  if [ "$LAB_Q_RDATA" = "$NEW" ]; then switched=$((SECONDS - t0)); break; fi
  sleep 0.25
done
if [ -n "$switched" ] && [ "$switched" -ge $((TTL - 2)) ]; then
  ok "plain switched to the new MX at +$switched s (TTL $TTL)"
else
  fail "plain switch at '+${switched:-never}' s, want about +$TTL s"
fi
lab_query mincache contoso.test MX
[ "$LAB_Q_RDATA" = "$OLD" ] && ok "mincache still serves the old MX (TTL $LAB_Q_TTL left)" ||
  fail "mincache: '$LAB_Q_RDATA', want the old MX held by cache-min-ttl"

# ---- ldns-testns servers ----
lab_query servfail contoso.test MX +norec
[ "$LAB_Q_STATUS" = SERVFAIL ] && ok "servfail answers SERVFAIL" || fail "servfail status '$LAB_Q_STATUS'"

lab_query twomx contoso.test MX +norec
want="0 contoso-test.mail.protection.outlook.com. | 10 mail.contoso.test."
[ "$LAB_Q_RDATA" = "$want" ] && ok "twomx serves two MX" || fail "twomx: '$LAB_Q_RDATA', want '$want'"

lab_query tc contoso.test MX +norec +ignore
case " $LAB_Q_FLAGS " in
  *" tc "*) [ -z "$LAB_Q_RDATA" ] && ok "tc: truncated, empty UDP answer" || fail "tc: UDP answer not empty" ;;
  *) fail "tc: UDP flags '$LAB_Q_FLAGS' lack tc" ;;
esac
lab_query tc contoso.test MX +norec
[ "$LAB_Q_RDATA" = "$NEW" ] && ok "tc: dig retried over TCP and got the answer" ||
  fail "tc: answer after TCP retry '$LAB_Q_RDATA'"
lab_query tc contoso.test MX +norec +tcp
[ "$LAB_Q_RDATA" = "$NEW" ] || fail "tc: TCP answer '$LAB_Q_RDATA'"

lab_query formula contoso.test MX +norec
[ "$LAB_Q_RDATA" = "10 =cmd|calc!a0.contoso.test." ] && ok "formula MX target starts with =" ||
  fail "formula MX '$LAB_Q_RDATA'"
lab_query formula www.contoso.test CNAME +norec
# dig escapes the '@' of a label in presentation form.
[ "$LAB_Q_RDATA" = '\@sum.contoso.test.' ] && ok "formula CNAME target starts with @" ||
  fail "formula CNAME '$LAB_Q_RDATA'"

before=$SECONDS
lab_query swallow contoso.test MX +norec +time=1
[ "$LAB_Q_RC" = 9 ] && [ -z "$LAB_Q_STATUS" ] && ok "swallow never answers over UDP" ||
  fail "swallow answered over UDP: rc $LAB_Q_RC status '$LAB_Q_STATUS'"
lab_query swallow contoso.test MX +norec +time=1 +tcp
[ "$LAB_Q_RC" = 9 ] && [ -z "$LAB_Q_STATUS" ] && ok "swallow never answers over TCP" ||
  fail "swallow answered over TCP: rc $LAB_Q_RC status '$LAB_Q_STATUS'"
[ $((SECONDS - before)) -le 4 ] || fail "swallow queries took $((SECONDS - before)) s"
kill -0 "$(lab_pid swallow)" || fail "swallow died"

# ---- nothing leaves the lab ----
# A name outside the lab: the resolver may only ask the lab's Knot (which
# refuses it), so it fails fast with SERVFAIL.
lab_query plain example.com A
[ "$LAB_Q_STATUS" = SERVFAIL ] || fail "plain: example.com status '$LAB_Q_STATUS', want SERVFAIL"
# The zone's own NS (ns1, an address without a port) must not replace the stub:
# after the resolver has cached it, queries still go to the lab's Knot.
lab_query plain contoso.test NS
[ "$LAB_Q_RDATA" = "ns1.contoso.test." ] || fail "plain NS '$LAB_Q_RDATA'"
lab_query plain ns1.contoso.test A
[ "$LAB_Q_RDATA" = "$LAB_IP" ] || fail "plain ns1 A '$LAB_Q_RDATA'"
lab_query plain mail.contoso.test A
[ "$LAB_Q_RDATA" = "192.0.2.25" ] && ok "plain still asks the stub after caching the zone's NS" ||
  fail "plain after caching NS: mail A '$LAB_Q_RDATA' status '$LAB_Q_STATUS'"
targets=$(sed -n 's/.*sending to target: <[^>]*> \([^#]*\)#\([0-9]*\).*/\1:\2/p' \
  "$LAB_DIR/plain/unbound.log" | sort -u)
if [ "$targets" = "$(lab_addr auth1)" ]; then
  ok "plain sent queries to $(lab_addr auth1) only"
else
  fail "plain sent queries to: $(echo $targets)"
fi
for r in plain mincache maxcache; do
  if grep -Eq 'error:|warning:' "$LAB_DIR/$r/unbound.log"; then
    fail "$r logged errors:"
    grep -E 'error:|warning:' "$LAB_DIR/$r/unbound.log" | head -5 >&2
  fi
done
if [ "$LAB_MODE" = netns ]; then
  links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
  [ "$links" = "lo " ] && ok "network namespace holds lo only" || fail "namespace links: $links"
fi

# ---- stop: every server by PID ----
lab_stop_all_checked
echo "lab test took $((SECONDS - started)) s"
finish
