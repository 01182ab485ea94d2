#!/usr/bin/env bash
# Makes the data folders of tests/data/v0.1-folder-*/ with an OLD dnsprop
# (the 17-column log, .state version 1, the 5-column settings.csv), against
# the loopback lab (tests/lab/lab.sh: Knot and Unbound inside `unshare -rn`).
# It is not a test: it was run once, by hand, and its output committed; see
# tests/data/README.md for the exact commands. Usage:
#     DNSPROP=/tmp/old/build/dnsprop OUT=/path/to/tests/data \
#       bash tests/data/make-v0.1-folders.sh
set -u
: "${OUT:?OUT must name the folder to write v0.1-folder-*/ into}"
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab/lab.sh"

TTL=5
# contoso.test: a plain domain whose MX moves; its TXT set has quotes, a
# comma, a formula-like text and a non-ASCII byte, to exercise the quoting.
lab_zone "$T/contoso.zone" contoso.test 1 "$TTL" "10 mail.contoso.test."
cat >>"$T/contoso.zone" <<'Z'
@ 5 IN TXT "hello, world" "say \"hi\""
@ 5 IN TXT "=1+1" "caf\233"
Z
# fabrikam.test: moves to Microsoft 365 (--profile m365 in the domains file);
# it has no autodiscover, DKIM or DMARC names (nxdomain rows), and no AAAA
# anywhere (nodata rows).
lab_zone "$T/fabrikam.zone" fabrikam.test 1 "$TTL" "10 mail.fabrikam.test."
# an autodiscover CNAME whose target starts with "=": a formula in the answer
# column (written with a leading '); it moves to autodiscover.outlook.com.,
# which the lab cannot resolve (servfail rows)
echo "autodiscover 5 IN CNAME \\=x.fabrikam.test." >>"$T/fabrikam.zone"
lab_start_auth auth "$T/contoso.zone" "$T/fabrikam.zone" || exit 1
lab_start_unbound fast auth "cache-max-ttl: 2" || exit 1
lab_start_unbound slow auth "cache-min-ttl: 9" || exit 1
lab_start_swallow gone || exit 1
{
  echo "name,address,operator,country"
  echo "fast,$(lab_addr fast),lab,ZZ"
  echo "slow_cache,$(lab_addr slow),\"lab, slow\",ZZ"
  echo "gone,$(lab_addr gone),lab,ZZ"
} >"$T/resolvers.csv"
printf 'domain,profile\ncontoso.test\nfabrikam.test,m365\n' >"$T/domains.csv"

# ---- folder 1: two domains, an MX move in the middle, a timeout resolver ----
D1="$OUT/v0.1-folder-move"
rm -rf "$D1"
c1() {
  "$DNSPROP" check --domains "$T/domains.csv" --resolvers "$T/resolvers.csv" \
    --authority "$(lab_addr auth)" --checks mx,txt,m365 --vantage lab \
    --timeout 500ms --tries 1 --dir "$D1" -q
  echo "check exit $?"
}
c1
sleep 1
c1
lab_set_mx auth contoso.test "$TTL" "0 mx2.contoso.test." || exit 1
lab_set_mx auth fabrikam.test "$TTL" "0 fabrikam-test.mail.protection.outlook.com." || exit 1
lab_set_rrset auth fabrikam.test autodiscover CNAME "$TTL" "autodiscover.outlook.com." || exit 1
for i in 1 2; do
  sleep 2
  c1
done

# ---- folder 2: one domain, watch with --single-mx, --since and --window -----
D2="$OUT/v0.1-folder-watch"
rm -rf "$D2"
since=$(date -u -d '-10 min' '+%Y-%m-%d %H:%M:%S')
# the caches hold two MX for up to 9 s (slow) when watch starts: it sees
# them stale, then converged
lab_set_mx auth contoso.test "$TTL" "0 mx2.contoso.test." "10 mx1.contoso.test." || exit 1
sleep 10 # what folder 1 left in the caches expires
for r in fast slow; do lab_dig "$r" +short contoso.test MX >/dev/null; done
lab_set_mx auth contoso.test "$TTL" "0 mx2.contoso.test." || exit 1
"$DNSPROP" watch contoso.test --resolvers "$(lab_addr fast),$(lab_addr slow)" \
  --authority "$(lab_addr auth)" --checks mx,ns,soa --single-mx --since "$since" --window 2h \
  --vantage "@lab" --interval 2s --until-converged --timeout 500ms --tries 1 --dir "$D2" -q
echo "watch exit $?"
rm -f "$D1/.lock" "$D2/.lock"
ls -la "$D1" "$D2"
finish
