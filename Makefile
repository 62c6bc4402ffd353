# Ringfence — the two commands a fresh machine needs:
#   make demo   build `ringfence` and run it on the bundled policies and examples
#   make test   run every test
SWIFT ?= swift
SWIFT_FLAGS ?=
BIN = .build/debug/ringfence

.PHONY: all deps build demo test release clean

all: build

# Installs the C libraries Ringfence links (libyaml, PCRE2, libedit) when pkg-config cannot find them.
deps:
	@if ! pkg-config --exists yaml-0.1 libpcre2-8 libedit 2>/dev/null; then \
		echo "installing libyaml-dev, libpcre2-dev and libedit-dev"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq pkg-config libyaml-dev libpcre2-dev libedit-dev >/dev/null; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

demo: build
	@bash scripts/demo.sh $(BIN)

test: deps
	$(SWIFT) build $(SWIFT_FLAGS)
	$(SWIFT) test $(SWIFT_FLAGS)
	$(SWIFT) run $(SWIFT_FLAGS) ringfence test policies/tests --coverage --coverage-min 100

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

clean:
	rm -rf .build
