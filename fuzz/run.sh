#!/bin/sh
# Runs every libFuzzer target of a DNSPROP_FUZZ=ON build for FUZZ_SECONDS
# each (default 60), FUZZ_JOBS at a time (default: the number of CPUs), on a
# scratch copy of its committed seed corpus fuzz/corpus/<target>/ (new inputs
# go to BUILD/fuzz-work/<target>/corpus, never into the source tree).
# Fails when any target crashes, leaks, trips a sanitizer or an assertion:
# the reproducer is then in BUILD/fuzz-work/<target>/ and its log is shown.
# Usage: fuzz/run.sh BUILD [TARGET...]
set -u
build=${1:?usage: fuzz/run.sh BUILD [TARGET...]}
shift
src=$(cd "$(dirname "$0")" && pwd)
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
targets=${*:-fuzz_reply fuzz_answer_text fuzz_obslog fuzz_rlist fuzz_expect fuzz_domains fuzz_dnsname fuzz_time fuzz_atlas fuzz_merge fuzz_resolv_conf fuzz_settings fuzz_state}
work="$build/fuzz-work"
mkdir -p "$work"

run_one() {
  t=$1
  bin="$build/fuzz/$t"
  w="$work/$t"
  rm -rf "$w"
  mkdir -p "$w/corpus"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >"$w/log"; echo 1 >"$w/rc"; return; }
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a memory blow-up
  # is a finding too. The committed corpus is read, never written.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$w/" "$w/corpus" "$src/corpus/$t" >"$w/log" 2>&1
  echo $? >"$w/rc"
}

# A simple job pool: start up to $jobs targets, wait for all, repeat.
set -- $targets
while [ $# -gt 0 ]; do
  pids=
  n=0
  while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
    run_one "$1" &
    pids="$pids $!"
    n=$((n + 1))
    shift
  done
  for p in $pids; do wait "$p"; done
done

failed=0
for t in $targets; do
  w="$work/$t"
  rc=$(cat "$w/rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); log $w/log, reproducer(s):" $(ls "$w" | grep -E '^(crash|leak|timeout|oom)-') >&2
    tail -40 "$w/log" >&2
    failed=$((failed + 1))
  else
    echo "fuzz: $t ok: ${secs}s, ${execs:-?} runs, corpus $(ls "$w/corpus" | wc -l) new"
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: $failed target(s) failed" >&2; exit 1; }
