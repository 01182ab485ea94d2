# Helpers shared by the scenario tests (tests/lab/test_scn_*.sh): running
# dnsprop against the lab and reading its CSV files. Source it after lab.sh.
# Not a test itself (CTest picks up test_*.sh only).

command -v mlr >/dev/null 2>&1 || {
  echo "scn: 'mlr' (miller) not found (see TEST_PACKAGES in the Makefile)" >&2
  exit 1
}

# scn_need_port53 ADDR...: skips the scenario unless port 53 can be bound
# here (the lab's network namespace, or root) and nothing listens on port 53
# of any ADDR yet: on the host's loopback a resolver on *:53 (dnsmasq, ...)
# would take the queries.
scn_need_port53() {
  local a
  lab_can_bind 53 || skip "port 53 cannot be bound here (no network namespace, not root)"
  for a in "$@"; do
    lab__addr_busy "$a" 53 && skip "something already listens on $a:53 (or *:53)"
  done
  return 0
}

# scn_contoso_lab [ZONE-LINE...]: the lab a scenario starts from: Z is
# contoso.test (serial 1, TTL 60, MX 10 mail.contoso.test., then the given
# lines) in $T/contoso.zone, served by the Knot "auth" (its address in AUTH)
# and resolved by the Unbound "good". 1 when a server did not start.
scn_contoso_lab() {
  local l
  Z=contoso.test
  lab_zone "$T/contoso.zone" $Z 1 60 "10 mail.$Z."
  for l in "$@"; do echo "$l" >>"$T/contoso.zone"; done
  lab_start_auth auth "$T/contoso.zone" || return 1
  lab_start_unbound good auth || return 1
  AUTH=$(lab_addr auth)
}

# scn_csv FILE [MLR-VERB...]: reads a dnsprop CSV file with a real CSV parser
# (quoting, CRLF) and prints the rows as tab-separated values without header,
# after the given miller verbs, e.g.
#   scn_csv "$D/convergence.csv" filter '$check == "mx"' then cut -o -f server,state
scn_csv() {
  local file=$1
  shift
  if [ $# -gt 0 ]; then
    mlr --icsv --otsv --headerless-tsv-output "$@" "$file"
  else
    mlr --icsv --otsv --headerless-tsv-output cat "$file"
  fi
}

# scn_now: the time as fractional Unix seconds.
scn_now() { date +%s.%N; }

# scn_utc UNIXSECONDS: "YYYY-MM-DD HH:MM:SS" as dnsprop writes *_utc columns.
scn_utc() { date -u -d "@${1%%.*}" '+%Y-%m-%d %H:%M:%S'; }

# scn_secs "YYYY-MM-DD HH:MM:SS": that UTC time as Unix seconds.
scn_secs() { date -u -d "$1 UTC" +%s; }

# scn_elapsed_ms START: milliseconds since START (from scn_now).
scn_elapsed_ms() { awk -v s="$1" -v e="$(scn_now)" 'BEGIN { printf "%d\n", (e - s) * 1000 }'; }

# scn_time VAR CMD...: runs CMD like expect_exit would (stdout $T/out, stderr
# $T/err, stdin /dev/null), sets SCN_RC to its exit status and VAR to its wall
# time in milliseconds.
scn_time() {
  local var=$1 start
  shift
  start=$(scn_now)
  "$@" >"$T/out" 2>"$T/err" </dev/null
  SCN_RC=$?
  printf -v "$var" '%s' "$(scn_elapsed_ms "$start")"
}

# scn_check_formula_safe DIR: every field of every CSV file in DIR that starts
# with = + - @ TAB or CR (after undoing RFC 4180 quoting) must begin with '
# instead; prints each offender as FILE:LINE: FIELD and fails if any.
# Parsed with awk by hand rather than miller: miller would undo nothing but
# the quoting, and a hand parser also proves the files are plain RFC 4180.
scn_check_formula_safe() {
  local dir=$1 f bad=0
  for f in "$dir"/*.csv; do
    awk -v file="$(basename "$f")" '
      # One record may span lines inside quotes; fields are rebuilt char by char.
      function flush_field() {
        if (field ~ /^[=+@\t\r-]/) { printf "%s:%d: %s\n", file, start, field; bad = 1 }
        field = ""
      }
      BEGIN { RS = "\n"; inq = 0; field = ""; bad = 0 }
      {
        line = $0
        if (!inq) start = NR
        else field = field "\n"
        n = length(line)
        for (i = 1; i <= n; i++) {
          c = substr(line, i, 1)
          if (inq) {
            if (c == "\"") {
              if (substr(line, i + 1, 1) == "\"") { field = field "\""; i++ }
              else inq = 0
            } else field = field c
          } else if (c == "\"") inq = 1
          else if (c == ",") flush_field()
          else field = field c
        }
        if (!inq) { sub(/\r$/, "", field); flush_field() }
      }
      END { exit bad }' "$f" || bad=1
  done
  return "$bad"
}
