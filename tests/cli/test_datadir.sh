#!/usr/bin/env bash
# The data folder is not trusted blindly (PRODUCT.md section 9, issue #19).
# A TABLE, beside the bad-input table (test_bad_inputs.sh), of what someone
# who can write a data folder may plant in it: a symlink (to a file, or to
# nothing) under every name dnsprop writes or reads there, the old fixed
# temporary names included; a FIFO, a folder, a device, a hard link, another
# user's file. Every row must end with exit 3 within a bounded time (a FIFO
# must not hang the run), exactly one line on stderr naming the path and why,
# and nothing changed: not the folder, not the symlink's target, which is not
# created either. Then the folder itself (writable by group or others, owned
# by nobody, a symlink): refused, and accepted with --insecure-dir with one
# warning line every run; the attack of the issue, exactly; and the ordinary
# cron case in a /var/lib/dnsprop-like folder. Runs as root, as CI does:
# root is whom the attack is aimed at.
# The only resolver named is 127.0.0.6:9 (loopback, nothing listens), as in
# the issue; no row sends anything anywhere else.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" -eq 0 ] || {
  fail "must run as root, as CI does (the rows chown to nobody)"
  finish
}

SAFE=(--resolvers 127.0.0.6:9 --authority none --timeout 300ms --tries 1)
V="$T/victims" # what the planted names point at
O="$T/o"       # outputs of each run
mkdir -p "$V" "$O" "$T/rows"
echo "precious data" >"$V/victim"

# what a row must leave as it was: names, types, modes, owners, sizes,
# symlink targets and contents
snap() {
  find "$@" -printf '%p %y %m %U %s %l\n' | sort
  find "$@" -type f -exec sha256sum {} + | sort
}

# a folder after one ordinary run: every file dnsprop keeps there exists
"$DNSPROP" check sym.test "${SAFE[@]}" --dir "$T/tpl" >"$O/out" 2>"$O/err" </dev/null
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$O/err" ] || fail "template run: exit $rc, want 1, stderr: $(cat "$O/err")"
for f in observations.csv convergence.csv timeline.csv mx_compliance.csv summary.csv \
  convergence.svg settings.csv .lock .state; do
  [ -f "$T/tpl/$f" ] || fail "template run: $f missing"
done

# a folder with a log of the older form (17 columns), for report --upgrade
mkdir -m 0755 "$T/tpl_old"
cp "$DNSPROP_SRC/fuzz/corpus/fuzz_obslog/demo_head.csv" "$T/tpl_old/observations.csv"

# plant KIND PATH: puts the attacker's object at PATH
plant() {
  case $1 in
  symlink) ln -s "$V/victim" "$2" ;;
  dangling) ln -s "$V/victim2" "$2" ;;
  devlink) ln -s /dev/null "$2" ;;
  fifo) mkfifo "$2" ;;
  dir) mkdir "$2" ;;
  device) mknod "$2" c 1 3 ;; # the same device as /dev/null
  hardlink) cp "$V/victim" "$V/linked$rows" && ln "$V/linked$rows" "$2" ;;
  foreign) echo "theirs" >"$2" && chown nobody "$2" ;;
  esac
}
# why KIND: what the refusal must say
why() {
  case $1 in
  symlink) echo "is a symbolic link (to '$V/victim')" ;;
  dangling) echo "is a symbolic link (to '$V/victim2')" ;;
  devlink) echo "is a symbolic link (to '/dev/null')" ;;
  fifo) echo "is a FIFO" ;;
  dir) echo "is a folder" ;;
  device) echo "is a character device" ;;
  hardlink) echo "has 2 hard links" ;;
  foreign) echo "owned by uid 65534" ;;
  esac
}
# cmdline CMD DIR: the command line of a row
cmdline() {
  case $1 in
  check) echo check sym.test "${SAFE[*]}" --dir "$2" ;;
  watch) echo watch sym.test "${SAFE[*]}" --interval 1s --dir "$2" ;;
  report) echo report --dir "$2" ;;
  upgrade) echo report --upgrade --dir "$2" ;;
  demo) echo demo --dir "$2" ;;
  esac
}

