#!/usr/bin/env bash
# The demo behind `make demo`: check, compile and evaluate the bundled policies and examples.
# Each step states the exit status it expects (SPEC §4); the demo fails if any step differs.
set -uo pipefail
bin=${1:-.build/debug/ringfence}
failed=0
step() {
  local expect=$1; shift
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@"
  local status=$?
  echo "(exit $status)"
  if [ "$status" -ne "$expect" ]; then
    echo "demo: expected exit $expect from: $*" >&2
    failed=1
  fi
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
step 0 "$bin" check policies/
step 0 "$bin" compile policies/ -o "$out/policies.rfb"
step 3 "$bin" eval -b "$out/policies.rfb" -i examples/requests/mixed.jsonl   # 3: some requests are denied
step 1 "$bin" check examples/broken/                                        # 1: the file has errors, on purpose
step 0 "$bin" check examples/runtime/                                       # the runtime file, every setting at its default
step 0 "$(dirname "$bin")/ringfence-embedding-example"
exit $failed
