#!/usr/bin/env bash
# Old data folders keep working (PRODUCT.md section 4: "A log written before
# site,ede existed (17 columns) is read as before ..."; "New columns are only
# ever added at the end of a row"). Each folder of tests/data/v0.1-folder-*,
# written by the released dnsprop (9ddf6a3, see tests/data/README.md), is
# copied to $T with the modes the old version gave it (0755 folder, 0644
# files) and, with today's binary:
#   - `report` rebuilds it without a word on stderr: the log byte for byte
#     unchanged (17 columns), settings.csv unchanged, every old row counted
#     (the rounds of each server, the servers of each round), the old
#     reports' columns a prefix of the new ones, with the same values;
#   - `check` (the old .state, version 1, is not misread) appends rows of
#     17 fields, says so in exactly one notice naming --upgrade (none under
#     -q), and leaves the reports that `report` rebuilds from the same log;
#     settings.csv keeps its old form (the old version still reads the
#     folder) until --old-ttl must be kept, then the new one, every value kept;
#   - `report --upgrade` makes the log 19 columns, each old line kept byte
#     for byte with empty site,ede; a second one says there is nothing to
#     do and changes nothing; the reports equal a rebuild, and those of the
#     17-column log;
#   - `merge` takes an old folder as a source (every row read field by field
#     and written again as it was) and as the target (17 columns kept), and
#     `import atlas` appends to an old folder in its 17 columns, once;
#   - an upgrade that runs out of file size (RLIMIT_FSIZE, failing write or
#     SIGXFSZ) leaves the old log intact, and no temporary file after the
#     next run.
# Field-by-field reading of every old row: tests/unit/test_compat.c.
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSPROP_SRC:?DNSPROP_SRC must name the source tree}"
command -v mlr >/dev/null || { fail "mlr (miller, TEST_PACKAGES) not found"; finish; }

DATA="$DNSPROP_SRC/tests/data"
REPORTS=(convergence.csv timeline.csv mx_compliance.csv summary.csv convergence.svg)
CSVS=(convergence timeline mx_compliance summary)
HEADER17='time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match'
HEADER19="$HEADER17,site,ede"

# prep FIXTURE NAME: a copy of the fixture folder at $T/NAME, as the old
# version left it (folder 0755, files 0644, owned by the user running)
prep() {
  rm -rf "$T/$2"
  cp -R "$1" "$T/$2" || return 1
  chmod 0755 "$T/$2" && find "$T/$2" -type f -exec chmod 0644 {} +
}
# same_reports A B: every report of folder A equals B's, byte for byte
same_reports() {
  local f r=0
  for f in "${REPORTS[@]}"; do
    if ! cmp -s "$1/$f" "$2/$f"; then
      echo "  $f differs:" >&2
      diff <(tr -d '\r' <"$1/$f") <(tr -d '\r' <"$2/$f") | head -6 | sed 's/^/    /' >&2
      r=1
    fi
  done
  return $r
}
# rebuilt DIR: a copy of DIR whose reports `report` rebuilt from its log
rebuilt() {
  rm -rf "$1.rebuilt"
  cp -a "$1" "$1.rebuilt" && rm -f "$1.rebuilt/.state" &&
    "$DNSPROP" report --dir "$1.rebuilt" >/dev/null 2>"$T/rebuilt.err" ||
    { fail "report on a copy of $1: $(cat "$T/rebuilt.err")"; return 1; }
  echo "$1.rebuilt"
}
# fields FILE: the number of fields of each line of a CSV file, one a line
fields() {
  mlr --icsv --ocsv --implicit-csv-header --allow-ragged-csv-input --headerless-csv-output \
    put -q 'print length($*)' "$1"
}
header() { head -1 "$1" | tr -d '\r'; }
is_prefix() { cmp -s -n "$(wc -c <"$1")" "$1" "$2"; } # the bytes of A begin B

# check_args NAME: the options of a check run on the fixture NAME that repeat
# the settings it was made with (so settings.csv must keep every value), with
# one resolver that cannot answer (nothing listens on 127.0.0.6:9) and no
# authoritative servers: rows are written, nothing leaves loopback.
check_args() {
  case "$1" in
    v0.1-folder-move)
      printf 'contoso.test,\nfabrikam.test,m365\n' >"$T/domains.csv"
      ARGS=(--domains "$T/domains.csv" --checks mx,txt,m365) ;;
    v0.1-folder-watch)
      since=$(mlr --icsv --onidx cut -f since_utc "$DATA/$1/settings.csv")
      ARGS=(contoso.test --checks mx,ns,soa --single-mx --since "$since" --window 2h) ;;
    *) fail "no check options for $1"; ARGS=(contoso.test) ;;
  esac
  ARGS+=(--resolvers 127.0.0.6:9 --authority none --vantage lab --timeout 300ms --tries 1)
}