rows=0
# row KIND NAME BASE CMD: BASE is lived (a copy of the template), old (a log
# of the older form only) or fresh (an empty folder 0755); KIND is planted
# under NAME, then CMD runs on it.
row() {
  local kind=$1 name=$2 base=$3 cmd=$4
  rows=$((rows + 1))
  local D="$T/rows/$rows"
  case $base in
  lived) cp -a "$T/tpl" "$D" ;;
  old) cp -a "$T/tpl_old" "$D" ;;
  *) mkdir -m 0755 "$D" ;;
  esac
  rm -rf "${D:?}/$name"
  if ! plant "$kind" "$D/$name" 2>"$O/plant"; then
    fail "row $rows: cannot plant $kind at $name: $(cat "$O/plant")"
    return
  fi
  local before what rc lines
  before=$(snap "$D" "$V")
  what="$kind $name ($base): dnsprop $cmd"
  # shellcheck disable=SC2046 # the command line is split on purpose (no spaces in $T)
  timeout 60 "$DNSPROP" $(cmdline "$cmd" "$D") >"$O/out" 2>"$O/err" </dev/null
  rc=$?
  lines=$(wc -l <"$O/err")
  if [ "$rc" -eq 124 ]; then
    fail "hung (killed after 60 s): $what"
  elif [ "$rc" -ne 3 ]; then
    fail "exit $rc, want 3: $what"
  elif [ "$lines" -ne 1 ]; then
    fail "$lines lines on stderr, want 1: $what"
  elif ! grep -qF -- "$D/$name: $(why "$kind")" "$O/err"; then
    fail "stderr does not say \"$D/$name: $(why "$kind")\": $what"
  elif [ "$(snap "$D" "$V")" != "$before" ]; then
    fail "something was created or changed: $what"
    diff <(echo "$before") <(snap "$D" "$V") | sed 's/^/  /' | head -6 >&2
  else
    ok "refused: $what"
    return
  fi
  sed 's/^/  stderr: /' "$O/err" | head -5 >&2
}

NAMES=(observations.csv convergence.csv timeline.csv mx_compliance.csv summary.csv
  convergence.svg settings.csv .lock .state)
OLD_TMP=(.observations.csv.tmp .convergence.csv.tmp .timeline.csv.tmp .mx_compliance.csv.tmp
  .summary.csv.tmp .convergence.svg.tmp .settings.csv.tmp ..state.tmp)

# ---- a symlink under every name, in a folder in use and in a new one --------
for n in "${NAMES[@]}" "${OLD_TMP[@]}"; do
  row symlink "$n" lived check
  row dangling "$n" fresh check
  row symlink "$n" lived report
done
row symlink summary.csv lived watch
row dangling observations.csv fresh watch
row symlink convergence.csv lived demo
row dangling .summary.csv.tmp fresh demo
# report --upgrade rewrites the log: the same rules
row symlink observations.csv old upgrade
row dangling summary.csv old upgrade
row symlink .observations.csv.tmp old upgrade
row fifo .state old upgrade
row dir .lock old upgrade
row hardlink observations.csv old upgrade
# ---- a FIFO (the run must not hang), a folder, a device ----------------------
for n in "${NAMES[@]}"; do
  row fifo "$n" lived check
  row dir "$n" lived check
done
for c in check watch report demo; do
  row fifo observations.csv fresh "$c"
done
row fifo .state lived report
row fifo timeline.csv lived watch
row dir .lock fresh watch
row dir settings.csv lived report
row dir .state fresh demo
# a device node needs CAP_MKNOD: a container may lack it (then said, not counted)
if mknod "$T/probe" c 1 3 2>/dev/null; then
  rm "$T/probe"
  row device observations.csv fresh check
  row device summary.csv lived report
  row device .lock lived watch
else
  echo "skipped: 3 device rows (mknod is not permitted here); the devlink rows remain"
fi
row devlink observations.csv fresh check
row devlink .lock lived report
# ---- a hard link to a file elsewhere, another user's file --------------------
row hardlink observations.csv lived check
row hardlink summary.csv lived report
row hardlink .state lived check
row foreign settings.csv lived check
row foreign observations.csv lived report
[ "$rows" -ge 95 ] || fail "only $rows rows"
echo "$rows rows"

# ---- the folder itself ----------------------------------------------------------
# folder_row WHY CMD DIR: refused, one line naming DIR and why, nothing changed
folder_row() {
  local frag=$1 cmd=$2 D=$3 before rc
  before=$(snap "$D")
  # shellcheck disable=SC2046
  timeout 60 "$DNSPROP" $(cmdline "$cmd" "$D") >"$O/out" 2>"$O/err" </dev/null
  rc=$?
  if [ "$rc" -ne 3 ] || [ "$(wc -l <"$O/err")" -ne 1 ] || ! grep -qF -- "$frag" "$O/err"; then
    fail "$D ($frag): dnsprop $cmd: exit $rc, want 3 and one line with \"$frag\""
    sed 's/^/  stderr: /' "$O/err" | head -5 >&2
  elif [ "$(snap "$D")" != "$before" ]; then
    fail "$D ($frag): dnsprop $cmd changed the folder"
  else
    ok "refused: $D ($frag): dnsprop $cmd"
  fi
}
cp -a "$T/tpl" "$T/w777" && chmod 0777 "$T/w777"
cp -a "$T/tpl" "$T/w775" && chmod 0775 "$T/w775"
cp -a "$T/tpl" "$T/w1777" && chmod 1777 "$T/w1777"
cp -a "$T/tpl" "$T/nobody" && chown nobody "$T/nobody"
mkdir -m 0777 "$T/new777"
ln -s "$T/tpl" "$T/link"
for c in check watch report demo; do
  folder_row "$T/w777: writable by group and others (mode 0777)" "$c" "$T/w777"
  folder_row "$T/nobody: owned by uid 65534 (nobody), not by uid 0 (root)" "$c" "$T/nobody"
  folder_row "$T/link: is a symbolic link" "$c" "$T/link"
