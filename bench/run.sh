#!/bin/sh
# Runs every benchmark in bench/ (each bench/bench_*.sh), passing the build folder.
build=${1:-build}
found=0
for b in "$(dirname "$0")"/bench_*.sh; do
  [ -f "$b" ] || continue
  found=1
  echo "== $(basename "$b")"
  bash "$b" "$build" || failed="$failed $(basename "$b")"
done
[ $found = 1 ] || echo "bench/: no benchmarks yet"
if [ -n "${failed:-}" ]; then
  echo "bench/: below target or failed:$failed"
  exit 1
fi
