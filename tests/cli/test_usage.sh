#!/usr/bin/env bash
# The command line's own contract: --help, --version, unknown commands and options.
set -u
. "$(dirname "$0")/../lib.sh"

expect_exit 0 "$DNSPROP" --help
expect_exit 0 "$DNSPROP" --version
grep -q '^dnsprop [0-9]' "$T/out" || fail "--version prints no version"
for c in check watch report query resolvers demo; do
  expect_exit 0 "$DNSPROP" "$c" --help
  grep -q "^Usage: dnsprop $c" "$T/out" || fail "$c --help has no usage line"
done
expect_exit 3 "$DNSPROP" frobnicate
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "unknown command: not exactly one line on stderr"
grep -q "unknown command 'frobnicate'" "$T/err" || fail "unknown command not named"
expect_exit 3 "$DNSPROP"
finish
