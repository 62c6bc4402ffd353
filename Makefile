# Ringfence — the two commands a fresh machine needs:
#   make demo   build `ringfence` and run it on the bundled policies and examples
#   make test   run every test
SWIFT ?= swift
SWIFT_FLAGS ?=
BIN = .build/debug/ringfence
PYTHON ?= python3
VENV = .build/python-venv

.PHONY: all deps build demo test test-python bench-gate bench-server release clean fuzz fuzz-ci

all: build

# Installs the C libraries Ringfence links (libyaml, PCRE2, libedit, SQLite for GRDB) when
# pkg-config cannot find them.
deps:
	@if ! pkg-config --exists yaml-0.1 libpcre2-8 libedit sqlite3 2>/dev/null; then \
		echo "installing libyaml-dev, libpcre2-dev, libedit-dev and libsqlite3-dev"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq pkg-config libyaml-dev libpcre2-dev libedit-dev libsqlite3-dev >/dev/null; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

# The demo also edits a copy of a store with the sqlite3 shell to show tampering caught, and
# drives `ringfence serve` from the Python client.
demo: build $(VENV)/.stamp
	@command -v sqlite3 >/dev/null || { SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq sqlite3 >/dev/null; }
	@bash scripts/demo.sh $(BIN) $(VENV)/bin/python

# The Python client and the frameworks its guards are tested through, in a venv under .build
# (never committed); made once and reused until pyproject.toml or the requirements change.
$(VENV)/.stamp: clients/python/pyproject.toml clients/python/requirements-test.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "installing python3-venv"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	@echo "creating $(VENV) (the client, pytest, langchain-core, mcp, openai-agents, schemathesis)"
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) \
		&& $(VENV)/bin/pip install -q --disable-pip-version-check -e ./clients/python -r clients/python/requirements-test.txt \
		&& echo "pip install took $$(( $$(date +%s) - start )) s"
	@touch $@

# The client against the real server, every guard through its framework, and schemathesis
# against openapi/ringfence.json.
test-python: $(VENV)/.stamp
	$(SWIFT) build $(SWIFT_FLAGS) --product ringfence
	RINGFENCE_BIN=$(BIN) $(VENV)/bin/python -m pytest clients/python/tests -q

# Throughput, latency and server CPU of `ringfence serve` under wrk (docs/server.md).
bench-server:
	bash scripts/bench-server.sh

# The store tests start a throwaway PostgreSQL cluster of their own (scripts/postgres-test-cluster.sh);
# the server package is installed here first when missing, so its output is not mixed into theirs.
test: deps
	bash scripts/postgres-test-cluster.sh install
	$(SWIFT) build $(SWIFT_FLAGS)
	$(SWIFT) test $(SWIFT_FLAGS)
	$(SWIFT) run $(SWIFT_FLAGS) ringfence test policies/tests --coverage --coverage-min 100
	$(MAKE) test-python
	$(MAKE) bench-gate
	$(MAKE) fuzz-ci

# The zero-allocation gate: runs the decision benchmarks (release, ordo-one/benchmark) and fails
# when any of them allocates (mallocCountTotal p90 above the 0 in Benchmarks/Thresholds).
# A run is repeated only when the package manager itself dies of a signal (scripts/bench-gate.sh).
bench-gate: deps
	SWIFT="$(SWIFT)" bash scripts/bench-gate.sh

# Coverage-guided fuzzing (docs/fuzzing.md): every libFuzzer harness in Fuzz/ for FUZZ_SECONDS
# each; findings go to Fuzz/.artifacts/ and fail the run.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh run

# A short fuzzing pass for CI: each harness for 25 s, two at a time, from a fixed seed so a run
# repeats (the hunt for new inputs is `make fuzz`); fails on any crash, leak, timeout or OOM.
fuzz-ci: deps
	FUZZ_SECONDS=25 FUZZ_JOBS=2 FUZZ_FLAGS="-seed=1 $(FUZZ_FLAGS)" bash scripts/fuzz.sh run

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

clean:
	rm -rf .build
