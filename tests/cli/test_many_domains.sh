#!/usr/bin/env bash
# A --domains file of 20,000 domains, one round against a local server that
# answers every name (tests/tools/dnsfault.c, mode good): every domain asked
# and reported, once, in every file; one status line; a repeated domain
# refused with its line, before anything is created. Behaviour only: the
# time this takes is the benchmark's business (bench/bench_check.sh).
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSFAULT:?DNSFAULT must name the dnsfault test server}"
N=20000

"$DNSFAULT" good 1 >"$T/port" &
pid=$!
on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { fail "dnsfault did not start"; finish; }
srv=127.0.0.1:$(cat "$T/port")

# the file as a spreadsheet might give it: a header, a comment, CRLF on some
# lines, upper case and a final dot on others (normalized by dnsprop)
{
  printf 'domain\r\n'
  echo '# customers'
  awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) {
      if (i % 7 == 0) printf "D%05d.Many.Test.\r\n", i
      else printf "d%05d.many.test\n", i } }'
} >"$T/domains.csv"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "d%05d.many.test\n", i }' | sort >"$T/want"

# dnsfault answers from one thread (slowly under ASan): a modest --inflight
# and more tries, so that a busy machine does not lose answers for good
"$DNSPROP" check --domains "$T/domains.csv" --checks mx --resolvers "$srv" --authority none \
  --rate 0 --inflight 32 --tries 5 --timeout 5s --dir "$T/d" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 1 ]; then ok "round over $N domains: exit 1 (nothing expected: pending)"; else
  fail "round over $N domains: exit $rc, want 1"; sed 's/^/  /' "$T/err" | head -5 >&2; fi

# one status line, whatever the number of domains
lines=$(wc -l <"$T/out")
[ "$lines" = 1 ] && ok "one status line" || fail "status: $lines lines"
grep -q "^DNSPROP WARNING - d00001.many.test mx 0/1 converged; .*; +$((N - 5)) more | " "$T/out" &&
  ok "status names the first checks and counts the rest" || fail "status line: $(cut -c1-200 "$T/out")"
len=$(wc -c <"$T/out")
[ "$len" -lt 1024 ] && ok "status line is $len bytes" || fail "status line is $len bytes"

# the log: 3 rows per domain (MX, the target's A and AAAA), all answered
log=$T/d/observations.csv
rows=$(($(wc -l <"$log") - 1))
[ "$rows" = $((3 * N)) ] && ok "log: $rows rows" || fail "log: $rows rows, want $((3 * N))"
bad=$(awk -F, 'NR > 1 && $11 != "ok"' "$log" | wc -l)
[ "$bad" = 0 ] && ok "log: every query answered" ||
  fail "log: $bad rows not ok: $(awk -F, 'NR > 1 && $11 != "ok" { print $4, $7, $11 }' "$log" | head -3 | tr '\n' ';')"
awk -F, 'NR > 1 { n[$4]++ } END { for (d in n) if (n[d] != 3) print d, n[d] }' "$log" >"$T/odd"
[ -s "$T/odd" ] && fail "log: domains without exactly 3 rows: $(head -3 "$T/odd")" ||
  ok "log: every domain has its 3 rows"

# every report: each domain exactly once (mx: one resolver, so one row each)
for f in summary.csv convergence.csv mx_compliance.csv settings.csv; do
  awk -F, 'NR > 1 { print $1 }' "$T/d/$f" | sort >"$T/got.$f"
  if cmp -s "$T/got.$f" "$T/want"; then ok "$f: the $N domains, each once"; else
    fail "$f: not the $N domains once each ($(wc -l <"$T/got.$f") rows; first difference:" \
      "$(diff "$T/got.$f" "$T/want" | sed -n 2p))"
  fi
done
n=$(awk -F, '{ sub(/\r$/, "") } NR > 1 && $10 == "propagating"' "$T/d/summary.csv" | wc -l)
[ "$n" = "$N" ] && ok "summary: $N propagating" || fail "summary: $n propagating, want $N"

# a repeat deep in the file: refused with its line and the first one's;
# nothing created
{
  echo domain
  awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) {
      printf "d%05d.many.test\n", i
      if (i == 15000) print "D00003.many.test." } }'
} >"$T/dup.csv"
expect_exit 3 "$DNSPROP" check --domains "$T/dup.csv" --checks mx --resolvers "$srv" \
  --authority none --dir "$T/dup"
want="dnsprop check: $T/dup.csv:15002: domain 'd00003.many.test' given twice (first on line 4)"
[ "$(cat "$T/err")" = "$want" ] && ok "repeat refused with its line" ||
  fail "repeat: stderr '$(head -3 "$T/err")', want '$want'"
[ -e "$T/dup" ] && fail "repeat: $T/dup was created" || ok "repeat: nothing created"

# a file line repeating an argument
expect_exit 3 "$DNSPROP" check d12345.many.test --domains "$T/domains.csv" --checks mx \
  --resolvers "$srv" --authority none --dir "$T/arg"
want="dnsprop check: $T/domains.csv:12347: domain 'd12345.many.test' given twice (also an argument)"
[ "$(cat "$T/err")" = "$want" ] && ok "file line repeating an argument refused with its line" ||
  fail "argument repeat: stderr '$(head -3 "$T/err")', want '$want'"
[ -e "$T/arg" ] && fail "argument repeat: $T/arg was created" || ok "argument repeat: nothing created"

finish
