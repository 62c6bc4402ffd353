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
