#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/ and runs them (docs/fuzzing.md).
#
#   scripts/fuzz.sh [run] [-t SECONDS] [-j JOBS] [TARGET…]   build, then fuzz each target for SECONDS
#   scripts/fuzz.sh build                                   build the harnesses only
#   scripts/fuzz.sh repro TARGET FILE…                      run inputs once (a crash reproduces)
#   scripts/fuzz.sh minimize TARGET FILE                    shrink a crashing input (-minimize_crash=1)
#   scripts/fuzz.sh seeds                                   rewrite Fuzz/Corpus/ from the fixtures
#
# TARGET is request, policy, normalizer or bundle (all four when none is given). Each run reads the
# committed seeds (Fuzz/Corpus/TARGET), past findings (Tests/Fixtures/regressions/fuzz/TARGET)
# and the growing corpus (Fuzz/.corpus/TARGET, not committed), and writes crash, leak, timeout
# and OOM inputs to Fuzz/.artifacts/TARGET/. The exit status is non-zero when any target found
# something.
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_JOBS (targets at once, default 1), FUZZ_TIMEOUT
# (seconds one input may take before it is a hang, default 10), FUZZ_RSS_MB (default 2048),
# FUZZ_CONFIG (debug or release, default debug), FUZZ_SANITIZERS (default fuzzer,address),
# FUZZ_SCRATCH (build folder, default Fuzz/.build), FUZZ_CORPUS, FUZZ_ARTIFACTS, FUZZ_FLAGS (more
# libFuzzer options), FUZZ_BUILD_FLAGS (more `swift build` options), SWIFT.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/Fuzz"
ALL_TARGETS=(request policy normalizer bundle)
SECONDS_EACH="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
CONFIG="${FUZZ_CONFIG:-debug}"
SANITIZERS="${FUZZ_SANITIZERS:-fuzzer,address}"
SCRATCH="${FUZZ_SCRATCH:-$FUZZ/.build}"
CORPUS="${FUZZ_CORPUS:-$FUZZ/.corpus}"
ARTIFACTS="${FUZZ_ARTIFACTS:-$FUZZ/.artifacts}"
REGRESSIONS="$ROOT/Tests/Fixtures/regressions/fuzz"
SWIFT="${SWIFT:-swift}"
BIN="$SCRATCH/$CONFIG"
# libFuzzer reports crashes itself (with the sanitizer's stack trace); Swift's own backtracer would
# run first, slowly, and hangs `-minimize_crash` while it waits for its output.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# The libFuzzer dictionary of a target, as an option (none for bundles, which are binary).
dictionary() {
    case "$1" in
        request) echo "-dict=$FUZZ/Dictionaries/json.dict" ;;
        policy) echo "-dict=$FUZZ/Dictionaries/yaml.dict" ;;
        normalizer) echo "-dict=$FUZZ/Dictionaries/resource.dict" ;;
        bundle) echo "" ;;
    esac
}

check_target() {
    case "$1" in
        request | policy | normalizer | bundle) ;;
        *) echo "error: unknown fuzz target \`$1\` (expected request, policy, normalizer or bundle)" >&2; exit 2 ;;
    esac
}

# Builds every harness with libFuzzer and the sanitizers in every Swift module, the main package's
# included (coverage there is what guides the fuzzer).
build() {
    local started=$SECONDS
    echo "building the fuzzers ($CONFIG, -sanitize=$SANITIZERS) in $SCRATCH"
    # shellcheck disable=SC2086
    "$SWIFT" build --package-path "$FUZZ" --scratch-path "$SCRATCH" -c "$CONFIG" \
        -Xswiftc "-sanitize=$SANITIZERS" -Xswiftc -use-ld=lld ${FUZZ_BUILD_FLAGS:-}
    echo "built in $((SECONDS - started)) s"
}

