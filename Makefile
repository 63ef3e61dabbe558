# Sluice: `make run` opens the app, `make test` runs every test.
# Both install the Debian packages they need first (packaging/deps.sh).

GO      ?= go
BIN     ?= sluice
export CGO_ENABLED := 1

# Reproducible builds: the same commit gives the same binary and .deb
# wherever and whenever it is built (packaging/repro.sh checks it). The
# version is the VERSION file; the commit and the date are git's, or the
# COMMIT and SOURCE_DATE_EPOCH files an offline kit carries (it has no
# .git). A tree with uncommitted changes is stamped COMMIT+modified.
# Both are computed once (:=), so one make run stamps one commit.
VERSION := $(shell cat VERSION)
COMMIT := $(or $(COMMIT),$(shell cat COMMIT 2>/dev/null || { git rev-parse HEAD && { git diff --quiet HEAD -- || echo +modified; }; } 2>/dev/null | tr -d '\n'))
SOURCE_DATE_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell cat SOURCE_DATE_EPOCH 2>/dev/null || git log -1 --format=%ct 2>/dev/null))
export SOURCE_DATE_EPOCH
# cgo's flags are recorded in the binary: fix them rather than inherit them.
export CGO_CFLAGS := -O2 -g
export CGO_CPPFLAGS :=
export CGO_CXXFLAGS := -O2 -g
export CGO_LDFLAGS := -O2 -g
# -s -w: Debian ships binaries stripped (panics still print Go stack traces);
# PIE: the station parses hostile input, so let ASLR place all of it.
LDFLAGS := -s -w -buildid= -X sluice/internal/buildinfo.version=$(VERSION) -X sluice/internal/buildinfo.commit=$(COMMIT)
BUILDFLAGS := -trimpath -buildvcs=false -buildmode=pie -ldflags '$(LDFLAGS)'
DIST ?= dist

# Fuzz targets run briefly by `make test`: package:Target:executions.
# Budgets are counts, not durations: Go 1.26's fuzz coordinator can fail a
# duration run with a spurious "context deadline exceeded" at the deadline
# (golang/go#75804, fixed in Go 1.27). Each budget is ten seconds or so here;
# `make fuzz FUZZSCALE=10` runs ten times as many.
FUZZSCALE ?= 1
FUZZ_TARGETS := \
	./app:FuzzParsePolicy:60000 \
	./crypto:FuzzParseCard:200000 \
	./crypto:FuzzVerifySSH:100000 \
	./internal/textfile:FuzzNormalize:200000 \
	./transfer/bundle:FuzzParseEnvelope:100000 \
	./transfer/bundle:FuzzParseManifest:200000 \
	./transfer/bundle:FuzzExtractStream:20000 \
	./transfer/bundle:FuzzManifestEntry:200000 \
	./transfer/inspect:FuzzInspect:100000 \
	./transfer/scan:FuzzParseCVD:100000 \
	./transfer/transform:FuzzVerify:30000 \
	./transfer/transform:FuzzPageColours:100000 \
	./transfer/transform:FuzzG4Exact:100000 \
	./transfer/custody:FuzzParseRecord:200000 \
	./transfer/custody:FuzzCheckSeal:100000 \
	./transfer/media:FuzzProbe:100000 \
	./transfer/media:FuzzStorageDescriptor:100000 \
	./transfer/diode:FuzzPacket:200000 \
	./transfer/diode:FuzzAnnouncement:100000 \
	./internal/strictjson:FuzzDecode:200000 \
	./internal/safetext:FuzzLine:200000

.PHONY: all build run test test-long test-diode-long test-kit unit fuzz bench lint screenshots deps-build deps-package deps-test deps-bench package offline-kit repro lintian clean

all: build

deps-build:
	@packaging/deps.sh build
deps-package:
	@packaging/deps.sh package
deps-test:
	@packaging/deps.sh test
deps-bench:
	@packaging/deps.sh bench

build: deps-build
	$(GO) build $(BUILDFLAGS) -o $(BIN) .

# The Debian package, dist/sluice_VERSION_ARCH.deb, with the binary built
# above (packaging/mkdeb says what goes in it and why).
package: deps-package build
	$(GO) run ./packaging/mkdeb -bin $(BIN) -version $(VERSION) -out $(DIST)

