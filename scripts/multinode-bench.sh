#!/usr/bin/env bash
# Benchmarks two `ringfence serve` nodes sharing one PostgreSQL database (SPEC §15) against one
# node alone on PostgreSQL and one on `sqlite:`, with wrk on loopback (docs/server.md, "Performance"):
#   1. single decisions (POST /v1/decide), one wrk per node at the same time: decisions/s summed
#   2. batches of 100 decisions (POST /v1/batch), the same way: decisions/s summed
# The policies are the bundled workspace policy, whose `fs.write` rule has a per-rule limit
# (`limit: 100/minute`), and a runtime file with `group` durability and ring buckets wide enough
# that no ring bucket limits; the requests alternate a workspace read (allowed) and a write to
# out/ (allowed until the rule's limit is spent, then `rate_limit`), outside any session, so every
# decision goes through the limiter and is audited. After each configuration the nodes are
# stopped with SIGTERM, `ringfence audit verify` reports the log, and the writes the per-rule
# limit let through are counted against what one bucket shared by every node admits.
# The PostgreSQL cluster is a throwaway one (scripts/postgres-test-cluster.sh), removed on exit.
#
# Usage: scripts/multinode-bench.sh [seconds per run, default 10]
# Environment: CONNECTIONS (per node, default 32; the single node gets twice as many),
# BIN (a built `ringfence` to serve with instead of building the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${CONNECTIONS:-32}

. scripts/bench-common.sh

work=$(mktemp -d)
pids=()
cluster=
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  [ -n "$cluster" ] && scripts/postgres-test-cluster.sh stop "$cluster" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM   # so an interrupted run still stops its nodes and its cluster

wide_runtime "$work/runtime.yaml" "audit: { durability: group }"
read='{"agent":{"id":"agent-1","trust":0.8},"action":"fs.read","resource":"/workspace/data/sales.csv"}'
write='{"agent":{"id":"agent-1","trust":0.8},"action":"fs.write","resource":"/workspace/out/report.csv"}'
cat > "$work/decide.lua" <<LUA
local requests = {}
local n = 0
function init(args)
  local headers = { ["content-type"] = "application/json" }
  requests[1] = wrk.format("POST", "/v1/decide", headers, '{"request":$read}')
  requests[2] = wrk.format("POST", "/v1/decide", headers, '{"request":$write}')
end
function request()
  n = n + 1
  return requests[n % 2 + 1]
end
LUA
ops=$(python3 -c "import sys; r, w = sys.argv[1:]; print(','.join(['{\"op\":\"decide\",\"request\":' + (r if i % 2 == 0 else w) + '}' for i in range(100)]))" "$read" "$write")
post_lua "$work/batch.lua" /v1/batch "{\"ops\":[$ops]}"

# start_node STATE: starts a node on a free loopback port and appends its port to `ports`.
ports=()
start_node() {
  local state=$1 index=${#pids[@]}
  "$bin" serve -p policies/workspace.yaml "$work/runtime.yaml" --state "$state" --listen 127.0.0.1:0 \
    > "$work/node$index.out" 2> "$work/node$index.err" &
  pids+=($!)
  for _ in $(seq 1 200); do grep -q listening "$work/node$index.out" 2>/dev/null && break; sleep 0.05; done
  local port
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/node$index.out" | head -n 1 | cut -d: -f3)
  [ -n "$port" ] || { echo "node $index did not start"; cat "$work/node$index.err"; exit 1; }
  curl -sf -X POST -H 'content-type: application/json' -d "{\"request\":$read}" "http://127.0.0.1:$port/v1/decide" >/dev/null \
    || { echo "node $index does not decide"; cat "$work/node$index.err"; exit 1; }
  ports+=("$port")
}

# stop_nodes: SIGTERM to every node (they drain and exit), then forgets them.
stop_nodes() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid"; done
  for pid in "${pids[@]}"; do wait "$pid" || echo "  a node exited with status $?"; done
  pids=()
  ports=()
}

