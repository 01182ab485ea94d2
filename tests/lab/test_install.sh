#!/usr/bin/env bash
# Installing (PRODUCT.md section 13), from the build tree under test:
#  - cmake --install (what `make install PREFIX=/usr/local DESTDIR=...` runs)
#    into a scratch root: every promised file, the manifest, and
#    dist/uninstall.cmake (`make uninstall`) removes exactly what it wrote;
#  - cpack -G DEB (`make package`): control data (name, the project's version,
#    Depends computed by dpkg-shlibdeps naming libldns, libuv, libcsv),
#    extracted with dpkg-deb -x into a scratch root; the binary from there
#    runs --version and a check against the lab (Knot + Unbound on loopback),
#    its man page reads with man -l, its units pass systemd-analyze verify.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
: "${DNSPROP_SRC:?}" "${DNSPROP_BUILD:?}"
for tool in cmake cpack dpkg-deb dpkg-shlibdeps man; do
  command -v $tool >/dev/null || { fail "$tool not found (see TEST_PACKAGES in the Makefile)"; finish; }
done
version=$(sed -n 's/^project(dnsprop VERSION \([0-9.]*\).*/\1/p' "$DNSPROP_SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"

# ---- make install / make uninstall ----
R=$T/root
DESTDIR=$R cmake --install "$DNSPROP_BUILD" --prefix /usr/local >"$T/install.log" 2>&1 ||
  fail "cmake --install: $(tail -3 "$T/install.log")"
for f in bin/dnsprop share/man/man1/dnsprop.1 lib/systemd/system/dnsprop@.service \
  lib/systemd/system/dnsprop@.timer share/doc/dnsprop/README.md \
  share/doc/dnsprop/examples/contoso.com.conf share/bash-completion/completions/dnsprop \
  lib/sysusers.d/dnsprop.conf; do
  [ -f "$R/usr/local/$f" ] || fail "make install did not write usr/local/$f"
done
[ -x "$R/usr/local/bin/dnsprop" ] || fail "the installed binary is not executable"
# nothing outside the prefix
outside=$(cd "$R" && find . -type f ! -path './usr/local/*')
[ -z "$outside" ] || fail "installed outside PREFIX: $outside"
got=$("$R/usr/local/bin/dnsprop" --version)
[ "$got" = "dnsprop $version" ] && ok "installed binary: $got" || fail "installed --version: '$got'"
grep -q '"/usr/local/bin/dnsprop" check' "$R/usr/local/lib/systemd/system/dnsprop@.service" ||
  fail "the installed service does not run /usr/local/bin/dnsprop"
M=$DNSPROP_BUILD/install_manifest.txt
[ "$(grep -c . "$M")" -eq "$(cd "$R" && find . -type f | grep -c .)" ] ||
  fail "install_manifest.txt lists $(grep -c . "$M") files, the root holds $(cd "$R" && find . -type f | grep -c .)"
touch "$R/usr/local/bin/other-tool"
DESTDIR=$R cmake -DMANIFEST="$M" -P "$DNSPROP_SRC/dist/uninstall.cmake" >"$T/uninstall.log" 2>&1 ||
  fail "uninstall: $(tail -3 "$T/uninstall.log")"
left=$(cd "$R" && find . -type f)
[ "$left" = "./usr/local/bin/other-tool" ] && ok "make uninstall removed exactly what was installed" ||
  fail "after uninstall: $left"
[ -e "$R/usr/local/share/doc/dnsprop" ] && fail "uninstall left share/doc/dnsprop"

# ---- make package ----
P=$T/pkg
cpack -G DEB -B "$P" --config "$DNSPROP_BUILD/CPackConfig.cmake" >"$T/cpack.log" 2>&1 ||
  { fail "cpack: $(tail -5 "$T/cpack.log")"; finish; }
deb=$(ls "$P"/dnsprop_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { fail "no dnsprop_*.deb in $P: $(ls "$P")"; finish; }
ok "package: $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Package)" = dnsprop ] || fail "Package: $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version: $(dpkg-deb -f "$deb" Version), want $version"
deps=$(dpkg-deb -f "$deb" Depends)
echo "  Depends: $deps"
for lib in libldns libuv libcsv libidn2 libc6; do
  grep -q "$lib" <<<"$deps" || fail "Depends does not name $lib: $deps"
done
grep -qE 'libldns[0-9a-z.-]* \(>= ' <<<"$deps" || fail "Depends has no versions from the symbols files: $deps"
dpkg-deb -I "$deb" postinst >/dev/null 2>&1 || fail "the package has no postinst (the dnsprop user)"
X=$T/deb
dpkg-deb -x "$deb" "$X" || fail "dpkg-deb -x"
for f in usr/bin/dnsprop usr/share/man/man1/dnsprop.1 usr/lib/systemd/system/dnsprop@.service \
  usr/lib/systemd/system/dnsprop@.timer usr/share/doc/dnsprop/README.md \
  usr/share/doc/dnsprop/examples/contoso.com.conf usr/share/bash-completion/completions/dnsprop \
  usr/lib/sysusers.d/dnsprop.conf; do
  [ -f "$X/$f" ] || fail "the package lacks /$f"
done
grep -q '"/usr/bin/dnsprop" check' "$X/usr/lib/systemd/system/dnsprop@.service" ||
  fail "the packaged service does not run /usr/bin/dnsprop"
got=$("$X/usr/bin/dnsprop" --version)
[ "$got" = "dnsprop $version" ] && ok "packaged binary: $got" || fail "packaged --version: '$got'"
page=$(MANWIDTH=80 man -l "$X/usr/share/man/man1/dnsprop.1" 2>"$T/man.err")
grep -q '^EXIT STATUS' <<<"$page" && [ ! -s "$T/man.err" ] && ok "man -l reads the packaged page" ||
  fail "man -l on the packaged page: $(head -3 "$T/man.err")"

# the packaged binary against real servers
Z=contoso.test
lab_zone "$T/z.zone" $Z 1 60 "10 mail.$Z."
lab_start_auth auth "$T/z.zone" || exit 1
lab_start_unbound r1 auth || exit 1
lab_resolvers_csv "$T/res.csv" r1
"$X/usr/bin/dnsprop" check $Z --resolvers "$T/res.csv" --authority "$(lab_addr auth)" --checks mx,soa \
  --vantage lab --timeout 1s --dir "$T/data" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '^DNSPROP OK - ' "$T/out" && ok "packaged check against the lab: $(head -1 "$T/out")" ||
  fail "packaged check: exit $rc, $(cat "$T/out" "$T/err" | head -3)"
[ -s "$T/data/summary.csv" ] || fail "packaged check wrote no summary.csv"
finish
