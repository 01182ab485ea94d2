#!/usr/bin/env bash
# A table of bad inputs (PRODUCT.md section 9): every row must end with exit 3,
# exactly one line on stderr that holds the row's fragment (naming the argument
# or file:line), and no file created or changed anywhere: not in the fixtures,
# and not in the working folder (no ./dnsprop-<domain>/ appears), which is an
# empty folder. Rows that would reach the network if wrongly accepted only
# name loopback servers (127.0.0.1:9 with a 100 ms timeout), so even a
# regression sends nothing off the host.
set -u
. "$(dirname "$0")/../lib.sh"

F="$T/fix" # fixtures
C="$T/cwd" # empty working folder
O="$T/o"   # outputs of each run (outside the snapshot)
mkdir -p "$F" "$C" "$O"
SAFE=(--resolvers 127.0.0.1:9 --authority none --timeout 100ms --tries 1)

# ---- fixtures ----------------------------------------------------------------
hdr='name,address,operator,country'
printf '%s\nr1,127.0.0.1:0,,\n' "$hdr" >"$F/port0.csv"
printf '%s\nr1,127.0.0.1,,\nr2,1.2.3,,\n' "$hdr" >"$F/short_ipv4.csv"
printf '%s\n# v6\nr1,::1:53,,\n' "$hdr" >"$F/v6port.csv"
printf '%s\n,127.0.0.1,,\n' "$hdr" >"$F/noname.csv"
printf 'name,addr,operator,country\nr1,127.0.0.1,,\n' >"$F/badheader.csv"
printf '%s\nr1,127.0.0.1,op\n' "$hdr" >"$F/threefields.csv"
printf '%s\nr1,127.0.0.1,,\nR1,127.0.0.2,,\n' "$hdr" >"$F/dupname.csv"
mkdir "$F/a_directory"
printf 'contoso.com\nfabrikam..com\n' >"$F/domains_badline.txt"
printf 'contoso.com,m365\nfabrikam.com,gmail\n' >"$F/domains_badprofile.txt"
printf 'contoso.com\nCONTOSO.com.\n' >"$F/domains_dup.txt"
printf '# nothing\n\n' >"$F/domains_empty.txt"
# logs: a real one (lines of a demo run), damaged copies
good="$DNSPROP_SRC/fuzz/corpus/fuzz_obslog/demo_head.csv"
mkdir "$F/log_mid" "$F/log_version" "$F/log_good"
{ head -3 "$good"; printf 'this is not a row\r\n'; sed -n '4,$p' "$good"; } >"$F/log_mid/observations.csv"
{ printf 'time_utc,vantage,round,domain,check,qname,qtype,server,address,status\r\n'; sed -n '2,$p' "$good"; } \
  >"$F/log_version/observations.csv"
cp "$good" "$F/log_good/observations.csv"
# sanity: the undamaged log is accepted (so the rows below fail on the damage);
# in a copy, as report writes files
cp -r "$F/log_good" "$T/log_good_copy"
"$DNSPROP" report --dir "$T/log_good_copy" >/dev/null 2>"$O/err"
rc=$?
[ "$rc" -le 2 ] || fail "sanity: the undamaged log is refused (exit $rc): $(cat "$O/err")"

long63=$(printf 'a%.0s' $(seq 63))
long64=$(printf 'a%.0s' $(seq 64))
name254="$long63.$long63.$long63.$(printf 'b%.0s' $(seq 62))" # 63*3+62+3 = 254 bytes

snapshot() { (cd "$T" && find fix cwd -exec sh -c 'if [ -f "$1" ]; then sha256sum "$1"; else echo "dir $1"; fi' _ {} \; | sort); }
before=$(snapshot)
rows=0

# row FRAGMENT ARGS...: runs dnsprop ARGS from the empty folder
row() {
  local frag=$1; shift
  rows=$((rows + 1))
  (cd "$C" && exec "$DNSPROP" "$@") >"$O/out" 2>"$O/err" </dev/null
  local rc=$? what="dnsprop $*"
  local lines
  lines=$(wc -l <"$O/err")
  if [ "$rc" -ne 3 ]; then
    fail "exit $rc, want 3: $what"
  elif [ "$lines" -ne 1 ]; then
    fail "$lines lines on stderr, want 1: $what"
  elif ! grep -qF -- "$frag" "$O/err"; then
    fail "stderr lacks \"$frag\": $what"
  else
    local now
    now=$(snapshot)
    if [ "$now" != "$before" ]; then
      fail "files created or changed: $what"
      diff <(echo "$before") <(echo "$now") | sed 's/^/  /' | head -5 >&2
      before=$now
    else
      ok "exit 3, one line: $what"
      return
    fi
  fi
  sed 's/^/  stderr: /' "$O/err" | head -5 >&2
}