done
cp -a "$T/tpl_old" "$T/w777old" && chmod 0777 "$T/w777old"
folder_row "$T/w777old: writable by group and others (mode 0777)" upgrade "$T/w777old"
folder_row "$T/w775: writable by group (mode 0775)" check "$T/w775"
folder_row "$T/w1777: writable by group and others (mode 1777)" check "$T/w1777"
folder_row "$T/new777: writable by group and others" check "$T/new777"
folder_row "$T/link: is a symbolic link" check "$T/link/"
[ -z "$(ls -A "$T/new777")" ] || fail "new777: files made in a refused folder"

# accepted with --insecure-dir: the run works, with one warning line each time
# accepted CMD DIR EXITS: runs CMD --insecure-dir twice, want one of EXITS
# (space-separated) and one warning line
accepted() {
  local cmd=$1 D=$2 want=$3 i rc
  for i in 1 2; do
    case $cmd in
    watch) # rounds until a short window ends: exit 1 (the last round
      # still propagating) or 2 (a slow machine ran it after the window)
      timeout 120 "$DNSPROP" watch sym.test "${SAFE[@]}" --interval 1s --since now --window 3s \
        --dir "$D" --insecure-dir >"$O/out" 2>"$O/err" </dev/null ;;
    *)
      # shellcheck disable=SC2046
      timeout 120 "$DNSPROP" $(cmdline "$cmd" "$D") --insecure-dir >"$O/out" 2>"$O/err" </dev/null ;;
    esac
    rc=$?
    if [[ " $want " != *" $rc "* ]]; then
      fail "$D: dnsprop $cmd --insecure-dir (run $i): exit $rc, want one of $want"
      sed 's/^/  stderr: /' "$O/err" | head -5 >&2
    elif [ "$(grep -c "warning: $D: .*used anyway because of --insecure-dir" "$O/err")" -ne 1 ]; then
      fail "$D: dnsprop $cmd --insecure-dir (run $i): want one warning line, got: $(cat "$O/err")"
    else
      ok "accepted with one warning: $D: dnsprop $cmd --insecure-dir (run $i)"
    fi
  done
}
accepted check "$T/w777" 1
accepted report "$T/w777" 0
accepted watch "$T/w777" '1 2'
accepted upgrade "$T/w777old" 0
head -1 "$T/w777old/observations.csv" | grep -q ',site,ede' || fail "--insecure-dir: the upgrade did not happen"
accepted check "$T/nobody" 1
accepted report "$T/nobody" 0
accepted watch "$T/nobody" '1 2'
[ "$(stat -c %a "$T/w777")" = 777 ] || fail "--insecure-dir changed the folder's mode"
# demo: a whole run (about half a minute), once
mkdir -m 0777 "$T/demo777"
timeout 200 "$DNSPROP" demo --dir "$T/demo777" --insecure-dir -q >"$O/out" 2>"$O/err" </dev/null
rc=$?
if [ "$rc" -le 1 ] && [ "$(grep -c 'used anyway because of --insecure-dir' "$O/err")" -eq 1 ] &&
  [ -s "$T/demo777/summary.csv" ]; then
  ok "demo --insecure-dir: exit $rc, one warning, reports written"
else
  fail "demo --insecure-dir: exit $rc, stderr: $(head -3 "$O/err")"
fi
# still refused with --insecure-dir: anything planted in it
rm "$T/w777/summary.csv" && ln -s "$V/victim" "$T/w777/summary.csv"
"$DNSPROP" check sym.test "${SAFE[@]}" --dir "$T/w777" --insecure-dir >"$O/out" 2>"$O/err" </dev/null
rc=$?
[ "$rc" -eq 3 ] && grep -qF "$T/w777/summary.csv: is a symbolic link" "$O/err" &&
  ok "--insecure-dir still refuses a planted symlink" ||
  fail "--insecure-dir and a planted symlink: exit $rc: $(cat "$O/err")"

