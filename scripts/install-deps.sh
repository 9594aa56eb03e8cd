#!/bin/bash
# install-deps.sh: installs every Debian package and Go tool the tests, the
# benchmarks and the lab need. Idempotent: it asks apt only for what is missing,
# so running it before every `make test` costs a second once all is there.
# Needs root on Debian 12 (bookworm) with Go already on PATH.
set -euo pipefail

pkgs=(
	iproute2 iputils-ping iputils-arping tcpdump tshark nftables conntrack kmod
	keepalived ipvsadm haproxy httperf wrk
	mariadb-server mariadb-client galera-4 rsync
	qemu-system-x86 busybox-static xz-utils cpio
	systemd rpm dpkg-dev debootstrap fakeroot lintian rpmlint rpm2cpio
	man-db groff-base
	weechat-headless weechat-plugins
	# reference IRC servers for test/regbench (started on loopback with generated configs)
	ngircd inspircd
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages ${missing[*]}; run as root (sudo make deps)" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer once, non-interactively.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# ngircd and inspircd enable a system service on install where policy-rc.d
# allows it; test/regbench starts its own on loopback, so stop the ones we added.
for p in ngircd inspircd; do
	if [[ " ${missing[*]} " == *" $p "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now "$p" >/dev/null 2>&1 || true
	fi
done

# keepalived and mariadb from apt must not run as system services: the tests
# start their own instances in namespaces. Debian's policy-rc.d normally stops
# that already; make sure nothing was left listening.
command -v go >/dev/null || { echo "install-deps: go is not on PATH (need Go 1.26)" >&2; exit 1; }
gobin=$(go env GOPATH)/bin
if [ ! -x "$gobin/staticcheck" ]; then
	echo "install-deps: installing staticcheck"
	GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
echo "install-deps: ok"
