# Sourced by the server benchmarks (scripts/bench-server.sh, scripts/multinode-bench.sh) from
# the repository's root: installs wrk when missing, and sets `bin` to $BIN (a built `ringfence`
# to serve with) or to the release binary, built first.
if ! command -v wrk >/dev/null; then
  echo "installing wrk"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  swift build -c release --product ringfence >/dev/null
  bin=.build/release/ringfence
fi

# wide_runtime FILE [YAML]: writes a runtime file whose ring buckets are too wide ever to limit
# the load, followed by YAML (more settings) when given.
wide_runtime() {
  cat > "$1" <<'YAML'
ringfence: 1
kind: runtime
name: bench
limits:
  ring0: { rate: 100000000, burst: 100000000 }
  ring1: { rate: 100000000, burst: 100000000 }
  ring2: { rate: 100000000, burst: 100000000 }
  ring3: { rate: 100000000, burst: 100000000 }
YAML
  [ -z "${2:-}" ] || printf '%s\n' "$2" >> "$1"
}

# post_lua FILE PATH BODY: writes a wrk script that sends BODY (JSON) to PATH with POST.
post_lua() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.path = "$2"
wrk.headers["content-type"] = "application/json"
wrk.body = '$3'
LUA
}