# ---- the attack of the issue, exactly ---------------------------------------------
A="$T/attack"
mkdir -m 0777 "$A"
echo "precious data" >"$T/victim"
ln -s "$T/victim" "$A/.summary.csv.tmp"
ln -s "$T/victim2" "$A/observations.csv"
attack() {
  "$DNSPROP" check sym.test --resolvers 127.0.0.6:9 --authority none --dir "$A" "$@" \
    >"$O/out" 2>"$O/err" </dev/null
}
before=$(snap "$A")
attack
rc=$?
[ "$rc" -eq 3 ] && [ "$(wc -l <"$O/err")" -eq 1 ] && grep -qF "$A: writable by" "$O/err" &&
  [ "$(snap "$A")" = "$before" ] &&
  ok "the issue's attack: refused (exit 3, one line)" ||
  fail "the issue's attack: exit $rc: $(cat "$O/err")"
attack --insecure-dir
rc=$?
[ "$rc" -eq 3 ] && [ "$(snap "$A")" = "$before" ] && grep -qF "$A/observations.csv: is a symbolic link (to '$T/victim2')" "$O/err" &&
  ok "the issue's attack with --insecure-dir: refused" ||
  fail "the issue's attack with --insecure-dir: exit $rc: $(cat "$O/err")"
chmod 0755 "$A"
before=$(snap "$A")
attack
rc=$?
[ "$rc" -eq 3 ] && grep -qF "$A/observations.csv: is a symbolic link" "$O/err" &&
  [ "$(snap "$A")" = "$before" ] ||
  fail "the issue's attack in a 0755 folder: exit $rc: $(cat "$O/err")"
rm "$A/observations.csv"
before=$(snap "$A")
attack
rc=$?
[ "$rc" -eq 3 ] && grep -qF "$A/.summary.csv.tmp: is a symbolic link (to '$T/victim')" "$O/err" &&
  [ "$(snap "$A")" = "$before" ] && ok "the old temporary name, planted: refused" ||
  fail "the old temporary name, planted: exit $rc: $(cat "$O/err")"
[ "$(cat "$T/victim")" = "precious data" ] && ok "the issue's attack: the victim is unchanged" ||
  fail "the issue's attack: the victim was written: $(head -2 "$T/victim")"
[ ! -e "$T/victim2" ] && ok "the issue's attack: victim2 was not created" ||
  fail "the issue's attack: victim2 was created"
rm "$A/.summary.csv.tmp"
attack
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$O/err" ] && [ "$(cat "$T/victim")" = "precious data" ] &&
  ok "the folder cleaned up: the run works (exit 1), the victim untouched" ||
  fail "the folder cleaned up: exit $rc: $(cat "$O/err")"

# ---- the ordinary cron case: /var/lib/dnsprop/DOMAIN, made by the first run ------
for mask in 022 077; do
  C="$T/m$mask/var/lib/dnsprop/contoso"
  for i in 1 2; do
    (umask "$mask" && cd / && exec "$DNSPROP" check sym.test "${SAFE[@]}" --dir "$C") \
      >"$O/out" 2>"$O/err" </dev/null
    rc=$?
    [ "$rc" -eq 1 ] && [ ! -s "$O/err" ] && grep -q '^DNSPROP WARNING - sym.test' "$O/out" &&
      ok "cron (umask $mask), run $i: exit 1, one status line, nothing on stderr" ||
      fail "cron (umask $mask), run $i: exit $rc, stderr: $(cat "$O/err")"
  done
  [ "$(stat -c %a "$C")" = 755 ] || fail "cron (umask $mask): folder mode $(stat -c %a "$C"), want 755"
  for f in observations.csv convergence.csv timeline.csv mx_compliance.csv summary.csv \
    convergence.svg settings.csv .lock .state; do
    [ "$(stat -c %a "$C/$f" 2>/dev/null)" = 644 ] ||
      fail "cron (umask $mask): $f mode $(stat -c %a "$C/$f" 2>&1), want 644"
  done
  [ "$(find "$C" -name '*.tmp' | wc -l)" -eq 0 ] || fail "cron (umask $mask): temporary files left"
  [ "$(grep -c ',sym.test,' "$C/observations.csv")" -eq 8 ] ||
    fail "cron (umask $mask): want 8 rows (2 rounds of 4 checks) in the log"
  [ "$(grep -c ',sym.test,' "$C/timeline.csv")" -eq 8 ] ||
    fail "cron (umask $mask): want 8 timeline rows"
  expect_exit 0 "$DNSPROP" report --dir "$C"
  [ -s "$T/err" ] && fail "cron (umask $mask): report complains: $(cat "$T/err")"
done

# ---- --help tells ------------------------------------------------------------------
for c in check watch report demo; do
  "$DNSPROP" "$c" --help | grep -q -- '--insecure-dir' || fail "dnsprop $c --help lacks --insecure-dir"
done
finish
