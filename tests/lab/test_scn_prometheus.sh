#!/usr/bin/env bash
# --prometheus FILE (PRODUCT.md section 13) against real servers: after every
# check and every watch round FILE holds the figures of summary.csv as
# Prometheus text that the real `promtool check metrics` accepts, each value
# equal to the CSV's (converged, stale with an ETA, critical); the file is
# replaced atomically (no temporary file left, a symlink at FILE replaced,
# never followed); a FILE whose folder does not exist is bad input: exit 3,
# one line, nothing created.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/scn.sh"
command -v promtool >/dev/null || { fail "promtool not found (Debian package prometheus)"; finish; }

Z=contoso.test
lab_zone "$T/z.zone" $Z 1 300 "10 mail.$Z."
lab_start_auth auth "$T/z.zone" || exit 1
lab_start_unbound r1 auth || exit 1
lab_start_unbound r2 auth || exit 1
lab_resolvers_csv "$T/res.csv" r1 r2
P=$T/textfile
mkdir -p "$P"
F=$P/dnsprop.prom
check() {
  "$DNSPROP" check $Z --resolvers "$T/res.csv" --authority "$(lab_addr auth)" --checks mx,soa \
    --vantage lab --timeout 1s --tries 2 --dir "$T/data" --prometheus "$F" "$@"
}
# prom NAME CHECK: the value of NAME{domain="contoso.test",check="CHECK"}, empty when absent
prom() { awk -v k="$1{domain=\"$Z\",check=\"$2\"}" '$1 == k { print $2 }' "$F"; }

# validate: promtool accepts the file; every figure equals summary.csv's
validate() {
  local what=$1 out c servers conv stale errors eta wend status deadline overdue want
  out=$(promtool check metrics <"$F" 2>&1) && [ -z "$out" ] ||
    fail "$what: promtool check metrics: $out"
  for fam in resolvers converged stale errors overdue eta_timestamp_seconds \
    window_end_timestamp_seconds deadline_timestamp_seconds status last_round_timestamp_seconds; do
    grep -qx "# TYPE dnsprop_$fam gauge" "$F" || fail "$what: no TYPE line for dnsprop_$fam"
    grep -q "^# HELP dnsprop_$fam " "$F" || fail "$what: no HELP line for dnsprop_$fam"
  done
  # ';'-separated: a tab is white space to read, and empty fields would merge
  while IFS=';' read -r c servers conv stale errors eta wend status deadline overdue; do
    [ "$(prom dnsprop_resolvers "$c")" = "$servers" ] || fail "$what $c: resolvers $(prom dnsprop_resolvers "$c"), csv $servers"
    [ "$(prom dnsprop_converged "$c")" = "$conv" ] || fail "$what $c: converged $(prom dnsprop_converged "$c"), csv $conv"
    [ "$(prom dnsprop_stale "$c")" = "$stale" ] || fail "$what $c: stale $(prom dnsprop_stale "$c"), csv $stale"
    [ "$(prom dnsprop_errors "$c")" = "$errors" ] || fail "$what $c: errors $(prom dnsprop_errors "$c"), csv $errors"
    [ "$(prom dnsprop_overdue "$c")" = "$overdue" ] || fail "$what $c: overdue $(prom dnsprop_overdue "$c"), csv $overdue"
    want=; [ -n "$deadline" ] && want=$(scn_secs "$deadline")
    [ "$(prom dnsprop_deadline_timestamp_seconds "$c")" = "$want" ] ||
      fail "$what $c: deadline '$(prom dnsprop_deadline_timestamp_seconds "$c")', csv '$deadline' ($want)"
    want=; [ -n "$eta" ] && want=$(scn_secs "$eta")
    [ "$(prom dnsprop_eta_timestamp_seconds "$c")" = "$want" ] ||
      fail "$what $c: eta '$(prom dnsprop_eta_timestamp_seconds "$c")', csv '$eta' ($want)"
    [ "$(prom dnsprop_window_end_timestamp_seconds "$c")" = "$(scn_secs "$wend")" ] ||
      fail "$what $c: window end $(prom dnsprop_window_end_timestamp_seconds "$c"), csv $wend"
    case $status in converged) want=0 ;; propagating) want=1 ;; critical | expired) want=2 ;; *) want=? ;; esac
    [ "$(prom dnsprop_status "$c")" = "$want" ] || fail "$what $c: status $(prom dnsprop_status "$c"), csv $status"
    last=$(prom dnsprop_last_round_timestamp_seconds "$c")
    [ -n "$last" ] && [ "$last" -le "$(date +%s)" ] && [ "$last" -gt $(($(date +%s) - 600)) ] ||
      fail "$what $c: last round '$last'"
  done < <(mlr --icsv --ocsv --headerless-csv-output --ofs ';' \
    cut -o -f check,servers,converged,stale,errors,eta_utc,window_ends_utc,status,deadline_utc,overdue \
    "$T/data/summary.csv")
  [ "$(scn_csv "$T/data/summary.csv" | grep -c .)" -eq "$(grep -c '^dnsprop_resolvers{' "$F")" ] ||
    fail "$what: $(grep -c '^dnsprop_resolvers{' "$F") resolvers samples for $(scn_csv "$T/data/summary.csv" | grep -c .) summary rows"
  left=$(ls -A "$P")
  [ "$left" = dnsprop.prom ] || fail "$what: the textfile folder holds: $left"
}

