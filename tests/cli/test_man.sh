#!/usr/bin/env bash
# man/dnsprop.1 against the program: every option (and query flag) that
# `dnsprop --help` or `dnsprop COMMAND --help` shows must be documented under
# that command in the man page, and every option the man page documents for
# a command must be in that command's --help. The man page marks its option
# lists with ".\" dnsprop-options: COMMAND..." lines; its ".TP" items are the
# documented options. Then groff must render it without a warning (-ww), and
# man -l must read it.
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSPROP_SRC:?}"
MAN=$DNSPROP_SRC/man/dnsprop.1
[ -f "$MAN" ] || { fail "no man page at $MAN"; finish; }

# Options in a --help text: the words of the usage line and the first column
# of the option lines ("  --dir DIR   text": only "--dir"), so that options
# only mentioned in the prose are not counted.
help_opts() {
  awk '
    /^(Usage: )?[ ]*dnsprop / || /^  dnsprop / { line = $0 }
    /^  [-+]/ { line = $0; sub(/^  /, "", line); sub(/  .*/, "", line) }
    line != "" {
      n = split(line, w, /[][ ,|]+/)
      for (i = 1; i <= n; i++) if (w[i] ~ /^(--?[a-z][a-z0-9-]*|\+[a-z]+)$/) print w[i]
      line = ""
    }' | sort -u
}

# Options the man page documents for command $1 ("global": --help, --version).
man_opts() {
  awk -v cmd="$1" '
    /^\.\\" dnsprop-options:/ {
      mine = 0
      for (i = 3; i <= NF; i++) if ($i == cmd) mine = 1
      next
    }
    /^\.S[HS]/ { mine = 0 }
    mine && prev == ".TP" {
      s = $0; gsub(/\\-/, "-", s)
      if (match(s, /(--?[a-z][a-z0-9-]*|\+[a-z]+)/)) print substr(s, RSTART, RLENGTH)
    }
    { prev = $0 }' "$MAN" | sort -u
}

compare() { # compare WHERE-HELP WHERE-MAN HELP-LIST MAN-LIST [one-way]
  local o
  for o in $3; do
    grep -qxF -- "$o" <<<"$4" || fail "option $o is in '$1' but not in man/dnsprop.1 under $2"
  done
  [ "${5:-}" = one-way ] && return
  for o in $4; do
    grep -qxF -- "$o" <<<"$3" || fail "option $o is in man/dnsprop.1 under $2 but not in '$1'"
  done
}

"$DNSPROP" --help >"$T/help" || fail "dnsprop --help exits non-zero"
# the top-level usage: each command's synopsis line, and the global line
commands=$(awk '/^  dnsprop [a-z]/ { print $2 }' "$T/help")
[ -n "$commands" ] || fail "no command found in dnsprop --help"
global=$(grep -E '^  dnsprop --' "$T/help" | help_opts | grep -vx -- '--help\|--version' || true)
[ -z "$global" ] || fail "unexpected global options in dnsprop --help: $global"
compare "dnsprop --help" "General" "$(printf -- '--help\n--version\n')" "$(man_opts global)"
grep -qE '^  dnsprop --help \| COMMAND --help \| --version$' "$T/help" ||
  fail "dnsprop --help lost its '--help | COMMAND --help | --version' line"
checked=0
for c in $commands; do
  in_top=$(grep -E "^  dnsprop $c( |$)" "$T/help" | help_opts)
  "$DNSPROP" "$c" --help >"$T/help_$c" || fail "dnsprop $c --help exits non-zero"
  in_cmd=$(help_opts <"$T/help_$c")
  in_man=$(man_opts "$c")
  [ -n "$in_man$in_cmd" ] || continue
  compare "dnsprop --help" "$c" "$in_top" "$in_man" one-way # the synopsis shows only some
  compare "dnsprop $c --help" "$c" "$in_cmd" "$in_man"
  grep -qE "^\.B $c( |$)" "$MAN" || fail "man/dnsprop.1 does not describe the command $c"
  checked=$((checked + $(wc -w <<<"$in_cmd")))
done
# the man page's own command list has nothing --help lacks
for c in $(awk '/^\.\\" dnsprop-options:/ { for (i = 3; i <= NF; i++) print $i }' "$MAN" | sort -u); do
  [ "$c" = global ] && continue
  grep -qxF "$c" <<<"$commands" || fail "man/dnsprop.1 documents options of '$c', which dnsprop --help does not list"
done
[ "$checked" -ge 20 ] || fail "only $checked options compared: the parsing is broken"
ok "$checked options of $(wc -w <<<"$commands") commands agree between --help and man/dnsprop.1"

# renders without a warning
warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MAN" 2>&1)
[ -z "$warn" ] && ok "groff -man -ww: no warning" || fail "groff -man -ww warns: $warn"
out=$(MANWIDTH=80 man -l "$MAN" 2>"$T/man_err")
[ -s "$T/man_err" ] && fail "man -l wrote on stderr: $(head -3 "$T/man_err")"
for s in SYNOPSIS COMMANDS OPTIONS "EXIT STATUS" FILES "REPORT COLUMNS" PROMETHEUS; do
  grep -q "^$s" <<<"$out" || fail "man -l: no section $s"
done
# The columns of every CSV the program writes are documented in that file's
# subsection of REPORT COLUMNS: one round against a closed loopback port
# (nothing answers, nothing leaves the host) writes every report.
"$DNSPROP" check contoso.com --resolvers 127.0.0.1:9 --authority none --timeout 100ms --tries 1 \
  --vantage test --dir "$T/d" >/dev/null 2>&1
files=0
for csv in observations convergence timeline mx_compliance summary; do
  [ -s "$T/d/$csv.csv" ] || { fail "the check wrote no $csv.csv"; continue; }
  files=$((files + 1))
  # the subsection's text, from ".SS NAME.csv" to the next .SS or .SH
  section=$(awk -v h=".SS $csv.csv" '$0 == h { on = 1; next } /^\.S[SH]/ { on = 0 } on' "$MAN" | sed 's/\\-/-/g')
  [ -n "$section" ] || { fail "man/dnsprop.1 has no '.SS $csv.csv' under REPORT COLUMNS"; continue; }
  for col in $(head -1 "$T/d/$csv.csv" | tr -d '\r' | tr ',' ' '); do
    grep -qE "^\.(B|BR) ([^ ]+ \"[, ]+\" )*$col( |$)" <<<"$section" ||
      fail "man/dnsprop.1: column '$col' of $csv.csv is not documented under '.SS $csv.csv'"
  done
done
[ $files -eq 5 ] && ok "every column of the 5 reports is documented" || fail "only $files reports checked"
finish
