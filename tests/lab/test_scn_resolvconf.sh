#!/usr/bin/env bash
# `dnsprop query NAME` without @SERVER asks the first usable nameserver of
# resolv.conf, as dig does (DNSPROP_RESOLV_CONF names the file for tests):
# a Knot on port 53 of a lab address answers it, and the row names that
# address; comments, other keywords and unusable nameserver lines before it
# are passed over. A missing, empty or nameserver-less file: exit 3, one line
# naming the file, nothing sent. resolv.conf carries no port, so this needs
# port 53 on loopback: skipped (exit 77) when it cannot be bound.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lab.sh"
lab_can_bind 53 || skip "port 53 cannot be bound here (no network namespace, not root)"
A=127.53.0.9
lab__addr_busy $A 53 && skip "something already listens on $A:53"

Z=contoso.test
lab_zone "$T/z.zone" $Z 7 60 "10 mail.$Z."
LAB_AUTH_LISTEN=$A:53 lab_start_auth auth "$T/z.zone" || exit 1

cat >"$T/resolv.conf" <<CONF
# written by a test
; another comment
search example.net
options ndots:1
nameserver fe80::1%eth0
nameserver 127.0.0.1:53
nameserver   $A   # the lab's Knot
nameserver 127.0.0.2
CONF
DNSPROP_RESOLV_CONF=$T/resolv.conf expect_exit 0 "$DNSPROP" query $Z MX +norec
row=$(tail -1 "$T/out" | tr -d '\r')
echo "  $row"
IFS=, read -r _ _ _ _ _ qname qtype server address transport status _ _ ttl answer _ <<<"$row"
[ "$server,$address" = "$A,$A" ] && ok "asked the first usable nameserver, $A" || fail "asked '$server' at '$address'"
[ "$qname $qtype $status $answer" = "$Z. MX ok 10 mail.$Z." ] || fail "row: $row"

# bad files: exit 3, one line naming the file, no row
: >"$T/empty.conf"
printf '# nothing here\nsearch example.net\n' >"$T/none.conf"
printf 'nameserver 127.0.0.1:53\nnameserver not-an-address\nnameserver\n' >"$T/unusable.conf"
for f in "$T/missing.conf" "$T/empty.conf" "$T/none.conf" "$T/unusable.conf" "$T"; do
  DNSPROP_RESOLV_CONF=$f expect_exit 3 "$DNSPROP" query $Z MX
  [ "$(grep -c . "$T/err")" -eq 1 ] && grep -qF "$f" "$T/err" || fail "$(basename "$f"): stderr: $(cat "$T/err")"
  [ -s "$T/out" ] && fail "$(basename "$f"): printed a row"
  echo "  $(cat "$T/err")"
done
finish
