#!/bin/bash
# version.sh: the package version from git. A tag vX.Y.Z gives X.Y.Z; commits
# after it, or no tag at all, give X.Y.Z~git<commit time>.<hash>, which sorts
# before the next release in both dpkg and rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then echo 0.0.0; exit 0; fi
tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true)
base=${tag#v}
if [ -n "$tag" ] && [ "$(git rev-list -n1 "$tag")" = "$(git rev-parse HEAD)" ]; then
	echo "$base"; exit 0
fi
when=$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S)
echo "${base:-0.1.0}~git$when.$(git rev-parse --short=8 HEAD)"
