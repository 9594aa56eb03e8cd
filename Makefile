# hachat: highly available, load-balanced IRC chat (vrrpd + balancer + chatd).
# Every target that needs packages installs them first (scripts/install-deps.sh),
# so on a fresh Debian 12 machine `sudo make lab` and `sudo make test` are the
# whole set-up.

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
CMDS     := vrrpd vrrpctl chatd chatload
QUICK    ?=
TESTFLAGS ?= -timeout 30m

.PHONY: all build deps test test-short lint bench bench-failover lab packages man clean

all: build

deps:
	@scripts/install-deps.sh

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The README's test command: unit, fuzz-seed, namespace, MariaDB, keepalived
# interop, packaging and real-kernel IPVS (QEMU) tests.
test: deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

# Unit tests only: no root, no packages, seconds.
test-short:
	$(GO) test -short ./...

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$$($(GO) env GOPATH)/bin/staticcheck ./...

# Micro-benchmarks of every package (wire formats, state machine, store, fan-out).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee $(BIN)/bench.txt

# VRRP failover: vrrpd against keepalived, same topology, same run.
bench-failover: deps
	$(GO) run ./test/failoverbench -impl vrrpd,keepalived -intervals 100ms,1s -reps 20 -nice -10

# The paper in a box: topology, Table 1, failover experiments, report.
lab: deps
	$(GO) run ./test/lab $(if $(QUICK),-quick)

packages: deps
	$(GO) run ./packaging/cmd/mkpkg -version $(VERSION) -out dist

clean:
	rm -rf $(BIN) dist
