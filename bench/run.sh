#!/bin/sh
# Runs every benchmark in bench/ (each bench/bench_*.sh), passing the build folder.
build=${1:-build}
found=0
for b in "$(dirname "$0")"/bench_*.sh; do
  [ -f "$b" ] || continue
  found=1
  echo "== $(basename "$b")"
  bash "$b" "$build" || exit 1
done
[ $found = 1 ] || echo "bench/: no benchmarks yet"
