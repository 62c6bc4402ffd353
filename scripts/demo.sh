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

# The runtime (SPEC §8, §13): a session, joins at different trust (a child capped by its parent),
# an elevation that expires, a breach that trips the breaker, a kill — decisions printed.
step 0 "$bin" ops -p policies/ --state memory: -i examples/ops/session.jsonl

# The liability ledger (SPEC §11): `lead` vouches for `coder`; a slash of `coder` cascades to
# its voucher (σ 0.9 → 0.45) and repeating the violation changes nothing; quarantined, `coder`
# is denied (`quarantine`). Then `ringfence ledger show` reads the same store.
ledger="sqlite:$out/ledger.db"
step 0 "$bin" ops -p policies/ --state "$ledger" -i examples/ops/liability.jsonl
step 0 "$bin" ledger show lead --state "$ledger"
step 0 "$bin" ledger show coder --state "$ledger"

# The audit log (SPEC §9): every decision recorded in a SQLite store, its checkpoints signed with
# a fresh key; the log verified and one entry proven with the verifier key alone; then a copy
# with one decision edited (allow made deny) is caught.
state="sqlite:$out/state.db"
printf '\n\033[1m$ %s\033[0m\n' "$bin key generate demo.ringfence.local/audit -o $out/audit.key"
verifier=$("$bin" key generate demo.ringfence.local/audit -o "$out/audit.key") || failed=1
echo "$verifier"
step 3 "$bin" eval -b "$out/policies.rfb" -i examples/requests/mixed.jsonl --state "$state" --audit-key "$out/audit.key"
step 0 "$bin" audit log --state "$state" --limit 3
step 0 "$bin" audit verify --state "$state" --key "$verifier"
"$bin" audit prove 2 --state "$state" > "$out/proof.json"
step 0 "$bin" audit verify-proof "$out/proof.json" --key "$verifier"
cp "$out/state.db" "$out/tampered.db"
# Entry 0's data is the first in the data of the tile that holds entries 0-15 (docs/audit.md §10):
# its first "allow" becomes "deny " (same length, so the tile still reads).
sqlite3 "$out/tampered.db" "UPDATE audit_tiles SET data = CAST(substr(data, 1, instr(data, CAST('\"decision\":\"allow\"' AS BLOB)) - 1) || CAST('\"decision\":\"deny \"' AS BLOB) || substr(data, instr(data, CAST('\"decision\":\"allow\"' AS BLOB)) + 18) AS BLOB) WHERE first = 0"
step 1 "$bin" audit verify --state "sqlite:$out/tampered.db" --key "$verifier"   # 1: tampered, on purpose

# Sagas (SPEC §10) against a small local service (examples/sagas/service.py, on a free loopback
# port): one completes after two retried 503s, one compensates in reverse order, one is killed
# halfway through and resumed from the store without running its finished step again.
python3 examples/sagas/service.py --port 0 > "$out/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 1 50); do grep -q listening "$out/service.log" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$out/service.log")
sagas="--state sqlite:$out/sagas.db -p examples/sagas/policy.yaml --base-url $base"
step 0 "$bin" saga run examples/sagas/order.yaml $sagas --join did:shop:clerk=0.8 --join did:shop:cashier=0.9 --input '{"order":42}'
step 4 "$bin" saga run examples/sagas/refund.yaml $sagas --session shop-2 --join did:shop:clerk=0.8 --join did:shop:cashier=0.9   # 4: compensated
printf '\n\033[1m$ %s\033[0m\n' "$bin saga run examples/sagas/slow.yaml … & (killed with SIGKILL after 1.5 s)"
"$bin" saga run examples/sagas/slow.yaml $sagas --session shop-3 --join did:shop:clerk=0.8 &
sleep 1.5
kill -KILL $! 2>/dev/null
wait $! 2>/dev/null
step 0 "$bin" saga resume --all --state "sqlite:$out/sagas.db" -p examples/sagas/policy.yaml
step 0 curl -s "$base/_stats" -o "$out/stats.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("service: %d effects, at most one per key: %s" % (len(s["effects"]), all(v["effects"] <= 1 for v in s["keys"].values())))' "$out/stats.json"

# The decision server (SPEC §14): `ringfence serve` on a free loopback port, driven from the
# Python client and its LangChain, MCP and OpenAI Agents guards (scripted tool calls, no model),
# then stopped with SIGTERM, which drains and exits 0.
python=${2:-}
if [ -n "$python" ]; then
  printf '\n\033[1m$ %s\033[0m\n' "$bin serve -p examples/python/policies --state sqlite:$out/served.db --listen 127.0.0.1:0 &"
  "$bin" serve -p examples/python/policies --state "sqlite:$out/served.db" --listen 127.0.0.1:0 > "$out/serve.out" 2> "$out/serve.err" &
  server=$!
  for _ in $(seq 1 200); do grep -q listening "$out/serve.out" 2>/dev/null && break; sleep 0.05; done
  cat "$out/serve.out"
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/serve.out" | head -1)
  if [ -z "$url" ]; then
    echo "demo: the server did not start" >&2; cat "$out/serve.err" >&2; failed=1
  else
    for example in client_basics langchain_guard mcp_guard openai_agents_guard; do
      step 0 "$python" "examples/python/$example.py" "$url"
    done
  fi
  kill -TERM "$server" 2>/dev/null
  wait "$server"; status=$?
  echo "(ringfence serve exited $status after SIGTERM)"
  [ "$status" -eq 0 ] || { echo "demo: expected exit 0 from ringfence serve after SIGTERM" >&2; failed=1; }
  step 0 "$bin" audit verify --state "sqlite:$out/served.db"
fi
exit $failed
