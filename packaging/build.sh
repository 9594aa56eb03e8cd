#!/bin/bash
# build.sh OUTDIR: builds the deb and rpm packages of vrrpd, chatd and chatload.
# The debs are made by nfpm (run from the Go module proxy at a pinned version,
# so the module's own go.mod does not carry a packager), the rpms by rpmbuild
# from packaging/rpm/hachat.spec; both from the same binaries and man pages.
# The version comes from git (packaging/version.sh) unless VERSION is set.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"
MD2MAN="github.com/cpuguy83/go-md2man/v2@v2.0.7"

version=${VERSION:-$(packaging/version.sh)}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# One timestamp for every file and changelog: the commit's, so a rebuild of
# the same commit gives the same packages.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
echo "build: version $version"

# Static binaries: the packages depend on nothing but libc-free Go.
mkdir -p "$work/bin"
CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/hachat/hachat/internal/buildinfo.version=$version" -o "$work/bin/" \
	./cmd/vrrpd ./cmd/vrrpctl ./cmd/chatd ./cmd/chatload

# Man pages: one Markdown source each, rendered to roff and gzipped.
mkdir -p "$work/man"
for md in packaging/man/*.md; do
	page=$(basename "$md" .md) # e.g. vrrpd.8
	GOFLAGS= go run "$MD2MAN" -in "$md" -out "$work/man/$page"
	gzip -9n "$work/man/$page"
done

# Debian's per-package documents: the copyright file and, the packages being
# native (no Debian revision), a changelog in Debian's format.
for pkg in vrrpd chatd chatload; do
	d="$work/doc/hachat-$pkg"
	mkdir -p "$d"
	cp packaging/debian/copyright "$d/copyright"
	{
		echo "hachat-$pkg ($version) unstable; urgency=medium"
		echo
		echo "  * Built from git commit $commit; the project's history is its git log."
		echo
		echo " -- hachat developers <dev@hachat.invalid>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	} | gzip -9n >"$d/changelog.gz"
done

export VERSION="$version" WORK="$work" ROOT="$PWD"
for pkg in vrrpd chatd chatload; do
	GOFLAGS= go run "$NFPM" package --config "packaging/nfpm/$pkg.yaml" --packager deb --target "$out/" >/dev/null
done

# rpmbuild in a private top directory; %changelog wants the C locale's date.
rpmbuild -bb --quiet \
	--define "_topdir $work/rpm" \
	--define "_rpmdir $out" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	--define "pkgversion $version" \
	--define "gitcommit $commit" \
	--define "changelogdate $(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')" \
	--define "work $work" \
	--define "srcroot $PWD" \
	--define "use_source_date_epoch_as_buildtime 1" \
	--define "clamp_mtime_to_source_date_epoch 1" \
	packaging/rpm/hachat.spec >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; exit 1; }
ls -1 "$out"
