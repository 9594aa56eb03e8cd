# hachat: highly available, load-balanced IRC chat (vrrpd + balancer + chatd).
# Every target that needs packages installs them first (scripts/install-deps.sh),
# so on a fresh Debian 12 machine `sudo make lab` and `sudo make test` are the
# whole set-up.

GO       ?= go
BIN      := bin
# The same version string as the packages (packaging/version.sh); every binary
# prints it with --version and exports it as <daemon>_build_info.
VERSION  ?= $(shell packaging/version.sh)
LDFLAGS  := -s -w -X github.com/hachat/hachat/internal/buildinfo.version=$(VERSION)
CMDS     := vrrpd vrrpctl chatd chatload
QUICK    ?=
TESTFLAGS ?= -timeout 30m
MD2MAN   := github.com/cpuguy83/go-md2man/v2@v2.0.7

.PHONY: all build deps test test-short lint bench bench-failover bench-register lab packages man clean

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

# Registration storms: chatd beside ngIRCd and InspIRCd, same machine, same run
# (test/regbench; medians over 3 repetitions, ratios to the best reference).
bench-register: deps
	$(GO) run ./test/regbench -reps 3

# The paper in a box: topology, Table 1, failover experiments, report. The
# balancers run three ways in turn, side by side in one report: vrrpd on
# nftables in namespaces, then two QEMU VMs on Debian's kernel with kernel
# IPVS running vrrpd, then Debian's keepalived (the paper's software); the
# VMs' Table 1 is reduced (TCG). docs/lab.md.
LAB_PLANES ?= nft,ipvs-vm,keepalived-vm
lab: deps
	$(GO) run ./test/lab $(if $(QUICK),-quick) -dataplane $(LAB_PLANES)

# deb and rpm packages of vrrpd, chatd and chatload in dist/ (packaging/build.sh).
packages: deps
	VERSION=$(VERSION) packaging/build.sh dist

# The man pages rendered to roff in bin/man/, to read before packaging:
# man -l bin/man/vrrpd.8
man:
	@mkdir -p $(BIN)/man
	@for md in packaging/man/*.md; do \
		GOFLAGS= $(GO) run $(MD2MAN) -in $$md -out $(BIN)/man/$$(basename $$md .md) || exit 1; \
	done
	@ls $(BIN)/man

clean:
	rm -rf $(BIN) dist