# run NAME SCRIPT DECISIONS_PER_REQUEST CONNECTIONS_PER_NODE: one wrk per node at once; prints
# the summed rates (wrk's reports are kept per configuration, named by `config`).
run() {
  local name=$1 script=$2 per=$3 per_node=$4 port i load=()
  for port in "${ports[@]}"; do
    wrk -t1 -c"$per_node" -d2s -s "$script" "http://127.0.0.1:$port" >/dev/null &   # warm-up
    load+=($!)
  done
  wait "${load[@]}"   # the wrk runs only: a bare `wait` would wait for the nodes too
  load=()
  local load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  i=0
  for port in "${ports[@]}"; do
    wrk -t1 -c"$per_node" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:$port" > "$work/$config.$name.$i.txt" &
    load+=($!)
    i=$((i + 1))
  done
  wait "${load[@]}"
  python3 - "$name" "$per" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$work/$config.$name".*.txt <<'PY'
import re, sys
name, per, load_before, load_after, *files = sys.argv[1:]
per = int(per)
total_rps, parts, errors = 0.0, [], []
for path in files:
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
    total_rps += rps
    parts.append(f"{rps * per:,.0f}/s (p50 {p50}, p99 {p99})")
    errors += [line.strip() for line in text.splitlines() if "Non-2xx" in line or "Socket errors" in line]
print(f"  {name}: {total_rps * per:,.0f} decisions/s ({total_rps:,.0f} requests/s); per node {', '.join(parts)}; "
      f"load average {load_before} → {load_after}")
for line in errors:
    print(f"    errors: {line}")
PY
}

# verify STATE: the log the nodes left, checked from entry 0; and how many writes the per-rule
# limit (100/minute, a bucket of 100) let through over the time the log spans, against the most
# one shared bucket admits (100 + 100/60 per second).
verify() {
  "$bin" audit verify --state "$1" --format json \
    | python3 -c "import json, sys; r = json.load(sys.stdin); print(f\"  audit verify: intact {str(r['intact']).lower()}, {r['entries']:,} entries\")"
  "$bin" audit log --state "$1" --format json --limit 1000000000 | python3 -c '
import datetime, json, sys
allowed = limited = 0
first = last = None
for line in sys.stdin:
    entry = json.loads(line)
    at = datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    first, last = first or at, at
    data = entry.get("data") or {}
    if entry["kind"] == "decision" and data.get("request", {}).get("action") == "fs.write":
        if data["decision"]["code"] == "allow":
            allowed += 1
        else:
            limited += 1
span = (last - first).total_seconds()
print(f"  fs.write: {allowed:,} allowed, {limited:,} not, over {span:.1f} s of log; one shared bucket admits at most {100 + 100 / 60 * span:.0f}")
'
}

eval "$(scripts/postgres-test-cluster.sh start --owner $$)"
cluster=$RINGFENCE_POSTGRES_DIR
scripts/postgres-test-cluster.sh psql "$cluster" postgres -c "CREATE DATABASE shared" >/dev/null
scripts/postgres-test-cluster.sh psql "$cluster" postgres -c "CREATE DATABASE alone" >/dev/null

echo "$(nproc) cores; wrk -t1 -d${seconds}s per node; requests alternate fs.read and rate-limited fs.write, outside sessions"

config=two-postgres
echo "two nodes on postgres (one database), $connections connections each:"
start_node "postgres://postgres@/shared?host=$cluster"
start_node "postgres://postgres@/shared?host=$cluster"
run decide "$work/decide.lua" 1 "$connections"
run batch100 "$work/batch.lua" 100 "$connections"
stop_nodes
verify "postgres://postgres@/shared?host=$cluster"

config=one-postgres
echo "one node on postgres, $((connections * 2)) connections:"
start_node "postgres://postgres@/alone?host=$cluster"
run decide "$work/decide.lua" 1 "$((connections * 2))"
run batch100 "$work/batch.lua" 100 "$((connections * 2))"
stop_nodes
verify "postgres://postgres@/alone?host=$cluster"

config=one-sqlite
echo "one node on sqlite:, $((connections * 2)) connections:"
start_node "sqlite:$work/state.db"
run decide "$work/decide.lua" 1 "$((connections * 2))"
run batch100 "$work/batch.lua" 100 "$((connections * 2))"
stop_nodes
verify "sqlite:$work/state.db"
