# Sluice: `make run` opens the app, `make test` runs every test.
# Both install the Debian packages they need first (packaging/deps.sh).

GO      ?= go
BIN     ?= sluice
FUZZTIME ?= 10s
export CGO_ENABLED := 1

# Fuzz targets run briefly by `make test`: package:Target.
FUZZ_TARGETS := \
	./crypto:FuzzParseCard \
	./crypto:FuzzVerifySSH \
	./transfer/bundle:FuzzParseEnvelope \
	./transfer/bundle:FuzzParseManifest \
	./transfer/bundle:FuzzExtractStream \
	./transfer/custody:FuzzParseRecord

.PHONY: all build run test unit fuzz bench lint deps-build deps-test deps-bench clean

all: build

deps-build:
	@packaging/deps.sh build
deps-test:
	@packaging/deps.sh test
deps-bench:
	@packaging/deps.sh bench

build: deps-build
	$(GO) build -o $(BIN) .

run: build
	@if [ "$$(uname)" = Linux ] && [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open here."; \
		echo "Sluice works fully from the command line on this machine:"; \
		echo; ./$(BIN) help; \
	else ./$(BIN); fi

test: deps-test lint unit fuzz

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	done

bench: deps-bench build
	$(GO) run ./internal/bench -sluice ./$(BIN)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -f $(BIN)
