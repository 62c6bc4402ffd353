#!/usr/bin/env bash
# The demo behind `make demo`: check, compile and evaluate the bundled policies and examples.
set -uo pipefail
bin=${1:-.build/debug/ringfence}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; echo "(exit $?)"; }
out=$(mktemp -d)
step "$bin" check policies/
step "$bin" compile policies/ -o "$out/policies.rfb"
step "$bin" eval -b "$out/policies.rfb" -i examples/requests/mixed.jsonl
step "$bin" check examples/broken/
rm -rf "$out"
exit 0