# a symlink where FILE goes is replaced, its target left alone
echo "untouched" >"$T/victim"
ln -s "$T/victim" "$F"
expect_exit 0 check
validate "converged"
[ "$(cat "$T/victim")" = untouched ] || fail "the symlink's target was written"
[ -f "$F" ] && [ ! -L "$F" ] && ok "the symlink at FILE was replaced by the file" || fail "FILE is still a symlink"
[ "$(prom dnsprop_status mx)" = 0 ] && [ "$(prom dnsprop_converged mx)" = 2 ] || fail "converged: $(cat "$F")"
[ -z "$(prom dnsprop_eta_timestamp_seconds mx)" ] || fail "an ETA with nothing stale"
[ "$(stat -c %a "$F")" = 644 ] || fail "mode $(stat -c %a "$F"), want 644 (node_exporter reads it)"

# the MX moves: both resolvers hold the old one for 300 s: stale, with an ETA
lab_set_mx auth $Z 300 "0 mx2.$Z."
expect_exit 1 check
validate "stale"
[ "$(prom dnsprop_stale mx)" = 2 ] && [ "$(prom dnsprop_status mx)" = 1 ] || fail "stale: $(grep 'check="mx"' "$F")"
eta=$(prom dnsprop_eta_timestamp_seconds mx)
[ -n "$eta" ] && [ "$eta" -gt "$(date +%s)" ] && ok "stale: ETA $eta, in the future" || fail "stale ETA '$eta'"
# the log saw the old MX served with TTL 300, then the change: deadline = change + 300
dl=$(prom dnsprop_deadline_timestamp_seconds mx)
[ -n "$dl" ] && [ "$dl" -ge "$eta" ] && ok "stale: deadline $dl (change + old TTL)" ||
  fail "stale: deadline '$dl' (ETA $eta)"

# critical: the authority fails --expect
expect_exit 2 check --expect "mx=10 wrong.example."
validate "critical"
[ "$(prom dnsprop_status mx)" = 2 ] || fail "critical: status $(prom dnsprop_status mx)"

# watch: a round a second for a 3 s window, the file rewritten each round
rm -rf "$T/data"
before=$(date +%s)
"$DNSPROP" watch $Z --resolvers "$T/res.csv" --authority "$(lab_addr auth)" --checks mx --vantage lab \
  --timeout 1s --tries 1 --interval 1s --window 3s --dir "$T/data" --prometheus "$F" -q >"$T/out" 2>"$T/err"
rc=$?
[ $rc -le 2 ] || fail "watch --prometheus: exit $rc: $(head -3 "$T/err")"
validate "watch"
rounds=$(scn_csv "$T/data/timeline.csv" | grep -c .)
last=$(prom dnsprop_last_round_timestamp_seconds mx)
[ "$rounds" -ge 2 ] && [ "$last" -ge "$before" ] && ok "watch: $rounds rounds, last at $last" ||
  fail "watch: $rounds rounds, last round $last (started $before)"

# bad input: its folder does not exist
rm -rf "$T/data2"
expect_exit 3 "$DNSPROP" check $Z --resolvers "$T/res.csv" --dir "$T/data2" --prometheus "$T/nowhere/x.prom"
[ "$(grep -c . "$T/err")" -eq 1 ] && grep -q -- '--prometheus' "$T/err" || fail "bad --prometheus: $(cat "$T/err")"
[ -e "$T/data2" ] && fail "bad --prometheus created the data folder"
expect_exit 3 "$DNSPROP" check $Z --resolvers "$T/res.csv" --dir "$T/data2" --prometheus "$P"
[ -e "$T/data2" ] && fail "--prometheus FOLDER created the data folder"

# the README's alerting rules are valid rules
# (the yaml block that starts with "groups:"; the README has other yaml)
awk '/^```yaml$/ { on = 1; first = 1; next } /^```$/ { on = 0; keep = 0 }
     on && first { keep = ($0 == "groups:"); first = 0 } on && keep' "$DNSPROP_SRC/README.md" >"$T/rules.yml"
grep -q dnsprop_status "$T/rules.yml" || fail "no alerting rule example in the README"
out=$(promtool check rules "$T/rules.yml" 2>&1) && ok "README alerting rules: promtool check rules" ||
  fail "README alerting rules: $out"
finish
