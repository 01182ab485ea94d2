#!/usr/bin/env bash
# dist/bash-completion/dnsprop: loads in a plain bash (no bash-completion
# package needed), completes commands, each command's options (read from
# its --help) and option values.
set -u
. "$(dirname "$0")/../lib.sh"
: "${DNSPROP_SRC:?}"
C=$DNSPROP_SRC/dist/bash-completion/dnsprop

# complete WORD...: the candidates for the last word, one a line, sorted
complete_words() {
  bash --norc --noprofile -c '
    . "$1" || exit 9
    shift
    complete -p dnsprop >/dev/null || exit 8
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    _dnsprop
    printf "%s\n" "${COMPREPLY[@]}"' bash "$C" "$@" | sort
}

got=$(complete_words "$DNSPROP" ch)
[ "$got" = check ] && ok "dnsprop ch<TAB>: check" || fail "dnsprop ch<TAB>: '$got', want check"
got=$(complete_words "$DNSPROP" "" | tr '\n' ' ')
want=$( (printf -- '--help\n--version\n'; "$DNSPROP" --help | awk '/^  dnsprop [a-z]/ { print $2 }') | sort | tr '\n' ' ')
[ "$got" = "$want" ] && ok "dnsprop <TAB>: $got" || fail "dnsprop <TAB>: '$got', want '$want'"
grep -q ' check .* watch ' <<<" $got" || fail "dnsprop <TAB> lacks check or watch: '$got'"
got=$(complete_words "$DNSPROP" check contoso.com --pro | tr '\n' ' ')
[ "$got" = "--profile --prometheus " ] && ok "check --pro<TAB>: $got" || fail "check --pro<TAB>: '$got'"
got=$(complete_words "$DNSPROP" watch --unt)
[ "$got" = --until-converged ] || fail "watch --unt<TAB>: '$got'"
got=$(complete_words "$DNSPROP" check --unt)
[ -z "$got" ] || fail "check --unt<TAB> offers a watch-only option: '$got'"
got=$(complete_words "$DNSPROP" query contoso.com +n)
[ "$got" = +norec ] || fail "query +n<TAB>: '$got'"
got=$(complete_words "$DNSPROP" check --checks mx,sp)
[ "$got" = mx,spf ] || fail "--checks mx,sp<TAB>: '$got'"
got=$(complete_words "$DNSPROP" check --profile "")
[ "$(echo $got)" = "m365 none" ] || fail "--profile <TAB>: '$got'"
# every option --help shows is offered
want=$("$DNSPROP" check --help | awk '/^  -/ { sub(/^  /, ""); sub(/  .*/, ""); gsub(/,/, ""); print }' |
  tr ' ' '\n' | grep '^-' | sort)
got=$(complete_words "$DNSPROP" check -)
for o in $want; do grep -qxF -- "$o" <<<"$got" || fail "check -<TAB> does not offer $o"; done
ok "check -<TAB> offers all $(wc -w <<<"$want") options"
finish
