# gofaxserver — build, test, demo and package.
# The two set-up commands of the README are `make demo` and `make test`.

# Go from PATH, or where the official tarball puts it.
export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
VERSION ?= $(shell dpkg-parsechangelog -S Version 2>/dev/null || git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin
FUZZTIME ?= 5s

.PHONY: all build test test-unit fuzz bench bench-go demo deb deb-check deps clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./gofaxd ./gofaxsend ./contrib/fssim ./contrib/fax2pdf ./contrib/faxload ./contrib/hookrecv

# Every test, including the ones against a real HylaFAX and PostgreSQL
# (installed here if missing; a missing one fails the tests instead of skipping them).
test: deps
	GOFAX_TEST_HYLAFAX=1 GOFAX_TEST_POSTGRES=1 $(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) fuzz

# Hermetic tests only (no HylaFAX needed).
test-unit:
	$(GO) test -race -count=1 ./...

# Every native fuzz target, briefly.
fuzz:
	contrib/fuzz.sh $(FUZZTIME)

# gofaxd under load (contrib/faxload, README "Performance"): CPU per
# received call, call setup and teardown latency, bursts and calls held at
# once; every scenario three times against bin/gofaxd, each with its own
# spool and gofaxd, and a table of the figures (median) against their
# targets. At most 60 minutes. SCENARIO=light runs one scenario (or a
# comma-separated list); FAXLOAD_FLAGS passes more (-runs 1, -tmp DIR).
SCENARIO ?=
FAXLOAD_FLAGS ?=
bench: build
	$(BIN)/faxload -gofaxd $(BIN)/gofaxd $(if $(SCENARIO),-scenario $(SCENARIO)) $(FAXLOAD_FLAGS)

# The Go micro-benchmarks of the packages.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 15m ./...

# Installs HylaFAX, libtiff-tools, ghostscript and PostgreSQL non-interactively (root).
deps:
	contrib/install-deps.sh

demo: deps build
	contrib/demo.sh

# Builds ../gofaxserver_<version>_<arch>.deb from this tree.
deb:
	dpkg-buildpackage -us -uc -b

# Builds the package from a copy of the tree, lints, installs, checks and purges it.
deb-check: deps
	contrib/check-deb.sh

clean:
	rm -rf $(BIN)