n_fixtures=0
for FX in "$DATA"/v0.1-folder-*/; do
  FX=${FX%/}
  name=$(basename "$FX")
  n_fixtures=$((n_fixtures + 1))
  rows=$(($(wc -l <"$FX/observations.csv") - 1))
  echo "---- $name: $rows rows"
  [ "$(header "$FX/observations.csv")" = "$HEADER17" ] || fail "$name: the fixture's log is not of 17 columns"
  # the field counter itself, on the fixture's quoted rows: 17 everywhere
  [ "$(fields "$FX/observations.csv" | sort -u | tr '\n' ' ')" = "17 " ] || fail "$name: the fixture's rows are not all of 17 fields"
  [ "$(head -1 "$FX/.state" | tr -d '\r')" = "dnsprop-state,1" ] || fail "$name: the fixture's .state is not version 1"
  [ "$(header "$FX/settings.csv")" = "domain,profile,single_mx,window,since_utc" ] ||
    fail "$name: the fixture's settings.csv is not the old form"

  # ---- report: rebuilds, reads every old row, writes no log ---------------------
  prep "$FX" "$name" || { fail "$name: cannot copy"; continue; }
  D="$T/$name"
  expect_exit 0 "$DNSPROP" report --dir "$D"
  [ -s "$T/err" ] && fail "$name: report: stderr not empty (the folder as the old version made it must be accepted): $(cat "$T/err")" ||
    ok "$name: the folder as the old version made it ($(stat -c '%a %U' "$D"), files 0644) accepted without a word"
  cmp -s "$FX/observations.csv" "$D/observations.csv" && ok "$name: report: the log byte for byte unchanged" ||
    fail "$name: report changed the log"
  cmp -s "$FX/settings.csv" "$D/settings.csv" && ok "$name: report: settings.csv not rewritten" ||
    fail "$name: report rewrote settings.csv"
  [ "$(stat -c %a "$D")" = 755 ] && [ "$(stat -c %a "$D/observations.csv")" = 644 ] ||
    fail "$name: modes changed: $(stat -c '%a %n' "$D" "$D"/*)"
  # every old row counted: the rounds each (domain, check, server) answered in ...
  diff <(mlr --icsv --ocsv count-distinct -f domain,check,server,round then count -g domain,check,server then sort -f domain,check,server "$FX/observations.csv") \
    <(mlr --icsv --ocsv cut -o -f domain,check,server,rounds then rename rounds,count then sort -f domain,check,server "$D/convergence.csv") >"$T/d" &&
    ok "$name: convergence.csv: the rounds of every server, as in the log" ||
    { fail "$name: convergence.csv rounds differ from the log's:"; head -5 "$T/d" >&2; }
  # ... and the servers of each round (not the authoritative ones)
  diff <(mlr --icsv --ocsv filter '$server !=~ "^auth:"' then count-distinct -f round,domain,check,server then count -g round,domain,check then sort -nf round -f domain,check "$FX/observations.csv") \
    <(mlr --icsv --ocsv cut -o -f round,domain,check,servers then rename servers,count then sort -nf round -f domain,check "$D/timeline.csv") >"$T/d" &&
    ok "$name: timeline.csv: the servers of every round, as in the log" ||
    { fail "$name: timeline.csv servers differ from the log's:"; head -5 "$T/d" >&2; }
  # the old reports' columns are a prefix of the new ones, with the same values
  for f in "${CSVS[@]}"; do
    oh=$(header "$FX/$f.csv")
    nh=$(header "$D/$f.csv")
    case "$nh" in
      "$oh" | "$oh",*) ok "$name: $f.csv: the old columns first, new ones after (${nh#"$oh"})" ;;
      *) fail "$name: $f.csv: the old header '$oh' is not a prefix of the new '$nh'"; continue ;;
    esac
    # summary's eta_utc is no longer moved by overdue servers (issue #14)
    skip_cols=""
    if [ "$f" = summary ]; then
      skip_cols=eta_utc
      n_eta=$(diff <(mlr --icsv --onidx cut -f domain,check,eta_utc "$FX/$f.csv") \
        <(mlr --icsv --onidx cut -f domain,check,eta_utc "$D/$f.csv") | grep -c '^>')
      echo "$name: summary.csv: eta_utc differs from the old version's in $n_eta rows (overdue servers no longer move it)"
    fi
    diff <(mlr --icsv --ocsv cut -o -f "$oh" then cut -x -f "${skip_cols:-__none}" "$FX/$f.csv") \
      <(mlr --icsv --ocsv cut -o -f "$oh" then cut -x -f "${skip_cols:-__none}" "$D/$f.csv") >"$T/d" &&
      ok "$name: $f.csv: the old columns hold the old values${skip_cols:+ (but $skip_cols)}" ||
      { fail "$name: $f.csv: old columns' values differ:"; head -6 "$T/d" >&2; }
  done
  cp "$D/summary.csv" "$T/$name.summary17"
  mkdir -p "$T/$name.reports17" && for f in "${REPORTS[@]}"; do cp "$D/$f" "$T/$name.reports17/"; done

  # ---- check on the old folder: 17-column rows, one notice, reports = rebuild ---
  prep "$FX" "$name" || continue
  check_args "$name"
  "$DNSPROP" check "${ARGS[@]}" --dir "$D" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || fail "$name: check exit $rc: $(cat "$T/err")"
  n_notice=$(grep -c 'upgrade' "$T/err")
  n_err=$(wc -l <"$T/err")
  [ "$n_notice" -eq 1 ] && [ "$n_err" -eq 1 ] && ok "$name: check: one notice: $(cat "$T/err")" ||
    fail "$name: check: want one line on stderr naming --upgrade, got $n_err: $(cat "$T/err")"
  grep -q -- '--upgrade' "$T/err" || fail "$name: the notice does not name --upgrade"
  is_prefix "$FX/observations.csv" "$D/observations.csv" && ok "$name: check: the old rows kept byte for byte" ||
    fail "$name: check changed the old rows"
  tail -c +"$(($(wc -c <"$FX/observations.csv") + 1))" "$D/observations.csv" >"$T/new"
  new_rows=$(wc -l <"$T/new")
  [ "$new_rows" -gt 0 ] || fail "$name: check appended nothing"
  [ "$(grep -vc $'\r$' "$T/new")" -eq 0 ] || fail "$name: a new line without CRLF"
  { echo "$HEADER17"; cat "$T/new"; } >"$T/new.csv"
  bad=$(fields "$T/new.csv" | sort -u | tr '\n' ' ')
  [ "$bad" = "17 " ] && ok "$name: check: $new_rows new rows of 17 fields" ||
    fail "$name: new rows' field counts: $bad(want 17)"
  # rows of 17 fields are new rows of this run (round, vantage)
  [ "$(mlr --icsv --onidx uniq -f vantage "$T/new.csv")" = lab ] || fail "$name: new rows' vantage"
  [ "$(head -1 "$D/.state" | tr -d '\r')" = "dnsprop-state,3" ] || fail "$name: .state not rewritten in the current form"
  R=$(rebuilt "$D") && same_reports "$D" "$R" && ok "$name: check: the reports equal a rebuild from the log" ||
    fail "$name: check's reports differ from a rebuild (the old .state misread?)"
  # settings.csv: the same settings again, nothing the old form cannot hold:
  # kept in the old form (so that the old version still reads the folder)
  cmp -s "$FX/settings.csv" "$D/settings.csv" && ok "$name: check: settings.csv kept as it was (5 columns)" ||
    { fail "$name: check rewrote settings.csv though nothing new must be kept:"; diff "$FX/settings.csv" "$D/settings.csv" >&2; }
  # a second run (now from .state version 2): one notice again, 17 fields
  cp "$D/observations.csv" "$T/before"
  "$DNSPROP" check "${ARGS[@]}" --dir "$D" >"$T/out" 2>"$T/err" </dev/null
  [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- '--upgrade' "$T/err" || fail "$name: second check: stderr: $(cat "$T/err")"
  { echo "$HEADER17"; tail -c +"$(($(wc -c <"$T/before") + 1))" "$D/observations.csv"; } >"$T/new.csv"
  [ "$(fields "$T/new.csv" | sort -u | tr '\n' ' ')" = "17 " ] || fail "$name: second check: rows not of 17 fields"
  R=$(rebuilt "$D") && same_reports "$D" "$R" || fail "$name: second check's reports differ from a rebuild"
  # -q: no notice
  "$DNSPROP" check "${ARGS[@]}" --dir "$D" -q >"$T/out" 2>"$T/err" </dev/null
  [ -s "$T/err" ] && fail "$name: check -q: stderr not empty: $(cat "$T/err")" || ok "$name: check -q: no notice"
  [ "$(header "$D/observations.csv")" = "$HEADER17" ] || fail "$name: check changed the log's header"
  # --old-ttl must be kept: settings.csv in the new form, every old value kept
  "$DNSPROP" check "${ARGS[@]}" --old-ttl 10m --dir "$D" -q >"$T/out" 2>"$T/err" </dev/null
  [ -s "$T/err" ] && fail "$name: check --old-ttl: stderr: $(cat "$T/err")"
  [ "$(header "$D/settings.csv")" = "domain,profile,single_mx,window,since_utc,old_ttl" ] ||
    fail "$name: check --old-ttl: settings.csv header $(header "$D/settings.csv")"
  diff <(mlr --icsv --ocsv sort -f domain "$FX/settings.csv") \
    <(mlr --icsv --ocsv cut -x -f old_ttl then sort -f domain "$D/settings.csv") >"$T/d" &&
    ok "$name: check --old-ttl: settings.csv in the new form, every old value kept" ||
    { fail "$name: check --old-ttl: settings.csv lost a value:"; cat "$T/d" >&2; }
  [ "$(mlr --icsv --onidx uniq -f old_ttl "$D/settings.csv")" = 600 ] ||
    fail "$name: check --old-ttl: old_ttl column: $(mlr --icsv --onidx cut -f domain,old_ttl "$D/settings.csv")"
  R=$(rebuilt "$D") && same_reports "$D" "$R" || fail "$name: check --old-ttl: reports differ from a rebuild"

  # ---- report --upgrade -----------------------------------------------------------
  prep "$FX" "$name" || continue
  expect_exit 0 "$DNSPROP" report --upgrade --dir "$D"
  grep -q "upgraded to 19 columns.* $rows rows kept" "$T/err" && ok "$name: upgrade: $(head -1 "$T/err")" ||
    fail "$name: upgrade: stderr: $(cat "$T/err")"
  [ "$(header "$D/observations.csv")" = "$HEADER19" ] || fail "$name: upgrade: header $(header "$D/observations.csv")"
  # every old line, byte for byte, then ",," before its CRLF
  if cmp -s <(tail -n +2 "$FX/observations.csv" | sed 's/\r$/,,\r/') <(tail -n +2 "$D/observations.csv"); then
    ok "$name: upgrade: every old row's 17 fields byte for byte, site,ede empty"
  else
    fail "$name: upgrade: rows changed"
  fi
  [ "$(fields "$D/observations.csv" | sort -u | tr '\n' ' ')" = "19 " ] || fail "$name: upgrade: not 19 fields everywhere"
  [ "$(mlr --icsv --onidx uniq -f site,ede "$D/observations.csv")" = " " ] ||
    fail "$name: upgrade: site,ede not empty: $(mlr --icsv --onidx uniq -f site,ede "$D/observations.csv")"
  [ "$(stat -c %a "$D/observations.csv")" = 644 ] || fail "$name: upgrade: log mode $(stat -c %a "$D/observations.csv")"
  ls -A "$D" | grep -q 'upgrade' && fail "$name: upgrade: a temporary file left: $(ls -A "$D")"
  R=$(rebuilt "$D") && same_reports "$D" "$R" && ok "$name: upgrade: the reports equal a rebuild" ||
    fail "$name: upgrade: reports differ from a rebuild"
  same_reports "$T/$name.reports17" "$D" && ok "$name: upgrade: the same reports as from the 17-column log" ||
    fail "$name: upgrade: the reports of the upgraded log differ from those of the 17-column log"
  cp "$D/observations.csv" "$T/before"
  expect_exit 0 "$DNSPROP" report --upgrade --dir "$D"
  grep -q 'nothing to upgrade' "$T/err" && ok "$name: second upgrade: $(head -1 "$T/err")" ||
    fail "$name: second upgrade: stderr: $(cat "$T/err")"
  cmp -s "$T/before" "$D/observations.csv" || fail "$name: second upgrade changed the log"
  # appended to in the new form now, without a notice
  check_args "$name"
  "$DNSPROP" check "${ARGS[@]}" --dir "$D" >"$T/out" 2>"$T/err" </dev/null
  [ -s "$T/err" ] && fail "$name: check after upgrade: stderr: $(cat "$T/err")"
  is_prefix "$T/before" "$D/observations.csv" || fail "$name: check after upgrade changed old rows"
  [ "$(fields "$D/observations.csv" | sort -u | tr '\n' ' ')" = "19 " ] || fail "$name: check after upgrade: rows not of 19 fields"

  # ---- an upgrade that cannot write the new log ----------------------------------
  size=$(wc -c <"$FX/observations.csv")
  blocks=$((size / 1024)) # bash: 1024-byte blocks; less than the new log
  prep "$FX" "$name" || continue
  (trap '' XFSZ && ulimit -f "$blocks" && exec "$DNSPROP" report --upgrade --dir "$D") >"$T/out" 2>"$T/err"
  rc=$?
  [ "$rc" -eq 3 ] && ok "$name: upgrade, file too large: exit 3: $(head -1 "$T/err")" ||
    fail "$name: upgrade, file too large: exit $rc, want 3: $(cat "$T/err")"
  cmp -s "$FX/observations.csv" "$D/observations.csv" && ok "$name: upgrade, file too large: the old log intact" ||
    fail "$name: upgrade, file too large: the log changed"
  ls -A "$D" | grep -q 'upgrade' && fail "$name: upgrade, file too large: a temporary file left: $(ls -A "$D")"
  # killed by SIGXFSZ halfway: the old log intact; the next upgrade cleans up
  prep "$FX" "$name" || continue
  (ulimit -f "$blocks" && exec "$DNSPROP" report --upgrade --dir "$D") >"$T/out" 2>"$T/err"
  rc=$?
  [ "$rc" -eq $((128 + 25)) ] || fail "$name: upgrade under SIGXFSZ: exit $rc, want 153 (killed)"
  left=$(ls -A "$D" | grep -c '^\.observations\.csv\.upgrade\.')
  echo "$name: upgrade killed: $left temporary file(s) left for the next run to remove"
  cmp -s "$FX/observations.csv" "$D/observations.csv" && ok "$name: upgrade killed: the old log intact" ||
    fail "$name: upgrade killed: the log changed"
  expect_exit 0 "$DNSPROP" report --dir "$D"
  cmp -s "$FX/observations.csv" "$D/observations.csv" || fail "$name: report after a killed upgrade changed the log"
  ls -A "$D" | grep -q 'upgrade' && fail "$name: after the next run: a temporary file left: $(ls -A "$D")" ||
    ok "$name: the next run (report) leaves no temporary file"
  expect_exit 0 "$DNSPROP" report --upgrade --dir "$D"
  ls -A "$D" | grep -q 'upgrade' && fail "$name: after the next upgrade: a temporary file left: $(ls -A "$D")"
  cmp -s <(tail -n +2 "$FX/observations.csv" | sed 's/\r$/,,\r/') <(tail -n +2 "$D/observations.csv") ||
    fail "$name: the upgrade after a killed one: rows changed"

  # ---- a folder others can write: refused, and upgraded with --insecure-dir ----
  prep "$FX" "$name" || continue
  chmod 0777 "$D"
  expect_exit 3 "$DNSPROP" report --upgrade --dir "$D"
  grep -q -- '--insecure-dir' "$T/err" || fail "$name: insecure folder: the refusal does not name --insecure-dir: $(cat "$T/err")"
  cmp -s "$FX/observations.csv" "$D/observations.csv" || fail "$name: insecure folder: the refused upgrade changed the log"
  expect_exit 0 "$DNSPROP" report --upgrade --insecure-dir --dir "$D"
  [ "$(grep -c 'warning' "$T/err")" -eq 1 ] && ok "$name: upgrade --insecure-dir: one warning" ||
    fail "$name: upgrade --insecure-dir: want one warning, stderr: $(cat "$T/err")"
  [ "$(header "$D/observations.csv")" = "$HEADER19" ] && ok "$name: upgrade --insecure-dir: upgraded" ||
    fail "$name: upgrade --insecure-dir: not upgraded"

  # ---- merge (issue #15): an old folder as a source, and as the target ---------
  # into a new folder: every old row, read field by field and written again by
  # today's dnsprop, is its old line with ",," (empty site,ede) before CRLF
  prep "$FX" "$name" || continue
  rm -rf "$T/merged"
  expect_exit 0 "$DNSPROP" merge --dir "$T/merged" "$D"
  [ "$(header "$T/merged/observations.csv")" = "$HEADER19" ] || fail "$name: merge into a new folder: header"
  cmp -s <(tail -n +2 "$FX/observations.csv" | sed 's/\r$/,,\r/') <(tail -n +2 "$T/merged/observations.csv") &&
    ok "$name: merge into a new folder: every old row read and written back field for field" ||
    fail "$name: merge into a new folder: rows differ from the old ones"
  cmp -s "$FX/observations.csv" "$D/observations.csv" || fail "$name: merge changed its source"
  cp "$T/merged/observations.csv" "$T/before"
  expect_exit 0 "$DNSPROP" merge --dir "$T/merged" "$D"
  cmp -s "$T/before" "$T/merged/observations.csv" && ok "$name: merge again: nothing appended" ||
    fail "$name: merge again changed the log"
  # into an old folder (the other fixture): 17 columns kept, one notice, the
  # rows' fields as in the source (rounds renumbered after the target's)
  other=""
  for o in "$DATA"/v0.1-folder-*/; do [ "${o%/}" != "$FX" ] && other=${o%/} && break; done
  prep "$other" target || continue
  "$DNSPROP" merge --dir "$T/target" "$D" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  [ "$rc" -eq 0 ] || fail "$name: merge into an old folder: exit $rc: $(cat "$T/err")"
  [ "$(grep -c 'upgrade' "$T/err")" -eq 1 ] && ok "$name: merge into an old folder: one notice" ||
    fail "$name: merge into an old folder: want one notice naming --upgrade: $(cat "$T/err")"
  is_prefix "$other/observations.csv" "$T/target/observations.csv" || fail "$name: merge into an old folder changed its rows"
  [ "$(fields "$T/target/observations.csv" | sort -u | tr '\n' ' ')" = "17 " ] ||
    fail "$name: merge into an old folder: rows not of 17 fields"
  diff <(mlr --icsv --ocsv cut -x -f round "$FX/observations.csv") \
    <(mlr --icsv --ocsv tail -n "$rows" then cut -x -f round "$T/target/observations.csv") >"$T/d" &&
    ok "$name: merge into an old folder: the source rows' fields kept" ||
    { fail "$name: merge into an old folder: rows differ:"; head -4 "$T/d" >&2; }
  R=$(rebuilt "$T/target") && same_reports "$T/target" "$R" && ok "$name: merge into an old folder: reports equal a rebuild" ||
    fail "$name: merge into an old folder: reports differ from a rebuild"

  # ---- import atlas into an old folder: 17 columns kept, once ----------------------
  prep "$FX" "$name" || continue
  "$DNSPROP" import atlas "$DATA/atlas/tools_dns_compact_basic.json" 1xbet.com --checks a --dir "$D" \
    >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  [ "$rc" -ne 3 ] || fail "$name: import into an old folder: exit 3: $(cat "$T/err")"
  [ "$(grep -c 'upgrade' "$T/err")" -eq 1 ] || fail "$name: import into an old folder: want one notice: $(cat "$T/err")"
  is_prefix "$FX/observations.csv" "$D/observations.csv" || fail "$name: import changed the old rows"
  added=$(($(wc -l <"$D/observations.csv") - rows - 1))
  [ "$added" -gt 0 ] && [ "$(fields "$D/observations.csv" | sort -u | tr '\n' ' ')" = "17 " ] &&
    ok "$name: import into an old folder: $added rows of 17 fields" ||
    fail "$name: import into an old folder: $added rows, fields $(fields "$D/observations.csv" | sort -u | tr '\n' ' ')"
  cp "$D/observations.csv" "$T/before"
  "$DNSPROP" import atlas "$DATA/atlas/tools_dns_compact_basic.json" 1xbet.com --checks a --dir "$D" -q \
    >"$T/out" 2>"$T/err" </dev/null
  cmp -s "$T/before" "$D/observations.csv" && ok "$name: import again into an old folder: nothing added" ||
    fail "$name: import again into an old folder added rows (the 17-column rows not recognized)"
  R=$(rebuilt "$D") && same_reports "$D" "$R" || fail "$name: import into an old folder: reports differ from a rebuild"
done
[ "$n_fixtures" -ge 2 ] || fail "want at least 2 fixture folders in $DATA, found $n_fixtures"
finish
