#!/usr/bin/env bash
# Benchmarks `ringfence serve` with wrk on loopback (docs/server.md, "Performance"):
#   1. single decisions (POST /v1/decide) at 64 connections: requests/s, p50/p99 latency
#   2. batches of 100 decisions (POST /v1/batch): decisions/s
#   3. server CPU per request: the server's utime+stime (from /proc) over the requests served
# and the load average before and after, since the machine may be shared.
#
# Usage: scripts/bench-server.sh [seconds per run, default 10] [wrk threads, default 1]
# Environment: STATE (default memory:), CONNECTIONS (default 64), SERVER_THREADS (default: cores),
# BIN (a built `ringfence` to serve with instead of building the release binary, e.g. to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
wrk_threads=${2:-1}
connections=${CONNECTIONS:-64}
state=${STATE:-memory:}
port=${PORT:-18787}

. scripts/bench-common.sh

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The bundled policies, with ring buckets wide enough that the load is never rate-limited.
mkdir -p "$work/policies"
cp policies/*.yaml "$work/policies/"
wide_runtime "$work/policies/runtime.yaml"
request='{"agent":{"id":"agent-1","trust":0.8},"action":"fs.read","resource":"/workspace/data/sales.csv","params":{"method":"GET"}}'
post_lua "$work/decide.lua" /v1/decide "{\"request\":$request}"
ops=$(python3 -c "import sys; r=sys.argv[1]; print(','.join(['{\"op\":\"decide\",\"request\":'+r+'}']*100))" "$request")
post_lua "$work/batch.lua" /v1/batch "{\"ops\":[$ops]}"

threads_flag=()
[ -n "${SERVER_THREADS:-}" ] && threads_flag=(--threads "$SERVER_THREADS")
"$bin" serve -p "$work/policies" --state "$state" --listen "127.0.0.1:$port" "${threads_flag[@]}" > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 1 200); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
grep -q listening "$work/serve.out" || { cat "$work/serve.err"; exit 1; }
curl -sf -X POST -H 'content-type: application/json' -d "{\"request\":$request}" "http://127.0.0.1:$port/v1/decide" >/dev/null \
  || { echo "the server does not decide"; cat "$work/serve.err"; exit 1; }

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# run NAME SCRIPT DECISIONS_PER_REQUEST
run() {
  local name=$1 script=$2 per=$3
  wrk -t"$wrk_threads" -c"$connections" -d2s -s "$script" "http://127.0.0.1:$port" >/dev/null   # warm-up
  local load_before before after
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  before=$(cpu)
  wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:$port" > "$work/$name.txt"
  after=$(cpu)
  local requests rps p50 p99 errors
  requests=$(awk '/requests in/ {print $1}' "$work/$name.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$name.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "$work/$name.txt" || true)
  python3 - "$name" "$requests" "$rps" "$p50" "$p99" "$before" "$after" "$ticks" "$per" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$errors" <<'PY'
import sys
name, requests, rps, p50, p99, before, after, ticks, per, load_before, load_after, errors = sys.argv[1:]
requests, rps, per = int(requests), float(rps), int(per)
cpu_seconds = (int(after) - int(before)) / int(ticks)
print(f"{name}: {rps:,.0f} requests/s ({rps * per:,.0f} decisions/s), p50 {p50}, p99 {p99}, "
      f"server CPU {cpu_seconds / requests * 1e6:.1f} µs/request ({cpu_seconds / (requests * per) * 1e6:.2f} µs/decision), "
      f"{requests:,} requests; load average {load_before} → {load_after}")
if errors.strip():
    print(f"  errors: {errors.strip()}")
PY
}

echo "ringfence serve on 127.0.0.1:$port, state $state, $(nproc) cores, wrk -t$wrk_threads -c$connections -d${seconds}s"
run single "$work/decide.lua" 1
run batch100 "$work/batch.lua" 100
