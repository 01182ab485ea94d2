#!/usr/bin/env bash
# The systemd units as `make install` writes them (dist/install-units.cmake,
# PREFIX /usr/local, DESTDIR a scratch root): systemd-analyze verify must
# accept an instance of each without a word on stderr; the service carries the
# settings dnsprop@.service promises (StateDirectory, SuccessExitStatus=1,
# the hardening); and its ExecStart script, run by /bin/sh as systemd would,
# hands DNSPROP_OPTS to dnsprop with shell quoting intact.
# Skipped (exit 77, reported by CTest as skipped, never as passed) when
# systemd-analyze is missing.
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSPROP_SRC:?}"
command -v systemd-analyze >/dev/null || skip "no systemd-analyze (Debian package systemd)"

R=$T/root
DESTDIR=$R cmake -DCMAKE_INSTALL_PREFIX=/usr/local -DDNSPROP_SRC="$DNSPROP_SRC" -DDNSPROP_OUT="$T/gen" \
  -DDNSPROP_BINDIR=bin -P "$DNSPROP_SRC/dist/install-units.cmake" >"$T/log" 2>&1 ||
  { fail "install-units.cmake: $(cat "$T/log")"; finish; }
U=$R/usr/local/lib/systemd/system
for f in dnsprop@.service dnsprop@.timer; do [ -f "$U/$f" ] || fail "not installed: $U/$f"; done
svc=$U/dnsprop@.service
grep -q '"/usr/local/bin/dnsprop" check' "$svc" || fail "ExecStart does not run /usr/local/bin/dnsprop check"
grep -q '@[A-Z_]*@' "$svc" &&
  fail "an @VARIABLE@ was left unreplaced: $(grep ExecStart "$svc")"

# verify an instance (a template cannot be verified alone): copies named so
V=$T/verify
mkdir -p "$V"
cp "$svc" "$V/dnsprop@contoso.com.service"
cp "$U/dnsprop@.timer" "$V/dnsprop@contoso.com.timer"
out=$(cd "$V" && systemd-analyze verify --man=no "$V/dnsprop@contoso.com.timer" "$V/dnsprop@contoso.com.service" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: clean"; else fail "systemd-analyze verify (exit $rc): $out"; fi
# and it does catch a broken unit (so a clean verify means something)
sed 's/^UMask=/UMaskTypo=/' "$V/dnsprop@contoso.com.service" >"$T/broken@contoso.com.service"
out=$(systemd-analyze verify --man=no "$T/broken@contoso.com.service" 2>&1)
grep -q "Unknown key 'UMaskTypo'" <<<"$out" || fail "verify did not notice a typo: $out"

# what the service promises
for kv in 'Type=oneshot' 'StateDirectory=dnsprop/%i' 'StateDirectoryMode=0755' 'SuccessExitStatus=1' \
  'EnvironmentFile=/etc/dnsprop/%i.conf' 'User=dnsprop' 'ProtectSystem=strict' 'PrivateTmp=yes' \
  'NoNewPrivileges=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'ProtectHome=yes' \
  'CapabilityBoundingSet='; do
  grep -qxF "$kv" "$svc" || fail "dnsprop@.service lacks '$kv'"
done
grep -qx 'SuccessExitStatus=.*[23].*' "$svc" && fail "exit 2 or 3 counted as success"
for kv in 'OnUnitActiveSec=10min' 'WantedBy=timers.target'; do
  grep -qxF "$kv" "$U/dnsprop@.timer" || fail "dnsprop@.timer lacks '$kv'"
done

# The ExecStart script as systemd runs it: "$$" is "$", %i the instance.
script=$(sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)' dnsprop %i$/\1/p" "$svc" | sed 's/\$\$/$/g')
[ -n "$script" ] || fail "ExecStart is not the /bin/sh -c '...' dnsprop %i form"
# a stand-in for the binary that prints its arguments one a line
mkdir -p "$R/usr/local/bin"
printf '#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n' >"$R/usr/local/bin/dnsprop"
chmod +x "$R/usr/local/bin/dnsprop"
script=${script//\/usr\/local\/bin\/dnsprop/$R\/usr\/local\/bin\/dnsprop}
got=$(DNSPROP_OPTS="--profile m365 --expect 'mx=0 contoso-com.mail.protection.outlook.com.' --since '2026-11-29 18:00'" \
  STATE_DIRECTORY=/var/lib/dnsprop/contoso.com /bin/sh -c "$script" dnsprop contoso.com)
want='[check]
[contoso.com]
[--dir]
[/var/lib/dnsprop/contoso.com]
[--profile]
[m365]
[--expect]
[mx=0 contoso-com.mail.protection.outlook.com.]
[--since]
[2026-11-29 18:00]'
[ "$got" = "$want" ] && ok "ExecStart passes DNSPROP_OPTS with its quoting" || fail "ExecStart arguments: $got"
got=$(STATE_DIRECTORY=/s /bin/sh -c "$script" dnsprop x.example | tr '\n' ' ')
[ "$got" = "[check] [x.example] [--dir] [/s] " ] || fail "ExecStart without DNSPROP_OPTS: $got"
# the example configuration parses the same way
opts=$(sed -n 's/^DNSPROP_OPTS="\(.*\)"$/\1/p' "$DNSPROP_SRC/dist/contoso.com.conf")
[ -n "$opts" ] || fail "dist/contoso.com.conf sets no DNSPROP_OPTS"
got=$(DNSPROP_OPTS=$opts STATE_DIRECTORY=/s /bin/sh -c "$script" dnsprop contoso.com | grep -c .)
[ "$got" -ge 6 ] || fail "the example DNSPROP_OPTS gave $got arguments"
finish
