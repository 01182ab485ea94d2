#!/usr/bin/env bash
# dnsprop resolvers: the built-in list as CSV, list files and comma lists,
# and bad input (one line on stderr naming file:line or the argument, exit 3,
# no file created). Nothing here sends a packet.
set -u
. "$(dirname "$0")/../lib.sh"

hdr=$'name,address,operator,country\r'

# the built-in list: header, CRLF, one row per server of resolvers/public.csv
expect_exit 0 "$DNSPROP" resolvers
[ "$(head -1 "$T/out")" = "$hdr" ] || fail "built-in: bad header line: $(head -1 "$T/out" | od -c | head -2)"
want=$(grep -v '^#' "$DNSPROP_SRC/resolvers/public.csv" | grep -cv '^[[:space:]]*$')
want=$((want - 1))
got=$(($(wc -l < "$T/out") - 1))
[ "$got" -eq "$want" ] || fail "built-in: $got rows, want $want"
[ "$got" -ge 20 ] || fail "built-in: only $got rows"
[ "$(grep -c $'\r$' "$T/out")" -eq "$((got + 1))" ] || fail "built-in: not every line ends in CRLF"
grep -q '^google-a,8.8.8.8,Google,US'$'\r''$' "$T/out" || fail "built-in: google-a row missing"
grep -q ',\[2001:4860:4860::8888\],' "$T/out" || fail "built-in: no bracketed IPv6 row"
[ ! -s "$T/err" ] || fail "built-in: unexpected stderr: $(head -1 "$T/err")"

# a list file: comments, blank lines, quoting, CRLF; a duplicate address warns
printf '# my resolvers\r\n\r\nname,address,operator,country\r\nlab-a,127.0.0.1:5300,"Lab, Inc.",ZZ\r\nlab-b,[::1]:5300,Lab,ZZ\r\nlab-c,127.0.0.1:5300,Lab,ZZ\r\n' > "$T/list.csv"
expect_exit 0 "$DNSPROP" resolvers --resolvers "$T/list.csv"
[ "$(wc -l < "$T/out")" -eq 4 ] || fail "list file: want 4 lines"
grep -q '^lab-a,127.0.0.1:5300,"Lab, Inc.",ZZ'$'\r''$' "$T/out" || fail "list file: quoted operator not kept"
grep -q "list.csv:6: warning: duplicate address '127.0.0.1:5300' (first at line 4)" "$T/err" ||
  fail "list file: no duplicate warning: $(cat "$T/err")"

# a comma list, and --resolvers=SPEC
expect_exit 0 "$DNSPROP" resolvers --resolvers=127.0.0.1:5300,[::1]:5301
[ "$(sed -n 2p "$T/out")" = $'127.0.0.1:5300,127.0.0.1:5300,,\r' ] || fail "comma list: row 1: $(sed -n 2p "$T/out")"
[ "$(sed -n 3p "$T/out")" = $'[::1]:5301,[::1]:5301,,\r' ] || fail "comma list: row 2"

# bad input: exit 3, exactly one line on stderr naming where, nothing on stdout,
# no file created in the working folder
mkdir "$T/cwd"
bad() { # bad FRAGMENT ARGS...
  local frag=$1; shift
  (cd "$T/cwd" && expect_exit 3 "$DNSPROP" resolvers "$@")
  [ "$(wc -l < "$T/err")" -eq 1 ] || fail "$*: not exactly one line on stderr: $(cat "$T/err")"
  grep -qF -- "$frag" "$T/err" || fail "$*: stderr lacks '$frag': $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "$*: wrote to stdout"
  [ -z "$(ls -A "$T/cwd")" ] || fail "$*: created $(ls -A "$T/cwd")"
}
printf 'name,address,operator,country\na,8.8.8.8,,\nb,8.8.8.888,,\n' > "$T/bad.csv"
bad "bad.csv:3: bad address '8.8.8.888'" --resolvers "$T/bad.csv"
printf 'name,address,operator,country\na,1.2.3.4:0,,\n' > "$T/port.csv"
bad "port.csv:2: bad address '1.2.3.4:0': port must be 1 to 65535" --resolvers "$T/port.csv"
printf 'name,address\na,8.8.8.8\n' > "$T/hdr.csv"
bad "hdr.csv:1: header has 2 columns" --resolvers "$T/hdr.csv"
printf '# nothing\nname,address,operator,country\n' > "$T/empty.csv"
bad "empty.csv: the list holds no server" --resolvers "$T/empty.csv"
bad "missing.csv: cannot open: No such file or directory" --resolvers "$T/missing.csv"
bad "--resolvers 'missing.csv': no such file, and not a server address" --resolvers missing.csv
bad "--resolvers '8.8.8.8,::1:53': item 2 '::1:53': ambiguous IPv6 address" --resolvers 8.8.8.8,::1:53
bad "--resolvers needs a value" --resolvers
bad "unknown option '--frobnicate'" --frobnicate
bad "unexpected argument 'extra'" extra
finish
