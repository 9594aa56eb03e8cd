#!/bin/bash
# build.sh OUTDIR: builds the deb and rpm packages of vrrpd, chatd and chatload
# with nfpm (run from the Go module proxy at a pinned version, so the module's
# own go.mod does not carry a packager). Versions come from git.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"
MD2MAN="github.com/cpuguy83/go-md2man/v2@v2.0.7"

version=$(packaging/version.sh)
echo "build: version $version"

# Static binaries: the packages depend on nothing but libc-free Go.
mkdir -p "$work/bin"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$work/bin/" \
	./cmd/vrrpd ./cmd/vrrpctl ./cmd/chatd ./cmd/chatload

# Man pages: one Markdown source each, rendered to roff and gzipped.
mkdir -p "$work/man"
for md in packaging/man/*.md; do
	page=$(basename "$md" .md) # e.g. vrrpd.8
	GOFLAGS= go run "$MD2MAN" -in "$md" -out "$work/man/$page"
	gzip -9n "$work/man/$page"
done

export VERSION="$version" WORK="$work" ROOT="$PWD"
for pkg in vrrpd chatd chatload; do
	for fmt in deb rpm; do
		GOFLAGS= go run "$NFPM" package --config "packaging/nfpm/$pkg.yaml" --packager "$fmt" --target "$out/" >/dev/null
	done
done
ls -1 "$out"