# ---- arguments -----------------------------------------------------------------
row "unknown option '--frob'" check --frob contoso.com "${SAFE[@]}"
row "'--dir' needs a value" check contoso.com "${SAFE[@]}" --dir
row "no domain given" check "${SAFE[@]}"
row "no domain given" watch
row "is for watch only" check contoso.com "${SAFE[@]}" --interval 5m
row "unknown command 'chek'" chek contoso.com
row "--profile" check contoso.com "${SAFE[@]}" --profile gmail
row "--vantage" check contoso.com "${SAFE[@]}" --vantage ''
row "--prometheus" check contoso.com "${SAFE[@]}" --prometheus "$F/no_such_dir/x.prom"
row "--prometheus" check contoso.com "${SAFE[@]}" --prometheus "$F/"
row "--prometheus: empty file name" watch contoso.com "${SAFE[@]}" --prometheus ""
# ---- durations and times -------------------------------------------------------
row "'-5m'" watch contoso.com "${SAFE[@]}" --interval -5m
row "'10x'" watch contoso.com "${SAFE[@]}" --interval 10x
row "'0s'" watch contoso.com "${SAFE[@]}" --interval 0s
row "--window" check contoso.com "${SAFE[@]}" --window 0s
row "'99h'" check contoso.com --resolvers 127.0.0.1:9 --authority none --timeout 99h
row "'2026-13-01'" check contoso.com "${SAFE[@]}" --since 2026-13-01
row "'2026-02-30 10:00'" check contoso.com "${SAFE[@]}" --since '2026-02-30 10:00'
row "'yesterday'" watch contoso.com "${SAFE[@]}" --since yesterday
row "--old-ttl: old TTL must be whole seconds" check contoso.com "${SAFE[@]}" --old-ttl 500ms
row "--old-ttl: bad duration" check contoso.com "${SAFE[@]}" --old-ttl 1x
# ---- numbers -------------------------------------------------------------------
row "--tries" check contoso.com --resolvers 127.0.0.1:9 --authority none --timeout 100ms --tries 0
row "'-1'" check contoso.com "${SAFE[@]}" --rate -1
row "--inflight" check contoso.com "${SAFE[@]}" --inflight 0
row "--rate" check contoso.com "${SAFE[@]}" --rate 1e3
# ---- domain names --------------------------------------------------------------
row "'a..b'" check a..b "${SAFE[@]}"
row "63" check "$long64.com" "${SAFE[@]}"
row "253" check "$name254" "${SAFE[@]}"
row "'-bad.example'" check -bad.example "${SAFE[@]}"
row "bad domain '-bad.example'" check "${SAFE[@]}" -- -bad.example
row "bad domain" check 192.0.2.1 "${SAFE[@]}"
row "bad domain" check contoso "${SAFE[@]}"
row "bad domain" check '' "${SAFE[@]}"
# ---- checks and --expect -------------------------------------------------------
row "unknown check 'foo'" check contoso.com "${SAFE[@]}" --checks mx,foo
row "--checks" check contoso.com "${SAFE[@]}" --checks ''
row "--checks" check contoso.com "${SAFE[@]}" --checks mx,mx
row "--expect mx" check contoso.com "${SAFE[@]}" --expect 'mx=99999 x.'
row "--expect mx" check contoso.com "${SAFE[@]}" --expect 'mx='
row "unknown check 'foo'" check contoso.com "${SAFE[@]}" --expect foo=1
row "--expect spf" check contoso.com "${SAFE[@]}" --expect spf=not-spf
row "--expect" check contoso.com "${SAFE[@]}" --expect 'mx 0 a.example.'
row "--expect dkim" check contoso.com "${SAFE[@]}" --expect 'dkim=selector3:x.example.'
row "--expect mx" check contoso.com "${SAFE[@]}" --expect 'mx=0 a.example.' --expect 'mx=0 b.example.'
row "--expect" check contoso.com "${SAFE[@]}" --checks mx --expect 'spf=v=spf1 -all'
# ---- resolver lists ------------------------------------------------------------
row "port0.csv:2:" check contoso.com --authority none --resolvers "$F/port0.csv"
row "short_ipv4.csv:3:" check contoso.com --authority none --resolvers "$F/short_ipv4.csv"
row "v6port.csv:3:" check contoso.com --authority none --resolvers "$F/v6port.csv"
row "noname.csv:2:" check contoso.com --authority none --resolvers "$F/noname.csv"
row "badheader.csv:1:" check contoso.com --authority none --resolvers "$F/badheader.csv"
row "threefields.csv:2:" check contoso.com --authority none --resolvers "$F/threefields.csv"
row "dupname.csv:3:" check contoso.com --authority none --resolvers "$F/dupname.csv"
row "a_directory" check contoso.com --authority none --resolvers "$F/a_directory"
row "port0.csv:2:" check contoso.com --resolvers 127.0.0.1:9 --authority "$F/port0.csv"
row "'127.0.0.1:0'" check contoso.com --authority none --resolvers 127.0.0.1:0
row "'::1:53'" check contoso.com --authority none --resolvers ::1:53
row "--resolvers" check contoso.com --authority none --resolvers '127.0.0.1,,127.0.0.2'
row "port0.csv:2:" resolvers --resolvers "$F/port0.csv"
# ---- --domains files -----------------------------------------------------------
row "domains_badline.txt:2:" check "${SAFE[@]}" --domains "$F/domains_badline.txt"
row "domains_badprofile.txt:2:" check "${SAFE[@]}" --domains "$F/domains_badprofile.txt"
row "domains_dup.txt:2:" check "${SAFE[@]}" --domains "$F/domains_dup.txt"
row "domains_empty.txt" check "${SAFE[@]}" --domains "$F/domains_empty.txt"
row "nonexistent.txt" check "${SAFE[@]}" --domains "$F/nonexistent.txt"
# ---- damaged logs --------------------------------------------------------------
row "observations.csv:4:" report --dir "$F/log_mid"
row "observations.csv:1:" report --dir "$F/log_version"
row "observations.csv:4:" check contoso.com "${SAFE[@]}" --dir "$F/log_mid"
row "no_such_dir" report --dir "$F/no_such_dir"
row "'--frob'" report --dir "$F/log_good" --frob
# ---- query ---------------------------------------------------------------------
row "'FOO'" query @127.0.0.1:9 contoso.com FOO
row "a..b" query @127.0.0.1:9 a..b MX
row "'@127.0.0.1:0'" query @127.0.0.1:0 contoso.com MX

[ "$rows" -ge 30 ] || fail "only $rows rows"
[ -z "$(ls -A "$C")" ] || fail "the working folder is not empty: $(ls -A "$C")"
echo "$rows rows"
finish