run: build
	@if [ "$$(uname)" = Linux ] && [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open here."; \
		echo "Sluice works fully from the command line on this machine:"; \
		echo; ./$(BIN) help; \
	else ./$(BIN); fi

test: deps-test lint unit fuzz repro

# The offline build kit, dist/sluice-kit-VERSION-COMMIT.tar.gz (see
# packaging/offline-kit.sh), signed with RELEASE_KEY (an OpenSSH private
# key) when given, else unsigned and saying so.
RELEASE_KEY ?=
offline-kit: package
	VERSION=$(VERSION) COMMIT=$(COMMIT) DIST=$(DIST) RELEASE_KEY=$(RELEASE_KEY) packaging/offline-kit.sh

# Builds from the kit inside a network namespace with no network, with empty
# Go caches, runs the unit tests and compares the hashes with this build's
# (root; skips elsewhere). Slow: a cold build of everything.
# With no RELEASE_KEY it signs with a throwaway key, to check the signature.
test-kit: package
	@set -e; key='$(RELEASE_KEY)'; tmp=; if [ -z "$$key" ]; then tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		key=$$tmp/throwaway-release-key; ssh-keygen -q -t ed25519 -N '' -C 'test-kit throwaway' -f "$$key"; fi; \
	$(MAKE) --no-print-directory offline-kit COMMIT=$(COMMIT) RELEASE_KEY="$$key"; \
	VERSION=$(VERSION) COMMIT=$(COMMIT) DIST=$(DIST) BIN=$(BIN) packaging/test-kit.sh "$$key.pub"

# Two clean builds of HEAD in different folders must give the same binary
# and .deb byte for byte, and the .deb must pass lintian.
repro: deps-test
	packaging/repro.sh

# Tests too slow for every run: a bundle over 4 GiB written through
# fusefat onto a real FAT32 filesystem (about four minutes, root), the
# custody log's verify against the old one on 400 tamperings, and the
# offline kit (make test-kit).
test-long: deps-test
	SLUICE_TEST_LONG=1 $(GO) test -count=1 -timeout 3h -run 'TestLong' -v ./app
	SLUICE_TEST_LONG=1 $(GO) test -count=1 -run 'TestVerifyDifferential' ./transfer/custody
	@# The offline kit built from inside a network namespace (about eleven minutes, root).
	$(MAKE) --no-print-directory test-kit

# The diode at 1 Gbit/s, through loss 20 times in a row, its loss curve and
# a 4 GiB bundle in bounded memory (about four minutes, loopback).
test-diode-long:
	$(GO) test -count=1 -timeout 30m -v ./transfer/diode -args -long

unit:
	$(GO) test -race -count=1 ./...
	@# The PDF checker's and the transform workers' memory bounds, which the race detector's own memory would trip.
	$(GO) test -count=1 -run 'TestCompressionBomb' ./internal/pdfcheck
	$(GO) test -count=1 -run 'TestPDFBombIsHeldNotFatal' ./app
	$(GO) test -count=1 -run 'TestPDFBombInWorker|TestHugePage' ./transfer/transform

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$$(( $${rest#*:} * $(FUZZSCALE) )); \
		echo "fuzz $$pkg $$name: $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $${n}x -fuzzminimizetime 200x $$pkg; \
	done

screenshots: build
	@packaging/deps.sh screenshots
	packaging/screenshots.sh

# sluice-bench is the same program built with the sluicebench tag, which
# alone can receive without the content checks, to measure their cost.
bench: deps-bench build
	$(GO) build -tags sluicebench -o $(BIN)-bench .
	$(GO) run ./internal/bench -sluice ./$(BIN) -sluice-bench ./$(BIN)-bench

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The drive code for the other desktops must at least compile and vet.
	GOOS=windows $(GO) vet ./transfer/... ./app ./cli ./crypto ./internal/...
	GOOS=darwin $(GO) vet ./transfer/... ./app ./cli ./crypto ./internal/...

clean:
	rm -f $(BIN) $(BIN)-bench
	rm -rf $(DIST)