# Prints one line of figures from a finished run's log: executions, rate, coverage, corpus, memory.
summary() {
    local target=$1 log=$2 status=$3
    local execs rate cov rss
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 || true)
    local verdict=ok
    [ "$status" -eq 0 ] || verdict="FAILED (exit $status)"
    printf '%-10s %-20s execs %-9s exec/s %-6s %s, peak rss %s MB\n' \
        "$target" "$verdict" "${execs:-?}" "${rate:-?}" "${cov:-cov ?}" "${rss:-?}"
}

# Fuzzes one target for SECONDS_EACH; its log goes to ARTIFACTS/TARGET.log.
run_one() {
    local target=$1
    local log="$ARTIFACTS/$target.log"
    mkdir -p "$CORPUS/$target" "$ARTIFACTS/$target"
    if [ "$target" = bundle ]; then
        # Fresh bundles from this build: committed ones go stale when the format or ISA changes.
        "$BIN/fuzz-seeds" "$ROOT" "$CORPUS" bundle >/dev/null
    fi
    # Past findings are replayed first, with the seeds: a finding that comes back fails the run.
    local regressions=()
    [ -d "$REGRESSIONS/$target" ] && regressions=("$REGRESSIONS/$target")
    local status=0
    # shellcheck disable=SC2046,SC2086
    "$BIN/fuzz-$target" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$target/" $(dictionary "$target") ${FUZZ_FLAGS:-} \
        "$CORPUS/$target" "$FUZZ/Corpus/$target" "${regressions[@]}" >"$log" 2>&1 || status=$?
    echo "$status" >"$ARTIFACTS/$target.status"
}

# Fuzzes the targets, JOBS at a time, then prints each one's figures and any failure's log tail.
run() {
    local targets=()
    while [ $# -gt 0 ]; do
        case "$1" in
            -t) SECONDS_EACH=$2; shift 2 ;;
            -j) JOBS=$2; shift 2 ;;
            -h | --help) usage ;;
            *) check_target "$1"; targets+=("$1"); shift ;;
        esac
    done
    [ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
    build
    local started=$SECONDS
    echo "fuzzing ${targets[*]} for $SECONDS_EACH s each, $JOBS at a time"
    local running=0
    for target in "${targets[@]}"; do
        rm -f "$ARTIFACTS/$target.status"
        run_one "$target" &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
    done
    wait || true
    local failed=0
    for target in "${targets[@]}"; do
        local status
        status=$(cat "$ARTIFACTS/$target.status" 2>/dev/null || echo 1)
        summary "$target" "$ARTIFACTS/$target.log" "$status"
        if [ "$status" -ne 0 ]; then
            failed=1
            echo "---- $ARTIFACTS/$target.log (last 60 lines)"
            tail -n 60 "$ARTIFACTS/$target.log"
            echo "----"
        fi
    done
    echo "fuzzed in $((SECONDS - started)) s"
    if [ "$failed" -ne 0 ]; then
        echo "error: a fuzzer found a crash, leak, timeout or OOM; inputs are in $ARTIFACTS/ (docs/fuzzing.md)" >&2
        return 1
    fi
}

command="${1:-run}"
case "$command" in
    run) shift || true; run "$@" ;;
    build) build ;;
    repro)
        [ $# -ge 3 ] || usage
        check_target "$2"; target=$2; shift 2
        build
        "$BIN/fuzz-$target" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" "$@"
        ;;
    minimize)
        [ $# -eq 3 ] || usage
        check_target "$2"
        build
        mkdir -p "$ARTIFACTS/$2"
        "$BIN/fuzz-$2" -minimize_crash=1 -runs=20000 -timeout="$TIMEOUT" -exact_artifact_path="$3.min" "$3"
        echo "minimised input: $3.min"
        ;;
    seeds)
        build
        rm -rf "${FUZZ:?}/Corpus"
        "$BIN/fuzz-seeds" "$ROOT" "$FUZZ/Corpus"
        ;;
    -h | --help) usage ;;
    *) run "$@" ;;
esac
